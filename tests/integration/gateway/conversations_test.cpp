// People and their conversations (docs/protocol.md, "Conversations") on the real gateway: the
// /api/ routes, their errors, titles, ordering and pages, expiry, caps, deletion, and that
// nobody reaches a conversation of another person by any route.
#include "fixture.hpp"

#include <regex>
#include <set>

namespace gw_test {

namespace {
const std::string not_found = R"({"detail":"Conversation not found"})";
const std::string unknown_user = R"({"detail":"Unknown or missing user token"})";
}  // namespace

class Conversations : public GatewayTest {
 protected:
  void SetUp() override { start(flags()); }
  virtual std::vector<std::string> flags() { return {}; }

  std::string new_user() {
    auto r = post("/api/users");
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(body_of(r)["user"].as_string());
  }
  static std::vector<std::pair<std::string, std::string>> auth(const std::string& user) {
    return {{"Authorization", "Bearer " + user}};
  }
  pt::http_result api(const std::string& method, const std::string& target, const std::string& user,
                      std::string body = {}) {
    return pt::http_request({.port = port(), .method = method, .target = target, .body = std::move(body),
                             .headers = auth(user)});
  }
  std::string new_conversation(const std::string& user) {
    auto r = api("POST", "/api/conversations", user);
    EXPECT_EQ(r.status, 201) << r.body;
    return std::string(body_of(r)["token"].as_string());
  }
  json::array list(const std::string& user, const std::string& query = {}) {
    auto r = api("GET", "/api/conversations" + query, user);
    EXPECT_EQ(r.status, 200) << r.body;
    return body_of(r)["conversations"].as_array();
  }
  std::unique_ptr<pt::ws_client> open(const std::string& token, const std::string& user) {
    auto ws = std::make_unique<pt::ws_client>();
    ws->ignore_type("waiting");
    EXPECT_TRUE(ws->connect({.port = port(), .target = "/chat?token=" + token + "&user=" + user}))
        << "handshake status " << ws->handshake_status() << " " << ws->handshake_body();
    ws->read_json_type("ready", 5s);
    return ws;
  }
  // Sends a message and returns its ack.
  json::object say(pt::ws_client& ws, const std::string& text) {
    ws.send_text(json::serialize(json::object{{"type", "message"}, {"text", text}}));
    return ws.read_json_type("ack");
  }
  std::vector<std::string> keys_of(const std::string& token) {
    std::vector<std::string> out;
    for (const auto& k : redis().command({"KEYS", "parley:{" + token + "}:*"}).elements) out.push_back(k.str);
    return out;
  }
  long long ttl(const std::string& key) { return std::stoll(redis().command_str({"TTL", key})); }
};

TEST_F(Conversations, APersonIsARandomTokenAndTheOnlyWayIn) {
  auto r = post("/api/users");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string user(body_of(r)["user"].as_string());
  EXPECT_TRUE(std::regex_match(user, std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")));
  EXPECT_NE(new_user(), user);
  EXPECT_GT(ttl("parley:user:{" + user + "}"), 29 * 24 * 3600);

  for (const auto& header : std::vector<std::vector<std::pair<std::string, std::string>>>{
           {},
           {{"Authorization", "Bearer nope"}},
           {{"Authorization", "Basic " + user}},
           {{"Authorization", "Bearer 123e4567-e89b-42d3-a456-426614174000"}}}) {
    auto g = get("/api/conversations", header);
    EXPECT_EQ(g.status, 401);
    EXPECT_EQ(g.body, unknown_user);
    EXPECT_EQ(g.header("WWW-Authenticate"), "Bearer");
    EXPECT_EQ(post("/api/conversations", {}, header).status, 401);
  }
  // The scheme is case-insensitive.
  EXPECT_EQ(get("/api/conversations", {{"Authorization", "bearer " + user}}).status, 200);

  auto extra = post("/api/users", R"({"admin":true})");
  EXPECT_EQ(extra.status, 400);
  EXPECT_EQ(body_of(extra)["detail"].as_object()["loc"], "admin");
  EXPECT_EQ(post("/api/users", "[]").status, 400);
  EXPECT_EQ(get("/api/users").status, 405);
  EXPECT_EQ(get("/api/elsewhere", auth(user)).status, 404);
}

TEST_F(Conversations, CreateMessageTitleRenameAndGet) {
  const auto user = new_user();
  auto created = api("POST", "/api/conversations", user, R"({"name":"Ada"})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto c = body_of(created);
  const std::string token(c["token"].as_string());
  EXPECT_EQ(c["name"], "Ada");
  EXPECT_EQ(c["title"], "");
  EXPECT_EQ(c["last_event_id"], "0-0");
  EXPECT_TRUE(c["messages"].as_array().empty());

  auto ws = open(token, user);
  say(*ws, "  What is the\n\ncapital of France?  ");
  say(*ws, "And of Spain?");
  auto one = api("GET", "/api/conversations/" + token, user);
  ASSERT_EQ(one.status, 200) << one.body;
  auto b = body_of(one);
  EXPECT_EQ(b["title"], "What is the capital of France?");
  EXPECT_EQ(b["name"], "Ada");
  ASSERT_EQ(b["messages"].as_array().size(), 2u);
  EXPECT_EQ(b["messages"].as_array()[1].as_object()["msg"], "And of Spain?");

  auto items = list(user);
  ASSERT_EQ(items.size(), 1u);
  auto& item = items[0].as_object();
  EXPECT_EQ(item["token"], token.c_str());
  EXPECT_EQ(item["title"], "What is the capital of France?");
  EXPECT_EQ(item["messages"], 2);
  EXPECT_EQ(item["preview"], "And of Spain?");
  EXPECT_EQ(item["created"], c["session_start"]);
  EXPECT_GE(std::string(item["updated"].as_string()), std::string(item["created"].as_string()));

  auto renamed = api("PATCH", "/api/conversations/" + token, user, R"({"title":"  Capitals  "})");
  ASSERT_EQ(renamed.status, 200) << renamed.body;
  EXPECT_EQ(body_of(renamed)["title"], "Capitals");
  say(*ws, "Thanks");
  EXPECT_EQ(list(user)[0].as_object()["title"], "Capitals");  // messages no longer set it

  for (const std::string& bad : std::vector<std::string>{R"({"title":""})", R"({"title":"   "})", R"({"title":5})", R"({})",
                                 "{\"title\":\"" + std::string(81, 'x') + "\"}", R"({"title":"a\u0001b"})"}) {
    auto r = api("PATCH", "/api/conversations/" + token, user, bad);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(body_of(r)["detail"].as_object()["loc"], "title") << bad;
  }
  auto unknown_field = api("PATCH", "/api/conversations/" + token, user, R"({"title":"x","pinned":true})");
  EXPECT_EQ(body_of(unknown_field)["detail"].as_object()["loc"], "pinned");
  EXPECT_EQ(api("PUT", "/api/conversations/" + token, user).status, 405);
  EXPECT_EQ(api("GET", "/api/conversations/not-a-token", user).body, not_found);
  auto bad_name = api("POST", "/api/conversations", user, R"({"name":""})");
  EXPECT_EQ(bad_name.status, 400);
  EXPECT_EQ(body_of(bad_name)["detail"].as_object()["loc"], "name");
}

TEST_F(Conversations, ALongFirstMessageMakesAnEightyCharacterTitle) {
  const auto user = new_user();
  const auto token = new_conversation(user);
  auto ws = open(token, user);
  std::string text;
  for (int i = 0; i < 30; ++i) text += "word ";
  say(*ws, text);
  const std::string title(list(user)[0].as_object()["title"].as_string());
  EXPECT_EQ(title, text.substr(0, 79) + "\xE2\x80\xA6");
}

TEST_F(Conversations, NewestActivityFirstInPagesWithACursor) {
  const auto user = new_user();
  std::vector<std::string> tokens;
  for (int i = 0; i < 5; ++i) tokens.push_back(new_conversation(user));
  // Activity moves the first one to the top.
  auto ws = open(tokens[0], user);
  say(*ws, "back to this one");
  ASSERT_TRUE(pt::wait_until([&] { return list(user)[0].as_object()["token"] == tokens[0].c_str(); }, 5s));

  std::vector<std::string> seen;
  std::string query = "?limit=2";
  int pages = 0;
  while (true) {
    auto r = api("GET", "/api/conversations" + query, user);
    ASSERT_EQ(r.status, 200) << r.body;
    auto b = body_of(r);
    ++pages;
    for (const auto& c : b["conversations"].as_array()) seen.emplace_back(c.as_object().at("token").as_string());
    if (b["next_cursor"].is_null()) break;
    query = "?limit=2&cursor=" + std::string(b["next_cursor"].as_string());
    ASSERT_LT(pages, 10);
  }
  EXPECT_EQ(pages, 3);
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0], tokens[0]);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 5u);
  // Every page is ordered by last activity, newest first.
  auto all = list(user);
  for (std::size_t i = 1; i < all.size(); ++i)
    EXPECT_GE(std::string(all[i - 1].as_object()["updated"].as_string()), std::string(all[i].as_object()["updated"].as_string()));

  for (const std::string bad : {"?limit=0", "?limit=101", "?limit=x", "?limit=-1"}) {
    auto r = api("GET", "/api/conversations" + bad, user);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(body_of(r)["detail"].as_object()["loc"], "limit");
  }
  for (const std::string& bad : std::vector<std::string>{"?cursor=x", "?cursor=12:notatoken", "?cursor=:" + tokens[0]}) {
    auto r = api("GET", "/api/conversations" + bad, user);
    EXPECT_EQ(r.status, 400) << bad;
    EXPECT_EQ(body_of(r)["detail"].as_object()["loc"], "cursor");
  }
}

TEST_F(Conversations, AnotherPersonsConversationIsNotFoundEverywhere) {
  const auto alice = new_user();
  const auto bob = new_user();
  const auto token = new_conversation(alice);
  auto ws = open(token, alice);
  const std::string message_id(say(*ws, "private")["id"].as_string());

  auto r = api("GET", "/api/conversations/" + token, bob);
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, not_found);
  EXPECT_EQ(api("PATCH", "/api/conversations/" + token, bob, R"({"title":"mine now"})").body, not_found);
  EXPECT_EQ(api("DELETE", "/api/conversations/" + token, bob).body, not_found);
  EXPECT_TRUE(list(bob).empty());
  // The same answer as for a conversation that never existed.
  EXPECT_EQ(api("GET", "/api/conversations/123e4567-e89b-42d3-a456-426614174000", bob).body, not_found);

  // WebSocket: with Bob's user token 404, with an unknown one 401, without one it is no seed
  // session either (403, as any unknown token).
  pt::ws_client as_bob;
  EXPECT_FALSE(as_bob.connect({.port = port(), .target = "/chat?token=" + token + "&user=" + bob}));
  EXPECT_EQ(as_bob.handshake_status(), 404);
  EXPECT_EQ(as_bob.handshake_body(), not_found);
  pt::ws_client stranger;
  EXPECT_FALSE(stranger.connect({.port = port(), .target = "/chat?token=" + token + "&user=123e4567-e89b-42d3-a456-426614174000"}));
  EXPECT_EQ(stranger.handshake_status(), 401);
  pt::ws_client seed_client;
  EXPECT_FALSE(seed_client.connect({.port = port(), .target = "/chat?token=" + token}));
  EXPECT_EQ(seed_client.handshake_status(), 403);
  EXPECT_EQ(get("/refresh_token?token=" + token).status, 400);

  // Stop: Bob's only way to send one is a socket of his own conversation; it names his, never Alice's.
  const auto bobs = new_conversation(bob);
  auto bws = open(bobs, bob);
  bws->send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", message_id}}));
  bws->send_text(R"({"type":"ping"})");
  bws->read_json_type("pong");
  EXPECT_EQ(redis().command_str({"EXISTS", "parley:{" + token + "}:stop"}), "0");

  // Alice's conversation is untouched.
  auto mine = api("GET", "/api/conversations/" + token, alice);
  ASSERT_EQ(mine.status, 200);
  EXPECT_EQ(body_of(mine)["title"], "private");
  EXPECT_EQ(body_of(mine)["messages"].as_array().size(), 1u);
}

TEST_F(Conversations, DeleteRemovesEveryKeyAndClosesItsSockets) {
  const auto user = new_user();
  const auto keep = new_conversation(user);
  const auto token = new_conversation(user);
  auto ws = open(token, user);
  auto second = open(token, user);
  say(*ws, "soon gone");
  ASSERT_FALSE(keys_of(token).empty());

  auto d = api("DELETE", "/api/conversations/" + token, user);
  EXPECT_EQ(d.status, 204);
  EXPECT_TRUE(d.body.empty());
  for (auto* socket : {ws.get(), second.get()}) {
    auto closed = socket->wait_closed(5s);
    ASSERT_TRUE(closed);
    EXPECT_EQ(closed->close_code, 4004);
  }
  EXPECT_TRUE(keys_of(token).empty());
  auto items = list(user);
  ASSERT_EQ(items.size(), 1u);
  EXPECT_EQ(items[0].as_object()["token"], keep.c_str());
  EXPECT_EQ(api("GET", "/api/conversations/" + token, user).status, 404);
  EXPECT_EQ(api("DELETE", "/api/conversations/" + token, user).status, 404);
  pt::ws_client again;
  EXPECT_FALSE(again.connect({.port = port(), .target = "/chat?token=" + token + "&user=" + user}));
  EXPECT_EQ(again.handshake_status(), 404);
}

TEST_F(Conversations, SeedSessionsAreUnchanged) {
  auto token = new_session("Grace");
  EXPECT_LE(ttl("parley:{" + token + "}:session"), 3600);
  auto ws = connect(token);
  ws->send_text("Hello Bot");
  ws->read_json_type("ack");
  auto r = get("/refresh_token?token=" + token);
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(body_of(r).contains("title"));
  EXPECT_LE(ttl("parley:{" + token + "}:history"), 3600);
  EXPECT_EQ(redis().command_str({"HEXISTS", "parley:{" + token + "}:session", "title"}), "0");
  // A seed token is no conversation of anybody.
  const auto user = new_user();
  EXPECT_EQ(api("GET", "/api/conversations/" + token, user).body, not_found);
}

class ConversationLimits : public Conversations {
 protected:
  std::vector<std::string> flags() override {
    return {"--conversation-ttl", "2d", "--max-conversations", "2", "--max-conversation-messages", "4"};
  }
};

TEST_F(ConversationLimits, ConversationsLiveTheirOwnTtl) {
  const auto user = new_user();
  const auto token = new_conversation(user);
  auto ws = open(token, user);
  say(*ws, "hello");
  for (const auto& key : keys_of(token)) {
    if (key.ends_with(":stop") || key.ends_with(":lease")) continue;
    EXPECT_GT(ttl(key), 47 * 3600) << key;
    EXPECT_LE(ttl(key), 48 * 3600) << key;
  }
  EXPECT_GT(ttl("parley:user:{" + user + "}:conversations"), 47 * 3600);
  // Reading slides it back up.
  redis().command({"EXPIRE", "parley:{" + token + "}:session", "100"});
  ASSERT_EQ(api("GET", "/api/conversations/" + token, user).status, 200);
  EXPECT_GT(ttl("parley:{" + token + "}:session"), 47 * 3600);
}

TEST_F(ConversationLimits, CapsOnConversationsAndMessages) {
  const auto user = new_user();
  const auto first = new_conversation(user);
  const auto second = new_conversation(user);
  auto full = api("POST", "/api/conversations", user);
  EXPECT_EQ(full.status, 409);
  EXPECT_EQ(full.body,
            R"({"detail":{"loc":"conversations","msg":"You have 2 conversations, the most kept; delete one to start another"}})");
  // One that expired no longer counts.
  redis().command({"DEL", "parley:{" + first + "}:session"});
  const auto third = new_conversation(user);
  EXPECT_EQ(list(user).size(), 2u);
  ASSERT_EQ(api("DELETE", "/api/conversations/" + second, user).status, 204);
  new_conversation(user);

  // Four messages: two of the person, two replies. The third is refused and nothing is stored.
  auto ws = open(third, user);
  say(*ws, "one");
  say(*ws, "two");
  ws->send_text(json::serialize(json::object{{"type", "message"}, {"text", "three"}, {"client_id", "c3"}}));
  auto err = ws->read_json_type("error");
  EXPECT_EQ(err["code"], "conversation_full");
  EXPECT_EQ(err["client_id"], "c3");
  EXPECT_EQ(err["message"], "this conversation holds 4 messages, the most kept; start a new chat");
  EXPECT_EQ(history_length(third), 2);
}

}  // namespace gw_test

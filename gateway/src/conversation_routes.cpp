// The person and conversation API under /api/ (docs/protocol.md, "Conversations"). Every error
// leaves through `api_error`, so a conversation that is gone and one of another person get the
// very same 404 and cannot be told apart.
#include <parley/gateway/conversation_routes.hpp>
#include <parley/gateway/errors.hpp>
#include <parley/token.hpp>
#include <parley/validation.hpp>

#include <boost/json.hpp>
#include <spdlog/spdlog.h>

#include <charconv>

namespace parley::gateway {

namespace json = boost::json;

namespace {

using response = http::response<http::string_body>;

constexpr std::size_t default_page = 50;
constexpr std::size_t max_page = 100;
constexpr std::string_view conversations_path = "/api/conversations";

response api_error(const boost::system::error_code& ec, const request& req, const context& ctx) {
  const auto v = req.version();
  const auto ka = req.keep_alive();
  if (ec == errc::user_not_found) {
    auto res = error_response(http::status::unauthorized, conversation_text::unknown_user, v, ka);
    res.set(http::field::www_authenticate, "Bearer");
    return res;
  }
  if (ec == errc::session_not_found) return error_response(http::status::not_found, conversation_text::not_found, v, ka);
  if (ec == errc::too_many_conversations)
    return error_response(http::status::conflict,
                          json::object{{"loc", "conversations"},
                                       {"msg", "You have " + std::to_string(ctx.cfg.max_conversations) +
                                                   " conversations, the most kept; delete one to start another"}},
                          v, ka);
  return storage_error_response(ec, http::status::not_found, v, ka);
}

response field_error(const request& req, std::string_view loc, std::string msg) {
  return error_response(http::status::bad_request, json::object{{"loc", loc}, {"msg", std::move(msg)}}, req.version(),
                        req.keep_alive());
}

// The user token of `Authorization: Bearer USER`, or nullopt (missing, another scheme, not a token).
std::optional<std::string> bearer(const request& req) {
  if (req.count(http::field::authorization) != 1) return std::nullopt;
  std::string_view h = req[http::field::authorization];
  constexpr std::string_view scheme = "bearer ";
  if (h.size() <= scheme.size()) return std::nullopt;
  for (std::size_t i = 0; i < scheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(h[i])) != scheme[i]) return std::nullopt;
  h.remove_prefix(scheme.size());
  while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
  while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
  if (!is_token(h)) return std::nullopt;
  return std::string(h);
}

// The request body as a JSON object whose fields are all in `allowed` (an empty body is {}), or
// the 400 to answer.
std::variant<json::object, response> body_object(const request& req, std::initializer_list<std::string_view> allowed,
                                                 std::string_view shape) {
  if (req.body().empty()) return json::object{};
  boost::system::error_code ec;
  auto v = json::parse(req.body(), ec);
  if (ec || !v.is_object()) return field_error(req, "body", "Expected a JSON object " + std::string(shape));
  for (const auto& kv : v.as_object())
    if (std::find(allowed.begin(), allowed.end(), std::string_view(kv.key())) == allowed.end())
      return field_error(req, kv.key(), "Unknown field '" + std::string(kv.key()) + "'");
  return std::move(v.as_object());
}

response method_not_allowed(const request& req, std::string_view allow) {
  auto res = error_response(http::status::method_not_allowed, error_text::method_not_allowed, req.version(),
                            req.keep_alive());
  res.set(http::field::allow, allow);
  return res;
}

net::awaitable<response> post_user(context& ctx, const request& req) {
  auto body = body_object(req, {}, "{}");
  if (auto* r = std::get_if<response>(&body)) co_return std::move(*r);
  auto user = co_await ctx.conversations.create_user();
  if (!user) co_return api_error(user.error(), req, ctx);
  ctx.metrics.user_created();
  co_return json_response(http::status::created, json::object{{"user", *user}}, req.version(), req.keep_alive());
}

net::awaitable<response> post_conversation(context& ctx, const request& req, const std::string& user) {
  auto body = body_object(req, {"name"}, "{\"name\"?: ...}");
  if (auto* r = std::get_if<response>(&body)) co_return std::move(*r);
  std::string name = "You";
  if (auto* n = std::get<json::object>(body).if_contains("name")) {
    auto valid = n->is_string() ? validate_name(n->as_string()) : boost::system::result<std::string>(validation_errc::empty);
    if (!valid) co_return field_error(req, "name", "Enter a valid name");
    name = std::move(*valid);
  }
  auto s = co_await ctx.conversations.create(user, std::move(name));
  if (!s) co_return api_error(s.error(), req, ctx);
  ctx.metrics.session_created();
  co_return json_response(http::status::created, snapshot_json(*s), req.version(), req.keep_alive());
}

net::awaitable<response> get_conversations(context& ctx, const request& req, const request_target& target,
                                           const std::string& user) {
  std::size_t limit = default_page;
  if (target.limit) {
    const auto& t = *target.limit;
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), limit);
    if (ec != std::errc{} || end != t.data() + t.size() || limit < 1 || limit > max_page)
      co_return field_error(req, "limit", "Expected a whole number from 1 to " + std::to_string(max_page));
  }
  std::optional<list_cursor> cursor;
  if (target.cursor) {
    cursor = list_cursor::parse(*target.cursor);
    if (!cursor) co_return field_error(req, "cursor", "Expected the next_cursor of an earlier page");
  }
  auto page = co_await ctx.conversations.list(user, std::move(cursor), limit);
  if (!page) co_return api_error(page.error(), req, ctx);
  json::array items;
  for (const auto& c : page->items)
    items.push_back(json::object{{"token", c.token},
                                 {"title", c.title},
                                 {"created", c.created},
                                 {"updated", c.updated},
                                 {"messages", c.messages},
                                 {"preview", c.preview}});
  json::value next = nullptr;
  if (page->next_cursor) next = json::string(*page->next_cursor);
  co_return json_response(http::status::ok, json::object{{"conversations", std::move(items)}, {"next_cursor", next}},
                          req.version(), req.keep_alive());
}

net::awaitable<response> one_conversation(context& ctx, const request& req, const std::string& user,
                                          const std::string& token) {
  const auto method = req.method();
  if (method == http::verb::get) {
    auto s = co_await ctx.conversations.get(user, token);
    if (!s) co_return api_error(s.error(), req, ctx);
    co_return json_response(http::status::ok, snapshot_json(*s), req.version(), req.keep_alive());
  }
  if (method == http::verb::patch) {
    auto body = body_object(req, {"title"}, "{\"title\": ...}");
    if (auto* r = std::get_if<response>(&body)) co_return std::move(*r);
    auto* t = std::get<json::object>(body).if_contains("title");
    auto valid = t && t->is_string() ? validate_title(t->as_string())
                                     : boost::system::result<std::string>(validation_errc::empty);
    if (!valid)
      co_return field_error(req, "title", "Enter a title of 1 to " + std::to_string(max_title_chars) + " characters");
    if (auto ec = co_await ctx.conversations.rename(user, token, *valid)) co_return api_error(ec, req, ctx);
    co_return json_response(http::status::ok, json::object{{"token", token}, {"title", *valid}}, req.version(),
                            req.keep_alive());
  }
  if (method == http::verb::delete_) {
    if (auto ec = co_await ctx.conversations.remove(user, token)) co_return api_error(ec, req, ctx);
    response res{http::status::no_content, req.version()};
    res.set(http::field::server, "parley-gateway");
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    co_return res;
  }
  co_return method_not_allowed(req, "GET, PATCH, DELETE, OPTIONS");
}

}  // namespace

bool is_conversation_api_path(std::string_view path) { return path == "/api" || path.starts_with("/api/"); }

net::awaitable<response> handle_conversation_api(context& ctx, const request& req, const request_target& target) {
  const auto& path = target.path;
  const auto method = req.method();
  if (path == "/api/users") {
    if (method != http::verb::post) co_return method_not_allowed(req, "POST, OPTIONS");
    co_return co_await post_user(ctx, req);
  }
  const bool list_path = path == conversations_path;
  const bool item_path = path.size() > conversations_path.size() + 1 && path.starts_with(conversations_path) &&
                         path[conversations_path.size()] == '/';
  if (!list_path && !item_path)
    co_return error_response(http::status::not_found, error_text::not_found, req.version(), req.keep_alive());
  if (list_path && method != http::verb::get && method != http::verb::post)
    co_return method_not_allowed(req, "GET, POST, OPTIONS");
  // Who asks comes before what they ask about: without a person there is nothing to find.
  auto user = bearer(req);
  if (!user) co_return api_error(errc::user_not_found, req, ctx);
  if (list_path) {
    if (method == http::verb::post) co_return co_await post_conversation(ctx, req, *user);
    co_return co_await get_conversations(ctx, req, target, *user);
  }
  const std::string token = path.substr(conversations_path.size() + 1);
  if (!is_token(token)) {
    // Not a token: nothing to find, but the person is still checked, as for a real token.
    if (auto ec = co_await ctx.conversations.touch_user(*user)) co_return api_error(ec, req, ctx);
    co_return api_error(errc::session_not_found, req, ctx);
  }
  co_return co_await one_conversation(ctx, req, *user, token);
}

}  // namespace parley::gateway

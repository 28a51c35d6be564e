// Message versions end to end (docs/protocol.md, "Versions"): regenerate, edit, continue and
// switch over a real WebSocket, answered by a real worker and model, on a standalone
// redis-server and on the shared Redis Cluster. Stop, withdraw, takeover after kill -9, resume,
// dedupe and a second tab hold for these turns as for new messages.
#include <parley/test/harness.hpp>

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <optional>

namespace parley::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

class versions_e2e : public ::testing::TestWithParam<redis_kind> {
 protected:
  temp_dir dir;
  redis_under_test redis{GetParam(), dir.path()};
  std::optional<gateway_process> gateway;

  void SetUp() override { gateway.emplace(redis.url(), dir.path()); }
  std::string new_session() { return parley::test::new_session(gateway->port()); }
  void connect(ws_client& ws, const std::string& token, const std::string& last_event_id = "") {
    connect_chat(ws, gateway->port(), token, last_event_id);
  }
  json::array history(const std::string& token) { return parley::test::history(gateway->port(), token); }

  // Sends `frame` and reads until its ack or an error frame; returns that frame.
  json::object request(ws_client& ws, json::object frame, frame_list& seen) {
    EXPECT_TRUE(ws.send_text(json::serialize(frame)));
    const std::size_t from = seen.size();
    const bool answered = read_until(
        ws, seen,
        [&](const frame_list& f) {
          for (std::size_t i = from; i < f.size(); ++i)
            if (json_str(f[i], "type") == "ack" || (json_str(f[i], "type") == "error" && !f[i].contains("reply_to")))
              return true;
          return false;
        },
        10s);
    EXPECT_TRUE(answered) << json::serialize(frame);
    for (std::size_t i = from; i < seen.size(); ++i)
      if (json_str(seen[i], "type") == "ack" || json_str(seen[i], "type") == "error") return seen[i];
    return {};
  }

  // A message and its whole reply; returns {message id, reply id}.
  std::pair<std::string, std::string> turn(ws_client& ws, const std::string& text) {
    frame_list frames;
    auto id = send_message(ws, text, &frames);
    EXPECT_TRUE(read_until(ws, frames, has_frame("reply_end", id)));
    const auto* end = find_frame(frames, "reply_end", id);
    return {id, end ? json_str(*end, "message_id") : ""};
  }

  static long long int_of(const json::object& o, std::string_view key) {
    auto* v = o.if_contains(key);
    return v && v->is_int64() ? v->as_int64() : -1;
  }
};

TEST_P(versions_e2e, regenerate_writes_a_second_version_that_switch_and_refresh_follow) {
  worker_process worker(redis.url(), dir.path(), "w1");
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  auto [h1, b1] = turn(ws, "Hello Bot");
  ASSERT_FALSE(b1.empty());

  frame_list frames;
  auto ack = request(ws, {{"type", "regenerate"}, {"message_id", b1}, {"client_id", "r1"}}, frames);
  ASSERT_EQ(json_str(ack, "type"), "ack") << json::serialize(ack);
  EXPECT_EQ(json_str(ack, "id"), h1);
  EXPECT_EQ(int_of(ack, "seq"), 2);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1))) << worker.log_text();
  const auto* requested = find_frame(frames, "reply_requested", h1);
  ASSERT_TRUE(requested);
  EXPECT_EQ(json_str(*requested, "kind"), "regenerate");
  EXPECT_EQ(json_str(*requested, "message_id"), b1);
  const auto* start = find_frame(frames, "reply_start", h1);
  ASSERT_TRUE(start);
  EXPECT_EQ(int_of(*start, "version"), 2);
  const auto* end = find_frame(frames, "reply_end", h1);
  const auto b2 = json_str(*end, "message_id");
  EXPECT_NE(b2, b1);
  EXPECT_EQ(assembled_reply(frames, h1), json_str(*end, "text"));

  auto shown = history(token);
  ASSERT_EQ(shown.size(), 2u) << json::serialize(shown);
  EXPECT_EQ(json_str(shown[1].as_object(), "id"), b2);
  EXPECT_EQ(int_of(shown[1].as_object(), "version"), 2);
  EXPECT_EQ(int_of(shown[1].as_object(), "versions"), 2);
  EXPECT_FALSE(shown[0].as_object().contains("versions"));

  // A resend of the same regenerate is acknowledged again and answered once.
  frame_list again;
  auto dup = request(ws, {{"type", "regenerate"}, {"message_id", b1}, {"client_id", "r1"}}, again);
  EXPECT_EQ(json_str(dup, "type"), "ack");
  EXPECT_TRUE(dup.at("duplicate").as_bool());

  // Back to the first version: a `branch` event, and refresh shows it.
  frame_list switched;
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "switch"}, {"message_id", b2}, {"version", 1}})));
  ASSERT_TRUE(read_until(ws, switched, has_frame("branch")));
  EXPECT_EQ(json_str(*find_frame(switched, "branch", ""), "leaf"), b1);
  shown = history(token);
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(json_str(shown[1].as_object(), "id"), b1);
  EXPECT_EQ(int_of(shown[1].as_object(), "version"), 1);
  EXPECT_EQ(bot_replies_to(shown, h1), 1);
  EXPECT_EQ(redis.command_str({"LLEN", "parley:{" + token + "}:history"}), "3");

  // A new message follows the version on screen.
  auto [h3, b3] = turn(ws, "And then?");
  shown = history(token);
  ASSERT_EQ(shown.size(), 4u);
  EXPECT_EQ(json_str(shown[1].as_object(), "id"), b1);
  EXPECT_EQ(json_str(shown[3].as_object(), "id"), b3);
}

TEST_P(versions_e2e, an_edit_continues_from_the_edited_message_and_the_prompt_follows_the_branch) {
  worker_process worker(redis.url(), dir.path(), "w1");
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  auto [h1, b1] = turn(ws, "Once upon a time there was a little girl who liked to play in the park");
  frame_list second;
  auto h2 = send_message(ws, "What did she find there?", &second);
  ASSERT_TRUE(read_until(ws, second, has_frame("reply_end", h2)));
  const auto b2_prompt = int_of(*find_frame(second, "reply_end", h2), "prompt_tokens");

  frame_list frames;
  auto ack = request(ws, {{"type", "edit"}, {"message_id", h1}, {"text", "Hi"}, {"client_id", "e1"}}, frames);
  ASSERT_EQ(json_str(ack, "type"), "ack") << json::serialize(ack);
  const auto h1e = json_str(ack, "id");
  EXPECT_EQ(int_of(ack, "seq"), 3);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1e))) << worker.log_text();
  const auto* message = find_frame(frames, "message", "");
  ASSERT_TRUE(message);
  EXPECT_EQ(json_str(*message, "edit_of"), h1);
  EXPECT_EQ(int_of(*message, "version"), 2);
  EXPECT_EQ(int_of(*message, "versions"), 2);
  // The edited turn's prompt holds "Hi" alone: not the long first message, nor the turn after it.
  const auto edited_prompt = int_of(*find_frame(frames, "reply_end", h1e), "prompt_tokens");
  EXPECT_GT(edited_prompt, 0);
  EXPECT_LT(edited_prompt, b2_prompt / 2) << edited_prompt << " vs " << b2_prompt;

  auto shown = history(token);
  ASSERT_EQ(shown.size(), 2u) << json::serialize(shown);
  EXPECT_EQ(json_str(shown[0].as_object(), "id"), h1e);
  EXPECT_EQ(json_str(shown[0].as_object(), "msg"), "Hi");
  EXPECT_EQ(int_of(shown[0].as_object(), "version"), 2);

  // Switching back to the first version of the message lands at the end of its branch.
  frame_list back;
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "switch"}, {"message_id", h1e}, {"version", 1}})));
  ASSERT_TRUE(read_until(ws, back, has_frame("branch")));
  shown = history(token);
  ASSERT_EQ(shown.size(), 4u) << json::serialize(shown);
  EXPECT_EQ(json_str(shown[0].as_object(), "id"), h1);
  EXPECT_EQ(json_str(shown[2].as_object(), "id"), h2);
}

TEST_P(versions_e2e, continue_writes_on_from_a_reply_cut_at_the_token_limit) {
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "6", "--ignore-eos", "true"});
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list first;
  auto h1 = send_message(ws, "Once upon a time", &first);
  ASSERT_TRUE(read_until(ws, first, has_frame("reply_end", h1)));
  const auto* end1 = find_frame(first, "reply_end", h1);
  ASSERT_EQ(json_str(*end1, "finish"), "length");
  const auto b1 = json_str(*end1, "message_id");
  const auto b1_text = json_str(*end1, "text");
  auto shown = history(token);
  EXPECT_EQ(json_str(shown[1].as_object(), "finish"), "length");

  frame_list frames;
  auto ack = request(ws, {{"type", "continue"}, {"message_id", b1}}, frames);
  ASSERT_EQ(json_str(ack, "type"), "ack") << json::serialize(ack);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1))) << worker.log_text();
  const auto* start = find_frame(frames, "reply_start", h1);
  EXPECT_EQ(json_str(*start, "kind"), "continue");
  EXPECT_EQ(json_str(*start, "continue_of"), b1);
  const auto* end = find_frame(frames, "reply_end", h1);
  const auto text = json_str(*end, "text");
  // The new version is the old text and what was written after it (the deltas).
  EXPECT_EQ(text, b1_text + assembled_reply(frames, h1));
  EXPECT_GT(text.size(), b1_text.size());
  shown = history(token);
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(json_str(shown[1].as_object(), "msg"), text);
  EXPECT_EQ(int_of(shown[1].as_object(), "version"), 2);
}

TEST_P(versions_e2e, frames_that_cannot_apply_get_a_documented_error_and_change_nothing) {
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  frame_list frames;
  // No worker yet: the message waits, so versions must wait too.
  auto h1 = send_message(ws, "Hello", &frames);
  auto busy = request(ws, {{"type", "edit"}, {"message_id", h1}, {"text", "Hullo"}, {"client_id", "c"}}, frames);
  EXPECT_EQ(json_str(busy, "code"), "reply_in_progress");
  EXPECT_EQ(json_str(busy, "client_id"), "c");

  worker_process worker(redis.url(), dir.path(), "w1");
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1))) << worker.log_text();
  const auto b1 = json_str(*find_frame(frames, "reply_end", h1), "message_id");
  const auto before = redis.command_str({"LLEN", "parley:{" + token + "}:history"});

  struct refusal {
    json::object frame;
    std::string code;
    std::string field;
  };
  for (const auto& [frame, code, field] : std::vector<refusal>{
           {{{"type", "regenerate"}, {"message_id", "1-0"}}, "message_not_found", "message_id"},
           {{{"type", "regenerate"}, {"message_id", h1}}, "invalid_target", "message_id"},
           {{{"type", "edit"}, {"message_id", b1}, {"text", "x"}}, "invalid_target", "message_id"},
           {{{"type", "continue"}, {"message_id", h1}}, "invalid_target", "message_id"},
           {{{"type", "edit"}, {"message_id", h1}, {"text", "  "}}, "empty_message", "text"},
           {{{"type", "switch"}, {"message_id", b1}, {"version", 2}}, "bad_frame", "version"},
           {{{"type", "switch"}, {"message_id", "12-3"}, {"version", 1}}, "message_not_found", "message_id"},
           {{{"type", "regenerate"}, {"message_id", "nope"}}, "bad_frame", "message_id"},
       }) {
    frame_list seen;
    auto answer = request(ws, frame, seen);
    EXPECT_EQ(json_str(answer, "type"), "error") << json::serialize(frame);
    EXPECT_EQ(json_str(answer, "code"), code) << json::serialize(frame);
    EXPECT_EQ(json_str(answer, "field"), field) << json::serialize(frame);
  }
  EXPECT_EQ(redis.command_str({"LLEN", "parley:{" + token + "}:history"}), before);
  // The socket and the conversation go on.
  auto [h2, b2] = turn(ws, "Still here?");
  EXPECT_FALSE(b2.empty());
}

TEST_P(versions_e2e, a_regenerated_reply_stops_and_a_queued_one_is_withdrawn) {
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  std::string h1, b1;
  {
    worker_process quick(redis.url(), dir.path(), "w0");
    std::tie(h1, b1) = turn(ws, "Once upon a time");
  }
  // No worker: the regenerate waits, and a stop withdraws it; the first version is shown again.
  frame_list queued;
  auto ack = request(ws, {{"type", "regenerate"}, {"message_id", b1}}, queued);
  ASSERT_EQ(json_str(ack, "type"), "ack");
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", h1}})));
  ASSERT_TRUE(read_until(ws, queued, has_frame("reply_withdrawn", h1)));
  EXPECT_EQ(json_str(*find_frame(queued, "reply_withdrawn", h1), "leaf"), b1);
  auto shown = history(token);
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(json_str(shown[1].as_object(), "id"), b1);

  // Running: a stop ends the new version with its partial text, like any reply.
  worker_process worker(redis.url(), dir.path(), "w1",
                        {"--ignore-eos", "true", "--ctx-size", "4096", "--max-new-tokens", "4096", "--flush-tokens", "1"});
  frame_list frames;
  ack = request(ws, {{"type", "regenerate"}, {"message_id", b1}}, frames);
  ASSERT_EQ(json_str(ack, "type"), "ack");
  ASSERT_TRUE(read_until(ws, frames, has_frame("delta", h1))) << worker.log_text();
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "stop"}, {"message_id", h1}})));
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1))) << worker.log_text();
  const auto* end = find_frame(frames, "reply_end", h1);
  EXPECT_TRUE(end->contains("stopped")) << json::serialize(*end);
  shown = history(token);
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_TRUE(shown[1].as_object().contains("stopped"));
  EXPECT_EQ(int_of(shown[1].as_object(), "versions"), 2);
}

TEST_P(versions_e2e, kill_9_mid_regenerate_hands_the_version_to_another_worker_once) {
  std::vector<std::string> slow{"--max-new-tokens", "400", "--flush-tokens", "1"};
  std::optional<worker_process> w1, w2;
  w1.emplace(redis.url(), dir.path(), "w1", slow);
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  auto [h1, b1] = turn(ws, "Once upon a time");
  w2.emplace(redis.url(), dir.path(), "w2", slow);
  bool killed = false;
  for (int round = 0; round < 3 && !killed; ++round) {
    frame_list frames;
    auto ack = request(ws, {{"type", "regenerate"}, {"message_id", b1}}, frames);
    ASSERT_EQ(json_str(ack, "type"), "ack");
    ASSERT_TRUE(read_until(ws, frames, has_frame("delta", h1)));
    const auto holder = redis.command_str({"GET", "parley:{" + token + "}:lease"});
    if (holder.empty() || find_frame(frames, "reply_end", h1)) {
      ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1)));
      continue;
    }
    auto& victim = holder.starts_with("w1/") ? *w1 : *w2;
    victim.proc().signal(SIGKILL);
    victim.proc().wait_exit(5s);
    killed = true;
    ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h1))) << w1->log_text() << w2->log_text();
    EXPECT_TRUE(find_frame(frames, "reply_discard", h1));
    const auto* end = find_frame(frames, "reply_end", h1);
    EXPECT_EQ(assembled_reply(frames, h1), json_str(*end, "text"));
    // One stored reply per regenerate: the first and one per round so far.
    EXPECT_EQ(redis.command_str({"LLEN", "parley:{" + token + "}:history"}), std::to_string(3 + round));
  }
  EXPECT_TRUE(killed) << "every reply ended before the worker could be killed";
}

TEST_P(versions_e2e, a_second_tab_sees_edits_switches_and_regenerations) {
  worker_process worker(redis.url(), dir.path(), "w1");
  auto token = new_session();
  ws_client a, b;
  connect(a, token);
  auto [h1, b1] = turn(a, "Hello Bot");
  connect(b, token);
  frame_list seen_a, seen_b;
  auto ack = request(a, {{"type", "regenerate"}, {"message_id", b1}}, seen_a);
  ASSERT_EQ(json_str(ack, "type"), "ack");
  ASSERT_TRUE(read_until(b, seen_b, has_frame("reply_end", h1)));
  EXPECT_TRUE(find_frame(seen_b, "reply_requested", h1));
  ASSERT_TRUE(read_until(a, seen_a, has_frame("reply_end", h1)));
  ASSERT_TRUE(a.send_text(json::serialize(json::object{{"type", "switch"}, {"message_id", b1}, {"version", 1}})));
  ASSERT_TRUE(read_until(b, seen_b, has_frame("branch")));
  ack = request(a, {{"type", "edit"}, {"message_id", h1}, {"text", "Hello again"}}, seen_a);
  ASSERT_EQ(json_str(ack, "type"), "ack");
  ASSERT_TRUE(read_until(b, seen_b, [&](const frame_list& f) {
    for (const auto& x : f)
      if (json_str(x, "type") == "message" && json_str(x, "edit_of") == h1) return true;
    return false;
  }));
  // A tab that reconnects after all of it resumes without a gap or a double.
  ASSERT_TRUE(read_until(b, seen_b, has_frame("reply_end", json_str(ack, "id"))));
  EXPECT_TRUE(event_ids_increase(seen_b));
}

TEST_P(versions_e2e, a_message_sent_while_a_regenerate_streams_follows_the_new_version) {
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "24", "--flush-tokens", "1"});
  auto token = new_session();
  ws_client ws;
  connect(ws, token);
  auto [h1, b1] = turn(ws, "Once upon a time");
  frame_list frames;
  auto ack = request(ws, {{"type", "regenerate"}, {"message_id", b1}}, frames);
  ASSERT_EQ(json_str(ack, "type"), "ack");
  // Queued behind the regenerate, in the same conversation: answered after it, on its branch.
  auto h2 = send_message(ws, "And then?", &frames);
  ASSERT_TRUE(read_until(ws, frames, has_frame("reply_end", h2))) << worker.log_text();
  std::size_t regen_end = 0, next_start = 0;
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (json_str(frames[i], "type") == "reply_end" && json_str(frames[i], "reply_to") == h1) regen_end = i;
    if (json_str(frames[i], "type") == "reply_start" && json_str(frames[i], "reply_to") == h2) next_start = i;
  }
  ASSERT_GT(regen_end, 0u);
  EXPECT_LT(regen_end, next_start) << "the turns interleaved";
  const auto b1v2 = json_str(frames[regen_end], "message_id");
  // The branch in list order, as a burst reads (h1 h2 b1v2 b2: the follow-up was stored before
  // the new version); clients pair replies by reply_to.
  auto shown = history(token);
  ASSERT_EQ(shown.size(), 4u) << json::serialize(shown);
  std::vector<std::string> ids;
  for (const auto& m : shown) ids.push_back(json_str(m.as_object(), "id"));
  EXPECT_EQ(ids[0], h1);
  EXPECT_EQ(ids[1], h2);
  EXPECT_EQ(ids[2], b1v2);
  EXPECT_EQ(int_of(shown[2].as_object(), "version"), 2);
  EXPECT_EQ(json_str(shown[3].as_object(), "reply_to"), h2);
  // The follow-up hangs off the new version: switching to the first one leaves it behind.
  frame_list back;
  ASSERT_TRUE(ws.send_text(json::serialize(json::object{{"type", "switch"}, {"message_id", b1v2}, {"version", 1}})));
  ASSERT_TRUE(read_until(ws, back, has_frame("branch")));
  shown = history(token);
  ASSERT_EQ(shown.size(), 2u) << json::serialize(shown);
  EXPECT_EQ(json_str(shown[1].as_object(), "id"), b1);
}

TEST_P(versions_e2e, resuming_mid_regenerate_gives_the_new_version_exactly_once) {
  worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "200", "--flush-tokens", "1"});
  auto token = new_session();
  std::string h1, b1;
  frame_list frames;
  {
    ws_client ws;
    connect(ws, token);
    std::tie(h1, b1) = turn(ws, "Once upon a time");
    auto ack = request(ws, {{"type", "regenerate"}, {"message_id", b1}}, frames);
    ASSERT_EQ(json_str(ack, "type"), "ack");
    ASSERT_TRUE(read_until(ws, frames, has_frame("delta", h1)));
    ws.drop();
  }
  ws_client again;
  connect(again, token, last_event_id(frames));
  ASSERT_TRUE(read_until(again, frames, has_frame("reply_end", h1))) << worker.log_text();
  EXPECT_TRUE(event_ids_increase(frames)) << "an event came twice or out of order";
  const auto* end = find_frame(frames, "reply_end", h1);
  EXPECT_EQ(assembled_reply(frames, h1), json_str(*end, "text"));
  auto shown = history(token);
  ASSERT_EQ(shown.size(), 2u);
  EXPECT_EQ(json_str(shown[1].as_object(), "msg"), json_str(*end, "text"));
  EXPECT_EQ(int_of(shown[1].as_object(), "versions"), 2);
}

INSTANTIATE_TEST_SUITE_P(redis, versions_e2e, both_redis_kinds, redis_kind_name);

}  // namespace
}  // namespace parley::test

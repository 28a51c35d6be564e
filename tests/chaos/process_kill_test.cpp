// Processes dying under a live chat: a worker killed with SIGKILL mid-reply (another takes the
// turn over), a gateway killed with SIGKILL (the client resumes on another gateway), and the
// client's own TCP connection cut (it resumes on the same one). In each the turn completes with
// exactly one reply, and the client sees every event of the session exactly once.
#include "chaos.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <optional>

namespace parley::chaos {
namespace {

TEST(chaos, worker_kill_9_mid_reply) {
  scenario s("worker_kill_9_mid_reply");
  pt::temp_dir dir;
  pt::redis_server redis(dir.path());
  pt::gateway_process gateway(redis.url(), dir.path());
  std::vector<std::optional<pt::worker_process>> workers(2);
  int started = 0;
  const auto start_worker = [&](std::size_t i) {
    workers[i].emplace(redis.url(), dir.path(), "w" + std::to_string(++started), long_reply_flags());
  };
  start_worker(0);
  start_worker(1);
  for (int t = 0; t < trials(2, 10); ++t) {
    s.trial([&] {
      for (std::size_t i = 0; i < workers.size(); ++i)
        if (!workers[i]->proc().running()) start_worker(i);
      const auto token = pt::new_session(gateway.port());
      pt::frame_list frames;
      auto ws = open_chat(gateway.port(), token, frames);
      // A reply may end before the kill lands (the model stops early): then ask again.
      for (int attempt = 0; attempt < 5; ++attempt) {
        const auto id = pt::send_message(*ws, "Once upon a time", &frames);
        require(pt::read_until(*ws, frames, pt::has_frame("delta", id)), "no delta for " + id);
        const auto holder = redis.command_str({"GET", "parley:{" + token + "}:lease"});
        if (holder.empty() || !mid_reply(frames, id)) {
          require(pt::read_until(*ws, frames, pt::has_frame("reply_end", id)), "no reply_end for " + id);
          continue;
        }
        const std::size_t victim = holder.starts_with(workers[0]->name() + "/") ? 0 : 1;
        const auto killed = clock::now();
        workers[victim]->proc().signal(SIGKILL);
        workers[victim]->proc().wait_exit(5s);
        require(pt::read_until(*ws, frames, pt::has_frame("reply_discard", id)),
                "no reply_discard: the turn was not taken over");
        s.add_time("takeover", clock::now() - killed);
        require(pt::read_until(*ws, frames, pt::has_frame("reply_end", id)), "no reply_end after the takeover");
        check_turn(redis, gateway.port(), token, frames, id);
        return;
      }
      throw trial_failed("every reply ended before the worker could be killed");
    });
  }
  s.report();
}

TEST(chaos, gateway_kill_9_resume_on_another_gateway) {
  scenario s("gateway_kill_9_resume_on_another_gateway");
  pt::temp_dir dir;
  pt::redis_server redis(dir.path());
  pt::gateway_process g1(redis.url(), dir.path()), g2(redis.url(), dir.path());
  pt::worker_process worker(redis.url(), dir.path(), "w1", long_reply_flags());
  for (int t = 0; t < trials(3, 12); ++t) {
    // Killed right after the ack, after the first delta, or after a few deltas.
    const int deltas_before_kill = t % 3 == 0 ? 0 : t % 3 == 1 ? 1 : 5;
    auto& victim = t % 2 == 0 ? g1 : g2;
    auto& other = t % 2 == 0 ? g2 : g1;
    s.trial([&] {
      for (auto* g : {&g1, &g2})
        if (!g->proc().running()) g->restart();
      const auto token = pt::new_session(victim.port());
      pt::frame_list frames;
      auto ws = open_chat(victim.port(), token, frames);
      const auto id = pt::send_message(*ws, "Once upon a time", &frames);
      if (deltas_before_kill > 0)
        require(pt::read_until(*ws, frames, pt::has_frame("delta", id, deltas_before_kill)), "no deltas for " + id);
      const auto killed = clock::now();
      victim.proc().signal(SIGKILL);
      victim.proc().wait_exit(5s);
      // The client notices the dropped connection, then resumes on the other gateway.
      require(ws->wait_closed(10s).has_value(), "the socket of the killed gateway did not close");
      ws.reset();
      const auto resumed_from = resume_point(frames);
      ws = open_chat(other.port(), token, frames, resumed_from);
      s.add_time("resume", clock::now() - killed);
      require(read_resuming(ws, other.port(), token, frames, pt::has_frame("reply_end", id)),
              "no reply_end after resuming from " + resumed_from);
      check_turn(redis, other.port(), token, frames, id);
    });
  }
  s.report();
}

TEST(chaos, tcp_cut_resume) {
  scenario s("tcp_cut_resume");
  pt::temp_dir dir;
  pt::redis_server redis(dir.path());
  pt::gateway_process gateway(redis.url(), dir.path());
  pt::worker_process worker(redis.url(), dir.path(), "w1", long_reply_flags());
  for (int t = 0; t < trials(3, 15); ++t) {
    // Cut before the ack arrived, after the first delta, or after a few deltas.
    const int cut_after = t % 3 == 0 ? -1 : t % 3 == 1 ? 1 : 5;
    s.trial([&] {
      const auto token = pt::new_session(gateway.port());
      pt::frame_list frames;
      auto ws = open_chat(gateway.port(), token, frames);
      const auto client_id = "cut-" + std::to_string(t);
      std::string id;
      if (cut_after < 0) {
        // The message went out but the client never saw its ack: it resends with the same
        // client_id after reconnecting, and must get it stored and answered once.
        require(ws->send_text(R"({"type":"message","text":"Once upon a time","client_id":")" + client_id + "\"}"),
                "the message could not be sent");
      } else {
        id = pt::send_message(*ws, "Once upon a time", &frames, client_id);
        require(pt::read_until(*ws, frames, pt::has_frame("delta", id, cut_after)), "no deltas for " + id);
      }
      ws->drop();
      ws.reset();
      const auto cut = clock::now();
      const auto resumed_from = resume_point(frames);
      ws = open_chat(gateway.port(), token, frames, resumed_from);
      s.add_time("reconnect", clock::now() - cut);
      if (id.empty()) id = send_until_acked(ws, gateway.port(), token, frames, "Once upon a time", client_id);
      require(read_resuming(ws, gateway.port(), token, frames, pt::has_frame("reply_end", id)),
              "no reply_end after resuming from " + resumed_from);
      check_turn(redis, gateway.port(), token, frames, id);
      const auto messages = pt::history(gateway.port(), token);
      require(messages.size() == 2, "history holds " + std::to_string(messages.size()) + " entries, expected 2");
    });
  }
  s.report();
}

}  // namespace
}  // namespace parley::chaos

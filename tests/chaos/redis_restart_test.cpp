// Redis going away under a live chat, with the AOF on as `make run` runs it: SIGTERM (the AOF
// is flushed at shutdown) and SIGKILL (appendfsync always: nothing acknowledged may be lost),
// each also after a BGREWRITEAOF. The interrupted turn completes with one reply, the next
// message is accepted, and the client sees every event exactly once, without resync_required.
//
// Two scenarios reproduce known gateway defects (issue 9) and fail until they are fixed:
// - Redis 7.0 does not restore a consumer group's entries-read for reads made after the last
//   AOF rewrite, so after a restart XINFO GROUPS reports a stale lag; the gateway counts lag as
//   queue depth and refuses every message with `busy`, for good.
// - A gateway that reconnects while Redis is still loading its AOF tells open sockets
//   `resync_required` though nothing was trimmed (XINFO STREAM answers -LOADING).
#include "chaos.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace parley::chaos {
namespace {

bool has_type(const pt::frame_list& frames, const std::string& type) {
  for (const auto& f : frames)
    if (pt::json_str(f, "type") == type) return true;
  return false;
}

std::vector<std::string> aof_flags(const char* fsync) {
  return {"--appendonly", "yes", "--appendfsync", fsync};
}

// One trial: a turn answered, optionally an AOF rewrite, a second turn interrupted mid-reply by
// `sig`, Redis started again on the same data, then a third message.
void restart_mid_reply(scenario& s, pt::redis_server& redis, std::uint16_t port, int sig, bool rewrite, int t) {
  const auto token = pt::new_session(port);
  pt::frame_list frames;
  auto ws = open_chat(port, token, frames);
  const auto first = pt::send_message(*ws, "Hello", &frames);
  require(pt::read_until(*ws, frames, pt::has_frame("reply_end", first)), "no reply_end for the first message");
  if (rewrite) rewrite_aof(redis);
  const auto second = pt::send_message(*ws, "Once upon a time", &frames);
  require(pt::read_until(*ws, frames, pt::has_frame("delta", second)), "no delta for the second message");
  const auto down = clock::now();
  if (sig == SIGTERM) {
    redis.stop();
  } else {
    redis.proc().signal(sig);
    redis.proc().wait_exit(5s);
  }
  redis.start(30s);
  const auto third =
      send_until_acked(ws, port, token, frames, "And then?", "after-restart-" + std::to_string(t), 30s);
  s.add_time("accepting again", clock::now() - down);
  require(read_resuming(ws, port, token, frames, pt::has_frame("reply_end", second)),
          "the interrupted turn never completed");
  s.add_time("interrupted turn completed", clock::now() - down);
  require(read_resuming(ws, port, token, frames, pt::has_frame("reply_end", third)),
          "no reply_end for the message sent after the restart");
  require(!has_type(frames, "resync_required"), "resync_required after the restart, though nothing was trimmed");
  check_turn(redis, port, token, frames, second);
  check_turn(redis, port, token, frames, third);
  const auto messages = pt::history(port, token);
  require(messages.size() == 6, "history holds " + std::to_string(messages.size()) + " entries, expected 6");
}

void restart_scenario(const std::string& name, int sig, const char* fsync) {
  scenario s(name);
  pt::temp_dir dir;
  pt::redis_server redis(dir.path(), aof_flags(fsync));
  pt::gateway_process gateway(redis.url(), dir.path());
  pt::worker_process worker(redis.url(), dir.path(), "w1", long_reply_flags());
  for (int t = 0; t < trials(2, 10); ++t) {
    const bool rewrite = t % 2 == 1;
    s.trial([&] {
      if (!redis.running()) redis.start(30s);
      restart_mid_reply(s, redis, gateway.port(), sig, rewrite, t);
    });
  }
  s.report();
}

TEST(chaos, redis_sigterm_mid_reply) { restart_scenario("redis_sigterm_mid_reply", SIGTERM, "everysec"); }

TEST(chaos, redis_kill_9_mid_reply) { restart_scenario("redis_kill_9_mid_reply", SIGKILL, "always"); }

// XINFO GROUPS of the request stream, as one line for a failure message.
std::string group_info(const pt::redis_server& redis) {
  std::string out;
  for (const auto& g : redis.command({"XINFO", "GROUPS", "parley:requests"}).elements)
    for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      const auto& v = g.elements[i + 1];
      out += g.elements[i].str + "=" + (v.type == pt::redis_reply::kind::integer ? std::to_string(v.integer) : v.str) + " ";
    }
  return out;
}

TEST(chaos, redis_restart_after_aof_rewrite_keeps_accepting) {
  scenario s("redis_restart_after_aof_rewrite_keeps_accepting");
  constexpr int max_queue = 5;
  pt::temp_dir dir;
  pt::redis_server redis(dir.path(), aof_flags("always"));
  pt::gateway_process gateway(redis.url(), dir.path(),
                              {"--max-queue", std::to_string(max_queue), "--queue-sample-interval", "100ms",
                               "--rate-burst", "100", "--rate-per-second", "100"});
  pt::worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "4"});
  for (int t = 0; t < trials(1, 3); ++t) {
    s.trial([&] {
      if (!redis.running()) redis.start(30s);
      const auto token = pt::new_session(gateway.port());
      pt::frame_list frames;
      auto ws = open_chat(gateway.port(), token, frames);
      const auto answer = [&](const std::string& text) {
        const auto id = pt::send_message(*ws, text, &frames);
        require(pt::read_until(*ws, frames, pt::has_frame("reply_end", id)), "no reply_end for " + text);
      };
      for (int i = 0; i < 3; ++i) answer("before the rewrite " + std::to_string(i));
      rewrite_aof(redis);
      // More than MAX_QUEUE requests read after the rewrite, each answered before the next: the
      // queue never holds more than one.
      for (int i = 0; i < max_queue + 3; ++i) answer("after the rewrite " + std::to_string(i));
      const auto before = group_info(redis);
      redis.stop();
      redis.start(30s);
      const auto restarted = clock::now();
      std::string id;
      try {
        id = send_until_acked(ws, gateway.port(), token, frames, "after the restart", "restart-" + std::to_string(t),
                              15s, {"unavailable", "busy"});
      } catch (const trial_failed& e) {
        throw trial_failed(std::string(e.what()) + "; XINFO GROUPS before the restart: " + before +
                           "; after: " + group_info(redis) + "(the queue is empty: every request was answered)");
      }
      s.add_time("accepting again", clock::now() - restarted);
      require(read_resuming(ws, gateway.port(), token, frames, pt::has_frame("reply_end", id)),
              "the message sent after the restart was not answered");
    });
  }
  s.report();
}

TEST(chaos, redis_loading_its_aof_gives_no_resync_required) {
  scenario s("redis_loading_its_aof_gives_no_resync_required");
  // Loading takes seconds: filler keys in the AOF's base file, each delayed on load, while Redis
  // answers -LOADING to the gateway's commands.
  constexpr int filler_keys = 10000;
  auto flags = aof_flags("everysec");
  // Clients are served during loading (with -LOADING) only between chunks of this many bytes.
  flags.insert(flags.end(), {"--enable-debug-command", "local", "--key-load-delay", "300",
                             "--loading-process-events-interval-bytes", "1024"});
  pt::temp_dir dir;
  pt::redis_server redis(dir.path(), flags);
  pt::gateway_process gateway(redis.url(), dir.path());
  pt::worker_process worker(redis.url(), dir.path(), "w1", {"--max-new-tokens", "8"});
  redis.command({"DEBUG", "POPULATE", std::to_string(filler_keys), "filler", "10"});
  for (int t = 0; t < trials(1, 3); ++t) {
    s.trial([&] {
      if (!redis.running()) redis.start(60s);
      const auto token = pt::new_session(gateway.port());
      pt::frame_list frames;
      auto ws = open_chat(gateway.port(), token, frames);
      const auto first = pt::send_message(*ws, "Hello", &frames);
      require(pt::read_until(*ws, frames, pt::has_frame("reply_end", first)), "no reply_end for the first message");
      rewrite_aof(redis);
      redis.stop();
      const auto down = clock::now();
      // While Redis loads, once both gateway connections are back, drop the pub/sub ones: the
      // gateway resubscribes and replays with its command connection up, whichever of the two
      // reconnected first (CLIENT and INFO are served while loading). This runs beside start(),
      // which must stay on the test thread: a child dies with the thread that started it.
      bool dropped_while_loading = false;
      std::thread dropper([&] {
        pt::wait_until(
            [&] {
              try {
                const auto clients = redis.command_str({"CLIENT", "LIST"});
                std::size_t gateway_clients = 0;
                for (auto at = clients.find("name=parley-gateway"); at != std::string::npos;
                     at = clients.find("name=parley-gateway", at + 1))
                  ++gateway_clients;
                if (gateway_clients < 2) return false;
                redis.command({"CLIENT", "KILL", "TYPE", "pubsub"});
                dropped_while_loading =
                    redis.command_str({"INFO", "persistence"}).find("loading:1") != std::string::npos;
                return true;
              } catch (const std::exception&) {
                return false;
              }
            },
            30s);
      });
      try {
        redis.start(60s);
      } catch (...) {
        dropper.join();
        throw;
      }
      dropper.join();
      const auto loading = clock::now() - down;
      // Since the gateway's Redis connections wait for PING (refused with LOADING), they rarely
      // stay up while Redis loads; that the gateway reached Redis during loading shows in its log.
      require(dropped_while_loading || gateway.log_text().find("is loading its dataset") != std::string::npos,
              "setup: Redis had finished loading before the gateway reconnected");
      const auto id = send_until_acked(ws, gateway.port(), token, frames, "after loading", "loaded-" + std::to_string(t));
      require(read_resuming(ws, gateway.port(), token, frames, pt::has_frame("reply_end", id)),
              "the message sent after the restart was not answered");
      s.add_time("restart with loading", loading);
      require(!has_type(frames, "resync_required"),
              "resync_required after a Redis restart whose AOF took " + std::to_string(seconds(loading)) +
                  " s to load, though no event was trimmed");
      check_turn(redis, gateway.port(), token, frames, id);
    });
  }
  s.report();
}

}  // namespace
}  // namespace parley::chaos

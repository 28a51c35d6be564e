#pragma once
// The integration-test harness: real processes, real sockets, no mocks.
//
//   #include <parley/test/harness.hpp>
//   parley::test::temp_dir dir;                       // removed with its contents at scope exit
//   parley::test::redis_server redis(dir.path());     // private redis-server on a free port
//   redis.command({"SET", "k", "v"});                 // synchronous hiredis call, for setup/asserts
//   auto& cluster = parley::test::shared_cluster();   // 3 masters + 3 replicas, emptied; cluster.url()
//   parley::test::redis_under_test r(kind, dir.path()); // either of them, for suites run on both
//   parley::test::gateway_process gw(redis.url(), dir.path(), {"--session-ttl", "5"});
//   auto r = parley::test::http_request({.port = gw.port(), .method = "POST", .target = "/token?name=a"});
//   parley::test::ws_client ws;
//   ws.connect({.port = gw.port(), .target = "/chat?token=" + tok});
//   ws.send_text(R"({"type":"message","text":"hi"})");
//   auto frame = ws.read_json_type("ack", std::chrono::seconds(5));   // skips other frames
//   parley::test::worker_process worker(redis.url(), dir.path(), "w1");  // the test model, short timings
//   parley::test::frame_list frames;                  // chat.hpp: a chat as a browser holds it
//   auto id = parley::test::send_message(ws, "Hello", &frames);
//   parley::test::read_until(ws, frames, parley::test::has_frame("reply_end", id));
//
// Every child process gets PR_SET_PDEATHSIG so a crashed test leaves nothing running; its
// stdout+stderr go to a log file whose text `log_text()` returns (print it when a test fails).
// Link `parley_test_harness` and you get all of it; `parley_test_support` is all but
// gateway_process, for unit tests that must not wait for the gateway binary to be built.
#include <parley/test/chat.hpp>
#include <parley/test/gateway_process.hpp>
#include <parley/test/http_client.hpp>
#include <parley/test/ports.hpp>
#include <parley/test/process.hpp>
#include <parley/test/raw_ws.hpp>
#include <parley/test/redis_cluster.hpp>
#include <parley/test/redis_server.hpp>
#include <parley/test/redis_under_test.hpp>
#include <parley/test/socket_probe.hpp>
#include <parley/test/temp_dir.hpp>
#include <parley/test/worker_process.hpp>
#include <parley/test/ws_client.hpp>

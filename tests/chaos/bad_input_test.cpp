// The bad-input corpus: malformed HTTP requests and WebSocket frames thrown at a gateway while
// another session's reply streams. Each input is one trial: it gets the answer documented in
// docs/protocol.md (a 4xx status, an error frame, or the close code named there; a protocol
// violation closes the socket), the gateway keeps running and answering, and at the end the
// streaming session has its whole reply, exactly once.
#include "chaos.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <iostream>

namespace parley::chaos {
namespace {

using namespace std::string_literals;

struct http_case {
  const char* name;
  std::string bytes;
  const char* status;  // the answer's status must start with this
};

std::string junk(std::size_t n) {
  std::string out;
  std::uint32_t x = 2463534242u;
  for (std::size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    out += static_cast<char>(x & 0xff);
  }
  return out;
}

std::vector<http_case> http_corpus(const std::string& token) {
  const std::string upgrade = "GET /chat?token=" + token + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n";
  std::string many_headers = "GET /test HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) many_headers += "X-" + std::to_string(i) + ": v\r\n";
  std::string pipelined;
  for (int i = 0; i < 200; ++i) pipelined += "GET /test HTTP/1.1\r\nHost: x\r\n\r\n";
  pipelined += "GET /test HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  return {
      {"not_http", "GARBAGE\r\n\r\n", "400"},
      {"binary_junk", junk(2048) + "\r\n\r\n", "400"},
      {"tls_client_hello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"s + junk(64) + "\r\n\r\n", "400"},
      {"method_garbage", "G@T /test HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
      {"header_without_colon", "GET /test HTTP/1.1\r\nHost x\r\n\r\n", "400"},
      {"nul_in_target", "GET /te\0st HTTP/1.1\r\nHost: x\r\n\r\n"s, "400"},
      {"negative_content_length", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "400"},
      {"huge_content_length", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n", "4"},
      {"content_length_over_limit", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n", "413"},
      {"two_content_lengths", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", "400"},
      {"bad_chunk_size", "POST /token HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "400"},
      {"oversized_head", "GET /test HTTP/1.1\r\nHost: x\r\nX: " + std::string(9000, 'a') + "\r\n\r\n", "431"},
      {"many_headers", many_headers + "\r\n", "431"},
      {"long_target", "GET /" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n", "431"},
      {"bad_percent_encoding", "GET /refresh_token?token=%zz HTTP/1.1\r\nHost: x\r\n\r\n", "400"},
      {"token_body_not_json", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nConnection: close\r\n\r\n{\"name\":", "400"},
      {"token_body_deep_json", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 10000\r\nConnection: close\r\n\r\n" + std::string(10000, '['), "400"},
      {"token_body_wrong_type", "POST /token HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nConnection: close\r\n\r\n{\"name\":5}", "400"},
      {"upgrade_without_key", upgrade + "Sec-WebSocket-Version: 13\r\n\r\n", "4"},
      {"upgrade_wrong_version", upgrade + "Sec-WebSocket-Version: 8\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "4"},
      {"upgrade_bad_last_event_id",
       "GET /chat?token=" + token + "&last_event_id=abc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "400"},
      {"upgrade_unknown_token",
       "GET /chat?token=00000000-0000-4000-8000-000000000000 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", "403"},
      {"pipelined_requests", pipelined, "200"},
  };
}

struct ws_case {
  const char* name;
  std::string bytes;
  // An error frame with this code (the socket stays open), or when empty a close with one of
  // `close_codes` (0: the TCP connection dropped without a close frame).
  const char* error_code;
  std::vector<int> close_codes;
};

// A frame header with a 64-bit length and the zero mask, and no payload.
std::string frame_head_64(std::uint64_t length) {
  std::string f = "\x81\xff"s;
  for (int shift = 56; shift >= 0; shift -= 8) f += static_cast<char>((length >> shift) & 0xff);
  return f + std::string(4, '\0');
}

std::vector<ws_case> ws_corpus() {
  const std::vector<int> protocol_error{1002, 0};
  return {
      {"unmasked_frame", "\x81\x05hello", "", protocol_error},
      {"rsv1_set", "\xc1\x85"s + std::string(4, '\0') + "hello", "", protocol_error},
      {"reserved_opcode", pt::client_frame(0x3, "hello"), "", protocol_error},
      {"reserved_control_opcode", pt::client_frame(0xb, "hello"), "", protocol_error},
      {"ping_over_125_bytes", pt::client_frame(pt::ws_op_ping, std::string(126, 'p')), "", protocol_error},
      {"fragmented_ping", pt::client_frame(pt::ws_op_ping, "p", false), "", protocol_error},
      {"continuation_without_start", pt::client_frame(pt::ws_op_continuation, "x"), "", protocol_error},
      {"text_inside_fragmented_message",
       pt::client_frame(pt::ws_op_text, "a", false) + pt::client_frame(pt::ws_op_text, "b"), "", protocol_error},
      {"non_minimal_length", "\x81\xfe\x00\x05"s + std::string(4, '\0') + "hello", "", protocol_error},
      {"length_with_top_bit", frame_head_64(1ull << 63), "", {1002, 1009, 0}},
      {"length_4_gib", frame_head_64(1ull << 32), "", {1009}},
      {"frame_over_max_frame_bytes", pt::client_frame(pt::ws_op_text, std::string(70000, 'x')), "", {1009}},
      {"invalid_utf8", pt::client_frame(pt::ws_op_text, "\xff\xfe"), "", {1007}},
      {"truncated_utf8", pt::client_frame(pt::ws_op_text, "ab\xe2\x82"), "", {1007}},
      {"overlong_utf8", pt::client_frame(pt::ws_op_text, "\xc0\xaf"), "", {1007}},
      {"utf16_surrogate", pt::client_frame(pt::ws_op_text, "\xed\xa0\x80"), "", {1007}},
      {"close_one_byte_payload", pt::client_frame(pt::ws_op_close, "\x03"), "", protocol_error},
      {"close_reserved_code", pt::client_frame(pt::ws_op_close, "\x03\xed"), "", protocol_error},
      {"close_reason_not_utf8", pt::client_frame(pt::ws_op_close, "\x03\xe8\xff"), "", {1002, 1007, 0}},
      {"binary_frame", pt::client_frame(pt::ws_op_binary, "abc"), "binary_not_supported", {}},
      {"empty_text", pt::client_frame(pt::ws_op_text, ""), "empty_message", {}},
      {"text_of_wrong_type", pt::client_frame(pt::ws_op_text, R"({"type":"message","text":123})"), "bad_frame", {}},
      {"unknown_type", pt::client_frame(pt::ws_op_text, R"({"type":"nope"})"), "unknown_type", {}},
      {"unknown_field", pt::client_frame(pt::ws_op_text, R"({"type":"ping","x":1})"), "bad_frame", {}},
      {"stop_without_id", pt::client_frame(pt::ws_op_text, R"({"type":"stop"})"), "bad_frame", {}},
      {"control_characters", pt::client_frame(pt::ws_op_text, R"({"type":"message","text":"a\u0001b"})"), "invalid_text", {}},
      {"client_id_too_long",
       pt::client_frame(pt::ws_op_text, R"({"type":"message","text":"a","client_id":")" + std::string(200, 'c') + "\"}"),
       "bad_frame", {}},
      {"text_over_max_chars", pt::client_frame(pt::ws_op_text, std::string(8001, 'x')), "message_too_long", {}},
  };
}

std::string status_of(const std::string& answer) {
  if (!answer.starts_with("HTTP/1.1 ") || answer.size() < 12) return "(no HTTP answer)";
  return answer.substr(9, 3);
}

TEST(chaos, bad_input_corpus) {
  scenario s("bad_input_corpus");
  pt::temp_dir dir;
  pt::redis_server redis(dir.path());
  pt::gateway_process gateway(redis.url(), dir.path());
  pt::worker_process worker(redis.url(), dir.path(), "w1", long_reply_flags());
  // The bystander: a session whose reply streams while the corpus is thrown.
  const auto token = pt::new_session(gateway.port());
  pt::frame_list frames;
  auto ws = open_chat(gateway.port(), token, frames);
  const auto streaming = pt::send_message(*ws, "Once upon a time", &frames);
  const auto alive = [&] {
    require(gateway.proc().running(), "the gateway died:\n" + gateway.log_text());
    require(pt::http_request({.port = gateway.port(), .target = "/test"}).status == 200, "GET /test failed after it");
  };
  const auto victim = pt::new_session(gateway.port());
  for (const auto& c : http_corpus(victim)) {
    s.trial([&] {
      const auto answer = pt::raw_request(gateway.port(), c.bytes, 10s);
      const auto status = status_of(answer);
      std::cout << "bad_input_corpus http " << c.name << ": " << status << std::endl;
      require(status.starts_with(c.status), std::string(c.name) + ": answered " + status + ", expected " + c.status);
      alive();
    });
  }
  for (const auto& c : ws_corpus()) {
    s.trial([&] {
      pt::raw_ws raw(gateway.port(), victim);
      raw.send_raw(c.bytes);
      if (*c.error_code) {
        const auto f = raw.read_json();
        std::cout << "bad_input_corpus ws " << c.name << ": error " << pt::json_str(f, "code") << std::endl;
        require(pt::json_str(f, "type") == "error" && pt::json_str(f, "code") == c.error_code,
                std::string(c.name) + ": got " + boost::json::serialize(f) + ", expected error " + c.error_code);
        raw.send_raw(pt::client_frame(pt::ws_op_text, R"({"type":"ping"})"));
        require(pt::json_str(raw.read_json(), "type") == "pong", std::string(c.name) + ": the socket did not stay open");
      } else {
        const auto code = raw.wait_closed(10s);
        std::cout << "bad_input_corpus ws " << c.name << ": closed " << (code ? std::to_string(*code) : "never")
                  << std::endl;
        require(code.has_value(), std::string(c.name) + ": the socket was not closed");
        require(std::find(c.close_codes.begin(), c.close_codes.end(), *code) != c.close_codes.end(),
                std::string(c.name) + ": closed with " + std::to_string(*code));
      }
      alive();
    });
  }
  s.trial([&] {
    require(pt::read_until(*ws, frames, pt::has_frame("reply_end", streaming)),
            "the bystander's reply did not complete");
    check_turn(redis, gateway.port(), token, frames, streaming);
    const auto next = pt::send_message(*ws, "And then?", &frames);
    require(pt::read_until(*ws, frames, pt::has_frame("reply_end", next)), "the bystander's next message was not answered");
  });
  s.report();
}

}  // namespace
}  // namespace parley::chaos

#pragma once
// One-shot HTTP/1.1 requests with a deadline (a fresh connection each, Connection: close).
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace parley::test {

struct http_options {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // e.g. {"Origin", "http://x"}
  std::chrono::milliseconds timeout{10000};
  // Non-empty: the client socket is bound to this address first, e.g. "127.0.0.2" to be another
  // client address than 127.0.0.1 while still reaching a server on 127.0.0.1.
  std::string local_host;
};

struct http_result {
  bool ok = false;     // a response was received
  std::string error;   // transport error text when !ok
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // First header of that name (case-insensitive), "" when absent.
  std::string header(std::string_view name) const;
};

http_result http_request(const http_options& opts);

// Sends raw bytes and returns everything the server answered until it closed the connection or
// the timeout elapsed: for malformed requests a well-behaved client cannot produce.
std::string raw_request(std::uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace parley::test

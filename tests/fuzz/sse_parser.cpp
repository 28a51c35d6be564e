// The Server-Sent Events parser (parley::http::sse_parser).
// Properties: the events and the verdict do not depend on how the stream is split into chunks
// (whole, three chunks, byte by byte); a failed parser stays failed; no event field holds a line
// break; the type is never empty; an event's data stays within the limit.
#include "check.hpp"

#include <parley/http/sse.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace h = parley::http;
using parley::fuzz::require;

namespace {

struct outcome {
  std::vector<h::sse_event> events;
  bool failed = false;
};

outcome parse(std::size_t limit, const std::vector<std::string_view>& chunks) {
  h::sse_parser p(limit);
  outcome out;
  for (auto c : chunks) {
    if (!p.feed(c, out.events)) {
      out.failed = true;
      require(!p.feed("\n\n", out.events), "a failed parser stays failed");
      break;
    }
  }
  return out;
}

bool same(const outcome& a, const outcome& b) {
  if (a.failed != b.failed || a.events.size() != b.events.size()) return false;
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    const auto &x = a.events[i], &y = b.events[i];
    if (x.type != y.type || x.data != y.data || x.id != y.id || x.retry != y.retry) return false;
  }
  return true;
}

void check(std::string_view all, std::size_t limit) {
  const auto whole = parse(limit, {all});
  const auto third = all.size() / 3;
  const auto split = parse(limit, {all.substr(0, third), all.substr(third, third), all.substr(2 * third)});
  std::vector<std::string_view> bytes;
  for (std::size_t i = 0; i < all.size(); ++i) bytes.push_back(all.substr(i, 1));
  const auto bytewise = parse(limit, bytes);
  require(same(whole, split), "a stream fed in three chunks parses like the whole");
  require(same(whole, bytewise), "a stream fed byte by byte parses like the whole");

  for (const auto& e : whole.events) {
    require(!e.type.empty(), "an event has a type");
    require(e.type.find_first_of("\r\n") == std::string::npos, "a type holds no line break");
    require(e.id.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos, "an id holds no line break or NUL");
    require(e.data.find('\r') == std::string::npos, "data holds no CR (lines are joined with LF)");
    require(e.data.size() <= limit, "data within the limit");
    require(!e.retry || e.retry->count() >= 0, "retry is not negative");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  // The default limit, and a small one (chosen by the input's size) that the limit checks reach.
  for (const std::size_t limit : {h::sse_parser::default_max_event_bytes, 1 + size % 48}) check(all, limit);
  return 0;
}

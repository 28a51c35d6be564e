#pragma once
// An incremental parser for Server-Sent Events (text/event-stream, as specified by WHATWG HTML
// "9.2 Server-sent events"). Bytes may arrive in chunks split anywhere, including between the
// CR and LF of a line ending or inside a UTF-8 sequence.
//
// Thread-safety: none; one parser per stream.
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::http {

struct sse_event {
  std::string type = "message";  // the `event:` field, "message" when absent
  std::string data;              // the `data:` lines joined with '\n'
  std::string id;                // the last event id seen so far in the stream
  std::optional<std::chrono::milliseconds> retry;  // a `retry:` field in this event
};

class sse_parser {
 public:
  static constexpr std::size_t default_max_event_bytes = 1 << 20;

  explicit sse_parser(std::size_t max_event_bytes = default_max_event_bytes)
      : max_event_bytes_(max_event_bytes) {}

  // Parses `bytes` and appends every event completed by them to `out`. Fails with
  // errc::sse_line_too_long once a line or an event's data exceeds max_event_bytes; the parser
  // is unusable afterwards (the stream is not what the caller expects).
  boost::system::result<void> feed(std::string_view bytes, std::vector<sse_event>& out);

 private:
  void process_line(std::string_view line, std::vector<sse_event>& out);

  std::size_t max_event_bytes_;
  std::string line_;
  bool skip_lf_ = false;     // the previous chunk ended with CR; a leading LF belongs to it
  bool at_start_ = true;     // a UTF-8 BOM is skipped only at the very start of the stream
  std::string data_;
  std::string type_;
  std::string last_id_;
  std::optional<std::chrono::milliseconds> retry_;
  bool failed_ = false;
};

}  // namespace parley::http

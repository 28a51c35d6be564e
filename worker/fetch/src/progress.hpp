#pragma once
// Download progress on a stream: a bar redrawn in place on a terminal, a plain line every few
// seconds otherwise (logs, CI). Not thread-safe; one per download.
#include <chrono>
#include <cstdint>
#include <ostream>
#include <string>

namespace parley::worker::fetch {

class progress_meter {
 public:
  progress_meter(std::ostream& out, bool terminal, std::string label, std::uint64_t total, std::uint64_t already);
  void advance(std::uint64_t bytes);
  void finish();

 private:
  void draw(bool final);

  std::ostream& out_;
  bool terminal_;
  std::string label_;
  std::uint64_t total_;  // 0 when unknown
  std::uint64_t done_;
  std::uint64_t start_done_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace parley::worker::fetch

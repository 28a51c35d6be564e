#include "progress.hpp"

#include <cstdio>

namespace parley::worker::fetch {

namespace {
constexpr auto terminal_redraw = std::chrono::milliseconds(100);
constexpr auto log_line_interval = std::chrono::seconds(5);
constexpr int bar_width = 30;
constexpr double mib = 1024.0 * 1024.0;
}  // namespace

progress_meter::progress_meter(std::ostream& out, bool terminal, std::string label, std::uint64_t total,
                               std::uint64_t already)
    : out_(out), terminal_(terminal), label_(std::move(label)), total_(total), done_(already), start_done_(already),
      start_(std::chrono::steady_clock::now()), last_draw_(start_) {
  draw(false);
}

void progress_meter::advance(std::uint64_t bytes) {
  done_ += bytes;
  auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ >= (terminal_ ? std::chrono::duration_cast<std::chrono::steady_clock::duration>(terminal_redraw)
                                     : std::chrono::duration_cast<std::chrono::steady_clock::duration>(log_line_interval)))
    draw(false);
}

void progress_meter::finish() { draw(true); }

void progress_meter::draw(bool final) {
  last_draw_ = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(last_draw_ - start_).count();
  double rate = seconds > 0 ? static_cast<double>(done_ - start_done_) / mib / seconds : 0.0;
  char line[256];
  if (total_ > 0) {
    int pct = static_cast<int>(done_ * 100 / total_);
    int filled = static_cast<int>(done_ * bar_width / total_);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(bar_width, '.');
    std::snprintf(line, sizeof line, "%s [%s] %3d%% %.1f/%.1f MiB %.1f MiB/s", label_.c_str(), bar.c_str(), pct,
                  static_cast<double>(done_) / mib, static_cast<double>(total_) / mib, rate);
  } else {
    std::snprintf(line, sizeof line, "%s %.1f MiB %.1f MiB/s", label_.c_str(), static_cast<double>(done_) / mib, rate);
  }
  if (terminal_) {
    out_ << '\r' << line << "\x1b[K";
    if (final) out_ << '\n';
  } else {
    out_ << line << '\n';
  }
  out_.flush();
}

}  // namespace parley::worker::fetch

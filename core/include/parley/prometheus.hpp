#pragma once
// Prometheus text exposition format 0.0.4: the few pieces every /metrics page of Parley writes.
// `labels` is the inside of the braces, already escaped (e.g. `reason="busy"`), or empty.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace parley::prometheus {

inline void header(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

inline void sample(std::string& out, std::string_view name, std::string_view labels, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(buf).append("\n");
}

inline void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  header(out, name, "counter", help);
  sample(out, name, {}, static_cast<double>(v));
}

inline void gauge(std::string& out, std::string_view name, std::string_view help, double v) {
  header(out, name, "gauge", help);
  sample(out, name, {}, v);
}

// A histogram with fixed upper bounds. observe() and the writers may run on any threads at once:
// relaxed atomics, each bucket independent and monotone (a scrape may see an observation in one
// bucket before another, which Prometheus tolerates).
template <std::size_t N>
class histogram {
 public:
  explicit constexpr histogram(std::array<double, N> bounds) : bounds_(bounds) {}

  void observe(double value) noexcept {
    if (value < 0) value = 0;  // clock steps between two timestamps
    for (std::size_t i = 0; i < N; ++i) {
      if (value <= bounds_[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
    }
    count_.fetch_add(1, std::memory_order_relaxed);
    sum_micros_.fetch_add(static_cast<std::uint64_t>(value * 1e6), std::memory_order_relaxed);
  }

  std::uint64_t count() const noexcept { return count_.load(std::memory_order_relaxed); }

  // The family's HELP and TYPE lines, then the samples without labels.
  void write(std::string& out, std::string_view name, std::string_view help) const {
    header(out, name, "histogram", help);
    write_samples(out, name, {});
  }

  // The _bucket, _sum and _count samples with `labels` (e.g. `stage="prepare"`), for one member
  // of a labelled family whose header the caller writes once.
  void write_samples(std::string& out, std::string_view name, std::string_view labels) const {
    const std::string bucket = std::string(name) + "_bucket";
    const std::string prefix = labels.empty() ? std::string() : std::string(labels) + ",";
    for (std::size_t i = 0; i < N; ++i) {
      char le[40];
      std::snprintf(le, sizeof le, "le=\"%g\"", bounds_[i]);
      sample(out, bucket, prefix + le, static_cast<double>(buckets_[i].load(std::memory_order_relaxed)));
    }
    const auto n = count();
    sample(out, bucket, prefix + "le=\"+Inf\"", static_cast<double>(n));
    sample(out, std::string(name) + "_sum", labels,
           static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6);
    sample(out, std::string(name) + "_count", labels, static_cast<double>(n));
  }

 private:
  std::array<double, N> bounds_;
  std::array<std::atomic<std::uint64_t>, N> buckets_{};  // cumulative: value <= bound
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_micros_{0};  // sum * 1e6, so that fractional values add up
};

}  // namespace parley::prometheus

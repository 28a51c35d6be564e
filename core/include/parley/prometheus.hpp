#pragma once
// Prometheus text exposition format 0.0.4: the few pieces every /metrics page of Parley writes.
// `labels` is the inside of the braces, already escaped (e.g. `reason="busy"`), or empty.
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

}  // namespace parley::prometheus

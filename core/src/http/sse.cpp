#include <parley/http/sse.hpp>

#include <parley/http/error.hpp>

#include <charconv>

namespace parley::http {

boost::system::result<void> sse_parser::feed(std::string_view bytes, std::vector<sse_event>& out) {
  if (failed_) return errc::sse_line_too_long;
  if (at_start_) {
    // The UTF-8 BOM may itself arrive split; hold the first bytes until they can be judged.
    line_.append(bytes);
    static constexpr std::string_view bom = "\xEF\xBB\xBF";
    if (line_.size() < bom.size() && std::string_view(bom).starts_with(line_)) return {};
    at_start_ = false;
    std::string held = std::move(line_);
    line_.clear();
    std::string_view rest = held;
    if (rest.starts_with(bom)) rest.remove_prefix(bom.size());
    return feed(rest, out);
  }
  std::size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') i = 1;
    skip_lf_ = false;
  }
  while (i < bytes.size()) {
    auto end = bytes.find_first_of("\r\n", i);
    if (end == std::string_view::npos) {
      line_.append(bytes.substr(i));
      if (line_.size() > max_event_bytes_) {
        failed_ = true;
        return errc::sse_line_too_long;
      }
      return {};
    }
    std::string_view piece = bytes.substr(i, end - i);
    if (line_.size() + piece.size() > max_event_bytes_) {
      failed_ = true;
      return errc::sse_line_too_long;
    }
    if (line_.empty()) {
      process_line(piece, out);
    } else {
      line_.append(piece);
      process_line(line_, out);
      line_.clear();
    }
    if (data_.size() > max_event_bytes_) {
      failed_ = true;
      return errc::sse_line_too_long;
    }
    i = end + 1;
    if (bytes[end] == '\r') {
      if (i < bytes.size()) {
        if (bytes[i] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
  }
  return {};
}

void sse_parser::process_line(std::string_view line, std::vector<sse_event>& out) {
  if (line.empty()) {
    if (!data_.empty()) {
      sse_event ev;
      data_.pop_back();  // every data line appended a '\n'; the last one is not part of the data
      ev.data = std::move(data_);
      if (!type_.empty()) ev.type = std::move(type_);
      ev.id = last_id_;
      ev.retry = retry_;
      out.push_back(std::move(ev));
    }
    data_.clear();
    type_.clear();
    retry_.reset();
    return;
  }
  if (line.front() == ':') return;  // comment (servers send these as keep-alives)
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    data_.append(value);
    data_.push_back('\n');
  } else if (field == "event") {
    type_ = value;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_ = value;
  } else if (field == "retry") {
    long long ms = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc{} && ptr == value.data() + value.size() && !value.empty() && value[0] != '-')
      retry_ = std::chrono::milliseconds(ms);
  }
  // Other field names are ignored, as the specification requires.
}

}  // namespace parley::http

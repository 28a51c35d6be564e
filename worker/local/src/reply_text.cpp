#include "reply_text.hpp"

#include <algorithm>
#include <utility>

namespace parley::worker::local {

namespace {

constexpr std::string_view replacement_char = "\xEF\xBF\xBD";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the sequence a lead byte starts, 0 if it cannot start one.
int sequence_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

// Whether `b` may follow `lead` as the first continuation byte (excludes overlong forms,
// surrogates and code points above U+10FFFF).
bool valid_second(unsigned char lead, unsigned char b) {
  switch (lead) {
    case 0xE0: return b >= 0xA0 && b <= 0xBF;
    case 0xED: return b >= 0x80 && b <= 0x9F;
    case 0xF0: return b >= 0x90 && b <= 0xBF;
    case 0xF4: return b >= 0x80 && b <= 0x8F;
    default: return b >= 0x80 && b <= 0xBF;
  }
}

bool is_continuation(unsigned char b) { return b >= 0x80 && b <= 0xBF; }

// Longest suffix of `text` that is a proper prefix of one of `stops`.
std::size_t stop_prefix_length(std::string_view text, const std::vector<std::string>& stops) {
  std::size_t best = 0;
  for (const auto& stop : stops) {
    const std::size_t max_len = std::min(text.size(), stop.size() - 1);
    for (std::size_t len = max_len; len > best; --len) {
      if (text.substr(text.size() - len) == std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

void trim_trailing_space(std::string& s) {
  while (!s.empty() && is_space(s.back())) s.pop_back();
}

}  // namespace

std::size_t append_valid_utf8(std::string_view bytes, std::string& out) {
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto lead = static_cast<unsigned char>(bytes[i]);
    const int len = sequence_length(lead);
    if (len == 1) {
      out.push_back(bytes[i++]);
      continue;
    }
    if (len == 0) {
      out.append(replacement_char);
      ++i;
      continue;
    }
    std::size_t have = 1;
    bool ok = true;
    while (have < static_cast<std::size_t>(len) && i + have < bytes.size()) {
      const auto b = static_cast<unsigned char>(bytes[i + have]);
      if (!(have == 1 ? valid_second(lead, b) : is_continuation(b))) {
        ok = false;
        break;
      }
      ++have;
    }
    if (!ok) {
      out.append(replacement_char);
      i += have;
      continue;
    }
    if (have < static_cast<std::size_t>(len)) return bytes.size() - i;
    out.append(bytes.substr(i, len));
    i += len;
  }
  return 0;
}

reply_text::reply_text(std::vector<std::string> stops, bool continues) : stops_(std::move(stops)), started_(continues) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

std::string reply_text::push(std::string_view piece) {
  if (stopped_) return {};
  partial_utf8_.append(piece);
  std::string valid;
  const std::size_t tail = append_valid_utf8(partial_utf8_, valid);
  partial_utf8_.erase(0, partial_utf8_.size() - tail);

  if (!started_) {
    const auto first = std::find_if_not(valid.begin(), valid.end(), is_space);
    valid.erase(valid.begin(), first);
    started_ = !valid.empty();
  }
  held_.append(valid);

  std::size_t stop_at = std::string::npos;
  for (const auto& stop : stops_) stop_at = std::min(stop_at, held_.find(stop));
  if (stop_at != std::string::npos) {
    std::string out = held_.substr(0, stop_at);
    trim_trailing_space(out);
    held_.clear();
    partial_utf8_.clear();
    stopped_ = true;
    return out;
  }

  std::size_t keep = stop_prefix_length(held_, stops_);
  while (keep < held_.size() && is_space(held_[held_.size() - keep - 1])) ++keep;
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string reply_text::finish() {
  if (stopped_) return {};
  std::string out = std::move(held_);
  held_.clear();
  if (!partial_utf8_.empty()) out.append(replacement_char);
  partial_utf8_.clear();
  if (!started_) {
    const auto first = std::find_if_not(out.begin(), out.end(), is_space);
    out.erase(out.begin(), first);
  }
  trim_trailing_space(out);
  return out;
}

}  // namespace parley::worker::local

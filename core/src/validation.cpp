#include <parley/validation.hpp>

namespace parley {

namespace {

class validation_category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.validation"; }
  std::string message(int ev) const override {
    switch (static_cast<validation_errc>(ev)) {
      case validation_errc::empty: return "empty";
      case validation_errc::too_long: return "too long";
      case validation_errc::control_chars: return "contains control characters";
      case validation_errc::invalid_utf8: return "not valid UTF-8";
    }
    return "unknown validation error";
  }
};

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Decodes one code point at s[i], advancing i; -1 on malformed input.
long decode(std::string_view s, std::size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) {
    ++i;
    return b0;
  }
  int len;
  long cp;
  long min;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (i + len > s.size()) return -1;
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  i += len;
  return cp;
}

bool is_control(long cp) { return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F); }

// Checks that `s` is UTF-8 of at most `max_chars` code points with no control character outside
// `allowed`.
boost::system::error_code check_text(std::string_view s, std::size_t max_chars, std::string_view allowed) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const long cp = decode(s, i);
    if (cp < 0) return validation_errc::invalid_utf8;
    if (is_control(cp) && allowed.find(static_cast<char>(cp)) == std::string_view::npos)
      return validation_errc::control_chars;
    ++n;
  }
  if (n > max_chars) return validation_errc::too_long;
  return {};
}

}  // namespace

const boost::system::error_category& validation_category() noexcept {
  static const validation_category_impl cat;
  return cat;
}

std::optional<std::size_t> utf8_length(std::string_view s) noexcept {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size();) {
    if (decode(s, i) < 0) return std::nullopt;
    ++n;
  }
  return n;
}

boost::system::result<std::string> validate_name(std::string_view name) {
  const auto t = trim(name);
  if (t.empty()) return validation_errc::empty;
  if (auto ec = check_text(t, max_name_chars, {})) return ec;
  return std::string(t);
}

boost::system::result<std::string> validate_title(std::string_view title) {
  const auto t = trim(title);
  if (t.empty()) return validation_errc::empty;
  if (auto ec = check_text(t, max_title_chars, {})) return ec;
  return std::string(t);
}

std::string title_from_message(std::string_view text) {
  std::string out;
  std::size_t chars = 0;
  std::size_t cut = 0;  // bytes of `out` holding its first max_title_chars - 1 characters
  bool space = false;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t start = i;
    const long cp = decode(text, i);
    if (cp < 0) break;
    if (cp < 0x80 && is_space(static_cast<char>(cp))) {
      space = !out.empty();
      continue;
    }
    if (is_control(cp)) continue;
    if (space) {
      out.push_back(' ');
      if (++chars == max_title_chars - 1) cut = out.size();
      space = false;
    }
    out.append(text.substr(start, i - start));
    if (++chars == max_title_chars - 1) cut = out.size();
    if (chars > max_title_chars) {
      out.resize(cut);
      while (!out.empty() && out.back() == ' ') out.pop_back();
      return out + "\u2026";
    }
  }
  return out;
}

boost::system::error_code validate_message_text(std::string_view text, std::size_t max_chars) {
  if (trim(text).empty()) return validation_errc::empty;
  return check_text(text, max_chars, "\t\n");
}

boost::system::error_code validate_id(std::string_view id, std::size_t max_chars) {
  if (id.empty()) return validation_errc::empty;
  return check_text(id, max_chars, {});
}

}  // namespace parley

#pragma once
// What the fuzz targets share: a property check that libFuzzer reports as a crash (so the input is
// saved as an artifact), with the property's text, and the checks several targets make.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace parley::fuzz {

inline void require(bool holds, std::string_view property) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %.*s\n", static_cast<int>(property.size()), property.data());
  std::abort();
}

// C0 controls, DEL and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F) in valid UTF-8.
inline bool has_control(std::string_view s, std::string_view allowed) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c < 0x20 || c == 0x7F) && allowed.find(static_cast<char>(c)) == std::string_view::npos) return true;
    if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) <= 0x9F) return true;
  }
  return false;
}

}  // namespace parley::fuzz

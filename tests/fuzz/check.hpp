#pragma once
// What the fuzz targets share: a property check that libFuzzer reports as a crash (so the input is
// saved as an artifact), with the property's text.
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace parley::fuzz {

inline void require(bool holds, std::string_view property) {
  if (holds) return;
  std::fprintf(stderr, "property violated: %.*s\n", static_cast<int>(property.size()), property.data());
  std::abort();
}

}  // namespace parley::fuzz

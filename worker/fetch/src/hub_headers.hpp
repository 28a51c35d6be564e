#pragma once
// The Hub's response headers a download reads, parsed without I/O (hub_headers_test.cpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace parley::worker::fetch {

// A SHA-256 in an ETag-like header value ("\"abc...\"", W/"..."), lower-case, or "".
std::string sha256_of_etag(std::string_view v);

// A decimal unsigned number, the whole text; nullopt otherwise.
std::optional<std::uint64_t> parse_u64(std::string_view s);

struct content_range {
  std::uint64_t first = 0;
  std::optional<std::uint64_t> total;
};

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"); nullopt for anything else.
std::optional<content_range> parse_content_range(std::string_view v);

}  // namespace parley::worker::fetch

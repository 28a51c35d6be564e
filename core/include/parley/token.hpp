#pragma once
// Session tokens: random UUID v4 text (122 random bits from OpenSSL's CSPRNG), lower-case hex.
#include <string>
#include <string_view>

namespace parley {

// Throws std::runtime_error if the CSPRNG fails (it never returns a weak token).
std::string new_token();
// True for the canonical lower- or upper-case UUID v4 text form (8-4-4-4-12, version 4, RFC 4122
// variant). Lets the gateway reject garbage before it reaches Redis.
bool is_token(std::string_view text) noexcept;

}  // namespace parley

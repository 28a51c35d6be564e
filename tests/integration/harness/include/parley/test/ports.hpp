#pragma once
// Free loopback TCP ports. The port is released before it is returned, so another process may
// grab it in between; tests start their servers at once and that race is rare enough.
#include <cstdint>

namespace parley::test {

std::uint16_t free_port();

}  // namespace parley::test

#pragma once
// The whole gateway process: I/O threads, the Redis client and subscriber, the hub, the queue
// monitor and the listener. run() blocks until SIGINT/SIGTERM, then stops accepting, closes every
// WebSocket with 1001, waits up to shutdown_grace for them to go, and returns.
#include <parley/gateway/config.hpp>

namespace parley::gateway {

// Returns the process exit code (0 after a clean shutdown, 1 when it could not start).
int run_server(const gateway_config& cfg);

}  // namespace parley::gateway

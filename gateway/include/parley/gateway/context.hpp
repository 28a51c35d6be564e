#pragma once
// What every connection of one gateway process shares. Built once by `server`, read-only
// afterwards except for the thread-safe members (redis client, hub, limiter, monitor).
#include <parley/gateway/config.hpp>
#include <parley/gateway/connection_limiter.hpp>
#include <parley/gateway/conversation_store.hpp>
#include <parley/gateway/event_hub.hpp>
#include <parley/gateway/metrics.hpp>
#include <parley/gateway/origin_policy.hpp>
#include <parley/gateway/queue_monitor.hpp>
#include <parley/gateway/session_store.hpp>
#include <parley/gateway/static_files.hpp>
#include <parley/redis/client.hpp>

#include <atomic>
#include <memory>

namespace parley::gateway {

struct context {
  const gateway_config& cfg;
  redis::client& redis;
  session_store& store;
  conversation_store& conversations;
  event_hub& hub;
  queue_monitor& queue;
  const origin_policy& origins;
  const static_files& files;
  std::shared_ptr<connection_limiter> limiter;
  gateway_metrics& metrics;
  std::atomic<bool> shutting_down{false};
};

}  // namespace parley::gateway

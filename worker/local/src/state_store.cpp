#include "state_store.hpp"

namespace parley::worker::local {

void state_store::put(const std::string& session, stored_state state) {
  erase(session);
  const std::size_t size = size_of(state);
  if (size > budget_) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  while (held_ + size > budget_) {
    counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    drop(entries_.find(order_.front()));
  }
  order_.push_back(session);
  entries_.emplace(session, entry{std::move(state), std::prev(order_.end())});
  held_ += size;
  counters_.saved.fetch_add(1, std::memory_order_relaxed);
  counters_.bytes.store(static_cast<std::int64_t>(held_), std::memory_order_relaxed);
  counters_.entries.store(static_cast<std::int64_t>(entries_.size()), std::memory_order_relaxed);
}

std::optional<stored_state> state_store::take(const std::string& session) {
  auto it = entries_.find(session);
  if (it == entries_.end()) {
    counters_.misses.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  counters_.hits.fetch_add(1, std::memory_order_relaxed);
  stored_state out = std::move(it->second.state);
  it->second.state.bytes.clear();
  it->second.state.tokens.clear();
  held_ -= size_of(out);
  order_.erase(it->second.age);
  entries_.erase(it);
  counters_.bytes.store(static_cast<std::int64_t>(held_), std::memory_order_relaxed);
  counters_.entries.store(static_cast<std::int64_t>(entries_.size()), std::memory_order_relaxed);
  return out;
}

void state_store::erase(const std::string& session) {
  if (auto it = entries_.find(session); it != entries_.end()) drop(it);
}

void state_store::drop(std::unordered_map<std::string, entry>::iterator it) {
  held_ -= size_of(it->second.state);
  order_.erase(it->second.age);
  entries_.erase(it);
  counters_.bytes.store(static_cast<std::int64_t>(held_), std::memory_order_relaxed);
  counters_.entries.store(static_cast<std::int64_t>(entries_.size()), std::memory_order_relaxed);
}

}  // namespace parley::worker::local

#pragma once
// Sessions' KV state beyond the sequence slots: when the engine evicts an idle session from its
// slot, the sequence's state (llama_state_seq_get_data) and the tokens it holds are kept here, in
// host memory, under a byte budget; when the session returns, the engine restores them into a
// slot (llama_state_seq_set_data) instead of prefilling the whole history again, as
// llama-server's --cache-ram does. The least recently stored entries go first when the budget is
// reached. Keyed by session token; a state restored is taken out (it lives in a slot again).
// The state is only valid for the llama_context shape and model that wrote it, which is this
// process's: nothing is kept across a restart.
//
// Thread-safety: none; the scheduler thread owns it. The counters are for the metrics thread.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <list>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace parley::worker::local {

struct stored_state {
  std::vector<std::int32_t> tokens;  // what the sequence held, in order
  std::vector<std::uint8_t> bytes;   // llama_state_seq_get_data of that sequence
};

struct state_store_counters {
  std::atomic<std::uint64_t> saved{0};     // states taken in
  std::atomic<std::uint64_t> hits{0};      // returning sessions restored from here
  std::atomic<std::uint64_t> misses{0};    // returning sessions with nothing here
  std::atomic<std::uint64_t> dropped{0};   // states dropped for the budget (or too large for it)
  std::atomic<std::int64_t> bytes{0};      // held now
  std::atomic<std::int64_t> entries{0};    // held now
};

class state_store {
 public:
  explicit state_store(std::size_t budget_bytes) : budget_(budget_bytes) {}

  bool enabled() const noexcept { return budget_ > 0; }
  std::size_t budget() const noexcept { return budget_; }

  // Keeps `state` for `session`, replacing an older one, dropping the oldest entries to stay
  // within the budget. A state larger than the whole budget is not kept.
  void put(const std::string& session, stored_state state);
  // Takes the state of `session` out, counting a hit or a miss.
  std::optional<stored_state> take(const std::string& session);
  // Forgets `session` (its state is stale), without counting.
  void erase(const std::string& session);

  const state_store_counters& counters() const noexcept { return counters_; }

 private:
  struct entry {
    stored_state state;
    std::list<std::string>::iterator age;
  };
  void drop(std::unordered_map<std::string, entry>::iterator it);
  std::size_t size_of(const stored_state& s) const noexcept {
    return s.bytes.size() + s.tokens.size() * sizeof(std::int32_t);
  }

  std::size_t budget_;
  std::size_t held_ = 0;
  std::unordered_map<std::string, entry> entries_;
  std::list<std::string> order_;  // oldest first
  state_store_counters counters_;
};

}  // namespace parley::worker::local

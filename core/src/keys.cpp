#include <parley/keys.hpp>

#include "redis/routing.hpp"

#include <stdexcept>

namespace parley::keys {

namespace {

int segment_of(std::uint16_t slot, int shards) {
  return static_cast<int>(static_cast<std::size_t>(slot) * static_cast<std::size_t>(shards) /
                          redis::detail::slot_count);
}

// The smallest tag "q<k>" whose slot lies in the middle half of the shard's segment, so that a
// cluster whose split is off by a few slots from the even one (16384 does not divide by 3) still
// has each shard on its own master. Deterministic: every process computes the same names.
std::string shard_tag(int shard, int shards) {
  const auto lo = static_cast<double>(shard) * redis::detail::slot_count / shards;
  const auto len = static_cast<double>(redis::detail::slot_count) / shards;
  for (unsigned k = 0;; ++k) {
    std::string tag = "q" + std::to_string(k);
    const auto slot = static_cast<double>(redis::detail::key_slot("{" + tag + "}"));
    if (slot >= lo + len / 4 && slot < lo + len * 3 / 4) return tag;
  }
}

}  // namespace

request_streams::request_streams(int shards) {
  if (shards < 1 || shards > max_request_shards)
    throw std::out_of_range("request shards: " + std::to_string(shards) + " is not within 1.." +
                            std::to_string(max_request_shards));
  if (shards == 1) {
    names_.emplace_back(requests_stream);
    return;
  }
  for (int i = 0; i < shards; ++i) names_.push_back(std::string(requests_stream) + ":{" + shard_tag(i, shards) + "}");
}

int request_streams::shard_of(std::string_view token) const noexcept {
  if (names_.size() == 1) return 0;
  return segment_of(redis::detail::key_slot(session(token)), size());
}

}  // namespace parley::keys

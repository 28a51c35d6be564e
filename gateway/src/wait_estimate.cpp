#include <parley/gateway/wait_estimate.hpp>

#include <algorithm>
#include <cmath>

namespace parley::gateway {

void wait_estimator::observe(const std::vector<queue_sample>& shards, clock::time_point at) {
  long long taken = 0;
  if (!last_.empty()) {
    // Ids are ordered within a shard; the previous waiting entries at or before the shard's new
    // last-delivered id were delivered since.
    for (std::size_t i = 0; i < shards.size() && i < last_.size(); ++i) {
      const auto& before = last_[i].waiting;
      taken += std::upper_bound(before.begin(), before.end(), shards[i].last_delivered) - before.begin();
    }
  } else {
    first_at_ = at;
  }
  points_.push_back({at, taken});
  while (!points_.empty() && at - points_.front().at > window_) {
    first_at_ = points_.front().at;
    points_.pop_front();
  }
  last_ = shards;
}

std::optional<double> wait_estimator::rate() const {
  if (points_.empty() || !first_at_) return std::nullopt;
  long long taken = 0;
  for (const auto& p : points_) taken += p.taken;
  const double seconds = std::chrono::duration<double>(points_.back().at - *first_at_).count();
  if (taken < min_taken_ || seconds <= 0) return std::nullopt;
  return static_cast<double>(taken) / seconds;
}

std::chrono::milliseconds wait_estimator::eta(long long ahead, double rate) {
  if (rate <= 0) return std::chrono::milliseconds::max();
  return std::chrono::milliseconds(static_cast<long long>(std::ceil(1000.0 * static_cast<double>(ahead + 1) / rate)));
}

}  // namespace parley::gateway

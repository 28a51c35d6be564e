#include <parley/gateway/connection_limiter.hpp>

namespace parley::gateway {

void connection_limiter::lease::reset() {
  if (owner_) owner_->release(address_);
  owner_.reset();
}

connection_limiter::lease connection_limiter::try_acquire(const std::string& address, refusal* why) {
  std::lock_guard lk(mu_);
  if (why) *why = refusal::none;
  if (max_total_ != 0 && total_ >= max_total_) {
    if (why) *why = refusal::total_full;
    return {};
  }
  auto& n = counts_[address];
  if (n >= max_) {
    if (n == 0) counts_.erase(address);
    if (why) *why = refusal::address_full;
    return {};
  }
  ++n;
  ++total_;
  return lease(shared_from_this(), address);
}

void connection_limiter::release(const std::string& address) {
  std::lock_guard lk(mu_);
  auto it = counts_.find(address);
  if (it == counts_.end()) return;
  --total_;
  if (--it->second == 0) counts_.erase(it);
}

std::size_t connection_limiter::count(const std::string& address) const {
  std::lock_guard lk(mu_);
  auto it = counts_.find(address);
  return it == counts_.end() ? 0 : it->second;
}

std::size_t connection_limiter::total() const {
  std::lock_guard lk(mu_);
  return total_;
}

}  // namespace parley::gateway

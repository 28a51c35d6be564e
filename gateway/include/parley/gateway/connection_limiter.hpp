#pragma once
// Counts open connections per client address and in all, and refuses more than either cap. A
// granted slot is an RAII `lease` released when the connection's owner is destroyed. The
// listener asks at accept, before anything is read, so a client that never finishes a request
// still counts.
// Thread-safe: one mutex guards the map; it is touched once per accept and once per close.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace parley::gateway {

class connection_limiter : public std::enable_shared_from_this<connection_limiter> {
 public:
  class lease {
   public:
    lease() = default;
    lease(std::shared_ptr<connection_limiter> owner, std::string address)
        : owner_(std::move(owner)), address_(std::move(address)) {}
    ~lease() { reset(); }
    lease(lease&& o) noexcept : owner_(std::move(o.owner_)), address_(std::move(o.address_)) {}
    lease& operator=(lease&& o) noexcept {
      if (this != &o) {
        reset();
        owner_ = std::move(o.owner_);
        address_ = std::move(o.address_);
      }
      return *this;
    }
    explicit operator bool() const noexcept { return owner_ != nullptr; }
    void reset();

   private:
    std::shared_ptr<connection_limiter> owner_;
    std::string address_;
  };

  enum class refusal { none, address_full, total_full };

  // `max_total` 0: no cap in all.
  explicit connection_limiter(std::size_t max_per_address, std::size_t max_total = 0)
      : max_(max_per_address), max_total_(max_total) {}
  // An empty lease when `address` already holds the maximum, or all connections together do;
  // `why` (when given) says which.
  lease try_acquire(const std::string& address, refusal* why = nullptr);
  std::size_t count(const std::string& address) const;
  std::size_t total() const;

 private:
  void release(const std::string& address);
  const std::size_t max_;
  const std::size_t max_total_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t> counts_;
  std::size_t total_ = 0;
};

}  // namespace parley::gateway

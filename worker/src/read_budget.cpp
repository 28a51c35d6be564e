#include <parley/worker/read_budget.hpp>

#include <algorithm>

namespace parley::worker {

int read_budget::reserve(int idle_readers) noexcept {
  const int available = free();
  if (available <= 0) return 0;
  const int share = std::max(1, available / std::max(1, idle_readers));
  promised_ += share;
  return share;
}

void read_budget::settle(int asked, int got) noexcept {
  got = std::clamp(got, 0, asked);
  promised_ -= asked;
  busy_ += got;
}

}  // namespace parley::worker

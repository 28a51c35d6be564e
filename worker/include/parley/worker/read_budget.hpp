#pragma once
// How many request entries each of a worker's shard readers may ask for. An entry a worker reads
// is its own until it acks it or dies (XAUTOCLAIM then waits claim_min_idle), so a worker never
// asks for more entries than it has free slots: running turns and entries promised to reads
// still outstanding together stay within max_concurrent_turns. Pure: service feeds it what its
// readers and turns do (read_budget_test.cpp). Not thread-safe; the service's io_context only.
namespace parley::worker {

class read_budget {
 public:
  explicit read_budget(int capacity) : capacity_(capacity) {}

  // Slots neither running a turn nor promised to a read.
  int free() const noexcept { return capacity_ - busy_ - promised_; }
  int busy() const noexcept { return busy_; }

  // A reader about to read: the COUNT it may ask for, 0 when nothing is free (it waits for
  // finish()). `idle_readers` counts the readers with no read outstanding, this one included;
  // the free slots are shared among them, so one reader never takes them all while others wait.
  int reserve(int idle_readers) noexcept;
  // The read (XREADGROUP, or XAUTOCLAIM for the reader's shard) that reserved `asked` returned
  // `got` entries (got <= asked): they run as turns, the rest of the promise is free again.
  void settle(int asked, int got) noexcept;
  // A turn has ended.
  void finish() noexcept { --busy_; }

 private:
  int capacity_;
  int busy_ = 0;
  int promised_ = 0;
};

}  // namespace parley::worker

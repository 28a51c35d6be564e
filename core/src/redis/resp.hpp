#pragma once
// RESP encoding and decoding through hiredis' codec (no hiredis networking is used).
#include <parley/redis/client.hpp>
#include <parley/redis/value.hpp>

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct redisReader;

namespace parley::redis::detail {

// Appends the RESP encoding of `cmd` to `out`.
void encode(const command& cmd, std::string& out);

// The most array elements one reply may announce, counted over all its nested arrays. hiredis
// allocates an array's element table as soon as it reads "*N", before any element arrives, so
// without a bound a corrupt count alone could reserve gigabytes. No reply Parley asks for comes
// near it.
inline constexpr std::size_t max_reply_elements = std::size_t{1} << 22;

// Incremental decoder: feed bytes as they arrive, then pull complete replies.
class reader {
 public:
  reader();
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  void feed(std::string_view bytes);
  // A complete reply, nullopt if more bytes are needed, or errc::protocol_error (also for a
  // reply over max_reply_elements). After an error the reader is unusable.
  boost::system::result<std::optional<value>> next();

 private:
  redisReader* reader_;
  std::size_t elements_left_ = max_reply_elements;  // of the reply being read
};

}  // namespace parley::redis::detail

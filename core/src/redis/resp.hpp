#pragma once
// RESP encoding and decoding through hiredis' codec (no hiredis networking is used).
#include <parley/redis/client.hpp>
#include <parley/redis/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

struct redisReader;

namespace parley::redis::detail {

// Appends the RESP encoding of `cmd` to `out`.
void encode(const command& cmd, std::string& out);

// Incremental decoder: feed bytes as they arrive, then pull complete replies.
class reader {
 public:
  reader();
  ~reader();
  reader(const reader&) = delete;
  reader& operator=(const reader&) = delete;

  void feed(std::string_view bytes);
  // A complete reply, nullopt if more bytes are needed, or errc::protocol_error.
  boost::system::result<std::optional<value>> next();

 private:
  redisReader* reader_;
};

}  // namespace parley::redis::detail

#include <parley/keys.hpp>
#include <parley/request_shards.hpp>

namespace parley {

std::optional<std::string> request_shards_mismatch(std::optional<std::string_view> stored, int ours) {
  const auto mine = std::to_string(ours);
  if (!stored || *stored == mine) return std::nullopt;
  return "--request-shards: this process splits the request queue into " + mine + " stream(s), but " +
         std::string(keys::request_shards_key) + " in Redis says " + std::string(*stored) +
         " (written by the first gateway or worker): every gateway and worker must use the same REQUEST_SHARDS";
}

boost::asio::awaitable<boost::system::result<std::optional<std::string>>> check_request_shards(redis::client& redis,
                                                                                      int ours) {
  redis::command cmd{"SET", std::string(keys::request_shards_key), std::to_string(ours), "NX", "GET"};
  auto r = co_await redis.exec(std::move(cmd));
  if (!r) co_return r.error();
  if (r->is_error()) co_return redis::errc::reply_error;
  const auto stored = r->as_string();
  co_return request_shards_mismatch(stored, ours);
}

}  // namespace parley

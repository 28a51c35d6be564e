#pragma once
// Every gateway and worker of one Redis must split the request queue the same way (REQUEST_SHARDS):
// a gateway writing to a shard no worker reads would leave its messages unanswered. The first
// process to start writes its count to `parley:request_shards` (SET NX, kept without expiry); each
// one compares its own with it when it starts and then periodically, and a process that differs
// exits with status 2 and one line saying both numbers. docs/design.md, "Request shards".
#include <parley/redis/client.hpp>

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace parley {

// The verdict, without sockets: `stored` is the key's value (nullopt: it was missing, and ours
// was written). nullopt when they agree, else the message to exit with.
std::optional<std::string> request_shards_mismatch(std::optional<std::string_view> stored, int ours);

// SET parley:request_shards <ours> NX GET. A transport failure or an error reply is an error
// (the caller retries later); an answer is the verdict above.
boost::asio::awaitable<boost::system::result<std::optional<std::string>>> check_request_shards(redis::client& redis,
                                                                                      int ours);

}  // namespace parley

#include <parley/redis/client.hpp>

#include <openssl/sha.h>

namespace parley::redis {

namespace {

std::string sha1_hex(const std::string& s) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(s.data()), s.size(), digest);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * SHA_DIGEST_LENGTH);
  for (unsigned char c : digest) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xf]);
  }
  return out;
}

command make_eval(std::string_view verb, const std::string& body, const std::vector<std::string>& keys,
                  const std::vector<std::string>& args) {
  command cmd;
  cmd.reserve(3 + keys.size() + args.size());
  cmd.emplace_back(verb);
  cmd.push_back(body);
  cmd.push_back(std::to_string(keys.size()));
  cmd.insert(cmd.end(), keys.begin(), keys.end());
  cmd.insert(cmd.end(), args.begin(), args.end());
  return cmd;
}

}  // namespace

script::script(std::string source) : source_(std::move(source)), sha1_(sha1_hex(source_)) {}

command script::evalsha(const std::vector<std::string>& keys, const std::vector<std::string>& args) const {
  return make_eval("EVALSHA", sha1_, keys, args);
}

net::awaitable<boost::system::result<value>> script::run(client& c, const std::vector<std::string>& keys,
                                                         const std::vector<std::string>& args) const {
  auto r = co_await c.exec(evalsha(keys, args));
  if (r && r->is_error() && r->str.starts_with("NOSCRIPT")) {
    // EVAL both runs and caches the script, so later EVALSHA calls hit.
    r = co_await c.exec(make_eval("EVAL", source_, keys, args));
  }
  co_return r;
}

}  // namespace parley::redis

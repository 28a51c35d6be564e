#include <parley/gateway/errors.hpp>
#include <parley/redis/value.hpp>

#include <string>

namespace parley::gateway {

namespace {
class category_impl : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.gateway"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::session_not_found: return "Session expired or does not exist";
      case errc::unavailable: return "storage unavailable";
      case errc::bad_reply: return "unexpected reply from storage";
      case errc::user_not_found: return "Unknown or missing user token";
      case errc::too_many_conversations: return "too many conversations";
    }
    return "unknown gateway error";
  }
};
}  // namespace

const boost::system::error_category& category() noexcept {
  static const category_impl cat;
  return cat;
}

boost::system::error_code from_redis(boost::system::error_code ec) noexcept {
  if (!ec) return ec;
  if (ec.category() == redis::category() && static_cast<redis::errc>(ec.value()) == redis::errc::protocol_error)
    return errc::bad_reply;
  return errc::unavailable;
}

}  // namespace parley::gateway

#include <parley/worker/errors.hpp>

#include <string>

namespace parley::worker {

namespace {

class category_impl final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.worker"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::lease_lost: return "session lease lost to another worker";
      case errc::session_missing: return "session expired or does not exist";
      case errc::message_missing: return "user message not found in the session history";
      case errc::history_corrupt: return "session history entry is not valid";
      case errc::unexpected_reply: return "unexpected reply from a Redis script";
      case errc::shutting_down: return "worker is shutting down";
    }
    return "unknown worker error";
  }
};

}  // namespace

const boost::system::error_category& category() noexcept {
  static const category_impl instance;
  return instance;
}

}  // namespace parley::worker

#include <parley/worker/remote/errors.hpp>

#include <string>

namespace parley::worker::remote {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.remote"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::rate_limited: return "the model server kept answering 429 (rate limited)";
      case errc::upstream_unavailable: return "the model server kept failing (5xx)";
      case errc::upstream_rejected: return "the model server rejected the request";
      case errc::upstream_error: return "the model server answered with an error";
      case errc::broken_stream: return "the model server's reply stream ended before the reply was complete";
      case errc::malformed_response: return "the model server's response is not in the expected format";
      case errc::model_loading: return "the model was still loading when the wait ran out";
    }
    return "unknown remote backend error";
  }
};

}  // namespace

const boost::system::error_category& remote_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace parley::worker::remote

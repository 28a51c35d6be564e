#include <parley/worker/fetch/model_fetch.hpp>

namespace parley::worker::fetch {

namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "parley.fetch"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::bad_source: return "MODEL is neither a file path nor hf:OWNER/REPO/FILE";
      case errc::model_missing: return "the MODEL file does not exist";
      case errc::not_found: return "the Hub has no such file (404)";
      case errc::unauthorized: return "the Hub refused access (private or gated repository)";
      case errc::bad_status: return "unexpected HTTP status from the Hub";
      case errc::checksum_mismatch: return "the download does not match the Hub's SHA-256";
      case errc::size_mismatch: return "the download does not have the announced size";
      case errc::io_error: return "cannot write the model cache";
      case errc::download_failed: return "the download kept failing";
      case errc::cancelled: return "download cancelled";
    }
    return "unknown fetch error";
  }
};

}  // namespace

const boost::system::error_category& fetch_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace parley::worker::fetch

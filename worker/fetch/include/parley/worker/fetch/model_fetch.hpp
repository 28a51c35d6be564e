#pragma once
// MODEL resolution: a path to a GGUF file, or `hf:OWNER/REPO/FILE.gguf` fetched once from the
// Hugging Face Hub ({endpoint}/OWNER/REPO/resolve/{revision}/FILE) into a cache folder.
//
// A download goes to FILE.part next to its final place, resumes with a Range request after a
// cut (in this run or a later one), is verified against the SHA-256 the Hub sends for LFS files
// (X-Linked-ETag on the /resolve/ response, ETag as fallback), and is renamed into place only
// when complete and verified, so the cache never holds a partial or corrupt model under its
// final name. Concurrent workers on one machine serialise on FILE.lock. Progress goes to
// stderr (a live bar on a terminal, a line every few seconds otherwise).
//
// Disk writes are plain blocking calls: this runs at worker start-up, before the worker serves.
#include <parley/http/client.hpp>

#include <boost/system/result.hpp>

#include <chrono>
#include <filesystem>
#include <iosfwd>
#include <stop_token>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace parley::worker::fetch {

namespace net = boost::asio;

enum class errc {
  bad_source = 1,      // MODEL is neither an existing path nor hf:OWNER/REPO/FILE
  model_missing,       // MODEL is a path and there is no file there
  not_found,           // the Hub answered 404 for the file
  unauthorized,        // 401/403: private or gated repository, HF_TOKEN missing or lacking access
  bad_status,          // another non-success status
  checksum_mismatch,   // the downloaded bytes do not match the Hub's SHA-256
  size_mismatch,       // fewer or more bytes than the Hub announced
  io_error,            // the cache folder or file could not be written
  download_failed,     // the connection kept failing (the transport error is logged)
  cancelled,
};

const boost::system::error_category& fetch_category() noexcept;
inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), fetch_category()}; }

struct hf_source {
  std::string owner;
  std::string repo;
  std::string file;  // may contain folders: "sub/dir/model.gguf"
};

// Parses "hf:OWNER/REPO/FILE". Empty parts, "..", and a missing file are errc::bad_source.
boost::system::result<hf_source> parse_hf_source(std::string_view model);

struct fetch_config {
  // Where downloads live: <cache_dir>/<OWNER>/<REPO>/<FILE>. Default:
  // $XDG_CACHE_HOME/parley/models, else ~/.cache/parley/models.
  std::filesystem::path cache_dir = default_cache_dir();
  std::string endpoint = "https://huggingface.co";  // HF_ENDPOINT, as the Hub's own clients read it
  std::string revision = "main";
  // HF_TOKEN: sent to the endpoint's host only, never to the storage host a download redirects to.
  std::string token;
  int max_redirects = 10;
  int max_attempts = 5;  // connection attempts per download; each one resumes where the last stopped
  std::chrono::milliseconds retry_wait{2000};
  std::chrono::milliseconds lock_poll{500};  // how often a second process checks the download lock
  bool progress = true;
  std::ostream* progress_out = nullptr;  // nullptr: stderr
  http::client_options http;

  static std::filesystem::path default_cache_dir();
};

// Adds --model-cache-dir, --hf-endpoint, --hub-token and --download-progress.
void register_options(CLI::App& app, fetch_config& cfg);

// The local path for `model`: the path itself, or the cached (downloaded if needed) hf: file.
// On failure `why`, when given, receives one line saying what went wrong and what to set.
net::awaitable<boost::system::result<std::filesystem::path>> resolve_model(std::string model, fetch_config cfg,
                                                                           std::string* why = nullptr,
                                                                           std::stop_token stop = {});

// resolve_model on a private io_context, for a main() that needs the path before it starts.
boost::system::result<std::filesystem::path> resolve_model_blocking(std::string model, fetch_config cfg,
                                                                    std::string* why = nullptr);

}  // namespace parley::worker::fetch

template <>
struct boost::system::is_error_code_enum<parley::worker::fetch::errc> : std::true_type {};

#include <parley/worker/fetch/model_fetch.hpp>

#include "cache_files.hpp"
#include "hub_headers.hpp"
#include "progress.hpp"

#include <parley/env.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <fcntl.h>


#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

namespace parley::worker::fetch {

namespace fs = std::filesystem;
namespace bhttp = boost::beast::http;
using boost::system::error_code;
template <class T>
using result = boost::system::result<T>;

namespace {

constexpr std::size_t download_buffer_bytes = 1 << 16;
constexpr std::string_view hf_prefix = "hf:";

// Worth another attempt (which resumes): a connection that failed or stalled, 429/5xx. Not a
// name that does not resolve (offline: say so at once), a bad URL or a refusal.
bool retryable(const error_code& ec) {
  if (ec == errc::download_failed) return true;
  if (ec.category() == fetch_category()) return false;
  if (ec.category() == http::http_category())
    return ec == http::errc::connect_timeout || ec == http::errc::read_timeout || ec == http::errc::connection_closed;
  return ec.category() != boost::asio::error::get_netdb_category();
}

// One download job: the state carried across attempts of one file.
struct download {
  const fetch_config& cfg;
  const http::client& client;
  std::string url;
  http::url endpoint;
  fs::path part;
  std::string label;
  std::stop_token stop;
  std::string expected_sha;
  std::optional<std::uint64_t> expected_size;
  std::string detail;  // what the server said, for the error line

  bool token_allowed(const http::url& u) const {
    return !cfg.token.empty() && u.host == endpoint.host && u.port == endpoint.port && u.scheme == endpoint.scheme;
  }

  void note_linked_headers(const bhttp::fields& h) {
    if (auto it = h.find("X-Linked-ETag"); it != h.end())
      if (auto sha = sha256_of_etag(it->value()); !sha.empty()) expected_sha = sha;
    if (auto it = h.find("X-Linked-Size"); it != h.end())
      if (auto n = parse_u64(it->value())) expected_size = n;
  }

  net::awaitable<error_code> once() {
    error_code size_ec;
    std::uint64_t offset = fs::exists(part) ? fs::file_size(part, size_ec) : 0;
    if (size_ec) offset = 0;
    auto current = http::parse_url(url);
    if (!current) co_return current.error();
    std::optional<http::response_stream> s;
    for (int hop = 0;; ++hop) {
      if (hop > cfg.max_redirects) co_return http::errc::too_many_redirects;
      http::request req;
      req.url = current->scheme + "://" + current->authority() + current->target;
      if (token_allowed(*current)) req.headers.emplace_back("Authorization", "Bearer " + cfg.token);
      if (offset > 0) req.headers.emplace_back("Range", "bytes=" + std::to_string(offset) + "-");
      auto r = co_await client.open(std::move(req), stop);
      if (!r) co_return stop.stop_requested() ? error_code(errc::cancelled) : r.error();
      note_linked_headers(r->headers());
      unsigned st = r->status();
      if (st == 301 || st == 302 || st == 303 || st == 307 || st == 308) {
        auto loc = r->headers().find(bhttp::field::location);
        if (loc == r->headers().end()) co_return http::errc::bad_redirect;
        auto next = http::resolve_url(*current, loc->value());
        if (!next) co_return next.error();
        current = std::move(*next);
        continue;
      }
      s.emplace(std::move(*r));
      break;
    }
    const unsigned st = s->status();
    bool append = false;
    if (st == 200) {
      offset = 0;
      if (!expected_size)
        if (auto it = s->headers().find(bhttp::field::content_length); it != s->headers().end())
          expected_size = parse_u64(it->value());
    } else if (st == 206) {
      auto it = s->headers().find(bhttp::field::content_range);
      auto range = it == s->headers().end() ? std::nullopt : parse_content_range(it->value());
      if (!range || range->first != offset) {
        // The server resumed somewhere else: start over rather than splice wrong bytes.
        fs::remove(part, size_ec);
        detail = "the server answered a resume with an unexpected Content-Range";
        co_return errc::download_failed;
      }
      if (!expected_size && range->total) expected_size = range->total;
      append = true;
    } else if (st == 416) {
      if (expected_size && offset == *expected_size) co_return error_code{};
      fs::remove(part, size_ec);
      detail = "the server refused to resume (416); starting over";
      co_return errc::download_failed;
    } else {
      detail = "HTTP " + std::to_string(st);
      if (st == 404) co_return errc::not_found;
      if (st == 401 || st == 403) co_return errc::unauthorized;
      if (st == 429 || st / 100 == 5) co_return errc::download_failed;
      co_return errc::bad_status;
    }
    if (expected_sha.empty())
      if (auto it = s->headers().find(bhttp::field::etag); it != s->headers().end())
        expected_sha = sha256_of_etag(it->value());

    std::unique_ptr<std::FILE, decltype(&std::fclose)> out(std::fopen(part.c_str(), append ? "ab" : "wb"), std::fclose);
    if (!out) {
      detail = part.string() + ": " + std::strerror(errno);
      co_return errc::io_error;
    }
    std::optional<progress_meter> meter;
    if (cfg.progress) {
      std::ostream& os = cfg.progress_out ? *cfg.progress_out : std::cerr;
      meter.emplace(os, !cfg.progress_out && ::isatty(STDERR_FILENO), label, expected_size.value_or(0), offset);
    }
    std::vector<char> buf(download_buffer_bytes);
    while (true) {
      auto n = co_await s->read_some(buf);
      if (!n) co_return stop.stop_requested() ? error_code(errc::cancelled) : n.error();
      if (*n == 0) break;
      if (std::fwrite(buf.data(), 1, *n, out.get()) != *n) {
        detail = part.string() + ": " + std::strerror(errno);
        co_return errc::io_error;
      }
      if (meter) meter->advance(*n);
    }
    if (std::fflush(out.get()) != 0) {
      detail = part.string() + ": " + std::strerror(errno);
      co_return errc::io_error;
    }
    if (meter) meter->finish();
    co_return error_code{};
  }
};

}  // namespace

fs::path fetch_config::default_cache_dir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return fs::path(x) / "parley" / "models";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "parley" / "models";
  return fs::path(".cache") / "parley" / "models";
}

result<hf_source> parse_hf_source(std::string_view model) {
  if (!model.starts_with(hf_prefix)) return errc::bad_source;
  model.remove_prefix(hf_prefix.size());
  std::vector<std::string> parts;
  while (true) {
    auto slash = model.find('/');
    parts.emplace_back(model.substr(0, slash));
    if (slash == std::string_view::npos) break;
    model.remove_prefix(slash + 1);
  }
  if (parts.size() < 3) return errc::bad_source;
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == ".." || p.find_first_of("\\?#%") != std::string::npos) return errc::bad_source;
  hf_source s{parts[0], parts[1], parts[2]};
  for (std::size_t i = 3; i < parts.size(); ++i) s.file += "/" + parts[i];
  return s;
}

void register_options(CLI::App& app, fetch_config& cfg) {
  app.add_option("--model-cache-dir", cfg.cache_dir, "Where hf: models are downloaded")
      ->envname("MODEL_CACHE_DIR")
      ->capture_default_str();
  app.add_option("--hf-endpoint", cfg.endpoint, "Hugging Face Hub base URL for hf: models")
      ->envname("HF_ENDPOINT")
      ->capture_default_str();
  app.add_option("--hub-token", cfg.token, "Hub token for private or gated hf: models (never logged)")
      ->envname("HF_TOKEN");
  app.add_option("--download-progress", cfg.progress, "Show download progress on stderr")
      ->envname("DOWNLOAD_PROGRESS")
      ->capture_default_str();
  cfg.http.proxy = http::proxy_settings::from_env();
}

net::awaitable<result<fs::path>> resolve_model(std::string model, fetch_config cfg, std::string* why,
                                               std::stop_token stop) {
  auto fail = [why](error_code ec, std::string msg) -> result<fs::path> {
    if (why) *why = std::move(msg);
    return ec;
  };
  if (model.empty())
    co_return fail(errc::bad_source, "MODEL is not set: set MODEL to a .gguf file or hf:OWNER/REPO/FILE.gguf");
  if (!model.starts_with(hf_prefix)) {
    error_code ec;
    if (fs::is_regular_file(model, ec)) co_return fs::path(model);
    co_return fail(errc::model_missing, "MODEL file not found: " + model +
                                            " (set MODEL to an existing .gguf file or hf:OWNER/REPO/FILE.gguf)");
  }
  auto src = parse_hf_source(model);
  if (!src) co_return fail(src.error(), "MODEL must look like hf:OWNER/REPO/FILE.gguf, got: " + model);

  const fs::path final_path = cfg.cache_dir / src->owner / src->repo / src->file;
  error_code ec;
  if (fs::is_regular_file(final_path, ec)) co_return final_path;
  fs::create_directories(final_path.parent_path(), ec);
  if (ec)
    co_return fail(errc::io_error, "cannot create the model cache " + final_path.parent_path().string() + ": " +
                                       ec.message() + " (set MODEL_CACHE_DIR to a writable folder)");

  file_lock lock(fs::path(final_path) += ".lock");
  if (!lock.valid()) co_return fail(errc::io_error, "cannot create " + final_path.string() + ".lock (set MODEL_CACHE_DIR)");
  bool told = false;
  while (!lock.try_lock()) {
    if (!told) spdlog::info("fetch: another process is downloading {}; waiting", final_path.string());
    told = true;
    net::steady_timer t(co_await net::this_coro::executor, cfg.lock_poll);
    co_await t.async_wait(net::as_tuple(net::use_awaitable));
    if (stop.stop_requested()) co_return fail(errc::cancelled, "cancelled");
  }
  if (fs::is_regular_file(final_path, ec)) co_return final_path;

  auto client = http::client::create(cfg.http);
  if (!client) co_return fail(client.error(), "cannot set up TLS to download " + model);
  auto endpoint = http::parse_url(cfg.endpoint);
  if (!endpoint) co_return fail(endpoint.error(), "HF_ENDPOINT is not an http(s) URL: " + cfg.endpoint);
  std::string base = cfg.endpoint;
  while (!base.empty() && base.back() == '/') base.pop_back();

  download job{cfg, *client, base + "/" + src->owner + "/" + src->repo + "/resolve/" + cfg.revision + "/" + src->file,
               *endpoint, fs::path(final_path) += ".part", src->file, stop, {}, std::nullopt, {}};
  spdlog::info("fetch: downloading {} to {}", job.url, final_path.string());
  error_code last;
  for (int attempt = 1; attempt <= cfg.max_attempts; ++attempt) {
    last = co_await job.once();
    if (!last || !retryable(last)) break;
    spdlog::warn("fetch: download of {} interrupted ({}{}{}); attempt {} of {}", job.url, last.message(),
                 job.detail.empty() ? "" : ": ", job.detail, attempt, cfg.max_attempts);
    job.detail.clear();
    if (attempt < cfg.max_attempts) {
      net::steady_timer t(co_await net::this_coro::executor, cfg.retry_wait);
      co_await t.async_wait(net::as_tuple(net::use_awaitable));
    }
  }
  const std::string where = " (MODEL=" + model + " from " + endpoint->str() + ")";
  if (last == errc::cancelled) co_return fail(last, "download cancelled" + where);
  if (last == errc::not_found)
    co_return fail(last, "the Hub has no file " + src->file + " in " + src->owner + "/" + src->repo + " at revision " +
                             cfg.revision + where + ": check MODEL");
  if (last == errc::unauthorized)
    co_return fail(last, "the Hub refused access to " + src->owner + "/" + src->repo + where +
                             ": set HF_TOKEN to a token with access, or use another MODEL");
  if (last == errc::io_error) co_return fail(last, "cannot write the model cache: " + job.detail + " (set MODEL_CACHE_DIR)");
  if (last && (retryable(last) || last.category() == boost::asio::error::get_netdb_category()))
    co_return fail(errc::download_failed, "cannot download " + model + " from " + endpoint->str() + " (" +
                                              last.message() + (job.detail.empty() ? "" : ": " + job.detail) +
                                              "): set MODEL to a local .gguf file, or make the Hub reachable "
                                              "(HF_ENDPOINT, HTTPS_PROXY)");
  if (last) co_return fail(last, "cannot download " + model + ": " + last.message() + " " + job.detail + where);

  auto size = fs::file_size(job.part, ec);
  if (ec) co_return fail(errc::io_error, "cannot read " + job.part.string() + ": " + ec.message());
  if (job.expected_size && size != *job.expected_size) {
    fs::remove(job.part, ec);
    co_return fail(errc::size_mismatch, "the download of " + model + " has " + std::to_string(size) +
                                            " bytes, the Hub announced " + std::to_string(*job.expected_size) +
                                            "; the partial file was removed, run again");
  }
  if (!job.expected_sha.empty()) {
    auto sha = sha256_file(job.part);
    if (!sha) co_return fail(errc::io_error, "cannot read " + job.part.string());
    if (*sha != job.expected_sha) {
      fs::remove(job.part, ec);
      co_return fail(errc::checksum_mismatch, "the download of " + model + " does not match the Hub's SHA-256 (expected " +
                                                  job.expected_sha + ", got " + *sha +
                                                  "); the file was removed, run again");
    }
  } else {
    spdlog::warn("fetch: the server sent no SHA-256 for {}; the download is not verified", job.url);
  }
  fsync_path(job.part, O_RDONLY);
  fs::rename(job.part, final_path, ec);
  if (ec) co_return fail(errc::io_error, "cannot move " + job.part.string() + " into place: " + ec.message());
  fsync_path(final_path.parent_path(), O_RDONLY | O_DIRECTORY);
  spdlog::info("fetch: {} ready ({} bytes{})", final_path.string(), size, job.expected_sha.empty() ? "" : ", SHA-256 verified");
  co_return final_path;
}

result<fs::path> resolve_model_blocking(std::string model, fetch_config cfg, std::string* why) {
  net::io_context ioc;
  auto fut = net::co_spawn(ioc, resolve_model(std::move(model), std::move(cfg), why), net::use_future);
  ioc.run();
  return fut.get();
}

}  // namespace parley::worker::fetch

#include <parley/worker/fetch/model_fetch.hpp>

#include <parley/http/testing/local_server.hpp>
#include <parley/http/testing/run.hpp>

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <atomic>
#include <fstream>
#include <sstream>

namespace parley::worker::fetch {
namespace {

using namespace std::chrono_literals;
using http::testing::exchange;
using http::testing::http_response;
using http::testing::local_server;
using http::testing::run_with_deadline;
namespace fs = std::filesystem;

std::string sha256_hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  std::string out;
  char b[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    out += b;
  }
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The model bytes: large enough to arrive in several reads.
const std::string model_bytes = [] {
  std::string s;
  for (int i = 0; s.size() < 300'000; ++i) s += "GGUF block " + std::to_string(i) + "\n";
  return s;
}();

class model_fetch : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "parley-fetch-XXXXXX").string();
    ASSERT_TRUE(::mkdtemp(tmpl.data()));
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fetch_config config(const local_server& hub) {
    fetch_config cfg;
    cfg.cache_dir = dir_ / "cache";
    cfg.endpoint = hub.base_url();
    cfg.token = "hf_hub_secret";
    cfg.retry_wait = 50ms;
    cfg.progress_out = &progress_;
    cfg.http.read_timeout = 2s;
    return cfg;
  }

  boost::system::result<fs::path> resolve(std::string model, const fetch_config& cfg) {
    why_.clear();
    return run_with_deadline(resolve_model(std::move(model), cfg, &why_), 30s);
  }

  fs::path final_path() const { return dir_ / "cache" / "owner" / "repo" / "model.gguf"; }

  fs::path dir_;
  std::ostringstream progress_;
  std::string why_;
};

// The Hub: /resolve/ answers 302 to a storage host with the LFS SHA-256 in X-Linked-ETag, as
// huggingface.co does; the storage URL is served by the same test server under another host
// name ("localhost" instead of "127.0.0.1"), so token forwarding can be checked.
http::testing::handler hub_handler(std::string sha, std::string body, std::atomic<int>* cut_after_bytes = nullptr) {
  return [sha, body, cut_after_bytes](exchange& ex) -> net::awaitable<void> {
    std::string target(ex.request.target());
    if (target.starts_with("/owner/repo/resolve/main/")) {
      std::string location = "http://localhost:" + std::to_string(ex.socket().local_endpoint().port()) + "/storage/blob";
      co_await ex.write("HTTP/1.1 302 Found\r\nLocation: " + location + "\r\nX-Linked-ETag: \"" + sha +
                        "\"\r\nX-Linked-Size: " + std::to_string(body.size()) +
                        "\r\nETag: \"git-sha1-not-this\"\r\nContent-Length: 0\r\n\r\n");
      co_return;
    }
    if (target != "/storage/blob") {
      co_await ex.write(http_response(404, "text/plain", "Entry not found"));
      co_return;
    }
    std::size_t from = 0;
    auto range = ex.request[boost::beast::http::field::range];
    std::string head;
    if (range.starts_with("bytes=")) {
      from = std::stoul(std::string(range.substr(6)));
      head = "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes " + std::to_string(from) + "-" +
             std::to_string(body.size() - 1) + "/" + std::to_string(body.size()) + "\r\n";
    } else {
      head = "HTTP/1.1 200 OK\r\n";
    }
    head += "Content-Length: " + std::to_string(body.size() - from) + "\r\n\r\n";
    std::string rest = body.substr(from);
    if (cut_after_bytes && *cut_after_bytes > 0) {
      // Send part of the body, then drop the connection (once).
      auto n = static_cast<std::size_t>(cut_after_bytes->exchange(0));
      co_await ex.write(head + rest.substr(0, n));
      co_return;
    }
    co_await ex.write(head + rest);
  };
}

TEST(parse_hf_source, accepts_owner_repo_file_and_rejects_the_rest) {
  auto s = parse_hf_source("hf:Qwen/Qwen2.5-0.5B-Instruct-GGUF/qwen2.5-0.5b-instruct-q4_k_m.gguf");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->owner, "Qwen");
  EXPECT_EQ(s->repo, "Qwen2.5-0.5B-Instruct-GGUF");
  EXPECT_EQ(s->file, "qwen2.5-0.5b-instruct-q4_k_m.gguf");
  EXPECT_EQ(parse_hf_source("hf:o/r/sub/dir/m.gguf")->file, "sub/dir/m.gguf");
  for (auto bad : {"hf:o/r", "hf:o//m.gguf", "hf:o/r/../m.gguf", "o/r/m.gguf", "hf:/r/m.gguf", "hf:o/r/m.gguf?x"})
    EXPECT_FALSE(parse_hf_source(bad)) << bad;
}

TEST_F(model_fetch, local_paths_are_used_as_they_are_and_missing_ones_explained) {
  local_server unused([](exchange&) -> net::awaitable<void> { co_return; });
  auto cfg = config(unused);
  fs::path file = dir_ / "local.gguf";
  std::ofstream(file) << "GGUF";
  auto r = resolve(file.string(), cfg);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, file);
  auto missing = resolve((dir_ / "nope.gguf").string(), cfg);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error(), errc::model_missing);
  EXPECT_NE(why_.find("set MODEL"), std::string::npos) << why_;
  auto empty = resolve("", cfg);
  ASSERT_FALSE(empty);
  EXPECT_NE(why_.find("MODEL is not set"), std::string::npos) << why_;
  EXPECT_EQ(unused.connections(), 0);
}

TEST_F(model_fetch, downloads_follows_the_redirect_verifies_and_moves_into_place) {
  local_server hub(hub_handler(sha256_hex(model_bytes), model_bytes));
  auto r = resolve("hf:owner/repo/model.gguf", config(hub));
  ASSERT_TRUE(r) << why_;
  EXPECT_EQ(*r, final_path());
  EXPECT_EQ(read_file(*r), model_bytes);
  EXPECT_FALSE(fs::exists(fs::path(final_path()) += ".part"));
  auto seen = hub.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].target(), "/owner/repo/resolve/main/model.gguf");
  EXPECT_EQ(seen[0][boost::beast::http::field::authorization], "Bearer hf_hub_secret");
  EXPECT_EQ(seen[1].count(boost::beast::http::field::authorization), 0u) << "the token stays with the Hub's host";
  EXPECT_NE(progress_.str().find("100%"), std::string::npos) << progress_.str();

  // Cached now: no request at all the second time.
  auto again = resolve("hf:owner/repo/model.gguf", config(hub));
  ASSERT_TRUE(again);
  EXPECT_EQ(hub.requests().size(), 2u);
}

TEST_F(model_fetch, resumes_with_a_range_request_after_a_cut) {
  std::atomic<int> cut{100'000};
  local_server hub(hub_handler(sha256_hex(model_bytes), model_bytes, &cut));
  auto r = resolve("hf:owner/repo/model.gguf", config(hub));
  ASSERT_TRUE(r) << why_;
  EXPECT_EQ(read_file(*r), model_bytes);
  auto seen = hub.requests();
  ASSERT_EQ(seen.size(), 4u);  // resolve + cut download, resolve + resumed download
  EXPECT_EQ(seen[3][boost::beast::http::field::range], "bytes=100000-");
}

TEST_F(model_fetch, resumes_a_part_file_left_by_an_earlier_run) {
  local_server hub(hub_handler(sha256_hex(model_bytes), model_bytes));
  fs::create_directories(final_path().parent_path());
  std::ofstream(fs::path(final_path()) += ".part", std::ios::binary) << model_bytes.substr(0, 1234);
  auto r = resolve("hf:owner/repo/model.gguf", config(hub));
  ASSERT_TRUE(r) << why_;
  EXPECT_EQ(read_file(*r), model_bytes);
  EXPECT_EQ(hub.requests().back()[boost::beast::http::field::range], "bytes=1234-");
}

TEST_F(model_fetch, checksum_mismatch_is_rejected_and_nothing_is_left_under_the_final_name) {
  local_server hub(hub_handler(sha256_hex("something else"), model_bytes));
  auto r = resolve("hf:owner/repo/model.gguf", config(hub));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::checksum_mismatch);
  EXPECT_NE(why_.find("SHA-256"), std::string::npos) << why_;
  EXPECT_FALSE(fs::exists(final_path()));
  EXPECT_FALSE(fs::exists(fs::path(final_path()) += ".part"));
}

TEST_F(model_fetch, etag_is_the_fallback_checksum) {
  const std::string sha = sha256_hex("bad");
  local_server hub([&](exchange& ex) -> net::awaitable<void> {
    co_await ex.write(http_response(200, "application/octet-stream", model_bytes, "ETag: \"" + sha + "\"\r\n"));
  });
  auto r = resolve("hf:owner/repo/model.gguf", config(hub));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::checksum_mismatch);
}

TEST_F(model_fetch, missing_file_and_refused_access_are_explained) {
  local_server hub([](exchange& ex) -> net::awaitable<void> {
    if (ex.request.target().find("gated") != std::string::npos)
      co_await ex.write(http_response(401, "application/json", R"({"error":"Access to model is restricted"})"));
    else
      co_await ex.write(http_response(404, "text/plain", "Entry not found"));
  });
  auto r = resolve("hf:owner/repo/missing.gguf", config(hub));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::not_found);
  EXPECT_NE(why_.find("check MODEL"), std::string::npos) << why_;
  auto g = resolve("hf:owner/gated/model.gguf", config(hub));
  ASSERT_FALSE(g);
  EXPECT_EQ(g.error(), errc::unauthorized);
  EXPECT_NE(why_.find("HF_TOKEN"), std::string::npos) << why_;
}

TEST_F(model_fetch, unreachable_hub_gives_one_line_saying_what_to_set) {
  std::uint16_t port;
  {
    net::io_context ioc;
    net::ip::tcp::acceptor a(ioc, {net::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  local_server unused([](exchange&) -> net::awaitable<void> { co_return; });
  auto cfg = config(unused);
  cfg.endpoint = "http://127.0.0.1:" + std::to_string(port);
  cfg.max_attempts = 2;
  auto r = resolve("hf:owner/repo/model.gguf", cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), errc::download_failed);
  EXPECT_EQ(why_.find('\n'), std::string::npos);
  EXPECT_NE(why_.find("set MODEL to a local .gguf file"), std::string::npos) << why_;

  cfg.endpoint = "http://no-such-host.invalid";
  auto offline = resolve("hf:owner/repo/model.gguf", cfg);
  ASSERT_FALSE(offline);
  EXPECT_NE(why_.find("set MODEL to a local .gguf file"), std::string::npos) << why_;
}

}  // namespace
}  // namespace parley::worker::fetch

#include <parley/http/error.hpp>
#include <parley/http/proxy.hpp>
#include <parley/http/url.hpp>

#include <gtest/gtest.h>

namespace parley::http {
namespace {

TEST(url, parses_absolute_urls) {
  auto u = parse_url("https://api.example.com/v1/chat?x=1");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "https");
  EXPECT_EQ(u->host, "api.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->target, "/v1/chat?x=1");
  EXPECT_EQ(u->authority(), "api.example.com");

  auto v = parse_url("HTTP://[::1]:8080");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->scheme, "http");
  EXPECT_EQ(v->host, "::1");
  EXPECT_EQ(v->port, 8080);
  EXPECT_EQ(v->target, "/");
  EXPECT_EQ(v->authority(), "[::1]:8080");
}

TEST(url, rejects_relative_unknown_scheme_and_bad_port) {
  EXPECT_EQ(parse_url("/v1/chat").error(), errc::invalid_url);
  EXPECT_EQ(parse_url("ftp://example.com/").error(), errc::unsupported_scheme);
  EXPECT_EQ(parse_url("http://example.com:99999/").error(), errc::invalid_url);
  EXPECT_EQ(parse_url("http:///path").error(), errc::invalid_url);
}

TEST(url, str_hides_userinfo) {
  auto u = parse_url("http://user:secret@proxy.local:3128");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->userinfo, "user:secret");
  EXPECT_EQ(u->str(), "http://proxy.local:3128/");
}

TEST(url, resolves_redirect_locations) {
  auto base = parse_url("https://huggingface.co/o/r/resolve/main/f.gguf").value();
  EXPECT_EQ(resolve_url(base, "/api/resolve-cache/x?y=1")->str(), "https://huggingface.co/api/resolve-cache/x?y=1");
  EXPECT_EQ(resolve_url(base, "https://cdn.example.org/blob")->str(), "https://cdn.example.org/blob");
  EXPECT_EQ(resolve_url(base, "other.gguf")->str(), "https://huggingface.co/o/r/resolve/main/other.gguf");
}

// A percent-encoded host decoded to "a:b" (printed as the IPv6 authority "[a:b]", and
// resolve_url threw on it: a property of fuzz_url), "a/b", CR LF or a NUL; an IPvFuture host was
// bracketed twice.
TEST(url, rejects_hosts_that_are_not_names_or_addresses) {
  for (auto bad : {"http://a%3Ab/", "http://a%2Fb/p", "http://a%00b/", "https://a%0D%0AX:%201/",
                   "http://[v1.x:y]/", "http://a%20b/"})
    EXPECT_EQ(parse_url(bad).error(), errc::invalid_url) << bad;
  auto base = parse_url("https://example.com/a").value();
  EXPECT_FALSE(resolve_url(base, "http://a%3Ab/"));
  auto by_hand = base;
  by_hand.host = "a:b";
  EXPECT_EQ(resolve_url(by_hand, "/x").error(), errc::bad_redirect);
  EXPECT_TRUE(parse_url("http://my_host.example-1.org/"));
  // Also found by fuzz_url: Boost.URL 1.81 parses "HTTP://[::2]A8080" as host ::2, path "A8080".
  for (auto bad : {"HTTP://[::2]A8080", "http://example.com:80x", "http://1.2.3.4:5x/y"})
    EXPECT_EQ(parse_url(bad).error(), errc::invalid_url) << bad;
  EXPECT_EQ(parse_url("http://%65xample.com/")->host, "example.com");
}

TEST(proxy, picks_proxy_by_scheme_and_honours_no_proxy) {
  proxy_settings p{"http://plain.proxy:3128", "secure.proxy:8080", "localhost, .internal.net,10.0.0.1,example.org:8443"};
  auto https = p.for_target(parse_url("https://api.openai.com/v1").value());
  ASSERT_TRUE(https && *https);
  EXPECT_EQ((*https)->host, "secure.proxy");
  EXPECT_EQ((*https)->port, 8080);
  auto http = p.for_target(parse_url("http://example.com/").value());
  ASSERT_TRUE(http && *http);
  EXPECT_EQ((*http)->host, "plain.proxy");

  for (auto direct : {"http://localhost:8080/", "https://a.internal.net/", "https://internal.net/",
                      "http://10.0.0.1/", "https://example.org:8443/"}) {
    auto r = p.for_target(parse_url(direct).value());
    ASSERT_TRUE(r) << direct;
    EXPECT_FALSE(*r) << direct;
  }
  auto other_port = p.for_target(parse_url("https://example.org/").value());
  EXPECT_TRUE(other_port && *other_port);
  auto not_suffix = p.for_target(parse_url("https://notinternal.net/").value());
  EXPECT_TRUE(not_suffix && *not_suffix);
}

TEST(proxy, star_bypasses_everything_and_bad_proxy_url_is_an_error) {
  proxy_settings all{"http://p:1", "http://p:1", "*"};
  EXPECT_FALSE(*all.for_target(parse_url("https://x.y/").value()));
  proxy_settings bad{"", "http://bad host:1", ""};
  EXPECT_FALSE(bad.for_target(parse_url("https://x.y/").value()));
  proxy_settings tls_proxy{"", "https://p:1", ""};
  EXPECT_EQ(tls_proxy.for_target(parse_url("https://x.y/").value()).error(), errc::unsupported_scheme);
}

}  // namespace
}  // namespace parley::http

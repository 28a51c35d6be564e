#include <parley/gateway/static_files.hpp>

#include <gtest/gtest.h>

#include <fstream>
#include <unistd.h>

namespace fs = std::filesystem;
using parley::gateway::static_files;

class StaticFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("parley-static-" + std::to_string(::getpid()));
    fs::create_directories(base_ / "dist" / "assets");
    write(base_ / "dist" / "index.html", "<html>");
    write(base_ / "dist" / "assets" / "app-1234.js", "js");
    write(base_ / "dist" / "favicon.svg", "<svg/>");
    write(base_ / "secret.txt", "secret");
    fs::create_symlink(base_ / "secret.txt", base_ / "dist" / "link.txt");
  }
  void TearDown() override { fs::remove_all(base_); }
  static void write(const fs::path& p, const char* text) { std::ofstream(p) << text; }
  fs::path base_;
};

TEST_F(StaticFiles, ServesFilesWithTypes) {
  static_files s(base_ / "dist");
  ASSERT_TRUE(s.available());
  auto index = s.resolve("/", true);
  ASSERT_TRUE(index);
  EXPECT_EQ(index->path.filename(), "index.html");
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  auto js = s.resolve("/assets/app-1234.js", true);
  ASSERT_TRUE(js);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_TRUE(js->immutable);
  EXPECT_EQ(s.resolve("/favicon.svg", false)->content_type, "image/svg+xml");
}

TEST_F(StaticFiles, SpaFallbackOnlyForExtensionlessPaths) {
  static_files s(base_ / "dist");
  auto chat = s.resolve("/chat/room", true);
  ASSERT_TRUE(chat);
  EXPECT_EQ(chat->path.filename(), "index.html");
  EXPECT_FALSE(s.resolve("/missing.js", true));
  EXPECT_FALSE(s.resolve("/chat/room", false));
}

TEST_F(StaticFiles, RefusesTraversal) {
  static_files s(base_ / "dist");
  EXPECT_FALSE(s.resolve("/../secret.txt", true));
  EXPECT_FALSE(s.resolve("/assets/../../secret.txt", true));
  EXPECT_FALSE(s.resolve("/..", true));
  EXPECT_FALSE(s.resolve("/a\\..\\secret.txt", true));
  EXPECT_FALSE(s.resolve(std::string_view("/index.html\0x", 13), true));
  EXPECT_FALSE(s.resolve("/link.txt", false));
  EXPECT_FALSE(s.resolve("relative", true));
}

TEST(StaticFilesMime, KnownAndUnknown) {
  EXPECT_EQ(static_files::mime_type(".CSS"), "text/css; charset=utf-8");
  EXPECT_EQ(static_files::mime_type(".woff2"), "font/woff2");
  EXPECT_EQ(static_files::mime_type(".bin"), "application/octet-stream");
}

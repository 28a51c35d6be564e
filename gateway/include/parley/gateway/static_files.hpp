#pragma once
// Serving the built web client from a folder: path resolution that cannot leave the folder,
// MIME types by extension, and the single-page-app fallback to index.html.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace parley::gateway {

struct static_file {
  std::filesystem::path path;
  std::string_view content_type;
  bool immutable = false;  // hashed asset under assets/: cacheable for a year
};

class static_files {
 public:
  explicit static_files(std::filesystem::path root);
  bool available() const;  // the folder holds an index.html

  // Resolves a request path (percent-decoded by the caller, query removed). nullopt when the path
  // is unsafe (.., NUL, backslash) or names no regular file. A path with no extension that
  // names nothing falls back to index.html when `spa_fallback` is true.
  std::optional<static_file> resolve(std::string_view url_path, bool spa_fallback) const;

  static std::string_view mime_type(std::string_view extension);

 private:
  std::filesystem::path root_;
};

}  // namespace parley::gateway

#include <parley/gateway/static_files.hpp>

#include <algorithm>
#include <array>
#include <utility>

namespace parley::gateway {

namespace fs = std::filesystem;

static_files::static_files(fs::path root) {
  std::error_code ec;
  root_ = fs::weakly_canonical(fs::absolute(root, ec), ec);
}

bool static_files::available() const {
  std::error_code ec;
  return fs::is_regular_file(root_ / "index.html", ec);
}

std::string_view static_files::mime_type(std::string_view ext) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 22> types{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".webmanifest", "application/manifest+json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".jpg", "image/jpeg"},
      {".jpeg", "image/jpeg"},
      {".gif", "image/gif"},
      {".webp", "image/webp"},
      {".ico", "image/x-icon"},
      {".woff", "font/woff"},
      {".woff2", "font/woff2"},
      {".ttf", "font/ttf"},
      {".txt", "text/plain; charset=utf-8"},
      {".wasm", "application/wasm"},
      {".xml", "application/xml"},
      {".pdf", "application/pdf"},
  }};
  std::string lower(ext);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [e, t] : types)
    if (e == lower) return t;
  return "application/octet-stream";
}

std::optional<static_file> static_files::resolve(std::string_view url_path, bool spa_fallback) const {
  if (url_path.empty() || url_path.front() != '/') return std::nullopt;
  if (url_path.find('\0') != std::string_view::npos || url_path.find('\\') != std::string_view::npos)
    return std::nullopt;
  // Reject any ".." segment outright rather than normalising it away.
  fs::path rel;
  std::size_t pos = 1;
  while (pos <= url_path.size()) {
    auto next = url_path.find('/', pos);
    if (next == std::string_view::npos) next = url_path.size();
    auto seg = url_path.substr(pos, next - pos);
    if (seg == "..") return std::nullopt;
    if (!seg.empty() && seg != ".") rel /= std::string(seg);
    pos = next + 1;
  }
  std::error_code ec;
  fs::path candidate = root_ / rel;
  if (rel.empty() || fs::is_directory(candidate, ec)) candidate /= "index.html";
  auto canon = fs::weakly_canonical(candidate, ec);
  if (ec) return std::nullopt;
  // Symlinks pointing out of the root are refused too.
  auto [root_end, _] = std::mismatch(root_.begin(), root_.end(), canon.begin(), canon.end());
  const bool inside = root_end == root_.end();
  if (inside && fs::is_regular_file(canon, ec)) {
    const auto rel_str = rel.generic_string();
    return static_file{canon, mime_type(canon.extension().string()), rel_str.rfind("assets/", 0) == 0};
  }
  if (spa_fallback && !rel.has_extension() && available())
    return static_file{root_ / "index.html", mime_type(".html"), false};
  return std::nullopt;
}

}  // namespace parley::gateway

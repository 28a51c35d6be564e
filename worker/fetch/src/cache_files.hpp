#pragma once
// What the model cache does on disk besides writing the download: hash a file, flush a rename,
// and keep two processes from downloading one file at once. Thin wrappers over OpenSSL and POSIX.
#include <boost/system/result.hpp>

#include <filesystem>
#include <string>

namespace parley::worker::fetch {

// The lower-case hex SHA-256 of the file's bytes; errc::io_error when it cannot be read.
boost::system::result<std::string> sha256_file(const std::filesystem::path& p);

// Flushes `p` (and the folder entry of a rename) to disk, so a crash after the rename cannot
// leave an empty or partial file under the final name. `flags` as for open(2).
void fsync_path(const std::filesystem::path& p, int flags);

// An exclusive flock on `p` (created if missing), released when this object goes.
class file_lock {
 public:
  explicit file_lock(const std::filesystem::path& p);
  ~file_lock();
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;
  bool valid() const { return fd_ >= 0; }
  bool try_lock();

 private:
  int fd_;
};

}  // namespace parley::worker::fetch

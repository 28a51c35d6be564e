#pragma once
// A fresh directory under $TMPDIR (or /tmp), removed recursively by the destructor unless
// PARLEY_KEEP_TEST_DIRS is set in the environment (useful to read logs after a failure).
#include <filesystem>

namespace parley::test {

class temp_dir {
 public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace parley::test

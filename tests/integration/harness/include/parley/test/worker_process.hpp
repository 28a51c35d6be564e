#pragma once
// The real parley-worker binary for integration tests: started against a Redis URL with short
// delivery timings (so takeover happens in about a second), its metrics endpoint on a free port,
// waited for until /healthz answers.
#include <parley/test/process.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace parley::test {

// Path of the parley-worker binary this harness was built with ("" when it was not).
std::string worker_binary();
// The model tests run on: stories260K when present (real text), else the tiny random model.
std::string test_model();

class worker_process {
 public:
  // `extra_args` are "--flag value" pairs; each replaces the test default of that flag.
  worker_process(const std::string& redis_url, const std::filesystem::path& dir, const std::string& name,
                 std::vector<std::string> extra_args = {});

  std::uint16_t metrics_port() const noexcept { return metrics_port_; }
  process& proc() noexcept { return proc_; }
  std::string log_text() const { return proc_.log_text(); }
  const std::string& name() const noexcept { return name_; }

  // The /metrics text, "" when it cannot be fetched.
  std::string metrics() const;
  // The value of the first sample line starting with `series` ("name" or "name{labels}"); -1 if absent.
  double metric(const std::string& series) const;

 private:
  std::string name_;
  std::uint16_t metrics_port_;
  process proc_;
};

}  // namespace parley::test

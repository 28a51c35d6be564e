#pragma once
// The Redis an integration suite runs against, so that one suite runs on both: a private
// standalone redis-server, or the test binary's shared Redis Cluster (shared_cluster(), emptied
// for each test). Parameterise a suite with
//
//   class my_suite : public ::testing::TestWithParam<parley::test::redis_kind> {
//     parley::test::temp_dir dir;
//     parley::test::redis_under_test redis{GetParam(), dir.path()};
//   };
//   INSTANTIATE_TEST_SUITE_P(redis, my_suite, parley::test::both_redis_kinds, parley::test::redis_kind_name);
//
// Not thread-safe: one test thread drives it.
#include <parley/test/redis_cluster.hpp>
#include <parley/test/redis_server.hpp>

#include <gtest/gtest.h>

#include <memory>

namespace parley::test {

enum class redis_kind { standalone, cluster };

inline const auto both_redis_kinds = ::testing::Values(redis_kind::standalone, redis_kind::cluster);
inline std::string redis_kind_name(const ::testing::TestParamInfo<redis_kind>& info) {
  return info.param == redis_kind::cluster ? "cluster" : "standalone";
}

class redis_under_test {
 public:
  redis_under_test(redis_kind kind, const std::filesystem::path& dir, std::vector<std::string> extra_args = {});

  bool is_cluster() const noexcept { return cluster_ != nullptr; }
  std::string url() const;
  // At the node that serves the key at args[1] (any node for keyless commands).
  redis_reply command(const std::vector<std::string>& args);
  std::string command_str(const std::vector<std::string>& args);
  // The standalone server (nullptr on a cluster) and the cluster (nullptr standalone).
  redis_server* server() noexcept { return server_.get(); }
  redis_cluster* cluster() noexcept { return cluster_; }

 private:
  std::unique_ptr<redis_server> server_;
  redis_cluster* cluster_ = nullptr;
};

}  // namespace parley::test

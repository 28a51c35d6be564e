#include <parley/test/redis_under_test.hpp>

namespace parley::test {

redis_under_test::redis_under_test(redis_kind kind, const std::filesystem::path& dir,
                                   std::vector<std::string> extra_args) {
  if (kind == redis_kind::cluster) cluster_ = &shared_cluster();
  else server_ = std::make_unique<redis_server>(dir, std::move(extra_args));
}

std::string redis_under_test::url() const { return cluster_ ? cluster_->url() : server_->url(); }

redis_reply redis_under_test::command(const std::vector<std::string>& args) {
  return cluster_ ? cluster_->command(args) : server_->command(args);
}

std::string redis_under_test::command_str(const std::vector<std::string>& args) {
  return cluster_ ? cluster_->command_str(args) : server_->command_str(args);
}

}  // namespace parley::test

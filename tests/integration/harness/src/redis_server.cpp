#include <parley/test/ports.hpp>
#include <parley/test/redis_server.hpp>

#include <hiredis/hiredis.h>
#include <signal.h>

#include <memory>
#include <stdexcept>

#ifndef PARLEY_REDIS_SERVER
#define PARLEY_REDIS_SERVER "/usr/bin/redis-server"
#endif

namespace parley::test {

namespace {

redis_reply convert(const redisReply* r) {
  redis_reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = redis_reply::kind::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = redis_reply::kind::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = redis_reply::kind::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = redis_reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = redis_reply::kind::array;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = redis_reply::kind::nil;
  }
  return out;
}

}  // namespace

redis_server::redis_server(const std::filesystem::path& dir, std::vector<std::string> extra_args)
    : dir_(dir / "redis"), extra_args_(std::move(extra_args)), port_(free_port()) {
  std::filesystem::create_directories(dir_);
  start();
}

redis_server::~redis_server() { proc_.kill(); }

void redis_server::start(std::chrono::milliseconds timeout) {
  std::vector<std::string> argv = {PARLEY_REDIS_SERVER, "--port", std::to_string(port_),
                                   "--bind", "127.0.0.1", "--dir", dir_.string(),
                                   "--save", "", "--appendonly", "no", "--daemonize", "no",
                                   "--protected-mode", "yes"};
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  proc_ = process({.argv = argv, .env = {}, .unset_env = {}, .log_path = dir_ / "redis.log",
                   .working_dir = dir_});
  // A server that answers LOADING is up and reading its data (a test may make that slow on
  // purpose): it gets longer than one that does not answer at all.
  bool loading = false;
  auto answers = [&] {
    try {
      auto r = command({"PING"});
      loading = loading || r.str.starts_with("LOADING");
      return r.str == "PONG";
    } catch (const std::exception&) {
      return false;
    }
  };
  bool up = wait_until(answers, timeout);
  if (!up && loading && proc_.running()) up = wait_until(answers, std::chrono::seconds(60));
  if (!up) throw std::runtime_error("redis-server did not start: " + proc_.log_text());
}

void redis_server::stop() {
  proc_.signal(SIGTERM);
  if (!proc_.wait_exit(std::chrono::seconds(5))) proc_.kill();
}

redis_reply redis_server::command(const std::vector<std::string>& args) const {
  timeval tv{2, 0};
  std::unique_ptr<redisContext, decltype(&redisFree)> ctx(
      redisConnectWithTimeout("127.0.0.1", port_, tv), &redisFree);
  if (!ctx || ctx->err) throw std::runtime_error("cannot connect to redis-server");
  redisSetTimeout(ctx.get(), timeval{5, 0});
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* raw = static_cast<redisReply*>(
      redisCommandArgv(ctx.get(), static_cast<int>(args.size()), argv.data(), lens.data()));
  if (!raw) throw std::runtime_error("redis command failed: " + std::string(ctx->errstr));
  std::unique_ptr<redisReply, decltype(&freeReplyObject)> reply(raw, &freeReplyObject);
  return convert(reply.get());
}

std::string redis_server::command_str(const std::vector<std::string>& args) const {
  auto r = command(args);
  if (r.type == redis_reply::kind::integer) return std::to_string(r.integer);
  if (r.type == redis_reply::kind::error) throw std::runtime_error("redis error: " + r.str);
  return r.str;
}

}  // namespace parley::test

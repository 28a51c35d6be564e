#include "resp.hpp"

#include <hiredis/hiredis.h>

#include <vector>

namespace parley::redis::detail {

void encode(const command& cmd, std::string& out) {
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(cmd.size());
  lens.reserve(cmd.size());
  for (const auto& a : cmd) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  char* buf = nullptr;
  int n = redisFormatCommandArgv(&buf, static_cast<int>(argv.size()), argv.data(), lens.data());
  if (n < 0 || buf == nullptr) throw std::bad_alloc();
  out.append(buf, static_cast<std::size_t>(n));
  redisFreeCommand(buf);
}

namespace {

value convert(const redisReply* r) {
  value v;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      v.type = value::kind::string;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      v.type = value::kind::status;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      v.type = value::kind::error;
      v.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      v.type = value::kind::integer;
      v.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      v.type = value::kind::array;
      v.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) v.elements.push_back(convert(r->element[i]));
      break;
    default:
      v.type = value::kind::nil;
  }
  return v;
}

}  // namespace

reader::reader() : reader_(redisReaderCreate()) {
  if (reader_ == nullptr) throw std::bad_alloc();
}

reader::~reader() { redisReaderFree(reader_); }

void reader::feed(std::string_view bytes) {
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) throw std::bad_alloc();
}

boost::system::result<std::optional<value>> reader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return make_error_code(errc::protocol_error);
  if (raw == nullptr) return std::optional<value>{};
  auto* reply = static_cast<redisReply*>(raw);
  value v = convert(reply);
  freeReplyObject(reply);
  return std::optional<value>{std::move(v)};
}

}  // namespace parley::redis::detail

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

decltype(redisReplyObjectFunctions::createArray) hiredis_create_array = nullptr;

// hiredis' own reply functions, with array creation charged to the reader's element budget
// (the reader's privdata, which hiredis hands to every task). Refusing an array makes hiredis
// fail the stream ("out of memory"), which next() reports as errc::protocol_error.
redisReplyObjectFunctions* budgeted_functions() {
  static redisReplyObjectFunctions functions = [] {
    redisReader* probe = redisReaderCreate();
    if (probe == nullptr) throw std::bad_alloc();
    redisReplyObjectFunctions f = *probe->fn;
    redisReaderFree(probe);
    hiredis_create_array = f.createArray;
    // `auto`: the count is an int in hiredis 0.14 and a size_t from 1.0 on.
    f.createArray = [](const redisReadTask* task, auto elements) -> void* {
      auto* left = static_cast<std::size_t*>(task->privdata);
      if (elements > 0) {
        if (static_cast<std::size_t>(elements) > *left) return nullptr;
        *left -= static_cast<std::size_t>(elements);
      }
      return hiredis_create_array(task, elements);
    };
    return f;
  }();
  return &functions;
}

}  // namespace

reader::reader() : reader_(redisReaderCreateWithFunctions(budgeted_functions())) {
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->privdata = &elements_left_;  // redisReaderSetPrivdata casts the pointer to int
}

reader::~reader() { redisReaderFree(reader_); }

void reader::feed(std::string_view bytes) {
  if (redisReaderFeed(reader_, bytes.data(), bytes.size()) != REDIS_OK) throw std::bad_alloc();
}

boost::system::result<std::optional<value>> reader::next() {
  void* raw = nullptr;
  if (redisReaderGetReply(reader_, &raw) != REDIS_OK) return make_error_code(errc::protocol_error);
  if (raw == nullptr) return std::optional<value>{};
  elements_left_ = max_reply_elements;
  auto* reply = static_cast<redisReply*>(raw);
  value v = convert(reply);
  freeReplyObject(reply);
  return std::optional<value>{std::move(v)};
}

}  // namespace parley::redis::detail

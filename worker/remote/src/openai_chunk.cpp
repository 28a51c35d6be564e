#include "openai_chunk.hpp"

#include <parley/worker/remote/errors.hpp>

#include <boost/json.hpp>

namespace parley::worker::remote {

namespace json = boost::json;

boost::system::result<chat_chunk> parse_chat_chunk(std::string_view data) {
  chat_chunk out;
  if (data == "[DONE]") {
    out.done = true;
    return out;
  }
  boost::system::error_code ec;
  auto v = json::parse(data, ec);
  if (ec || !v.is_object()) return errc::malformed_response;
  const auto& o = v.get_object();
  if (o.contains("error")) return errc::upstream_error;
  if (auto* choices = o.if_contains("choices")) {
    if (!choices->is_array()) return errc::malformed_response;
    for (const auto& c : choices->get_array()) {
      if (!c.is_object()) return errc::malformed_response;
      const auto& co = c.get_object();
      if (auto* delta = co.if_contains("delta")) {
        if (!delta->is_object()) return errc::malformed_response;
        if (auto* content = delta->get_object().if_contains("content"); content && !content->is_null()) {
          if (!content->is_string()) return errc::malformed_response;
          if (!content->get_string().empty()) out.pieces.emplace_back(content->get_string());
        }
      }
      if (auto* fr = co.if_contains("finish_reason"); fr && !fr->is_null()) {
        if (!fr->is_string()) return errc::malformed_response;
        out.finish = fr->get_string() == "length" ? finish_reason::length : finish_reason::stop;
      }
    }
  }
  if (auto* usage = o.if_contains("usage"); usage && usage->is_object()) {
    const auto& u = usage->get_object();
    if (auto* p = u.if_contains("prompt_tokens"); p && p->is_int64()) out.prompt_tokens = static_cast<int>(p->as_int64());
    if (auto* g = u.if_contains("completion_tokens"); g && g->is_int64())
      out.completion_tokens = static_cast<int>(g->as_int64());
    if (auto* d = u.if_contains("prompt_tokens_details"); d && d->is_object()) {
      if (auto* c = d->get_object().if_contains("cached_tokens"); c && c->is_int64())
        out.cached_tokens = static_cast<int>(c->as_int64());
    }
  }
  return out;
}

}  // namespace parley::worker::remote

#pragma once
// One event of an OpenAI-compatible chat completion stream (`data: {...}` of the SSE body),
// parsed without I/O so that its validation is tested on strings (openai_chunk_test.cpp).
// Upstreams add fields of their own (system_fingerprint, timings...): only the fields read here
// are checked, and their types strictly.
#include <parley/worker/backend.hpp>

#include <boost/system/result.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace parley::worker::remote {

struct chat_chunk {
  bool done = false;                 // the `[DONE]` marker: the stream is complete
  std::vector<std::string> pieces;   // content deltas, in order (empty ones left out)
  std::optional<finish_reason> finish;
  std::optional<int> prompt_tokens;
  std::optional<int> completion_tokens;
  std::optional<int> cached_tokens;
};

// Errors: errc::malformed_response (not a JSON object, or a read field of the wrong type) and
// errc::upstream_error (an `error` object in the stream).
boost::system::result<chat_chunk> parse_chat_chunk(std::string_view data);

}  // namespace parley::worker::remote

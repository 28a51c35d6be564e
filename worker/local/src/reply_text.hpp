#pragma once
// Turns the byte pieces that llama.cpp detokenizes into the deltas a client sees. A piece may
// end inside a UTF-8 sequence (byte-fallback tokens) or inside a stop string, so text is held
// back until it is decided:
//  - valid UTF-8 only: an incomplete sequence at the end waits for its next bytes; bytes that can
//    never be valid become U+FFFD;
//  - no part of a stop string: text that could be the start of one waits; a complete one ends
//    the reply (it and everything after it are dropped);
//  - no leading whitespace (unless the reply continues an earlier one's text, whose words the
//    first piece may need a space to follow), and trailing whitespace only once more text
//    follows (whitespace before a stop string or at the end of the reply is dropped).
// The concatenation of every push() and finish() result is the whole reply. Not thread-safe:
// one instance per generation, used by the scheduler thread only.
#include <string>
#include <string_view>
#include <vector>

namespace parley::worker::local {

class reply_text {
 public:
  explicit reply_text(std::vector<std::string> stops = {}, bool continues = false);

  // Appends a piece; returns the text that is now safe to emit (possibly empty). Once a stop
  // string has been seen, stopped() is true and further pieces are ignored.
  std::string push(std::string_view piece);

  // The end of the reply: returns the text still held back that belongs to it.
  std::string finish();

  bool stopped() const noexcept { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string partial_utf8_;  // leading bytes of a sequence that may still become valid
  std::string held_;          // valid text not emitted yet
  bool started_ = false;      // non-whitespace text has been seen
  bool stopped_ = false;
};

// Appends the valid UTF-8 of `bytes` to `out`, invalid bytes as U+FFFD; returns how many bytes at
// the end form an incomplete but so far valid sequence (they are not appended).
std::size_t append_valid_utf8(std::string_view bytes, std::string& out);

}  // namespace parley::worker::local

#pragma once
// A conversation's history as a tree of message versions (docs/design.md, "Message versions").
//
// The history list stays append-only and chronological; each entry names where it hangs:
// - a bot entry answers `reply_to` (a human entry); several bot entries with one `reply_to` are
//   versions of that reply (regenerate, continue);
// - a human entry follows `parent`: a bot entry (the reply it was sent after), nothing (the first
//   message), or a human entry P when P's reply did not exist yet when it was sent (a burst); it
//   then follows the reply to P written by turn `parent_seq`, or P itself while that reply does
//   not exist. Human entries with one resolved parent are versions of one message (edit).
//   Entries written before versions existed have no `parent`: message seq s follows the reply of
//   turn s - 1 to message s - 1, which is the list the history always was.
// The active branch is the chain of parents from the leaf (session field `leaf`, else the newest
// entry). Pure: parses and walks, no I/O; shared by the gateway (what a client sees, what a frame
// may target) and the worker (what a prompt holds).
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace parley::history {

struct entry {
  std::string id;
  bool human = false;
  std::string msg;
  long long seq = 0;          // human: its turn; bot: the turn that wrote it
  std::string reply_to;       // bot: the human entry it answers
  std::string parent;         // human: the entry it follows ("" for none, see has_parent)
  long long parent_seq = 0;   // human with a human parent: the turn whose reply it follows
  bool has_parent = false;    // false: written before versions (see the header comment)
  bool failed = false;        // bot: an error entry (no text; left out of prompts)
  bool stopped = false;       // bot
  bool cut_off = false;       // bot: ended at the token limit (`finish: "length"`); may be continued
};

struct version_info {
  int version = 1;   // 1-based, in the order the versions were written
  int versions = 1;
};

class tree {
 public:
  // nullopt when an entry is not a JSON object with the fields and types the gateway and the
  // worker write (unknown fields are allowed), or two entries share an id.
  static std::optional<tree> parse(const std::vector<std::string>& raw);

  const std::vector<entry>& entries() const noexcept { return entries_; }
  std::optional<std::size_t> find(std::string_view id) const;

  // What human entry `i` follows now: a bot entry, a human entry (its reply does not exist), or
  // nullopt (a first message).
  std::optional<std::size_t> after(std::size_t human) const;
  // The leaf named by the session's `leaf` field, else the newest entry; nullopt when empty.
  std::optional<std::size_t> leaf(std::string_view stored) const;
  // The entries from the first message to `leaf`, in list (chronological) order, as a client
  // shows them: a burst reads h1 h2 h3 b1 b2 b3.
  std::vector<std::size_t> branch(std::optional<std::size_t> leaf) const;
  // Versions of entry `i` (itself included), oldest first.
  std::vector<std::size_t> siblings(std::size_t i) const;
  version_info version_of(std::size_t i) const;
  // The leaf reached from `i` by following its newest child at each step: where a switch to
  // version `i` lands.
  std::size_t newest_leaf_below(std::size_t i) const;
  // The conversation a prompt holds to answer human entry `target`, in conversation order:
  // h1 b1 h2 b2 ... target, along the branch `target` is on. Failed replies are left out.
  std::vector<std::size_t> prompt_path(std::size_t target) const;

  // The `parent` and `parent_seq` a new version of human entry `i` is stored with (an edit).
  struct placement {
    std::string parent;
    long long parent_seq = 0;
  };
  placement placement_of(std::size_t human) const;

 private:
  std::optional<std::size_t> resolve_after(std::size_t human,
                                          const std::map<std::pair<std::size_t, long long>, std::size_t>& replies) const;
  std::vector<std::size_t> children(std::size_t i) const;

  std::vector<entry> entries_;
  std::unordered_map<std::string, std::size_t> by_id_;
  std::unordered_map<long long, std::size_t> human_by_seq_;
  std::vector<std::optional<std::size_t>> after_;  // after() of every entry (nullopt for replies)
};

}  // namespace parley::history

#pragma once
// Turns the stored history of a session into the conversation for one generation request.
//
// The history is a tree of message versions (parley/conversation_tree.hpp): the request
// answering turn s holds the branch that leads to the message being answered, in conversation
// order (h1 b1 h2 b2 ... hs, though the list reads h1 h2 h3 b1 b2 b3 after a burst): every
// earlier turn of that branch and nothing of any other. Replies that failed (error entries) are
// left out; stopped replies are kept with their partial text. A regenerate turn answers its
// message again; a continue turn ends with the reply it continues, as an assistant turn.
#include <parley/worker/backend.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <vector>

namespace parley::worker {

struct turn_input {
  std::string message_id;  // id of the human message this turn answers
  std::vector<chat_turn> history;
  std::string kind;        // "" for a message's own turn, else "regenerate" or "continue"
  std::string continues;   // continue: the id of the reply continued
  std::string prefix;      // continue: its text, which the new version starts with
  int version = 1;         // of the reply this turn writes, among the replies to the message
};

// `turn_seq`/`turn`: the session's queued regenerate/continue record (used when turn_seq == seq).
// Errors: errc::history_corrupt (an entry that is not an object with the expected field types,
// or a record that names no such entries) and errc::message_missing (no human entry with `seq`).
boost::system::result<turn_input> build_turn(const std::vector<std::string>& raw_history, long long seq,
                                             long long turn_seq = 0, const std::string& turn = {});

}  // namespace parley::worker

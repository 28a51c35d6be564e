#pragma once
// Turns the stored history of a session into the conversation for one generation request.
//
// The history list is chronological: when several messages arrive at once it reads
// h1 h2 h3 b1 b2 b3. A prompt pairs them by seq instead, so the request answering seq s holds
// h1 b1 h2 b2 ... h(s-1) b(s-1) hs: every earlier turn and nothing later. Replies that failed
// (error entries) are left out; stopped replies are kept with their partial text.
#include <parley/worker/backend.hpp>

#include <boost/system/result.hpp>

#include <string>
#include <vector>

namespace parley::worker {

struct turn_input {
  std::string message_id;  // id of the human message with the requested seq
  std::vector<chat_turn> history;
};

// Errors: errc::history_corrupt (an entry that is not an object with the expected field types)
// and errc::message_missing (no human entry with `seq`).
boost::system::result<turn_input> build_turn(const std::vector<std::string>& raw_history, long long seq);

}  // namespace parley::worker

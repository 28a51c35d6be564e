#include "chaos.hpp"

#include <boost/json.hpp>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

namespace parley::chaos {

namespace json = boost::json;

bool full_mode() {
  const char* v = std::getenv("PARLEY_CHAOS");
  return v && std::string_view(v) == "full";
}

int trials(int short_n, int full_n) { return full_mode() ? full_n : short_n; }

void require(bool cond, const std::string& why) {
  if (!cond) throw trial_failed(why);
}

double seconds(clock::duration d) { return std::chrono::duration<double>(d).count(); }

void scenario::trial(const std::function<void()>& body) {
  const int n = passed_ + static_cast<int>(failures_.size()) + 1;
  try {
    body();
    ++passed_;
  } catch (const std::exception& e) {
    failures_.push_back("trial " + std::to_string(n) + ": " + e.what());
    std::cout << name_ << " trial " << n << " failed: " << e.what() << std::endl;
  }
}

void scenario::add_time(const std::string& measure, clock::duration d) { times_[measure].push_back(seconds(d)); }

void scenario::report() {
  std::cout << name_ << ": " << passed_ << " passed, " << failures_.size() << " failed" << std::endl;
  for (auto& [measure, v] : times_) {
    std::sort(v.begin(), v.end());
    std::ostringstream line;
    line.setf(std::ios::fixed);
    line.precision(2);
    line << name_ << " " << measure << ": p50 " << v[(v.size() - 1) / 2] << " s, max " << v.back() << " s ("
         << v.size() << (v.size() == 1 ? " sample)" : " samples)");
    std::cout << line.str() << std::endl;
  }
  std::string all;
  for (const auto& f : failures_) all += "\n  " + f;
  EXPECT_TRUE(failures_.empty()) << name_ << ": " << failures_.size() << " of "
                                 << passed_ + failures_.size() << " trials failed:" << all;
}

std::vector<std::string> long_reply_flags() { return {"--max-new-tokens", "400", "--flush-tokens", "1"}; }

std::vector<std::string> stream_ids(const pt::redis_server& redis, const std::string& token) {
  auto r = redis.command({"XRANGE", "parley:{" + token + "}:events", "-", "+"});
  std::vector<std::string> ids;
  for (const auto& e : r.elements)
    if (!e.elements.empty()) ids.push_back(e.elements[0].str);
  return ids;
}

namespace {

std::pair<unsigned long long, unsigned long long> split_id(const std::string& id) {
  const auto dash = id.find('-');
  return {std::stoull(id.substr(0, dash)), dash == std::string::npos ? 0 : std::stoull(id.substr(dash + 1))};
}

}  // namespace

std::string exactly_once(const pt::redis_server& redis, const std::string& token,
                         const std::vector<std::string>& received) {
  const auto key = "parley:{" + token + "}:events";
  const auto stored = stream_ids(redis, token);
  long long added = static_cast<long long>(stored.size());
  const auto info = redis.command({"XINFO", "STREAM", key});
  for (std::size_t i = 0; i + 1 < info.elements.size(); i += 2)
    if (info.elements[i].str == "entries-added") added = info.elements[i + 1].integer;
  std::ostringstream out;
  for (std::size_t i = 1; i < received.size(); ++i)
    if (split_id(received[i - 1]) >= split_id(received[i])) {
      out << "event " << received[i] << " came after " << received[i - 1] << " (at " << i << ")";
      return out.str();
    }
  // Retention trims the oldest events (MAXLEN ~): those the client got before are no longer
  // stored, but entries-added still counts them.
  if (static_cast<long long>(received.size()) != added)
    out << "the client received " << received.size() << " events, the session's stream got " << added << "; ";
  const auto skip = received.size() > stored.size() ? received.size() - stored.size() : 0;
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const auto got = skip + i < received.size() ? received[skip + i] : "(nothing)";
    if (got != stored[i]) {
      out << "the stream's event " << i << " is " << stored[i] << ", the client's is " << got;
      break;
    }
  }
  return out.str();
}

std::string one_reply_each(std::uint16_t gateway_port, const std::string& token) {
  const auto messages = pt::history(gateway_port, token);
  std::string out;
  for (const auto& m : messages) {
    const auto& o = m.as_object();
    if (pt::json_str(o, "source") != "human") continue;
    const int n = pt::bot_replies_to(messages, pt::json_str(o, "id"));
    if (n != 1) out += " message " + pt::json_str(o, "id") + " has " + std::to_string(n) + " replies;";
  }
  return out;
}

bool mid_reply(const pt::frame_list& frames, const std::string& id) {
  return pt::find_frame(frames, "delta", id) && !pt::find_frame(frames, "reply_end", id);
}

void check_turn(const pt::redis_server& redis, std::uint16_t port, const std::string& token,
                const pt::frame_list& frames, const std::string& id) {
  const auto* end = pt::find_frame(frames, "reply_end", id);
  require(end != nullptr, "no reply_end for " + id);
  require(pt::assembled_reply(frames, id) == pt::json_str(*end, "text"),
          "the text the client assembled differs from reply_end's");
  const auto replies = one_reply_each(port, token);
  require(replies.empty(), "history:" + replies);
  const auto once = exactly_once(redis, token, pt::event_ids(frames));
  require(once.empty(), once);
}

std::unique_ptr<pt::ws_client> open_chat(std::uint16_t port, const std::string& token, pt::frame_list& frames,
                                         const std::string& last_event_id) {
  auto ws = std::make_unique<pt::ws_client>();
  frames.push_back(pt::connect_chat(*ws, port, token, last_event_id));
  return ws;
}

std::string resume_point(const pt::frame_list& frames) {
  for (auto it = frames.rbegin(); it != frames.rend(); ++it) {
    const auto type = pt::json_str(*it, "type");
    if (type == "ready") return pt::json_str(*it, "last_event_id");
    if (type != "ack" && !pt::json_str(*it, "id").empty()) return pt::json_str(*it, "id");
  }
  return {};
}

namespace {

// Reconnects, resuming after the frames held, retrying while the gateway refuses (it may be
// down or waiting for Redis) until `deadline`; false when it never accepted.
bool reconnect(std::unique_ptr<pt::ws_client>& ws, std::uint16_t port, const std::string& token,
               pt::frame_list& frames, clock::time_point deadline) {
  while (clock::now() < deadline) {
    try {
      ws = open_chat(port, token, frames, resume_point(frames));
      return true;
    } catch (const std::exception&) {
      ws.reset();
      std::this_thread::sleep_for(100ms);
    }
  }
  return false;
}

}  // namespace

bool read_resuming(std::unique_ptr<pt::ws_client>& ws, std::uint16_t port, const std::string& token,
                   pt::frame_list& frames, const std::function<bool(const pt::frame_list&)>& done,
                   std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (!done(frames)) {
    if (!ws && !reconnect(ws, port, token, frames, deadline)) return false;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    if (left.count() <= 0) return false;
    auto ev = ws->next(left);
    if (!ev) return false;
    if (ev->type == pt::ws_event::kind::closed) {
      ws.reset();
      continue;
    }
    if (ev->type == pt::ws_event::kind::text) frames.push_back(json::parse(ev->data).as_object());
  }
  return true;
}

std::string send_until_acked(std::unique_ptr<pt::ws_client>& ws, std::uint16_t port, const std::string& token,
                             pt::frame_list& frames, const std::string& text, const std::string& client_id,
                             std::chrono::milliseconds timeout, const std::vector<std::string>& retry_on) {
  const auto deadline = clock::now() + timeout;
  std::string last_refusal = "none";
  const auto frame = json::serialize(json::object{{"type", "message"}, {"text", text}, {"client_id", client_id}});
  while (clock::now() < deadline) {
    if (!ws && !reconnect(ws, port, token, frames, deadline)) break;
    if (!ws->send_text(frame)) {
      ws.reset();
      continue;
    }
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      auto ev = left.count() > 0 ? ws->next(left) : std::nullopt;
      if (!ev) throw trial_failed("no ack for " + client_id + " within the timeout; last refusal: " + last_refusal);
      if (ev->type == pt::ws_event::kind::closed) {
        ws.reset();
        break;
      }
      if (ev->type != pt::ws_event::kind::text) continue;
      auto f = json::parse(ev->data).as_object();
      const auto type = pt::json_str(f, "type");
      const bool ours = pt::json_str(f, "client_id") == client_id;
      if (type == "ack" && ours) return pt::json_str(f, "id");
      if (type == "error" && ours && pt::json_str(f, "reply_to").empty()) {
        last_refusal = json::serialize(f);
        const auto code = pt::json_str(f, "code");
        if (std::find(retry_on.begin(), retry_on.end(), code) == retry_on.end())
          throw trial_failed("message " + client_id + " refused: " + last_refusal);
        std::this_thread::sleep_for(200ms);
        break;
      }
      frames.push_back(std::move(f));
    }
  }
  throw trial_failed("no ack for " + client_id + " within the timeout; last refusal: " + last_refusal);
}

void rewrite_aof(const pt::redis_server& redis) {
  const auto started = redis.command({"BGREWRITEAOF"});
  require(started.type != pt::redis_reply::kind::error, "BGREWRITEAOF: " + started.str);
  const bool done = pt::wait_until(
      [&] {
        const auto info = redis.command_str({"INFO", "persistence"});
        return info.find("aof_rewrite_in_progress:0") != std::string::npos &&
               info.find("aof_rewrite_scheduled:0") != std::string::npos;
      },
      30s);
  require(done, "the AOF rewrite did not finish within 30 s");
}

}  // namespace parley::chaos

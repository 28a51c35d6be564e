// parley-bench-e2e: closed-loop conversations against the whole of Parley (WebSocket -> gateway
// -> Redis -> worker -> llama.cpp -> back) or against llama-server's /completion, with the same
// conversation-shaped load: K conversations of T turns, each sending its next message as soon
// as the previous reply has ended. Every turn of a llama-server conversation sends the whole
// transcript, rendered and trimmed to the context budget by the worker's own prompt builder
// (worker/local/src/prompt_builder.hpp) with the worker's defaults, with cache_prompt so that
// llama-server reuses the KV cache of the previous turn as Parley does.
//
//   parley-bench-e2e --target parley --port 3500 --conversations 10 --turns 20
//   parley-bench-e2e --target llama --llama-url http://127.0.0.1:8080 --model m.gguf
//                    --reply-tokens 8 --conversations 10 --turns 20
//   parley-bench-e2e --target parley --scenario versions --turns 10 --rounds 5
//
// The versions scenario (Parley only) builds a conversation of --turns messages, then, --rounds
// times: a fresh message, a regenerate of its reply, an edit of it, and a switch back to the
// first version followed by a new message on that branch. Each kind's TTFT and the worker's
// prompt/cached token counts are reported side by side: what KV reuse saves when a person asks
// for another answer or goes back to an earlier branch.
//
// Times are taken by this client from the moment a message is sent: to the first reply text
// (TTFT) and to the end of the reply (TTLT: Parley's reply_end, llama-server's final chunk).
// Generated tokens are counted by each server (--count-metric: a counter on its /metrics read
// before and after the run). Prints one JSON line; --per-turn adds every turn's times.
#include "prompt_builder.hpp"

#include <parley/http/client.hpp>
#include <parley/http/sse.hpp>
#include <parley/worker/config.hpp>
#include <parley/worker/local/llama_config.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <llama.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <regex>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
namespace pw = parley::worker;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
constexpr auto use_tuple = net::as_tuple(net::use_awaitable);

struct options {
  std::string target;  // "parley" or "llama"
  std::string host = "127.0.0.1";
  std::uint16_t port = 3500;  // gateway
  std::string llama_url = "http://127.0.0.1:8080";
  int conversations = 1;
  int turns = 10;
  // Starts every message, so that no server finds a cached prefix from an earlier run.
  std::string run_id = "1";
  bool per_turn = false;
  // What the llama-server side needs to build the prompts Parley's worker builds; the defaults
  // are the worker's.
  std::string model;
  int reply_tokens = pw::sampling_params{}.max_new_tokens;
  int ctx_size = pw::local::llama_config{}.n_ctx;
  int reply_budget = pw::local::llama_config{}.reply_budget;
  int trim_turns = pw::local::llama_config{}.trim_turns;
  std::string chat_template = pw::local::llama_config{}.chat_template;
  std::string system_prompt = pw::worker_config{}.system_prompt;
  pw::sampling_params sampling = pw::worker_config{}.sampling;
  // A counter on a /metrics page read before and after the run: "URL NAME".
  std::vector<std::string> count_metric;
  int setup_concurrency = 32;  // sessions created and sockets opened at once before the run
  std::string scenario = "chat";  // or "versions"
  int rounds = 5;                 // versions: rounds of fresh / regenerate / edit / switch back
};

// One reply as the client saw it, in milliseconds after its message was sent.
struct turn_sample {
  std::string kind = "message";  // versions scenario: fresh, regenerate, edit, switched_back
  int conversation = 0;
  int turn = 0;
  double ttft_ms = 0;
  double ttlt_ms = 0;
  double ack_ms = -1;        // Parley: the gateway's ack
  long long sent_us = 0;     // system clock, for the worker's stage timestamps
  long long delivered_us = 0;
  json::object server;       // what the server said about the reply (timings, token counts)
};

struct run_state {
  std::vector<turn_sample> samples;
  int errors = 0;
  std::string first_error;
  void fail(std::string why) {
    if (errors++ == 0) first_error = std::move(why);
  }
};

long long system_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double ms_since(steady::time_point t0) {
  return std::chrono::duration<double, std::milli>(steady::now() - t0).count();
}

// The same user messages on both sides: ~20 tokens each, different in every turn.
std::string user_message(const options& o, int conversation, int turn) {
  static const char* topics[] = {"a cat", "a dog", "a red house", "the sea", "a big tree", "a little bird",
                                 "the moon", "a boat", "a garden", "a train", "the rain", "a friendly bear"};
  return "Run " + o.run_id + ", conversation " + std::to_string(conversation) + ", message " + std::to_string(turn) +
         ": tell me a short story about " + topics[(conversation + turn) % std::size(topics)] + " and " +
         topics[(3 * conversation + 7 * turn + 1) % std::size(topics)] + ".";
}

// ---- counting generated tokens on the server -------------------------------------------------

double read_counter(const parley::http::client& c, const std::string& url, const std::string& name) {
  net::io_context ioc;
  parley::http::request req;
  req.url = url;
  auto fut = net::co_spawn(ioc, c.fetch(req), net::use_future);
  ioc.run();
  auto r = fut.get();
  if (!r || r->status != 200) throw std::runtime_error("cannot read " + url);
  const std::regex line("(^|\n)" + std::regex_replace(name, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                        R"((\{[^}]*\})?\s+([0-9.eE+-]+))");
  std::smatch m;
  if (!std::regex_search(r->body, m, line)) throw std::runtime_error("no " + name + " on " + url);
  return std::stod(m[3]);
}

// ---- Parley: one WebSocket per conversation --------------------------------------------------

using ws_stream = websocket::stream<beast::tcp_stream>;

struct parley_conversation {
  std::string token;
  std::unique_ptr<ws_stream> ws;
};

net::awaitable<void> open_parley_conversation(const options& o, const parley::http::client& http, int index,
                                              parley_conversation& conv, run_state& st) {
  parley::http::request tok;
  tok.method = beast::http::verb::post;
  tok.url = "http://" + o.host + ":" + std::to_string(o.port) + "/token?name=bench" + std::to_string(index);
  auto t = co_await http.fetch(tok);
  if (!t || t->status != 200) {
    st.fail("POST /token failed");
    co_return;
  }
  conv.token = std::string(json::parse(t->body).as_object()["token"].as_string());
  conv.ws = std::make_unique<ws_stream>(co_await net::this_coro::executor);
  auto& low = beast::get_lowest_layer(*conv.ws);
  auto [cec] = co_await low.async_connect(tcp::endpoint(net::ip::make_address(o.host), o.port), use_tuple);
  if (cec) {
    st.fail("connect: " + cec.message());
    conv.ws.reset();
    co_return;
  }
  low.socket().set_option(tcp::no_delay(true));
  auto [hec] = co_await conv.ws->async_handshake(o.host + ":" + std::to_string(o.port), "/chat?token=" + conv.token,
                                                 use_tuple);
  if (hec) {
    st.fail("WebSocket upgrade: " + hec.message());
    conv.ws.reset();
    co_return;
  }
  beast::flat_buffer buf;
  auto [rec, rn] = co_await conv.ws->async_read(buf, use_tuple);  // `ready`
  if (rec) {
    st.fail("WebSocket ready: " + rec.message());
    conv.ws.reset();
    co_return;
  }
  conv.ws->text(true);
}

// The worker's extra reply_end fields (docs/worker.md): kept as the server's view of the reply.
void keep_server_fields(const json::object& frame, json::object& out) {
  for (const auto& [k, v] : frame) {
    if (v.is_number() && k != "seq") out[k] = v;
  }
}

// One frame out; false after a failure, recorded in `st`.
net::awaitable<bool> send_text(ws_stream& ws, const std::string& text, run_state& st) {
  auto [wec, wn] = co_await ws.async_write(net::buffer(text), use_tuple);
  if (wec) st.fail("send: " + wec.message());
  co_return !wec;
}

// The next frame in; nullopt after a read failure or an error frame, recorded in `st`.
net::awaitable<std::optional<json::object>> read_frame(ws_stream& ws, beast::flat_buffer& buf, run_state& st) {
  buf.clear();
  auto [rec, rn] = co_await ws.async_read(buf, use_tuple);
  if (rec) {
    st.fail("read: " + rec.message());
    co_return std::nullopt;
  }
  auto f = json::parse(beast::buffers_to_string(buf.data())).as_object();
  if (f["type"].as_string() == "error") {
    st.fail("error frame: " + json::serialize(f));
    co_return std::nullopt;
  }
  co_return f;
}

// Sends `frame` and reads until the reply it asked for ends (ack, then the first delta and the
// reply_end for the acked message). False after a failure, recorded in `st`.
net::awaitable<bool> parley_turn(ws_stream& ws, beast::flat_buffer& buf, const json::object& frame, turn_sample& s,
                                 run_state& st) {
  const std::string text = json::serialize(frame);
  const auto t0 = steady::now();
  s.sent_us = system_us();
  if (!co_await send_text(ws, text, st)) co_return false;
  std::string reply_to;
  bool first = true;
  while (true) {
    auto got = co_await read_frame(ws, buf, st);
    if (!got) co_return false;
    auto& f = *got;
    const auto type = f["type"].as_string();
    const bool mine = !reply_to.empty() && f.contains("reply_to") && f["reply_to"].as_string() == reply_to;
    if (type == "ack") {
      s.ack_ms = ms_since(t0);
      reply_to = f["id"].as_string();
    } else if (type == "delta" && first && mine) {
      s.ttft_ms = ms_since(t0);
      first = false;
    } else if (type == "reply_end" && mine) {
      s.ttlt_ms = ms_since(t0);
      s.delivered_us = system_us();
      if (first) s.ttft_ms = s.ttlt_ms;
      keep_server_fields(f, s.server);
      s.server["message_id"] = f["message_id"];
      s.server["reply_to"] = f["reply_to"];
      co_return true;
    }
  }
}

std::string switch_frame(const std::string& message_id, int version) {
  return json::serialize(json::object{{"type", "switch"}, {"message_id", message_id}, {"version", version}});
}

net::awaitable<bool> parley_switch(ws_stream& ws, beast::flat_buffer& buf, const std::string& message_id, int version,
                                   run_state& st) {
  const std::string text = switch_frame(message_id, version);
  if (!co_await send_text(ws, text, st)) co_return false;
  while (true) {
    auto got = co_await read_frame(ws, buf, st);
    if (!got) co_return false;
    if ((*got)["type"].as_string() == "branch") co_return true;
  }
}

// Frames are built outside the coroutines: g++ 12 miscompiles a braced json::object in one.
json::object version_frame(std::string_view type, std::string_view message_id, std::string_view text = {}) {
  json::object f{{"type", type}, {"message_id", message_id}};
  if (!text.empty()) f["text"] = text;
  return f;
}

json::object message_frame(const options& o, int conversation, int turn) {
  return json::object{{"type", "message"}, {"text", user_message(o, conversation, turn)}};
}

net::awaitable<void> run_parley_conversation(const options& o, int index, parley_conversation& conv,
                                             run_state& st) {
  auto& ws = *conv.ws;
  beast::flat_buffer buf;
  for (int turn = 1; turn <= o.turns; ++turn) {
    turn_sample s;
    s.conversation = index;
    s.turn = turn;
    const auto frame = message_frame(o, index, turn);
    if (!co_await parley_turn(ws, buf, frame, s, st)) co_return;
    st.samples.push_back(std::move(s));
  }
  co_await ws.async_close(websocket::close_code::normal, use_tuple);
}

net::awaitable<void> run_versions_conversation(const options& o, int index, parley_conversation& conv,
                                               run_state& st) {
  auto& ws = *conv.ws;
  beast::flat_buffer buf;
  auto message = [&](int turn) { return message_frame(o, index, turn); };
  int turn = 1;
  for (; turn <= o.turns; ++turn) {
    turn_sample warm;
    if (!co_await parley_turn(ws, buf, message(turn), warm, st)) co_return;
  }
  for (int round = 0; round < o.rounds; ++round, ++turn) {
    turn_sample fresh;
    fresh.kind = "fresh";
    fresh.conversation = index;
    fresh.turn = turn;
    if (!co_await parley_turn(ws, buf, message(turn), fresh, st)) co_return;
    const std::string asked = std::string(fresh.server["reply_to"].as_string());
    const std::string first_reply = std::string(fresh.server["message_id"].as_string());
    st.samples.push_back(fresh);

    turn_sample regen = fresh;
    regen.kind = "regenerate";
    regen.server = {};
    const auto regen_frame = version_frame("regenerate", first_reply);
    if (!co_await parley_turn(ws, buf, regen_frame, regen, st)) co_return;
    st.samples.push_back(regen);

    turn_sample edit = fresh;
    edit.kind = "edit";
    edit.server = {};
    const auto edit_frame = version_frame("edit", asked, user_message(o, index, turn + 1000));
    if (!co_await parley_turn(ws, buf, edit_frame, edit, st)) co_return;
    st.samples.push_back(edit);

    // Back to the first version of the message (and the newest reply under it), then on from there.
    if (!co_await parley_switch(ws, buf, asked, 1, st)) co_return;
    ++turn;
    turn_sample back;
    back.kind = "switched_back";
    back.conversation = index;
    back.turn = turn;
    if (!co_await parley_turn(ws, buf, message(turn), back, st)) co_return;
    st.samples.push_back(back);
  }
  co_await ws.async_close(websocket::close_code::normal, use_tuple);
}

// ---- llama-server: /completion with the transcript -------------------------------------------

struct prompt_source {
  std::unique_ptr<llama_model, decltype(&llama_model_free)> model{nullptr, llama_model_free};
  std::unique_ptr<pw::local::prompt_builder> builder;
  std::vector<std::string> stops;
  int budget = 0;
};

prompt_source load_prompt_source(const options& o) {
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_backend_init();
  auto params = llama_model_default_params();
  params.vocab_only = true;
  prompt_source p;
  p.model.reset(llama_model_load_from_file(o.model.c_str(), params));
  if (!p.model) throw std::runtime_error("cannot load the vocabulary of " + o.model);
  p.builder = std::make_unique<pw::local::prompt_builder>(p.model.get(), o.chat_template);
  p.stops = p.builder->stop_strings();
  p.stops.insert(p.stops.end(), o.sampling.stop.begin(), o.sampling.stop.end());
  p.budget = o.ctx_size - o.reply_budget;
  return p;
}

// llama-server's request for the conversation so far: Parley's prompt, its sampling settings
// (top-k, top-p, temperature: the chain the local backend builds) and a forced reply length.
std::string completion_body(const options& o, const prompt_source& p, const std::vector<pw::chat_turn>& history) {
  auto built = p.builder->build(o.system_prompt, history, p.budget, o.trim_turns);
  if (!built) throw std::runtime_error("prompt: " + built.error().message());
  auto text = p.builder->render(o.system_prompt, std::span(history).subspan(built->dropped_turns));
  if (!text) throw std::runtime_error("prompt: " + text.error().message());
  json::array stops;
  for (const auto& s : p.stops) stops.emplace_back(s);
  json::object body{{"prompt", *text},
                    {"n_predict", o.reply_tokens},
                    {"stream", true},
                    {"cache_prompt", true},
                    {"ignore_eos", true},
                    {"stop", std::move(stops)},
                    {"temperature", o.sampling.temperature},
                    {"top_k", o.sampling.top_k},
                    {"top_p", o.sampling.top_p},
                    {"samplers", json::array{"top_k", "top_p", "temperature"}}};
  if (o.sampling.temperature <= 0.0f) body["samplers"] = json::array{};
  return json::serialize(body);
}

net::awaitable<void> run_llama_conversation(const options& o, const parley::http::client& http,
                                            const prompt_source& p, int index, run_state& st) {
  std::vector<pw::chat_turn> history;
  for (int turn = 1; turn <= o.turns; ++turn) {
    history.push_back({pw::chat_turn::role::user, user_message(o, index, turn)});
    parley::http::request req;
    req.method = beast::http::verb::post;
    req.url = o.llama_url + "/completion";
    req.headers = {{"Content-Type", "application/json"}};
    req.body = completion_body(o, p, history);
    turn_sample s;
    s.conversation = index;
    s.turn = turn;
    const auto t0 = steady::now();
    s.sent_us = system_us();
    auto stream = co_await http.open(std::move(req));
    if (!stream || stream->status() != 200) {
      st.fail(stream ? "llama-server answered " + std::to_string(stream->status()) : stream.error().message());
      co_return;
    }
    parley::http::sse_parser parser;
    std::vector<parley::http::sse_event> events;
    std::string reply;
    bool first = true;
    bool done = false;
    bool failed = false;
    char chunk[8192];
    while (!done) {
      auto n = co_await stream->read_some(chunk);
      if (!n || *n == 0) {
        st.fail("llama-server stream ended early: " + (n ? std::string("connection closed") : n.error().message()));
        co_return;
      }
      events.clear();
      if (!parser.feed(std::string_view(chunk, *n), events)) {
        st.fail("bad event stream");
        co_return;
      }
      for (const auto& e : events) {
        auto v = json::parse(e.data).as_object();
        if (const auto* error = v.if_contains("error")) {
          // llama-server ends the stream with an error event when its output parser rejects the
          // text (random-weight models make such text). The turn is an error; the conversation
          // goes on with what arrived, as a person would.
          st.fail("llama-server: " + json::serialize(*error));
          failed = true;
          done = true;
          break;
        }
        const auto* content = v.if_contains("content");
        if (content && content->is_string() && !content->get_string().empty()) {
          if (first) s.ttft_ms = ms_since(t0);
          first = false;
          reply += content->get_string();
        }
        if (const auto* stop = v.if_contains("stop"); stop && stop->is_bool() && stop->get_bool()) {
          s.ttlt_ms = ms_since(t0);
          s.delivered_us = system_us();
          if (first) s.ttft_ms = s.ttlt_ms;
          if (const auto* n_pred = v.if_contains("tokens_predicted")) s.server["generated_tokens"] = *n_pred;
          if (const auto* timings = v.if_contains("timings"); timings && timings->is_object()) {
            for (const auto& [k, t] : timings->get_object()) s.server[k] = t;
          }
          done = true;
        }
      }
    }
    history.push_back({pw::chat_turn::role::assistant, std::move(reply)});
    if (!failed) st.samples.push_back(std::move(s));
  }
}

// ---- results ---------------------------------------------------------------------------------

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::ranges::sort(v);
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

void add_percentiles(json::object& out, const std::string& prefix, const std::vector<double>& v) {
  out[prefix + "p50_ms"] = percentile(v, 0.50);
  out[prefix + "p99_ms"] = percentile(v, 0.99);
}

// Per-stage latencies from the worker's timestamps in reply_end (docs/worker.md), each from the
// previous mark: sent -> taken up by a worker -> prompt handed to the model -> first token ->
// last token -> reply_end written -> delivered to this client. "model" is prompt handed to the
// model -> last token; "pipeline" is the client's time to the end of the reply minus that.
void add_stages(json::object& out, const std::vector<turn_sample>& samples) {
  static const std::pair<const char*, const char*> marks[] = {{"read_us", "to_worker"},
                                                              {"prompt_us", "prepare"},
                                                              {"first_token_us", "first_token"},
                                                              {"last_token_us", "generate"},
                                                              {"end_us", "finish"}};
  std::vector<std::vector<double>> stage(std::size(marks) + 1);
  std::vector<double> model_ms, pipeline_ms;
  for (const auto& s : samples) {
    long long prev = s.sent_us;
    bool complete = true;
    for (std::size_t i = 0; i < std::size(marks); ++i) {
      const auto* v = s.server.if_contains(marks[i].first);
      if (!v || !v->is_int64()) {
        complete = false;
        break;
      }
      stage[i].push_back(static_cast<double>(v->get_int64() - prev) / 1000.0);
      prev = v->get_int64();
    }
    if (!complete) continue;
    stage.back().push_back(static_cast<double>(s.delivered_us - prev) / 1000.0);
    const double model = static_cast<double>(s.server.at("last_token_us").as_int64() -
                                              s.server.at("prompt_us").as_int64()) / 1000.0;
    model_ms.push_back(model);
    pipeline_ms.push_back(s.ttlt_ms - model);
  }
  if (stage.back().empty()) return;
  json::object stages;
  for (std::size_t i = 0; i <= std::size(marks); ++i) {
    json::object p;
    add_percentiles(p, "", stage[i]);
    stages[i < std::size(marks) ? marks[i].second : "deliver"] = std::move(p);
  }
  json::object model, pipeline;
  add_percentiles(model, "", model_ms);
  add_percentiles(pipeline, "", pipeline_ms);
  stages["model"] = std::move(model);
  stages["pipeline"] = std::move(pipeline);
  out["stages"] = std::move(stages);
}

json::object summarize(const options& o, const run_state& st, double seconds, std::optional<double> tokens) {
  std::vector<double> ttft, ttlt, ack;
  for (const auto& s : st.samples) {
    ttft.push_back(s.ttft_ms);
    ttlt.push_back(s.ttlt_ms);
    if (s.ack_ms >= 0) ack.push_back(s.ack_ms);
  }
  json::object out{{"target", o.target},
                   {"conversations", o.conversations},
                   {"turns", o.turns},
                   {"replies", st.samples.size()},
                   {"errors", st.errors},
                   {"seconds", seconds},
                   {"replies_per_s", static_cast<double>(st.samples.size()) / seconds}};
  if (!st.first_error.empty()) out["first_error"] = st.first_error;
  if (tokens) {
    out["tokens"] = *tokens;
    out["tokens_per_reply"] = st.samples.empty() ? 0.0 : *tokens / static_cast<double>(st.samples.size());
  }
  add_percentiles(out, "ttft_", ttft);
  add_percentiles(out, "ttlt_", ttlt);
  if (!ack.empty()) add_percentiles(out, "ack_", ack);
  if (o.scenario == "versions") {
    json::object kinds;
    for (const char* kind : {"fresh", "regenerate", "edit", "switched_back"}) {
      std::vector<double> k_ttft;
      double prompt = 0, cached = 0;
      for (const auto& s : st.samples) {
        if (s.kind != kind) continue;
        k_ttft.push_back(s.ttft_ms);
        if (const auto* p = s.server.if_contains("prompt_tokens"); p && p->is_int64()) prompt += p->get_int64();
        if (const auto* c = s.server.if_contains("cached_tokens"); c && c->is_int64()) cached += c->get_int64();
      }
      if (k_ttft.empty()) continue;
      const double n = static_cast<double>(k_ttft.size());
      json::object k{{"replies", k_ttft.size()}, {"prompt_tokens", prompt / n}, {"cached_tokens", cached / n},
                     {"prefilled_tokens", (prompt - cached) / n}};
      add_percentiles(k, "ttft_", k_ttft);
      kinds[kind] = std::move(k);
    }
    out["kinds"] = std::move(kinds);
  }
  add_stages(out, st.samples);
  if (o.per_turn) {
    std::vector<const turn_sample*> order;
    for (const auto& s : st.samples) order.push_back(&s);
    std::ranges::sort(order, {}, [](const turn_sample* s) { return std::pair{s->conversation, s->turn}; });
    json::array turns;
    for (const auto* s : order) {
      json::object t{{"conversation", s->conversation}, {"turn", s->turn}, {"ttft_ms", s->ttft_ms},
                     {"ttlt_ms", s->ttlt_ms}};
      for (const auto& [k, v] : s->server) t[k] = v;
      turns.push_back(std::move(t));
    }
    out["per_turn"] = std::move(turns);
  }
  return out;
}

// Runs `make(i)` for i in [0, n) with at most `width` of them in flight.
template <class Make>
void run_bounded(net::io_context& ioc, int n, int width, Make make) {
  auto next = std::make_shared<int>(0);
  auto lane = [&ioc, n, next, make]() -> net::awaitable<void> {
    while (*next < n) co_await make((*next)++);
  };
  for (int i = 0; i < std::min(n, width); ++i) net::co_spawn(ioc, lane(), [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  ioc.run();
  ioc.restart();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"parley-bench-e2e: closed-loop conversations through Parley or llama-server"};
  options o;
  app.add_option("--target", o.target, "parley or llama")->required()->check(CLI::IsMember({"parley", "llama"}));
  app.add_option("--host", o.host, "gateway address")->capture_default_str();
  app.add_option("--port", o.port, "gateway port")->capture_default_str();
  app.add_option("--llama-url", o.llama_url, "llama-server base URL")->capture_default_str();
  app.add_option("--conversations", o.conversations, "conversations at once")->capture_default_str();
  app.add_option("--turns", o.turns, "messages per conversation, each after the previous reply")
      ->capture_default_str();
  app.add_flag("--per-turn", o.per_turn, "print every turn's times");
  app.add_option("--run-id", o.run_id, "text that starts every message (unique per run)")->capture_default_str();
  app.add_option("--model", o.model, "llama: GGUF file whose vocabulary and template build the prompts");
  app.add_option("--reply-tokens", o.reply_tokens, "llama: n_predict (Parley's is the worker's MAX_NEW_TOKENS)")
      ->capture_default_str();
  app.add_option("--ctx-size", o.ctx_size, "llama: the worker's CTX_SIZE (context per session)")->capture_default_str();
  app.add_option("--reply-budget", o.reply_budget, "llama: the worker's REPLY_BUDGET")->capture_default_str();
  app.add_option("--trim-turns", o.trim_turns, "llama: the worker's TRIM_TURNS")->capture_default_str();
  app.add_option("--system-prompt", o.system_prompt, "llama: the worker's SYSTEM_PROMPT")->capture_default_str();
  app.add_option("--count-metric", o.count_metric, "URL NAME: a counter of generated tokens on the server")
      ->expected(2);
  app.add_option("--setup-concurrency", o.setup_concurrency, "Parley: sessions opened at once before the run")
      ->capture_default_str();
  app.add_option("--scenario", o.scenario, "chat, or versions (Parley only; see the header)")
      ->check(CLI::IsMember({"chat", "versions"}))
      ->capture_default_str();
  app.add_option("--rounds", o.rounds, "versions: rounds of fresh / regenerate / edit / switch back")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (o.scenario == "versions" && o.target != "parley") {
    std::cerr << "--scenario versions needs --target parley\n";
    return 2;
  }
  if (o.target == "llama" && o.model.empty()) {
    std::cerr << "--target llama needs --model\n";
    return 2;
  }

  try {
    parley::http::client_options copts;
    // A closed-loop conversation may wait minutes in a server's queue before its first byte.
    copts.read_timeout = std::chrono::hours(2);
    auto http = parley::http::client::create(copts).value();
    std::optional<double> tokens_before;
    if (!o.count_metric.empty()) tokens_before = read_counter(http, o.count_metric[0], o.count_metric[1]);

    net::io_context ioc(1);
    run_state st;
    std::vector<parley_conversation> convs(static_cast<std::size_t>(o.conversations));
    std::optional<prompt_source> prompts;
    if (o.target == "parley") {
      run_bounded(ioc, o.conversations, o.setup_concurrency,
                  [&](int i) { return open_parley_conversation(o, http, i, convs[i], st); });
      if (st.errors > 0) throw std::runtime_error("setup: " + st.first_error);
    } else {
      prompts.emplace(load_prompt_source(o));
    }

    const auto start = steady::now();
    for (int i = 0; i < o.conversations; ++i) {
      auto task = o.target != "parley"      ? run_llama_conversation(o, http, *prompts, i, st)
                  : o.scenario == "versions" ? run_versions_conversation(o, i, convs[i], st)
                                             : run_parley_conversation(o, i, convs[i], st);
      net::co_spawn(ioc, std::move(task), [&st](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& ex) {
          st.fail(ex.what());
        }
      });
    }
    ioc.run();
    const double seconds = std::chrono::duration<double>(steady::now() - start).count();
    std::optional<double> tokens;
    if (tokens_before) tokens = read_counter(http, o.count_metric[0], o.count_metric[1]) - *tokens_before;
    std::cout << json::serialize(summarize(o, st, seconds, tokens)) << std::endl;
    return st.errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "parley-bench-e2e: " << e.what() << "\n";
    return 1;
  }
}

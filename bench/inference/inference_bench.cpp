// Inference benchmark of the local llama.cpp backend, run next to llama.cpp's own
// llama-batched-bench on the same model file and thread count in the same process run:
//  (1) aggregate generated tokens/s with 1, 2, 4, 8 concurrent sessions through llama_backend
//      (continuous batching, sampling, detokenizing, streaming to a coroutine), against
//      llama-batched-bench decoding the same prompt and reply sizes, as a ratio;
//  (2) time to first token of turn 1 and turn 10 of one conversation, KV-cache reuse on and off.
// Prints a markdown table with the exact command lines.
#include <parley/worker/local/llama_backend.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fmt/format.h>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace net = boost::asio;
using namespace parley::worker;
using parley::worker::local::llama_backend;
using parley::worker::local::llama_config;

struct bench_options {
  std::string model;
  std::string batched_bench;  // path of llama-batched-bench; empty: skip the reference
  int threads = 2;
  int ctx_per_session = 512;
  std::vector<int> sessions{1, 2, 4, 8};
  int prompt_words = 24;
  int gen_tokens = 128;
  int turns = 10;
  int reply_tokens = 32;
  // Best of this many runs, for Parley and llama-batched-bench alike: the machine is shared,
  // and the best run is the one least disturbed by others.
  int repeat = 3;
  std::string command_line;
};

struct throughput_row {
  int sessions = 0;
  int prompt_tokens = 0;  // per session
  int generated = 0;
  double seconds = 0;
};

std::string words(int n, int salt) {
  static const char* vocabulary[] = {"the", "cat", "sat", "on", "a", "mat", "and", "dog", "ran",
                                     "to", "big", "red", "house", "in", "town", "with", "friends"};
  std::string s;
  for (int i = 0; i < n; ++i) {
    if (i) s += ' ';
    s += vocabulary[(i * 7 + salt) % std::size(vocabulary)];
  }
  return s;
}

double metric(const backend& b, const std::string& name) {
  std::string text;
  b.write_metrics(text);
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(name + " ")) return std::stod(line.substr(name.size() + 1));
  }
  return 0;
}

llama_config base_config(const bench_options& o, int parallel, bool reuse) {
  llama_config c;
  c.model_path = o.model;
  c.n_ctx = o.ctx_per_session;
  c.n_parallel = parallel;
  c.n_batch = 512;
  c.prefill_chunk = 512;
  c.threads = o.threads;
  c.reply_budget = std::max(o.gen_tokens, o.reply_tokens);
  c.kv_reuse = reuse;
  c.ignore_eos = true;
  return c;
}

generation_request request(std::string session, std::vector<chat_turn> history, int max_new) {
  generation_request r;
  r.session = std::move(session);
  r.history = std::move(history);
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = max_new;
  r.sampling.seed = 1;
  return r;
}

// Runs `reqs` concurrently on one io_context; returns the wall time and results.
std::pair<double, std::vector<generation_result>> run_concurrently(
    backend& b, std::vector<generation_request> reqs) {
  net::io_context io;
  std::vector<generation_result> results(reqs.size());
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < reqs.size(); ++i) {
    net::co_spawn(
        io,
        [&b, &results, i, r = std::move(reqs[i])]() mutable -> net::awaitable<void> {
          auto out = co_await b.generate(std::move(r), [](std::string_view) {}, {});
          if (!out) throw std::runtime_error(out.error().message());
          results[i] = std::move(*out);
        },
        net::detached);
  }
  io.run();
  return {std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
          std::move(results)};
}

std::vector<throughput_row> run_throughput(const bench_options& o) {
  const int max_sessions = *std::max_element(o.sessions.begin(), o.sessions.end());
  auto loaded = llama_backend::load(base_config(o, max_sessions, true));
  if (!loaded) throw std::runtime_error("cannot load " + o.model + ": " + loaded.error().message());
  auto& b = **loaded;
  run_concurrently(b, {request("warmup", {{chat_turn::role::user, "hello"}}, 8)});

  std::vector<throughput_row> rows;
  int round = 0;
  for (int n : o.sessions) {
    ++round;
    std::vector<generation_request> reqs;
    for (int i = 0; i < n; ++i) {
      reqs.push_back(request(fmt::format("tp-{}-{}", round, i),
                             {{chat_turn::role::user, words(o.prompt_words, i)}}, o.gen_tokens));
    }
    throughput_row best{.sessions = n};
    for (int rep = 0; rep < o.repeat; ++rep) {
      std::vector<generation_request> run = reqs;
      for (auto& r : run) r.session += fmt::format("-{}", rep);
      auto [seconds, results] = run_concurrently(b, std::move(run));
      throughput_row row{.sessions = n, .seconds = seconds};
      for (const auto& r : results) {
        row.generated += r.generated_tokens;
        row.prompt_tokens = std::max(row.prompt_tokens, r.prompt_tokens);
      }
      if (best.seconds == 0 || row.generated / row.seconds > best.generated / best.seconds) best = row;
    }
    rows.push_back(best);
  }
  return rows;
}

struct ttft_row {
  bool reuse = false;
  std::vector<double> ttft_ms;  // per turn
  int last_prompt_tokens = 0;
  int last_cached_tokens = 0;
};

ttft_row run_conversation(const bench_options& o, bool reuse) {
  auto loaded = llama_backend::load(base_config(o, 1, reuse));
  if (!loaded) throw std::runtime_error("cannot load " + o.model);
  auto& b = **loaded;
  // The first decode of a new context allocates its compute graph; keep that out of turn 1.
  run_concurrently(b, {request("warmup", {{chat_turn::role::user, "hello"}}, 4)});
  ttft_row row;
  row.reuse = reuse;
  std::vector<chat_turn> history;
  const std::string ttft_sum = "parley_llama_time_to_first_token_seconds_sum";
  for (int turn = 1; turn <= o.turns; ++turn) {
    history.push_back({chat_turn::role::user, words(o.prompt_words, turn)});
    const double before = metric(b, ttft_sum);
    auto [seconds, results] =
        run_concurrently(b, {request("conversation", history, o.reply_tokens)});
    row.ttft_ms.push_back((metric(b, ttft_sum) - before) * 1000);
    row.last_prompt_tokens = results[0].prompt_tokens;
    row.last_cached_tokens = results[0].cached_tokens;
    history.push_back({chat_turn::role::assistant, results[0].text});
  }
  return row;
}

struct reference_row {
  double speed_gen = 0;  // pl*tg / (t_pp + t_tg): generated tokens per second of the whole run
  double speed_tg = 0;   // pl*tg / t_tg
};

std::string reference_command(const bench_options& o, int prompt_tokens) {
  std::string npl;
  for (int n : o.sessions) npl += (npl.empty() ? "" : ",") + std::to_string(n);
  const int max_sessions = *std::max_element(o.sessions.begin(), o.sessions.end());
  return fmt::format(
      "{} -m {} -c {} -b 512 -ub 512 -t {} -tb {} -npp {} -ntg {} -npl {} --output-format jsonl",
      o.batched_bench, o.model, o.ctx_per_session * max_sessions, o.threads, o.threads,
      prompt_tokens, o.gen_tokens, npl);
}

std::map<int, reference_row> run_reference(const std::string& command) {
  std::map<int, reference_row> rows;
  FILE* pipe = ::popen((command + " 2>/dev/null").c_str(), "r");
  if (pipe == nullptr) return rows;
  char buf[4096];
  while (std::fgets(buf, sizeof buf, pipe) != nullptr) {
    std::string_view line(buf);
    if (!line.starts_with("{")) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    const auto& o = v.as_object();
    const int pl = static_cast<int>(o.at("pl").to_number<double>());
    const double tg = o.at("tg").to_number<double>();
    const double t = o.at("t").to_number<double>();
    auto& row = rows[pl];
    if (pl * tg / t > row.speed_gen) {
      row = {.speed_gen = pl * tg / t, .speed_tg = o.at("speed_tg").to_number<double>()};
    }
  }
  ::pclose(pipe);
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  CLI::App app{"Parley inference benchmark: llama_backend next to llama-batched-bench"};
  app.add_option("--model", o.model, "GGUF model")->required()->check(CLI::ExistingFile);
  app.add_option("--batched-bench", o.batched_bench, "llama-batched-bench binary (reference)");
  app.add_option("--threads", o.threads, "CPU threads for both")->capture_default_str();
  app.add_option("--ctx-size", o.ctx_per_session, "context per session (multiple of 256)")->capture_default_str();
  app.add_option("--sessions", o.sessions, "concurrent session counts")->delimiter(',')->capture_default_str();
  app.add_option("--prompt-words", o.prompt_words, "words in each user message")->capture_default_str();
  app.add_option("--gen-tokens", o.gen_tokens, "tokens generated per session (throughput)")->capture_default_str();
  app.add_option("--turns", o.turns, "conversation turns (TTFT)")->capture_default_str();
  app.add_option("--reply-tokens", o.reply_tokens, "tokens per reply (TTFT)")->capture_default_str();
  app.add_option("--repeat", o.repeat, "runs of each measurement; the best is reported")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  for (int i = 0; i < argc; ++i) o.command_line += (i ? " " : "") + std::string(argv[i]);
  spdlog::set_level(spdlog::level::err);

  try {
    const auto rows = run_throughput(o);
    const int prompt_tokens = rows.front().prompt_tokens;
    std::string ref_cmd;
    std::map<int, reference_row> ref;
    if (!o.batched_bench.empty()) {
      ref_cmd = reference_command(o, prompt_tokens);
      for (int rep = 0; rep < o.repeat; ++rep) {
        for (const auto& [pl, row] : run_reference(ref_cmd)) {
          if (row.speed_gen > ref[pl].speed_gen) ref[pl] = row;
        }
      }
    }
    const auto with_reuse = run_conversation(o, true);
    const auto without_reuse = run_conversation(o, false);

    std::printf("#### Generation throughput (%s, %d threads, prompt %d tokens, %d new tokens per session)\n\n",
                o.model.c_str(), o.threads, prompt_tokens, o.gen_tokens);
    std::printf("| sessions | Parley tok/s | llama-batched-bench tok/s | ratio | batched-bench TG-only tok/s |\n");
    std::printf("|---:|---:|---:|---:|---:|\n");
    for (const auto& r : rows) {
      const double ours = r.generated / r.seconds;
      if (auto it = ref.find(r.sessions); it != ref.end()) {
        std::printf("| %d | %.1f | %.1f | %.2f | %.1f |\n", r.sessions, ours, it->second.speed_gen,
                    ours / it->second.speed_gen, it->second.speed_tg);
      } else {
        std::printf("| %d | %.1f | - | - | - |\n", r.sessions, ours);
      }
    }
    std::printf("\nBoth columns count generated tokens over the whole run (prefill of the prompt "
                "included), best of %d runs each; the last column is llama-batched-bench's "
                "decode-only S_TG.\n\n", o.repeat);
    std::printf("#### Time to first token, one conversation of %d turns (%d-token replies)\n\n",
                o.turns, o.reply_tokens);
    std::printf("| KV reuse | turn 1 TTFT ms | turn %d TTFT ms | turn %d prompt tokens | of which reused |\n",
                o.turns, o.turns);
    std::printf("|---|---:|---:|---:|---:|\n");
    for (const auto* r : {&with_reuse, &without_reuse}) {
      std::printf("| %s | %.1f | %.1f | %d | %d |\n", r->reuse ? "on" : "off", r->ttft_ms.front(),
                  r->ttft_ms.back(), r->last_prompt_tokens, r->last_cached_tokens);
    }
    std::printf("\nCommands:\n\n    %s\n", o.command_line.c_str());
    if (!ref_cmd.empty()) std::printf("    %s\n", ref_cmd.c_str());
    std::printf("\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "inference bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

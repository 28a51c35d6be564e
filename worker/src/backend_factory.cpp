#include <parley/worker/backend_factory.hpp>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#ifdef PARLEY_HAVE_LLAMA
#include <parley/worker/local/llama_backend.hpp>
#endif
#ifdef PARLEY_HAVE_FETCH
#include <parley/worker/fetch/model_fetch.hpp>
#endif
#ifdef PARLEY_HAVE_REMOTE
#include <parley/worker/remote/hf_backend.hpp>
#include <parley/worker/remote/openai_backend.hpp>
#endif

namespace parley::worker {

struct backend_factory::options {
#ifdef PARLEY_HAVE_LLAMA
  local::llama_config llama;
#endif
#ifdef PARLEY_HAVE_FETCH
  fetch::fetch_config fetch;
#endif
#ifdef PARLEY_HAVE_REMOTE
  remote::openai_config openai;
  remote::hf_config hf;
#endif
};

backend_factory::backend_factory(CLI::App& app) : options_(std::make_unique<options>()) {
#ifdef PARLEY_HAVE_LLAMA
  local::register_options(app, options_->llama);
#endif
#ifdef PARLEY_HAVE_FETCH
  fetch::register_options(app, options_->fetch);
#endif
#ifdef PARLEY_HAVE_REMOTE
  remote::register_options(app, options_->openai);
  remote::register_options(app, options_->hf);
#endif
}

backend_factory::~backend_factory() = default;

std::unique_ptr<backend> backend_factory::create(const worker_config& cfg, std::string& error) {
#ifdef PARLEY_HAVE_LLAMA
  if (cfg.backend == "local") {
    auto& c = options_->llama;
    // Before a download: a bad setting should not cost one.
    if (auto why = local::validate(c)) {
      error = std::move(*why);
      return nullptr;
    }
#ifdef PARLEY_HAVE_FETCH
    // A path stays as it is; hf:OWNER/REPO/FILE is downloaded once into the cache.
    auto path = fetch::resolve_model_blocking(c.model_path, options_->fetch, &error);
    if (!path) {
      if (error.empty()) error = "MODEL=" + c.model_path + ": " + path.error().message();
      return nullptr;
    }
    c.model_path = path->string();
#else
    if (c.model_path.starts_with("hf:")) {
      error = "MODEL=" + c.model_path + ": hf: sources need the model download, which this build lacks; "
              "set MODEL to a local GGUF file";
      return nullptr;
    }
#endif
    if (c.n_parallel < cfg.max_concurrent_turns) {
      spdlog::warn("PARALLEL={} is below MAX_CONCURRENT_TURNS={}: extra turns wait for a free sequence",
                   c.n_parallel, cfg.max_concurrent_turns);
    }
    auto b = local::llama_backend::load(c);
    if (!b) {
      error = "loading model " + c.model_path + ": " + b.error().message();
      return nullptr;
    }
    return std::move(*b);
  }
#endif
#ifdef PARLEY_HAVE_REMOTE
  if (cfg.backend == "openai") {
    auto b = remote::openai_backend::create(options_->openai, &error);
    if (!b) return nullptr;
    return std::move(*b);
  }
  if (cfg.backend == "hf") {
    auto b = remote::hf_backend::create(options_->hf, &error);
    if (!b) return nullptr;
    return std::move(*b);
  }
#endif
  error = "MODEL_BACKEND=" + cfg.backend + " is not built into this binary";
  return nullptr;
}

}  // namespace parley::worker

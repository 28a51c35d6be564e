#pragma once
// Composes the model backends built into this binary (local llama.cpp, openai, hf): registers
// each one's flags and builds the one MODEL_BACKEND names. Compiled into parley-worker only
// (src/backend_factory.cpp), since which backends exist depends on the build.
#include <parley/worker/backend.hpp>
#include <parley/worker/config.hpp>

#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace parley::worker {

class backend_factory {
 public:
  // Registers the options of every built backend on `app` (after the worker's own, so shared
  // flags like --temperature stay the worker's).
  explicit backend_factory(CLI::App& app);
  ~backend_factory();

  // Builds (and for the local backend, loads) the backend `cfg.backend` names. Blocking: call
  // before the io_context runs. On failure returns nullptr with a one-line reason in `error`.
  std::unique_ptr<backend> create(const worker_config& cfg, std::string& error);

 private:
  struct options;
  std::unique_ptr<options> options_;
};

}  // namespace parley::worker

#pragma once
// Glue between callers on any executor and state confined to a strand: a move-only callable that
// owns an Asio completion handler and, when invoked on the strand, posts the result to the
// handler's own executor (keeping it alive with a work guard meanwhile).
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

#include <memory>
#include <tuple>
#include <utility>

namespace parley::redis::detail {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
 public:
  unique_function() = default;
  template <class F>
  unique_function(F f) : impl_(std::make_unique<model<F>>(std::move(f))) {}  // NOLINT: implicit by design
  R operator()(Args... args) { return impl_->call(std::forward<Args>(args)...); }
  explicit operator bool() const noexcept { return static_cast<bool>(impl_); }

 private:
  struct concept_t {
    virtual ~concept_t() = default;
    virtual R call(Args... args) = 0;
  };
  template <class F>
  struct model final : concept_t {
    explicit model(F f) : fn(std::move(f)) {}
    R call(Args... args) override { return fn(std::forward<Args>(args)...); }
    F fn;
  };
  std::unique_ptr<concept_t> impl_;
};

// Wraps `handler` so that calling the result with `args...` (from any thread) runs the handler
// on its associated executor (falling back to `fallback`).
template <class... Args, class Handler, class Executor>
unique_function<void(Args...)> bind_completion(Handler handler, const Executor& fallback) {
  auto ex = boost::asio::get_associated_executor(handler, fallback);
  auto work = boost::asio::make_work_guard(ex);
  return [h = std::move(handler), w = std::move(work)](Args... args) mutable {
    auto target = w.get_executor();
    boost::asio::post(target, [h = std::move(h), w = std::move(w),
                               t = std::make_tuple(std::move(args)...)]() mutable {
      std::apply(h, std::move(t));
    });
  };
}

}  // namespace parley::redis::detail

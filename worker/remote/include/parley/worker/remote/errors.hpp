#pragma once
// Why a remote generation attempt failed, beyond the transport errors of parley::http (timeouts,
// refused connections, TLS verification), which pass through unchanged.
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace parley::worker::remote {

enum class errc {
  rate_limited = 1,      // 429 on every attempt
  upstream_unavailable,  // 5xx on every attempt
  upstream_rejected,     // another non-2xx status (bad key, unknown model, bad request): not retried
  upstream_error,        // the server answered with an error object instead of a reply
  broken_stream,         // the reply stream ended before [DONE] or a finish_reason
  malformed_response,    // a body or event that is not the documented JSON shape
  model_loading,         // the model was still loading when the loading wait ran out (hf)
};

const boost::system::error_category& remote_category() noexcept;

inline boost::system::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), remote_category()}; }

}  // namespace parley::worker::remote

template <>
struct boost::system::is_error_code_enum<parley::worker::remote::errc> : std::true_type {};

#include <parley/conversation_tree.hpp>
#include <parley/gateway/conversation_routes.hpp>
#include <parley/gateway/errors.hpp>
#include <parley/gateway/http_routes.hpp>
#include <parley/gateway/request_target.hpp>
#include <parley/token.hpp>
#include <parley/validation.hpp>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/file_body.hpp>
#include <boost/json.hpp>
#include <spdlog/spdlog.h>

namespace parley::gateway {

namespace json = boost::json;

namespace {

json::object name_error() { return {{"loc", "name"}, {"msg", "Enter a valid name"}}; }

http::response<http::string_body> storage_error(const boost::system::error_code& ec, const request& req) {
  return storage_error_response(ec, http::status::bad_request, req.version(), req.keep_alive());
}

http::response<http::string_body> method_not_allowed(const request& req, std::string_view allow) {
  auto res = error_response(http::status::method_not_allowed, error_text::method_not_allowed, req.version(), req.keep_alive());
  res.set(http::field::allow, allow);
  return res;
}

// Keeps the documented message fields of a stored history entry; nullopt for a corrupt entry.
std::optional<json::object> public_message(std::string_view entry) {
  boost::system::error_code ec;
  auto v = json::parse(entry, ec);
  if (ec || !v.is_object()) return std::nullopt;
  json::object out;
  for (auto key : {"id", "source", "msg", "timestamp", "reply_to", "stopped", "error", "finish"})
    if (auto* f = v.as_object().if_contains(key)) out[key] = *f;
  return out;
}

net::awaitable<http::response<http::string_body>> post_token(context& ctx, const request& req,
                                                             const request_target& target) {
  auto name = target.name;
  if (!name && !req.body().empty()) {
    boost::system::error_code ec;
    auto body = json::parse(req.body(), ec);
    if (ec || !body.is_object())
      co_return error_response(http::status::bad_request,
                               json::object{{"loc", "body"}, {"msg", "Expected a JSON object {\"name\": ...}"}},
                               req.version(), req.keep_alive());
    for (const auto& kv : body.as_object())
      if (kv.key() != "name")
        co_return error_response(http::status::bad_request,
                                 json::object{{"loc", kv.key()}, {"msg", "Unknown field '" + std::string(kv.key()) + "'"}},
                                 req.version(), req.keep_alive());
    if (auto* n = body.as_object().if_contains("name")) {
      if (!n->is_string()) co_return error_response(http::status::bad_request, name_error(), req.version(), req.keep_alive());
      name = std::string(n->as_string());
    }
  }
  if (!name) co_return error_response(http::status::bad_request, name_error(), req.version(), req.keep_alive());
  auto valid = validate_name(*name);
  if (!valid) co_return error_response(http::status::bad_request, name_error(), req.version(), req.keep_alive());
  auto s = co_await ctx.store.create(*valid);
  if (!s) co_return storage_error(s.error(), req);
  spdlog::info("session created for '{}'", s->name);
  ctx.metrics.session_created();
  co_return json_response(http::status::ok, snapshot_json(*s), req.version(), req.keep_alive());
}

net::awaitable<http::response<http::string_body>> get_refresh(context& ctx, const request& req,
                                                              const request_target& target) {
  const auto& token = target.token;
  if (!token || !is_token(*token))
    co_return error_response(http::status::bad_request, error_text::session_gone, req.version(), req.keep_alive());
  auto s = co_await ctx.store.load(*token, true);
  if (!s) co_return storage_error(s.error(), req);
  co_return json_response(http::status::ok, snapshot_json(*s), req.version(), req.keep_alive());
}

net::awaitable<http::response<http::string_body>> get_ready(context& ctx, const request& req) {
  redis::command ping{"PING"};
  auto r = co_await ctx.redis.exec(std::move(ping));
  const auto workers = ctx.queue.workers();
  if (r && !r->is_error() && workers < 0)
    co_return json_response(http::status::service_unavailable,
                            json::object{{"status", "unavailable"}, {"detail", "Starting: the request queue was not sampled yet"}},
                            req.version(), req.keep_alive());
  if (r && !r->is_error()) {
    // Ready either way: messages are accepted and queued with no worker alive. The count says
    // whether they will be answered soon.
    json::object body{{"status", "ready"}, {"workers", workers}};
    if (workers == 0) body["detail"] = "No worker is running: messages are queued until one starts";
    co_return json_response(http::status::ok, body, req.version(), req.keep_alive());
  }
  co_return json_response(http::status::service_unavailable,
                          json::object{{"status", "unavailable"}, {"detail", "Redis is unreachable"}}, req.version(),
                          req.keep_alive());
}

// Every response of handle_http leaves through here, so each is counted once, by its status.
template <class Body>
http::message_generator counted(context& ctx, http::response<Body>&& res) {
  ctx.metrics.http_response(res.result_int());
  return http::message_generator(std::move(res));
}

http::message_generator serve_static(context& ctx, const request& req, const std::string& path) {
  const bool head = req.method() == http::verb::head;
  // Extensionless paths are client-side routes of the single-page app when a browser asks.
  const bool wants_html = req[http::field::accept].find("text/html") != std::string_view::npos;
  auto file = ctx.files.resolve(path, wants_html);
  if (!file) {
    auto detail = ctx.files.available() ? error_text::not_found : "Not Found (the web client is not built: run `make web`)";
    return counted(ctx, error_response(http::status::not_found, detail, req.version(), req.keep_alive()));
  }
  const auto cache = file->immutable ? "public, max-age=31536000, immutable" : "no-cache";
  http::file_body::value_type body;
  boost::system::error_code ec;
  body.open(file->path.c_str(), beast::file_mode::scan, ec);
  if (ec) return counted(ctx, error_response(http::status::not_found, error_text::not_found, req.version(), req.keep_alive()));
  const auto size = body.size();
  // HEAD and GET carry the same headers; only GET has the body.
  auto with_headers = [&](auto&& res) {
    res.set(http::field::server, "parley-gateway");
    res.set(http::field::content_type, file->content_type);
    res.set(http::field::cache_control, cache);
    res.set("X-Content-Type-Options", "nosniff");
    res.content_length(size);
    res.keep_alive(req.keep_alive());
    return counted(ctx, std::move(res));
  };
  if (head) return with_headers(http::response<http::empty_body>{http::status::ok, req.version()});
  return with_headers(http::response<http::file_body>{std::piecewise_construct, std::make_tuple(std::move(body)),
                                                      std::make_tuple(http::status::ok, req.version())});
}

bool is_api_path(std::string_view p) {
  return p == "/test" || p == "/healthz" || p == "/readyz" || p == "/token" || p == "/refresh_token" || p == "/chat";
}

}  // namespace

json::object snapshot_json(const session_snapshot& s) {
  json::array messages;
  if (auto tree = history::tree::parse(s.history)) {
    // The active branch only; a message with other versions says which it is.
    for (auto i : tree->branch(tree->leaf(s.leaf))) {
      auto m = public_message(s.history[i]);
      if (!m) continue;
      if (const auto v = tree->version_of(i); v.versions > 1) {
        (*m)["version"] = v.version;
        (*m)["versions"] = v.versions;
      }
      messages.push_back(std::move(*m));
    }
  } else {
    // A corrupt entry (never written by Parley) hides only itself, as before versions.
    for (const auto& entry : s.history)
      if (auto m = public_message(entry)) messages.push_back(std::move(*m));
  }
  json::object out{{"token", s.token},
                   {"name", s.name},
                   {"session_start", s.session_start},
                   {"messages", std::move(messages)},
                   {"last_event_id", s.last_event_id}};
  if (!s.owner.empty()) out["title"] = s.title;
  return out;
}

http::response<http::string_body> json_response(http::status status, const json::value& body, unsigned version,
                                                bool keep_alive) {
  http::response<http::string_body> res{status, version};
  res.set(http::field::server, "parley-gateway");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(keep_alive);
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

http::response<http::string_body> error_response(http::status status, const json::value& detail, unsigned version,
                                                 bool keep_alive) {
  return json_response(status, json::object{{"detail", detail}}, version, keep_alive);
}

http::response<http::string_body> storage_error_response(const boost::system::error_code& ec,
                                                         http::status session_gone, unsigned version,
                                                         bool keep_alive) {
  if (ec == errc::session_not_found) return error_response(session_gone, error_text::session_gone, version, keep_alive);
  if (ec == errc::unavailable)
    return error_response(http::status::service_unavailable, error_text::storage_unavailable, version, keep_alive);
  spdlog::error("storage error: {}", ec.message());
  return error_response(http::status::internal_server_error, error_text::internal, version, keep_alive);
}

net::awaitable<http::message_generator> handle_http(context& ctx, request req) {
  const auto target = parse_request_target(req.target());
  if (!target)
    co_return counted(ctx, error_response(http::status::bad_request, error_text::malformed_target, req.version(), false));
  const std::string& path = target->path;
  const auto method = req.method();
  const auto origin = req[http::field::origin];
  const bool cors = !origin.empty() && ctx.origins.allows(origin, req[http::field::host]);

  if (!is_api_path(path) && !is_conversation_api_path(path)) {
    if (method != http::verb::get && method != http::verb::head)
      co_return counted(ctx, error_response(http::status::not_found, error_text::not_found, req.version(), req.keep_alive()));
    co_return serve_static(ctx, req, path);
  }

  http::response<http::string_body> res;
  if (method == http::verb::options) {
    res = http::response<http::string_body>{http::status::no_content, req.version()};
    res.set(http::field::server, "parley-gateway");
    res.set(http::field::access_control_allow_methods, "GET, POST, PATCH, DELETE, OPTIONS");
    res.set(http::field::access_control_allow_headers, "Content-Type, Authorization");
    res.set(http::field::access_control_max_age, "600");
    res.keep_alive(req.keep_alive());
  } else if (is_conversation_api_path(path)) {
    res = co_await handle_conversation_api(ctx, req, *target);
  } else if (path == "/test") {
    res = method == http::verb::get ? json_response(http::status::ok, json::object{{"msg", "API is Online"}}, req.version(), req.keep_alive())
                                    : method_not_allowed(req, "GET");
  } else if (path == "/healthz") {
    res = method == http::verb::get ? json_response(http::status::ok, json::object{{"status", "ok"}}, req.version(), req.keep_alive())
                                    : method_not_allowed(req, "GET");
  } else if (path == "/readyz") {
    // GCC 12 mis-destroys temporaries of a co_await inside ?:, hence the if statements.
    if (method == http::verb::get)
      res = co_await get_ready(ctx, req);
    else
      res = method_not_allowed(req, "GET");
  } else if (path == "/token") {
    if (method == http::verb::post)
      res = co_await post_token(ctx, req, *target);
    else
      res = method_not_allowed(req, "POST, OPTIONS");
  } else if (path == "/refresh_token") {
    if (method == http::verb::get)
      res = co_await get_refresh(ctx, req, *target);
    else
      res = method_not_allowed(req, "GET, OPTIONS");
  } else {  // /chat without an upgrade
    res = method == http::verb::get
              ? error_response(http::status::upgrade_required, "Use a WebSocket to /chat?token=...", req.version(), req.keep_alive())
              : method_not_allowed(req, "GET");
    if (method == http::verb::get) res.set(http::field::upgrade, "websocket");
  }
  if (cors) {
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::vary, "Origin");
  }
  co_return counted(ctx, std::move(res));
}

}  // namespace parley::gateway

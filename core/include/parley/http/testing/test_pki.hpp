#pragma once
// Test support (header-only, used by tests only): a throwaway certificate authority and a
// server certificate for "localhost" and 127.0.0.1 signed by it, made with the openssl CLI in
// a fresh temporary folder, so TLS tests verify a real chain without touching the system store.
#include <boost/asio/ssl/context.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

namespace parley::http::testing {

struct test_pki {
  std::filesystem::path dir;
  std::filesystem::path ca_cert;
  std::filesystem::path server_cert;
  std::filesystem::path server_key;

  // Generates everything under a new folder in the system temp dir. Throws if openssl fails.
  static test_pki create(const std::string& subject_alt_names = "DNS:localhost,IP:127.0.0.1") {
    namespace fs = std::filesystem;
    std::string tmpl = (fs::temp_directory_path() / "parley-pki-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    test_pki p{tmpl, fs::path(tmpl) / "ca.pem", fs::path(tmpl) / "server.pem", fs::path(tmpl) / "server.key"};
    std::ofstream(fs::path(tmpl) / "san.ext") << "subjectAltName=" << subject_alt_names << "\n";
    std::string d = tmpl;
    std::string cmd =
        "cd '" + d + "' && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj '/CN=Parley Test CA' && "
        "openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj '/CN=localhost' && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 "
        "-extfile san.ext";
    if (std::system(("(" + cmd + ") >/dev/null 2>&1").c_str()) != 0) throw std::runtime_error("openssl failed");
    return p;
  }

  std::shared_ptr<boost::asio::ssl::context> server_context() const {
    auto ctx = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_server);
    ctx->use_certificate_chain_file(server_cert.string());
    ctx->use_private_key_file(server_key.string(), boost::asio::ssl::context::pem);
    return ctx;
  }

  void remove() const {
    std::error_code ignored;
    std::filesystem::remove_all(dir, ignored);
  }
};

}  // namespace parley::http::testing

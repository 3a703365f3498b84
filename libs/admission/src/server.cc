#include "kubesync/admission/server.h"

#include <httplib.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "kubesync/admission/audit.h"

namespace kubesync::admission {
namespace {

using nlohmann::json;

// Bodies up to kMaxReviewBytes are answered; up to twice that they are read and denied with
// an AdmissionReview naming the limit (AnswerReviewBody); past that httplib answers 413
// without reading them.
constexpr std::size_t kMaxBodyBytes = 2 * kMaxReviewBytes;

std::string OpenSslError() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) {
    return "unknown OpenSSL error";
  }
  char buf[256];
  ERR_error_string_n(code, buf, sizeof(buf));
  return buf;
}

Result<std::string> ReadPemFile(const std::string& path, std::string_view what) {
  if (path.empty()) {
    return InvalidArgumentError("the webhook " + std::string(what) + " file is not set");
  }
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return InvalidArgumentError("the webhook " + std::string(what) + " file \"" + path + "\" does not exist");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in.is_open()) {
    return InvalidArgumentError("the webhook " + std::string(what) + " file \"" + path +
                                "\" cannot be opened");
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};

std::unique_ptr<BIO, BioDeleter> MemoryBio(const std::string& data) {
  return std::unique_ptr<BIO, BioDeleter>(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
}

// Checks up front what SSL_CTX would only report as a bare failure: each file exists, holds
// PEM of the right type, and the key belongs to the certificate.
Status CheckTlsFiles(const std::string& cert_file, const std::string& key_file) {
  KS_ASSIGN_OR_RETURN(std::string cert_pem, ReadPemFile(cert_file, "certificate"));
  KS_ASSIGN_OR_RETURN(std::string key_pem, ReadPemFile(key_file, "private key"));
  ERR_clear_error();
  auto cert_bio = MemoryBio(cert_pem);
  std::unique_ptr<X509, X509Deleter> cert(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return InvalidArgumentError("the webhook certificate file \"" + cert_file +
                                "\" holds no PEM certificate");
  }
  // A password callback that declines, so an encrypted key fails instead of prompting.
  auto no_password = [](char*, int, int, void*) { return 0; };
  auto key_bio = MemoryBio(key_pem);
  std::unique_ptr<EVP_PKEY, KeyDeleter> key(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_password, nullptr));
  if (!key) {
    ERR_clear_error();
    return InvalidArgumentError("the webhook private key file \"" + key_file +
                                "\" holds no unencrypted PEM private key");
  }
  if (X509_check_private_key(cert.get(), key.get()) != 1) {
    ERR_clear_error();
    return InvalidArgumentError("the webhook private key file \"" + key_file +
                                "\" does not match the certificate in \"" + cert_file + "\"");
  }
  return OkStatus();
}

void ReplyStatus(httplib::Response& res, int code, const std::string& reason, const std::string& message) {
  res.status = code;
  const json status = {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"},
                       {"reason", reason}, {"message", message}, {"code", code}};
  res.set_content(status.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

bool IsJsonContentType(std::string value) {
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  const std::string media = value.substr(0, value.find(';'));
  return media == "application/json";
}

}  // namespace

struct AuditWebhookServer::Impl {
  std::unique_ptr<httplib::SSLServer> server;
  std::thread serve_thread;
  std::atomic<bool> listen_returned{false};
  int port = 0;
};

AuditWebhookServer::AuditWebhookServer()
    : AuditWebhookServer(SystemClock::Get(),
                         log::Logger(log::LoggerOptions{.process_id = "controller"}, log::StdoutSink())) {}

AuditWebhookServer::AuditWebhookServer(const Clock& clock, log::Logger logger)
    : clock_(&clock), logger_(std::move(logger)) {}

AuditWebhookServer::~AuditWebhookServer() { Stop(); }

int AuditWebhookServer::port() const { return impl_ ? impl_->port : 0; }

Result<int> AuditWebhookServer::Start(const AuditWebhookOptions& options) {
  if (impl_) {
    return FailedPreconditionError("the audit webhook is already serving on port " +
                                   std::to_string(impl_->port));
  }
  KS_RETURN_IF_ERROR(CheckTlsFiles(options.cert_file, options.key_file));

  auto impl = std::make_unique<Impl>();
  const std::string cert_file = options.cert_file;
  const std::string key_file = options.key_file;
  impl->server = std::make_unique<httplib::SSLServer>([cert_file, key_file](SSL_CTX& ctx) {
    SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
    return SSL_CTX_use_certificate_chain_file(&ctx, cert_file.c_str()) == 1 &&
           SSL_CTX_use_PrivateKey_file(&ctx, key_file.c_str(), SSL_FILETYPE_PEM) == 1;
  });
  if (!impl->server->is_valid()) {
    return InvalidArgumentError("cannot load the webhook certificate \"" + cert_file + "\" and key \"" +
                                key_file + "\" into TLS: " + OpenSslError());
  }
  httplib::SSLServer& server = *impl->server;
  // httplib's default also sets SO_REUSEPORT, which would let a second webhook (a stale
  // controller) bind the same port and silently take half the calls; keep only SO_REUSEADDR.
  server.set_socket_options([](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  server.set_payload_max_length(kMaxBodyBytes);
  server.set_read_timeout(std::chrono::seconds(10));
  server.set_write_timeout(std::chrono::seconds(10));

  server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok", "text/plain; charset=utf-8");
  });
  server.Post("/mutate", [this](const httplib::Request& req, httplib::Response& res) {
    if (!IsJsonContentType(req.get_header_value("Content-Type"))) {
      logger_.Warn("admission review refused", {{"reason", "UnsupportedMediaType"}});
      return ReplyStatus(res, 415, "UnsupportedMediaType",
                         "the AdmissionReview must be sent as application/json, got \"" +
                             req.get_header_value("Content-Type") + "\"");
    }
    const ReviewReply reply = AnswerReviewBody(req.body, *clock_);
    if (reply.http_status != 200) {
      logger_.Warn(
          "admission review refused",
          {{"reason", reply.body.value("reason", "")}, {"error", reply.refusal}, {"object", reply.object}});
      res.status = reply.http_status;
      res.set_content(reply.body.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
      return;
    }
    const json& answer = reply.body;
    const json& response = answer["response"];
    if (!reply.refusal.empty()) {
      logger_.Warn("admission review refused", {{"uid", response["uid"]},
                                                {"reason", response["status"]["reason"]},
                                                {"error", reply.refusal},
                                                {"object", reply.object}});
    } else if (response.contains("warnings")) {
      logger_.Warn("admission review malformed",
                   {{"uid", response["uid"]}, {"object", reply.object}, {"warnings", response["warnings"]}});
    } else if (response.contains("patch")) {
      logger_.Debug("audit annotations set", {{"uid", response["uid"]}, {"object", reply.object}});
    }
    res.set_content(answer.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
  });
  server.set_exception_handler(
      [this](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        logger_.Error("admission review failed", {{"error", what}});
        ReplyStatus(res, 500, "InternalError", what);
      });

  int port = options.port;
  if (port == 0) {
    port = server.bind_to_any_port(options.bind_address);
    if (port <= 0) {
      return UnavailableError("cannot bind the audit webhook to " + options.bind_address);
    }
  } else if (!server.bind_to_port(options.bind_address, port)) {
    return UnavailableError("cannot bind the audit webhook to " + options.bind_address + ":" +
                            std::to_string(port));
  }
  impl->port = port;
  Impl* raw = impl.get();
  // The socket already listens (connections queue in the backlog) before this thread runs.
  impl->serve_thread = std::thread([raw] {
    raw->server->listen_after_bind();
    raw->listen_returned = true;
  });
  impl_ = std::move(impl);
  logger_.Info("audit webhook started", {{"address", options.bind_address}, {"port", port}});
  return port;
}

void AuditWebhookServer::Stop() {
  if (!impl_) {
    return;
  }
  // httplib's stop() is a no-op until listen_after_bind() has marked the server running;
  // wait for that (it is the thread's first step) so the stop is not lost.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!impl_->server->is_running() && !impl_->listen_returned &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  impl_->server->stop();
  impl_->serve_thread.join();
  logger_.Info("audit webhook stopped", {{"port", impl_->port}});
  impl_.reset();
}

}  // namespace kubesync::admission

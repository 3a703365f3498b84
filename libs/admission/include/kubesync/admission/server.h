// The HTTPS endpoint the API server calls for the audit mutating webhook (see audit.h):
//   POST /mutate   body: AdmissionReview (application/json) -> 200 AdmissionReview response
//                  (allowed false with a status for a review past kMaxReviewBytes or
//                  kMaxReviewDepth: see AnswerReviewBody), 400 when the body is not JSON
//                  or has no request.uid, 415 for another content type, 413 past twice
//                  kMaxReviewBytes
//   GET  /healthz  -> 200 "ok" (liveness/readiness probes)
// Served by cpp-httplib's SSLServer on its own threads; the API server only talks TLS to
// webhooks, so there is no plain-HTTP mode.
#pragma once

#include <memory>
#include <string>

#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/core/status.h"

namespace kubesync::admission {

struct AuditWebhookOptions {
  // Loopback unless told otherwise: in a pod behind a Service, pass the pod address or
  // "0.0.0.0" (the controller's --webhook-bind).
  std::string bind_address = "127.0.0.1";
  int port = 9443;        // 0: any free port; Start() reports the one bound
  std::string cert_file;  // PEM certificate (chain) presented to the API server
  std::string key_file;   // PEM private key of that certificate, unencrypted
};

class AuditWebhookServer {
 public:
  // Real clock, JSON logs to stdout with process id "controller".
  AuditWebhookServer();
  // `clock` must outlive the server.
  AuditWebhookServer(const Clock& clock, log::Logger logger);
  AuditWebhookServer(const AuditWebhookServer&) = delete;
  AuditWebhookServer& operator=(const AuditWebhookServer&) = delete;
  ~AuditWebhookServer();  // Stop()s

  // Loads and checks the certificate and key, binds and starts serving; returns the port.
  // Errors: kInvalidArgument naming the file for a missing, unreadable or non-PEM
  // certificate or key, or a key that does not belong to the certificate;
  // kUnavailable when the address cannot be bound; kFailedPrecondition when already started.
  Result<int> Start(const AuditWebhookOptions& options);
  // Stops accepting, finishes in-flight requests and joins the serving thread. Idempotent;
  // the server can be started again afterwards.
  void Stop();

  // The bound port while running, 0 otherwise.
  int port() const;

 private:
  struct Impl;
  const Clock* clock_;
  log::Logger logger_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kubesync::admission

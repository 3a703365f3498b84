// kube-emulator: a Kubernetes API server stand-in for kubesync's tests (see
// ../shared/KUBE_API.md and tests/emulator/README.md for the command line).
#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "kubesync/core/log.h"
#include "server.h"

int main(int argc, char** argv) {
  using kubesync::emulator::Options;
  Options o;
  CLI::App app{"kube-emulator: Kubernetes API server emulator"};
  app.add_option("--bind", o.bind, "address to listen on");
  app.add_option("--port", o.port, "port (0 = pick a free one)");
  app.add_option("--port-file", o.port_file, "write the port here once listening");
  app.add_option("--data-dir", o.data_dir, "persist objects here");
  app.add_option("--token-file", o.token_file, "lines: token,user,role (admin|reader)");
  app.add_option("--tls-cert-file", o.tls_cert_file, "server certificate (PEM)");
  app.add_option("--tls-private-key-file", o.tls_key_file, "server key (PEM)");
  app.add_option("--client-ca-file", o.client_ca_file, "CA for client certificates");
  app.add_option("--write-kubeconfig", o.write_kubeconfig_dir, "write <user>.kubeconfig files here");
  app.add_option("--tls-ca-file", o.tls_ca_file, "CA that signed the server certificate");
  app.add_option("--watch-history", o.watch_history, "events kept for watch resume");
  app.add_option("--bookmark-interval-seconds", o.bookmark_interval_seconds, "bookmark period");
  app.add_option("--log-level", o.log_level, "debug|info|warn|error");
  CLI11_PARSE(app, argc, argv);
  if (o.tls_cert_file.empty() != o.tls_key_file.empty()) {
    std::cerr << "--tls-cert-file and --tls-private-key-file go together\n";
    return 2;
  }
  if (!o.client_ca_file.empty() && o.tls_cert_file.empty()) {
    std::cerr << "--client-ca-file needs TLS\n";
    return 2;
  }
  auto level = kubesync::log::ParseLevel(o.log_level);
  if (!level.ok()) {
    std::cerr << level.status().ToString() << "\n";
    return 2;
  }
  // Signals are taken synchronously by this thread; block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  kubesync::log::Logger logger({"kube-emulator", "", *level}, kubesync::log::StdoutSink());
  auto server = std::make_unique<kubesync::emulator::ApiServer>(o, logger);
  auto port = server->Start();
  if (!port.ok()) {
    logger.Error("emulator failed to start", {{"error", port.status().ToString()}});
    return 1;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  server->Shutdown();
  std::fflush(stdout);
  // Watch streams and keep-alive connections hold server threads; the state is saved, so
  // leave without waiting for them.
  std::_Exit(0);
}

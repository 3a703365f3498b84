#include "kubesync/testsupport/emulator.h"

#include <httplib.h>

#include <fstream>
#include <map>
#include <random>
#include <sstream>

namespace kubesync::testsupport {
namespace {

namespace fs = std::filesystem;

Status RunTool(std::vector<std::string> argv, const fs::path& log) {
  ProcessOptions po;
  po.argv = std::move(argv);
  po.stdout_path = log;
  po.stderr_path = log;
  KS_ASSIGN_OR_RETURN(Process p, Process::Start(po));
  auto code = p.Wait(std::chrono::seconds(30));
  if (!code || *code != 0) return InternalError(po.argv[0] + " failed; see " + log.string());
  return OkStatus();
}

std::string RandomHex(size_t n) {
  static const char kHex[] = "0123456789abcdef";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string s;
  for (size_t i = 0; i < n; ++i) s += kHex[rng() % 16];
  return s;
}

std::string Base64(const std::string& in) {
  static const char kT[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n =
        (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8) | uint8_t(in[i + 2]);
    out += {kT[(n >> 18) & 63], kT[(n >> 12) & 63], kT[(n >> 6) & 63], kT[n & 63]};
  }
  if (in.size() - i == 1) {
    const uint32_t n = uint32_t(uint8_t(in[i])) << 16;
    out += {kT[(n >> 18) & 63], kT[(n >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    const uint32_t n = (uint32_t(uint8_t(in[i])) << 16) | (uint32_t(uint8_t(in[i + 1])) << 8);
    out += {kT[(n >> 18) & 63], kT[(n >> 12) & 63], kT[(n >> 6) & 63], '='};
  }
  return out;
}

// EC P-256 keys (fast to make) and the X.509 extensions strict verifiers (Python 3.13,
// Go) want: critical basicConstraints/keyUsage, key identifiers, SAN on the server cert.
Status MakeCa(const fs::path& dir) {
  return RunTool({"openssl",
                  "req",
                  "-x509",
                  "-newkey",
                  "ec",
                  "-pkeyopt",
                  "ec_paramgen_curve:prime256v1",
                  "-nodes",
                  "-keyout",
                  (dir / "ca.key").string(),
                  "-out",
                  (dir / "ca.crt").string(),
                  "-days",
                  "3650",
                  "-subj",
                  "/CN=kube-emulator-ca",
                  "-addext",
                  "basicConstraints=critical,CA:TRUE",
                  "-addext",
                  "keyUsage=critical,keyCertSign,cRLSign,digitalSignature"},
                 dir / "openssl.log");
}

Status MakeCert(const fs::path& dir, const std::string& base, const std::string& subject,
                const std::string& ext) {
  const fs::path ext_file = dir / (base + ".ext");
  WriteFile(ext_file,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n" +
                ext);
  KS_RETURN_IF_ERROR(
      RunTool({"openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
               "-nodes", "-keyout", (dir / (base + ".key")).string(), "-out",
               (dir / (base + ".csr")).string(), "-subj", subject},
              dir / "openssl.log"));
  return RunTool({"openssl", "x509", "-req", "-in", (dir / (base + ".csr")).string(), "-CA",
                  (dir / "ca.crt").string(), "-CAkey", (dir / "ca.key").string(), "-CAcreateserial", "-out",
                  (dir / (base + ".crt")).string(), "-days", "3650", "-extfile", ext_file.string()},
                 dir / "openssl.log");
}

}  // namespace

struct Emulator::Impl {
  EmulatorOptions options;
  std::unique_ptr<TempDir> work_owner;
  fs::path work;
  fs::path data_dir;
  std::optional<Process> process;
  int port = 0;
  std::string ca_pem;
  std::map<std::string, std::string> tokens;  // user -> token
  std::string admin_token;
  std::string admin_cert_user;

  bool auth() const { return !options.token_users.empty() || !options.cert_users.empty(); }
  std::string scheme() const { return options.tls ? "https" : "http"; }

  Status Launch(int fixed_port) {
    const fs::path port_file = work / "port";
    std::error_code ec;
    fs::remove(port_file, ec);
    ProcessOptions po;
    po.argv = {KUBE_EMULATOR_BIN,
               "--port",
               std::to_string(fixed_port),
               "--port-file",
               port_file.string(),
               "--data-dir",
               data_dir.string(),
               "--watch-history",
               std::to_string(options.watch_history),
               "--bookmark-interval-seconds",
               std::to_string(options.bookmark_interval_seconds),
               "--write-kubeconfig",
               (work / "kubeconfigs").string()};
    if (!options.token_users.empty() || !options.cert_users.empty()) {
      po.argv.insert(po.argv.end(), {"--token-file", (work / "tokens.csv").string()});
    }
    if (options.tls) {
      po.argv.insert(po.argv.end(),
                     {"--tls-cert-file", (work / "server.crt").string(), "--tls-private-key-file",
                      (work / "server.key").string(), "--tls-ca-file", (work / "ca.crt").string()});
      if (!options.cert_users.empty())
        po.argv.insert(po.argv.end(), {"--client-ca-file", (work / "ca.crt").string()});
    }
    po.argv.insert(po.argv.end(), options.extra_args.begin(), options.extra_args.end());
    po.stdout_path = work / "emulator.log";
    po.stderr_path = work / "emulator.log";
    KS_ASSIGN_OR_RETURN(Process p, Process::Start(std::move(po)));
    process.emplace(std::move(p));
    const bool up = WaitFor(
        [&] {
          if (!process->Running()) return true;
          const std::string text = fs::exists(port_file) ? ReadFile(port_file) : "";
          return !text.empty() && text.back() == '\n';
        },
        std::chrono::seconds(20));
    if (!up || !process->Running()) {
      return UnavailableError("kube-emulator did not start; log: " + ReadFile(work / "emulator.log"));
    }
    port = std::stoi(ReadFile(port_file));
    return OkStatus();
  }

  std::unique_ptr<httplib::Client> Client() const {
    const std::string base = scheme() + "://127.0.0.1:" + std::to_string(port);
    std::unique_ptr<httplib::Client> cli;
    if (options.tls && admin_token.empty() && !admin_cert_user.empty()) {
      cli = std::make_unique<httplib::Client>(base, (work / (admin_cert_user + ".crt")).string(),
                                              (work / (admin_cert_user + ".key")).string());
    } else {
      cli = std::make_unique<httplib::Client>(base);
    }
    if (options.tls) {
      cli->set_ca_cert_path((work / "ca.crt").string());
      cli->enable_server_certificate_verification(true);
    }
    if (!admin_token.empty()) cli->set_bearer_token_auth(admin_token);
    cli->set_read_timeout(std::chrono::seconds(30));
    cli->set_tcp_nodelay(true);
    return cli;
  }
};

Result<std::unique_ptr<Emulator>> Emulator::Start(EmulatorOptions options) {
  std::unique_ptr<Emulator> e(new Emulator());
  e->impl_ = std::make_unique<Impl>();
  Impl& im = *e->impl_;
  im.options = std::move(options);
  im.work_owner = std::make_unique<TempDir>();
  im.work = im.work_owner->path();
  im.data_dir = im.options.data_dir.empty() ? im.work / "data" : im.options.data_dir;
  if (!im.options.cert_users.empty() && !im.options.tls) {
    return InvalidArgumentError("client-certificate users need tls");
  }
  std::string token_lines;
  for (const auto& u : im.options.token_users) {
    const std::string token = RandomHex(32);
    im.tokens[u.name] = token;
    token_lines += token + "," + u.name + "," + u.role + "\n";
    if (im.admin_token.empty() && u.role == "admin") im.admin_token = token;
  }
  for (const auto& u : im.options.cert_users) {
    if (u.role == "reader") token_lines += "," + u.name + ",reader\n";
    if (im.admin_cert_user.empty() && u.role == "admin") im.admin_cert_user = u.name;
  }
  if (im.auth()) WriteFile(im.work / "tokens.csv", token_lines);
  if (im.options.tls) {
    KS_RETURN_IF_ERROR(MakeCa(im.work));
    KS_RETURN_IF_ERROR(MakeCert(im.work, "server", "/CN=kube-emulator",
                                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n"));
    for (const auto& u : im.options.cert_users) {
      KS_RETURN_IF_ERROR(
          MakeCert(im.work, u.name, "/O=kubesync:testers/CN=" + u.name, "extendedKeyUsage=clientAuth\n"));
    }
    im.ca_pem = ReadFile(im.work / "ca.crt");
  }
  KS_RETURN_IF_ERROR(im.Launch(0));
  // Kubeconfigs for certificate users (the emulator writes the token users' ones).
  const std::string server = im.scheme() + "://127.0.0.1:" + std::to_string(im.port);
  for (const auto& u : im.options.cert_users) {
    std::ostringstream y;
    y << "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster:\n    server: " << server
      << "\n    certificate-authority-data: " << Base64(im.ca_pem) << "\nusers:\n- name: " << u.name
      << "\n  user:\n    client-certificate-data: " << Base64(ReadFile(im.work / (u.name + ".crt")))
      << "\n    client-key-data: " << Base64(ReadFile(im.work / (u.name + ".key")))
      << "\ncontexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: " << u.name
      << "\n    namespace: default\ncurrent-context: emulator\n";
    WriteFile(im.work / "kubeconfigs" / (u.name + ".kubeconfig"), y.str());
  }
  return e;
}

Emulator::~Emulator() { Stop(); }

std::string Emulator::url() const { return impl_->scheme() + "://127.0.0.1:" + std::to_string(impl_->port); }
int Emulator::port() const { return impl_->port; }
const std::string& Emulator::ca_pem() const { return impl_->ca_pem; }
std::filesystem::path Emulator::ca_path() const {
  return impl_->options.tls ? impl_->work / "ca.crt" : fs::path();
}
std::filesystem::path Emulator::kubeconfig_path(const std::string& user) const {
  return impl_->work / "kubeconfigs" / (user + ".kubeconfig");
}
std::string Emulator::token(const std::string& user) const {
  auto it = impl_->tokens.find(user);
  return it == impl_->tokens.end() ? std::string() : it->second;
}
const std::filesystem::path& Emulator::work_dir() const { return impl_->work; }
pid_t Emulator::pid() const { return impl_->process ? impl_->process->pid() : -1; }

Result<Emulator::Reply> Emulator::Request(const std::string& method, const std::string& path,
                                          const std::optional<nlohmann::json>& body,
                                          const std::string& content_type) {
  auto cli = impl_->Client();
  const std::string payload = body ? body->dump() : std::string();
  httplib::Result r{nullptr, httplib::Error::Unknown};
  if (method == "GET") {
    r = cli->Get(path.c_str());
  } else if (method == "POST") {
    r = cli->Post(path.c_str(), payload, content_type.c_str());
  } else if (method == "PUT") {
    r = cli->Put(path.c_str(), payload, content_type.c_str());
  } else if (method == "PATCH") {
    r = cli->Patch(path.c_str(), payload, content_type.c_str());
  } else if (method == "DELETE") {
    r = body ? cli->Delete(path.c_str(), payload, content_type.c_str()) : cli->Delete(path.c_str());
  } else {
    return InvalidArgumentError("unsupported method " + method);
  }
  if (!r) return UnavailableError(method + " " + path + ": " + httplib::to_string(r.error()));
  Reply reply;
  reply.status = r->status;
  reply.body = nlohmann::json::parse(r->body, nullptr, false);
  if (reply.body.is_discarded()) reply.body = nullptr;
  return reply;
}

namespace {
Status ExpectOk(const Result<Emulator::Reply>& r, const std::string& what) {
  if (!r.ok()) return r.status();
  if (r->status != 200)
    return InternalError(what + ": HTTP " + std::to_string(r->status) + " " + r->body.dump());
  return OkStatus();
}
}  // namespace

Status Emulator::DropWatches() { return ExpectOk(Request("POST", "/emulator/drop-watches"), "drop-watches"); }
Status Emulator::Compact() { return ExpectOk(Request("POST", "/emulator/compact"), "compact"); }
Status Emulator::ClearFaults() { return ExpectOk(Request("DELETE", "/emulator/faults"), "clear faults"); }
Status Emulator::ResetCounters() {
  return ExpectOk(Request("DELETE", "/emulator/counters"), "reset counters");
}

Status Emulator::AddFault(const EmulatorFault& f) {
  return ExpectOk(Request("POST", "/emulator/faults",
                          nlohmann::json{{"verb", f.verb},
                                         {"resource", f.resource},
                                         {"count", f.count},
                                         {"code", f.code},
                                         {"retryAfterSeconds", f.retry_after_seconds},
                                         {"latencyMs", f.latency_ms}}),
                  "add fault");
}

Result<std::vector<EmulatorCounter>> Emulator::Counters() {
  auto r = Request("GET", "/emulator/counters");
  KS_RETURN_IF_ERROR(ExpectOk(r, "counters"));
  std::vector<EmulatorCounter> out;
  for (const auto& c : r->body.value("requests", nlohmann::json::array())) {
    out.push_back({c.value("verb", ""), c.value("resource", ""), c.value("user", ""), c.value("count", 0L)});
  }
  return out;
}

Result<long> Emulator::CountRequests(const std::string& verb, const std::string& resource) {
  KS_ASSIGN_OR_RETURN(auto counters, Counters());
  long n = 0;
  for (const auto& c : counters) {
    if ((verb == "*" || c.verb == verb) && (resource == "*" || c.resource == resource)) n += c.count;
  }
  return n;
}

Status Emulator::Restart() {
  if (impl_->process) {
    const int st = impl_->process->Stop(std::chrono::seconds(10));
    impl_->process.reset();
    if (st != 0)
      return InternalError("kube-emulator exited with status " + std::to_string(st) + " on SIGTERM");
  }
  return impl_->Launch(impl_->port);
}

Status Emulator::KillAndRestart() {
  if (impl_->process) {
    impl_->process->Kill();
    impl_->process.reset();
  }
  return impl_->Launch(impl_->port);
}

void Emulator::Stop() {
  if (impl_ && impl_->process) {
    impl_->process->Stop(std::chrono::seconds(5));
    impl_->process.reset();
  }
}

}  // namespace kubesync::testsupport

#include "server.h"

#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>

#include <fstream>
#include <sstream>

#include "kubesync/core/clock.h"
#include "objects.h"
#include "util.h"

namespace kubesync::emulator {
namespace {

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : path) {
    if (c == '/') {
      if (!cur.empty()) parts.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) parts.push_back(std::move(cur));
  return parts;
}

std::string KubeconfigYaml(const std::string& server, const std::string& ca_pem, const std::string& user,
                           const std::string& token) {
  std::ostringstream y;
  y << "apiVersion: v1\nkind: Config\nclusters:\n- name: emulator\n  cluster:\n    server: " << server
    << "\n";
  if (!ca_pem.empty()) y << "    certificate-authority-data: " << Base64Encode(ca_pem) << "\n";
  y << "users:\n- name: " << user << "\n  user:";
  if (token.empty()) {
    y << " {}\n";
  } else {
    y << "\n    token: " << token << "\n";
  }
  y << "contexts:\n- name: emulator\n  context:\n    cluster: emulator\n    user: " << user
    << "\n    namespace: default\ncurrent-context: emulator\n";
  return y.str();
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// cpp-httplib 0.11 listens with a backlog of 5 (compiled into Debian's shared library);
// bursts of new connections (hundreds of watches, parallel discovery) overflow it and
// clients see resets. Listening again on the bound socket raises the backlog.
template <typename Base>
class Listener : public Base {
 public:
  using Base::Base;
  void RaiseBacklog(int backlog) { ::listen(this->svr_sock_, backlog); }
};

template <typename Base>
void RaiseBacklog(httplib::Server& server, int backlog) {
  static_cast<Listener<Base>&>(server).RaiseBacklog(backlog);
}

}  // namespace

int ConnectionSocket(const httplib::Request& req) {
  if (req.ssl != nullptr) return SSL_get_fd(req.ssl);
  // cpp-httplib does not expose the socket of a plain connection: find the one whose
  // endpoints are this request's (the connection stays owned by this thread meanwhile).
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
    int fd = -1;
    try {
      fd = std::stoi(entry.path().filename().string());
    } catch (...) {
      continue;
    }
    sockaddr_storage peer{}, local{};
    socklen_t plen = sizeof(peer), llen = sizeof(local);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) continue;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) continue;
    auto port_of = [](const sockaddr_storage& a) {
      if (a.ss_family == AF_INET)
        return static_cast<int>(ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port));
      if (a.ss_family == AF_INET6)
        return static_cast<int>(ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port));
      return -1;
    };
    if (port_of(peer) == req.remote_port && port_of(local) == req.local_port) return fd;
  }
  return -1;
}

bool PeerClosed(int fd) {
  if (fd < 0) return false;
  pollfd p{fd, POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) != 0;
}

void ReplyBytes(httplib::Response& res, int code, std::string body) {
  res.status = code;
  res.set_content(std::move(body), "application/json");
}

void ReplyJson(httplib::Response& res, int code, const nlohmann::json& body) {
  ReplyBytes(res, code, body.dump());
}

void ReplyError(httplib::Response& res, const ApiError& error) {
  if (error.retry_after_seconds > 0) res.set_header("Retry-After", std::to_string(error.retry_after_seconds));
  ReplyJson(res, error.code, error.ToJson());
}

bool QueryBool(const httplib::Request& req, const std::string& key) {
  if (!req.has_param(key.c_str())) return false;
  const std::string v = req.get_param_value(key.c_str());
  return v != "0" && v != "false" && v != "False";
}

bool IsDryRun(const httplib::Request& req) {
  return req.has_param("dryRun") && !req.get_param_value("dryRun").empty();
}

ApiServer::ApiServer(Options options, log::Logger logger)
    : options_(std::move(options)),
      logger_(std::move(logger)),
      store_(static_cast<size_t>(std::max(options_.watch_history, 1))) {}

ApiServer::~ApiServer() {
  stopping_ = true;
  store_.WakeAll();
  if (http_) http_->stop();
  if (serve_thread_.joinable()) serve_thread_.join();
  if (namespace_thread_.joinable()) namespace_thread_.join();
}

std::string ApiServer::Now() const { return FormatRfc3339(SystemClock::Get().Now()); }

// Like the real server: the fieldManager query parameter, else the User-Agent up to its
// first '/' (apiserver handlers/patch.go managerOrUserAgent -> prefixFromUserAgent).
std::string ApiServer::Manager(const httplib::Request& req) const {
  if (req.has_param("fieldManager")) return req.get_param_value("fieldManager");
  std::string ua = req.get_header_value("User-Agent");
  ua = ua.substr(0, ua.find('/'));
  if (ua.size() > 128) ua.resize(128);
  return ua.empty() ? "unknown" : ua;
}

Result<int> ApiServer::Start() {
  if (!options_.data_dir.empty()) {
    journal_ = std::make_unique<Journal>(options_.data_dir);
    KS_RETURN_IF_ERROR(journal_->Open(store_));
  }
  // Re-serve the CRDs that survived a restart; make sure the system namespaces exist.
  if (auto crds = store_.List("customresourcedefinitions.apiextensions.k8s.io", "", 0, "", 0, nullptr);
      std::holds_alternative<ListResult>(crds)) {
    for (const auto& crd : std::get<ListResult>(crds).items) registry_.AddCrd(*crd);
  }
  const auto ns_type = registry_.Find("", "v1", "namespaces");
  for (const char* ns : {"default", "kube-system", "kube-public", "kube-node-lease"}) {
    if (store_.Get("namespaces", "", ns)) continue;
    auto prepared = PrepareCreate(*ns_type, {{"metadata", {{"name", ns}}}}, "", Now());
    CommitWrite(*ns_type, "", ns, nullptr, std::get<nlohmann::json>(std::move(prepared)));
  }
  KS_ASSIGN_OR_RETURN(auto auth,
                      Authenticator::Create(options_.token_file, !options_.client_ca_file.empty()));
  auth_ = std::move(auth);

  const bool tls = !options_.tls_cert_file.empty();
  if (tls) {
    const Options o = options_;
    http_ = std::make_unique<Listener<httplib::SSLServer>>([o](SSL_CTX& ctx) {
      SSL_CTX_set_min_proto_version(&ctx, TLS1_2_VERSION);
      if (SSL_CTX_use_certificate_chain_file(&ctx, o.tls_cert_file.c_str()) != 1) return false;
      if (SSL_CTX_use_PrivateKey_file(&ctx, o.tls_key_file.c_str(), SSL_FILETYPE_PEM) != 1) return false;
      if (!o.client_ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(&ctx, o.client_ca_file.c_str(), nullptr) != 1) return false;
        SSL_CTX_set_client_CA_list(&ctx, SSL_load_client_CA_file(o.client_ca_file.c_str()));
        // Request a client certificate but do not require one: token users still connect.
        SSL_CTX_set_verify(&ctx, SSL_VERIFY_PEER, [](int, X509_STORE_CTX*) { return 1; });
      }
      return true;
    });
    if (!static_cast<httplib::SSLServer*>(http_.get())->is_valid()) {
      return InvalidArgumentError("cannot load TLS certificate/key/client CA");
    }
  } else {
    http_ = std::make_unique<Listener<httplib::Server>>();
  }
  http_->new_task_queue = [] { return new httplib::ThreadPool(1100); };
  http_->set_keep_alive_max_count(1'000'000);
  http_->set_keep_alive_timeout(30);
  http_->set_read_timeout(60);
  http_->set_write_timeout(60);
  http_->set_tcp_nodelay(true);
  http_->set_payload_max_length(64 << 20);
  // cpp-httplib gzips JSON when asked; streamed watch chunks would sit in the compressor
  // and small replies would pay for it. kube-apiserver only compresses large replies, so
  // answering uncompressed is within what clients accept.
  http_->set_pre_routing_handler([](const httplib::Request& req, httplib::Response&) {
    const_cast<httplib::Request&>(req).headers.erase("Accept-Encoding");
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // A body of the wrong shape that slips past validation must answer a Status, not crash.
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const nlohmann::json::exception& e) {
      ReplyError(res,
                 BadRequest(std::string("the request body does not have the expected shape: ") + e.what()));
      return;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    ReplyError(res, Internal(what));
  });
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { Handle(req, res); };
  http_->Get(".*", handler);
  http_->Post(".*", handler);
  http_->Put(".*", handler);
  http_->Patch(".*", handler);
  http_->Delete(".*", handler);
  http_->Options(".*", handler);

  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.bind);
    if (port <= 0) return UnavailableError("cannot bind " + options_.bind);
  } else if (!http_->bind_to_port(options_.bind, port)) {
    return UnavailableError("cannot bind " + options_.bind + ":" + std::to_string(port));
  }
  if (tls) {
    RaiseBacklog<httplib::SSLServer>(*http_, 4096);
  } else {
    RaiseBacklog<httplib::Server>(*http_, 4096);
  }
  server_address_ = options_.bind + ":" + std::to_string(port);
  serve_thread_ = std::thread([this] { http_->listen_after_bind(); });
  namespace_thread_ = std::thread([this] { NamespaceLoop(); });
  // The listening socket already accepts (backlog) before the accept loop runs.
  WriteKubeconfigs(port);
  if (!options_.port_file.empty()) {
    const std::string tmp = options_.port_file + ".tmp";
    std::ofstream(tmp) << port << "\n";
    std::filesystem::rename(tmp, options_.port_file);
  }
  logger_.Info("emulator listening",
               {{"address", server_address_}, {"tls", tls}, {"rv", store_.CurrentRv()}});
  return port;
}

void ApiServer::Shutdown() {
  stopping_ = true;
  store_.WakeAll();
  if (journal_) {
    Status st = journal_->Checkpoint(store_);
    if (!st.ok()) logger_.Error("checkpoint failed", {{"error", st.ToString()}});
  }
  logger_.Info("emulator stopped", {{"rv", store_.CurrentRv()}});
}

void ApiServer::WriteKubeconfigs(int port) const {
  if (options_.write_kubeconfig_dir.empty()) return;
  std::filesystem::create_directories(options_.write_kubeconfig_dir);
  const bool tls = !options_.tls_cert_file.empty();
  const std::string server =
      std::string(tls ? "https://" : "http://") + options_.bind + ":" + std::to_string(port);
  std::string ca;
  if (tls) ca = ReadAll(options_.tls_ca_file.empty() ? options_.tls_cert_file : options_.tls_ca_file);
  auto write = [&](const std::string& user, const std::string& token) {
    std::ofstream(std::filesystem::path(options_.write_kubeconfig_dir) / (user + ".kubeconfig"))
        << KubeconfigYaml(server, ca, user, token);
  };
  if (auth_ && !auth_->token_users().empty()) {
    for (const auto& u : auth_->token_users()) write(u.user, u.token);
  } else {
    write("admin", "");
  }
}

void ApiServer::Handle(const httplib::Request& req, httplib::Response& res) {
  const std::string& path = req.path;
  if (path == "/healthz" || path == "/livez" || path == "/readyz" || path.rfind("/healthz/", 0) == 0 ||
      path.rfind("/livez/", 0) == 0 || path.rfind("/readyz/", 0) == 0) {
    res.status = 200;
    res.set_content("ok", "text/plain; charset=utf-8");
    return;
  }
  auto id = auth_->Authenticate(req.get_header_value("Authorization"), req.ssl);
  if (!id) return ReplyError(res, Unauthorized());
  if (path.rfind("/emulator/", 0) == 0) return HandleHook(req, res, *id);
  if (HandleDiscovery(req, res)) return;

  // /api/v1/... or /apis/{group}/{version}/...
  std::vector<std::string> parts = SplitPath(path);
  std::string group, version;
  size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    group = parts[1];
    version = parts[2];
    i = 3;
  } else {
    return ReplyError(res, PathNotFound());
  }
  std::vector<std::string> rest(parts.begin() + static_cast<long>(i), parts.end());
  std::string ns;
  // apiserver RequestInfoFactory: "namespaces/{ns}/{resource}..." unless the third part is
  // a namespace subresource (status, finalize).
  if (rest.size() >= 3 && rest[0] == "namespaces" && rest[2] != "status" && rest[2] != "finalize") {
    ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return ReplyError(res, PathNotFound());
  auto type = registry_.Find(group, version, rest[0]);
  if (!type) return ReplyError(res, PathNotFound());
  if (!type->namespaced && !ns.empty()) return ReplyError(res, PathNotFound());
  Call call{req, res, *id, type, ns, rest.size() > 1 ? rest[1] : "", rest.size() > 2 ? rest[2] : "", ""};
  if (!call.sub.empty() &&
      !((call.sub == "status" && type->status_sub) || (call.sub == "scale" && type->scale_sub))) {
    return ReplyError(res, PathNotFound());
  }
  const bool item = !call.name.empty();
  const std::string& m = req.method;
  if (m == "GET") {
    call.verb = item ? "get" : (QueryBool(req, "watch") ? "watch" : "list");
  } else if (m == "POST" && !item) {
    call.verb = "create";
  } else if (m == "PUT" && item) {
    call.verb = "update";
  } else if (m == "PATCH" && item) {
    call.verb = "patch";
  } else if (m == "DELETE") {
    call.verb = item ? "delete" : "deletecollection";
  }
  if (call.verb.empty() ||
      (!call.sub.empty() && call.verb != "get" && call.verb != "update" && call.verb != "patch")) {
    return ReplyError(res, MethodNotAllowed(req.method + " is not supported on this resource"));
  }
  if (call.verb == "deletecollection" && type->group.empty() && type->resource == "namespaces") {
    return ReplyError(res,
                      MethodNotAllowed("the server does not allow this method on the requested resource"));
  }
  HandleResource(call);
}

void ApiServer::HandleResource(Call& call) {
  const ResourceType& type = *call.type;
  const std::string counted = call.sub.empty() ? type.resource : type.resource + "/" + call.sub;
  counters_.Count(call.verb, counted, call.id.user);
  const bool read = call.verb == "get" || call.verb == "list" || call.verb == "watch";
  if (!call.id.admin && !read) {
    std::string why = "User \"" + call.id.user + "\" cannot " + call.verb + " resource \"" + counted + "\"";
    why += " in API group \"" + type.group + "\"";
    if (!call.ns.empty()) why += " in the namespace \"" + call.ns + "\"";
    ApiError e{403, "Forbidden", "", call.name, type.group, counted};
    e.message = (call.name.empty() ? type.resource + (type.group.empty() ? "" : "." + type.group)
                                   : QualifiedName(type.group, type.resource, call.name)) +
                " is forbidden: " + why;
    return ReplyError(call.res, e);
  }
  FaultAction fault = faults_.Match(call.verb, counted);
  if (fault.latency_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(fault.latency_ms));
  if (fault.error) return ReplyError(call.res, *fault.error);
  if (call.verb == "get") return Get(call);
  if (call.verb == "list") return List(call);
  if (call.verb == "watch") return Watch(call);
  if (call.verb == "create") return Create(call);
  if (call.verb == "update") return Update(call);
  if (call.verb == "patch") return Patch(call);
  if (call.verb == "delete") return Delete(call);
  return DeleteCollection(call);
}

bool ApiServer::HandleDiscovery(const httplib::Request& req, httplib::Response& res) {
  if (req.method != "GET") return false;
  const std::string& p = req.path;
  if (p == "/version" || p == "/version/") {
    ReplyJson(res, 200,
              {{"major", "1"},
               {"minor", "30"},
               {"gitVersion", "v1.30.0"},
               {"gitCommit", "kube-emulator"},
               {"gitTreeState", "clean"},
               {"buildDate", "2024-04-17T00:00:00Z"},
               {"goVersion", "go1.22.2"},
               {"compiler", "gc"},
               {"platform", "linux/amd64"}});
    return true;
  }
  if (p == "/api" || p == "/api/") {
    ReplyJson(res, 200, registry_.ApiVersions(server_address_));
    return true;
  }
  if (p == "/apis" || p == "/apis/") {
    ReplyJson(res, 200, registry_.ApiGroupList());
    return true;
  }
  if (p == "/openapi/v3" || p == "/openapi/v3/") {
    ReplyJson(res, 200, registry_.OpenApiIndex());
    return true;
  }
  if (p.rfind("/openapi/v3/", 0) == 0) {
    auto doc = registry_.OpenApiDocument(p.substr(12));
    if (!doc) {
      ReplyError(res, PathNotFound());
    } else {
      ReplyJson(res, 200, *doc);
    }
    return true;
  }
  if (p == "/openapi/v2") {
    // kubectl asks for the protobuf OpenAPI v2 document when validating some inputs (a
    // `kind: List`, and every input with kubectl 1.28). An empty body is an empty but valid
    // protobuf document: kubectl then validates nothing, as for a kind it has no schema of.
    res.status = 200;
    res.set_content("", "application/octet-stream");
    return true;
  }
  if (p.rfind("/openapi/", 0) == 0 || p == "/swagger.json") {
    ReplyError(res, PathNotFound());
    return true;
  }
  auto parts = SplitPath(p);
  if (parts.size() == 2 && parts[0] == "api") {
    auto list = registry_.ResourceList("", parts[1]);
    list ? ReplyJson(res, 200, *list) : ReplyError(res, PathNotFound());
    return true;
  }
  if (parts.size() == 2 && parts[0] == "apis") {
    auto group = registry_.ApiGroup(parts[1]);
    group ? ReplyJson(res, 200, *group) : ReplyError(res, PathNotFound());
    return true;
  }
  if (parts.size() == 3 && parts[0] == "apis") {
    auto list = registry_.ResourceList(parts[1], parts[2]);
    list ? ReplyJson(res, 200, *list) : ReplyError(res, PathNotFound());
    return true;
  }
  return false;
}

void ApiServer::HandleHook(const httplib::Request& req, httplib::Response& res, const Identity& id) {
  if (!id.admin) {
    return ReplyError(res, {403, "Forbidden", "User \"" + id.user + "\" cannot use the emulator hooks"});
  }
  const std::string& p = req.path;
  const std::string& m = req.method;
  const nlohmann::json ok = {{"kind", "Status"},
                             {"apiVersion", "v1"},
                             {"metadata", nlohmann::json::object()},
                             {"status", "Success"}};
  if (p == "/emulator/drop-watches" && m == "POST") {
    ++drop_generation_;
    store_.WakeAll();
    return ReplyJson(res, 200, ok);
  }
  if (p == "/emulator/compact" && m == "POST") {
    store_.Compact();
    return ReplyJson(res, 200, ok);
  }
  if (p == "/emulator/faults" && m == "POST") {
    auto body = nlohmann::json::parse(req.body, nullptr, false);
    auto fault = ParseFault(body);
    if (!fault.ok()) return ReplyError(res, BadRequest(fault.status().message()));
    faults_.Add(*fault);
    return ReplyJson(res, 200, ok);
  }
  if (p == "/emulator/faults" && m == "DELETE") {
    faults_.Clear();
    return ReplyJson(res, 200, ok);
  }
  if (p == "/emulator/counters" && m == "GET") {
    nlohmann::json body = counters_.ToJson();
    body["activeWatches"] = active_watches_.load();
    return ReplyJson(res, 200, body);
  }
  if (p == "/emulator/counters" && m == "DELETE") {
    counters_.Reset();
    return ReplyJson(res, 200, ok);
  }
  ReplyError(res, PathNotFound());
}

std::optional<ApiError> ApiServer::CheckNamespaceWritable(const std::string& ns) const {
  if (ns.empty()) return std::nullopt;
  auto obj = store_.Get("namespaces", "", ns);
  if (!obj) return NotFound("", "namespaces", ns);
  if ((*obj)["metadata"].contains("deletionTimestamp")) {
    ApiError e{403,
               "Forbidden",
               "unable to create new content in namespace " + ns + " because it is being terminated",
               ns,
               "",
               "namespaces"};
    e.causes.push_back(
        {"NamespaceTerminating", "namespace " + ns + " is being terminated", "metadata.namespace"});
    return e;
  }
  return std::nullopt;
}

}  // namespace kubesync::emulator

// The embedded nats-server and redis-server of the process runtime, and its start-up, with
// their users: nothing reaches them unauthenticated (issue 10, item 11).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>
#include <thread>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/state/redis_client.h"
#include "process_runtime_impl.h"

namespace kubesync::runtime::internal {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr char kNatsAdmin[] = "kubesync-admin";
constexpr char kRedisAdmin[] = "default";

// 256 random bits from the kernel, as hex.
Result<std::string> RandomSecret() {
  unsigned char bytes[32];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    const ssize_t n = ::getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return InternalError(std::string("getrandom: ") + std::strerror(errno));
    got += static_cast<size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

// Takes "user:password@" out of each URL of `urls` (comma-separated) into `credentials`
// (unless it already has a password), so the URL can go on a command line and in logs.
std::string MoveUserinfo(const std::string& urls, ServerCredentials& credentials) {
  std::string out;
  size_t start = 0;
  while (start < urls.size()) {
    size_t end = urls.find(',', start);
    if (end == std::string::npos) end = urls.size();
    std::string url = urls.substr(start, end - start);
    const size_t scheme = url.find("://");
    const size_t from = scheme == std::string::npos ? 0 : scheme + 3;
    const size_t at = url.rfind('@');
    if (at != std::string::npos && at >= from) {
      const std::string userinfo = url.substr(from, at - from);
      const size_t colon = userinfo.find(':');
      if (credentials.password.empty() && credentials.token.empty()) {
        if (colon == std::string::npos) {
          credentials.token = userinfo;  // nats://TOKEN@host; for Redis a bare password
        } else {
          credentials.user = userinfo.substr(0, colon);
          credentials.password = userinfo.substr(colon + 1);
        }
      }
      url = url.substr(0, from) + url.substr(at + 1);
    }
    if (!out.empty()) out += ",";
    out += url;
    start = end + 1;
  }
  return out;
}

// Logs in to the NATS server on 127.0.0.1:port as `user`: true when it answers PONG.
bool NatsLoginWorks(int port, const ServerCredentials& user, milliseconds timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    // Users and passwords are [a-z0-9.-_] and hex: no JSON escaping needed.
    const std::string connect = "CONNECT {\"verbose\":false,\"pedantic\":false,\"user\":\"" + user.user +
                                "\",\"pass\":\"" + user.password + "\"}\r\nPING\r\n";
    if (::send(fd, connect.data(), connect.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(connect.size())) {
      std::string got;
      char buf[1024];
      while (got.find("PONG") == std::string::npos && got.find("-ERR") == std::string::npos) {
        const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        got.append(buf, static_cast<size_t>(n));
      }
      ok = got.find("PONG") != std::string::npos && got.find("-ERR") == std::string::npos;
    }
  }
  ::close(fd);
  return ok;
}

}  // namespace

Status ProcessRuntime::Init() {
  if (options_.work_dir.empty()) {
    return InvalidArgumentError("process runtime: work_dir is required");
  }
  if (options_.bin_dir.empty()) {
    return InvalidArgumentError("process runtime: bin_dir is required");
  }
  std::error_code ec;
  work_dir_ = fs::absolute(options_.work_dir, ec);
  // Private to this user, or refused (work_dir.h).
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(work_dir_));
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(work_dir_ / "jobs"));
  bin_dir_ = fs::absolute(options_.bin_dir, ec);
  if (!fs::is_directory(bin_dir_, ec)) {
    return InvalidArgumentError("process runtime: bin_dir " + bin_dir_.string() + " is not a directory");
  }
  monitor_ = std::thread([this] { MonitorLoop(); });

  nats_admin_ = options_.nats_credentials;
  redis_admin_ = options_.redis_credentials;
  nats_url_ = MoveUserinfo(options_.nats_url, nats_admin_);
  if (nats_url_.empty()) {
    embedded_nats_ = true;
    nats_admin_ = {.user = kNatsAdmin};
    KS_ASSIGN_OR_RETURN(nats_admin_.password, RandomSecret());
    KS_RETURN_IF_ERROR(WriteNatsConfig());
    // The config file keeps the JetStream store under work_dir, so streams and consumers
    // outlive a restart of the runtime; a fixed server name keeps the store's identity
    // stable. Both are in the file, not flags: a reload (a set's new user) takes what the
    // file says, and would turn JetStream off or refuse a changed name. The client port
    // opens once JetStream is enabled; the probe reads the INFO greeting.
    KS_ASSIGN_OR_RETURN(
        int port,
        StartServer({"nats-server",
                     options_.nats_server,
                     "nats",
                     {"-c", (work_dir_ / "nats-server.conf").string(), "-a", "127.0.0.1", "-p", "{port}"},
                     "",
                     "INFO "}));
    nats_port_ = port;
    nats_url_ = "nats://127.0.0.1:" + std::to_string(port);
  }
  redis_url_ = MoveUserinfo(options_.redis_url, redis_admin_);
  if (!redis_admin_.token.empty()) {  // redis://PASSWORD@host: a password for the default user
    redis_admin_.password = std::exchange(redis_admin_.token, "");
  }
  if (redis_url_.empty()) {
    embedded_redis_ = true;
    redis_admin_ = {.user = kRedisAdmin};
    KS_ASSIGN_OR_RETURN(redis_admin_.password, RandomSecret());
    // The users are in an ACL file (0600), never on the command line: the default user has
    // the admin password, and each component set gets a user of its own (CredentialsFor),
    // saved there too so that a restarted redis-server still knows it. The config file
    // names it because an ACL file cannot be given as a flag before redis 7.2.
    const fs::path acl = work_dir_ / "redis-users.acl";
    KS_RETURN_IF_ERROR(WritePrivateFile(acl, "user default on >" + redis_admin_.password + " ~* &* +@all\n"));
    KS_RETURN_IF_ERROR(WritePrivateFile(work_dir_ / "redis-server.conf", "aclfile " + acl.string() + "\n"));
    // appendonly: every write goes to the AOF (fsync every second, and again when redis
    // shuts down on SIGTERM), so data persists across runtime restarts with this work_dir.
    // Redis accepts connections while it still loads its data (answering -LOADING), so
    // readiness is a PONG to an authenticated PING, not an open port.
    KS_ASSIGN_OR_RETURN(
        int port, StartServer({"redis-server",
                               options_.redis_server,
                               "redis",
                               {(work_dir_ / "redis-server.conf").string(), "--bind", "127.0.0.1", "--port",
                                "{port}", "--dir", "{data}", "--appendonly", "yes", "--daemonize", "no"},
                               "AUTH " + redis_admin_.password + "\r\nPING\r\n",
                               "+OK\r\n+PONG"}));
    redis_url_ = "redis://127.0.0.1:" + std::to_string(port) + "/0";
  }
  return OkStatus();
}

Status ProcessRuntime::WriteNatsConfig() {
  // JetStream API subjects a set's components use, all naming its stream: stream info and
  // create, consumer create/info/next, acks; plus its own subjects and reply inboxes.
  // cnats' JetStream calls and the server's API are documented at
  // docs.nats.io/reference/reference-protocols/nats_api_reference.
  std::ostringstream conf;
  conf << "# Written by kubesync's process runtime; users are regenerated at each start.\n"
       << "server_name: \"kubesync-embedded\"\n"
       // The streams' max message size (no flag for it): with nats-server's default of
       // 1 MiB, objects Kubernetes accepts could not be published (issue 10, item 3).
       << "max_payload: " << bus::kMaxMessageBytes << "\n"
       << "jetstream {store_dir: \"" << (work_dir_ / "nats").string() << "\"}\n"
       << "authorization {\n  users = [\n"
       << "    {user: \"" << nats_admin_.user << "\", password: \"" << nats_admin_.password << "\"}\n";
  for (const auto& [id, creds] : set_credentials_) {
    KS_ASSIGN_OR_RETURN(std::string stream, bus::StreamName(id));
    KS_ASSIGN_OR_RETURN(std::string prefix, bus::SubjectPrefix(id));
    conf << "    {user: \"" << creds.nats.user << "\", password: \"" << creds.nats.password << "\",\n"
         << "     permissions: {\n"
         << "       publish: {allow: [\"" << prefix << ".>\", \"$JS.API.INFO\", \"$JS.API.STREAM.NAMES\", "
         << "\"$JS.API.STREAM.*." << stream << "\", \"$JS.API.STREAM.*.*." << stream << "\", "
         << "\"$JS.API.CONSUMER.*." << stream << "\", \"$JS.API.CONSUMER.*." << stream << ".>\", "
         << "\"$JS.API.CONSUMER.*.*." << stream << ".>\", \"$JS.ACK." << stream << ".>\"]}\n"
         << "       subscribe: {allow: [\"" << creds.nats_inbox_prefix << ".>\"]}\n"
         << "     }}\n";
  }
  conf << "  ]\n}\n";
  return WritePrivateFile(work_dir_ / "nats-server.conf", conf.str());
}

Status ProcessRuntime::ReloadNats(const ServerCredentials& user) {
  pid_t pid = 0;
  {
    std::lock_guard lock(mu_);
    for (const auto& server : servers_) {
      if (server->config.name == "nats-server") pid = server->proc.pid;
    }
  }
  // A nats-server being restarted by the monitor reads the new file anyway.
  if (pid > 0) ::kill(pid, SIGHUP);
  const auto deadline = SteadyClock::now() + options_.server_start_timeout;
  while (SteadyClock::now() < deadline) {
    if (NatsLoginWorks(nats_port_, user, milliseconds(1000))) return OkStatus();
    std::this_thread::sleep_for(milliseconds(20));
  }
  return UnavailableError("embedded nats-server did not accept the new user " + user.user +
                          " in time; log tail: " + TailOfFile(work_dir_ / "nats-server.log"));
}

Result<SetCredentials> ProcessRuntime::CredentialsFor(const std::string& id) {
  std::lock_guard lock(credentials_mu_);
  if (auto it = set_credentials_.find(id); it != set_credentials_.end()) return it->second;
  SetCredentials creds;
  creds.nats = nats_admin_;
  creds.redis = redis_admin_;
  if (embedded_nats_) {
    KS_ASSIGN_OR_RETURN(std::string stream, bus::StreamName(id));
    creds.nats = {.user = "set-" + id};
    KS_ASSIGN_OR_RETURN(creds.nats.password, RandomSecret());
    creds.nats_inbox_prefix = "_INBOX_" + stream;
  }
  if (embedded_redis_) {
    creds.redis = {.user = "set-" + id};
    KS_ASSIGN_OR_RETURN(creds.redis.password, RandomSecret());
    // Only this set's keys (libs/state: "kubesync:<id>:..."), no admin or dangerous
    // commands (FLUSHALL, KEYS, CONFIG, ...), no pub/sub channels.
    auto admin = state::RedisClient::Connect({.url = redis_url_,
                                              .pool_size = 1,
                                              .username = redis_admin_.user,
                                              .password = redis_admin_.password});
    if (!admin.ok()) return admin.status().Annotate("create the redis user of " + id);
    auto set =
        (*admin)->Command({"ACL", "SETUSER", creds.redis.user, "reset", "on", ">" + creds.redis.password,
                           "~kubesync:" + id + ":*", "resetchannels", "+@all", "-@dangerous", "-@admin"});
    if (set.ok()) set = (*admin)->Command({"ACL", "SAVE"});
    if (!set.ok()) return set.status().Annotate("create the redis user of " + id);
  }
  if (embedded_nats_) {
    set_credentials_[id] = creds;
    if (Status written = WriteNatsConfig(); !written.ok()) {
      set_credentials_.erase(id);
      return written;
    }
    if (Status reloaded = ReloadNats(creds.nats); !reloaded.ok()) {
      set_credentials_.erase(id);
      return reloaded;
    }
  }
  set_credentials_[id] = creds;
  return creds;
}

Result<int> ProcessRuntime::StartServer(ServerConfig config) {
  KS_ASSIGN_OR_RETURN(std::string binary, FindOnPath(config.binary));
  const fs::path data_dir = work_dir_ / config.data_dir;
  KS_RETURN_IF_ERROR(EnsurePrivateDirectory(data_dir));
  const fs::path log = work_dir_ / (config.name + ".log");
  Server* server = nullptr;
  {
    std::lock_guard lock(mu_);
    servers_.push_back(std::make_unique<Server>());
    server = servers_.back().get();
    server->config = config;
  }
  std::string last_error;
  // A port picked free can be taken before the server binds it: try a few.
  for (int attempt = 0; attempt < 3; ++attempt) {
    KS_ASSIGN_OR_RETURN(int port, PickFreePort());
    Proc proc;
    proc.component = config.name;
    proc.request.argv.push_back(binary);
    for (const std::string& a : config.args) {
      proc.request.argv.push_back(
          ReplaceAll(ReplaceAll(a, "{port}", std::to_string(port)), "{data}", data_dir.string()));
    }
    if (!options_.inherit_output) {
      proc.request.log_path = log;
    }
    proc.backoff = NewBackoff();
    KS_RETURN_IF_ERROR(OnMonitor([&](std::vector<Event>&) {
      server->port = port;
      server->proc = std::move(proc);
      auto pid = Spawn(server->proc.request);
      if (!pid.ok()) {
        return pid.status();
      }
      server->proc.pid = *pid;
      server->proc.started = options_.clock->SteadyNow();
      return OkStatus();
    }));
    // Unsupervised until ready: only this thread looks at the pid.
    const pid_t pid = server->proc.pid;
    const auto deadline = SteadyClock::now() + options_.server_start_timeout;
    bool exited = false;
    while (SteadyClock::now() < deadline) {
      if (ProbeTcp(port, config.probe_send, config.probe_expect, milliseconds(1000))) {
        std::lock_guard lock(mu_);
        server->supervised = true;
        return port;
      }
      if (HasExited(pid)) {
        exited = true;
        break;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    std::vector<int> status = TerminateAll({pid}, options_.grace);
    {
      std::lock_guard lock(mu_);
      server->proc.pid = 0;
    }
    last_error = config.name + " on port " + std::to_string(port) + " " +
                 (exited ? DescribeWaitStatus(status[0]) + " before it was ready" : "was not ready in time") +
                 "; log tail: " + TailOfFile(log);
    if (!exited) {
      break;
    }
  }
  return UnavailableError("embedded " + last_error);
}

}  // namespace kubesync::runtime::internal

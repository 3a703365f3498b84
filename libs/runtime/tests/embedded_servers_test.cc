// The embedded nats-server and redis-server: started on free loopback ports, data kept under
// work_dir across a restart of the runtime. Talks to them with their plain-text protocols.
#include <arpa/inet.h>
#include <dirent.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "kubesync/runtime/process_runtime.h"
#include "kubesync/testsupport/process.h"
#include "runtime_test_util.h"

namespace kubesync::runtime::testing {
namespace {

namespace fs = std::filesystem;
using testsupport::WaitFor;

int PortOf(const std::string& url) {
  size_t colon = url.rfind(':');
  return std::stoi(url.substr(colon + 1));  // stoi stops at "/0"
}

// A blocking loopback TCP connection with a 5 s receive timeout.
class Conn {
 public:
  explicit Conn(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ok_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    timeval tv{5, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  ~Conn() { ::close(fd_); }
  bool ok() const { return ok_; }
  void Send(const std::string& data) {
    ASSERT_EQ(::write(fd_, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  }
  // Reads until `needle` appears in what was received (or timeout); returns all of it.
  std::string ReadUntil(const std::string& needle, size_t from = 0) {
    char buf[4096];
    while (received_.find(needle, from) == std::string::npos) {
      ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n <= 0) {
        break;
      }
      received_.append(buf, static_cast<size_t>(n));
    }
    return received_;
  }

 private:
  int fd_;
  bool ok_ = false;
  std::string received_;
};

// Sends one JetStream API request over the core NATS protocol and returns the reply.
// The embedded servers refuse anonymous clients: these log in as the runtime's admin.
std::string JetStreamRequest(int port, const ServerCredentials& admin, const std::string& subject,
                             const std::string& body) {
  Conn c(port);
  EXPECT_TRUE(c.ok());
  c.ReadUntil("\r\n");  // INFO
  c.Send("CONNECT {\"verbose\":false,\"pedantic\":false,\"user\":\"" + admin.user + "\",\"pass\":\"" +
         admin.password + "\"}\r\nSUB _INBOX.test 1\r\n");
  c.Send("PUB " + subject + " _INBOX.test " + std::to_string(body.size()) + "\r\n" + body + "\r\n");
  std::string all = c.ReadUntil("MSG _INBOX.test 1 ");
  all = c.ReadUntil("}\r\n");
  return all.substr(all.find("MSG _INBOX.test"));
}

std::string Redis(int port, const ServerCredentials& admin, const std::string& command,
                  const std::string& until) {
  Conn c(port);
  EXPECT_TRUE(c.ok());
  c.Send("AUTH " + admin.user + " " + admin.password + "\r\n" + command + "\r\n");
  const std::string auth = c.ReadUntil("\r\n");
  if (auth.rfind("+OK\r\n", 0) != 0) return auth;
  return c.ReadUntil(until, 5).substr(5);
}

// Child pids of this process whose command line starts with `program` (only processes we
// started, found by parent pid; used to kill the server the runtime started).
std::vector<pid_t> OurChildren(const std::string& program) {
  std::vector<pid_t> pids;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream stat(entry.path() / "stat");
    std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    size_t close = content.rfind(')');
    if (close == std::string::npos) {
      continue;
    }
    int ppid = 0;
    char state = 0;
    if (std::sscanf(content.c_str() + close + 1, " %c %d", &state, &ppid) != 2 || ppid != ::getpid()) {
      continue;
    }
    std::ifstream cmd(entry.path() / "cmdline");
    std::string argv0;
    std::getline(cmd, argv0, '\0');
    // redis-server rewrites its title to "/usr/bin/redis-server 127.0.0.1:port".
    if (fs::path(argv0.substr(0, argv0.find(' '))).filename() == program) {
      pids.push_back(std::stoi(name));
    }
  }
  return pids;
}

class EmbeddedServersTest : public RuntimeTest {
 protected:
  ProcessRuntimeOptions EmbeddedOptions() const {
    ProcessRuntimeOptions options = Options();
    options.nats_url.clear();
    options.redis_url.clear();
    return options;
  }
};

TEST_F(EmbeddedServersTest, StartAcceptAndKeepDataAcrossRestart) {
  auto runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  ASSERT_EQ(runtime->NatsUrl().rfind("nats://127.0.0.1:", 0), 0u) << runtime->NatsUrl();
  ASSERT_EQ(runtime->RedisUrl().rfind("redis://127.0.0.1:", 0), 0u) << runtime->RedisUrl();
  int nats_port = PortOf(runtime->NatsUrl());
  int redis_port = PortOf(runtime->RedisUrl());
  EXPECT_TRUE(testsupport::PortAcceptsConnections(nats_port));
  EXPECT_TRUE(testsupport::PortAcceptsConnections(redis_port));

  Conn info(nats_port);
  const std::string greeting = info.ReadUntil("\r\n");
  EXPECT_NE(greeting.find("\"jetstream\":true"), std::string::npos) << greeting;
  // Objects up to Kubernetes' limit fit: max_payload is the streams' 8 MiB, not the default 1 MiB.
  EXPECT_NE(greeting.find("\"max_payload\":8388608"), std::string::npos) << greeting;
  std::string created =
      JetStreamRequest(nats_port, runtime->NatsCredentials(), "$JS.API.STREAM.CREATE.KSTEST",
                       R"({"name":"KSTEST","subjects":["kstest.>"],"storage":"file"})");
  EXPECT_NE(created.find("\"type\":\"io.nats.jetstream.api.v1.stream_create_response\""), std::string::npos)
      << created;
  EXPECT_EQ(created.find("\"error\""), std::string::npos) << created;
  EXPECT_NE(
      Redis(redis_port, runtime->RedisCredentials(), "SET kubesync-key persisted-value", "\r\n").find("+OK"),
      std::string::npos);

  // Components get the embedded URLs.
  ComponentSetSpec spec;
  spec.id = "ns1.sync1";
  spec.components = {{"processor", 1, "", {"--out", out_.path().string()}}};
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return ArgsFiles(out_.path(), "processor-0-").size() == 1; }));
  auto lines = Lines(ArgsFiles(out_.path(), "processor-0-")[0]);
  EXPECT_NE(std::find(lines.begin(), lines.end(), runtime->NatsUrl()), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), runtime->RedisUrl()), lines.end());

  runtime.reset();
  EXPECT_FALSE(testsupport::PortAcceptsConnections(nats_port));
  EXPECT_FALSE(testsupport::PortAcceptsConnections(redis_port));
  EXPECT_TRUE(OurChildren("nats-server").empty());
  EXPECT_TRUE(OurChildren("redis-server").empty());

  runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  nats_port = PortOf(runtime->NatsUrl());
  redis_port = PortOf(runtime->RedisUrl());
  const fs::path redis_log = fs::path(EmbeddedOptions().work_dir) / "redis-server.log";
  const std::string got =
      Redis(redis_port, runtime->RedisCredentials(), "GET kubesync-key", "persisted-value\r\n");
  EXPECT_NE(got.find("$15\r\npersisted-value\r\n"), std::string::npos)
      << got << testsupport::ReadFile(redis_log);
  std::string info_reply =
      JetStreamRequest(nats_port, runtime->NatsCredentials(), "$JS.API.STREAM.INFO.KSTEST", "");
  EXPECT_NE(info_reply.find("\"name\":\"KSTEST\""), std::string::npos) << info_reply;
  EXPECT_EQ(info_reply.find("\"error\""), std::string::npos) << info_reply;
}

TEST_F(EmbeddedServersTest, RestartsAServerThatDied) {
  auto runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  const int redis_port = PortOf(runtime->RedisUrl());
  auto pids = OurChildren("redis-server");
  ASSERT_EQ(pids.size(), 1u);
  ASSERT_EQ(::kill(pids[0], SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] {
    auto now = OurChildren("redis-server");
    return now.size() == 1 && now[0] != pids[0] && testsupport::PortAcceptsConnections(redis_port);
  }));
  // A restarted server is not waited for: it may answer -LOADING for a moment.
  EXPECT_TRUE(WaitFor([&] {
    return Redis(redis_port, runtime->RedisCredentials(), "PING", "\r\n").find("+PONG") != std::string::npos;
  }));
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kRestarted, "redis-server") == 1; }));
  EXPECT_EQ(recorder_.Of(EventKind::kExited, "redis-server")[0].event.exit_code, 137);
}

TEST_F(EmbeddedServersTest, MissingServerBinaryIsAnError) {
  ProcessRuntimeOptions options = EmbeddedOptions();
  options.nats_server = "no-such-nats-server";
  auto r = StartProcessRuntime(options, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "no-such-nats-server not found on PATH");
}

}  // namespace
}  // namespace kubesync::runtime::testing

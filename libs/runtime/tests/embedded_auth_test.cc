// Auth of the embedded servers (issue 10, item 11): unauthenticated clients are refused,
// components get credentials through 0600 files (never argv), and each component set's
// user reaches only its own subjects, stream and keys. Talks to the servers with the real
// clients (cnats through libs/bus, hiredis through libs/state) and the raw protocols.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kubesync/bus/jetstream.h"
#include "kubesync/bus/subjects.h"
#include "kubesync/runtime/process_runtime.h"
#include "kubesync/state/redis_client.h"
#include "kubesync/testsupport/process.h"
#include "runtime_test_util.h"

namespace kubesync::runtime::testing {
namespace {

namespace fs = std::filesystem;
using testsupport::WaitFor;

int PortOf(const std::string& url) {
  size_t colon = url.rfind(':');
  return std::stoi(url.substr(colon + 1));
}

// Sends `send` on a fresh loopback connection and reads until `until` (or 5 s).
std::string RawExchange(int port, const std::string& send, const std::string& until) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string got;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)!::write(fd, send.data(), send.size());
    char buf[4096];
    while (got.find(until) == std::string::npos) {
      ssize_t n = ::read(fd, buf, sizeof(buf));
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
  }
  ::close(fd);
  return got;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

mode_t ModeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return st.st_mode & 0777;
}

// The value after `flag` in an argv file of the test child.
std::string FlagValue(const std::vector<std::string>& lines, const std::string& flag) {
  for (size_t i = 0; i + 1 < lines.size(); ++i) {
    if (lines[i] == flag) return lines[i + 1];
  }
  return "";
}

class EmbeddedAuthTest : public RuntimeTest {
 protected:
  ProcessRuntimeOptions EmbeddedOptions() const {
    ProcessRuntimeOptions options = Options();
    options.nats_url.clear();
    options.redis_url.clear();
    return options;
  }

  // Starts set `id` with one test-child processor and returns its argv lines.
  std::vector<std::string> ApplySet(Runtime& runtime, const std::string& id) {
    ComponentSetSpec spec;
    spec.id = id;
    const fs::path out = out_.path() / id;
    fs::create_directories(out);
    spec.components = {{"processor", 1, "", {"--out", out.string()}}};
    Status applied = runtime.Apply(spec);
    EXPECT_TRUE(applied.ok()) << applied.ToString();
    EXPECT_TRUE(WaitFor([&] { return ArgsFiles(out, "processor-0-").size() == 1; }));
    auto files = ArgsFiles(out, "processor-0-");
    return files.empty() ? std::vector<std::string>{} : Lines(files[0]);
  }

  // A cnats connection with what the set's argv and files say.
  Result<std::unique_ptr<bus::Connection>> ConnectNatsAs(const std::vector<std::string>& argv) {
    bus::ConnectionOptions o;
    o.url = FlagValue(argv, "--nats-url");
    o.user = FlagValue(argv, "--nats-user");
    o.password = ReadText(FlagValue(argv, "--nats-password-file"));
    o.inbox_prefix = FlagValue(argv, "--nats-inbox-prefix");
    o.request_timeout = std::chrono::milliseconds(2000);
    return bus::Connection::Connect(o);
  }
  Result<std::unique_ptr<state::RedisClient>> ConnectRedisAs(const std::vector<std::string>& argv) {
    return state::RedisClient::Connect({.url = FlagValue(argv, "--redis-url"),
                                        .pool_size = 1,
                                        .username = FlagValue(argv, "--redis-user"),
                                        .password = ReadText(FlagValue(argv, "--redis-password-file"))});
  }
};

TEST_F(EmbeddedAuthTest, UnauthenticatedClientsAreRefused) {
  auto runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  const int nats_port = PortOf(runtime->NatsUrl());
  const int redis_port = PortOf(runtime->RedisUrl());

  // cnats without credentials: the server says who refused and why.
  auto anonymous = bus::Connection::Connect({.url = runtime->NatsUrl()});
  ASSERT_FALSE(anonymous.ok());
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthenticated) << anonymous.status().ToString();
  EXPECT_NE(anonymous.status().message().find("connect to " + runtime->NatsUrl()), std::string::npos)
      << anonymous.status().message();
  EXPECT_NE(RawExchange(nats_port, "CONNECT {\"verbose\":false}\r\nPING\r\n", "\r\n-ERR")
                .find("-ERR 'Authorization Violation'"),
            std::string::npos);
  // A wrong password is refused too.
  bus::ConnectionOptions wrong{.url = runtime->NatsUrl()};
  wrong.user = runtime->NatsCredentials().user;
  wrong.password = "not-the-password";
  auto refused = bus::Connection::Connect(wrong);
  EXPECT_EQ(refused.status().code(), Code::kUnauthenticated) << refused.status().ToString();

  // Redis: every command without AUTH is refused; a wrong password is named as such.
  EXPECT_NE(RawExchange(redis_port, "GET x\r\n", "\r\n").find("-NOAUTH"), std::string::npos);
  auto no_auth = state::RedisClient::Connect({.url = runtime->RedisUrl()});
  ASSERT_FALSE(no_auth.ok());
  EXPECT_NE(no_auth.status().message().find("NOAUTH"), std::string::npos) << no_auth.status().ToString();
  auto bad = state::RedisClient::Connect({.url = runtime->RedisUrl(), .password = "not-the-password"});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kUnauthenticated);
  EXPECT_NE(bad.status().message().find("redis 127.0.0.1:" + std::to_string(redis_port) + ": AUTH failed"),
            std::string::npos)
      << bad.status().message();
  EXPECT_EQ(bad.status().message().find("not-the-password"), std::string::npos);

  // The admin credentials the controller uses work, and are strong.
  EXPECT_EQ(runtime->RedisCredentials().password.size(), 64u);
  EXPECT_EQ(runtime->NatsCredentials().password.size(), 64u);
  auto admin = state::RedisClient::Connect({.url = runtime->RedisUrl(),
                                            .username = runtime->RedisCredentials().user,
                                            .password = runtime->RedisCredentials().password});
  EXPECT_TRUE(admin.ok()) << admin.status().ToString();
  // The servers' credential files are private; nothing secret is on their command lines.
  const fs::path work = EmbeddedOptions().work_dir;
  EXPECT_EQ(ModeOf(work / "nats-server.conf"), 0600u);
  EXPECT_EQ(ModeOf(work / "redis-users.acl"), 0600u);
}

TEST_F(EmbeddedAuthTest, ComponentsGetTheirCredentialsInPrivateFilesNotArgv) {
  auto runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  const std::vector<std::string> argv = ApplySet(*runtime, "ns1.a");
  ASSERT_FALSE(argv.empty());
  EXPECT_EQ(FlagValue(argv, "--nats-url"), runtime->NatsUrl());
  EXPECT_EQ(FlagValue(argv, "--redis-url"), runtime->RedisUrl());
  EXPECT_EQ(FlagValue(argv, "--nats-user"), "set-ns1.a");
  EXPECT_EQ(FlagValue(argv, "--redis-user"), "set-ns1.a");
  const fs::path nats_file = FlagValue(argv, "--nats-password-file");
  const fs::path redis_file = FlagValue(argv, "--redis-password-file");
  ASSERT_FALSE(nats_file.empty());
  ASSERT_FALSE(redis_file.empty());
  EXPECT_EQ(ModeOf(nats_file), 0600u);
  EXPECT_EQ(ModeOf(redis_file), 0600u);
  const std::string nats_password = ReadText(nats_file);
  const std::string redis_password = ReadText(redis_file);
  EXPECT_EQ(nats_password.size(), 64u);
  EXPECT_NE(nats_password, redis_password);
  for (const std::string& arg : argv) {
    EXPECT_EQ(arg.find(nats_password), std::string::npos) << arg;
    EXPECT_EQ(arg.find(redis_password), std::string::npos) << arg;
    EXPECT_EQ(arg.find(runtime->NatsCredentials().password), std::string::npos) << arg;
    EXPECT_EQ(arg.find(runtime->RedisCredentials().password), std::string::npos) << arg;
  }
  // The servers' own command lines carry no secret either (/proc/<pid>/cmdline is public).
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::ifstream cmd(entry.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (cmdline.find("kubesync-embedded") == std::string::npos &&
        cmdline.find("redis-server") == std::string::npos) {
      continue;
    }
    EXPECT_EQ(cmdline.find(runtime->NatsCredentials().password), std::string::npos);
    EXPECT_EQ(cmdline.find(runtime->RedisCredentials().password), std::string::npos);
    EXPECT_EQ(cmdline.find(nats_password), std::string::npos);
  }
  // And they log in.
  auto nats = ConnectNatsAs(argv);
  ASSERT_TRUE(nats.ok()) << nats.status().ToString();
  auto redis = ConnectRedisAs(argv);
  ASSERT_TRUE(redis.ok()) << redis.status().ToString();
}

TEST_F(EmbeddedAuthTest, EachSetReachesOnlyItsOwnStreamSubjectsAndKeys) {
  auto runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  const std::vector<std::string> a = ApplySet(*runtime, "ns1.a");
  const std::vector<std::string> b = ApplySet(*runtime, "ns2.b");
  ASSERT_FALSE(a.empty());
  ASSERT_FALSE(b.empty());

  auto nats_a = ConnectNatsAs(a);
  ASSERT_TRUE(nats_a.ok()) << nats_a.status().ToString();
  auto nats_b = ConnectNatsAs(b);
  ASSERT_TRUE(nats_b.ok()) << nats_b.status().ToString();
  // Each set works with its own stream: create, publish, consume.
  auto stream_a = (*nats_a)->EnsureStream({.id = "ns1.a", .memory_storage = true});
  ASSERT_TRUE(stream_a.ok()) << stream_a.status().ToString();
  auto stream_b = (*nats_b)->EnsureStream({.id = "ns2.b", .memory_storage = true});
  ASSERT_TRUE(stream_b.ok()) << stream_b.status().ToString();
  const std::string events_a = *bus::EventsSubject("ns1.a");
  const std::string events_b = *bus::EventsSubject("ns2.b");
  auto published = (*nats_b)->Publish(events_b, "secret payload of b", "b-1");
  ASSERT_TRUE(published.ok()) << published.status().ToString();
  // Asynchronous publishing gets its acks on the set's own inbox prefix too.
  auto async_pub = (*nats_b)->NewAsyncPublisher();
  ASSERT_TRUE(async_pub.ok()) << async_pub.status().ToString();
  ASSERT_TRUE((*async_pub)->Publish(events_b, "async payload of b", "b-2").ok());
  Status flushed = (*async_pub)->Flush(std::chrono::milliseconds(10'000));
  ASSERT_TRUE(flushed.ok()) << flushed.ToString();
  auto own = (*nats_b)->Subscribe({.stream = *stream_b, .durable = "reader", .filter_subject = events_b});
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  auto got = (*own)->Fetch(1, std::chrono::milliseconds(5000));
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].data(), "secret payload of b");
  EXPECT_TRUE((*got)[0].Ack().ok());

  // Set a cannot publish into b's subjects, read b's stream or consume from it.
  EXPECT_FALSE((*nats_a)->Publish(events_b, "forged", "a-1").ok());
  EXPECT_FALSE((*nats_a)->GetStreamStats(*stream_b).ok());
  EXPECT_FALSE(
      (*nats_a)->Subscribe({.stream = *stream_b, .durable = "thief", .filter_subject = events_b}).ok());
  EXPECT_FALSE((*nats_a)->EnsureStream({.id = "ns2.b", .memory_storage = true}).ok());
  auto stats_b = (*nats_b)->GetStreamStats(*stream_b);
  ASSERT_TRUE(stats_b.ok());
  EXPECT_EQ(stats_b->messages, 2u) << "nothing of a's reached b's stream";
  EXPECT_EQ(stats_b->consumers, 1) << "a created no consumer on b's stream";
  // ... nor eavesdrop on b's replies: it may subscribe to its own inbox prefix only.
  const std::string sniff = RawExchange(PortOf(runtime->NatsUrl()),
                                        "CONNECT {\"verbose\":false,\"user\":\"set-ns1.a\",\"pass\":\"" +
                                            ReadText(FlagValue(a, "--nats-password-file")) +
                                            "\"}\r\nSUB _INBOX_" + *stream_b + ".> 1\r\nSUB > 2\r\nPING\r\n",
                                        "PONG");
  EXPECT_NE(sniff.find("Permissions Violation for Subscription to \"_INBOX_" + *stream_b + ".>\""),
            std::string::npos)
      << sniff;
  EXPECT_NE(sniff.find("Permissions Violation for Subscription to \">\""), std::string::npos) << sniff;
  EXPECT_TRUE((*nats_a)->Publish(events_a, "own", "a-2").ok());

  // Redis: each set's user reaches its own keys only, and no dangerous command.
  auto redis_a = ConnectRedisAs(a);
  ASSERT_TRUE(redis_a.ok()) << redis_a.status().ToString();
  auto redis_b = ConnectRedisAs(b);
  ASSERT_TRUE(redis_b.ok()) << redis_b.status().ToString();
  EXPECT_TRUE((*redis_b)->Command({"HSET", "kubesync:ns2.b:obj:/configmaps/team/x", "rv", "7"}).ok());
  EXPECT_TRUE((*redis_a)->Command({"HSET", "kubesync:ns1.a:obj:/configmaps/team/x", "rv", "1"}).ok());
  auto read_b = (*redis_a)->Command({"HGETALL", "kubesync:ns2.b:obj:/configmaps/team/x"});
  ASSERT_FALSE(read_b.ok());
  EXPECT_NE(read_b.status().message().find("NOPERM"), std::string::npos) << read_b.status().ToString();
  EXPECT_FALSE((*redis_a)->Command({"DEL", "kubesync:ns2.b:stats"}).ok());
  EXPECT_FALSE((*redis_a)->Command({"FLUSHALL"}).ok());
  EXPECT_FALSE((*redis_a)->Command({"CONFIG", "SET", "requirepass", ""}).ok());
  auto still = (*redis_b)->Command({"HGET", "kubesync:ns2.b:obj:/configmaps/team/x", "rv"});
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->str, "7");
}

TEST_F(EmbeddedAuthTest, SetUsersOutliveARedisRestart) {
  auto runtime = Start(EmbeddedOptions());
  ASSERT_NE(runtime, nullptr);
  const std::vector<std::string> a = ApplySet(*runtime, "ns1.a");
  ASSERT_FALSE(a.empty());
  auto admin = state::RedisClient::Connect({.url = runtime->RedisUrl(),
                                            .username = runtime->RedisCredentials().user,
                                            .password = runtime->RedisCredentials().password});
  ASSERT_TRUE(admin.ok());
  // SHUTDOWN NOSAVE is what a crash looks like to the ACL file: only what was saved stays.
  (void)(*admin)->Command({"SHUTDOWN", "NOSAVE"});
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kRestarted, "redis-server") == 1; },
                      std::chrono::milliseconds(20'000)));
  ASSERT_TRUE(WaitFor(
      [&] {
        auto again = ConnectRedisAs(a);
        return again.ok();
      },
      std::chrono::milliseconds(20'000), std::chrono::milliseconds(100)));
}

}  // namespace
}  // namespace kubesync::runtime::testing

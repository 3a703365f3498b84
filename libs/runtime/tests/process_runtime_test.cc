#include "kubesync/runtime/process_runtime.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "kubesync/core/testing/fake_clock.h"
#include "kubesync/testsupport/process.h"
#include "runtime_test_util.h"

namespace kubesync::runtime::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using testsupport::ReadFile;
using testsupport::WaitFor;

int Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return static_cast<int>(st.st_mode & 0777);
}

class ProcessRuntimeTest : public RuntimeTest {
 protected:
  ComponentSetSpec Spec() const {
    ComponentSetSpec spec;
    spec.id = "ns1.sync1";
    spec.plan_json = R"({"name":"sync1"})";
    spec.source_kubeconfig = "source: kubeconfig\n";
    spec.destination_kubeconfig = "destination: kubeconfig\n";
    spec.log_level = "debug";
    spec.components.push_back({"eventslistener", 2, "", {"--out", out_.path().string(), "--workers", "8"}});
    spec.components.push_back({"processor", 1, "warn", {"--out", out_.path().string()}});
    return spec;
  }
  bool AllRunning(Runtime& runtime, const std::string& id, size_t n) {
    auto state = runtime.State(id);
    if (!state || state->components.size() != n) {
      return false;
    }
    for (const ComponentState& c : state->components) {
      if (!c.running) {
        return false;
      }
    }
    return true;
  }
  std::vector<pid_t> Pids(Runtime& runtime, const std::string& id) {
    std::vector<pid_t> pids;
    const std::optional<SetState> state = runtime.State(id);
    for (const ComponentState& c : state->components) {
      pids.push_back(c.pid);
    }
    return pids;
  }
};

TEST_F(ProcessRuntimeTest, StartsReplicasWithCommonFlagsAndFiles) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  // An fd without close-on-exec in the parent must not reach the children.
  const int leaked = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(leaked, 3);
  ASSERT_TRUE(runtime->Apply(Spec()).ok());
  ::close(leaked);

  ASSERT_TRUE(WaitFor([&] { return ArgsFiles(out_.path(), "").size() == 3; }));
  const fs::path dir = fs::path(Options().work_dir) / "ns1.sync1";
  auto el0 = ArgsFiles(out_.path(), "eventslistener-0-");
  ASSERT_EQ(el0.size(), 1u);
  EXPECT_EQ(Lines(el0[0]), (std::vector<std::string>{(bin_.path() / "eventslistener").string(),
                                                     "--plan",
                                                     (dir / "plan.json").string(),
                                                     "--source-kubeconfig",
                                                     (dir / "source.kubeconfig").string(),
                                                     "--destination-kubeconfig",
                                                     (dir / "destination.kubeconfig").string(),
                                                     "--nats-url",
                                                     "nats://127.0.0.1:14222",
                                                     "--redis-url",
                                                     "redis://127.0.0.1:16379/0",
                                                     "--operator-namespace",
                                                     "kubesync-system",
                                                     "--log-level",
                                                     "debug",
                                                     "--consumer-id",
                                                     "eventslistener-0",
                                                     "--out",
                                                     out_.path().string(),
                                                     "--workers",
                                                     "8",
                                                     "fds:0,1,2"}));
  EXPECT_EQ(ArgsFiles(out_.path(), "eventslistener-1-").size(), 1u);
  auto proc0 = ArgsFiles(out_.path(), "processor-0-");
  ASSERT_EQ(proc0.size(), 1u);
  auto lines = Lines(proc0[0]);
  // The component's own log level wins over the set's.
  auto level = std::find(lines.begin(), lines.end(), "--log-level");
  ASSERT_NE(level, lines.end());
  EXPECT_EQ(*(level + 1), "warn");

  EXPECT_EQ(ReadFile(dir / "plan.json"), R"({"name":"sync1"})");
  EXPECT_EQ(ReadFile(dir / "source.kubeconfig"), "source: kubeconfig\n");
  EXPECT_EQ(ReadFile(dir / "destination.kubeconfig"), "destination: kubeconfig\n");
  EXPECT_EQ(Mode(dir / "source.kubeconfig"), 0600);
  EXPECT_EQ(Mode(dir / "destination.kubeconfig"), 0600);
  // Output goes to one log per replica.
  EXPECT_TRUE(WaitFor([&] {
    return ReadFile(dir / "eventslistener-1.log").find("test child eventslistener-1 up") != std::string::npos;
  }));

  auto state = runtime->State("ns1.sync1");
  ASSERT_TRUE(state.has_value());
  EXPECT_TRUE(state->healthy);
  ASSERT_EQ(state->components.size(), 3u);
  EXPECT_EQ(state->components[1].name, "eventslistener");
  EXPECT_EQ(state->components[1].replica, 1);
  EXPECT_EQ(state->components[2].name, "processor");
  for (const ComponentState& c : state->components) {
    EXPECT_TRUE(c.running);
    EXPECT_TRUE(ProcessAlive(c.pid));
    EXPECT_EQ(c.restarts, 0);
  }
  EXPECT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kStarted) == 3; }));
  EXPECT_EQ(runtime->Sets(), std::vector<std::string>{"ns1.sync1"});
}

TEST_F(ProcessRuntimeTest, KilledChildRestartsWithBackoff) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  spec.components.resize(1);
  spec.components[0].replicas = 1;
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 1); }));

  for (int round = 1; round <= 3; ++round) {
    const pid_t pid = Pids(*runtime, spec.id)[0];
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    ASSERT_TRUE(WaitFor([&] {
      auto s = runtime->State(spec.id);
      return s->components[0].running && s->components[0].restarts == round;
    })) << "round "
        << round;
    EXPECT_NE(Pids(*runtime, spec.id)[0], pid);
    EXPECT_FALSE(ProcessAlive(pid));
    EXPECT_EQ(runtime->State(spec.id)->components[0].last_exit, "signal 9");
  }
  auto exited = recorder_.Of(EventKind::kExited, "eventslistener");
  auto restarted = recorder_.Of(EventKind::kRestarted, "eventslistener");
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kRestarted) == 3; }));
  restarted = recorder_.Of(EventKind::kRestarted, "eventslistener");
  ASSERT_EQ(exited.size(), 3u);
  EXPECT_EQ(exited[0].event.exit_code, 137);
  EXPECT_EQ(exited[0].event.set_id, "ns1.sync1");
  EXPECT_NE(exited[0].event.message.find("signal 9"), std::string::npos);
  // Backoff 100ms, 200ms, 400ms (jitter +-20%) between each exit and its restart.
  const milliseconds want[] = {milliseconds(80), milliseconds(160), milliseconds(320)};
  for (int i = 0; i < 3; ++i) {
    auto delay = std::chrono::duration_cast<milliseconds>(restarted[i].at - exited[i].at);
    EXPECT_GE(delay, want[i]) << "restart " << i;
  }
  EXPECT_TRUE(runtime->State(spec.id)->healthy);
}

TEST_F(ProcessRuntimeTest, RestartsAreScheduledOnTheInjectedClock) {
  kubesync::testing::FakeClock clock;
  ProcessRuntimeOptions options = Options();
  options.clock = &clock;
  options.restart_initial = std::chrono::hours(1);  // never within the test on a real clock
  options.restart_max = std::chrono::hours(2);
  auto runtime = Start(options);
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  spec.components = {{"processor", 1, "", {}}};
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 1); }));

  ASSERT_EQ(::kill(Pids(*runtime, spec.id)[0], SIGKILL), 0);
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kExited) == 1; }));
  clock.Advance(std::chrono::hours(3));  // past the hour of backoff (+-20% jitter)
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kRestarted) == 1; }));
  EXPECT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 1); }));
}

TEST_F(ProcessRuntimeTest, BackoffResetsAfterAStableRun) {
  ProcessRuntimeOptions options = Options();
  options.restart_initial = milliseconds(300);
  options.restart_max = milliseconds(2400);
  options.stable_after = milliseconds(500);
  auto runtime = Start(options);
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  spec.components = {{"processor", 1, "", {}}};
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 1); }));

  auto kill_and_wait_restart = [&](int round) {
    ASSERT_EQ(::kill(Pids(*runtime, spec.id)[0], SIGKILL), 0);
    ASSERT_TRUE(
        WaitFor([&] { return recorder_.Count(EventKind::kRestarted) == static_cast<size_t>(round); }));
  };
  kill_and_wait_restart(1);  // after ~300ms
  kill_and_wait_restart(2);  // after ~600ms: it crashed right after its restart
  const auto restarted = recorder_.Of(EventKind::kRestarted).back().at;
  ASSERT_TRUE(WaitFor([&] { return std::chrono::steady_clock::now() - restarted > milliseconds(700); }));
  kill_and_wait_restart(3);  // it ran longer than stable_after: ~300ms again, not ~1200ms

  auto exited = recorder_.Of(EventKind::kExited);
  auto again = recorder_.Of(EventKind::kRestarted);
  ASSERT_EQ(exited.size(), 3u);
  auto delay = [&](int i) { return std::chrono::duration_cast<milliseconds>(again[i].at - exited[i].at); };
  EXPECT_GE(delay(1), milliseconds(480));
  EXPECT_GE(delay(2), milliseconds(240));
  EXPECT_LT(delay(2), milliseconds(900));
}

TEST_F(ProcessRuntimeTest, GivesUpAfterMaxRestartsInARow) {
  ProcessRuntimeOptions options = Options();
  options.max_restarts = 2;
  auto runtime = Start(options);
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  spec.components = {{"processor", 1, "", {"--exit-code", "3"}}};
  ASSERT_TRUE(runtime->Apply(spec).ok());

  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kGaveUp) == 1; }));
  EXPECT_EQ(recorder_.Count(EventKind::kRestarted), 2u);
  EXPECT_EQ(recorder_.Count(EventKind::kExited), 3u);
  EXPECT_EQ(recorder_.Of(EventKind::kGaveUp)[0].event.exit_code, 3);
  auto state = runtime->State(spec.id);
  EXPECT_FALSE(state->healthy);
  EXPECT_FALSE(state->components[0].running);
  EXPECT_EQ(state->components[0].restarts, 2);
  EXPECT_EQ(state->components[0].last_exit, "exit 3");
}

TEST_F(ProcessRuntimeTest, StopLeavesNoProcess) {
  ProcessRuntimeOptions options = Options();
  options.grace = milliseconds(300);
  auto runtime = Start(options);
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  spec.components.push_back({"synchronizer", 1, "", {"--ignore-term", "--out", out_.path().string()}});
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 4); }));
  // Wait until the children installed their SIGTERM handlers (they write args first).
  ASSERT_TRUE(WaitFor([&] { return ArgsFiles(out_.path(), "").size() == 4; }));
  const std::vector<pid_t> pids = Pids(*runtime, spec.id);

  ASSERT_TRUE(runtime->Stop(spec.id).ok());
  for (pid_t pid : pids) {
    EXPECT_FALSE(ProcessAlive(pid)) << pid;
  }
  EXPECT_FALSE(runtime->State(spec.id).has_value());
  EXPECT_TRUE(runtime->Sets().empty());
  auto stopped = recorder_.Of(EventKind::kStopped);
  ASSERT_EQ(stopped.size(), 4u);
  for (const RecordedEvent& r : stopped) {
    // The one ignoring SIGTERM is killed after the grace period; the others exit 0.
    EXPECT_EQ(r.event.exit_code, r.event.component == "synchronizer" ? 137 : 0) << r.event.component;
  }
  EXPECT_TRUE(fs::exists(out_.path() / ("processor-0-" + std::to_string(pids[2]) + ".terminated")));

  Status again = runtime->Stop(spec.id);
  EXPECT_EQ(again.code(), Code::kNotFound);
  EXPECT_EQ(again.message(), "component set ns1.sync1 not found");
}

TEST_F(ProcessRuntimeTest, ApplySameSpecIsNoOpChangedSpecRestarts) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 3); }));
  const std::vector<pid_t> first = Pids(*runtime, spec.id);

  ASSERT_TRUE(runtime->Apply(spec).ok());
  EXPECT_EQ(Pids(*runtime, spec.id), first);
  EXPECT_EQ(recorder_.Count(EventKind::kStopped), 0u);

  spec.components[0].extra_args = {"--out", out_.path().string(), "--workers", "4"};
  spec.plan_json = R"({"name":"sync1","v":2})";
  ASSERT_TRUE(runtime->Apply(spec).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, spec.id, 3); }));
  const std::vector<pid_t> second = Pids(*runtime, spec.id);
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_NE(second[i], first[i]);
    EXPECT_FALSE(ProcessAlive(first[i]));
  }
  EXPECT_EQ(recorder_.Count(EventKind::kStopped), 3u);
  ASSERT_TRUE(WaitFor(
      [&] { return fs::exists(out_.path() / ("eventslistener-0-" + std::to_string(second[0]) + ".args")); }));
  auto lines = Lines(out_.path() / ("eventslistener-0-" + std::to_string(second[0]) + ".args"));
  EXPECT_EQ(lines[lines.size() - 2], "4");
  EXPECT_EQ(ReadFile(fs::path(Options().work_dir) / spec.id / "plan.json"), R"({"name":"sync1","v":2})");
}

TEST_F(ProcessRuntimeTest, RejectsInvalidSpecs) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec = Spec();
  spec.components[1].replicas = 0;
  Status s = runtime->Apply(spec);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "component set ns1.sync1: component processor has replicas 0, want at least 1");

  spec = Spec();
  spec.components[0].name = "missing";
  s = runtime->Apply(spec);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "component set ns1.sync1: no executable " + (bin_.path() / "missing").string());

  spec = Spec();
  spec.id = "../escape";
  EXPECT_EQ(runtime->Apply(spec).code(), Code::kInvalidArgument);
  spec.id = "nats";
  s = runtime->Apply(spec);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "component set id \"nats\" is reserved");
  EXPECT_TRUE(runtime->Sets().empty());
  EXPECT_FALSE(fs::exists(fs::path(Options().work_dir) / "ns1.sync1"));
}

TEST_F(ProcessRuntimeTest, DestructorStopsEverything) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  ASSERT_TRUE(runtime->Apply(Spec()).ok());
  ASSERT_TRUE(WaitFor([&] { return AllRunning(*runtime, "ns1.sync1", 3); }));
  const std::vector<pid_t> pids = Pids(*runtime, "ns1.sync1");
  runtime.reset();
  for (pid_t pid : pids) {
    EXPECT_FALSE(ProcessAlive(pid)) << pid;
  }
}

// The controller process is SIGKILLed: its children get SIGTERM (PR_SET_PDEATHSIG).
TEST_F(ProcessRuntimeTest, ChildrenDieWithTheSupervisor) {
  const pid_t supervisor = ::fork();
  ASSERT_GE(supervisor, 0);
  if (supervisor == 0) {
    auto runtime = StartProcessRuntime(Options(), nullptr);
    if (!runtime.ok() || !(*runtime)->Apply(Spec()).ok()) {
      ::_exit(1);
    }
    while (true) {
      ::pause();
    }
  }
  ASSERT_TRUE(WaitFor([&] { return ArgsFiles(out_.path(), "").size() == 3; }));
  std::vector<pid_t> children;
  for (const fs::path& p : ArgsFiles(out_.path(), "")) {
    const std::string stem = p.stem().string();
    children.push_back(std::stoi(stem.substr(stem.rfind('-') + 1)));
    EXPECT_TRUE(ProcessAlive(children.back()));
  }
  ASSERT_EQ(::kill(supervisor, SIGKILL), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(supervisor, &status, 0), supervisor);
  for (pid_t pid : children) {
    EXPECT_TRUE(WaitFor([&] { return !ProcessAlive(pid); })) << pid;
  }
}

TEST(ProcessRuntimeOptionsTest, RequiresDirectories) {
  auto r = StartProcessRuntime(ProcessRuntimeOptions{}, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "process runtime: work_dir is required");
}

}  // namespace
}  // namespace kubesync::runtime::testing

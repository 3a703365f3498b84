// The work directory is private (issue 10 item 9): created 0700, a planted symlink, a
// directory of another user or one with group/other permissions refused, and the files and
// directories the runtime writes inside 0600/0700.
#include "kubesync/runtime/work_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include "kubesync/testsupport/process.h"
#include "runtime_test_util.h"

namespace kubesync::runtime::testing {
namespace {

namespace fs = std::filesystem;
using testsupport::WaitFor;

int Mode(const fs::path& p) {
  struct stat st {};
  EXPECT_EQ(::lstat(p.c_str(), &st), 0) << p;
  return static_cast<int>(st.st_mode & 07777);
}

class WorkDirTest : public RuntimeTest {
 protected:
  fs::path Path(const std::string& name) const { return work_.path() / name; }
  void MakeDir(const fs::path& p, mode_t mode) {
    ASSERT_EQ(::mkdir(p.c_str(), 0700), 0) << p;
    ASSERT_EQ(::chmod(p.c_str(), mode), 0) << p;
  }
  // The process runtime does not start on `dir`, with the same error, and creates nothing in it.
  void ExpectRuntimeRefuses(const fs::path& dir, const Status& want) {
    ProcessRuntimeOptions options = Options();
    options.work_dir = dir.string();
    auto runtime = StartProcessRuntime(options, recorder_.Sink());
    EXPECT_EQ(runtime.status().code(), want.code()) << dir;
    EXPECT_EQ(runtime.status().message(), want.message()) << dir;
    EXPECT_FALSE(fs::exists(dir / "jobs")) << dir;
  }
};

TEST_F(WorkDirTest, CreatesTheDirectoryAndMissingParents0700) {
  const fs::path dir = Path("a") / "b" / "work";
  ASSERT_TRUE(EnsurePrivateDirectory(dir).ok()) << EnsurePrivateDirectory(dir).ToString();
  EXPECT_EQ(Mode(dir), 0700);
  EXPECT_EQ(Mode(Path("a")), 0700);
  EXPECT_EQ(Mode(Path("a") / "b"), 0700);
  // Again: it is ours and private.
  EXPECT_TRUE(EnsurePrivateDirectory(dir).ok());
}

TEST_F(WorkDirTest, ASymlinkPlantedInAdvanceIsRefused) {
  // Someone creates the predictable path first, pointing at a directory of their choosing.
  const fs::path target = Path("attacker");
  MakeDir(target, 0700);
  const fs::path link = Path("work");
  fs::create_symlink(target, link);
  const Status s = EnsurePrivateDirectory(link);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "work directory " + link.string() +
                             " is a symbolic link: refusing it (remove it, or choose another --work-dir)");
  // The runtime does not start on it, and writes nothing through it.
  ExpectRuntimeRefuses(link, s);
  EXPECT_TRUE(fs::is_empty(target));

  // A dangling symlink (to where the attacker wants a directory created) too.
  const fs::path dangling = Path("dangling");
  fs::create_symlink(Path("not-yet"), dangling);
  EXPECT_EQ(EnsurePrivateDirectory(dangling).code(), Code::kFailedPrecondition);
  EXPECT_FALSE(fs::exists(Path("not-yet")));
}

TEST_F(WorkDirTest, ADirectoryOfAnotherUserIsRefused) {
  // The tests run as root, which can hand the directory to another uid, as another user
  // creating it first would.
  ASSERT_EQ(::geteuid(), 0u) << "this test needs root to chown";
  const fs::path dir = Path("work");
  MakeDir(dir, 0700);
  ASSERT_EQ(::chown(dir.c_str(), 12345, 12345), 0);
  const Status s = EnsurePrivateDirectory(dir);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "work directory " + dir.string() +
                             " is owned by uid 12345, not by this user (uid 0): refusing it (remove it, or "
                             "choose another --work-dir)");
  ExpectRuntimeRefuses(dir, s);
}

TEST_F(WorkDirTest, GroupOrOtherPermissionsAreRefused) {
  for (const mode_t mode : {0755, 0770, 0701, 01777}) {
    const fs::path dir = Path("work-" + std::to_string(mode));
    MakeDir(dir, mode);
    const Status s = EnsurePrivateDirectory(dir);
    EXPECT_EQ(s.code(), Code::kFailedPrecondition) << mode;
    char octal[8];
    std::snprintf(octal, sizeof octal, "%04o", static_cast<unsigned>(mode));
    EXPECT_EQ(s.message(), "work directory " + dir.string() + " has mode " + octal +
                               ": group and other permissions are not allowed (chmod 700 it)");
    EXPECT_EQ(Mode(dir), static_cast<int>(mode));  // refused, not repaired
    ExpectRuntimeRefuses(dir, s);
  }
}

TEST_F(WorkDirTest, AFileIsNotADirectory) {
  const fs::path file = Path("work");
  testsupport::WriteFile(file, "x");
  const Status s = EnsurePrivateDirectory(file);
  EXPECT_EQ(s.code(), Code::kFailedPrecondition);
  EXPECT_EQ(s.message(), "work directory " + file.string() + " exists and is not a directory");
}

TEST_F(WorkDirTest, DefaultIsUnderTmpdirPerUser) {
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", "/var/tmp/x", 1);
  EXPECT_EQ(DefaultWorkDir(), "/var/tmp/x/kubesync-controller-" + std::to_string(::geteuid()));
  ::unsetenv("TMPDIR");
  EXPECT_EQ(DefaultWorkDir(), "/tmp/kubesync-controller-" + std::to_string(::geteuid()));
  if (old != nullptr) ::setenv("TMPDIR", saved.c_str(), 1);
}

TEST_F(WorkDirTest, FilesInsideArePrivate) {
  ::umask(022);  // the usual umask: nothing inside may come out group/other readable anyway
  ProcessRuntimeOptions options = Options();
  auto runtime = Start(options);
  ASSERT_NE(runtime, nullptr);
  const fs::path work = options.work_dir;
  EXPECT_EQ(Mode(work), 0700);
  EXPECT_EQ(Mode(work / "jobs"), 0700);

  ComponentSetSpec spec;
  spec.id = "ns1.sync1";
  spec.plan_json = R"({"name":"sync1"})";
  spec.source_kubeconfig = "source: kubeconfig\n";
  spec.destination_kubeconfig = "destination: kubeconfig\n";
  spec.components.push_back({"eventslistener", 1, "", {"--out", out_.path().string()}});
  ASSERT_TRUE(runtime->Apply(spec).ok());
  JobSpec job;
  job.id = "taskrun.ns1.run1";
  job.binary = "restorer";
  job.args = {"--exit-code", "0"};
  job.files = {{"kubeconfig", "kubeconfig-data"}};
  ASSERT_TRUE(runtime->RunJob(job).ok());
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kJobFinished) == 1; }));
  ASSERT_TRUE(WaitFor([&] { return fs::exists(work / "ns1.sync1" / "eventslistener-0.log"); }));

  const fs::path set = work / "ns1.sync1";
  EXPECT_EQ(Mode(set), 0700);
  EXPECT_EQ(Mode(set / "plan.json"), 0600);
  EXPECT_EQ(Mode(set / "source.kubeconfig"), 0600);
  EXPECT_EQ(Mode(set / "destination.kubeconfig"), 0600);
  EXPECT_EQ(Mode(set / "eventslistener-0.log"), 0600);
  const fs::path jobdir = work / "jobs" / job.id;
  EXPECT_EQ(Mode(jobdir), 0700);
  EXPECT_EQ(Mode(jobdir / "kubeconfig"), 0600);
  EXPECT_EQ(Mode(jobdir / "job.log"), 0600);
}

TEST_F(WorkDirTest, ALogFileSymlinkPlantedInsideIsNotFollowed) {
  // Defence in depth: were a symlink ever inside, the log is not written through it.
  ProcessRuntimeOptions options = Options();
  const fs::path work = options.work_dir;
  ASSERT_TRUE(EnsurePrivateDirectory(work / "ns1.sync1").ok());
  const fs::path victim = Path("victim");
  testsupport::WriteFile(victim, "keep\n");
  fs::create_symlink(victim, work / "ns1.sync1" / "eventslistener-0.log");
  auto runtime = Start(options);
  ASSERT_NE(runtime, nullptr);
  ComponentSetSpec spec;
  spec.id = "ns1.sync1";
  spec.plan_json = "{}";
  spec.components.push_back({"eventslistener", 1, "", {"--out", out_.path().string()}});
  (void)runtime->Apply(spec);  // the replica cannot start: its log cannot be opened
  runtime.reset();
  EXPECT_EQ(testsupport::ReadFile(victim), "keep\n");
}

}  // namespace
}  // namespace kubesync::runtime::testing

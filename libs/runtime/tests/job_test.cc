#include <gtest/gtest.h>

#include <filesystem>

#include "kubesync/runtime/process_runtime.h"
#include "kubesync/testsupport/process.h"
#include "runtime_test_util.h"

namespace kubesync::runtime::testing {
namespace {

namespace fs = std::filesystem;
using testsupport::WaitFor;

class JobTest : public RuntimeTest {};

TEST_F(JobTest, ReportsExitCodeAndWritesFiles) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  JobSpec job;
  job.id = "taskrun.ns1.run1";
  job.binary = "restorer";
  job.args = {"--out", out_.path().string(), "--copy", "{file:kubeconfig}", "--exit-code", "3"};
  job.files = {{"kubeconfig", "kubeconfig-data"}};
  ASSERT_TRUE(runtime->RunJob(job).ok());

  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kJobFinished) == 1; }));
  const Event e = recorder_.Of(EventKind::kJobFinished)[0].event;
  EXPECT_EQ(e.set_id, "taskrun.ns1.run1");
  EXPECT_EQ(e.component, "restorer");
  EXPECT_EQ(e.exit_code, 3);
  EXPECT_EQ(e.message, "exit 3");
  EXPECT_FALSE(runtime->JobRunning(job.id));

  const fs::path file = fs::path(Options().work_dir) / "jobs" / job.id / "kubeconfig";
  auto args = ArgsFiles(out_.path(), "job-");
  ASSERT_EQ(args.size(), 1u);
  auto lines = Lines(args[0]);
  EXPECT_EQ(lines[4], file.string());  // {file:kubeconfig} replaced by the path
  EXPECT_NE(std::find(lines.begin(), lines.end(), "copy:kubeconfig-data"), lines.end());
  EXPECT_NE(std::find(lines.begin(), lines.end(), "mode:600"), lines.end());

  // The same id can run again once finished.
  job.args = {"--exit-code", "0"};
  ASSERT_TRUE(runtime->RunJob(job).ok());
  ASSERT_TRUE(WaitFor([&] { return recorder_.Count(EventKind::kJobFinished) == 2; }));
  EXPECT_EQ(recorder_.Of(EventKind::kJobFinished)[1].event.exit_code, 0);
}

TEST_F(JobTest, RejectsARunningIdAndUnknownFiles) {
  auto runtime = Start(Options());
  ASSERT_NE(runtime, nullptr);
  JobSpec job;
  job.id = "taskrun.ns1.run2";
  job.binary = "restorer";
  job.args = {"--out", out_.path().string()};  // waits for SIGTERM
  ASSERT_TRUE(runtime->RunJob(job).ok());
  EXPECT_TRUE(runtime->JobRunning(job.id));
  Status again = runtime->RunJob(job);
  EXPECT_EQ(again.code(), Code::kAlreadyExists);
  EXPECT_EQ(again.message(), "job taskrun.ns1.run2 is still running");

  JobSpec bad;
  bad.id = "taskrun.ns1.run3";
  bad.binary = "restorer";
  bad.args = {"--config", "{file:missing}"};
  Status s = runtime->RunJob(bad);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message(), "job taskrun.ns1.run3: argument \"{file:missing}\" names a file not in files");
  EXPECT_FALSE(runtime->JobRunning(bad.id));
  // Destroying the runtime kills the job still running.
  ASSERT_TRUE(WaitFor([&] { return ArgsFiles(out_.path(), "job-").size() == 1; }));
  const std::string name = ArgsFiles(out_.path(), "job-")[0].stem().string();
  const pid_t pid = std::stoi(name.substr(name.rfind('-') + 1));
  EXPECT_TRUE(ProcessAlive(pid));
  runtime.reset();
  EXPECT_FALSE(ProcessAlive(pid));
}

}  // namespace
}  // namespace kubesync::runtime::testing

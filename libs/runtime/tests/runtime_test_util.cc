#include "runtime_test_util.h"

#include <signal.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace kubesync::runtime::testing {

namespace fs = std::filesystem;

bool ProcessAlive(pid_t pid) {
  if (pid <= 0 || ::kill(pid, 0) != 0) {
    return false;
  }
  // A zombie still answers kill(0); read its state.
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = content.rfind(')');
  return close == std::string::npos || close + 2 >= content.size() || content[close + 2] != 'Z';
}

std::vector<fs::path> ArgsFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".args") {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> Lines(const fs::path& file) {
  std::vector<std::string> lines;
  std::istringstream in(testsupport::ReadFile(file));
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
  }
  return lines;
}

RuntimeTest::RuntimeTest() {
  for (const char* name : {"eventslistener", "processor", "synchronizer", "restorer"}) {
    fs::create_symlink(KS_TEST_CHILD_BIN, bin_.path() / name);
  }
}

ProcessRuntimeOptions RuntimeTest::Options() const {
  ProcessRuntimeOptions options;
  options.bin_dir = bin_.path().string();
  options.work_dir = (work_.path() / "work").string();
  options.nats_url = "nats://127.0.0.1:14222";
  options.redis_url = "redis://127.0.0.1:16379/0";
  options.operator_namespace = "kubesync-system";
  options.grace = std::chrono::milliseconds(2000);
  options.restart_initial = std::chrono::milliseconds(100);
  options.restart_max = std::chrono::milliseconds(400);
  return options;
}

std::unique_ptr<Runtime> RuntimeTest::Start(const ProcessRuntimeOptions& options) {
  auto runtime = StartProcessRuntime(options, recorder_.Sink());
  EXPECT_TRUE(runtime.ok()) << runtime.status().ToString();
  return runtime.ok() ? std::move(runtime).value() : nullptr;
}

}  // namespace kubesync::runtime::testing

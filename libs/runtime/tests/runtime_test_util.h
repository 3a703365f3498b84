// Shared pieces of the runtime tests: an event recorder and a fixture that puts the test
// child binary into a bin_dir under the component names.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "kubesync/runtime/process_runtime.h"
#include "kubesync/testsupport/process.h"

namespace kubesync::runtime::testing {

struct RecordedEvent {
  Event event;
  std::chrono::steady_clock::time_point at;
};

class EventRecorder {
 public:
  EventSink Sink() {
    return [this](const Event& e) {
      std::lock_guard lock(mu_);
      events_.push_back({e, std::chrono::steady_clock::now()});
    };
  }
  std::vector<RecordedEvent> Events() const {
    std::lock_guard lock(mu_);
    return events_;
  }
  std::vector<RecordedEvent> Of(EventKind kind, const std::string& component = "") const {
    std::vector<RecordedEvent> out;
    for (const RecordedEvent& r : Events()) {
      if (r.event.kind == kind && (component.empty() || r.event.component == component)) {
        out.push_back(r);
      }
    }
    return out;
  }
  size_t Count(EventKind kind, const std::string& component = "") const { return Of(kind, component).size(); }

 private:
  mutable std::mutex mu_;
  std::vector<RecordedEvent> events_;
};

// True while a process with this pid exists (and is not a zombie).
bool ProcessAlive(pid_t pid);

// The argv files the test child wrote into `dir`, by file name.
std::vector<std::filesystem::path> ArgsFiles(const std::filesystem::path& dir, const std::string& prefix);
std::vector<std::string> Lines(const std::filesystem::path& file);

class RuntimeTest : public ::testing::Test {
 protected:
  RuntimeTest();
  // Options with fixed (not embedded) server URLs, short backoffs and grace.
  ProcessRuntimeOptions Options() const;
  std::unique_ptr<Runtime> Start(const ProcessRuntimeOptions& options);

  testsupport::TempDir work_;
  testsupport::TempDir bin_;
  testsupport::TempDir out_;
  EventRecorder recorder_;
};

}  // namespace kubesync::runtime::testing

// Starting and stopping the real servers a test needs (nats-server, redis-server, the
// Kubernetes emulator, ...). A Process is stopped by the pid it started, never by name:
// other work shares the machine.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "kubesync/core/status.h"

namespace kubesync::testsupport {

struct ProcessOptions {
  std::vector<std::string> argv;             // argv[0] is the program (PATH is searched)
  std::map<std::string, std::string> env;    // added to (and overriding) the inherited environment
  std::filesystem::path stdout_path;         // empty: inherit
  std::filesystem::path stderr_path;         // empty: inherit
  std::filesystem::path working_dir;         // empty: inherit
};

// Owns one child process; the destructor sends SIGTERM, then SIGKILL after a grace period.
class Process {
 public:
  static Result<Process> Start(ProcessOptions options);

  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  bool Running();
  // Sends `signal` to the child (by pid); no-op once it has been reaped.
  void Signal(int signal);
  // SIGTERM, wait up to `grace`, then SIGKILL; reaps the child. Returns its exit status
  // as waitpid reports it (or -1 when it was already reaped).
  int Stop(std::chrono::milliseconds grace = std::chrono::milliseconds(3000));
  // SIGKILL now and reap.
  void Kill();
  // Waits for the child to exit on its own, up to `timeout`; returns the exit code
  // (128+signal when killed by a signal) or nullopt on timeout.
  std::optional<int> Wait(std::chrono::milliseconds timeout);

 private:
  explicit Process(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> exit_status_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read, close).
int FreePort();

// Polls `condition` every `interval` until it holds or `timeout` elapses. This is the only
// way tests wait: on a condition with a deadline, never a bare sleep.
bool WaitFor(const std::function<bool()>& condition,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000),
             std::chrono::milliseconds interval = std::chrono::milliseconds(10));

// True when something accepts TCP connections on 127.0.0.1:port.
bool PortAcceptsConnections(int port);

// Starts a server process (stdout and stderr to `log_path`) and waits until it accepts TCP
// connections on 127.0.0.1:`port`. On timeout the process is stopped and the error carries
// the server's log.
Result<Process> StartServer(ProcessOptions options, int port, const std::filesystem::path& log_path,
                            std::chrono::milliseconds timeout = std::chrono::milliseconds(10'000));

// A fresh directory under $TMPDIR, removed with its contents by the destructor.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::string ReadFile(const std::filesystem::path& path);
void WriteFile(const std::filesystem::path& path, const std::string& content);

}  // namespace kubesync::testsupport

// Process plumbing of the process runtime: fork/exec with the child set up for supervision
// (own process group, parent-death signal, fds closed, output to a log), termination with a
// grace period, and small file and port helpers. Private to libs/runtime.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "kubesync/core/status.h"

namespace kubesync::runtime::internal {

struct SpawnRequest {
  std::vector<std::string> argv;   // argv[0] is an absolute path or one looked up on PATH
  std::filesystem::path log_path;  // empty: inherit stdout/stderr; else appended to
};

// Forks and execs. The child gets its own process group, stdin from /dev/null, default
// signal dispositions and an empty signal mask, no fds but 0-2, and SIGTERM when the thread
// that forked it dies (PR_SET_PDEATHSIG): call this from a thread that lives as long as
// the children should. Returns once exec succeeded; Internal (with errno text) when it did
// not, the child then already reaped.
Result<pid_t> Spawn(const SpawnRequest& request);

// Non-blocking: true once `pid` (a child of ours) has exited; it is not reaped.
bool HasExited(pid_t pid);

// Kills what is left of `pid`'s process group and reaps `pid` (blocking). Returns the wait
// status.
int Reap(pid_t pid);

// SIGTERM to each process (and its group); waits up to `grace` for all of them; SIGKILL
// to the rest; reaps all. Returns the wait statuses in input order.
std::vector<int> TerminateAll(const std::vector<pid_t>& pids, std::chrono::milliseconds grace);

// "exit 1", "signal 9".
std::string DescribeWaitStatus(int status);
// The exit code, or 128 + signal number when killed by a signal.
int ExitCode(int status);

// Writes `contents` to `path` with mode 0600 (also when it existed with another mode).
Status WritePrivateFile(const std::filesystem::path& path, const std::string& contents);

// The last `max_bytes` of a file, "" when unreadable.
std::string TailOfFile(const std::filesystem::path& path, size_t max_bytes = 2000);

// True when something accepts TCP connections on 127.0.0.1:port, and, after `send` is
// written, the first bytes it sends start with `expect` (within `timeout`).
bool ProbeTcp(int port, const std::string& send, const std::string& expect,
              std::chrono::milliseconds timeout);
// A port on 127.0.0.1 that was free a moment ago.
Result<int> PickFreePort();

// The absolute path of `program` on $PATH (or `program` itself when it has a slash);
// NotFound when there is none.
Result<std::string> FindOnPath(const std::string& program);

}  // namespace kubesync::runtime::internal

#include "spawn.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

namespace kubesync::runtime::internal {
namespace {

std::string ErrnoText(int err) { return std::strerror(err); }

// Closes an fd on scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  void Reset(int fd = -1) {
    if (fd_ >= 0) {
      ::close(fd_);
    }
    fd_ = fd;
  }

 private:
  int fd_;
};

// Moves `fd` to a number >= 10 (close-on-exec), so that setting up 0-3 in the child never
// overwrites it, even when this program runs with stdin/stdout/stderr closed.
int AboveStdio(int fd) {
  if (fd < 0 || fd >= 10) {
    return fd;
  }
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 10);
  ::close(fd);
  return moved;
}

// Runs in the forked child: only async-signal-safe calls until exec.
[[noreturn]] void ExecChild(char* const* argv, pid_t parent, int null_fd, int log_fd, int err_fd) {
  ::setpgid(0, 0);
  // Dies with the forking thread of the supervisor; if that already happened between fork
  // and prctl, getppid() no longer names it.
  ::prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (::getppid() != parent) {
    ::_exit(127);
  }
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) {
      ::sigaction(sig, &dfl, nullptr);
    }
  }
  sigset_t empty;
  ::sigemptyset(&empty);
  ::sigprocmask(SIG_SETMASK, &empty, nullptr);

  ::dup2(null_fd, 0);
  if (log_fd >= 0) {
    ::dup2(log_fd, 1);
    ::dup2(log_fd, 2);
  }
  // Keep the exec-error pipe as fd 3 (close-on-exec) and close everything above it.
  if (err_fd != 3) {
    ::dup3(err_fd, 3, O_CLOEXEC);
  }
  ::close_range(4, UINT_MAX, 0);
  ::execv(argv[0], argv);
  int err = errno;
  ssize_t ignored = ::write(3, &err, sizeof(err));
  (void)ignored;
  ::_exit(127);
}

}  // namespace

Result<pid_t> Spawn(const SpawnRequest& request) {
  if (request.argv.empty()) {
    return InvalidArgumentError("spawn: empty argv");
  }
  std::vector<std::string> args = request.argv;
  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);

  Fd null_fd(AboveStdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (null_fd.get() < 0) {
    return InternalError("open /dev/null: " + ErrnoText(errno));
  }
  Fd log_fd;
  if (!request.log_path.empty()) {
    // Logs may hold object names and errors: 0600 (also when an older run left 0644), and
    // never written through a symbolic link.
    int fd = ::open(request.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
      return InternalError("open " + request.log_path.string() + ": " + ErrnoText(errno));
    }
    log_fd.Reset(AboveStdio(fd));
    if (::fchmod(log_fd.get(), 0600) != 0) {
      return InternalError("chmod " + request.log_path.string() + ": " + ErrnoText(errno));
    }
  }
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return InternalError("pipe2: " + ErrnoText(errno));
  }
  Fd err_read(pipe_fds[0]);
  Fd err_write(AboveStdio(pipe_fds[1]));

  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    return InternalError("fork: " + ErrnoText(errno));
  }
  if (pid == 0) {
    ExecChild(argv.data(), parent, null_fd.get(), log_fd.get(), err_write.get());
  }
  // Both sides set the group, so signalling the group works whichever runs first.
  ::setpgid(pid, pid);
  err_write.Reset();
  int child_errno = 0;
  ssize_t n;
  do {
    n = ::read(err_read.get(), &child_errno, sizeof(child_errno));
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return InternalError("exec " + request.argv[0] + ": " + ErrnoText(child_errno));
  }
  return pid;
}

bool HasExited(pid_t pid) {
  siginfo_t info;
  std::memset(&info, 0, sizeof(info));
  if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) != 0) {
    return errno == ECHILD;  // not (or no longer) our child: treat as gone
  }
  return info.si_pid != 0;
}

int Reap(pid_t pid) {
  // While `pid` is an unreaped zombie its id cannot be reused, so the group is still ours.
  ::kill(-pid, SIGKILL);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return status;
}

std::vector<int> TerminateAll(const std::vector<pid_t>& pids, std::chrono::milliseconds grace) {
  for (pid_t pid : pids) {
    ::kill(-pid, SIGTERM);
    ::kill(pid, SIGTERM);
  }
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (true) {
    bool all = true;
    for (pid_t pid : pids) {
      if (!HasExited(pid)) {
        all = false;
        break;
      }
    }
    if (all || std::chrono::steady_clock::now() >= deadline) {
      break;
    }
    // Polling a process we signalled: there is no fd to wait on for a child's exit
    // without taking SIGCHLD away from the rest of the program.
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::vector<int> statuses;
  statuses.reserve(pids.size());
  for (pid_t pid : pids) {
    if (!HasExited(pid)) {
      ::kill(-pid, SIGKILL);
      ::kill(pid, SIGKILL);
    }
    statuses.push_back(Reap(pid));
  }
  return statuses;
}

std::string DescribeWaitStatus(int status) {
  if (status < 0) {
    return "unknown";
  }
  if (WIFEXITED(status)) {
    return "exit " + std::to_string(WEXITSTATUS(status));
  }
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status));
  }
  return "unknown";
}

int ExitCode(int status) {
  if (status >= 0 && WIFEXITED(status)) {
    return WEXITSTATUS(status);
  }
  if (status >= 0 && WIFSIGNALED(status)) {
    return 128 + WTERMSIG(status);
  }
  return -1;
}

Status WritePrivateFile(const std::filesystem::path& path, const std::string& contents) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) {
    return InternalError("open " + path.string() + ": " + ErrnoText(errno));
  }
  if (::fchmod(fd.get(), 0600) != 0) {
    return InternalError("chmod " + path.string() + ": " + ErrnoText(errno));
  }
  size_t off = 0;
  while (off < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + off, contents.size() - off);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return InternalError("write " + path.string() + ": " + ErrnoText(errno));
    }
    off += static_cast<size_t>(n);
  }
  return OkStatus();
}

std::string TailOfFile(const std::filesystem::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return "";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string all = ss.str();
  return all.size() <= max_bytes ? all : all.substr(all.size() - max_bytes);
}

bool ProbeTcp(int port, const std::string& send, const std::string& expect,
              std::chrono::milliseconds timeout) {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return false;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return false;
  }
  if (!send.empty() &&
      ::send(fd.get(), send.data(), send.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(send.size())) {
    return false;
  }
  std::string got;
  char buf[256];
  while (got.size() < expect.size()) {
    ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
    if (n <= 0) {
      return false;
    }
    got.append(buf, static_cast<size_t>(n));
  }
  return got.compare(0, expect.size(), expect) == 0;
}

Result<int> PickFreePort() {
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) {
    return InternalError("socket: " + ErrnoText(errno));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return InternalError("bind: " + ErrnoText(errno));
  }
  socklen_t len = sizeof(addr);
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return InternalError("getsockname: " + ErrnoText(errno));
  }
  return static_cast<int>(ntohs(addr.sin_port));
}

Result<std::string> FindOnPath(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (::access(program.c_str(), X_OK) != 0) {
      return NotFoundError(program + " is not an executable file");
    }
    return program;
  }
  const char* path = std::getenv("PATH");
  // Debian installs nats-server in /usr/sbin, which a user's PATH may lack.
  std::stringstream dirs(std::string(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin") +
                         ":/usr/local/sbin:/usr/sbin:/sbin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) {
      dir = ".";
    }
    std::string candidate = dir + "/" + program;
    if (::access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
  }
  return NotFoundError(program + " not found on PATH");
}

}  // namespace kubesync::runtime::internal

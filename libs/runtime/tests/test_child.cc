// A stand-in component for the runtime tests. Flags (anywhere in argv):
//   --out DIR        write argv (one per line), then "fds:<open fds at start>", to
//                    DIR/<consumer-id or "job">-<pid>.args
//   --exit-code N    exit with N right after writing, instead of waiting
//   --copy FILE      append FILE's contents and mode to the .args file
//   --ignore-term    ignore SIGTERM (the runtime must SIGKILL after its grace)
// Otherwise it waits until SIGTERM and exits 0, writing DIR/<...>-<pid>.terminated.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_terminated = 0;

void OnTerm(int) { g_terminated = 1; }

}  // namespace

// The open fds, before this program opens any.
std::string OpenFds() {
  std::string fds;
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    return "?";
  }
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] != '.' && std::atoi(e->d_name) != ::dirfd(dir)) {
      fds += (fds.empty() ? "" : ",") + std::string(e->d_name);
    }
  }
  ::closedir(dir);
  return fds;
}

int main(int argc, char** argv) {
  const std::string open_fds = OpenFds();
  std::vector<std::string> args(argv, argv + argc);
  std::string out, consumer = "job", copy;
  int exit_code = -1;
  bool ignore_term = false;
  for (size_t i = 1; i < args.size(); ++i) {
    const bool has_value = i + 1 < args.size();
    if (args[i] == "--out" && has_value) {
      out = args[++i];
    } else if (args[i] == "--consumer-id" && has_value) {
      consumer = args[++i];
    } else if (args[i] == "--exit-code" && has_value) {
      exit_code = std::atoi(args[++i].c_str());
    } else if (args[i] == "--copy" && has_value) {
      copy = args[++i];
    } else if (args[i] == "--ignore-term") {
      ignore_term = true;
    }
  }
  std::signal(SIGTERM, ignore_term ? SIG_IGN : OnTerm);
  const std::string base = out + "/" + consumer + "-" + std::to_string(getpid());
  if (!out.empty()) {
    std::ofstream f(base + ".args.tmp");
    for (const std::string& a : args) {
      f << a << "\n";
    }
    f << "fds:" << open_fds << "\n";
    if (!copy.empty()) {
      std::ifstream in(copy);
      std::stringstream ss;
      ss << in.rdbuf();
      struct stat st {};
      ::stat(copy.c_str(), &st);
      f << "copy:" << ss.str() << "\nmode:" << std::oct << (st.st_mode & 0777) << "\n";
    }
    f.close();
    std::rename((base + ".args.tmp").c_str(), (base + ".args").c_str());
  }
  std::printf("test child %s up\n", consumer.c_str());
  std::fflush(stdout);
  if (exit_code >= 0) {
    return exit_code;
  }
  while (!g_terminated) {
    ::pause();
  }
  if (!out.empty()) {
    std::ofstream(base + ".terminated") << "bye\n";
  }
  return 0;
}

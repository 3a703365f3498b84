// The private work directory: mkdir 0700, then checks on an O_NOFOLLOW descriptor.
#include "kubesync/runtime/work_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kubesync::runtime {
namespace {

namespace fs = std::filesystem;

std::string ErrnoText(int err) { return std::strerror(err); }

std::string Octal(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// mkdir 0700; OK when it already exists (checked afterwards by the caller).
Status MakeDirectory(const fs::path& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return OkStatus();
  return InternalError("work directory: create " + path.string() + ": " + ErrnoText(errno));
}

}  // namespace

Status EnsurePrivateDirectory(const fs::path& path) {
  if (path.empty()) return InvalidArgumentError("work directory: empty path");
  // Missing parents are created 0700 too; existing ones (/tmp, /var/lib) are left as they are.
  fs::path partial;
  for (auto it = path.begin(); it != path.end(); ++it) {
    partial /= *it;
    if (partial == partial.root_path() || it->empty()) continue;
    struct stat st;
    if (::lstat(partial.c_str(), &st) == 0) continue;
    KS_RETURN_IF_ERROR(MakeDirectory(partial));
  }
  const std::string name = path.string();
  // The checks are made on what was opened, not on the name (no check-then-use race):
  // O_NOFOLLOW fails on a symbolic link as the last component (ELOOP), O_DIRECTORY on
  // anything but a directory.
  const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    struct stat st;
    if (err == ELOOP || (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))) {
      return FailedPreconditionError(
          "work directory " + name +
          " is a symbolic link: refusing it (remove it, or choose another --work-dir)");
    }
    if (err == ENOTDIR) {
      return FailedPreconditionError("work directory " + name + " exists and is not a directory");
    }
    return InternalError("work directory: open " + name + ": " + ErrnoText(err));
  }
  struct stat st;
  const int rc = ::fstat(fd, &st);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return InternalError("work directory: stat " + name + ": " + ErrnoText(err));
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("work directory " + name + " exists and is not a directory");
  }
  const uid_t me = ::geteuid();
  if (st.st_uid != me) {
    return FailedPreconditionError("work directory " + name + " is owned by uid " +
                                   std::to_string(st.st_uid) + ", not by this user (uid " +
                                   std::to_string(me) +
                                   "): refusing it (remove it, or choose another --work-dir)");
  }
  if ((st.st_mode & 077) != 0) {
    return FailedPreconditionError("work directory " + name + " has mode " + Octal(st.st_mode) +
                                   ": group and other permissions are not allowed (chmod 700 it)");
  }
  return OkStatus();
}

std::string DefaultWorkDir() {
  const char* tmp = std::getenv("TMPDIR");
  const std::string base = tmp != nullptr && *tmp != '\0' ? tmp : "/tmp";
  return (fs::path(base) / ("kubesync-controller-" + std::to_string(::geteuid()))).string();
}

}  // namespace kubesync::runtime

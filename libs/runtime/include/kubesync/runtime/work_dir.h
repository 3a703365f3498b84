// The process runtime's work directory (kubeconfigs, plans, logs, embedded server data) is
// private to the user the controller runs as. A predictable path under a shared directory
// such as /tmp is otherwise open to symlink and swap attacks: another local user creates
// the path first (as a symlink to a place of their choosing, or a directory they own or
// can write) and then reads the kubeconfigs or swaps the files the components read.
//
// Thread-safe (no shared state); never throws.
#pragma once

#include <filesystem>
#include <string>

#include "kubesync/core/status.h"

namespace kubesync::runtime {

// Makes sure `path` is a directory private to this process's effective user:
//  * missing: created with mode 0700 (missing parents too, 0700);
//  * then, whether it was just created or already there, opened with
//    O_NOFOLLOW|O_DIRECTORY and checked on the open descriptor (fstat): it must not be a
//    symbolic link, must be a directory, owned by the effective uid, with no group or
//    other permission bits.
// A directory that fails a check is refused, never repaired: FailedPrecondition naming the
// path and what is wrong ("... is a symbolic link", "... is owned by uid 1234, not by this
// user (uid 1000)", "... has mode 0755: group and other permissions are not allowed (chmod
// 700 it)"). Internal for other system errors (with errno text).
Status EnsurePrivateDirectory(const std::filesystem::path& path);

// The controller's default work directory: "$TMPDIR/kubesync-controller-<euid>" ("/tmp"
// when TMPDIR is unset or empty). The uid keeps users apart; EnsurePrivateDirectory refuses
// one that someone else created first.
std::string DefaultWorkDir();

}  // namespace kubesync::runtime

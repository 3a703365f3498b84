// Persistence for --data-dir: an append-only journal of committed writes (one JSON line
// each, written with write(2) before the client gets its answer, so a SIGKILL loses
// nothing acknowledged) compacted into a snapshot file at start and at clean shutdown.
// Watch history is not persisted: after a restart clients re-list on 410, as after an
// etcd compaction.
#pragma once

#include <filesystem>
#include <mutex>
#include <string>

#include "kubesync/core/status.h"
#include "store.h"

namespace kubesync::emulator {

class Journal {
 public:
  explicit Journal(std::filesystem::path dir);
  ~Journal();

  // Replays snapshot + journal into `store`, then rewrites the snapshot and empties the
  // journal. Call once, before serving.
  Status Open(Store& store);
  // Appends one committed event. Thread-safe; records may land out of RV order (replay sorts).
  void Append(const Event& event);
  // Writes a snapshot of `store` and empties the journal (clean shutdown).
  Status Checkpoint(const Store& store);

 private:
  Status WriteSnapshot(const Store& store);

  std::filesystem::path dir_;
  std::mutex mu_;
  int fd_ = -1;
};

}  // namespace kubesync::emulator

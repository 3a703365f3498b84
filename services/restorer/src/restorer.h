// restorer: runs the Task of one TaskRun on the destination cluster and reports the
// outcome in the TaskRun's status (.helpers/s2-contract.md, "TaskRun"). The controller
// starts it once per TaskRun:
//   restorer --destination-kubeconfig FILE --namespace NS --taskrun NAME
//            [--log-level L] [--consumer-id ID]
// Exit 0 = Succeeded, 1 = Failed (status written), 2 = the status could not be written.
// A TaskRun already Succeeded/Failed is left alone (exit 0/1). One left Running (the
// restorer was killed) is run again from the start: every step is idempotent (objects with
// nothing to change are not written).
#pragma once

#include <chrono>
#include <string>

#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"
#include "kubesync/recovery/task.h"

namespace kubesync::restorer {

enum ExitCode : int { kExitSucceeded = 0, kExitFailed = 1, kExitNoStatus = 2 };

struct RestorerOptions {
  std::string namespace_;  // of the TaskRun and its Task
  std::string taskrun;
  const Clock* clock = &SystemClock::Get();
  // Attempts of a status write on 409 Conflict (the controller writes conditions too).
  int status_conflict_retries = 5;
  recovery::RunOptions run;
};

// Reads the TaskRun, then its Task; writes status phase Running + startTime; runs the
// Task; writes the final status. Returns an ExitCode. Blocks; never throws.
int RestoreTaskRun(kube::Client& destination, const RestorerOptions& options, const log::Logger& logger);

// Go's time.Duration.String() to the millisecond: "0s", "532ms", "1.532s", "2m3s", "1h0m5.2s".
std::string FormatGoDuration(std::chrono::milliseconds d);

}  // namespace kubesync::restorer

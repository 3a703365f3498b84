// restorer: runs the Task of one TaskRun on the destination cluster and reports the
// outcome in the TaskRun's status (.helpers/s2-contract.md, "TaskRun"). The controller
// starts it once per TaskRun:
//   restorer --destination-kubeconfig FILE --namespace NS --taskrun NAME
//            [--log-level L] [--consumer-id ID]
// Exit 0 = Succeeded, 1 = Failed (status written), 2 = the status could not be written,
// 3 = not claimed: the TaskRun is (or became) another restorer's, nothing was touched.
//
// A TaskRun runs at most once. The restorer claims it by moving status.phase from Pending
// (or empty) to Running with an update that carries the resourceVersion it read: of two
// restorers started for one TaskRun only one update succeeds, the other gets 409 Conflict.
// On 409 the TaskRun is read again: when its phase has moved on, another restorer claimed
// it (exit 3, a log line, nothing written); when it is still Pending (the controller wrote
// a condition meanwhile) the claim is tried again. A TaskRun already Running (claimed, or
// left by a killed restorer), Succeeded or Failed is never run again (exit 3, 0, 1).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"
#include "kubesync/recovery/task.h"

namespace kubesync::restorer {

enum ExitCode : int { kExitSucceeded = 0, kExitFailed = 1, kExitNoStatus = 2, kExitNotClaimed = 3 };

struct RestorerOptions {
  std::string namespace_;  // of the TaskRun and its Task
  std::string taskrun;
  const Clock* clock = &SystemClock::Get();
  // Attempts of a status write on 409 Conflict (the controller writes conditions too).
  int status_conflict_retries = 5;
  recovery::RunOptions run;
  // Test hook: called after the TaskRun and its Task were read, before the claim.
  std::function<void()> before_claim;
};

// Reads the TaskRun, then its Task; claims the TaskRun (status phase Running + startTime);
// runs the Task; writes the final status. Returns an ExitCode. Blocks; never throws.
int RestoreTaskRun(kube::Client& destination, const RestorerOptions& options, const log::Logger& logger);

// Go's time.Duration.String() to the millisecond: "0s", "532ms", "1.532s", "2m3s", "1h0m5.2s".
std::string FormatGoDuration(std::chrono::milliseconds d);

}  // namespace kubesync::restorer

// The reconciler binary's composition root: flags -> context -> source and destination
// clients, NATS (unless --dry-run) and Redis (optional) -> Reconciler.
//
//   reconciler ... --once [--dry-run]   one pass, the drift report on stdout, then exit
//   reconciler ...                      a pass after --initial-delay, then one every
//                                       resyncPeriod, until SIGTERM/SIGINT
//
// Exit codes: 0 a pass completed and judged every resource (or an orderly shutdown);
// 1 it could not start, or some resource could not be judged; 2 invalid flags or plan;
// 3 the mass-deletion guard stopped the pass's deletes.
#pragma once

namespace kubesync::reconciler {

int Run(int argc, char** argv);

}  // namespace kubesync::reconciler

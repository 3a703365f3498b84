// The synchronizer binary: writes transformed objects from the sync subjects of one
// LiveSynchronization to the destination cluster (DESIGN.md; pipeline contract).
//   synchronizer --plan FILE --destination-kubeconfig F --nats-url URL --redis-url URL
//                [--partitions N] [--ack-wait-seconds S] ...
// One worker thread per partition. SIGTERM/SIGINT: stop fetching, finish the message in
// hand, exit 0.
#pragma once

namespace kubesync::synchronizer {

// The whole program (service::RunComponent); returns the process exit code (0 after a
// clean shutdown, 2 for bad flags or an invalid plan, 1 when a required connection cannot
// be set up).
int Run(int argc, char** argv);

}  // namespace kubesync::synchronizer

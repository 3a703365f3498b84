// The reconciler: resync by diff (DESIGN.md, "reconciler"). One pass lists the destination
// (every object this LiveSynchronization marked, in every resource the destination serves),
// then the source (what the plan selects), and compares them by content hash:
//
//   selected in the source, absent in the destination        -> missing: RESYNC
//   selected, destination copy holds other content           -> stale:   RESYNC
//     (the source changed, or the copy was edited by hand: transform::Drifted)
//   marked copy in the destination, nothing selected for it  -> extra:   DELETE_REQUEST
//     (deleted in the source, out of scope, or its rule removed from the plan)
//
// What must change goes down the pipeline like any other event: published on the events
// subject, so the processor applies filters and transformations once, and the
// synchronizer writes. Every message carries verify_destination: the synchronizer then
// looks at the destination's actual content instead of trusting its Redis record and the
// copy's hash annotation (which a hand edit does not change). A DELETE_REQUEST carries the
// destination copy's uid and resourceVersion as the reconciler saw them: the synchronizer
// deletes only that copy, unchanged, with both as preconditions.
//
// Safety:
//  - Only objects IsManagedBy this LiveSynchronization AND carrying a source uid (copies of
//    source objects) are ever extra; namespaces the synchronizer created and the recovery
//    Task carry none and are never touched; unmarked objects are never listed.
//  - The mass-deletion guard: when more extras than max(mass_delete_min,
//    mass_delete_fraction x managed copies) would go, no DELETE_REQUEST is sent and the
//    pass reports guard_tripped (an empty or wrong source is likelier than a real mass
//    delete).
//  - A resource whose source or destination cannot be listed is not judged: nothing of
//    it is deleted, and the pass counts it as failed.
//  - Redis is not read: the two clusters are the truth, so a wiped Redis changes nothing.
//
// Listing is paged; the destination side is kept as one small summary per copy (no
// objects), the source side is streamed.
//
// Thread-safety: one pass at a time per Reconciler (RunPass is not reentrant); the clients
// and the publish function may be shared with other threads.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/backoff.h"
#include "kubesync/core/clock.h"
#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/plan/plan.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/state/pass_summary.h"

namespace kubesync::reconciler {

// Publishes one message on the events subject and waits for the stream's ack. Thread-safe.
using PublishFn =
    std::function<Status(std::string_view subject, std::string_view data, std::string_view msg_id)>;

struct ReconcilerConfig {
  std::string id;              // "<namespace>.<name>" of the LiveSynchronization
  std::string events_subject;  // bus::EventsSubject(id)
  int64_t page_size = 500;
  // The mass-deletion guard: a pass deletes nothing when its extras exceed both
  // mass_delete_min and mass_delete_fraction of the destination's managed copies.
  // mass_delete_fraction 1 turns the guard off.
  double mass_delete_fraction = 0.5;
  int64_t mass_delete_min = 10;
  BackoffPolicy publish_backoff{std::chrono::milliseconds(100), std::chrono::milliseconds(5000), 2.0, 0.2};
};

// What one pass found and did for one resource (the destination's version of it).
struct ResourceReport {
  plan::Gvr gvr;
  bool in_plan = false;
  int64_t managed = 0;  // marked copies in the destination
  int64_t missing = 0;
  int64_t stale = 0;
  int64_t extra = 0;
  int64_t written = 0;  // RESYNC messages published (missing + stale, unless dry run)
  int64_t deleted = 0;  // DELETE_REQUEST messages published
  std::string error;    // set when the resource could not be judged
};

struct PassReport {
  std::vector<ResourceReport> resources;  // plan resources first, then the others with copies
  bool dry_run = false;
  bool guard_tripped = false;
  int64_t guard_limit = 0;  // the most extras the guard lets through
  // The destination's discovery failed (in part): copies of resources outside the plan
  // may have been missed. Counted as one failed resource.
  bool discovery_failed = false;
  std::string discovery_error;
  std::chrono::system_clock::time_point started;
  std::chrono::milliseconds duration{0};

  ResourceReport Total() const;  // sums; gvr empty; error = how many resources failed
  int64_t failed_resources() const;
  state::PassSummary Summary() const;
};

// The drift report: one JSON object per resource, then the total, e.g.
//   {"apiGroup":"apps","apiVersion":"v1","resource":"deployments","missing":1,"stale":0,
//    "extra":0,"written":1,"deleted":0}
//   {"total":true,"missing":1,"stale":0,"extra":0,"written":1,"deleted":0,"resources":3}
// A resource that could not be judged has "error"; the total has "guardTripped":true and
// "dryRun":true when they apply.
std::vector<nlohmann::json> ReportLines(const PassReport& report);

class Reconciler {
 public:
  // `source`, `destination`, `plan` and `clock` must outlive the Reconciler.
  Reconciler(kube::Client& source, kube::Client& destination, const plan::Plan& plan, ReconcilerConfig config,
             PublishFn publish, log::Logger logger, nlohmann::json source_cluster,
             nlohmann::json destination_cluster, const Clock* clock = &SystemClock::Get());

  // One pass. With `dry_run` nothing is published. kCancelled when `cancel` becomes true
  // (nothing more is published then); other errors are per resource, in the report.
  Result<PassReport> RunPass(bool dry_run, const std::atomic<bool>* cancel = nullptr);

 private:
  struct Pass;
  struct Target;
  struct Copy;

  std::vector<Target> DestinationTargets(Pass& pass);
  void ListDestination(Pass& pass, Target& target);
  void CompareSource(Pass& pass, Target& target);
  // Applies the mass-deletion guard, then publishes the DELETE_REQUESTs; fills the
  // report's guard fields.
  Status DeleteExtras(Pass& pass, PassReport& report);
  Status EnsureNamespaceLabels(Pass& pass);
  // Publishes until acked (retrying with backoff); kCancelled when the pass is cancelled.
  Status PublishEvent(Pass& pass, proto::Event event);
  bool Cancelled(const Pass& pass) const;

  kube::Client& source_;
  kube::Client& destination_;
  const plan::Plan& plan_;
  ReconcilerConfig config_;
  PublishFn publish_;
  log::Logger logger_;
  nlohmann::json source_cluster_;
  nlohmann::json destination_cluster_;
  const Clock* clock_;
};

}  // namespace kubesync::reconciler

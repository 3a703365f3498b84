// Applies one sync message to the destination cluster: the synchronizer's per-message
// step (pipeline contract, "synchronizer"):
//   decode -> Redis Check (stale/unchanged: no write) -> ensure the namespace ->
//   create (when Redis records no live copy; AlreadyExists -> GET) or GET -> create /
//   update (transform::ForUpdate; 409 -> re-read and retry) / delete (only objects this
//   LiveSynchronization manages, uid precondition) -> Redis commit + counter -> the
//   caller acks.
// A reconciler's message (verify_destination) replaces the Redis check by a read of the
// record that only refuses older versions, and "unchanged" then needs the destination's
// actual content to match (a copy edited by hand is written again); its DELETE_REQUEST
// deletes only the copy it judged (same uid and resourceVersion).
// The Applier never acks itself: it returns what to do with the message, so a crash at
// any point leaves the message unacked and it is applied again (idempotently).
//
// Thread-safety: Apply may be called from many threads at once (one per partition); the
// kube Client, the state store and the Logger are thread-safe; the namespace cache is
// guarded.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/discovery.h"
#include "kubesync/plan/plan.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/state/object_state.h"
#include "kubesync/state/problems.h"
#include "kubesync/state/source_identity.h"

namespace kubesync::synchronizer {

struct ApplierOptions {
  std::string id;  // the LiveSynchronization "<namespace>.<name>"
  bool dry_run = false;
  bool force_namespace_creation = false;
  std::string destination_cluster;            // KubernetesCluster name, for destinationCluster
  std::string destination_cluster_namespace;  // its namespace
  // Re-reads after a 409 Conflict (or a create racing another writer) before giving the
  // message back to NATS.
  int max_conflict_retries = 5;
  std::string field_manager = "kubesync-synchronizer";
  // What may be created or updated (CheckInPlan); nullptr refuses every create and update.
  std::shared_ptr<const plan::Plan> plan;
};

// What became of one message.
enum class Effect {
  kCreated,
  kUpdated,
  kDeleted,
  kSkippedStale,      // an older or repeated event (Redis)
  kSkippedUnchanged,  // same content as what was applied (Redis or the destination's hash)
  kAlreadyGone,       // delete of an object the destination does not have
  kRefusedUnmanaged,  // the destination object was not created by this LiveSynchronization
  kNamespaceKept,     // a Namespace to delete holds objects kubesync did not create: unmarked, kept
  kRefusedNotInPlan,  // a create or update of something the plan does not replicate
  kDryRun,            // dryRun: logged, nothing written
  kNamespaceMissing,  // no namespace and no forceNamespaceCreation: try again later
  kRetry,             // a retryable failure (network, 429/5xx, Redis down, repeated conflicts)
  kFailed,            // a terminal failure (invalid object, forbidden, ...)
  kInvalidMessage,    // the payload does not decode or is for another LiveSynchronization
};
std::string_view EffectName(Effect effect);

enum class Disposition { kAck, kNak, kTerm };

struct Outcome {
  Effect effect = Effect::kFailed;
  Status error;  // for kRetry, kFailed, kInvalidMessage

  Disposition disposition() const;
};

class Applier {
 public:
  // `destination`, `state` and `problems` (may be null) must outlive the Applier.
  // With `problems`: a version older than the one an object's problem entry names is not
  // applied (skipped as stale: the object was given up on at a newer version), and an
  // entry goes once a version at least as new is applied.
  Applier(kube::Client* destination, state::ObjectStateStore* state, log::Logger logger,
          ApplierOptions options, state::ProblemStore* problems = nullptr);

  // `keepalive` (may be empty) is called before every remote call, so the caller can tell
  // NATS the message is still being worked on.
  Outcome Apply(std::string_view payload, const std::function<void()>& keepalive = nullptr);
  Outcome ApplyEvent(const proto::Event& event, const std::function<void()>& keepalive = nullptr);

  // Records that `event` was given up on (state::kProblem* `reason`), so that older versions
  // of the object stay out from now on (other replicas notice within a second). OK without
  // a ProblemStore (nothing recorded); kUnavailable when Redis is away.
  Status Park(const proto::Event& event, std::string_view reason, const Status& error, uint64_t deliveries);

  // Where to leave notes for the controller's Events (a Namespace kept for its users'
  // objects); may stay unset. Must outlive the Applier.
  void SetNotes(state::SourceIdentityStore* notes) { notes_ = notes; }

 private:
  struct Call;  // one message in progress: event, log fields, keepalive

  Outcome Upsert(Call& call);
  Outcome Remove(Call& call);
  // For a reconciler's message (verify_destination): kStale only when Redis records a newer
  // version (or a delete at this one); never kUnchanged.
  Result<state::CheckResult> VerifyCheck(Call& call);
  // OK when the namespace exists (or was created); otherwise the Outcome to return.
  std::optional<Outcome> EnsureNamespace(Call& call);
  // Issue 10 item 5: deleting a Namespace deletes everything in it. Before deleting one we
  // manage, look at what it holds: when anything there was not created by this
  // LiveSynchronization, remove our marks instead and keep it (a Warning log and a note).
  // nullopt: nothing foreign, go on deleting it.
  std::optional<Outcome> KeepNamespaceInUse(Call& call, const nlohmann::json& existing);
  // "<resource> <name>" of the objects in `ns` this LiveSynchronization did not create
  // (at most `limit`, plus a count of all), or an error when it cannot tell.
  Result<std::pair<std::vector<std::string>, size_t>> ForeignObjectsIn(const std::string& ns, size_t limit);
  // The destination object, nullopt when not found; an error Outcome otherwise.
  Result<std::optional<nlohmann::json>> Read(Call& call);
  Outcome Commit(Call& call, Effect effect);
  // The object's problem entry (nullopt when none, or when there surely is none); an error
  // Outcome when Redis cannot tell, or kSkippedStale when the entry is for a newer version.
  std::optional<Outcome> CheckProblem(Call& call);
  // Whether the problems hash may have entries: HLEN, remembered for a second, so that
  // with no problems (the usual case) no message pays a Redis call for them.
  bool MayHaveProblems();
  Outcome Failure(Call& call, std::string_view msg, const Status& error);

  void ForgetNamespace(const std::string& ns);

  kube::Client* destination_;
  state::ObjectStateStore* state_;
  state::SourceIdentityStore* notes_ = nullptr;
  kube::Discovery discovery_;
  log::Logger logger_;
  ApplierOptions options_;
  nlohmann::json cluster_ref_;

  state::ProblemStore* problems_;

  std::mutex mu_;
  std::set<std::string> known_namespaces_;
  std::chrono::steady_clock::time_point problems_checked_;  // guarded by mu_
  bool may_have_problems_ = true;                           // guarded by mu_
};

}  // namespace kubesync::synchronizer

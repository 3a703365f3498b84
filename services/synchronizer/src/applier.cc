#include "applier.h"

#include <algorithm>
#include <utility>

#include "decision.h"
#include "kubesync/kube/errors.h"
#include "kubesync/kube/namespaces.h"
#include "kubesync/kube/object_meta.h"
#include "kubesync/service/log_fields.h"
#include "kubesync/transform/clean.h"
#include "kubesync/transform/mark.h"

namespace kubesync::synchronizer {

namespace {

using nlohmann::json;

plan::Gvr ToPlanGvr(const proto::Gvr& gvr) { return plan::Gvr{gvr.group, gvr.version, gvr.resource}; }

const plan::Gvr kNamespacesGvr{"", "v1", "namespaces"};

// Errors worth another delivery later: the network, 429/5xx, timeouts, conflicts that kept
// coming, an expired token (the client re-reads it), and a namespace that is still being
// terminated (403 NamespaceTerminating: it will be gone, then created again).
bool IsTransient(const Status& s) {
  if (s.IsRetryable() || s.code() == Code::kAborted || s.code() == Code::kUnauthenticated ||
      s.code() == Code::kCancelled) {
    return true;
  }
  return s.code() == Code::kPermissionDenied && s.message().find("terminat") != std::string::npos;
}

}  // namespace

std::string_view EffectName(Effect effect) {
  switch (effect) {
    case Effect::kCreated:
      return "created";
    case Effect::kUpdated:
      return "updated";
    case Effect::kDeleted:
      return "deleted";
    case Effect::kSkippedStale:
      return "skipped-stale";
    case Effect::kSkippedUnchanged:
      return "skipped-unchanged";
    case Effect::kAlreadyGone:
      return "already-gone";
    case Effect::kRefusedUnmanaged:
      return "refused-unmanaged";
    case Effect::kNamespaceKept:
      return "namespace-kept";
    case Effect::kRefusedNotInPlan:
      return "refused-not-in-plan";
    case Effect::kDryRun:
      return "dry-run";
    case Effect::kNamespaceMissing:
      return "namespace-missing";
    case Effect::kRetry:
      return "retry";
    case Effect::kFailed:
      return "failed";
    case Effect::kInvalidMessage:
      return "invalid-message";
  }
  return "unknown";
}

Disposition Outcome::disposition() const {
  switch (effect) {
    case Effect::kNamespaceMissing:
    case Effect::kRetry:
      return Disposition::kNak;
    case Effect::kRefusedUnmanaged:
    case Effect::kRefusedNotInPlan:
    case Effect::kFailed:
    case Effect::kInvalidMessage:
      return Disposition::kTerm;
    default:
      return Disposition::kAck;
  }
}

struct Applier::Call {
  proto::Event event;
  plan::Gvr gvr;
  std::string key;
  std::string hash;
  std::optional<uint64_t> problem_rv;  // the object's problem entry, when it has one
  json desired;                        // upserts only
  const std::function<void()>* keepalive = nullptr;
  json base;  // the log fields every line of this message carries

  void Touch() const {
    if (keepalive != nullptr && *keepalive) (*keepalive)();
  }
  kube::ResourceRef Ref(bool named = true) const {
    return kube::ResourceRef{gvr.group, gvr.version, gvr.resource, event.namespace_, named ? event.name : ""};
  }
  json Fields(const json& destination) const {
    json fields = base;
    fields["destinationObject"] = service::ObjectRef(gvr, destination);
    return fields;
  }
};

Applier::Applier(kube::Client* destination, state::ObjectStateStore* state, log::Logger logger,
                 ApplierOptions options, state::ProblemStore* problems)
    : destination_(destination),
      state_(state),
      discovery_(*destination),
      logger_(std::move(logger)),
      options_(std::move(options)),
      cluster_ref_(service::ClusterRef(options_.destination_cluster, options_.destination_cluster_namespace)),
      problems_(problems) {}

bool Applier::MayHaveProblems() {
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (now - problems_checked_ < std::chrono::seconds(1)) return may_have_problems_;
  }
  Result<int64_t> count = problems_->Count(options_.id);
  std::lock_guard<std::mutex> lock(mu_);
  problems_checked_ = now;
  may_have_problems_ = !count.ok() || *count > 0;  // unsure: look
  return may_have_problems_;
}

Status Applier::Park(const proto::Event& event, std::string_view reason, const Status& error,
                     uint64_t deliveries) {
  if (problems_ == nullptr) return OkStatus();
  KS_RETURN_IF_ERROR(problems_->Report(
      options_.id,
      state::Problem{proto::ObjectKey(event), event.uid, event.resource_version_number, std::string(reason),
                     "synchronizer", error.ToString(), static_cast<int64_t>(deliveries), 0}));
  std::lock_guard<std::mutex> lock(mu_);
  may_have_problems_ = true;
  problems_checked_ = std::chrono::steady_clock::now();
  return OkStatus();
}

std::optional<Outcome> Applier::CheckProblem(Call& call) {
  if (problems_ == nullptr || !MayHaveProblems()) return std::nullopt;
  call.Touch();
  auto problem = problems_->Get(options_.id, call.key);
  if (!problem.ok()) return Failure(call, "error reading object state", problem.status());
  if (!problem->has_value()) return std::nullopt;
  call.problem_rv = (*problem)->rv;
  // Given up on at a newer version: an older one must not take the object back in time.
  if (call.event.resource_version_number > 0 && (*problem)->rv > call.event.resource_version_number) {
    return Outcome{Effect::kSkippedStale, {}};
  }
  return std::nullopt;
}

Outcome Applier::Apply(std::string_view payload, const std::function<void()>& keepalive) {
  auto event = proto::Decode(payload);
  if (!event.ok()) {
    logger_.Error("invalid message payload", {{"error", event.status().ToString()}});
    return Outcome{Effect::kInvalidMessage, event.status()};
  }
  return ApplyEvent(*event, keepalive);
}

Outcome Applier::ApplyEvent(const proto::Event& event, const std::function<void()>& keepalive) {
  Call call;
  call.event = event;
  call.gvr = ToPlanGvr(event.gvr);
  call.key = proto::ObjectKey(event);
  call.keepalive = &keepalive;
  call.base = {{"sourceObject", service::ObjectRef(event)},
               {"destinationCluster", cluster_ref_},
               {"event", service::EventField(event.type)}};
  if (options_.dry_run) call.base["dryRun"] = true;

  if (event.live_synchronization_id != options_.id) {
    Status error =
        InvalidArgumentError("message for live synchronization \"" + event.live_synchronization_id +
                             "\", this synchronizer serves \"" + options_.id + "\"");
    logger_.Error("invalid message payload",
                  {{"sourceObject", call.base["sourceObject"]}, {"error", error.ToString()}});
    return Outcome{Effect::kInvalidMessage, error};
  }
  if (event.type == proto::EventType::kDeleted || event.type == proto::EventType::kDeleteRequest) {
    return Remove(call);
  }
  call.desired = json::parse(event.object_json, nullptr, /*allow_exceptions=*/false);
  if (!call.desired.is_object()) {
    Status error = InvalidArgumentError("envelope.object_json: not a JSON object");
    logger_.Error("invalid message payload",
                  {{"sourceObject", call.base["sourceObject"]}, {"error", error.ToString()}});
    return Outcome{Effect::kInvalidMessage, error};
  }
  // Never write what the plan does not replicate, whoever published the message.
  Status in_plan = options_.plan != nullptr
                       ? CheckInPlan(*options_.plan, call.gvr, event.namespace_, event.name, call.desired)
                       : PermissionDeniedError("no plan: nothing may be created or updated");
  if (!in_plan.ok()) {
    logger_.Error("object not in the plan; refused", {{"sourceObject", call.base["sourceObject"]},
                                                      {"destinationCluster", cluster_ref_},
                                                      {"event", call.base["event"]},
                                                      {"error", in_plan.ToString()}});
    return Outcome{Effect::kRefusedNotInPlan, in_plan};
  }
  call.hash = event.content_hash.empty() ? transform::ContentHash(call.desired) : event.content_hash;
  if (event.source_epoch > 0) {
    // Not part of the content hash: the same content from a rebuilt source is the same content.
    json& meta = call.desired["metadata"];
    if (meta.is_null()) meta = json::object();
    if (meta.is_object() && (!meta.contains("annotations") || meta["annotations"].is_null())) {
      meta["annotations"] = json::object();
    }
    if (meta.is_object() && meta["annotations"].is_object()) {
      meta["annotations"][std::string(kSourceEpochAnnotation)] = std::to_string(event.source_epoch);
    }
  }
  json last_update = service::LastUpdate(call.desired);
  if (!last_update.is_null()) call.base["lastUpdate"] = std::move(last_update);
  return Upsert(call);
}

Outcome Applier::Upsert(Call& call) {
  const proto::Event& ev = call.event;
  call.Touch();
  Result<state::CheckResult> check = state::CheckResult{};
  if (ev.verify_destination) {
    // The reconciler found the destination missing this object or holding other content
    // (a copy edited or deleted by hand), which neither the Redis record nor the copy's
    // hash annotation can tell: only an older version than the one recorded is skipped,
    // the destination itself decides the rest.
    check = VerifyCheck(call);
  } else {
    check = state_->Check(options_.id, call.key, ev.resource_version_number, call.hash, ev.source_epoch);
  }
  if (!check.ok()) return Failure(call, "error reading object state", check.status());
  if (check->cas == state::CasResult::kStale) return Outcome{Effect::kSkippedStale, {}};
  if (auto skip = CheckProblem(call)) return *skip;
  if (check->cas == state::CasResult::kUnchanged) {
    if (options_.dry_run) return Outcome{Effect::kSkippedUnchanged, {}};
    return Commit(call, Effect::kSkippedUnchanged);
  }
  if (auto missing = EnsureNamespace(call)) return *missing;

  // No live copy recorded (first sync, or re-created after a delete): the destination most
  // likely has no such object, so create straight away and read only when the create says
  // AlreadyExists. A create never touches an existing object, so an unmanaged one is still
  // found by the read that follows and refused.
  bool create_first = !check->live_copy;
  for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
    Result<std::optional<json>> existing = std::optional<json>();
    if (!create_first) existing = Read(call);
    create_first = false;
    if (!existing.ok()) return Failure(call, "error getting object from cluster", existing.status());
    WriteAction action = DecideWrite(*existing, call.desired, call.hash, options_.id, call.gvr,
                                     ev.resource_version_number, ev.verify_destination, ev.source_epoch);
    switch (action) {
      case WriteAction::kSkipNewer:
        return Outcome{Effect::kSkippedStale, {}};
      case WriteAction::kRefuseUnmanaged: {
        Status error = FailedPreconditionError(
            "the destination object exists and is not managed by live synchronization \"" + options_.id +
            "\"; it is left untouched");
        json fields = call.Fields(**existing);
        fields["error"] = error.ToString();
        logger_.Error("error updating object in cluster", std::move(fields));
        return Outcome{Effect::kRefusedUnmanaged, error};
      }
      case WriteAction::kSkipUnchanged:
        if (options_.dry_run) return Outcome{Effect::kSkippedUnchanged, {}};
        return Commit(call, Effect::kSkippedUnchanged);
      case WriteAction::kCreate: {
        logger_.Info("creating object in cluster", call.Fields(call.desired));
        if (options_.dry_run) return Outcome{Effect::kDryRun, {}};
        call.Touch();
        auto created =
            destination_->Create(call.Ref(false), call.desired, {.field_manager = options_.field_manager});
        if (created.ok()) {
          logger_.Info("object created in cluster", call.Fields(*created));
          return Commit(call, Effect::kCreated);
        }
        if (kube::IsAlreadyExists(created.status())) continue;  // raced another writer: re-read
        if (kube::IsNotFound(created.status()) && !ev.namespace_.empty()) {
          // The namespace went away since we saw it (404 `namespaces "x" not found`).
          ForgetNamespace(ev.namespace_);
          if (auto missing = EnsureNamespace(call)) return *missing;
          continue;
        }
        return Failure(call, "error creating object in cluster", created.status());
      }
      case WriteAction::kUpdate: {
        json body = transform::ForUpdate(call.desired, **existing, call.gvr);
        logger_.Info("updating object in cluster", call.Fields(**existing));
        if (options_.dry_run) return Outcome{Effect::kDryRun, {}};
        call.Touch();
        auto updated = destination_->Update(call.Ref(), body, {.field_manager = options_.field_manager});
        if (updated.ok()) {
          logger_.Info("object updated in cluster", call.Fields(*updated));
          return Commit(call, Effect::kUpdated);
        }
        // 409 Conflict: someone wrote in between; 404: deleted in between. Re-read.
        if (kube::IsConflict(updated.status()) || updated.status().code() == Code::kAborted ||
            kube::IsNotFound(updated.status())) {
          continue;
        }
        return Failure(call, "error updating object in cluster", updated.status());
      }
    }
  }
  return Failure(call, "error updating object in cluster",
                 AbortedError("the destination object kept changing: " +
                              std::to_string(options_.max_conflict_retries + 1) + " conflicting writes"));
}

Result<state::CheckResult> Applier::VerifyCheck(Call& call) {
  call.Touch();
  KS_ASSIGN_OR_RETURN(std::optional<state::ObjectRecord> record, state_->Get(options_.id, call.key));
  state::CheckResult out;
  // The reconciler saw the destination: mostly a copy to repair, so read first (a create
  // that answers AlreadyExists would be a wasted write request).
  out.live_copy = true;
  const uint64_t epoch = call.event.source_epoch;
  if (record.has_value() && epoch > 0 && record->source_epoch != epoch) {
    // Recorded from another source cluster: not comparable by resourceVersion (issue 10
    // item 4); an older source's record is overwritten, a newer one's event is stale.
    if (record->source_epoch > epoch) out.cas = state::CasResult::kStale;
  } else if (record.has_value()) {
    const uint64_t rv = call.event.resource_version_number;
    // A tombstone at this version is a delete at or after it; a live record at it is the
    // version the reconciler wants verified.
    if (record->rv > rv || (record->deleted && record->rv == rv)) out.cas = state::CasResult::kStale;
  }
  return out;
}

Outcome Applier::Remove(Call& call) {
  const proto::Event& ev = call.event;
  const uint64_t rv = ev.resource_version_number;
  if (rv > 0) {
    call.Touch();
    auto cas = state_->ShouldApply(options_.id, call.key, rv, "", ev.source_epoch);
    if (!cas.ok()) return Failure(call, "error reading object state", cas.status());
    if (*cas == state::CasResult::kStale) return Outcome{Effect::kSkippedStale, {}};
  }
  if (auto skip = CheckProblem(call)) return *skip;
  for (int attempt = 0; attempt <= options_.max_conflict_retries; ++attempt) {
    auto existing = Read(call);
    if (!existing.ok()) return Failure(call, "error getting object from cluster", existing.status());
    // A reconciler DELETE_REQUEST names the source object it found gone; a destination copy
    // of a newer source object with the same name is not its business.
    if (*existing && ev.type == proto::EventType::kDeleteRequest && !ev.uid.empty() &&
        kube::meta::Annotation(**existing, transform::kSourceUidAnnotation) != ev.uid) {
      return Outcome{Effect::kSkippedStale, {}};
    }
    // It also carries the copy as it judged it: anything written to it since (the pipeline
    // or a person) is newer than that judgement, and the next pass judges again.
    if (*existing && ev.type == proto::EventType::kDeleteRequest && !ev.object_json.empty()) {
      const json seen = json::parse(ev.object_json, nullptr, /*allow_exceptions=*/false);
      if (seen.is_object() &&
          (kube::meta::Uid(seen) != kube::meta::Uid(**existing) ||
           kube::meta::ResourceVersion(seen) != kube::meta::ResourceVersion(**existing))) {
        return Outcome{Effect::kSkippedStale, {}};
      }
    }
    DeleteAction action = DecideDelete(*existing, options_.id, rv, ev.source_epoch);
    switch (action) {
      case DeleteAction::kSkipNewer:
        return Outcome{Effect::kSkippedStale, {}};
      case DeleteAction::kAlreadyGone:
        if (options_.dry_run) return Outcome{Effect::kAlreadyGone, {}};
        return Commit(call, Effect::kAlreadyGone);
      case DeleteAction::kRefuseUnmanaged: {
        Status error =
            FailedPreconditionError("the destination object is not managed by live synchronization \"" +
                                    options_.id + "\"; it is not deleted");
        json fields = call.Fields(**existing);
        fields["error"] = error.ToString();
        logger_.Error("error deleting object in cluster", std::move(fields));
        return Outcome{Effect::kRefusedUnmanaged, error};
      }
      case DeleteAction::kDelete: {
        if (call.gvr == kNamespacesGvr && !options_.dry_run) {
          if (auto kept = KeepNamespaceInUse(call, **existing)) return *kept;
        }
        logger_.Info("deleting object in cluster", call.Fields(**existing));
        if (options_.dry_run) return Outcome{Effect::kDryRun, {}};
        kube::DeleteOptions options;
        options.propagation_policy = "Background";
        // Only the copy we just read, as we read it: a replacement created meanwhile has
        // another uid, and a newer version written meanwhile (a replica sharing the
        // partition) another resourceVersion; either is a 409, then a re-read decides.
        std::string uid(kube::meta::Uid(**existing));
        if (!uid.empty()) options.precondition_uid = uid;
        std::string version(kube::meta::ResourceVersion(**existing));
        if (!version.empty()) options.precondition_resource_version = version;
        call.Touch();
        auto deleted = destination_->Delete(call.Ref(), options);
        if (deleted.ok() || kube::IsNotFound(deleted.status())) {
          logger_.Info("object deleted in cluster", call.Fields(**existing));
          return Commit(call, Effect::kDeleted);
        }
        if (kube::IsConflict(deleted.status()) || deleted.status().code() == Code::kAborted) continue;
        return Failure(call, "error deleting object in cluster", deleted.status());
      }
    }
  }
  return Failure(call, "error deleting object in cluster",
                 AbortedError("the destination object kept changing: " +
                              std::to_string(options_.max_conflict_retries + 1) + " conflicting deletes"));
}

std::optional<Outcome> Applier::EnsureNamespace(Call& call) {
  const std::string& ns = call.event.namespace_;
  if (ns.empty()) return std::nullopt;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (known_namespaces_.count(ns) > 0) return std::nullopt;
  }
  json fields = call.base;
  fields["destinationObject"] = {
      {"apiGroup", ""}, {"apiVersion", "v1"}, {"resource", "namespaces"}, {"name", ns}};
  logger_.Debug("reading namespace from cluster", fields);
  call.Touch();
  auto got = destination_->Get(kube::ResourceRef{"", "v1", "namespaces", "", ns});
  if (got.ok()) {
    fields["destinationObject"] = service::ObjectRef(kNamespacesGvr, *got);
    logger_.Debug("namespace read from cluster", fields);
    if (got->contains("metadata") && (*got)["metadata"].contains("deletionTimestamp")) {
      // Terminating: writes into it are refused until it is gone (then it can be created).
      return Outcome{Effect::kNamespaceMissing, UnavailableError("namespace \"" + ns + "\" is terminating")};
    }
    std::lock_guard<std::mutex> lock(mu_);
    known_namespaces_.insert(ns);
    return std::nullopt;
  }
  if (!kube::IsNotFound(got.status()))
    return Failure(call, "error getting namespace from cluster", got.status());

  logger_.Info("namespace not found in cluster", fields);
  if (!options_.force_namespace_creation && !call.event.namespace_selected) {
    return Outcome{Effect::kNamespaceMissing,
                   NotFoundError("namespace \"" + ns + "\" not found in the destination")};
  }
  logger_.Info("creating namespace from cluster", fields);
  if (options_.dry_run) return std::nullopt;
  // Marked as ours, so that a later copy of the source Namespace object (when a rule
  // selects namespaces) may update it instead of being refused as unmanaged.
  std::string owner = options_.id;
  if (auto dot = owner.find('.'); dot != std::string::npos) owner[dot] = '/';
  // The source namespace's labels come along, so that namespace selectors (a recovery
  // Task's among them) select the same namespaces here as in the source.
  json labels = json::object();
  if (!call.event.namespace_labels_json.empty()) {
    json source_labels = json::parse(call.event.namespace_labels_json, nullptr, /*allow_exceptions=*/false);
    if (source_labels.is_object()) {
      for (const auto& [key, value] : source_labels.items()) {
        if (value.is_string()) labels[key] = value;
      }
    }
  }
  labels[std::string(transform::kManagedByLabel)] = transform::LabelValueForId(options_.id);
  json body = kube::NamespaceObject(ns, std::move(labels),
                                    {{std::string(transform::kLiveSynchronizationAnnotation), owner}});
  call.Touch();
  Result<std::optional<json>> created =
      kube::CreateNamespace(*destination_, body, {.field_manager = options_.field_manager});
  if (!created.ok()) {
    return Failure(call, "error creating namespace in cluster", created.status());
  }
  if (created->has_value()) {
    fields["destinationObject"] = service::ObjectRef(kNamespacesGvr, **created);
    logger_.Info("namespace created in cluster", fields);
  } else {
    logger_.Info("namespace already exists in cluster", fields);
  }
  std::lock_guard<std::mutex> lock(mu_);
  known_namespaces_.insert(ns);
  return std::nullopt;
}

Result<std::optional<json>> Applier::Read(Call& call) {
  json fields = call.Fields(call.desired.is_object() ? call.desired : json::object());
  if (!call.desired.is_object()) {
    fields["destinationObject"]["name"] = call.event.name;
    if (!call.event.namespace_.empty()) fields["destinationObject"]["namespace"] = call.event.namespace_;
  }
  logger_.Debug("reading object from cluster", fields);
  call.Touch();
  auto got = destination_->Get(call.Ref());
  if (got.ok()) {
    logger_.Debug("object read from cluster", call.Fields(*got));
    return std::optional<json>(std::move(*got));
  }
  if (kube::IsNotFound(got.status())) {
    logger_.Debug("object not found in cluster", fields);
    return std::optional<json>();
  }
  return got.status();
}

Outcome Applier::Commit(Call& call, Effect effect) {
  const proto::Event& ev = call.event;
  const bool deletion = ev.type == proto::EventType::kDeleted || ev.type == proto::EventType::kDeleteRequest;
  call.Touch();
  const int64_t synced =
      effect == Effect::kCreated || effect == Effect::kUpdated || effect == Effect::kDeleted ? 1 : 0;
  if (deletion && ev.resource_version_number == 0) {
    // No version to record (a delete request without one): count it only.
    if (synced > 0) {
      Status counted = state_->RecordSynced(options_.id, synced);
      if (!counted.ok()) logger_.Warn("error writing object state", {{"error", counted.ToString()}});
    }
    return Outcome{effect, {}};
  }
  // The record and the counter in one round trip.
  auto committed =
      state_->CommitCounted(options_.id, call.key, ev.resource_version_number, deletion ? "" : ev.uid,
                            deletion ? "" : call.hash, deletion, synced, ev.source_epoch);
  if (!committed.ok()) return Failure(call, "error writing object state", committed.status());
  if (call.problem_rv.has_value() && *call.problem_rv <= ev.resource_version_number) {
    // The object is where the source is (or newer): its problem is over.
    auto resolved = problems_->Resolve(options_.id, call.key, ev.resource_version_number);
    if (!resolved.ok()) logger_.Warn("error writing object state", {{"error", resolved.status().ToString()}});
  }
  return Outcome{effect, {}};
}

Outcome Applier::Failure(Call& call, std::string_view msg, const Status& error) {
  json fields = call.base;
  fields["error"] = error.ToString();
  if (!fields.contains("destinationObject")) {
    fields["destinationObject"] =
        service::ObjectRef(call.gvr, call.desired.is_object() ? call.desired : json::object());
    fields["destinationObject"]["name"] = call.event.name;
    if (!call.event.namespace_.empty()) fields["destinationObject"]["namespace"] = call.event.namespace_;
  }
  logger_.Error(msg, std::move(fields));
  return Outcome{IsTransient(error) ? Effect::kRetry : Effect::kFailed, error};
}

Result<std::pair<std::vector<std::string>, size_t>> Applier::ForeignObjectsIn(const std::string& ns,
                                                                              size_t limit) {
  // Every namespaced resource the destination serves (preferred versions), by discovery.
  std::vector<std::pair<std::string, std::string>> group_versions = {{"", "v1"}};
  KS_ASSIGN_OR_RETURN(json groups, destination_->GetPath("/apis"));
  for (const json& group : groups.value("groups", json::array())) {
    const json preferred = group.value("preferredVersion", json::object());
    if (group.contains("name") && preferred.contains("version")) {
      group_versions.emplace_back(group["name"].get<std::string>(), preferred["version"].get<std::string>());
    }
  }
  struct Seen {
    std::string what;  // "<resource> <name>"
    std::string uid;
    std::vector<std::string> owners;  // ownerReferences uids
    bool ours = false;
  };
  std::vector<Seen> seen;
  std::set<std::string> ours;          // uids of objects this LiveSynchronization created
  std::set<std::string> our_services;  // their Endpoints carry the Service's name
  for (const auto& [group, version] : group_versions) {
    auto resources = discovery_.ResourcesFor(group, version);
    if (!resources.ok()) {
      if (kube::IsNotFound(resources.status())) continue;  // went away meanwhile
      return resources.status();
    }
    for (const kube::ApiResource& resource : *resources) {
      if (!resource.namespaced || !resource.HasVerb("list") || resource.resource == "events") continue;
      auto list = destination_->List(kube::ResourceRef{group, version, resource.resource, ns, "", ""});
      if (!list.ok()) {
        if (kube::IsNotFound(list.status()) || list.status().code() == Code::kUnimplemented) continue;
        return list.status().Annotate("listing " + resource.resource + " in namespace \"" + ns + "\"");
      }
      for (const json& item : list->items) {
        Seen one;
        const std::string& name = kube::meta::Name(item);
        one.what = resource.resource + (group.empty() ? "" : "." + group) + " " + name;
        one.uid = kube::meta::Uid(item);
        const json& md = kube::meta::Metadata(item);
        if (auto refs = md.find("ownerReferences"); refs != md.end() && refs->is_array()) {
          for (const json& ref : *refs) {
            if (ref.is_object() && ref.contains("uid") && ref["uid"].is_string())
              one.owners.push_back(ref["uid"]);
          }
        }
        // What Kubernetes itself puts in every namespace is nobody's data.
        const bool core = group.empty();
        one.ours = transform::IsManagedBy(item, options_.id) ||
                   (core && resource.resource == "serviceaccounts" && name == "default") ||
                   (core && resource.resource == "configmaps" && name == "kube-root-ca.crt");
        if (one.ours && !one.uid.empty()) ours.insert(one.uid);
        if (transform::IsManagedBy(item, options_.id) && core && resource.resource == "services") {
          our_services.insert(name);
        }
        seen.push_back(std::move(one));
      }
    }
  }
  // Objects made by controllers for ours (ReplicaSets of a Deployment, their Pods,
  // EndpointSlices of a Service...) are ours too: follow ownerReferences to a fixpoint.
  for (bool grew = true; grew;) {
    grew = false;
    for (Seen& one : seen) {
      if (one.ours) continue;
      const bool owned = std::any_of(one.owners.begin(), one.owners.end(),
                                     [&ours](const std::string& uid) { return ours.count(uid) > 0; });
      const bool endpoints =
          one.what.rfind("endpoints ", 0) == 0 && our_services.count(one.what.substr(10)) > 0;
      if (owned || endpoints) {
        one.ours = true;
        if (!one.uid.empty()) ours.insert(one.uid);
        grew = true;
      }
    }
  }
  std::pair<std::vector<std::string>, size_t> out;
  for (const Seen& one : seen) {
    if (one.ours) continue;
    ++out.second;
    if (out.first.size() < limit) out.first.push_back(one.what);
  }
  return out;
}

std::optional<Outcome> Applier::KeepNamespaceInUse(Call& call, const json& existing) {
  const std::string& ns = call.event.name;
  call.Touch();
  auto foreign = ForeignObjectsIn(ns, 5);
  if (!foreign.ok()) return Failure(call, "error listing objects in cluster", foreign.status());
  if (foreign->second == 0) return std::nullopt;

  // Ours no more: without the marks, no later delete or prune of this LiveSynchronization
  // touches it, and a recovery sees it as the user's.
  json body = existing;
  json& meta = body["metadata"];
  if (meta.contains("labels") && meta["labels"].is_object())
    meta["labels"].erase(std::string(transform::kManagedByLabel));
  if (meta.contains("annotations") && meta["annotations"].is_object()) {
    for (std::string_view key :
         {transform::kLiveSynchronizationAnnotation, transform::kSourceUidAnnotation,
          transform::kSourceResourceVersionAnnotation, transform::kContentHashAnnotation,
          transform::kOriginalValuesAnnotation, kSourceEpochAnnotation}) {
      meta["annotations"].erase(std::string(key));
    }
  }
  call.Touch();
  auto updated = destination_->Update(call.Ref(), body, {.field_manager = options_.field_manager});
  if (!updated.ok()) return Failure(call, "error updating object in cluster", updated.status());

  std::string examples;
  for (const std::string& what : foreign->first) examples += (examples.empty() ? "" : ", ") + what;
  json fields = call.Fields(*updated);
  fields["foreignObjects"] = foreign->second;
  fields["examples"] = foreign->first;
  logger_.Warn("namespace kept in cluster", std::move(fields));
  if (notes_ != nullptr) {
    state::Note note;
    note.type = "Warning";
    note.reason = std::string(state::kNamespaceKeptReason);
    note.message = "Namespace \"" + ns + "\" left the replication but was not deleted: it holds " +
                   std::to_string(foreign->second) + " object(s) that live synchronization \"" + options_.id +
                   "\" did not create (" + examples +
                   (foreign->second > foreign->first.size() ? ", ..." : "") +
                   "); kubesync removed its marks and left it";
    note.component = "synchronizer";
    if (auto added = notes_->AddNote(options_.id, note); !added.ok()) {
      logger_.Warn("error writing object state", {{"error", added.status().ToString()}});
    }
  }
  return Commit(call, Effect::kNamespaceKept);
}

void Applier::ForgetNamespace(const std::string& ns) {
  std::lock_guard<std::mutex> lock(mu_);
  known_namespaces_.erase(ns);
}

}  // namespace kubesync::synchronizer

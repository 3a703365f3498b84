// The processor's decision for one envelope from the events subject: which messages, if
// any, it becomes on the sync subjects.
//
//   object selected by a rule, copyable     -> cleaned, transformed, marked copy (same type)
//   object selected, classified as skipped  -> nothing (SA token secrets, controller-owned
//                                              pods, objects being deleted, ...)
//   MODIFIED object no longer selected      -> DELETED (label or name change took it out)
//   ADDED/RESYNC object not selected        -> DELETED only when the destination holds a
//                                              live copy (Redis record), else nothing
//   DELETED                                 -> DELETED (the synchronizer deletes only what
//                                              this LiveSynchronization manages)
//   DELETE_REQUEST (from the reconciler)    -> DELETE_REQUEST, even for a resource the plan
//                                              no longer has (a removed rule's copies)
//   verify_destination set (reconciler)     -> kept on the sync message, whose Nats-Msg-Id
//                                              gets the suffix "reconcile-<observed at>"
//   MODIFIED Namespace (namespace selectors) -> every object of every rule resource in it is
//                                              evaluated again with the new labels
//   resource not in the plan / excluded     -> nothing
//
// Errors: retryable ones (source or Redis unavailable) mean "Nak and try later"; terminal
// ones (bad object JSON, a transformation that cannot apply) mean "Term".
//
// Thread-safety: Process may be called from several threads at once if SourceView and
// RecordsFn are thread-safe (the real ones are).
#pragma once

#include <atomic>

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kubesync/core/log.h"
#include "kubesync/core/status.h"
#include "kubesync/plan/plan.h"
#include "kubesync/proto/envelope.h"
#include "kubesync/transform/classify.h"
#include "kubesync/transform/clean.h"

namespace kubesync::processor {

inline const plan::Gvr kNamespacesGvr{"", "v1", "namespaces"};

// What the processor reads from the source cluster besides the events.
class SourceView {
 public:
  virtual ~SourceView() = default;
  // metadata.labels of namespace `ns` (null when it has none or does not exist).
  virtual Result<nlohmann::json> NamespaceLabels(const std::string& ns) = 0;
  // The Kind of a resource ("Deployment").
  virtual Result<std::string> Kind(const plan::Gvr& gvr) = 0;
  // Whether the resource is namespaced (false for cluster-scoped).
  virtual Result<bool> Namespaced(const plan::Gvr& gvr) = 0;
  // Every object of `gvr` in namespace `ns`.
  virtual Result<std::vector<nlohmann::json>> ListInNamespace(const plan::Gvr& gvr, const std::string& ns) = 0;
  // metadata.resourceVersion of namespace `ns` as last seen (0 when unknown).
  virtual Result<uint64_t> NamespaceVersion(const std::string& ns) {
    (void)ns;
    return uint64_t{0};
  }
  // Events now come from source epoch `epoch` (libs/state source_identity.h): a view that
  // caches what it read of the source starts afresh when the epoch grows.
  virtual Status SourceEpoch(uint64_t epoch) {
    (void)epoch;
    return OkStatus();
  }
};

// True when the destination holds a live copy written by this LiveSynchronization (the
// synchronizer's Redis record of `object_key` exists and is not a tombstone).
using RecordsFn = std::function<Result<bool>(const std::string& object_key)>;

struct ProcessorConfig {
  std::string id;  // "<namespace>.<name>"
  std::string ls_namespace;
  std::string ls_name;
  int partitions = 16;
  transform::ClassifyOptions classify;
  transform::CleanOptions clean;
};

// One message for a sync subject.
struct Outgoing {
  std::string subject;
  std::string msg_id;
  proto::Event event;
};

class Processor {
 public:
  // `plan` and `source` must outlive the processor. `records` may be empty (then objects
  // out of scope on ADDED/RESYNC never produce a DELETED).
  Processor(const plan::Plan& plan, ProcessorConfig config, SourceView& source, RecordsFn records,
            log::Logger logger, nlohmann::json source_cluster);

  Result<std::vector<Outgoing>> Process(const proto::Event& event);

  // "sync/<uid>/<rv>/<TYPE>[/<suffix>]", the Nats-Msg-Id of a sync message.
  static std::string MessageId(const proto::Event& event, std::string_view suffix = "");

  // Whether a Processor for `plan` reads namespace labels (SourceView::NamespaceLabels):
  // for namespace selectors, and, for every object, when Namespaces are replicated too or
  // may be created (namespace_selected, namespace_labels_json). The source view should
  // then keep namespaces in an informer.
  static bool ReadsNamespaceLabels(const plan::Plan& plan);

 private:
  enum class Origin { kEvent, kNamespaceChange };
  // One object (parsed) in the light of the namespace labels given.
  Result<std::optional<Outgoing>> ProcessObject(const proto::Event& event, const nlohmann::json& object,
                                                const nlohmann::json& namespace_labels, Origin origin,
                                                std::string_view msg_suffix);
  Result<std::vector<Outgoing>> ReevaluateNamespace(const proto::Event& event, const nlohmann::json& ns_object);
  Result<Outgoing> Deleted(const proto::Event& event, std::string_view msg_suffix);
  Result<Outgoing> Route(proto::Event event, std::string_view msg_suffix);
  bool InPlan(const plan::Gvr& gvr) const;

  const plan::Plan& plan_;
  ProcessorConfig config_;
  SourceView& source_;
  RecordsFn records_;
  log::Logger logger_;
  nlohmann::json source_cluster_;
  bool namespace_selectors_ = false;
  bool namespaces_in_plan_ = false;  // a rule selects v1/namespaces themselves
  std::atomic<uint64_t> latest_epoch_{0};  // the newest source epoch seen on an event
};

}  // namespace kubesync::processor

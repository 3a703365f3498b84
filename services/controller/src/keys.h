// Work-queue keys: which object of which kind to reconcile. A small value type with
// ToString/Parse, never a string cut apart with substr. TaskRuns carry the key of the
// destination cluster they live in (Destinations::KeyFor), since one name can exist in
// several clusters. Pure; thread-compatible.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "kubesync/core/status.h"
#include "kubesync/kube/object_meta.h"

namespace kubesync::controller {

enum class Kind {
  kLiveSynchronization,
  kKubernetesCluster,
  kTaskRun,
  kSynchronization,
  kSynchronizationPlan
};

std::string_view KindName(Kind kind);

struct QueueKey {
  Kind kind = Kind::kLiveSynchronization;
  std::string cluster;  // kTaskRun: the destination cluster's key; "" for the other kinds
  std::string ns;
  std::string name;

  static QueueKey LiveSync(std::string ns, std::string name) {
    return {Kind::kLiveSynchronization, "", ns, name};
  }
  static QueueKey Cluster(std::string ns, std::string name) {
    return {Kind::kKubernetesCluster, "", ns, name};
  }
  static QueueKey TaskRun(std::string cluster, std::string ns, std::string name) {
    return {Kind::kTaskRun, std::move(cluster), std::move(ns), std::move(name)};
  }

  // The informer store's key of the object (kube::ObjectKey).
  std::string ObjectKey() const { return kube::ObjectKey(ns, name); }
  // "LiveSynchronization/<ns>/<name>", "TaskRun/<cluster>/<ns>/<name>", ... (for logs).
  std::string ToString() const;
  // The inverse of ToString; InvalidArgument naming what is wrong.
  static Result<QueueKey> Parse(std::string_view text);

  friend auto operator<=>(const QueueKey&, const QueueKey&) = default;
  friend bool operator==(const QueueKey&, const QueueKey&) = default;
};

}  // namespace kubesync::controller

// The structured fields of kubesync's log lines, shaped as the logging chapter of the
// reference manual (seeds/001, "Understanding logging") shows them.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "kubesync/plan/plan.h"
#include "kubesync/proto/envelope.h"

namespace kubesync::service {

// {"apiGroup","apiVersion","name","namespace","resource","resourceVersion","uid"}: the
// shape of sourceObject, oldSourceObject and destinationObject. Missing parts are omitted.
nlohmann::json ObjectRef(const plan::Gvr& gvr, const nlohmann::json& object);
nlohmann::json ObjectRef(const proto::Event& event);

// {"name","namespace"} of a KubernetesCluster: sourceCluster / destinationCluster.
nlohmann::json ClusterRef(std::string_view name, std::string_view namespace_name);

// {"type":"create"|"update"|"delete"}: the event field.
nlohmann::json EventField(proto::EventType type);
nlohmann::json EventField(std::string_view type);

// {"time","userUID","username"} from the audit.astronetes.io/last-update-* annotations of
// `object`, or null when it has none.
nlohmann::json LastUpdate(const nlohmann::json& object);

}  // namespace kubesync::service

// Server-side printing: the meta.k8s.io Table a GET or LIST answers when the client's
// Accept header asks for it first (kubectl get sends
// `application/json;as=Table;v=v1;g=meta.k8s.io,...;v=v1beta1...,application/json`).
// Custom resources get their CRD's additionalPrinterColumns (simple JSONPath), every other
// kind Name and Age. Pure functions; `now` is injected.
#pragma once

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "registry.h"

namespace kubesync::emulator {

// The Table version ("v1" or "v1beta1") when the first acceptable media range of `accept`
// is a meta.k8s.io Table; nullopt when plain JSON comes first (or no Table is asked for).
std::optional<std::string> TableVersionFromAccept(const std::string& accept);

// apimachinery's duration.HumanDuration ("45s", "2m3s", "10m", "5h", "3d4h", "2y").
std::string HumanDuration(std::chrono::seconds d);

// Evaluates a printer column's simple JSONPath (".status.phase", ".spec.items[0].name");
// nullopt when a step is missing.
std::optional<nlohmann::json> EvalSimpleJsonPath(const nlohmann::json& object, const std::string& path);

// A Table of `objects` (full objects) for `type`. `include_object` is the query parameter
// includeObject: "None", "Object" or (default) "Metadata". `list_metadata` becomes the
// Table's metadata (resourceVersion, continue).
nlohmann::json BuildTable(const ResourceType& type, const std::vector<const nlohmann::json*>& objects,
                          const std::string& table_version, const std::string& include_object,
                          nlohmann::json list_metadata, std::chrono::system_clock::time_point now);

}  // namespace kubesync::emulator

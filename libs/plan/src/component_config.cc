#include "component_config.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "lexical.h"

namespace kubesync::plan::internal {
namespace {

const std::vector<std::string> kLogLevels = {"trace",   "debug", "info",  "warn",
                                             "warning", "error", "fatal", "panic"};
const std::vector<std::string> kPullPolicies = {"Always", "IfNotPresent", "Never"};

}  // namespace

ComponentSettings ParseComponent(const json& c, std::string_view path, Diagnostics& d) {
  ComponentSettings out;
  d.CheckFields(c, path, {"logLevel", "imagePullPolicy", "resources", "concurrentTasks", "replicas"});
  if (auto level = d.String(c, "logLevel", path, false)) {
    std::string lower = *level;
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (std::find(kLogLevels.begin(), kLogLevels.end(), lower) == kLogLevels.end()) {
      std::string message = "unsupported log level " + Quote(*level) + ": want debug, info, warn or error";
      if (auto close = Closest(lower, kLogLevels)) message += " (did you mean " + *close + "?)";
      d.Error(Join(path, "logLevel"), message);
    } else {
      out.log_level = lower;
    }
  }
  if (auto policy = d.String(c, "imagePullPolicy", path, false)) {
    if (std::find(kPullPolicies.begin(), kPullPolicies.end(), *policy) == kPullPolicies.end()) {
      std::string message = "unsupported value " + Quote(*policy) + ": want Always, IfNotPresent or Never";
      if (auto close = Closest(*policy, kPullPolicies)) message += " (did you mean " + *close + "?)";
      d.Error(Join(path, "imagePullPolicy"), message);
    } else {
      out.image_pull_policy = *policy;
    }
  }
  if (auto n = d.Int(c, "replicas", path, false, 0, INT32_MAX)) out.replicas = static_cast<int32_t>(*n);
  if (auto n = d.Int(c, "concurrentTasks", path, false, 1, INT32_MAX))
    out.concurrent_tasks = static_cast<int32_t>(*n);
  const std::string rpath = Join(path, "resources");
  if (const json* res = d.Object(c, "resources", path, false)) {
    d.CheckFields(*res, rpath, {"limits", "requests", "claims"});
    bool ok = true;
    for (const char* key : {"limits", "requests"}) {
      const json* m = d.Object(*res, key, rpath, false);
      if (m == nullptr) {
        ok = ok && Find(*res, key) == nullptr;
        continue;
      }
      for (const auto& [name, q] : m->items()) {
        if (!q.is_string() && !q.is_number()) {
          d.Error(Join(Join(rpath, key), name),
                  "must be a quantity such as \"500m\" or \"1Gi\" (got " + Describe(q) + ")");
          ok = false;
        }
      }
    }
    if (ok) out.resources = *res;
  }
  return out;
}

void ParseCommonConfig(const json& config, std::string_view path, Plan& plan, Diagnostics& d) {
  plan.source_cluster = d.String(config, "sourceName", path, true).value_or("");
  plan.destination_cluster = d.String(config, "destinationName", path, true).value_or("");
  if (auto bucket = d.String(config, "bucketName", path, false)) {
    if (bucket->empty()) {
      d.Error(Join(path, "bucketName"), "must not be empty (leave it out when no bucket is used)");
    } else {
      plan.bucket = *bucket;
    }
  }
  const std::string opath = Join(path, "observability");
  if (const json* obs = d.Object(config, "observability", path, false)) {
    d.CheckFields(*obs, opath, {"enabled", "interval"});
    plan.observability.enabled = d.Bool(*obs, "enabled", opath, false).value_or(false);
    plan.observability.interval =
        ParseDurationField(*obs, "interval", opath, d).value_or(std::chrono::seconds(0));
  }
  const std::string cpath = Join(path, "components");
  if (const json* comps = d.Object(config, "components", path, false)) {
    d.CheckFields(*comps, cpath, ComponentNames());
    for (const auto& name : ComponentNames()) {
      const json* c = d.Object(*comps, name, cpath, false);
      if (c != nullptr) plan.components[name] = ParseComponent(*c, Join(cpath, name), d);
    }
  }
}

}  // namespace kubesync::plan::internal

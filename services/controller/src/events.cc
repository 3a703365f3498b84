#include "events.h"

#include <unistd.h>

#include <cstdio>

namespace kubesync::controller {

using nlohmann::json;

namespace {

std::string HostName() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

EventRecorder::EventRecorder(std::string component, log::Logger logger, const Clock* clock)
    : component_(std::move(component)), instance_(HostName()), logger_(std::move(logger)), clock_(clock) {}

void EventRecorder::Record(kube::Client& client, const json& object, std::string_view type,
                           std::string_view reason, const std::string& message) {
  const json& meta = object.value("metadata", json::object());
  const std::string name = meta.value("name", "");
  const std::string ns = meta.value("namespace", "default");
  const std::string uid = meta.value("uid", "");
  if (name.empty()) return;
  const auto now_tp = clock_->Now();
  const std::string now = FormatRfc3339(now_tp);

  std::lock_guard lock(mu_);
  const auto key = std::make_tuple(&client, uid, std::string(type), std::string(reason), message);
  if (auto it = seen_.find(key); it != seen_.end()) {
    Seen& seen = it->second;
    json patch = {{"count", seen.count + 1}, {"lastTimestamp", now}};
    auto r = client.Patch(
        {.group = "", .version = "v1", .resource = "events", .ns = seen.ns, .name = seen.event_name},
        kube::PatchType::kMerge, patch.dump());
    if (r.ok()) {
      ++seen.count;
      seen.last = now_tp;
      return;
    }
    seen_.erase(it);  // gone (TTL) or unreachable: write a new one below
  }

  char suffix[32];
  std::snprintf(suffix, sizeof(suffix), "%llx",
                static_cast<unsigned long long>(now_tp.time_since_epoch().count()));
  json event = {{"apiVersion", "v1"},
                {"kind", "Event"},
                {"metadata", {{"name", name + "." + suffix}, {"namespace", ns}}},
                {"involvedObject",
                 {{"apiVersion", object.value("apiVersion", "")},
                  {"kind", object.value("kind", "")},
                  {"name", name},
                  {"namespace", ns},
                  {"uid", uid},
                  {"resourceVersion", meta.value("resourceVersion", "")}}},
                {"reason", reason},
                {"message", message},
                {"type", type},
                {"source", {{"component", component_}, {"host", instance_}}},
                {"reportingComponent", component_},
                {"reportingInstance", instance_},
                {"firstTimestamp", now},
                {"lastTimestamp", now},
                {"eventTime", nullptr},
                {"count", 1}};
  auto created = client.Create({.group = "", .version = "v1", .resource = "events", .ns = ns}, event);
  if (!created.ok()) {
    logger_.Warn("could not record event",
                 {{"reason", reason}, {"object", ns + "/" + name}, {"error", created.status().ToString()}});
    return;
  }
  Prune(now_tp);
  seen_[key] = Seen{event["metadata"]["name"].get<std::string>(), ns, 1, now_tp};
}

void EventRecorder::Prune(WallTime now) {
  if (seen_.size() < kMaxSeen) return;
  std::erase_if(seen_, [now](const auto& entry) { return now - entry.second.last > std::chrono::hours(1); });
  if (seen_.size() >= kMaxSeen) seen_.clear();  // a new Event each instead of a count: harmless
}

}  // namespace kubesync::controller

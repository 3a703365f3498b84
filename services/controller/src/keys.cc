#include "keys.h"

#include <array>
#include <vector>

namespace kubesync::controller {

namespace {

constexpr std::array<std::pair<Kind, std::string_view>, 5> kKinds = {{
    {Kind::kLiveSynchronization, "LiveSynchronization"},
    {Kind::kKubernetesCluster, "KubernetesCluster"},
    {Kind::kTaskRun, "TaskRun"},
    {Kind::kSynchronization, "Synchronization"},
    {Kind::kSynchronizationPlan, "SynchronizationPlan"},
}};

std::vector<std::string_view> Split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t at = text.find(separator, start);
    parts.push_back(text.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return parts;
    start = at + 1;
  }
}

}  // namespace

std::string_view KindName(Kind kind) {
  for (const auto& [k, name] : kKinds) {
    if (k == kind) return name;
  }
  return "Unknown";
}

std::string QueueKey::ToString() const {
  std::string out(KindName(kind));
  if (kind == Kind::kTaskRun) out += "/" + cluster;
  return out + "/" + ns + "/" + name;
}

Result<QueueKey> QueueKey::Parse(std::string_view text) {
  const auto parts = Split(text, '/');
  QueueKey key;
  bool known = false;
  for (const auto& [k, name] : kKinds) {
    if (parts[0] == name) {
      key.kind = k;
      known = true;
    }
  }
  if (!known) return InvalidArgumentError("queue key \"" + std::string(text) + "\": unknown kind");
  const size_t want = key.kind == Kind::kTaskRun ? 4 : 3;
  if (parts.size() != want) {
    return InvalidArgumentError("queue key \"" + std::string(text) + "\": want " + std::to_string(want) +
                                " parts separated by '/'");
  }
  size_t i = 1;
  if (key.kind == Kind::kTaskRun) key.cluster = std::string(parts[i++]);
  key.ns = std::string(parts[i++]);
  key.name = std::string(parts[i]);
  if (key.name.empty()) return InvalidArgumentError("queue key \"" + std::string(text) + "\": empty name");
  return key;
}

}  // namespace kubesync::controller

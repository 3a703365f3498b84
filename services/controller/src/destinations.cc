#include "destinations.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "kubesync/kube/config.h"
#include "kubesync/recovery/task.h"

namespace kubesync::controller {

using nlohmann::json;

Destinations::Destinations(ClusterResolver& resolver, std::shared_ptr<kube::Client> own_client,
                           log::Logger logger, OnTaskRun on_taskrun)
    : resolver_(resolver),
      own_client_(std::move(own_client)),
      logger_(std::move(logger)),
      on_taskrun_(std::move(on_taskrun)) {}

Destinations::~Destinations() {
  StopAll();
  for (auto& t : stopping_) t.join();
}

std::string Destinations::KeyFor(const std::string& server) {
  // scheme://host[:port][/path]: the host is case-insensitive, the default port implied,
  // a trailing slash meaningless.
  std::string s = server;
  while (!s.empty() && s.back() == '/') s.pop_back();
  std::string scheme = "https";
  if (auto sep = s.find("://"); sep != std::string::npos) {
    scheme = s.substr(0, sep);
    s = s.substr(sep + 3);
  }
  std::transform(scheme.begin(), scheme.end(), scheme.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  const size_t path_at = s.find('/');
  std::string host = s.substr(0, path_at);
  const std::string path = path_at == std::string::npos ? "" : s.substr(path_at);
  std::transform(host.begin(), host.end(), host.begin(), [](unsigned char c) { return std::tolower(c); });
  const bool has_port = host.rfind(':') != std::string::npos && host.back() != ']';
  if (!has_port) host += scheme == "http" ? ":80" : ":443";
  const std::string normalized = scheme + "://" + host + path;
  char buf[20];
  std::snprintf(buf, sizeof(buf), "%016zx", std::hash<std::string>{}(normalized));
  return buf;
}

Result<std::string> Destinations::ServerOf(const std::string& kubeconfig) {
  KS_ASSIGN_OR_RETURN(auto parsed, kube::Kubeconfig::Parse(kubeconfig));
  KS_ASSIGN_OR_RETURN(auto rest, parsed.ToRestConfig());
  if (rest.server.empty())
    return InvalidArgumentError("kubeconfig: the current context's cluster has no server");
  return rest.server;
}

Result<std::string> Destinations::Use(const std::string& user, const std::string& server,
                                      const ClusterAccess& access) {
  const std::string key = KeyFor(server);
  std::lock_guard lock(mu_);
  auto it = users_.find(user);
  if (it != users_.end() && it->second.key == key && it->second.access == access) return key;
  std::string previous = it != users_.end() ? it->second.key : "";
  users_[user] = UserEntry{key, server, access};
  SyncLocked(key);
  if (!previous.empty() && previous != key) SyncLocked(previous);
  if (clusters_.count(key) == 0) return UnavailableError("cannot watch TaskRuns in the cluster at " + server);
  return key;
}

void Destinations::Release(const std::string& user) {
  std::lock_guard lock(mu_);
  auto it = users_.find(user);
  if (it == users_.end()) return;
  const std::string key = it->second.key;
  users_.erase(it);
  SyncLocked(key);
}

void Destinations::SyncLocked(const std::string& key) {
  // The credentials to watch with: the controller's own when it is a user (it can always
  // read its own cluster), else any current user's.
  const UserEntry* chosen = nullptr;
  bool current_still_used = false;
  auto existing = clusters_.find(key);
  for (const auto& [_, entry] : users_) {
    if (entry.key != key) continue;
    if (chosen == nullptr || (entry.access.own && !chosen->access.own)) chosen = &entry;
    if (existing != clusters_.end() && existing->second->access == entry.access) current_still_used = true;
  }
  if (chosen == nullptr) {
    if (existing != clusters_.end()) {
      logger_.Info("stopped watching TaskRuns in a cluster no longer used",
                   {{"destination", key}, {"server", existing->second->server}});
      StopInBackgroundLocked(std::move(existing->second));
      clusters_.erase(existing);
    }
    return;
  }
  if (existing != clusters_.end() && current_still_used &&
      (existing->second->access.own || !chosen->access.own)) {
    return;
  }
  std::shared_ptr<kube::Client> client;
  if (chosen->access.own) {
    client = own_client_;
  } else {
    auto made = resolver_.ClientFor(chosen->access.kubeconfig);
    if (!made.ok()) {
      logger_.Warn("cannot use the destination kubeconfig",
                   {{"destination", key}, {"error", made.status().ToString()}});
      return;
    }
    client = *made;
  }
  auto cluster = std::make_shared<DestinationCluster>();
  cluster->key = key;
  cluster->server = chosen->server;
  cluster->access = chosen->access;
  cluster->client = client;
  kube::InformerOptions options{.resource = {.group = std::string(recovery::kTaskGroup),
                                             .version = std::string(recovery::kTaskVersion),
                                             .resource = std::string(recovery::kTaskRunsResource)},
                                .logger = logger_};
  auto notify = [this, key](const json& o) { on_taskrun_(key, o); };
  cluster->taskruns = std::make_unique<kube::Informer>(
      *cluster->client, options,
      kube::InformerHandlers{.on_add = [notify](const json& o, bool) { notify(o); },
                             .on_update = [notify](const json*, const json& o) { notify(o); },
                             .on_delete = [notify](const json& o, bool) { notify(o); }});
  if (existing != clusters_.end()) {
    logger_.Info("restarting the TaskRun watch with current credentials", {{"destination", key}});
    StopInBackgroundLocked(std::move(existing->second));
  } else {
    logger_.Info("watching TaskRuns in a destination cluster",
                 {{"destination", key}, {"server", chosen->server}});
  }
  clusters_[key] = cluster;
  cluster->taskruns->Start();
}

void Destinations::StopInBackgroundLocked(std::shared_ptr<DestinationCluster> cluster) {
  if (!cluster || !cluster->taskruns) return;
  stopping_.emplace_back([cluster = std::move(cluster)] { cluster->taskruns->Stop(); });
}

std::shared_ptr<DestinationCluster> Destinations::Get(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = clusters_.find(key);
  return it == clusters_.end() ? nullptr : it->second;
}

std::vector<std::string> Destinations::Keys() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [k, _] : clusters_) keys.push_back(k);
  return keys;
}

std::string Destinations::KeyOfUser(const std::string& user) const {
  std::lock_guard lock(mu_);
  auto it = users_.find(user);
  return it == users_.end() ? "" : it->second.key;
}

void Destinations::StopAll() {
  std::lock_guard lock(mu_);
  for (auto& [_, cluster] : clusters_) StopInBackgroundLocked(std::move(cluster));
  clusters_.clear();
  users_.clear();
}

}  // namespace kubesync::controller

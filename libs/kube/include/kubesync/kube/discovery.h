// API discovery: what a {group, version, resource} is (kind, scope, verbs, subresources).
// Group versions are fetched on first use and cached; a miss refetches the group version
// once (CRDs are served some time after they are created), so an unknown resource costs
// one request, and a resource that appears later is found.
//
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "kubesync/core/status.h"
#include "kubesync/kube/client.h"

namespace kubesync::kube {

struct ApiResource {
  std::string group;
  std::string version;
  std::string resource;  // plural
  std::string singular;
  std::string kind;
  bool namespaced = false;
  std::vector<std::string> verbs;
  std::vector<std::string> short_names;
  std::vector<std::string> subresources;  // "status", "scale"

  bool HasVerb(std::string_view verb) const;
  bool HasSubresource(std::string_view sub) const;
};

class Discovery {
 public:
  // `client` must outlive this object.
  explicit Discovery(Client& client) : client_(client) {}

  // kNotFound (reason "NotFound") with a message naming the resource and group version
  // when the server does not serve it.
  Result<ApiResource> Resolve(const std::string& group, const std::string& version,
                              const std::string& resource);
  // Same, by kind ("Deployment").
  Result<ApiResource> ResolveKind(const std::string& group, const std::string& version,
                                  const std::string& kind);
  // Every resource of a group version (subresources folded into their parents).
  Result<std::vector<ApiResource>> ResourcesFor(const std::string& group, const std::string& version);
  // Forgets everything cached.
  void Invalidate();

 private:
  Result<std::vector<ApiResource>> Fetch(const std::string& group, const std::string& version);
  Result<ApiResource> Find(const std::string& group, const std::string& version,
                           const std::function<bool(const ApiResource&)>& match, const std::string& what);

  Client& client_;
  std::mutex mu_;
  std::map<std::string, std::vector<ApiResource>> cache_;  // "group/version"
};

}  // namespace kubesync::kube

#include "kubesync/kube/discovery.h"

#include <algorithm>

#include "kubesync/kube/errors.h"

namespace kubesync::kube {
namespace {

using nlohmann::json;

std::string GvKey(const std::string& group, const std::string& version) {
  return group.empty() ? version : group + "/" + version;
}

std::vector<std::string> Strings(const json& obj, const char* key) {
  std::vector<std::string> out;
  auto it = obj.find(key);
  if (it != obj.end() && it->is_array()) {
    for (const auto& v : *it) {
      if (v.is_string()) {
        out.push_back(v.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace

bool ApiResource::HasVerb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

bool ApiResource::HasSubresource(std::string_view sub) const {
  return std::find(subresources.begin(), subresources.end(), sub) != subresources.end();
}

Result<std::vector<ApiResource>> Discovery::Fetch(const std::string& group, const std::string& version) {
  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  Result<json> doc = client_.GetPath(path);
  if (!doc.ok()) {
    if (IsNotFound(doc.status())) {
      Status s = NotFoundError("the server does not serve group version \"" + GvKey(group, version) + "\"");
      s.WithHttp(404, "NotFound");
      return s;
    }
    return doc.status().Annotate("discovery of " + GvKey(group, version));
  }
  if (!doc->is_object() || !doc->contains("resources") || !(*doc)["resources"].is_array()) {
    return InternalError("discovery of " + GvKey(group, version) + ": reply is not an APIResourceList");
  }
  std::vector<ApiResource> out;
  std::vector<std::pair<std::string, std::string>> subs;
  for (const json& r : (*doc)["resources"]) {
    if (!r.is_object()) {
      continue;
    }
    std::string name = r.value("name", "");
    if (size_t slash = name.find('/'); slash != std::string::npos) {
      subs.emplace_back(name.substr(0, slash), name.substr(slash + 1));
      continue;
    }
    ApiResource res;
    res.group = group;
    res.version = version;
    res.resource = name;
    res.singular = r.value("singularName", "");
    res.kind = r.value("kind", "");
    res.namespaced = r.value("namespaced", false);
    res.verbs = Strings(r, "verbs");
    res.short_names = Strings(r, "shortNames");
    out.push_back(std::move(res));
  }
  for (const auto& [parent, sub] : subs) {
    for (auto& res : out) {
      if (res.resource == parent) {
        res.subresources.push_back(sub);
      }
    }
  }
  return out;
}

Result<std::vector<ApiResource>> Discovery::ResourcesFor(const std::string& group,
                                                         const std::string& version) {
  std::string key = GvKey(group, version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      return it->second;
    }
  }
  KS_ASSIGN_OR_RETURN(std::vector<ApiResource> list, Fetch(group, version));
  std::lock_guard<std::mutex> lock(mu_);
  cache_[key] = list;
  return list;
}

Result<ApiResource> Discovery::Find(const std::string& group, const std::string& version,
                                    const std::function<bool(const ApiResource&)>& match,
                                    const std::string& what) {
  std::string key = GvKey(group, version);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end()) {
      for (const auto& r : it->second) {
        if (match(r)) {
          return r;
        }
      }
    }
  }
  // Miss (or nothing cached): refetch, since a CRD may have been established since.
  Result<std::vector<ApiResource>> list = Fetch(group, version);
  if (!list.ok()) {
    if (IsNotFound(list.status())) {
      std::lock_guard<std::mutex> lock(mu_);
      cache_.erase(key);
    }
    return list.status();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    cache_[key] = *list;
  }
  for (const auto& r : *list) {
    if (match(r)) {
      return r;
    }
  }
  Status s =
      NotFoundError("the server doesn't have a resource type " + what + " in group version \"" + key + "\"");
  s.WithHttp(404, "NotFound");
  return s;
}

Result<ApiResource> Discovery::Resolve(const std::string& group, const std::string& version,
                                       const std::string& resource) {
  return Find(
      group, version, [&](const ApiResource& r) { return r.resource == resource; }, "\"" + resource + "\"");
}

Result<ApiResource> Discovery::ResolveKind(const std::string& group, const std::string& version,
                                           const std::string& kind) {
  return Find(
      group, version, [&](const ApiResource& r) { return r.kind == kind; }, "of kind \"" + kind + "\"");
}

void Discovery::Invalidate() {
  std::lock_guard<std::mutex> lock(mu_);
  cache_.clear();
}

}  // namespace kubesync::kube

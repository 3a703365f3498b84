#include "kube_source.h"

#include <utility>

#include "kubesync/kube/errors.h"

namespace kubesync::processor {
namespace {

using nlohmann::json;

json Labels(const json& object) {
  if (!object.is_object()) return nullptr;
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return nullptr;
  auto labels = meta->find("labels");
  return labels == meta->end() ? json() : *labels;
}

}  // namespace

KubeSourceView::KubeSourceView(kube::Client& client, bool watch_namespaces, log::Logger logger, json source_cluster)
    : client_(client), discovery_(client), logger_(std::move(logger)), source_cluster_(std::move(source_cluster)) {
  if (watch_namespaces) namespaces_ = NewNamespaceInformer();
}

KubeSourceView::~KubeSourceView() {
  if (auto informer = Namespaces()) informer->Stop();
}

std::shared_ptr<kube::Informer> KubeSourceView::NewNamespaceInformer() {
  kube::InformerOptions options;
  options.resource = {"", "v1", "namespaces", "", "", ""};
  options.store_mode = kube::StoreMode::kFull;
  options.logger = logger_;
  auto informer = std::make_shared<kube::Informer>(client_, std::move(options), kube::InformerHandlers{});
  informer->Start();
  return informer;
}

std::shared_ptr<kube::Informer> KubeSourceView::Namespaces() const {
  std::lock_guard<std::mutex> lock(mu_);
  return namespaces_;
}

Status KubeSourceView::SourceEpoch(uint64_t epoch) {
  std::shared_ptr<kube::Informer> old;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (epoch <= epoch_) return OkStatus();
    const bool first = epoch_ == 0;
    epoch_ = epoch;
    // The informer started with this process reads the current source already.
    if (first || !namespaces_) return OkStatus();
    old = namespaces_;
    namespaces_ = NewNamespaceInformer();
  }
  logger_.Warn("source cluster changed", {{"sourceCluster", source_cluster_}, {"epoch", epoch}});
  old->Stop();
  return OkStatus();
}

bool KubeSourceView::WaitForSync(std::chrono::milliseconds timeout) const {
  auto informer = Namespaces();
  return !informer || informer->WaitForSync(timeout);
}

Result<json> KubeSourceView::NamespaceLabels(const std::string& ns) {
  if (auto namespaces = Namespaces()) {
    if (auto entry = namespaces->store().Get(ns); entry.has_value() && entry->object) {
      return Labels(*entry->object);
    }
  }
  // Not seen yet (just created, or the informer is still listing): ask the server.
  json ns_field = {{"name", ns}};
  logger_.Debug("reading namespace from cluster", {{"sourceCluster", source_cluster_}, {"namespace", ns_field}});
  Result<json> object = client_.Get({"", "v1", "namespaces", "", ns, ""});
  if (!object.ok()) {
    if (kube::IsNotFound(object.status())) {
      logger_.Debug("namespace not found in cluster", {{"sourceCluster", source_cluster_}, {"namespace", ns_field}});
      return json();
    }
    logger_.Error("error getting namespace from cluster",
                  {{"sourceCluster", source_cluster_}, {"namespace", ns_field}, {"error", object.status().ToString()}});
    return object.status();
  }
  logger_.Debug("namespace read from cluster", {{"sourceCluster", source_cluster_}, {"namespace", ns_field}});
  return Labels(*object);
}

Result<uint64_t> KubeSourceView::NamespaceVersion(const std::string& ns) {
  auto namespaces = Namespaces();
  if (!namespaces) return uint64_t{0};
  auto entry = namespaces->store().Get(ns);
  if (!entry.has_value()) return uint64_t{0};
  Result<uint64_t> rv = proto::ParseResourceVersion(entry->resource_version);
  return rv.ok() ? *rv : uint64_t{0};
}

Result<std::string> KubeSourceView::Kind(const plan::Gvr& gvr) {
  KS_ASSIGN_OR_RETURN(kube::ApiResource resource, discovery_.Resolve(gvr.group, gvr.version, gvr.resource));
  return resource.kind;
}

Result<bool> KubeSourceView::Namespaced(const plan::Gvr& gvr) {
  KS_ASSIGN_OR_RETURN(kube::ApiResource resource, discovery_.Resolve(gvr.group, gvr.version, gvr.resource));
  return resource.namespaced;
}

Result<std::vector<json>> KubeSourceView::ListInNamespace(const plan::Gvr& gvr, const std::string& ns) {
  KS_ASSIGN_OR_RETURN(kube::ListResult list, client_.List({gvr.group, gvr.version, gvr.resource, ns, "", ""}));
  return std::move(list.items);
}

}  // namespace kubesync::processor

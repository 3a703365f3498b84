// SourceView over the source cluster: namespace labels from a Namespace informer (full
// store; a direct GET when the informer has not seen the namespace yet), kinds and scopes
// from API discovery, and per-namespace LISTs for namespace label changes.
//
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "kubesync/core/log.h"
#include "kubesync/kube/client.h"
#include "kubesync/kube/discovery.h"
#include "kubesync/kube/informer.h"
#include "processor.h"

namespace kubesync::processor {

class KubeSourceView final : public SourceView {
 public:
  // `client` must outlive this object. With `watch_namespaces`, a Namespace informer runs
  // until destruction.
  KubeSourceView(kube::Client& client, bool watch_namespaces, log::Logger logger, nlohmann::json source_cluster);
  ~KubeSourceView() override;

  bool WaitForSync(std::chrono::milliseconds timeout) const;

  Result<nlohmann::json> NamespaceLabels(const std::string& ns) override;
  Result<std::string> Kind(const plan::Gvr& gvr) override;
  Result<bool> Namespaced(const plan::Gvr& gvr) override;
  Result<std::vector<nlohmann::json>> ListInNamespace(const plan::Gvr& gvr, const std::string& ns) override;
  Result<uint64_t> NamespaceVersion(const std::string& ns) override;
  // A larger epoch than the one seen first replaces the Namespace informer (a fresh LIST).
  Status SourceEpoch(uint64_t epoch) override;

 private:
  kube::Client& client_;
  kube::Discovery discovery_;
  log::Logger logger_;
  nlohmann::json source_cluster_;
  std::shared_ptr<kube::Informer> NewNamespaceInformer();
  std::shared_ptr<kube::Informer> Namespaces() const;

  mutable std::mutex mu_;
  std::shared_ptr<kube::Informer> namespaces_;  // guarded by mu_; replaced on a new epoch
  uint64_t epoch_ = 0;                          // guarded by mu_
};

}  // namespace kubesync::processor

#include "kubesync/service/context.h"

#include <unistd.h>

#include <fstream>
#include <sstream>

namespace kubesync::service {

Result<plan::Plan> LoadPlanFile(const std::filesystem::path& path, const plan::ParseOptions& options) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return InvalidArgumentError("--plan: cannot read \"" + path.string() + "\"");
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = plan::ParseLiveSynchronizationYaml(text.str(), options);
  if (!parsed.ok()) return parsed.status().Annotate("--plan \"" + path.string() + "\"");
  return parsed;
}

std::string PlanId(const plan::Plan& plan) {
  return (plan.namespace_.empty() ? std::string("default") : plan.namespace_) + "." + plan.name;
}

Result<ServiceContext> MakeContext(std::string component, CommonOptions options, std::shared_ptr<log::Sink> sink) {
  if (options.partitions < 1) return InvalidArgumentError("--partitions: must be at least 1");
  plan::ParseOptions parse_options;
  parse_options.operator_namespace = options.operator_namespace;
  KS_ASSIGN_OR_RETURN(plan::Plan plan, LoadPlanFile(options.plan_file, parse_options));
  // A plan file without a namespace means what `kubectl apply` would make of it, so the id
  // used for subjects, Redis keys and marking is the same everywhere.
  if (plan.namespace_.empty()) plan.namespace_ = "default";

  log::Level level = log::Level::kInfo;
  std::string level_text = options.log_level;
  if (level_text.empty()) {
    auto it = plan.components.find(component);
    if (it != plan.components.end() && it->second.log_level) level_text = *it->second.log_level;
  }
  if (!level_text.empty()) {
    auto parsed = log::ParseLevel(level_text);
    if (!parsed.ok()) return parsed.status().Annotate("--log-level");
    level = *parsed;
  }
  std::string consumer = options.consumer_id.empty() ? component + "-" + std::to_string(::getpid())
                                                     : options.consumer_id;
  log::Logger logger({.process_id = component, .consumer_id = consumer, .level = level}, std::move(sink));
  std::string id = PlanId(plan);
  return ServiceContext{std::move(component), std::move(options), std::move(plan), std::move(id), std::move(logger)};
}

Result<std::unique_ptr<kube::Client>> ConnectCluster(const std::string& kubeconfig_path,
                                                     kube::ClientOptions options) {
  kube::RestConfig config;
  if (kubeconfig_path.empty()) {
    KS_ASSIGN_OR_RETURN(config, kube::InClusterConfig());
  } else {
    auto kubeconfig = kube::Kubeconfig::LoadFile(kubeconfig_path);
    if (!kubeconfig.ok()) return kubeconfig.status().Annotate("kubeconfig \"" + kubeconfig_path + "\"");
    auto rest = kubeconfig->ToRestConfig();
    if (!rest.ok()) return rest.status().Annotate("kubeconfig \"" + kubeconfig_path + "\"");
    config = std::move(*rest);
  }
  return kube::Client::Create(config, std::move(options));
}

}  // namespace kubesync::service

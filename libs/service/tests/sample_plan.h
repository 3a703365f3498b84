// The LiveSynchronization the service library's tests load (the processor logs at debug).
#pragma once

namespace kubesync::service {

inline constexpr const char* kPlanYaml = R"(apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata:
  name: sample
  namespace: dr-config
spec:
  plugin: kubernetes-objects-to-kubernetes
  config:
    sourceName: source
    destinationName: destination
    components:
      processor:
        logLevel: debug
    replication:
      resources:
      - group: apps
        version: v1
        resource: deployments
)";

}  // namespace kubesync::service

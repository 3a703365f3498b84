// A LiveSynchronization of every ConfigMap (labelled dr=on) of the source, shared by the
// replica, fault, resync and log tests; `extra_replication` is spliced under
// spec.config.replication (e.g. "      resyncPeriod: 2s\n").
#pragma once

#include <string>

namespace kubesync::e2e {

inline std::string ConfigMapPlan(const std::string& name, const std::string& extra_replication = "") {
  return "apiVersion: automation.astronetes.io/v1alpha1\n"
         "kind: LiveSynchronization\n"
         "metadata:\n"
         "  name: " + name + "\n"
         "  namespace: dr-config\n"
         "spec:\n"
         "  plugin: kubernetes-objects-to-kubernetes\n"
         "  config:\n"
         "    sourceName: source\n"
         "    destinationName: destination\n"
         "    replication:\n"
         "      forceNamespaceCreation: true\n" +
         extra_replication +
         "      resources:\n"
         "        - version: v1\n"
         "          resource: configmaps\n"
         "          filters:\n"
         "            selector:\n"
         "              matchLabels:\n"
         "                dr: \"on\"\n"
         "        - version: v1\n"
         "          resource: secrets\n"
         "          filters:\n"
         "            namespaceSelector:\n"
         "              matchLabels:\n"
         "                env: pre\n";
}

}  // namespace kubesync::e2e

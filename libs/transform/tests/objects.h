// Objects as a real API server returns them (trimmed to what the rules touch), for tests
// and the benchmark.
#pragma once

#include <nlohmann/json.hpp>

namespace kubesync::transform::testing {

inline nlohmann::json Deployment() {
  return nlohmann::json::parse(R"({
  "apiVersion": "apps/v1", "kind": "Deployment",
  "metadata": {
    "name": "web", "namespace": "shop", "uid": "6b2d3f5e-0d1c-4a7e-9f0a-2b1c3d4e5f60",
    "resourceVersion": "184467", "generation": 4, "creationTimestamp": "2024-02-09T14:05:30Z",
    "labels": {"app.kubernetes.io/name": "web", "tier": "front"},
    "annotations": {"deployment.kubernetes.io/revision": "3", "team": "storefront",
      "kubectl.kubernetes.io/last-applied-configuration": "{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\"}"},
    "managedFields": [{"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "apps/v1",
      "time": "2024-02-09T14:05:30Z", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {"f:replicas": {}}}}]
  },
  "spec": {
    "replicas": 3, "revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
    "selector": {"matchLabels": {"app.kubernetes.io/name": "web"}},
    "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
    "template": {
      "metadata": {"labels": {"app.kubernetes.io/name": "web"}},
      "spec": {
        "containers": [
          {"name": "web", "image": "registry.example.com/shop/web:1.4.2", "imagePullPolicy": "IfNotPresent",
           "ports": [{"containerPort": 8080, "protocol": "TCP"}],
           "env": [{"name": "MODE", "value": "live"}],
           "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}},
           "terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"},
          {"name": "sidecar", "image": "registry.example.com/shop/proxy:2.0", "imagePullPolicy": "IfNotPresent"}
        ],
        "restartPolicy": "Always", "terminationGracePeriodSeconds": 30, "dnsPolicy": "ClusterFirst",
        "schedulerName": "default-scheduler", "securityContext": {}
      }
    }
  },
  "status": {"observedGeneration": 4, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 3,
    "availableReplicas": 3, "conditions": [{"type": "Available", "status": "True"}]}
})");
}

inline nlohmann::json Service(const char* type) {
  nlohmann::json svc = nlohmann::json::parse(R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "web", "namespace": "shop", "uid": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "resourceVersion": "1200", "creationTimestamp": "2024-02-09T14:05:31Z", "labels": {"app": "web"}},
  "spec": {
    "clusterIP": "10.96.12.34", "clusterIPs": ["10.96.12.34"], "ipFamilies": ["IPv4"],
    "ipFamilyPolicy": "SingleStack", "internalTrafficPolicy": "Cluster", "sessionAffinity": "None",
    "ports": [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 8080}],
    "selector": {"app": "web"}, "type": "ClusterIP"
  },
  "status": {"loadBalancer": {}}
})");
  svc["spec"]["type"] = type;
  std::string t = type;
  if (t == "NodePort" || t == "LoadBalancer") {
    svc["spec"]["ports"][0]["nodePort"] = 31234;
    svc["spec"]["externalTrafficPolicy"] = "Cluster";
  }
  if (t == "LoadBalancer") {
    svc["spec"]["externalTrafficPolicy"] = "Local";
    svc["spec"]["healthCheckNodePort"] = 32100;
    svc["status"]["loadBalancer"] = {{"ingress", {{{"ip", "203.0.113.7"}}}}};
  }
  return svc;
}

inline nlohmann::json HeadlessService() {
  nlohmann::json svc = Service("ClusterIP");
  svc["spec"]["clusterIP"] = "None";
  svc["spec"]["clusterIPs"] = {"None"};
  return svc;
}

inline nlohmann::json BoundPvc() {
  return nlohmann::json::parse(R"({
  "apiVersion": "v1", "kind": "PersistentVolumeClaim",
  "metadata": {"name": "data", "namespace": "shop", "uid": "11111111-2222-3333-4444-555555555555",
    "resourceVersion": "900", "creationTimestamp": "2024-02-09T14:05:32Z",
    "finalizers": ["kubernetes.io/pvc-protection"],
    "annotations": {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
      "volume.beta.kubernetes.io/storage-provisioner": "rancher.io/local-path",
      "volume.kubernetes.io/storage-provisioner": "rancher.io/local-path",
      "volume.kubernetes.io/selected-node": "node-a", "backup": "daily"}},
  "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
    "storageClassName": "local-path", "volumeMode": "Filesystem",
    "volumeName": "pvc-11111111-2222-3333-4444-555555555555"},
  "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
})");
}

inline nlohmann::json BoundPv() {
  return nlohmann::json::parse(R"({
  "apiVersion": "v1", "kind": "PersistentVolume",
  "metadata": {"name": "pvc-11111111-2222-3333-4444-555555555555", "uid": "aaaaaaaa-2222-3333-4444-555555555555",
    "resourceVersion": "901", "finalizers": ["kubernetes.io/pv-protection"],
    "annotations": {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path",
      "pv.kubernetes.io/bound-by-controller": "yes"}},
  "spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"},
    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": "data", "namespace": "shop",
      "resourceVersion": "880", "uid": "11111111-2222-3333-4444-555555555555"},
    "hostPath": {"path": "/var/local-path/data", "type": "DirectoryOrCreate"},
    "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "local-path", "volumeMode": "Filesystem"},
  "status": {"phase": "Bound"}
})");
}

inline nlohmann::json JobWithGeneratedSelector() {
  return nlohmann::json::parse(R"({
  "apiVersion": "batch/v1", "kind": "Job",
  "metadata": {"name": "migrate", "namespace": "shop", "uid": "c0ffee00-1111-2222-3333-444444444444",
    "resourceVersion": "77", "generation": 1, "labels": {"app": "migrate"},
    "annotations": {"batch.kubernetes.io/job-tracking": ""}},
  "spec": {"backoffLimit": 6, "completions": 1, "parallelism": 1, "suspend": false,
    "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "c0ffee00-1111-2222-3333-444444444444"}},
    "template": {"metadata": {"labels": {
        "app": "migrate",
        "batch.kubernetes.io/controller-uid": "c0ffee00-1111-2222-3333-444444444444",
        "batch.kubernetes.io/job-name": "migrate",
        "controller-uid": "c0ffee00-1111-2222-3333-444444444444", "job-name": "migrate"}},
      "spec": {"containers": [{"name": "m", "image": "registry.example.com/shop/migrate:7"}],
        "restartPolicy": "Never"}}},
  "status": {"succeeded": 1}
})");
}

inline nlohmann::json ServiceAccountTokenSecret() {
  return nlohmann::json::parse(R"({
  "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
  "metadata": {"name": "builder-token-x7k2p", "namespace": "shop", "uid": "5e5e5e5e-1111-2222-3333-444444444444",
    "annotations": {"kubernetes.io/service-account.name": "builder",
      "kubernetes.io/service-account.uid": "6f6f6f6f-1111-2222-3333-444444444444"}},
  "data": {"ca.crt": "LS0tLS1CRUdJTg==", "namespace": "c2hvcA==", "token": "ZXlKaGJHY2lPaUpT"}
})");
}

inline nlohmann::json PodOwnedByReplicaSet() {
  return nlohmann::json::parse(R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {"name": "web-5d8f7c9b6-abcde", "namespace": "shop", "uid": "99999999-1111-2222-3333-444444444444",
    "labels": {"app.kubernetes.io/name": "web", "pod-template-hash": "5d8f7c9b6"},
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-5d8f7c9b6",
      "uid": "88888888-1111-2222-3333-444444444444", "controller": true, "blockOwnerDeletion": true}]},
  "spec": {"nodeName": "node-a", "priority": 0, "serviceAccountName": "default",
    "containers": [{"name": "web", "image": "registry.example.com/shop/web:1.4.2",
      "volumeMounts": [{"name": "kube-api-access-9xk2z", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
        "readOnly": true}]}],
    "volumes": [{"name": "kube-api-access-9xk2z", "projected": {"sources": [{"serviceAccountToken":
      {"expirationSeconds": 3607, "path": "token"}}]}}]},
  "status": {"phase": "Running", "podIP": "10.244.1.7"}
})");
}

inline nlohmann::json CustomResource() {
  return nlohmann::json::parse(R"({
  "apiVersion": "example.com/v1", "kind": "Widget",
  "metadata": {"name": "w1", "namespace": "shop", "uid": "abababab-1111-2222-3333-444444444444",
    "resourceVersion": "31", "generation": 2, "creationTimestamp": "2024-02-09T14:05:33Z",
    "finalizers": ["example.com/cleanup"], "labels": {"app": "w"}},
  "spec": {"size": 3, "tags": ["a", "b"], "nested": {"deep": {"value": "x"}}},
  "status": {"ready": true}
})");
}

}  // namespace kubesync::transform::testing

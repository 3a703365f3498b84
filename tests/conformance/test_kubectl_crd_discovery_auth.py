"""kubectl against the emulator: CustomResourceDefinitions and their CRs, discovery
(api-resources, api-versions), and authentication/authorization (reader, bad token,
client certificate, the kubeconfigs written by --write-kubeconfig)."""

import json
import os
import unittest

from conformance_support import CERT_USER, READER_TOKEN, EmulatorTestCase, wait_for

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names:
    plural: widgets
    singular: widget
    kind: Widget
    shortNames: [wd]
  versions:
  - name: v1
    served: true
    storage: true
    subresources:
      status: {}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            x-kubernetes-preserve-unknown-fields: true
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
"""


def widget(name, size):
    return (f"apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: {name}\n"
            f"  labels: {{size: {size}}}\nspec:\n  size: {size}\n  color: red\n")


BUILTIN_GROUPS = {
    # group -> (a group version it must serve, a resource it must list)
    "apps": ("apps/v1", "deployments.apps"),
    "batch": ("batch/v1", "jobs.batch"),
    "networking.k8s.io": ("networking.k8s.io/v1", "ingresses.networking.k8s.io"),
    "rbac.authorization.k8s.io": ("rbac.authorization.k8s.io/v1",
                                  "roles.rbac.authorization.k8s.io"),
    "policy": ("policy/v1", "poddisruptionbudgets.policy"),
    "autoscaling": ("autoscaling/v1", "horizontalpodautoscalers.autoscaling"),
    "coordination.k8s.io": ("coordination.k8s.io/v1", "leases.coordination.k8s.io"),
    "apiextensions.k8s.io": ("apiextensions.k8s.io/v1",
                             "customresourcedefinitions.apiextensions.k8s.io"),
}


class KubectlCrdTest(EmulatorTestCase):

    def test_crd_lifecycle(self):
        ns = self.make_namespace("crd")
        self.assertIn("customresourcedefinition.apiextensions.k8s.io/widgets.example.com "
                      "created", self.kubectl.apply_text(CRD))
        self.kubectl.ok("wait", "--for=condition=Established",
                        "crd/widgets.example.com", "--timeout=30s")
        crd = self.kubectl.json("get", "crd", "widgets.example.com")
        self.assertEqual(crd["metadata"]["generation"], 1)
        self.assertEqual(crd["status"]["acceptedNames"]["kind"], "Widget")
        self.assertEqual(crd["status"]["acceptedNames"]["listKind"], "WidgetList")
        self.assertEqual(crd["status"]["storedVersions"], ["v1"])
        conditions = {c["type"]: c for c in crd["status"]["conditions"]}
        self.assertEqual(conditions["Established"]["status"], "True")
        self.assertEqual(conditions["NamesAccepted"]["status"], "True")

        # Discovery now serves the new group (kubectl refreshes its cache on a miss).
        self.assertEqual(self.kubectl.ok("api-resources", "--api-group=example.com",
                                         "-o", "name").split(), ["widgets.example.com"])
        self.assertIn("example.com/v1", self.kubectl.ok("api-versions").split())
        wide = self.kubectl.ok("api-resources", "--api-group=example.com", "--no-headers")
        self.assertEqual(wide.split()[:2], ["widgets", "wd"], wide)

        self.kubectl.ok("create", "-f", "-", "-n", ns, input=widget("a", "small"))
        self.kubectl.apply_text(widget("b", "large"), "-n", ns)
        listed = self.kubectl.json("get", "wd", "-n", ns)
        self.assertEqual(sorted(i["metadata"]["name"] for i in listed["items"]), ["a", "b"])
        for item in listed["items"]:
            self.assertEqual((item["kind"], item["apiVersion"]), ("Widget", "example.com/v1"))
            self.assertEqual(item["metadata"]["generation"], 1)
            self.assert_server_metadata(item)
        self.assertEqual(self.kubectl.ok("get", "widgets.example.com", "-n", ns, "-l",
                                         "size=large", "-o", "name").split(),
                         ["widget.example.com/b"])

        self.kubectl.ok("patch", "widget", "a", "-n", ns, "--type", "merge",
                        "-p", '{"spec":{"size":"medium","color":null}}')
        a = self.kubectl.json("get", "wd", "a", "-n", ns)
        self.assertEqual(a["spec"], {"size": "medium"})
        self.assertEqual(a["metadata"]["generation"], 2)
        # Custom resources have no strategic merge patch: 415.
        err = self.kubectl.fail("patch", "wd", "a", "-n", ns, "--type", "strategic",
                                "-p", '{"spec":{"size":"huge"}}')
        self.assertIn("application/strategic-merge-patch+json is not supported", err)
        r = self.emu.request("PATCH", f"/apis/example.com/v1/namespaces/{ns}/widgets/a",
                             {"spec": {"size": "huge"}},
                             content_type="application/strategic-merge-patch+json")
        self.assert_status(r, 415, "UnsupportedMediaType")
        # With the status subresource, status is written only through /status.
        self.kubectl.ok("patch", "wd", "a", "-n", ns, "--subresource=status", "--type",
                        "merge", "-p", '{"status":{"phase":"Ready"}}')
        self.kubectl.ok("patch", "wd", "a", "-n", ns, "--type", "merge",
                        "-p", '{"status":{"phase":"Ignored"}}')
        a = self.kubectl.json("get", "wd", "a", "-n", ns)
        self.assertEqual(a["status"], {"phase": "Ready"})
        self.assertEqual(a["metadata"]["generation"], 2)

        self.assertIn('widget.example.com "b" deleted',
                      self.kubectl.ok("delete", "wd", "b", "-n", ns))
        self.assertFalse(self.emu.exists(f"/apis/example.com/v1/namespaces/{ns}/widgets/b"))
        self.assertTrue(self.emu.exists(f"/apis/example.com/v1/namespaces/{ns}/widgets/a"))

        self.kubectl.ok("delete", "crd", "widgets.example.com", "--timeout=30s")
        self.assertFalse(self.emu.exists(
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com"))
        r = self.emu.request("GET", f"/apis/example.com/v1/namespaces/{ns}/widgets")
        self.assert_status(r, 404, "NotFound")
        self.assertNotIn("widgets.example.com",
                         self.kubectl.ok("api-resources", "-o", "name").split())
        self.assertNotIn("example.com/v1", self.kubectl.ok("api-versions").split())
        # Re-creating the CRD does not bring the old CRs back.
        self.kubectl.apply_text(CRD)
        self.kubectl.ok("wait", "--for=condition=Established",
                        "crd/widgets.example.com", "--timeout=30s")
        wait_for(lambda: self.emu.request(
            "GET", f"/apis/example.com/v1/namespaces/{ns}/widgets").status == 200,
            what="widgets served again")
        self.assertEqual(self.emu.get_json(
            f"/apis/example.com/v1/namespaces/{ns}/widgets")["items"], [])
        self.kubectl.ok("delete", "crd", "widgets.example.com", "--timeout=30s")

    def test_builtin_groups_in_discovery(self):
        versions = self.kubectl.ok("api-versions").split()
        resources = self.kubectl.ok("api-resources", "-o", "name").split()
        self.assertIn("v1", versions)
        for core in ("configmaps", "secrets", "namespaces", "services", "pods"):
            self.assertIn(core, resources)
        missing = [(g, gv, res) for g, (gv, res) in BUILTIN_GROUPS.items()
                   if gv not in versions or res not in resources]
        self.assertEqual(missing, [])
        ns_scoped = self.kubectl.ok("api-resources", "--namespaced=false", "-o", "name")
        self.assertIn("namespaces", ns_scoped.split())
        self.assertIn("customresourcedefinitions.apiextensions.k8s.io", ns_scoped.split())
        self.assertNotIn("configmaps", ns_scoped.split())
        server = json.loads(self.kubectl.ok("version", "-o", "json"))["serverVersion"]
        self.assertEqual(server["major"], "1")
        self.assertRegex(server["gitVersion"], r"^v1\.\d+\.\d+")


class KubectlAuthTest(EmulatorTestCase):

    def test_reader_can_read_but_not_write(self):
        self.kubectl.ok("create", "configmap", "readable", "-n", "default",
                        "--from-literal=k=v")
        got = self.kubectl.json("get", "configmap", "readable", "-n", "default",
                                user="reader")
        self.assertEqual(got["data"], {"k": "v"})
        names = self.kubectl.ok("get", "configmaps", "-A", "-o", "name", user="reader")
        self.assertIn("configmap/readable", names.split())

        err = self.kubectl.fail("create", "configmap", "nope", "-n", "default",
                                user="reader")
        self.assertIn('configmaps is forbidden: User "reader" cannot create resource', err)
        r = self.emu.request("POST", "/api/v1/namespaces/default/configmaps",
                             {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "nope"}}, token=READER_TOKEN)
        self.assert_status(r, 403, "Forbidden")
        self.assertFalse(self.emu.exists("/api/v1/namespaces/default/configmaps/nope"))
        err = self.kubectl.fail("delete", "configmap", "readable", "-n", "default",
                                user="reader")
        self.assertIn("Forbidden", err)
        err = self.kubectl.fail("label", "configmap", "readable", "-n", "default", "x=y",
                                user="reader")
        self.assertIn("Forbidden", err)
        cm = self.emu.get_json("/api/v1/namespaces/default/configmaps/readable")
        self.assertNotIn("x", cm["metadata"].get("labels", {}))

    def test_wrong_token_is_unauthorized(self):
        err = self.kubectl.fail("get", "configmaps", "-n", "default", user="wrong")
        self.assertIn("Unauthorized", err)
        r = self.emu.request("GET", "/api/v1/namespaces/default/configmaps", token="bad")
        self.assert_status(r, 401, "Unauthorized")
        r = self.emu.request("GET", "/api/v1/namespaces/default/configmaps", token=None)
        self.assertIn(r.status, (401, 403), r.raw)

    def test_client_certificate_user(self):
        ns = self.make_namespace("cert")
        self.kubectl.ok("create", "configmap", "by-cert", "-n", ns, "--from-literal=k=v",
                        user="cert")
        self.kubectl.ok("label", "configmap", "by-cert", "-n", ns, "who=cert", user="cert")
        cm = self.kubectl.json("get", "configmap", "by-cert", "-n", ns, user="cert")
        self.assertEqual(cm["metadata"]["labels"], {"who": "cert"})
        self.assertEqual(self.emu.get_json(
            f"/api/v1/namespaces/{ns}/configmaps/by-cert")["data"], {"k": "v"})
        counters = self.emu.get_json("/emulator/counters")["requests"]
        creates = [c for c in counters if c["user"] == CERT_USER and c["verb"] == "create"
                   and c["resource"] == "configmaps"]
        self.assertEqual(len(creates), 1, counters)
        self.assertGreaterEqual(creates[0]["count"], 1)
        self.kubectl.ok("delete", "configmap", "by-cert", "-n", ns, user="cert")
        self.assertFalse(self.emu.exists(f"/api/v1/namespaces/{ns}/configmaps/by-cert"))

    def test_written_kubeconfigs(self):
        admin = self.emu.written_kubeconfig("admin")
        reader = self.emu.written_kubeconfig("reader")
        self.assertTrue(os.path.exists(admin), os.listdir(self.emu.kubeconfig_dir))
        self.assertTrue(os.path.exists(reader), os.listdir(self.emu.kubeconfig_dir))
        view = json.loads(self.kubectl.ok("config", "view", "--raw", "-o", "json",
                                          kubeconfig=admin))
        server = view["clusters"][0]["cluster"]["server"]
        self.assertEqual(server.split("://")[0], "https")
        self.assertTrue(server.endswith(f":{self.emu.port}"), server)
        self.assertIn("certificate-authority-data", view["clusters"][0]["cluster"])
        self.kubectl.ok("create", "configmap", "via-written", "-n", "default",
                        kubeconfig=admin)
        self.assertTrue(self.emu.exists("/api/v1/namespaces/default/configmaps/via-written"))
        self.kubectl.ok("get", "configmap", "via-written", "-n", "default",
                        kubeconfig=reader)
        err = self.kubectl.fail("delete", "configmap", "via-written", "-n", "default",
                                kubeconfig=reader)
        self.assertIn("Forbidden", err)


if __name__ == "__main__":
    unittest.main()

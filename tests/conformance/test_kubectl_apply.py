"""kubectl apply against the emulator: client-side apply (strategic merge + last-applied
three-way merge), server-side apply with conflicts and --force-conflicts, and kind: List
input. Every scenario reads the server state back."""

import json
import unittest

import yaml

from conformance_support import EmulatorTestCase
from manifests import DEPLOYMENT_V1, DEPLOYMENT_V2, container

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class KubectlApplyTest(EmulatorTestCase):

    def test_client_side_apply_three_way_merge(self):
        ns = self.make_namespace("apply")
        self.assertIn("deployment.apps/web created",
                      self.kubectl.apply_text(DEPLOYMENT_V1, "-n", ns))
        first = self.kubectl.json("get", "deploy", "web", "-n", ns)
        self.assertEqual(first["metadata"]["generation"], 1)
        self.assertEqual(json.loads(first["metadata"]["annotations"][LAST_APPLIED])
                         ["spec"]["replicas"], 2)
        # A field set by someone else (not in last-applied) must survive the next apply.
        self.kubectl.ok("label", "deploy", "web", "-n", ns, "owner=ops")

        self.assertIn("deployment.apps/web configured",
                      self.kubectl.apply_text(DEPLOYMENT_V2, "-n", ns))
        d = self.kubectl.json("get", "deploy", "web", "-n", ns)
        c = container(d)
        self.assertEqual(c["image"], "nginx:1.26")
        self.assertEqual(c["env"], [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])
        self.assertEqual([p["containerPort"] for p in c["ports"]], [80])
        self.assertEqual(d["spec"]["replicas"], 4)
        self.assertEqual(d["metadata"]["labels"], {"app": "web", "owner": "ops"})
        self.assertEqual(d["metadata"]["generation"], 2)
        self.assertEqual(d["metadata"]["uid"], first["metadata"]["uid"])
        applied = json.loads(d["metadata"]["annotations"][LAST_APPLIED])
        self.assertEqual(applied["spec"]["replicas"], 4)
        self.assertEqual(container(applied)["image"], "nginx:1.26")
        self.assertNotIn("tier", applied["metadata"]["labels"])

        # Applying the same file again changes nothing: no new resourceVersion.
        self.assertIn("deployment.apps/web unchanged",
                      self.kubectl.apply_text(DEPLOYMENT_V2, "-n", ns))
        again = self.kubectl.json("get", "deploy", "web", "-n", ns)
        self.assertEqual(again["metadata"]["resourceVersion"], d["metadata"]["resourceVersion"])

    def test_apply_configmap_key_removed(self):
        ns = self.make_namespace("applycm")
        base = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: conf\ndata:\n"
        self.kubectl.apply_text(base + "  a: '1'\n  b: '2'\n  c: '3'\n", "-n", ns)
        self.assertEqual(self.kubectl.json("get", "cm", "conf", "-n", ns)["data"],
                         {"a": "1", "b": "2", "c": "3"})
        self.assertIn("configmap/conf configured",
                      self.kubectl.apply_text(base + "  a: '1'\n  c: '30'\n", "-n", ns))
        cm = self.kubectl.json("get", "cm", "conf", "-n", ns)
        self.assertEqual(cm["data"], {"a": "1", "c": "30"})
        self.assertEqual(json.loads(cm["metadata"]["annotations"][LAST_APPLIED])["data"],
                         {"a": "1", "c": "30"})

    def test_server_side_apply_conflict_and_force(self):
        ns = self.make_namespace("ssa")
        doc = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n"
               "data:\n  owner: kubectl\n  x: '1'\n")
        out = self.kubectl.ok("apply", "--server-side", "-f", "-", "-n", ns, input=doc)
        self.assertIn("configmap/shared serverside-applied", out)
        cm = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/shared")
        self.assertEqual(cm["data"], {"owner": "kubectl", "x": "1"})
        managers = {m["manager"]: m for m in cm["metadata"]["managedFields"]}
        self.assertEqual(managers["kubectl"]["operation"], "Apply")
        self.assertIn("f:x", managers["kubectl"]["fieldsV1"]["f:data"])

        other = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  x: '2'\n"
        # kubectl's default manager ("kubectl") owns data.x: another manager conflicts.
        err = self.kubectl.fail("apply", "--server-side", "--field-manager=other", "-f", "-",
                                "-n", ns, input=other)
        self.assertIn("conflict", err.lower())
        self.assertIn(".data.x", err)
        self.assertEqual(self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/shared")
                         ["data"]["x"], "1")

        self.kubectl.ok("apply", "--server-side", "--field-manager=other", "--force-conflicts",
                        "-f", "-", "-n", ns, input=other)
        cm = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/shared")
        self.assertEqual(cm["data"], {"owner": "kubectl", "x": "2"})
        managers = {m["manager"]: m for m in cm["metadata"]["managedFields"]}
        self.assertIn("f:x", managers["other"]["fieldsV1"]["f:data"])
        self.assertNotIn("f:x", managers["kubectl"]["fieldsV1"]["f:data"])
        self.assertIn("f:owner", managers["kubectl"]["fieldsV1"]["f:data"])

    def test_apply_list_from_get(self):
        # `kubectl get -o yaml | kubectl apply -f -` feeds apply a kind: List document.
        # (Keys like `n` or `y` would not survive: kubectl reads YAML 1.1, where they are
        # booleans, and PyYAML does not quote them.)
        src = self.make_namespace("listsrc")
        dst = self.make_namespace("listdst")
        for name in ("one", "two"):
            self.kubectl.ok("create", "configmap", name, "-n", src, f"--from-literal=value={name}")
        exported = yaml.safe_load(self.kubectl.ok("get", "cm", "one", "two", "-n", src,
                                                  "-o", "yaml"))
        self.assertEqual(exported["kind"], "List")
        for item in exported["items"]:
            item["metadata"] = {"name": item["metadata"]["name"]}
        out = self.kubectl.apply_text(yaml.safe_dump(exported), "-n", dst)
        self.assertIn("configmap/one created", out)
        self.assertIn("configmap/two created", out)
        self.assertEqual(self.emu.get_json(f"/api/v1/namespaces/{dst}/configmaps/two")
                         ["data"], {"value": "two"})


if __name__ == "__main__":
    unittest.main()

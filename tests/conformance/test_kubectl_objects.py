"""kubectl against the emulator: create/get, label, annotate, patch, scale, replace, diff,
delete, dry-run and selectors. Every scenario reads the server state back."""

import json
import unittest

import yaml

from conformance_support import EmulatorTestCase
from manifests import DEPLOYMENT_V1, container

MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
  labels: {app: shop}
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
  labels: {app: shop}
spec:
  replicas: 2
  selector:
    matchLabels: {app: shop}
  template:
    metadata:
      labels: {app: shop}
    spec:
      containers:
      - name: shop
        image: nginx:1.25
        ports:
        - {containerPort: 80, name: http}
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports:
  - {name: http, port: 80, targetPort: 80, protocol: TCP}
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
data:
  password: czNjcjN0
"""

class KubectlObjectsTest(EmulatorTestCase):

    def test_create_and_get_json_and_yaml(self):
        ns = self.make_namespace("create")
        out = self.kubectl.ok("create", "-f", "-", "-n", ns, input=MANIFESTS)
        for line in ("configmap/settings created", "deployment.apps/shop created",
                     "service/shop created", "secret/creds created"):
            self.assertIn(line, out)

        cm = self.kubectl.json("get", "configmap", "settings", "-n", ns)
        self.assertEqual((cm["kind"], cm["apiVersion"]), ("ConfigMap", "v1"))
        self.assertEqual(cm["metadata"]["namespace"], ns)
        self.assertEqual(cm["data"], {"mode": "fast"})
        self.assert_server_metadata(cm)
        self.assertNotIn("generation", cm["metadata"])  # no spec, no generation

        deploy = yaml.safe_load(self.kubectl.ok("get", "deployment", "shop", "-n", ns,
                                                "-o", "yaml"))
        self.assertEqual((deploy["kind"], deploy["apiVersion"]), ("Deployment", "apps/v1"))
        self.assert_server_metadata(deploy)
        self.assertEqual(deploy["metadata"]["generation"], 1)
        self.assertEqual(deploy["spec"]["replicas"], 2)
        self.assertEqual(container(deploy)["image"], "nginx:1.25")

        svc = self.kubectl.json("get", "service", "shop", "-n", ns)
        self.assert_server_metadata(svc)
        self.assertEqual(svc["spec"]["ports"][0]["port"], 80)
        self.assertEqual(svc["spec"]["selector"], {"app": "shop"})

        secret = self.kubectl.json("get", "secret", "creds", "-n", ns)
        self.assert_server_metadata(secret)
        self.assertEqual(secret["data"], {"password": "czNjcjN0"})
        self.assertEqual(secret["type"], "Opaque")

        uids = {o["metadata"]["uid"] for o in (cm, deploy, svc, secret)}
        self.assertEqual(len(uids), 4)
        # One global counter: later creates carry larger resourceVersions.
        rvs = [int(o["metadata"]["resourceVersion"]) for o in (cm, deploy, svc, secret)]
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(set(rvs)), 4)

        # A second create of the same objects is refused with AlreadyExists.
        err = self.kubectl.fail("create", "-f", "-", "-n", ns, input=MANIFESTS)
        self.assertIn('configmaps "settings" already exists', err)
        self.assertIn("AlreadyExists", err)

        # The whole list, as kubectl sees it.
        listed = self.kubectl.json("get", "configmaps,deployments,services,secrets",
                                   "-n", ns)
        names = {(i["kind"], i["metadata"]["name"]) for i in listed["items"]}
        self.assertLessEqual({("ConfigMap", "settings"), ("Deployment", "shop"),
                              ("Service", "shop"), ("Secret", "creds")}, names)

    def test_label_and_annotate(self):
        ns = self.make_namespace("label")
        self.kubectl.ok("create", "configmap", "tagged", "-n", ns, "--from-literal=k=v")
        self.kubectl.ok("label", "cm", "tagged", "-n", ns, "color=red", "size=xl")
        err = self.kubectl.fail("label", "cm", "tagged", "-n", ns, "color=blue")
        self.assertIn("--overwrite is false", err)
        self.kubectl.ok("label", "cm", "tagged", "-n", ns, "color=blue", "--overwrite")
        self.kubectl.ok("label", "cm", "tagged", "-n", ns, "size-")
        self.kubectl.ok("annotate", "cm", "tagged", "-n", ns, "note=hello", "keep=yes")
        self.kubectl.ok("annotate", "cm", "tagged", "-n", ns, "note=bye", "--overwrite")
        self.kubectl.ok("annotate", "cm", "tagged", "-n", ns, "keep-")
        md = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/tagged")["metadata"]
        self.assertEqual(md["labels"], {"color": "blue"})
        self.assertEqual(md["annotations"], {"note": "bye"})

    def test_patch_merge_json_strategic(self):
        ns = self.make_namespace("patch")
        path = f"/api/v1/namespaces/{ns}/configmaps/p"
        self.kubectl.ok("create", "configmap", "p", "-n", ns, "--from-literal=k=v",
                        "--from-literal=gone=x")
        self.kubectl.ok("patch", "cm", "p", "-n", ns, "--type", "merge",
                        "-p", '{"data":{"k":"v2","gone":null,"new":"n"}}')
        self.assertEqual(self.emu.get_json(path)["data"], {"k": "v2", "new": "n"})
        self.kubectl.ok("patch", "cm", "p", "-n", ns, "--type", "json", "-p",
                        '[{"op":"add","path":"/data/j","value":"x"},'
                        '{"op":"remove","path":"/data/k"}]')
        before = self.emu.get_json(path)
        self.assertEqual(before["data"], {"new": "n", "j": "x"})
        # A failed "test" op rejects the whole patch (422) and changes nothing.
        err = self.kubectl.fail("patch", "cm", "p", "-n", ns, "--type", "json", "-p",
                                '[{"op":"remove","path":"/data/j"},'
                                '{"op":"test","path":"/data/new","value":"nope"}]')
        self.assertTrue(err.strip(), err)
        after = self.emu.get_json(path)
        self.assertEqual(after["data"], {"new": "n", "j": "x"})
        self.assertEqual(after["metadata"]["resourceVersion"],
                         before["metadata"]["resourceVersion"])
        raw = self.emu.request("PATCH", path, [{"op": "test", "path": "/data/new",
                                                "value": "nope"}],
                               content_type="application/json-patch+json")
        self.assert_status(raw, 422)

        # Strategic merge (kubectl's default patch type): lists merge by their keys.
        self.kubectl.apply_text(DEPLOYMENT_V1, "-n", ns)
        self.kubectl.ok("patch", "deploy", "web", "-n", ns, "-p", json.dumps(
            {"spec": {"template": {"spec": {"containers": [
                {"name": "web", "env": [{"name": "C", "value": "3"}],
                 "ports": [{"containerPort": 443, "$patch": "delete"}]}]}}}}))
        c = container(self.kubectl.json("get", "deploy", "web", "-n", ns))
        self.assertEqual(c["image"], "nginx:1.25")
        # Merged by name: A kept, C added (SMP may order the new key first).
        self.assertCountEqual(c["env"], [{"name": "A", "value": "1"},
                                         {"name": "C", "value": "3"}])
        self.assertEqual([p["containerPort"] for p in c["ports"]], [80])
        self.kubectl.ok("patch", "deploy", "web", "-n", ns, "--type", "strategic", "-p",
                        '{"spec":{"template":{"spec":{"containers":'
                        '[{"name":"web","image":"nginx:1.27"}]}}}}')
        d = self.kubectl.json("get", "deploy", "web", "-n", ns)
        self.assertEqual(container(d)["image"], "nginx:1.27")
        self.assertEqual(len(container(d)["env"]), 2)
        self.assertEqual(d["metadata"]["generation"], 3)

    def test_scale_deployment_and_scale_subresource(self):
        ns = self.make_namespace("scale")
        self.kubectl.apply_text(DEPLOYMENT_V1, "-n", ns)
        self.assertIn("deployment.apps/web scaled",
                      self.kubectl.ok("scale", "deployment", "web", "-n", ns, "--replicas=3"))
        d = self.kubectl.json("get", "deploy", "web", "-n", ns)
        self.assertEqual(d["spec"]["replicas"], 3)
        self.assertEqual(d["metadata"]["generation"], 2)
        scale = self.kubectl.json("get", "deploy", "web", "-n", ns, "--subresource=scale")
        self.assertEqual((scale["kind"], scale["apiVersion"]), ("Scale", "autoscaling/v1"))
        self.assertEqual(scale["spec"]["replicas"], 3)
        self.assertEqual(scale["metadata"]["name"], "web")
        raw = self.emu.get_json(f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale")
        self.assertEqual(raw["spec"]["replicas"], 3)
        # --current-replicas is a precondition checked against the server.
        err = self.kubectl.fail("scale", "deployment", "web", "-n", ns,
                                "--current-replicas=7", "--replicas=1")
        self.assertIn("7", err)
        self.assertEqual(self.kubectl.json("get", "deploy", "web", "-n", ns)
                         ["spec"]["replicas"], 3)

    def test_delete_and_delete_by_label(self):
        ns = self.make_namespace("delete")
        for name, tier in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b")):
            self.kubectl.ok("create", "configmap", name, "-n", ns)
            self.kubectl.ok("label", "cm", name, "-n", ns, f"tier={tier}")
        self.assertIn('configmap "a1" deleted',
                      self.kubectl.ok("delete", "cm", "a1", "-n", ns, "--wait"))
        err = self.kubectl.fail("get", "cm", "a1", "-n", ns)
        self.assertIn('configmaps "a1" not found', err)
        self.assertIn("NotFound", err)
        self.assertFalse(self.emu.exists(f"/api/v1/namespaces/{ns}/configmaps/a1"))
        out = self.kubectl.ok("delete", "cm", "-l", "tier=a", "-n", ns)
        self.assertIn('configmap "a2" deleted', out)
        self.assertIn('configmap "a3" deleted', out)
        left = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps")["items"]
        self.assertEqual([i["metadata"]["name"] for i in left
                          if i["metadata"]["name"] != "kube-root-ca.crt"], ["b1"])
        err = self.kubectl.fail("delete", "cm", "missing", "-n", ns)
        self.assertIn('configmaps "missing" not found', err)

    def test_replace_diff_and_wait_for_delete(self):
        ns = self.make_namespace("replace")
        self.kubectl.ok("create", "configmap", "r", "-n", ns, "--from-literal=a=1")
        cm = self.kubectl.json("get", "cm", "r", "-n", ns)
        stale = dict(cm, data={"a": "stale"})
        cm["data"] = {"a": "2"}
        self.assertIn("configmap/r replaced",
                      self.kubectl.ok("replace", "-f", "-", "-n", ns, input=json.dumps(cm)))
        err = self.kubectl.fail("replace", "-f", "-", "-n", ns, input=json.dumps(stale))
        self.assertIn("Conflict", err)
        self.assertIn("the object has been modified", err)
        self.assertEqual(self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/r")["data"],
                         {"a": "2"})

        # kubectl diff asks the server for a dry-run of the change: exit 1, nothing stored.
        self.kubectl.apply_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\n"
                                "data:\n  k: before\n", "-n", ns)
        before = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/d")
        r = self.kubectl.run("diff", "-f", "-", "-n", ns, input=(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: d\ndata:\n  k: after\n"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("+  k: after", r.stdout)
        self.assertIn("-  k: before", r.stdout)
        after = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/d")
        self.assertEqual(after["data"], {"k": "before"})
        self.assertEqual(after["metadata"]["resourceVersion"],
                         before["metadata"]["resourceVersion"])

        self.kubectl.ok("delete", "cm", "d", "-n", ns, "--wait=false")
        self.kubectl.ok("wait", "--for=delete", "configmap/d", "-n", ns, "--timeout=20s")
        self.assertFalse(self.emu.exists(f"/api/v1/namespaces/{ns}/configmaps/d"))

    def test_server_dry_run_stores_nothing(self):
        ns = self.make_namespace("dry")
        out = self.kubectl.json("create", "configmap", "dry", "-n", ns, "--from-literal=a=b",
                                "--dry-run=server")
        self.assertEqual(out["data"], {"a": "b"})
        self.assertFalse(self.emu.exists(f"/api/v1/namespaces/{ns}/configmaps/dry"))
        self.kubectl.ok("create", "configmap", "real", "-n", ns, "--from-literal=a=b")
        before = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/real")
        self.kubectl.ok("patch", "cm", "real", "-n", ns, "--type", "merge",
                        "-p", '{"data":{"a":"changed"}}', "--dry-run=server")
        self.kubectl.ok("delete", "cm", "real", "-n", ns, "--dry-run=server")
        after = self.emu.get_json(f"/api/v1/namespaces/{ns}/configmaps/real")
        self.assertEqual(after["data"], {"a": "b"})
        self.assertEqual(after["metadata"]["resourceVersion"],
                         before["metadata"]["resourceVersion"])

    def test_get_with_selectors_and_all_namespaces(self):
        ns1 = self.make_namespace("sel")
        ns2 = self.make_namespace("sel")
        for ns in (ns1, ns2):
            self.kubectl.apply_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: red, labels: "
                "{hue: red, shiny: 'yes'}}\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: blue, labels: "
                "{hue: blue}}\n---\n"
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: plain}\n", "-n", ns)

        def names(*args):
            # kube-root-ca.crt is added to every namespace by a real cluster's controller.
            out = self.kubectl.ok("get", "cm", "-n", ns1, "-o", "name", *args)
            return sorted(n for n in out.split() if n != "configmap/kube-root-ca.crt")

        self.assertEqual(names("-l", "hue=red"), ["configmap/red"])
        self.assertEqual(names("-l", "hue!=red"), ["configmap/blue", "configmap/plain"])
        self.assertEqual(names("-l", "hue in (red,blue),!shiny"), ["configmap/blue"])
        self.assertEqual(names("-l", "hue notin (red)", "--field-selector",
                               "metadata.name!=kube-root-ca.crt"),
                         ["configmap/blue", "configmap/plain"])
        self.assertEqual(names("-l", "shiny"), ["configmap/red"])
        self.assertEqual(names("--field-selector", "metadata.name=plain"), ["configmap/plain"])
        self.assertEqual(names("--field-selector", f"metadata.namespace={ns1},"
                               "metadata.name=blue"), ["configmap/blue"])
        err = self.kubectl.fail("get", "cm", "-n", ns1, "--field-selector", "data.x=1")
        self.assertIn("BadRequest", err)

        everything = self.kubectl.json("get", "cm", "-A", "-l", "hue")
        seen = sorted((i["metadata"]["namespace"], i["metadata"]["name"])
                      for i in everything["items"])
        self.assertEqual(seen, sorted([(ns1, "red"), (ns1, "blue"), (ns2, "red"),
                                       (ns2, "blue")]))
        out = self.kubectl.ok("get", "cm", "-A", "--field-selector", "metadata.name=red",
                              "--no-headers", "-o", "custom-columns=NS:.metadata.namespace")
        self.assertEqual(sorted(out.split()), sorted([ns1, ns2]))


if __name__ == "__main__":
    unittest.main()

"""kubectl against the emulator: namespace lifecycle (Terminating, contents removed, gone),
protected namespaces, and `kubectl get -w --output-watch-events`."""

import json
import unittest

from conformance_support import EmulatorTestCase, wait_for


class KubectlNamespaceTest(EmulatorTestCase):

    def test_create_namespace_fields(self):
        name = self.make_namespace("fields")
        ns = self.kubectl.json("get", "namespace", name)
        self.assertEqual((ns["kind"], ns["apiVersion"]), ("Namespace", "v1"))
        self.assert_server_metadata(ns)
        self.assertEqual(ns["metadata"]["labels"]["kubernetes.io/metadata.name"], name)
        self.assertEqual(ns["spec"]["finalizers"], ["kubernetes"])
        self.assertEqual(ns["status"]["phase"], "Active")
        listed = self.kubectl.ok("get", "namespaces", "-o", "name").split()
        for expected in ("default", "kube-system", "kube-public", "kube-node-lease", name):
            self.assertIn(f"namespace/{expected}", listed)

    def test_delete_namespace_removes_contents(self):
        name = self.make_namespace("gone")
        self.kubectl.ok("create", "configmap", "c1", "-n", name, "--from-literal=a=b")
        self.kubectl.ok("create", "secret", "generic", "s1", "-n", name,
                        "--from-literal=p=q")
        self.kubectl.ok("create", "deployment", "d1", "-n", name, "--image=nginx:1.25")
        # Writing into a namespace that does not exist is a 404 naming the namespace.
        err = self.kubectl.fail("create", "configmap", "c1", "-n", name + "-missing")
        self.assertIn(f'namespaces "{name}-missing" not found', err)

        out = self.kubectl.ok("delete", "namespace", name, "--timeout=30s")
        self.assertIn(f'namespace "{name}" deleted', out)
        # kubectl delete waits until the namespace is gone.
        self.assertFalse(self.emu.exists(f"/api/v1/namespaces/{name}"))
        err = self.kubectl.fail("get", "namespace", name)
        self.assertIn(f'namespaces "{name}" not found', err)
        for path in ("/api/v1/namespaces/{}/configmaps", "/api/v1/namespaces/{}/secrets",
                     "/apis/apps/v1/namespaces/{}/deployments"):
            # Listing in a missing namespace is an empty list, as on a real cluster.
            self.assertEqual(self.emu.get_json(path.format(name))["items"], [], path)

    def test_terminating_namespace_waits_for_finalized_content(self):
        name = self.make_namespace("term")
        self.kubectl.apply_text(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: held\n"
            "  finalizers: [example.com/hold]\ndata: {a: b}\n", "-n", name)
        self.kubectl.ok("create", "configmap", "plain", "-n", name)
        self.kubectl.ok("delete", "namespace", name, "--wait=false")

        ns = self.emu.get_json(f"/api/v1/namespaces/{name}")
        self.assertIn("deletionTimestamp", ns["metadata"])
        self.assertEqual(ns["status"]["phase"], "Terminating")
        wait_for(lambda: not self.emu.exists(f"/api/v1/namespaces/{name}/configmaps/plain"),
                 what="content without finalizers deleted")
        held = self.emu.get_json(f"/api/v1/namespaces/{name}/configmaps/held")
        self.assertIn("deletionTimestamp", held["metadata"])
        # The namespace stays while content holds a finalizer.
        self.assertEqual(self.kubectl.json("get", "namespace", name)["status"]["phase"],
                         "Terminating")
        err = self.kubectl.fail("create", "-f", "-", "-n", name, input=(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: late\n"))
        self.assertIn("Error from server (Forbidden)", err)
        self.assertIn("because it is being terminated", err)
        r = self.emu.request("POST", f"/api/v1/namespaces/{name}/configmaps",
                             {"apiVersion": "v1", "kind": "ConfigMap",
                              "metadata": {"name": "late"}})
        self.assert_status(r, 403, "Forbidden")
        self.assertIn("NamespaceTerminating",
                      [c.get("reason") for c in r.json["details"].get("causes", [])])
        self.assertFalse(self.emu.exists(f"/api/v1/namespaces/{name}/configmaps/late"))

        self.kubectl.ok("patch", "configmap", "held", "-n", name, "--type", "merge",
                        "-p", '{"metadata":{"finalizers":null}}')
        wait_for(lambda: not self.emu.exists(f"/api/v1/namespaces/{name}/configmaps/held"),
                 what="finalized configmap removed")
        wait_for(lambda: not self.emu.exists(f"/api/v1/namespaces/{name}"),
                 what="namespace removed after its content")

    def test_protected_namespaces_cannot_be_deleted(self):
        for name in ("default", "kube-system", "kube-public"):
            err = self.kubectl.fail("delete", "namespace", name, "--wait=false")
            self.assertIn("Forbidden", err, name)
            ns = self.kubectl.json("get", "namespace", name)
            self.assertNotIn("deletionTimestamp", ns["metadata"])
            self.assertEqual(ns["status"]["phase"], "Active")


class KubectlWatchTest(EmulatorTestCase):

    def _events(self, watcher, count):
        def enough():
            docs = watcher.json_documents()
            return docs if len(docs) >= count else None
        try:
            return wait_for(enough, what=f"{count} watch events from kubectl get -w")
        except AssertionError as e:
            raise AssertionError(f"{e}\nkubectl printed: {watcher.text()[-3000:]}") from e

    def test_get_watch_output_watch_events(self):
        ns = self.make_namespace("watch")
        self.kubectl.ok("create", "configmap", "w1", "-n", ns, "--from-literal=v=1")
        watcher = self.kubectl.start_background("get", "configmaps", "-n", ns, "-w",
                                                "--output-watch-events", "-o", "json",
                                                "--field-selector",
                                                "metadata.name!=kube-root-ca.crt")
        try:
            first = self._events(watcher, 1)
            self.assertEqual(first[0]["type"], "ADDED")
            self.assertEqual(first[0]["object"]["metadata"]["name"], "w1")
            self.kubectl.ok("create", "configmap", "w2", "-n", ns, "--from-literal=v=1")
            self.kubectl.ok("patch", "configmap", "w2", "-n", ns, "--type", "merge",
                            "-p", '{"data":{"v":"2"}}')
            self.kubectl.ok("delete", "configmap", "w2", "-n", ns)
            events = self._events(watcher, 4)
        finally:
            stderr = watcher.stop()
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
        self.assertEqual(got, [("ADDED", "w1"), ("ADDED", "w2"), ("MODIFIED", "w2"),
                               ("DELETED", "w2")], stderr)
        for e in events:
            self.assertEqual((e["object"]["kind"], e["object"]["apiVersion"]),
                             ("ConfigMap", "v1"))
        self.assertEqual(events[2]["object"]["data"], {"v": "2"})
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events[1:]]
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(set(rvs)), 3)

    def test_get_watch_with_label_selector(self):
        ns = self.make_namespace("watchsel")
        self.kubectl.ok("create", "configmap", "x", "-n", ns)
        watcher = self.kubectl.start_background("get", "configmaps", "-n", ns, "-w",
                                                "--output-watch-events", "-o", "json",
                                                "-l", "pick=yes")
        try:
            # No object matches yet; the label makes x match (ADDED), removing it DELETED.
            self.kubectl.ok("label", "configmap", "x", "-n", ns, "pick=yes")
            self._events(watcher, 1)
            self.kubectl.ok("annotate", "configmap", "x", "-n", ns, "seen=1")
            self._events(watcher, 2)
            self.kubectl.ok("label", "configmap", "x", "-n", ns, "pick-")
            self.kubectl.ok("create", "configmap", "y", "-n", ns)  # never matches
            self.kubectl.ok("label", "configmap", "y", "-n", ns, "pick=yes")
            events = self._events(watcher, 4)
        finally:
            stderr = watcher.stop()
        got = [(e["type"], e["object"]["metadata"]["name"]) for e in events]
        self.assertEqual(got, [("ADDED", "x"), ("MODIFIED", "x"), ("DELETED", "x"),
                               ("ADDED", "y")], stderr + json.dumps(events)[:2000])


if __name__ == "__main__":
    unittest.main()

"""Debian's python3-kubernetes against the emulator, configured from the kubeconfig the
emulator wrote: CRUD, conflicts, selectors, paging over a snapshot, watch and the 410
recovery after compaction."""

import json
import queue
import threading
import time
import unittest
import uuid

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from conformance_support import DEADLINE, EmulatorTestCase, wait_for


def cm_body(name, data=None, labels=None):
    return client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name, labels=labels),
                              data=data or {})


def close_client(api_client):
    api_client.close()
    api_client.rest_client.pool_manager.clear()  # close() leaves pooled sockets open


class PythonClientTest(EmulatorTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_client = config.new_client_from_config(
            config_file=cls.emu.written_kubeconfig("admin"))
        cls.addClassCleanup(close_client, cls.api_client)
        cls.core = client.CoreV1Api(cls.api_client)
        cls.apps = client.AppsV1Api(cls.api_client)

    def new_namespace(self, prefix):
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        self.core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(
            name=name)))
        return name

    def assert_api_error(self, ctx, status, reason):
        self.assertEqual(ctx.exception.status, status, ctx.exception.body)
        body = json.loads(ctx.exception.body)
        self.assertEqual(body["reason"], reason, ctx.exception.body)
        return body

    def test_crud_and_conflict(self):
        ns = self.new_namespace("crud")
        created = self.core.create_namespaced_config_map(ns, cm_body("c", {"a": "1"},
                                                                     {"app": "x"}))
        self.assertEqual(created.metadata.namespace, ns)
        self.assertTrue(created.metadata.uid)
        self.assertTrue(created.metadata.resource_version.isdigit())
        self.assertIsNotNone(created.metadata.creation_timestamp)
        with self.assertRaises(ApiException) as ctx:
            self.core.create_namespaced_config_map(ns, cm_body("c"))
        body = self.assert_api_error(ctx, 409, "AlreadyExists")
        self.assertEqual(body["details"]["kind"], "configmaps")

        read = self.core.read_namespaced_config_map("c", ns)
        self.assertEqual(read.data, {"a": "1"})
        self.assertEqual(read.metadata.uid, created.metadata.uid)

        patched = self.core.patch_namespaced_config_map(
            "c", ns, {"data": {"b": "2"}, "metadata": {"labels": {"extra": "y"}}})
        self.assertEqual(patched.data, {"a": "1", "b": "2"})
        self.assertEqual(patched.metadata.labels, {"app": "x", "extra": "y"})
        self.assertGreater(int(patched.metadata.resource_version),
                           int(created.metadata.resource_version))
        patched = self.core.patch_namespaced_config_map(
            "c", ns, [{"op": "replace", "path": "/data/a", "value": "10"}])
        self.assertEqual(patched.data, {"a": "10", "b": "2"})

        stale = read  # carries the create-time resourceVersion
        stale.data = {"lost": "update"}
        with self.assertRaises(ApiException) as ctx:
            self.core.replace_namespaced_config_map("c", ns, stale)
        body = self.assert_api_error(ctx, 409, "Conflict")
        self.assertIn("the object has been modified", body["message"])
        self.assertEqual(self.core.read_namespaced_config_map("c", ns).data,
                         {"a": "10", "b": "2"})

        fresh = self.core.read_namespaced_config_map("c", ns)
        fresh.data = {"only": "this"}
        replaced = self.core.replace_namespaced_config_map("c", ns, fresh)
        self.assertEqual(replaced.data, {"only": "this"})

        status = self.core.delete_namespaced_config_map("c", ns)
        self.assertEqual(status.status, "Success")
        with self.assertRaises(ApiException) as ctx:
            self.core.read_namespaced_config_map("c", ns)
        self.assert_api_error(ctx, 404, "NotFound")

    def test_create_rules_and_delete_preconditions(self):
        ns = self.new_namespace("rules")
        made = self.core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(generate_name="gen-")))
        self.assertRegex(made.metadata.name, r"^gen-[a-z0-9]{5}$")
        # The namespace in the body must match the URL: 400 BadRequest.
        with self.assertRaises(ApiException) as ctx:
            self.core.create_namespaced_config_map(ns, client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="x", namespace="default")))
        self.assert_api_error(ctx, 400, "BadRequest")
        # A resourceVersion on create is refused (500 on a real apiserver).
        with self.assertRaises(ApiException) as ctx:
            self.core.create_namespaced_config_map(ns, client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="x", resource_version="5")))
        self.assertEqual(ctx.exception.status, 500, ctx.exception.body)
        self.assertIn("resourceVersion should not be set", ctx.exception.body)
        # Writing into a namespace that does not exist: 404 naming the namespace.
        with self.assertRaises(ApiException) as ctx:
            self.core.create_namespaced_config_map(ns + "-nope", cm_body("x"))
        body = self.assert_api_error(ctx, 404, "NotFound")
        self.assertEqual(body["details"]["kind"], "namespaces")

        stale_rv = made.metadata.resource_version
        self.core.patch_namespaced_config_map(made.metadata.name, ns, {"data": {"a": "b"}})
        with self.assertRaises(ApiException) as ctx:
            self.core.delete_namespaced_config_map(
                made.metadata.name, ns, body=client.V1DeleteOptions(
                    preconditions=client.V1Preconditions(resource_version=stale_rv)))
        self.assert_api_error(ctx, 409, "Conflict")
        with self.assertRaises(ApiException) as ctx:
            self.core.delete_namespaced_config_map(
                made.metadata.name, ns, body=client.V1DeleteOptions(
                    preconditions=client.V1Preconditions(uid=str(uuid.uuid4()))))
        self.assert_api_error(ctx, 409, "Conflict")
        self.core.read_namespaced_config_map(made.metadata.name, ns)  # still there
        self.core.delete_namespaced_config_map(
            made.metadata.name, ns, body=client.V1DeleteOptions(
                preconditions=client.V1Preconditions(uid=made.metadata.uid)))
        with self.assertRaises(ApiException) as ctx:
            self.core.read_namespaced_config_map(made.metadata.name, ns)
        self.assert_api_error(ctx, 404, "NotFound")

    def test_delete_with_finalizer(self):
        ns = self.new_namespace("fin")
        rv = self.core.list_namespaced_config_map(ns).metadata.resource_version
        self.core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name="f", finalizers=["example.com/keep"])))
        self.core.delete_namespaced_config_map("f", ns)
        held = self.core.read_namespaced_config_map("f", ns)
        self.assertIsNotNone(held.metadata.deletion_timestamp)
        self.assertEqual(held.metadata.finalizers, ["example.com/keep"])
        # Removing the last finalizer completes the delete (a real apiserver deletes
        # during that update: one DELETED event, no MODIFIED for the update itself).
        self.core.patch_namespaced_config_map("f", ns, [
            {"op": "remove", "path": "/metadata/finalizers"}])
        with self.assertRaises(ApiException) as ctx:
            self.core.read_namespaced_config_map("f", ns)
        self.assert_api_error(ctx, 404, "NotFound")
        got = []
        for ev in watch.Watch().stream(self.core.list_namespaced_config_map, ns,
                                       resource_version=rv, timeout_seconds=5,
                                       _request_timeout=30):
            got.append(ev)
            if len(got) == 3:
                break
        self.assertEqual([e["type"] for e in got], ["ADDED", "MODIFIED", "DELETED"])
        self.assertIsNotNone(got[1]["object"].metadata.deletion_timestamp)

    def test_strategic_merge_patch_from_dict(self):
        ns = self.new_namespace("smp")
        container = client.V1Container(
            name="app", image="nginx:1.25",
            env=[client.V1EnvVar(name="A", value="1")],
            ports=[client.V1ContainerPort(container_port=80)])
        deploy = client.V1Deployment(
            metadata=client.V1ObjectMeta(name="d"),
            spec=client.V1DeploymentSpec(
                replicas=1, selector=client.V1LabelSelector(match_labels={"app": "d"}),
                template=client.V1PodTemplateSpec(
                    metadata=client.V1ObjectMeta(labels={"app": "d"}),
                    spec=client.V1PodSpec(containers=[container]))))
        created = self.apps.create_namespaced_deployment(ns, deploy)
        self.assertEqual(created.metadata.generation, 1)
        # A dict body is sent as a strategic merge patch: containers merge by name, so
        # env and ports survive (a JSON merge patch would replace the list).
        self.apps.patch_namespaced_deployment("d", ns, {"spec": {"template": {"spec": {
            "containers": [{"name": "app", "image": "nginx:1.26"}]}}}})
        got = self.apps.read_namespaced_deployment("d", ns)
        c = got.spec.template.spec.containers
        self.assertEqual(len(c), 1)
        self.assertEqual(c[0].image, "nginx:1.26")
        self.assertEqual([(e.name, e.value) for e in c[0].env], [("A", "1")])
        self.assertEqual([p.container_port for p in c[0].ports], [80])
        self.assertEqual(got.metadata.generation, 2)
        scale = self.apps.patch_namespaced_deployment_scale("d", ns,
                                                            {"spec": {"replicas": 5}})
        self.assertEqual(scale.spec.replicas, 5)
        self.assertEqual(self.apps.read_namespaced_deployment("d", ns).spec.replicas, 5)

    def test_label_selector(self):
        ns = self.new_namespace("sel")
        for name, labels in (("r", {"c": "red"}), ("b", {"c": "blue"}), ("n", None)):
            self.core.create_namespaced_config_map(ns, cm_body(name, labels=labels))

        def names(**kw):
            items = self.core.list_namespaced_config_map(ns, **kw).items
            return sorted(i.metadata.name for i in items if i.metadata.name != "kube-root-ca.crt")

        self.assertEqual(names(label_selector="c=red"), ["r"])
        self.assertEqual(names(label_selector="c"), ["b", "r"])
        self.assertEqual(names(label_selector="!c"), ["n"])
        self.assertEqual(names(label_selector="c notin (red)"), ["b", "n"])
        self.assertEqual(names(field_selector="metadata.name=b"), ["b"])
        with self.assertRaises(ApiException) as ctx:
            self.core.list_namespaced_config_map(ns, label_selector="c in (red")
        self.assert_api_error(ctx, 400, "BadRequest")

    def test_paging_is_a_snapshot(self):
        ns = self.new_namespace("page")
        originals = [f"p-{i:02d}" for i in range(30)]
        for name in originals:
            self.core.create_namespaced_config_map(ns, cm_body(name, {"v": "old"}))
        seen, pages, token, list_rv = [], 0, None, None
        while True:
            kw = {"limit": 10}
            if token:
                kw["_continue"] = token
            page = self.core.list_namespaced_config_map(ns, **kw)
            pages += 1
            self.assertLessEqual(len(page.items), 10)
            if list_rv is None:
                list_rv = page.metadata.resource_version
                # Writes between pages must not show up in later pages.
                for i in range(3):
                    self.core.create_namespaced_config_map(ns, cm_body(f"q-late-{i}"))
                self.core.delete_namespaced_config_map("p-25", ns)
                self.core.patch_namespaced_config_map("p-20", ns, {"data": {"v": "new"}})
            else:
                self.assertEqual(page.metadata.resource_version, list_rv)
            seen.extend(page.items)
            token = page.metadata._continue
            if not token:
                break
            self.assertLess(pages, 10, "paging does not terminate")
        names = [i.metadata.name for i in seen if i.metadata.name != "kube-root-ca.crt"]
        self.assertEqual(sorted(names), originals)  # each exactly once, none of q-late-*
        p20 = next(i for i in seen if i.metadata.name == "p-20")
        self.assertEqual(p20.data, {"v": "old"})
        self.assertGreaterEqual(pages, 3)
        current = [i.metadata.name for i in self.core.list_namespaced_config_map(ns).items]
        self.assertNotIn("p-25", current)
        self.assertIn("q-late-0", current)

    def test_expired_continue_token(self):
        ns = self.new_namespace("expire")
        for i in range(4):
            self.core.create_namespaced_config_map(ns, cm_body(f"e-{i}"))
        page = self.core.list_namespaced_config_map(ns, limit=2)
        self.assertTrue(page.metadata._continue)
        self.core.create_namespaced_config_map(ns, cm_body("e-late"))
        self.emu.compact()
        with self.assertRaises(ApiException) as ctx:
            self.core.list_namespaced_config_map(ns, limit=2,
                                                 _continue=page.metadata._continue)
        self.assert_api_error(ctx, 410, "Expired")

    def _watch_in_thread(self, ns, resource_version, events):
        w = watch.Watch()

        def run():
            try:
                for ev in w.stream(self.core.list_namespaced_config_map, ns,
                                   resource_version=resource_version,
                                   timeout_seconds=int(DEADLINE) + 10,
                                   _request_timeout=DEADLINE + 20):
                    events.put(ev)
            except Exception as e:  # noqa: BLE001 - handed to the test thread
                events.put(e)
            events.put(None)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return w, t

    def _stop_watch(self, ns, w, t):
        """Watch.stop() takes effect at the next event: make one, then join the thread."""
        w.stop()
        self.core.create_namespaced_config_map(ns, cm_body("zz-stop-" + uuid.uuid4().hex[:5]))
        t.join(DEADLINE)
        self.assertFalse(t.is_alive(), "watch thread did not stop")

    def _take(self, events, count):
        got = []
        wait_for(lambda: self._drain(events, got) >= count, what=f"{count} watch events")
        for ev in got:
            if isinstance(ev, Exception):
                raise ev
        return got

    @staticmethod
    def _drain(events, got):
        while True:
            try:
                got.append(events.get_nowait())
            except queue.Empty:
                return len(got)

    def test_watch_live_events_in_order(self):
        ns = self.new_namespace("watch")
        rv = self.core.list_namespaced_config_map(ns).metadata.resource_version
        events = queue.Queue()
        w, t = self._watch_in_thread(ns, rv, events)
        self.core.create_namespaced_config_map(ns, cm_body("w", {"v": "1"}))
        self.core.patch_namespaced_config_map("w", ns, {"data": {"v": "2"}})
        self.core.delete_namespaced_config_map("w", ns)
        got = self._take(events, 3)
        self._stop_watch(ns, w, t)
        self.assertEqual([(e["type"], e["object"].metadata.name) for e in got[:3]],
                         [("ADDED", "w"), ("MODIFIED", "w"), ("DELETED", "w")])
        self.assertEqual(got[1]["object"].data, {"v": "2"})
        self.assertEqual(got[0]["raw_object"]["kind"], "ConfigMap")
        self.assertEqual(got[2]["raw_object"]["apiVersion"], "v1")
        rvs = [int(e["object"].metadata.resource_version) for e in got[:3]]
        self.assertEqual(rvs, sorted(set(rvs)))
        self.assertGreater(rvs[0], int(rv))

    def test_watch_replays_from_resource_version(self):
        ns = self.new_namespace("replay")
        rv = self.core.list_namespaced_config_map(ns).metadata.resource_version
        self.core.create_namespaced_config_map(ns, cm_body("r", {"v": "1"}))
        self.core.patch_namespaced_config_map("r", ns, {"data": {"v": "2"}})
        self.core.delete_namespaced_config_map("r", ns)
        got = []
        for ev in watch.Watch().stream(self.core.list_namespaced_config_map, ns,
                                       resource_version=rv, timeout_seconds=5,
                                       _request_timeout=30):
            got.append((ev["type"], ev["object"].metadata.name))
            if len(got) == 3:
                break
        self.assertEqual(got, [("ADDED", "r"), ("MODIFIED", "r"), ("DELETED", "r")])

    def test_watch_410_after_compaction_then_relist(self):
        ns = self.new_namespace("gone")
        old_rv = self.core.list_namespaced_config_map(ns).metadata.resource_version
        self.core.create_namespaced_config_map(ns, cm_body("k", {"v": "1"}))
        self.core.patch_namespaced_config_map("k", ns, {"data": {"v": "2"}})
        self.emu.compact()

        # With timeout_seconds the client does not retry: the ERROR event (code 410)
        # surfaces as ApiException(status=410).
        expired = None
        try:
            for ev in watch.Watch().stream(self.core.list_namespaced_config_map, ns,
                                           resource_version=old_rv, timeout_seconds=5,
                                           _request_timeout=30):
                if ev["type"] == "ERROR":
                    expired = ev["raw_object"].get("code")
                    break
                self.fail(f"event from a compacted resourceVersion: {ev['type']}")
        except ApiException as e:
            expired = e.status
        self.assertEqual(expired, 410)

        # Recover like a reflector: re-list, then watch from the list's resourceVersion.
        listed = self.core.list_namespaced_config_map(ns)
        self.assertEqual({i.metadata.name: i.data for i in listed.items
                          if i.metadata.name != "kube-root-ca.crt"}, {"k": {"v": "2"}})
        events = queue.Queue()
        w, t = self._watch_in_thread(ns, listed.metadata.resource_version, events)
        self.core.patch_namespaced_config_map("k", ns, {"data": {"v": "3"}})
        got = self._take(events, 1)
        self._stop_watch(ns, w, t)
        self.assertEqual(got[0]["type"], "MODIFIED")
        self.assertEqual(got[0]["object"].data, {"v": "3"})

    def test_reader_kubeconfig_is_forbidden_to_write(self):
        reader_client = config.new_client_from_config(
            config_file=self.emu.written_kubeconfig("reader"))
        try:
            reader = client.CoreV1Api(reader_client)
            self.assertIsInstance(reader.list_namespace().items, list)
            with self.assertRaises(ApiException) as ctx:
                reader.create_namespaced_config_map("default", cm_body("nope"))
            self.assert_api_error(ctx, 403, "Forbidden")
        finally:
            close_client(reader_client)


class PythonWatchBookmarkTest(EmulatorTestCase):
    """Bookmarks and timeoutSeconds, on an emulator that sends a bookmark every second."""

    emulator_args = ("--bookmark-interval-seconds", "1")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.api_client = config.new_client_from_config(
            config_file=cls.emu.written_kubeconfig("admin"))
        cls.addClassCleanup(close_client, cls.api_client)
        cls.core = client.CoreV1Api(cls.api_client)

    def test_bookmarks_only_when_allowed_and_timeout_ends_stream(self):
        ns = "default"
        rv = int(self.core.list_namespaced_config_map(ns).metadata.resource_version)
        bookmarks = []
        for ev in watch.Watch().stream(self.core.list_namespaced_config_map, ns,
                                       resource_version=str(rv), allow_watch_bookmarks=True,
                                       timeout_seconds=int(DEADLINE), _request_timeout=60):
            self.assertEqual(ev["type"], "BOOKMARK", ev["raw_object"])
            bookmarks.append(ev["raw_object"])
            if len(bookmarks) == 2:
                break
        for b in bookmarks:
            self.assertEqual((b["kind"], b["apiVersion"]), ("ConfigMap", "v1"))
            self.assertGreaterEqual(int(b["metadata"]["resourceVersion"]), rv)

        # Without allowWatchBookmarks: no bookmark, and timeoutSeconds ends the stream
        # cleanly (the generator simply finishes).
        started = time.monotonic()
        events = list(watch.Watch().stream(self.core.list_namespaced_config_map, ns,
                                           resource_version=str(rv), timeout_seconds=3,
                                           _request_timeout=60))
        elapsed = time.monotonic() - started
        self.assertEqual([e["type"] for e in events], [])
        self.assertGreaterEqual(elapsed, 2.5)
        self.assertLess(elapsed, 15)


if __name__ == "__main__":
    unittest.main()

"""kubectl against the emulator with kubesync's CRDs (charts/kubesync/crds): every CRD and
every sample of the reference documents applies; schema validation refuses what a real
API server refuses, with its messages; `kubectl get` prints the CRDs' printer columns
(server-side Table); `kubectl describe` lists the Events of a custom resource (field
selectors on involvedObject)."""

import glob
import json
import os
import re
import unittest

from conformance_support import EmulatorTestCase, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
CRD_DIR = os.path.join(ROOT, "charts", "kubesync", "crds")
SAMPLES = sorted(glob.glob(os.path.join(ROOT, "libs", "plan", "tests", "testdata", "*.yaml")) +
                 glob.glob(os.path.join(ROOT, "tests", "e2e", "testdata", "*.yaml")) +
                 glob.glob(os.path.join(ROOT, "charts", "kubesync", "samples", "*.yaml")))

KINDS = {
    "assets.astronetes.io": ["buckets", "databases", "kubernetesclusters"],
    "automation.astronetes.io": ["backups", "livesynchronizations", "synchronizationplans",
                                 "synchronizations", "taskruns", "tasks"],
}

LIVESYNC = """\
apiVersion: automation.astronetes.io/v1alpha1
kind: LiveSynchronization
metadata:
  name: {name}
spec:
  plugin: kubernetes-objects-to-kubernetes
  {suspend}
  config:
    sourceName: cluster-a
    destinationName: cluster-b
    replication:
      resources:
        - group: apps
          version: v1
          resource: deployments
"""


def livesync(name, suspend=""):
    return LIVESYNC.format(name=name, suspend=suspend)


def rows(text):
    """`kubectl get` output as lists of whitespace-separated cells, header first."""
    return [line.split() for line in text.strip().splitlines()]


class KubesyncCrdsTest(EmulatorTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        out = cls.kubectl.ok("apply", "-f", CRD_DIR)
        for group, plurals in KINDS.items():
            for plural in plurals:
                if f"customresourcedefinition.apiextensions.k8s.io/{plural}.{group} created" \
                        not in out:
                    raise AssertionError(f"{plural}.{group} not created: {out}")
        cls.kubectl.ok("wait", "--for=condition=Established", "crd", "--all", "--timeout=30s")

    def test_discovery_lists_every_kind_namespaced(self):
        for group, plurals in KINDS.items():
            names = self.kubectl.ok("api-resources", f"--api-group={group}", "--namespaced=true",
                                    "-o", "name").split()
            self.assertEqual(sorted(names), [f"{p}.{group}" for p in plurals])
        crd = self.kubectl.json("get", "crd", "taskruns.automation.astronetes.io")
        version = crd["spec"]["versions"][0]
        self.assertEqual(version["name"], "v1alpha1")
        self.assertIn("status", version["subresources"])
        spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
        self.assertEqual(spec["required"], ["taskName"])
        self.assertEqual(spec["properties"]["suspendLiveSynchronization"]["default"], False)

    def test_crd_files_are_structural(self):
        """The emulator does not check the CRDs' own schemas; a real apiextensions server
        refuses non-structural ones. Check the rules kubesync's CRDs could break."""
        import yaml  # python3-yaml, a dependency of python3-kubernetes

        def walk(node, path, errors):
            if node.get("x-kubernetes-preserve-unknown-fields") or \
                    node.get("x-kubernetes-int-or-string"):
                if "type" in node and node["type"] != "object":
                    errors.append(f"{path}: preserve-unknown-fields on type {node['type']}")
            elif not node.get("type"):
                errors.append(f"{path}: type missing")
            if "properties" in node and "additionalProperties" in node:
                errors.append(f"{path}: properties and additionalProperties together")
            for key, child in node.get("properties", {}).items():
                walk(child, f"{path}.{key}", errors)
                if "default" in child and child["default"] is None:
                    errors.append(f"{path}.{key}: null default")
            if isinstance(node.get("items"), dict):
                walk(node["items"], f"{path}[*]", errors)
            if node.get("x-kubernetes-list-type") == "map":
                item = node["items"]
                for k in node.get("x-kubernetes-list-map-keys", []):
                    if k not in item.get("required", []) and "default" not in item["properties"][k]:
                        errors.append(f"{path}: map key {k} neither required nor defaulted")
            for r in node.get("required", []):
                if r not in node.get("properties", {}):
                    errors.append(f"{path}: required {r} is not a property")
            if "format" in node and node["format"] not in ("int32", "int64", "date-time"):
                errors.append(f"{path}: unexpected format {node['format']}")

        files = sorted(glob.glob(os.path.join(CRD_DIR, "*.yaml")))
        self.assertEqual(len(files), 9)
        for path in files:
            with open(path) as f:
                docs = [d for d in yaml.safe_load_all(f) if d]
            self.assertEqual(len(docs), 1, path)
            crd = docs[0]
            spec = crd["spec"]
            self.assertEqual(crd["metadata"]["name"], f"{spec['names']['plural']}.{spec['group']}")
            self.assertEqual(os.path.basename(path), f"{spec['group']}_{spec['names']['plural']}.yaml")
            self.assertEqual(spec["scope"], "Namespaced")
            self.assertEqual([(v["name"], v["served"], v["storage"]) for v in spec["versions"]],
                             [("v1alpha1", True, True)])
            version = spec["versions"][0]
            self.assertEqual(version["subresources"], {"status": {}}, path)
            schema = version["schema"]["openAPIV3Schema"]
            self.assertEqual(schema["properties"]["metadata"], {"type": "object"}, path)
            errors = []
            walk(schema, "", errors)
            self.assertEqual(errors, [], path)
            columns = version.get("additionalPrinterColumns", [])
            if columns:
                self.assertEqual(columns[-1], {"name": "Age", "type": "date",
                                               "jsonPath": ".metadata.creationTimestamp"})

    def test_every_sample_applies_unchanged(self):
        self.assertGreaterEqual(len(SAMPLES), 20)
        for path in SAMPLES:
            with self.subTest(sample=os.path.relpath(path, ROOT)):
                with open(path) as f:
                    text = f.read()
                # The e2e samples name their namespace; the documents' samples do not.
                named = re.search(r"^  namespace: (\S+)$", text, re.MULTILINE)
                if named:
                    ns = named.group(1)
                    if not self.emu.exists(f"/api/v1/namespaces/{ns}"):
                        self.kubectl.ok("create", "namespace", ns)
                else:
                    ns = self.make_namespace("sample")
                # `kubectl apply` cannot use generateName (kubectl refuses before sending);
                # such a sample is meant for `kubectl create`.
                verb = "create" if "generateName:" in text else "apply"
                r = self.kubectl.run(verb, "-f", path, "-n", ns)
                self.assertEqual(r.returncode, 0, f"{verb} {path}: {r.stderr}")
                self.assertNotIn("unknown field", r.stderr)
                if verb == "create":
                    continue
                # Applying again leaves the custom resources unchanged: what is stored is
                # what was sent, plus defaults. (A Secret with stringData is "configured"
                # on every apply, as on a real server.)
                again = self.kubectl.ok("apply", "-f", path, "-n", ns)
                for line in again.splitlines():
                    if ".astronetes.io/" in line:
                        self.assertTrue(line.endswith(" unchanged"), f"{path}: {again}")

    def test_defaults_from_the_schema(self):
        ns = self.make_namespace("defaults")
        self.kubectl.apply_text(livesync("no-suspend"), "-n", ns)
        ls = self.kubectl.json("get", "livesynchronization", "no-suspend", "-n", ns)
        self.assertIs(ls["spec"]["suspend"], False)
        self.assertEqual(ls["spec"]["config"]["replication"]["resources"][0]["resource"],
                         "deployments")
        self.kubectl.apply_text("apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\n"
                                "metadata: {name: run}\nspec: {taskName: t}\n", "-n", ns)
        tr = self.kubectl.json("get", "taskrun", "run", "-n", ns)
        self.assertEqual(tr["spec"], {"taskName": "t", "suspendLiveSynchronization": False})
        self.kubectl.apply_text("apiVersion: automation.astronetes.io/v1alpha1\n"
                                "kind: SynchronizationPlan\nmetadata: {name: plan}\n"
                                "spec: {schedule: '10 * * * *'}\n", "-n", ns)
        plan = self.kubectl.json("get", "synchronizationplan", "plan", "-n", ns)
        self.assertEqual(plan["spec"], {"schedule": "10 * * * *", "suspend": False,
                                        "successfulJobsHistoryLimit": 2,
                                        "failedJobsHistoryLimit": 2})

    def test_taskrun_without_task_name_is_refused(self):
        ns = self.make_namespace("invalid")
        manifest = ("apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\n"
                    "metadata: {name: no-task}\nspec: {suspendLiveSynchronization: true}\n")
        err = self.kubectl.fail("apply", "-f", "-", "-n", ns, input=manifest)
        self.assertIn('The TaskRun "no-task" is invalid: spec.taskName: Required value', err)
        r = self.emu.request("POST", f"/apis/automation.astronetes.io/v1alpha1/namespaces/{ns}/taskruns",
                             {"apiVersion": "automation.astronetes.io/v1alpha1", "kind": "TaskRun",
                              "metadata": {"name": "no-task"}, "spec": {}})
        self.assert_status(r, 422, "Invalid")
        self.assertEqual(r.json["message"],
                         'TaskRun.automation.astronetes.io "no-task" is invalid: '
                         'spec.taskName: Required value')
        self.assertEqual(r.json["details"], {
            "name": "no-task", "group": "automation.astronetes.io", "kind": "TaskRun",
            "causes": [{"reason": "FieldValueRequired", "message": "Required value",
                        "field": "spec.taskName"}]})
        self.assertFalse(self.emu.exists(
            f"/apis/automation.astronetes.io/v1alpha1/namespaces/{ns}/taskruns/no-task"))

    def test_livesynchronization_with_string_suspend_is_refused(self):
        ns = self.make_namespace("invalid")
        err = self.kubectl.fail("apply", "-f", "-", "-n", ns,
                                input=livesync("bad-suspend", 'suspend: "yes"'))
        self.assertIn('The LiveSynchronization "bad-suspend" is invalid: spec.suspend: Invalid '
                      'value: "yes": spec.suspend in body must be of type boolean: "string"', err)
        # Also when an existing object is patched into that shape.
        self.kubectl.apply_text(livesync("good"), "-n", ns)
        err = self.kubectl.fail("patch", "livesynchronization", "good", "-n", ns, "--type",
                                "merge", "-p", '{"spec":{"suspend":"yes","plugin":null}}')
        self.assertIn("spec.suspend: Invalid value", err)
        self.assertIn("spec.plugin: Required value", err)
        ls = self.kubectl.json("get", "livesynchronization", "good", "-n", ns)
        self.assertIs(ls["spec"]["suspend"], False)
        self.assertEqual(ls["metadata"]["generation"], 1)

    def test_unknown_fields_strict_warn_ignore(self):
        ns = self.make_namespace("unknown")
        manifest = ("apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\n"
                    "metadata: {name: typo}\nspec: {taskName: t, taskNmae: t}\n")
        # kubectl 1.32 sends fieldValidation=Strict by default (--validate=strict).
        err = self.kubectl.fail("apply", "-f", "-", "-n", ns, input=manifest)
        self.assertIn('TaskRun in version "v1alpha1" cannot be handled as a TaskRun: strict '
                      'decoding error: unknown field "spec.taskNmae"', err)
        r = self.kubectl.run("apply", "-f", "-", "-n", ns, "--validate=warn", input=manifest)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('Warning: unknown field "spec.taskNmae"', r.stderr)
        self.assertEqual(self.kubectl.json("get", "taskrun", "typo", "-n", ns)["spec"],
                         {"taskName": "t", "suspendLiveSynchronization": False})
        self.kubectl.ok("delete", "taskrun", "typo", "-n", ns)
        r = self.kubectl.run("apply", "-f", "-", "-n", ns, "--validate=false", input=manifest)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("unknown field", r.stderr)
        self.assertNotIn("taskNmae", self.kubectl.json("get", "taskrun", "typo", "-n", ns)["spec"])
        # Server-side apply converts the patch to a typed object first: undeclared fields
        # fail there whatever --validate says.
        err = self.kubectl.fail("apply", "--server-side", "--validate=false", "-f", "-", "-n", ns,
                                input=manifest.replace("typo", "ssa"))
        self.assertIn(f"failed to create typed patch object ({ns}/ssa; automation.astronetes.io/"
                      "v1alpha1, Kind=TaskRun): .spec.taskNmae: field not declared in schema", err)
        self.assertIn("serverside-applied", self.kubectl.ok(
            "apply", "--server-side", "-f", "-", "-n", ns,
            input=manifest.replace("typo", "ssa").replace(", taskNmae: t", "")))
        # spec.config keeps whatever it is given (the controller validates it).
        r = self.kubectl.run("apply", "-f", "-", "-n", ns,
                             input=livesync("free-config").replace(
                                 "    sourceName", "    anything: {goes: [1, 2]}\n    sourceName"))
        self.assertEqual(r.returncode, 0, r.stderr)
        config = self.kubectl.json("get", "livesynchronization", "free-config", "-n", ns)
        self.assertEqual(config["spec"]["config"]["anything"], {"goes": [1, 2]})

    def _patch_status(self, ns, plural, name, status):
        r = self.emu.request(
            "PATCH", f"/apis/automation.astronetes.io/v1alpha1/namespaces/{ns}/{plural}/{name}/status",
            {"status": status}, content_type="application/merge-patch+json")
        self.assert_status(r, 200)
        return r.json

    def test_get_livesynchronizations_prints_columns(self):
        ns = self.make_namespace("columns")
        self.kubectl.apply_text(livesync("ls-a"), "-n", ns)
        self.kubectl.apply_text(livesync("ls-b", "suspend: true"), "-n", ns)
        self._patch_status(ns, "livesynchronizations", "ls-a",
                           {"phase": "Running", "objectsSynchronized": 12})
        table = rows(self.kubectl.ok("get", "livesynchronizations", "-n", ns))
        self.assertEqual(table[0], ["NAME", "SUSPEND", "SOURCE", "DESTINATION", "PHASE", "AGE"])
        self.assertEqual(table[1][:5], ["ls-a", "false", "cluster-a", "cluster-b", "Running"])
        self.assertEqual(table[2][:4], ["ls-b", "true", "cluster-a", "cluster-b"])
        self.assertRegex(table[1][5], r"^\d+s$")
        # A status the schema does not allow is refused on /status too.
        r = self.emu.request(
            "PATCH", f"/apis/automation.astronetes.io/v1alpha1/namespaces/{ns}/livesynchronizations/ls-a/status",
            {"status": {"phase": "Sleeping"}}, content_type="application/merge-patch+json")
        self.assert_status(r, 422, "Invalid")
        self.assertIn('status.phase: Unsupported value: "Sleeping": supported values: "Pending", '
                      '"Running", "Suspended", "Invalid", "Degraded", "Failed"', r.json["message"])
        # One object, all namespaces, and -o wide keep the columns.
        one = rows(self.kubectl.ok("get", "livesynchronization", "ls-b", "-n", ns))
        self.assertEqual(one[0][:5], ["NAME", "SUSPEND", "SOURCE", "DESTINATION", "PHASE"])
        everywhere = rows(self.kubectl.ok("get", "livesynchronizations", "-A"))
        self.assertEqual(everywhere[0][:3], ["NAMESPACE", "NAME", "SUSPEND"])
        self.assertIn([ns, "ls-a", "false", "cluster-a", "cluster-b", "Running"],
                      [r[:6] for r in everywhere])
        # kubectl get -w: the watch also answers Tables, so updates print in the same columns.
        watcher = self.kubectl.start_background("get", "livesynchronizations", "-n", ns, "-w")
        try:
            wait_for(lambda: "ls-b" in watcher.text(), what="the initial table")
            self._patch_status(ns, "livesynchronizations", "ls-b", {"phase": "Suspended"})
            wait_for(lambda: "Suspended" in watcher.text(), what="the watched update")
        finally:
            watcher.stop()
        printed = rows(watcher.text())
        self.assertEqual(printed[0], ["NAME", "SUSPEND", "SOURCE", "DESTINATION", "PHASE", "AGE"])
        self.assertEqual(printed.count(printed[0]), 1, watcher.text())
        self.assertIn(["ls-b", "true", "cluster-a", "cluster-b", "Suspended"],
                      [r[:5] for r in printed])
        # Built-in kinds print NAME and AGE.
        self.kubectl.ok("create", "configmap", "plain", "-n", ns)
        self.assertEqual(rows(self.kubectl.ok("get", "configmaps", "plain", "-n", ns))[0],
                         ["NAME", "AGE"])

    def test_get_taskruns_prints_columns(self):
        ns = self.make_namespace("columns")
        self.kubectl.apply_text("apiVersion: automation.astronetes.io/v1alpha1\nkind: TaskRun\n"
                                "metadata: {name: restore-apps}\nspec: {taskName: set-test-label}\n",
                                "-n", ns)
        self._patch_status(ns, "taskruns", "restore-apps", {
            "phase": "Succeeded", "startTime": "2026-01-02T03:04:05Z",
            "completionTime": "2026-01-02T03:04:06Z", "duration": "1.532s", "objectsPatched": 3,
            "objectsSkipped": 0, "objectsFailed": 0, "failures": [],
            "liveSynchronization": f"{ns}.x",
            "conditions": [{"type": "Complete", "status": "True", "reason": "Succeeded",
                            "message": "", "lastTransitionTime": "2026-01-02T03:04:06Z"}]})
        table = rows(self.kubectl.ok("get", "taskruns", "-n", ns))
        self.assertEqual(table[0], ["NAME", "TASK", "PHASE", "DURATION", "AGE"])
        self.assertEqual(table[1][:4], ["restore-apps", "set-test-label", "Succeeded", "1.532s"])
        # -o json still returns the objects (the Table is only for human output).
        items = self.kubectl.json("get", "taskruns", "-n", ns)["items"]
        self.assertEqual(items[0]["status"]["objectsPatched"], 3)

    def test_describe_livesynchronization_lists_its_events(self):
        ns = self.make_namespace("events")
        self.kubectl.apply_text(livesync("described"), "-n", ns)
        ls = self.kubectl.json("get", "livesynchronization", "described", "-n", ns)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "described.1", "namespace": ns},
            "involvedObject": {"apiVersion": "automation.astronetes.io/v1alpha1",
                               "kind": "LiveSynchronization", "name": "described",
                               "namespace": ns, "uid": ls["metadata"]["uid"]},
            "reason": "ComponentsStarted", "message": "started 3 components", "type": "Normal",
            "source": {"component": "kubesync-controller"}, "count": 1,
            "firstTimestamp": ls["metadata"]["creationTimestamp"],
            "lastTimestamp": ls["metadata"]["creationTimestamp"],
        }
        other = json.loads(json.dumps(event))
        other["metadata"]["name"] = "other.1"
        other["involvedObject"].update({"name": "other", "uid": "00000000-0000-4000-8000-000000000000"})
        other["reason"] = "NotMine"
        for e in (event, other):
            self.assert_status(self.emu.request("POST", f"/api/v1/namespaces/{ns}/events", e), 201)
        out = self.kubectl.ok("describe", "livesynchronization", "described", "-n", ns)
        self.assertIn("Events:", out)
        events_part = out[out.index("Events:"):]
        self.assertIn("ComponentsStarted", events_part)
        self.assertIn("kubesync-controller", events_part)
        self.assertIn("started 3 components", events_part)
        self.assertNotIn("NotMine", events_part)
        # The field selectors the real server has for core/v1 events.
        selected = self.emu.get_json(
            f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.kind%3DLiveSynchronization,"
            f"involvedObject.uid%3D{ls['metadata']['uid']},source%3Dkubesync-controller,type%3DNormal")
        self.assertEqual([i["metadata"]["name"] for i in selected["items"]], ["described.1"])
        r = self.emu.request("GET", f"/api/v1/namespaces/{ns}/events?fieldSelector=reason%21%3DNotMine")
        self.assertEqual([i["metadata"]["name"] for i in r.json["items"]], ["described.1"])
        r = self.emu.request("GET", f"/api/v1/namespaces/{ns}/events?fieldSelector=color%3Dred")
        self.assert_status(r, 400, "BadRequest")
        self.assertEqual(r.json["message"], "field label not supported: color")
        r = self.emu.request("GET", f"/api/v1/namespaces/{ns}/configmaps?fieldSelector=reason%3Dx")
        self.assert_status(r, 400, "BadRequest")


if __name__ == "__main__":
    unittest.main()

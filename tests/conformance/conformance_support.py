"""Shared machinery for the kube-emulator conformance suite.

Each test class starts its own kube-emulator (TLS with a CA made here, a token file with an
`admin` and a `reader` user, and --client-ca-file so a client-certificate user works), and
talks to it only through real clients nobody here wrote: /usr/bin/kubectl and Debian's
python3-kubernetes, plus raw HTTPS (stdlib) to read the server state back.

Standard library + python3-kubernetes (and its python3-yaml dependency) only. Run with
Debian's /usr/bin/python3, e.g.
  KUBE_EMULATOR=build/tests/emulator/kube-emulator /usr/bin/python3 -m unittest -v test_x
"""

import ctypes
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request
import uuid

KUBECTL = os.environ.get("KUBECTL", "/usr/bin/kubectl")
ADMIN_TOKEN = "admin-" + uuid.uuid4().hex
READER_TOKEN = "reader-" + uuid.uuid4().hex
CERT_USER = "cert-user"
CERT_GROUP = "conformance:certs"

# Default deadline for eventual conditions; generous for 2 shared cores.
DEADLINE = float(os.environ.get("CONFORMANCE_DEADLINE", "20"))


def wait_for(condition, timeout=DEADLINE, what="condition", interval=0.05):
    """Polls condition() until it returns a truthy value; fails the test at the deadline."""
    end = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as e:  # noqa: BLE001 - reported at the deadline
            last_error = e
        if time.monotonic() >= end:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
        time.sleep(interval)


def _die_with_parent():
    """preexec_fn: the child gets SIGTERM if this test process dies (e.g. a ctest timeout),
    so no emulator or kubectl outlives its test."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {r.stderr}")


def make_tls_material(d):
    """CA, server cert (127.0.0.1/localhost) and a client cert (CN=cert-user) in d."""
    ext_server = os.path.join(d, "server.ext")
    with open(ext_server, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ext_client = os.path.join(d, "client.ext")
    with open(ext_client, "w") as f:
        f.write("basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=clientAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=conformance-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    for name, subj, ext in (("server", "/CN=kube-emulator", ext_server),
                            ("client", f"/O={CERT_GROUP}/CN={CERT_USER}", ext_client)):
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", subj, cwd=d)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", ext,
                 cwd=d)
    return {k: os.path.join(d, v) for k, v in (
        ("ca", "ca.crt"), ("server_cert", "server.crt"), ("server_key", "server.key"),
        ("client_cert", "client.crt"), ("client_key", "client.key"))}


def emulator_binary():
    path = os.environ.get("KUBE_EMULATOR")
    if not path:
        raise unittest.SkipTest("KUBE_EMULATOR is not set (path to the kube-emulator binary)")
    if not os.access(path, os.X_OK):
        raise AssertionError(f"KUBE_EMULATOR={path} is not an executable file")
    return path


class ApiResponse:
    def __init__(self, status, headers, raw):
        self.status = status
        self.headers = headers
        self.raw = raw
        try:
            self.json = json.loads(raw) if raw else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return f"ApiResponse({self.status}, {self.raw[:500]!r})"


class Emulator:
    """One kube-emulator process over TLS, started and stopped by pid."""

    def __init__(self, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="kube-conformance-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.tls = None
        self.log_path = os.path.join(self.dir, "emulator.log")

    # -- lifecycle ---------------------------------------------------------------------
    def start(self):
        binary = emulator_binary()
        tls_dir = os.path.join(self.dir, "tls")
        os.makedirs(tls_dir)
        self.tls = make_tls_material(tls_dir)
        token_file = os.path.join(self.dir, "tokens.csv")
        with open(token_file, "w") as f:
            f.write(f"{ADMIN_TOKEN},admin,admin\n{READER_TOKEN},reader,reader\n")
        self.kubeconfig_dir = os.path.join(self.dir, "kubeconfigs")
        os.makedirs(self.kubeconfig_dir)
        port_file = os.path.join(self.dir, "port")
        args = [binary, "--bind", "127.0.0.1", "--port", "0", "--port-file", port_file,
                "--data-dir", os.path.join(self.dir, "data"), "--token-file", token_file,
                "--tls-cert-file", self.tls["server_cert"],
                "--tls-private-key-file", self.tls["server_key"],
                "--client-ca-file", self.tls["ca"], "--tls-ca-file", self.tls["ca"],
                "--write-kubeconfig", self.kubeconfig_dir, "--log-level", "info",
                *self.extra_args]
        self._log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(args, stdout=self._log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)

        def port_ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"kube-emulator exited with {self.proc.returncode}: {self.log_tail()}")
            try:
                with open(port_file) as f:
                    text = f.read().strip()
            except FileNotFoundError:
                return None
            return int(text) if text.isdigit() and int(text) > 0 else None

        try:
            self.port = wait_for(port_ready, what="kube-emulator --port-file")
            wait_for(lambda: self.request("GET", "/healthz", token=None).status == 200,
                     what="/healthz 200")
        except BaseException:
            self.stop()
            raise
        self._write_own_kubeconfigs()
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()
        if os.environ.get("CONFORMANCE_KEEP"):
            print(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode(errors="replace")
        except OSError:
            return "<no log>"

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    # -- kubeconfigs -------------------------------------------------------------------
    def written_kubeconfig(self, user):
        """The kubeconfig the emulator wrote with --write-kubeconfig for a token user."""
        return os.path.join(self.kubeconfig_dir, f"{user}.kubeconfig")

    def _write_kubeconfig(self, name, user_entry):
        path = os.path.join(self.dir, f"own-{name}.kubeconfig")
        cfg = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "emulator", "cluster": {
                "server": self.url, "certificate-authority": self.tls["ca"]}}],
            "users": [{"name": name, "user": user_entry}],
            "contexts": [{"name": name, "context": {
                "cluster": "emulator", "user": name, "namespace": "default"}}],
            "current-context": name,
        }
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def _write_own_kubeconfigs(self):
        """Kubeconfigs made here, so a defect in --write-kubeconfig fails only its test."""
        self.kubeconfigs = {
            "admin": self._write_kubeconfig("admin", {"token": ADMIN_TOKEN}),
            "reader": self._write_kubeconfig("reader", {"token": READER_TOKEN}),
            "wrong": self._write_kubeconfig("wrong", {"token": "not-a-valid-token"}),
            "cert": self._write_kubeconfig("cert", {
                "client-certificate": self.tls["client_cert"],
                "client-key": self.tls["client_key"]}),
        }

    # -- raw HTTPS ---------------------------------------------------------------------
    def request(self, method, path, body=None, token=ADMIN_TOKEN, content_type=None,
                timeout=20, client_cert=False):
        ctx = ssl.create_default_context(cafile=self.tls["ca"])
        if client_cert:
            ctx.load_cert_chain(self.tls["client_cert"], self.tls["client_key"])
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            headers["Content-Type"] = content_type or "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=timeout) as resp:
                return ApiResponse(resp.status, dict(resp.headers), resp.read().decode())
        except urllib.error.HTTPError as e:
            return ApiResponse(e.code, dict(e.headers), e.read().decode(errors="replace"))

    def get_json(self, path):
        r = self.request("GET", path)
        if r.status != 200:
            raise AssertionError(f"GET {path} -> {r.status}: {r.raw[:500]}")
        return r.json

    def exists(self, path):
        r = self.request("GET", path)
        if r.status not in (200, 404):
            raise AssertionError(f"GET {path} -> {r.status}: {r.raw[:500]}")
        return r.status == 200

    def compact(self):
        r = self.request("POST", "/emulator/compact")
        if r.status // 100 != 2:
            raise AssertionError(f"POST /emulator/compact -> {r.status}: {r.raw[:300]}")


class Kubectl:
    """kubectl with its own --cache-dir and HOME, against one of the emulator's kubeconfigs."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.home = tempfile.mkdtemp(prefix="home-", dir=emulator.dir)
        self.cache_dir = os.path.join(self.home, "cache")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE")}
        self.env["HOME"] = self.home

    def reset_cache(self):
        shutil.rmtree(self.cache_dir, ignore_errors=True)

    def command(self, args, user="admin", kubeconfig=None):
        kc = kubeconfig or self.emulator.kubeconfigs[user]
        return [KUBECTL, "--kubeconfig", kc, "--cache-dir", self.cache_dir,
                "--request-timeout=20s", *args]

    def run(self, *args, user="admin", kubeconfig=None, input=None, timeout=60):
        return subprocess.run(self.command(args, user, kubeconfig), input=input,
                              capture_output=True, text=True, timeout=timeout, env=self.env)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        if r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} exited {r.returncode}\n"
                                 f"stdout: {r.stdout}\nstderr: {r.stderr}")
        return r.stdout

    def fail(self, *args, **kw):
        r = self.run(*args, **kw)
        if r.returncode == 0:
            raise AssertionError(f"kubectl {' '.join(args)} unexpectedly succeeded\n"
                                 f"stdout: {r.stdout}")
        return r.stderr

    def json(self, *args, **kw):
        return json.loads(self.ok(*args, "-o", "json", **kw))

    def apply_text(self, text, *args, **kw):
        return self.ok("apply", "-f", "-", *args, input=text, **kw)

    def start_background(self, *args, user="admin"):
        return BackgroundKubectl(self.command(args, user), self.env)


class BackgroundKubectl:
    """A long-running kubectl (get -w) whose stdout is collected by a reader thread."""

    def __init__(self, cmd, env):
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, env=env,
                                     preexec_fn=_die_with_parent)
        self._buf = b""
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self):
        for chunk in iter(lambda: self.proc.stdout.read1(65536), b""):
            with self._lock:
                self._buf += chunk

    def text(self):
        with self._lock:
            return self._buf.decode(errors="replace")

    def json_documents(self):
        """The complete JSON values printed so far (kubectl -o json prints them in a row)."""
        text, docs, i = self.text(), [], 0
        decoder = json.JSONDecoder()
        while True:
            while i < len(text) and text[i].isspace():
                i += 1
            if i >= len(text):
                return docs
            try:
                doc, i = decoder.raw_decode(text, i)
            except ValueError:
                return docs  # incomplete tail
            docs.append(doc)

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._thread.join(timeout=10)
        err = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        self.proc.stdout.close()
        return err


class EmulatorTestCase(unittest.TestCase):
    """Starts one emulator per test class; tests in the class share it."""

    emulator_args = ()
    maxDiff = 4000

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.emu = Emulator(cls.emulator_args).start()
        # A class cleanup also runs when a subclass's setUpClass fails after this point
        # (tearDownClass would not).
        cls.addClassCleanup(cls.emu.stop)
        cls.kubectl = Kubectl(cls.emu)
        cls._ns_counter = 0

    def make_namespace(self, prefix="t"):
        type(self)._ns_counter += 1
        name = f"{prefix}-{type(self)._ns_counter}-{uuid.uuid4().hex[:5]}"
        self.kubectl.ok("create", "namespace", name)
        return name

    def assert_status(self, response, code, reason=None):
        """Asserts an HTTP status and, for errors, a metav1.Status with that code/reason."""
        self.assertEqual(response.status, code, response.raw[:800])
        if code >= 400:
            self.assertIsInstance(response.json, dict, response.raw[:800])
            self.assertEqual(response.json.get("kind"), "Status", response.raw[:800])
            self.assertEqual(response.json.get("code"), code, response.raw[:800])
            if reason:
                self.assertEqual(response.json.get("reason"), reason, response.raw[:800])

    def assert_server_metadata(self, obj):
        """uid is a UUID, resourceVersion a decimal string, creationTimestamp RFC 3339 UTC."""
        md = obj["metadata"]
        uuid.UUID(md["uid"])
        self.assertRegex(md["resourceVersion"], r"^[0-9]+$")
        self.assertRegex(md["creationTimestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")

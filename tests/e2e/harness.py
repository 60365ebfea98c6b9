"""End-to-end harness: runs the real `setpoint server` binary and drives it with real clients.

What it gives the test scripts:
  * Server      -- one server process on a free loopback port and a data dir it owns; start,
                   graceful stop (SIGTERM, must exit 0), SIGKILL, restart on the same data dir.
  * Kubectl     -- one versioned kubectl binary bound to a server's kubeconfig and its own
                   discovery cache dir; run() returns (rc, stdout, stderr), start() a Popen.
  * Api         -- raw HTTP/1.1 requests (http.client) that return status, headers and body.
  * wait_until  -- the only way tests wait: poll a condition until a deadline, then fail.
  * ServerTestCase -- a unittest.TestCase that prints the server's output when a test fails.
  * main()      -- parses `--binary PATH` (from ctest) and runs unittest.

Nothing here sleeps to synchronise: every wait is a condition with a deadline.
Not thread-safe except Api.request, which opens a connection per call.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

KUBECTL_DIR = "/usr/lib/google-cloud-sdk/bin"
KUBECTL_MINORS = range(27, 34)
DEFAULT_BINARY = os.path.join(os.path.dirname(__file__), "..", "..", "build", "setpoint")

# Set by main() from --binary; tests read it through binary().
_binary = None


def binary():
    return _binary or os.environ.get("SETPOINT_BINARY") or os.path.abspath(DEFAULT_BINARY)


def wait_until(fn, timeout, message="condition", interval=0.05):
    """Calls fn until it returns something truthy and returns that; fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    last_error = None
    while True:
        try:
            value = fn()
            if value:
                return value
        except Exception as e:  # a probe that raises counts as "not yet"
            last_error = e
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{detail}")
        time.sleep(interval)


# The custom resource every e2e script uses: namespaced example.com/v1 Widget with a structural
# schema, status and scale subresources and printer columns.
WIDGET_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget",
                  "listKind": "WidgetList", "shortNames": ["wd"], "categories": ["all"]},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "description": "A Widget is a thing of a size and a colour.",
                "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer", "minimum": 1, "maximum": 10,
                                 "description": "How big the widget is, from 1 to 10."},
                        "color": {"type": "string", "enum": ["red", "green", "blue"],
                                  "description": "The colour of the widget."},
                    }},
                    "status": {"type": "object", "properties": {
                        "replicas": {"type": "integer"},
                        "conditions": {"type": "array", "items": {
                            "type": "object",
                            "required": ["type", "status"],
                            "properties": {
                                "type": {"type": "string"},
                                "status": {"type": "string"},
                                "reason": {"type": "string"},
                                "message": {"type": "string"},
                                "lastTransitionTime": {"type": "string", "format": "date-time"},
                            }}},
                    }},
                }}},
            "subresources": {
                "status": {},
                "scale": {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.replicas"},
            },
            "additionalPrinterColumns": [
                {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
                {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
            ],
        }],
    },
}


CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def install_crd(api, crd=WIDGET_CRD, timeout=30):
    """Creates a CRD over raw HTTP (201, or 409 if present) and waits until it is Established."""
    resp = api.post(CRDS, crd)
    if resp.status not in (201, 409):
        raise AssertionError(f"creating CRD {crd['metadata']['name']}: {resp!r}")
    name = crd["metadata"]["name"]

    def established():
        got = api.get(f"{CRDS}/{name}")
        conditions = got.json().get("status", {}).get("conditions", []) if got.status == 200 else []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    wait_until(established, timeout, f"CRD {name} Established")


def create_namespace(api, name):
    resp = api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    if resp.status != 201:
        raise AssertionError(f"creating namespace {name}: {resp!r}")
    return resp.json()


def widget(name, namespace, size=2, color="red", labels=None, finalizers=None, spec_extra=None):
    metadata = {"name": name, "namespace": namespace}
    if labels:
        metadata["labels"] = labels
    if finalizers:
        metadata["finalizers"] = finalizers
    spec = {"size": size, "color": color}
    spec.update(spec_extra or {})
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": metadata, "spec": spec}


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __repr__(self):
        return f"<Response {self.status} {self.body[:400]!r}>"


class Api:
    """Raw HTTP against one server. Each request uses a fresh connection."""

    def __init__(self, port):
        self.port = port

    def connection(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, content_type="application/json",
                headers=None, timeout=30):
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        all_headers = {"Accept": "application/json"}
        if body is not None:
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            resp = conn.getresponse()
            return Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, content_type="application/merge-patch+json", **kw):
        return self.request("PATCH", path, body, content_type=content_type, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def metric(self, name):
        """The value of the first sample of `name` in /metrics, or None when it is not exported."""
        for line in self.get("/metrics").body.decode().splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.split()[-1])
        return None

    def watchers(self):
        """The server's count of open watch streams (apiserver_registered_watchers)."""
        value = self.metric("apiserver_registered_watchers")
        if value is None:
            raise AssertionError("no apiserver_registered_watchers in /metrics")
        return int(value)

    def ready(self):
        try:
            return self.get("/readyz", timeout=2).status == 200
        except OSError:
            return False


class Server:
    """One `setpoint server` process. The data dir survives restarts; the port is kept too."""

    def __init__(self, name="setpoint", store="sqlite", extra_args=(), workdir=None, preexec_fn=None):
        self.workdir = workdir or tempfile.mkdtemp(prefix=f"e2e-{name}-")
        self.data_dir = os.path.join(self.workdir, "data")
        self.log_path = os.path.join(self.workdir, "server.log")
        self.stdout_path = os.path.join(self.workdir, "server.stdout")
        self.store = store
        self.extra_args = list(extra_args)
        self.preexec_fn = preexec_fn  # runs in the child before exec (resource limits, say)
        # SETPOINT_TEST_CACHE_DELAY_MS runs every suite against a watch cache that lags the store.
        lag = os.environ.get("SETPOINT_TEST_CACHE_DELAY_MS")
        if lag and "--test-cache-delay-ms" not in self.extra_args:
            self.extra_args += ["--test-cache-delay-ms", lag]
        self.port = free_port()
        self.proc = None
        self.api = Api(self.port)
        self.starts = 0

    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "kubeconfig")

    def start(self, timeout=30):
        assert self.proc is None, "server already running"
        os.makedirs(self.data_dir, exist_ok=True)
        self.starts += 1
        banner = f"\n===== start #{self.starts} on port {self.port} =====\n".encode()
        # Both streams go to files: spdlog may log to stdout, and an undrained pipe would block it.
        with open(self.log_path, "ab") as log, open(self.stdout_path, "ab") as out:
            log.write(banner)
            out.write(banner)
            log.flush()
            out.flush()
            stdout_offset = out.tell()
            cmd = [binary(), "server", "--data-dir", self.data_dir,
                   "--listen", f"127.0.0.1:{self.port}", "--store", self.store] + self.extra_args
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=log, stdin=subprocess.DEVNULL,
                                         preexec_fn=self.preexec_fn)

        def ready_line():
            with open(self.stdout_path, "rb") as f:
                f.seek(stdout_offset)
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if "setpoint is ready" in line:
                        return line
            return None

        try:
            wait_until(lambda: self.proc.poll() is not None or (self.api.ready() and ready_line()),
                       timeout, f"/readyz and the ready line of {cmd}")
        except AssertionError as e:
            self.kill()
            raise AssertionError(f"{e}\n{self.log_tail()}") from None
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self.proc = None
            raise AssertionError(f"server exited with {rc} during start-up:\n{self.log_tail()}")
        line = ready_line()
        if f"export KUBECONFIG={self.kubeconfig}" not in line:
            raise AssertionError(f"unexpected ready line {line!r}")
        return self

    def stop(self, timeout=20, sig=signal.SIGTERM):
        """Graceful stop (SIGTERM or SIGINT); returns the exit code (tests assert it is 0)."""
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise AssertionError(f"server did not exit within {timeout}s of {sig!r}:\n{self.log_tail()}")
        self.proc = None
        return rc

    def kill(self):
        """SIGKILL: the crash the store must survive."""
        if self.proc is None:
            return
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def restart(self, timeout=30):
        self.kill()
        return self.start(timeout)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_lines(self):
        """Every line the server logged so far (spdlog writes to stdout, errors to stderr)."""
        lines = []
        for path in (self.log_path, self.stdout_path):
            try:
                with open(path, "rb") as f:
                    lines += f.read().decode("utf-8", "replace").splitlines()
            except OSError:
                pass
        return lines

    def log_tail(self, max_bytes=20000):
        parts = []
        for label, path in (("stderr", self.log_path), ("stdout", self.stdout_path)):
            try:
                with open(path, "rb") as f:
                    data = f.read()
            except OSError:
                continue
            parts.append(f"[{label}]\n" + data[-max_bytes:].decode("utf-8", "replace"))
        return "\n".join(parts) or "(no server output)"

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)


def kubectl_path(minor):
    return os.path.join(KUBECTL_DIR, f"kubectl.1.{minor}")


def available_kubectl_minors():
    return [m for m in KUBECTL_MINORS if os.access(kubectl_path(m), os.X_OK)]


class Kubectl:
    """One kubectl binary against one server, with its own discovery cache."""

    def __init__(self, minor, server, env=None):
        self.minor = minor
        self.path = kubectl_path(minor)
        self.server = server
        self.cache_dir = tempfile.mkdtemp(prefix=f"kubectl-1.{minor}-cache-", dir=server.workdir)
        self.env = dict(os.environ)
        self.env.pop("KUBECONFIG", None)
        self.env.update(env or {})

    def validate_flags(self):
        """kubectl <= 1.28 validates via protobuf OpenAPI v2, which setpoint does not serve."""
        return ["--validate=false"] if self.minor <= 28 else []

    def argv(self, args):
        return [self.path, "--kubeconfig", self.server.kubeconfig, "--cache-dir", self.cache_dir] + list(args)

    def run(self, *args, input=None, env=None, timeout=60):
        full_env = dict(self.env)
        full_env.update(env or {})
        try:
            p = subprocess.run(self.argv(args), input=input, capture_output=True, text=True,
                               env=full_env, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            raise AssertionError(f"kubectl 1.{self.minor} {' '.join(args)} did not finish within "
                                 f"{timeout}s; stdout={e.stdout!r} stderr={e.stderr!r}")
        return p.returncode, p.stdout, p.stderr

    def ok(self, *args, **kw):
        """Runs kubectl and fails the test unless it exits 0; returns stdout."""
        rc, out, err = self.run(*args, **kw)
        if rc != 0:
            raise AssertionError(f"kubectl 1.{self.minor} {' '.join(args)} exited {rc}:\n"
                                 f"stdout: {out}\nstderr: {err}")
        return out

    def start(self, *args):
        """A background kubectl (watch, wait) with stdout/stderr as text pipes."""
        return subprocess.Popen(self.argv(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, text=True, env=self.env)


def stop_process(proc, timeout=10):
    """Ends a background process this test started (SIGTERM, then SIGKILL) and returns (out, err)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


class ServerTestCase(unittest.TestCase):
    """Base class: subclasses set `server` in setUpClass; on failure the server log is printed."""

    server = None

    @classmethod
    def stop_server_cleanly(cls):
        """tearDownClass helper: SIGTERM must end the server with exit code 0."""
        rc = cls.server.stop()
        log = cls.server.log_tail() if rc != 0 else ""
        cls.server.cleanup()
        if rc != 0:
            raise AssertionError(f"server exited {rc} on SIGTERM; its log ends with:\n{log}")

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        before = len(result.failures) + len(result.errors)
        out = super().run(result)
        if len(result.failures) + len(result.errors) > before and self.server is not None:
            sys.stderr.write(f"\n----- server log for {self.id()} ({self.server.log_path}) -----\n")
            sys.stderr.write(self.server.log_tail())
            sys.stderr.write("\n----- end of server log -----\n")
        return out

    def assertStatus(self, resp, code, reason=None, message_contains=None):
        """Asserts an HTTP answer is a Kubernetes Status with this code (and reason/message)."""
        self.assertEqual(resp.status, code, resp)
        try:
            status = resp.json()
        except ValueError:
            self.fail(f"not a JSON Status body: {resp!r}")
        self.assertEqual(status.get("kind"), "Status", status)
        self.assertEqual(status.get("apiVersion"), "v1", status)
        self.assertEqual(status.get("code"), code, status)
        if code >= 400:
            self.assertEqual(status.get("status"), "Failure", status)
        if reason is not None:
            self.assertEqual(status.get("reason"), reason, status)
        if message_contains is not None:
            self.assertIn(message_contains, status.get("message", ""), status)
        return status


def main():
    global _binary
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--binary", default=None)
    args, rest = parser.parse_known_args()
    if args.binary:
        _binary = os.path.abspath(args.binary)
    if not os.access(binary(), os.X_OK):
        sys.exit(f"setpoint binary not found: {binary()}")
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)

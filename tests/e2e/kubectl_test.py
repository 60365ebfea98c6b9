"""The kubectl matrix: every kubectl 1.27-1.33 found on the machine, against one setpoint server.

Each version gets its own namespace (kv127 ... kv133) and runs the same user scenario on the
Widget custom resource: apply/get/watch/describe/explain/diff/edit/label/annotate/patch/scale/
replace/delete/wait/api-resources and the errors a user sees; and on the built-in ConfigMap and
Secret: create from literals (protobuf from 1.32 on), tables, jsonpath, stringData, immutable,
apply/edit/replace and validation errors. Server state is checked over raw
HTTP, so a kubectl bug cannot hide a server bug (or the other way round).
"""

import base64
import datetime
import json
import os
import queue
import re
import tempfile
import threading

import yaml

import harness
from harness import WIDGET_CRD as CRD, Kubectl, Server, ServerTestCase, stop_process, wait_until, widget

AGE = re.compile(r"^(\d+[smhd])+$|^<unknown>$")

SERVER = None


def setUpModule():
    global SERVER
    SERVER = Server("kubectl")
    SERVER.start()


def tearDownModule():
    rc = SERVER.stop()
    if rc != 0:
        raise AssertionError(f"server exited {rc} on SIGTERM:\n{SERVER.log_tail()}")
    SERVER.cleanup()


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class KubectlScenario:
    """The per-version scenario; concrete classes set `minor` (see the bottom of the file)."""

    minor = None

    @classmethod
    def setUpClass(cls):
        cls.server = SERVER
        cls.api = SERVER.api
        cls.ns = f"kv1{cls.minor}"
        cls.tmp = tempfile.mkdtemp(prefix=f"kubectl-1.{cls.minor}-", dir=SERVER.workdir)
        cls.k = Kubectl(cls.minor, SERVER)
        k = cls.k
        crd_file = cls.write_file("crd.yaml", CRD)
        out = k.ok("apply", "-f", crd_file, *k.validate_flags())
        assert "customresourcedefinition.apiextensions.k8s.io/widgets.example.com" in out, out
        k.ok("wait", "--for", "condition=Established", "crd/widgets.example.com", "--timeout=30s")
        # `kubectl create namespace` sends protobuf; apply of a manifest sends JSON.
        ns_file = cls.write_file("ns.yaml", {"apiVersion": "v1", "kind": "Namespace",
                                             "metadata": {"name": cls.ns}})
        out = k.ok("apply", "-f", ns_file, *k.validate_flags())
        assert f"namespace/{cls.ns} created" in out, out
        # Fixtures for the read-only `get` tests, created by a multi-document apply.
        docs = [widget("t1", cls.ns, 1, "red", {"suite": "table", "tier": "front"}),
                widget("t2", cls.ns, 2, "green", {"suite": "table", "tier": "back"}),
                widget("t3", cls.ns, 3, "blue", {"suite": "table", "tier": "front"})]
        path = os.path.join(cls.tmp, "table.yaml")
        with open(path, "w") as f:
            yaml.safe_dump_all(docs, f)
        out = k.ok("apply", "-f", path, *k.validate_flags())
        for name in ("t1", "t2", "t3"):
            assert f"widget.example.com/{name} created" in out, out

    # ----- helpers -----

    @classmethod
    def write_file(cls, name, obj):
        path = os.path.join(cls.tmp, name)
        with open(path, "w") as f:
            if isinstance(obj, str):
                f.write(obj)
            else:
                yaml.safe_dump(obj, f)
        return path

    def path(self, name=None, sub=None):
        p = f"/apis/example.com/v1/namespaces/{self.ns}/widgets"
        if name:
            p += f"/{name}"
        if sub:
            p += f"/{sub}"
        return p

    def create(self, name, **kw):
        resp = self.api.post(self.path(), widget(name, self.ns, **kw))
        self.assertEqual(resp.status, 201, resp)
        return resp.json()

    def fetch(self, name):
        resp = self.api.get(self.path(name))
        self.assertEqual(resp.status, 200, resp)
        return resp.json()

    def assertGone(self, name):
        resp = self.api.get(self.path(name))
        self.assertEqual(resp.status, 404, resp)

    def apply(self, obj, name="obj.yaml", extra=()):
        path = self.write_file(name, obj)
        return self.k.run("apply", "-f", path, *self.k.validate_flags(), *extra)

    def skip_before_29(self, command):
        if self.minor <= 28:
            self.skipTest(f"kubectl 1.{self.minor} {command} needs the protobuf OpenAPI v2 document, "
                          "which setpoint does not serve")

    def await_watch_opened(self, baseline):
        """Lets a background kubectl reach its watch before the test writes, so the watch path is
        what sees the change. Best effort: the assertions hold either way."""
        try:
            wait_until(lambda: self.api.watchers() > baseline, 10, "kubectl to open its watch")
        except AssertionError:
            pass

    def table(self, out):
        """Parses kubectl's table output into (header, {name: row})."""
        lines = [l for l in out.splitlines() if l.strip()]
        self.assertTrue(lines, "empty table output")
        header = lines[0].split()
        rows = {}
        for line in lines[1:]:
            cells = line.split()
            key = (cells[0], cells[1]) if header[0] == "NAMESPACE" else cells[0]
            self.assertNotIn(key, rows, f"row {key} printed twice:\n{out}")
            rows[key] = cells
        return header, rows

    # ----- discovery and basics -----

    def test_api_resources_lists_widgets(self):
        out = self.k.ok("api-resources")
        rows = [l.split() for l in out.splitlines()]
        self.assertIn(["widgets", "wd", "example.com/v1", "true", "Widget"], rows, out)
        out = self.k.ok("api-resources", "--api-group=example.com", "-o", "name")
        self.assertEqual(out.split(), ["widgets.example.com"])
        versions = self.k.ok("api-versions").split()
        for gv in ("v1", "example.com/v1", "apiextensions.k8s.io/v1", "coordination.k8s.io/v1"):
            self.assertIn(gv, versions)
        header, rows = self.table(self.k.ok("get", "crd", "widgets.example.com"))
        self.assertEqual(header, ["NAME", "CREATED", "AT"])  # "CREATED AT" split on spaces
        self.assertIn("widgets.example.com", rows)

    def test_version_reports_server(self):
        info = json.loads(self.k.ok("version", "-o", "json"))
        self.assertRegex(info["serverVersion"]["gitVersion"], r"^v\d+\.\d+\.\d+")

    def test_create_namespace(self):
        # kubectl <= 1.31 posts the generated Namespace as JSON; 1.32+ sends protobuf, which
        # setpoint does not decode: that must be a clear 415, not a hang or a crash.
        name = f"{self.ns}-created"
        rc, out, err = self.k.run("create", "namespace", name, timeout=30)
        if self.minor <= 31:
            self.assertEqual(rc, 0, err)
            self.assertIn(f"namespace/{name} created", out)
            self.assertEqual(self.api.get(f"/api/v1/namespaces/{name}").status, 200)
        else:
            self.assertNotEqual(rc, 0, out)
            self.assertIn("Error from server (UnsupportedMediaType)", err)
            self.assertIn("the body of the request was in an unknown format", err)
            self.assertEqual(self.api.get(f"/api/v1/namespaces/{name}").status, 404)
        self.assertTrue(self.api.ready(), "server not ready after kubectl create namespace")

    # ----- apply and get -----

    def test_apply_creates_then_configures(self):
        rc, out, err = self.apply(widget("applied", self.ns, 2, "red"))
        self.assertEqual(rc, 0, err)
        self.assertIn("widget.example.com/applied created", out)
        obj = self.fetch("applied")
        self.assertEqual(obj["spec"], {"size": 2, "color": "red"})
        self.assertEqual(obj["metadata"]["generation"], 1)
        self.assertIn("kubectl.kubernetes.io/last-applied-configuration", obj["metadata"]["annotations"])

        rc, out, err = self.apply(widget("applied", self.ns, 5, "blue"))
        self.assertEqual(rc, 0, err)
        self.assertIn("widget.example.com/applied configured", out)
        obj2 = self.fetch("applied")
        self.assertEqual(obj2["spec"], {"size": 5, "color": "blue"})
        self.assertEqual(obj2["metadata"]["generation"], 2)
        self.assertEqual(obj2["metadata"]["uid"], obj["metadata"]["uid"])
        last = json.loads(obj2["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"])
        self.assertEqual(last["spec"], {"size": 5, "color": "blue"})

        rc, out, err = self.apply(widget("applied", self.ns, 5, "blue"))
        self.assertEqual(rc, 0, err)
        self.assertIn("widget.example.com/applied unchanged", out)
        self.assertEqual(self.fetch("applied")["metadata"]["resourceVersion"],
                         obj2["metadata"]["resourceVersion"])

    def test_create_twice_is_already_exists(self):
        path = self.write_file("created.yaml", widget("created", self.ns))
        out = self.k.ok("create", "-f", path, *self.k.validate_flags())
        self.assertIn("widget.example.com/created created", out)
        rc, out, err = self.k.run("create", "-f", path, *self.k.validate_flags())
        self.assertNotEqual(rc, 0)
        self.assertIn("AlreadyExists", err)
        self.assertIn('widgets.example.com "created" already exists', err)

    def test_get_table_has_printer_columns(self):
        out = self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table")
        header, rows = self.table(out)
        self.assertEqual(header, ["NAME", "SIZE", "COLOR", "AGE"], out)
        self.assertEqual(sorted(rows), ["t1", "t2", "t3"])
        self.assertEqual(rows["t2"][:3], ["t2", "2", "green"])
        for row in rows.values():
            self.assertRegex(row[3], AGE)
        # The short name and a single object.
        out = self.k.ok("get", "wd", "t3", "-n", self.ns)
        header, rows = self.table(out)
        self.assertEqual(header, ["NAME", "SIZE", "COLOR", "AGE"], out)
        self.assertEqual(rows["t3"][:3], ["t3", "3", "blue"])

    def test_get_output_formats(self):
        obj = yaml.safe_load(self.k.ok("get", "widget", "t1", "-n", self.ns, "-o", "yaml"))
        self.assertEqual((obj["apiVersion"], obj["kind"]), ("example.com/v1", "Widget"))
        self.assertEqual(obj["spec"], {"size": 1, "color": "red"})
        self.assertEqual(obj["metadata"]["namespace"], self.ns)

        lst = json.loads(self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table", "-o", "json"))
        self.assertEqual(sorted(i["metadata"]["name"] for i in lst["items"]), ["t1", "t2", "t3"])
        for item in lst["items"]:
            self.assertEqual((item["apiVersion"], item["kind"]), ("example.com/v1", "Widget"))

        out = self.k.ok("get", "widget", "t1", "-n", self.ns, "-o", "jsonpath={.spec.color}")
        self.assertEqual(out, "red")
        out = self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table",
                        "-o", "jsonpath={.items[*].spec.size}")
        self.assertEqual(sorted(out.split()), ["1", "2", "3"])

    def test_get_label_selectors(self):
        out = self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table,tier=front", "-o", "name")
        self.assertEqual(sorted(out.split()), ["widget.example.com/t1", "widget.example.com/t3"])
        out = self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table,tier notin (front)", "-o", "name")
        self.assertEqual(out.split(), ["widget.example.com/t2"])
        out = self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table,!tier", "-o", "name")
        self.assertEqual(out.strip(), "")

    def test_get_all_namespaces(self):
        out = self.k.ok("get", "widgets", "-A", "-l", "suite=table,tier=front")
        header, rows = self.table(out)
        self.assertEqual(header, ["NAMESPACE", "NAME", "SIZE", "COLOR", "AGE"], out)
        self.assertIn((self.ns, "t1"), rows)
        self.assertIn((self.ns, "t3"), rows)
        self.assertNotIn((self.ns, "t2"), rows)
        self.assertEqual(rows[(self.ns, "t1")][2:4], ["1", "red"])

    def test_get_chunked(self):
        listing = self.api.get(self.path()).json()
        expected = sorted(f"widget.example.com/{i['metadata']['name']}" for i in listing["items"])
        self.assertGreaterEqual(len(expected), 3)
        out = self.k.ok("get", "widgets", "-n", self.ns, "--chunk-size=1", "-o", "name")
        names = out.split()
        self.assertEqual(len(names), len(set(names)), f"duplicates in chunked list: {names}")
        self.assertEqual(sorted(names), expected)
        out = self.k.ok("get", "widgets", "-n", self.ns, "-l", "suite=table", "--chunk-size=1")
        header, rows = self.table(out)  # one header, no row twice
        self.assertEqual(header, ["NAME", "SIZE", "COLOR", "AGE"], out)
        self.assertEqual(sorted(rows), ["t1", "t2", "t3"], out)

    def test_get_category_all(self):
        out = self.k.ok("get", "all", "-n", self.ns, "-l", "suite=table", "-o", "name")
        self.assertEqual(sorted(out.split()),
                         ["widget.example.com/t1", "widget.example.com/t2", "widget.example.com/t3"])

    def test_get_watch_shows_changes(self):
        self.create("watched-a", size=1, labels={"suite": "watch"})
        proc = self.k.start("get", "widgets", "-n", self.ns, "-l", "suite=watch", "-w")
        lines = queue.Queue()

        def pump():
            for line in proc.stdout:
                lines.put(line.split())

        threading.Thread(target=pump, daemon=True).start()
        seen = []

        def saw(predicate):
            def check():
                while True:
                    try:
                        seen.append(lines.get_nowait())
                    except queue.Empty:
                        break
                return any(predicate(cells) for cells in seen)
            return check

        try:
            wait_until(saw(lambda c: c[:1] == ["watched-a"]), 30, "the initial list row")
            self.create("watched-b", size=4, color="green", labels={"suite": "watch"})
            wait_until(saw(lambda c: c[:3] == ["watched-b", "4", "green"]), 30, "the ADDED row")
            resp = self.api.patch(self.path("watched-b"), {"spec": {"size": 6}})
            self.assertEqual(resp.status, 200, resp)
            wait_until(saw(lambda c: c[:3] == ["watched-b", "6", "green"]), 30, "the MODIFIED row")
        except AssertionError as e:
            out, err = stop_process(proc)
            raise AssertionError(f"{e}; rows so far {seen}; stderr {err!r}")
        stop_process(proc)
        self.assertEqual(seen[0], ["NAME", "SIZE", "COLOR", "AGE"])

    def test_get_custom_columns_sorted(self):
        out = self.k.ok("get", "wd", "-n", self.ns, "-l", "suite=table", "--sort-by=.spec.size",
                        "-o", "custom-columns=NAME:.metadata.name,SIZE:.spec.size,TIER:.metadata.labels.tier")
        self.assertEqual([l.split() for l in out.splitlines()],
                         [["NAME", "SIZE", "TIER"], ["t1", "1", "front"], ["t2", "2", "back"], ["t3", "3", "front"]])

    def test_delete_by_label_selector(self):
        for i in range(3):
            self.create(f"bulk-{i}", labels={"suite": "bulk"})
        out = self.k.ok("delete", "wd", "-n", self.ns, "-l", "suite=bulk", timeout=60)
        for i in range(3):
            self.assertIn(f'widget.example.com "bulk-{i}" deleted', out)
            self.assertGone(f"bulk-{i}")

    def test_builtin_kinds_namespace_and_lease(self):
        # Registered built-in kinds: a second apply is a strategic merge patch.
        ns_doc = {"apiVersion": "v1", "kind": "Namespace",
                  "metadata": {"name": f"{self.ns}-b", "labels": {"team": "a"}}}
        self.assertEqual(self.apply(ns_doc)[0], 0)
        ns_doc["metadata"]["labels"]["team"] = "b"
        rc, out, err = self.apply(ns_doc)
        self.assertEqual(rc, 0, err)
        self.assertIn(f"namespace/{self.ns}-b configured", out)
        ns = self.api.get(f"/api/v1/namespaces/{self.ns}-b").json()
        self.assertEqual(ns["metadata"]["labels"]["team"], "b")
        header, rows = self.table(self.k.ok("get", "namespace", f"{self.ns}-b"))
        self.assertEqual(header, ["NAME", "STATUS", "AGE"])
        self.assertEqual(rows[f"{self.ns}-b"][1], "Active")

        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                 "metadata": {"name": "leader", "namespace": self.ns},
                 "spec": {"holderIdentity": "node-a", "leaseDurationSeconds": 15}}
        rc, out, err = self.apply(lease)
        self.assertEqual(rc, 0, err)
        self.assertIn("lease.coordination.k8s.io/leader created", out)
        lease["spec"]["holderIdentity"] = "node-b"
        rc, out, err = self.apply(lease)
        self.assertEqual(rc, 0, err)
        self.assertIn("lease.coordination.k8s.io/leader configured", out)
        header, rows = self.table(self.k.ok("get", "leases", "-n", self.ns))
        self.assertEqual(header, ["NAME", "HOLDER", "AGE"])
        self.assertEqual(rows["leader"][:2], ["leader", "node-b"])

    def test_get_raw_endpoints(self):
        self.assertEqual(self.k.ok("get", "--raw", "/readyz").strip(), "ok")
        info = json.loads(self.k.ok("get", "--raw", "/version"))
        self.assertIn("gitVersion", info)

    # ----- ConfigMaps and Secrets (core/v1 built-ins) -----

    def core(self, resource, name=None):
        p = f"/api/v1/namespaces/{self.ns}/{resource}"
        return p + f"/{name}" if name else p

    def fetch_core(self, resource, name):
        resp = self.api.get(self.core(resource, name))
        self.assertEqual(resp.status, 200, resp)
        return resp.json()

    def test_api_resources_lists_configmaps_and_secrets(self):
        rows = [l.split() for l in self.k.ok("api-resources").splitlines()]
        self.assertIn(["configmaps", "cm", "v1", "true", "ConfigMap"], rows)
        self.assertIn(["secrets", "v1", "true", "Secret"], rows)

    def test_configmap_create_from_literal_get_describe_delete(self):
        # kubectl <= 1.31 posts JSON; 1.32+ posts protobuf, which the server decodes for these kinds.
        binary = os.path.join(self.tmp, "blob.bin")
        with open(binary, "wb") as f:
            f.write(b"\x00\xff\xfe")
        out = self.k.ok("create", "configmap", "lit", "-n", self.ns, "--from-literal=a=b",
                        "--from-literal=c=d", f"--from-file=blob={binary}")
        self.assertIn("configmap/lit created", out)
        obj = self.fetch_core("configmaps", "lit")
        self.assertEqual(obj["data"], {"a": "b", "c": "d"})
        self.assertEqual(obj["binaryData"], {"blob": "AP/+"})
        self.assertNotIn("generation", obj["metadata"], "ConfigMaps have no generation upstream")

        header, rows = self.table(self.k.ok("get", "cm", "lit", "-n", self.ns))
        self.assertEqual(header, ["NAME", "DATA", "AGE"])
        self.assertEqual(rows["lit"][:2], ["lit", "3"])  # data and binaryData keys
        self.assertRegex(rows["lit"][2], AGE)
        out = self.k.ok("get", "configmaps", "-n", self.ns, "-o", "name")
        self.assertIn("configmap/lit", out.split())
        self.assertEqual(self.k.ok("get", "configmap", "lit", "-n", self.ns, "-o", "jsonpath={.data.c}"), "d")

        out = self.k.ok("describe", "cm", "lit", "-n", self.ns)
        self.assertRegex(out, r"Name:\s+lit")
        self.assertRegex(out, r"(?m)^a:\n-+\nb$")
        self.assertIn("BinaryData", out)
        self.assertRegex(out, r"blob:\s+3 bytes")

        out = self.k.ok("delete", "cm", "lit", "-n", self.ns, timeout=60)
        self.assertIn('configmap "lit" deleted', out)
        self.assertEqual(self.api.get(self.core("configmaps", "lit")).status, 404)

    def test_secret_create_generic_and_jsonpath(self):
        out = self.k.ok("create", "secret", "generic", "lit", "-n", self.ns, "--from-literal=k=v",
                        "--from-literal=password=s3cr3t")
        self.assertIn("secret/lit created", out)
        self.assertEqual(self.k.ok("get", "secret", "lit", "-n", self.ns, "-o", "jsonpath={.data.k}"), "dg==")
        self.assertEqual(self.k.ok("get", "secret", "lit", "-n", self.ns, "-o", "jsonpath={.type}"), "Opaque")
        header, rows = self.table(self.k.ok("get", "secrets", "-n", self.ns, "lit"))
        self.assertEqual(header, ["NAME", "TYPE", "DATA", "AGE"])
        self.assertEqual(rows["lit"][:3], ["lit", "Opaque", "2"])
        out = self.k.ok("describe", "secret", "lit", "-n", self.ns)
        self.assertRegex(out, r"Type:\s+Opaque")
        self.assertRegex(out, r"password:\s+6 bytes")
        self.assertNotIn("s3cr3t", out)

        # A kubernetes.io/tls Secret needs both keys: the server says which one is missing.
        tls = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "tls-missing", "namespace": self.ns},
               "type": "kubernetes.io/tls", "data": {"tls.crt": "Y2VydA=="}}
        rc, out, err = self.apply(tls, "tls-missing.yaml")
        self.assertNotEqual(rc, 0, out)
        self.assertIn('The Secret "tls-missing" is invalid: data[tls.key]: Required value', err)

    def test_secret_string_data_merges_into_data(self):
        secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "merged", "namespace": self.ns},
                  "data": {"k": "b2xk", "keep": "eA=="},  # "old", "x"
                  "stringData": {"k": "new", "plain": "text"}}
        rc, out, err = self.apply(secret, "merged.yaml")
        self.assertEqual(rc, 0, err)
        self.assertIn("secret/merged created", out)
        obj = self.fetch_core("secrets", "merged")
        self.assertNotIn("stringData", obj, "stringData is write-only")
        self.assertEqual(obj["type"], "Opaque")
        self.assertEqual({k: base64.b64decode(v).decode() for k, v in obj["data"].items()},
                         {"k": "new", "keep": "x", "plain": "text"})
        out = self.k.ok("get", "secret", "merged", "-n", self.ns, "-o", "jsonpath={.data.plain}")
        self.assertEqual(base64.b64decode(out), b"text")
        out = self.k.ok("get", "secret", "merged", "-n", self.ns, "-o", "json")
        self.assertNotIn("stringData", json.loads(out))

        self.k.ok("patch", "secret", "merged", "-n", self.ns, "--type", "merge", "-p", '{"stringData":{"keep":"y"}}')
        obj = self.fetch_core("secrets", "merged")
        self.assertEqual(base64.b64decode(obj["data"]["keep"]), b"y")
        self.assertNotIn("stringData", obj)

    def test_immutable_configmap_and_secret_type_reject_changes(self):
        frozen = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "frozen", "namespace": self.ns},
                  "data": {"a": "1"}, "immutable": True}
        rc, out, err = self.apply(frozen, "frozen.yaml")
        self.assertEqual(rc, 0, err)
        before = self.fetch_core("configmaps", "frozen")
        frozen["data"]["a"] = "2"
        rc, out, err = self.apply(frozen, "frozen.yaml")
        self.assertNotEqual(rc, 0, out)
        self.assertIn('The ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set',
                      err)
        rc, out, err = self.k.run("patch", "cm", "frozen", "-n", self.ns, "--type", "merge",
                                  "-p", '{"immutable":false}')
        self.assertNotEqual(rc, 0, out)
        self.assertIn("immutable: Forbidden: field is immutable when `immutable` is set", err)
        self.assertEqual(self.fetch_core("configmaps", "frozen")["data"], {"a": "1"})
        # Metadata may still change.
        self.assertIn("configmap/frozen labeled", self.k.ok("label", "cm", "frozen", "-n", self.ns, "tier=x"))
        after = self.fetch_core("configmaps", "frozen")
        self.assertEqual(after["metadata"]["labels"], {"tier": "x"})
        self.assertEqual(after["data"], before["data"])

        self.k.ok("create", "secret", "generic", "typed", "-n", self.ns, "--from-literal=tls.crt=c",
                  "--from-literal=tls.key=k")
        rc, out, err = self.k.run("patch", "secret", "typed", "-n", self.ns, "--type", "merge",
                                  "-p", '{"type":"kubernetes.io/tls"}')
        self.assertNotEqual(rc, 0, out)
        self.assertIn('The Secret "typed" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable',
                      err)
        self.assertEqual(self.fetch_core("secrets", "typed")["type"], "Opaque")

    def test_configmap_apply_edit_replace(self):
        cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "applied-cm", "namespace": self.ns},
              "data": {"a": "1", "b": "2"}}
        rc, out, err = self.apply(cm, "applied-cm.yaml")
        self.assertEqual(rc, 0, err)
        self.assertIn("configmap/applied-cm created", out)
        # A second apply is a three-way strategic merge patch: b goes, c comes.
        cm["data"] = {"a": "1", "c": "3"}
        rc, out, err = self.apply(cm, "applied-cm.yaml")
        self.assertEqual(rc, 0, err)
        self.assertIn("configmap/applied-cm configured", out)
        obj = self.fetch_core("configmaps", "applied-cm")
        self.assertEqual(obj["data"], {"a": "1", "c": "3"})
        rc, out, err = self.apply(cm, "applied-cm.yaml")
        self.assertEqual(rc, 0, err)
        self.assertIn("configmap/applied-cm unchanged", out)
        self.assertEqual(self.fetch_core("configmaps", "applied-cm")["metadata"]["resourceVersion"],
                         obj["metadata"]["resourceVersion"])

        editor = os.path.join(self.tmp, "cm-editor.sh")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nexec sed -i -e 's/^  c: \"3\"$/  c: \"edited\"/' \"$@\"\n")
        os.chmod(editor, 0o755)
        out = self.k.ok("edit", "cm", "applied-cm", "-n", self.ns, *self.k.validate_flags(),
                        env={"KUBE_EDITOR": editor, "EDITOR": editor})
        self.assertIn("configmap/applied-cm edited", out)
        self.assertEqual(self.fetch_core("configmaps", "applied-cm")["data"], {"a": "1", "c": "edited"})

        current = json.loads(self.k.ok("get", "cm", "applied-cm", "-n", self.ns, "-o", "json"))
        current["data"]["a"] = "replaced"
        path = self.write_file("replaced-cm.json", json.dumps(current))
        out = self.k.ok("replace", "-f", path, *self.k.validate_flags())
        self.assertIn("configmap/applied-cm replaced", out)
        self.assertEqual(self.fetch_core("configmaps", "applied-cm")["data"]["a"], "replaced")
        rc, out, err = self.k.run("replace", "-f", path, *self.k.validate_flags())
        self.assertNotEqual(rc, 0, "a replace with a stale resourceVersion must conflict")
        self.assertIn("the object has been modified", err)

        bad = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "badkey", "namespace": self.ns},
               "data": {"bad key": "x"}}
        rc, out, err = self.apply(bad, "badkey.yaml")
        self.assertNotEqual(rc, 0, out)
        self.assertIn('The ConfigMap "badkey" is invalid: data[bad key]: Invalid value: "bad key": '
                      "a valid config key must consist of alphanumeric characters, '-', '_' or '.'", err)
        self.assertEqual(self.api.get(self.core("configmaps", "badkey")).status, 404)

    # ----- describe, explain, diff, edit -----

    def test_describe_lists_events(self):
        obj = self.create("described", size=3)
        event = {
            "apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "described.e2e", "namespace": self.ns},
            "involvedObject": {"apiVersion": "example.com/v1", "kind": "Widget", "name": "described",
                               "namespace": self.ns, "uid": obj["metadata"]["uid"]},
            "reason": "Polished", "message": "polished by the e2e test", "type": "Normal",
            "source": {"component": "e2e"}, "count": 1,
            "firstTimestamp": now_rfc3339(), "lastTimestamp": now_rfc3339(),
        }
        path = self.write_file("event.yaml", event)
        out = self.k.ok("create", "-f", path, *self.k.validate_flags())
        self.assertIn("event/described.e2e created", out)
        out = self.k.ok("describe", "widget", "described", "-n", self.ns)
        self.assertRegex(out, r"Name:\s+described")
        self.assertRegex(out, r"Size:\s+3")
        events = out[out.index("Events:"):]
        self.assertIn("Polished", events, out)
        self.assertIn("polished by the e2e test", events, out)
        self.assertNotIn("<none>", events, out)
        out = self.k.ok("get", "events", "-n", self.ns, "-o", "name",
                        "--field-selector", "involvedObject.kind=Widget,involvedObject.name=described")
        self.assertEqual(out.split(), ["event/described.e2e"])

    def test_explain_uses_the_schema(self):
        self.skip_before_29("explain")
        out = self.k.ok("explain", "widgets.spec")
        self.assertIn("Widget", out)
        self.assertRegex(out, r"size\s+<integer>")
        self.assertRegex(out, r"color\s+<string>")
        out = self.k.ok("explain", "widgets.spec.size")
        self.assertIn("How big the widget is, from 1 to 10.", out)

    def test_diff_is_a_dry_run(self):
        self.skip_before_29("diff")
        rc, out, err = self.apply(widget("diffed", self.ns, 2, "red"))
        self.assertEqual(rc, 0, err)
        before = self.fetch("diffed")
        path = self.write_file("diffed.yaml", widget("diffed", self.ns, 3, "red"))
        rc, out, err = self.k.run("diff", "-f", path)
        self.assertEqual(rc, 1, f"kubectl diff should exit 1 on a difference: {out} {err}")
        self.assertRegex(out, r"(?m)^-\s+size: 2$")
        self.assertRegex(out, r"(?m)^\+\s+size: 3$")
        after = self.fetch("diffed")
        self.assertEqual(after["spec"]["size"], 2, "kubectl diff changed the object: dryRun ignored")
        self.assertEqual(after["metadata"]["resourceVersion"], before["metadata"]["resourceVersion"])
        path = self.write_file("diffed-same.yaml", widget("diffed", self.ns, 2, "red"))
        rc, out, err = self.k.run("diff", "-f", path)
        self.assertEqual((rc, out), (0, ""), err)

    def test_edit_with_an_editor_script(self):
        self.create("edited", size=2, color="red")
        editor = os.path.join(self.tmp, "editor.sh")
        with open(editor, "w") as f:
            f.write("#!/bin/sh\nexec sed -i -e 's/color: red/color: blue/' \"$@\"\n")
        os.chmod(editor, 0o755)
        out = self.k.ok("edit", "widget", "edited", "-n", self.ns, *self.k.validate_flags(),
                        env={"KUBE_EDITOR": editor, "EDITOR": editor})
        self.assertIn("widget.example.com/edited edited", out)
        obj = self.fetch("edited")
        self.assertEqual(obj["spec"], {"size": 2, "color": "blue"})
        self.assertEqual(obj["metadata"]["generation"], 2)

    # ----- label, annotate, patch, scale, replace -----

    def test_label_and_annotate(self):
        self.create("labelled")
        out = self.k.ok("label", "widget", "labelled", "-n", self.ns, "env=prod")
        self.assertIn("widget.example.com/labelled labeled", out)
        self.assertEqual(self.fetch("labelled")["metadata"]["labels"], {"env": "prod"})
        rc, out, err = self.k.run("label", "widget", "labelled", "-n", self.ns, "env=dev")
        self.assertNotEqual(rc, 0)
        self.assertIn("already has a value", err)
        self.k.ok("label", "widget", "labelled", "-n", self.ns, "env=dev", "--overwrite")
        self.assertEqual(self.fetch("labelled")["metadata"]["labels"], {"env": "dev"})
        self.k.ok("label", "widget", "labelled", "-n", self.ns, "env-")
        self.assertFalse(self.fetch("labelled")["metadata"].get("labels"))

        out = self.k.ok("annotate", "widget", "labelled", "-n", self.ns, "note=hello world")
        self.assertRegex(out, r"widget.example.com/labelled annotated?\n")  # 1.27 prints "annotate"
        obj = self.fetch("labelled")
        self.assertEqual(obj["metadata"]["annotations"]["note"], "hello world")
        self.assertEqual(obj["metadata"]["generation"], 1, "metadata changes must not bump generation")

    def test_patch_merge_json_and_status(self):
        self.create("patched", size=2, color="red")
        out = self.k.ok("patch", "widget", "patched", "-n", self.ns, "--type", "merge",
                        "-p", '{"spec":{"size":7}}')
        self.assertIn("widget.example.com/patched patched", out)
        self.assertEqual(self.fetch("patched")["spec"], {"size": 7, "color": "red"})

        self.k.ok("patch", "widget", "patched", "-n", self.ns, "--type", "json",
                  "-p", '[{"op":"replace","path":"/spec/color","value":"green"}]')
        self.assertEqual(self.fetch("patched")["spec"], {"size": 7, "color": "green"})

        rc, out, err = self.k.run("patch", "widget", "patched", "-n", self.ns, "--type", "json",
                                  "-p", '[{"op":"test","path":"/spec/size","value":1}]')
        self.assertNotEqual(rc, 0, "a failing JSON patch test op must fail the patch")
        before = self.fetch("patched")
        self.assertEqual(before["spec"], {"size": 7, "color": "green"})

        out = self.k.ok("patch", "widget", "patched", "-n", self.ns, "--subresource", "status",
                        "--type", "merge", "-p", '{"status":{"replicas":2}}')
        self.assertIn("patched", out)
        obj = self.fetch("patched")
        self.assertEqual(obj["status"]["replicas"], 2)
        self.assertEqual(obj["spec"], {"size": 7, "color": "green"})
        self.assertEqual(obj["metadata"]["generation"], before["metadata"]["generation"],
                         "a status write must not bump generation")

        # With the status subresource on, the main endpoint ignores .status.
        self.k.ok("patch", "widget", "patched", "-n", self.ns, "--type", "merge",
                  "-p", '{"status":{"replicas":9}}')
        self.assertEqual(self.fetch("patched")["status"]["replicas"], 2)

    def test_default_strategic_patch_is_unsupported(self):
        self.create("strategic", size=2)
        rc, out, err = self.k.run("patch", "widget", "strategic", "-n", self.ns, "-p", '{"spec":{"size":3}}')
        self.assertNotEqual(rc, 0)
        self.assertIn("application/strategic-merge-patch+json is not supported by", err)
        self.assertIn("application/merge-patch+json", err)
        self.assertEqual(self.fetch("strategic")["spec"]["size"], 2)

    def test_scale(self):
        self.create("scaled", size=1)
        out = self.k.ok("scale", "widget", "scaled", "-n", self.ns, "--replicas=3")
        self.assertIn("widget.example.com/scaled scaled", out)
        self.assertEqual(self.fetch("scaled")["spec"]["size"], 3)
        scale = self.api.get(self.path("scaled", "scale")).json()
        self.assertEqual((scale["apiVersion"], scale["kind"]), ("autoscaling/v1", "Scale"))
        self.assertEqual(scale["spec"]["replicas"], 3)
        rc, out, err = self.k.run("scale", "widget", "scaled", "-n", self.ns, "--replicas=11")
        self.assertNotEqual(rc, 0, "scaling past the schema maximum must fail")
        self.assertIn("less than or equal to 10", err)
        self.assertEqual(self.fetch("scaled")["spec"]["size"], 3)

    def test_replace_and_conflict(self):
        self.create("replaced", size=2)
        obj = json.loads(self.k.ok("get", "widget", "replaced", "-n", self.ns, "-o", "json"))
        obj["spec"]["size"] = 9
        path = self.write_file("replaced.json", json.dumps(obj))
        out = self.k.ok("replace", "-f", path, *self.k.validate_flags())
        self.assertIn("widget.example.com/replaced replaced", out)
        self.assertEqual(self.fetch("replaced")["spec"]["size"], 9)
        # The same file again carries a stale resourceVersion.
        rc, out, err = self.k.run("replace", "-f", path, *self.k.validate_flags())
        self.assertNotEqual(rc, 0)
        self.assertIn("the object has been modified", err)

    def test_server_side_dry_run(self):
        self.create("dryrun", size=2)
        before = self.fetch("dryrun")
        out = self.k.ok("patch", "widget", "dryrun", "-n", self.ns, "--type", "merge",
                        "-p", '{"spec":{"size":8}}', "--dry-run=server", "-o", "jsonpath={.spec.size}")
        self.assertEqual(out, "8", "the dry-run answer shows the patched object")
        rc, out, err = self.apply(widget("dryrun-new", self.ns), extra=["--dry-run=server"])
        self.assertEqual(rc, 0, err)
        self.assertIn("widget.example.com/dryrun-new created (server dry run)", out)
        out = self.k.ok("delete", "widget", "dryrun", "-n", self.ns, "--dry-run=server")
        self.assertIn('widget.example.com "dryrun" deleted (server dry run)', out)
        self.assertGone("dryrun-new")
        self.assertEqual(self.fetch("dryrun")["metadata"]["resourceVersion"],
                         before["metadata"]["resourceVersion"])

    def test_wait_for_jsonpath(self):
        self.create("jsonwait")
        baseline = self.api.watchers()
        waiter = self.k.start("wait", "--for=jsonpath={.status.replicas}=4", "widget/jsonwait",
                              "-n", self.ns, "--timeout=60s")
        try:
            self.await_watch_opened(baseline)
            resp = self.api.patch(self.path("jsonwait", "status"), {"status": {"replicas": 4}})
            self.assertEqual(resp.status, 200, resp)
            out, err = waiter.communicate(timeout=60)
        finally:
            stop_process(waiter)
        self.assertEqual(waiter.returncode, 0, f"kubectl wait: {out} {err}")
        self.assertIn("widget.example.com/jsonwait condition met", out)

    # ----- delete and wait -----

    def test_delete_without_finalizers(self):
        self.create("doomed")
        out = self.k.ok("delete", "widget", "doomed", "-n", self.ns, timeout=60)
        self.assertIn('widget.example.com "doomed" deleted', out)
        self.assertGone("doomed")
        rc, out, err = self.k.run("get", "widget", "doomed", "-n", self.ns)
        self.assertNotEqual(rc, 0)
        self.assertIn('Error from server (NotFound): widgets.example.com "doomed" not found', err)

    def test_delete_with_finalizer_waits_for_it(self):
        self.create("held", finalizers=["example.com/hold"])
        out = self.k.ok("delete", "widget", "held", "-n", self.ns, "--wait=false")
        self.assertIn('widget.example.com "held" deleted', out)
        obj = self.fetch("held")
        self.assertTrue(obj["metadata"].get("deletionTimestamp"), obj)
        self.assertEqual(obj["metadata"]["finalizers"], ["example.com/hold"])
        rc, out, err = self.k.run("patch", "widget", "held", "-n", self.ns, "--type", "merge",
                                  "-p", '{"metadata":{"finalizers":["example.com/hold","example.com/new"]}}')
        self.assertNotEqual(rc, 0, "no finalizer may be added once deletion started")

        baseline = self.api.watchers()
        waiter = self.k.start("wait", "--for=delete", "widget/held", "-n", self.ns, "--timeout=60s")
        try:
            self.await_watch_opened(baseline)
            self.k.ok("patch", "widget", "held", "-n", self.ns, "--type", "json",
                      "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
            out, err = waiter.communicate(timeout=60)
        finally:
            stop_process(waiter)
        self.assertEqual(waiter.returncode, 0, f"kubectl wait --for=delete: {out} {err}")
        self.assertGone("held")

    def test_wait_for_condition(self):
        self.create("waited")
        baseline = self.api.watchers()
        waiter = self.k.start("wait", "--for=condition=Ready", "widget/waited", "-n", self.ns,
                              "--timeout=60s")
        try:
            self.await_watch_opened(baseline)
            status = {"status": {"replicas": 1, "conditions": [
                {"type": "Ready", "status": "True", "reason": "Tested",
                 "message": "set by the e2e test", "lastTransitionTime": now_rfc3339()}]}}
            resp = self.api.patch(self.path("waited", "status"), status)
            self.assertEqual(resp.status, 200, resp)
            out, err = waiter.communicate(timeout=60)
        finally:
            stop_process(waiter)
        self.assertEqual(waiter.returncode, 0, f"kubectl wait: {out} {err}")
        self.assertIn("widget.example.com/waited condition met", out)

    # ----- errors the user sees -----

    def test_invalid_object_is_rejected_with_the_field(self):
        rc, out, err = self.apply(widget("toobig", self.ns, size=100))
        self.assertNotEqual(rc, 0)
        self.assertIn('The Widget "toobig" is invalid', err)
        self.assertIn("spec.size", err)
        self.assertIn("less than or equal to 10", err)
        self.assertGone("toobig")
        rc, out, err = self.apply(widget("purple", self.ns, color="purple"))
        self.assertNotEqual(rc, 0)
        self.assertIn("spec.color", err)
        self.assertIn('Unsupported value: "purple"', err)
        self.assertGone("purple")

    def test_unknown_field(self):
        obj = widget("unknownfield", self.ns, spec_extra={"bogus": 1})
        if self.minor >= 29:
            # Default validation is server-side Strict from 1.29 on.
            rc, out, err = self.apply(obj)
            self.assertNotEqual(rc, 0, out)
            self.assertIn("strict decoding error", err)
            self.assertIn('unknown field "spec.bogus"', err)
            self.assertGone("unknownfield")
            rc, out, err = self.apply(obj, extra=["--validate=warn"])
            self.assertEqual(rc, 0, err)
            self.assertIn('unknown field "spec.bogus"', err)
        else:
            rc, out, err = self.apply(obj)  # --validate=false: the server prunes silently
            self.assertEqual(rc, 0, err)
        self.assertEqual(self.fetch("unknownfield")["spec"], {"size": 2, "color": "red"})


def _define_version_classes():
    for minor in harness.available_kubectl_minors():
        name = f"Kubectl1_{minor}Test"
        globals()[name] = type(name, (KubectlScenario, ServerTestCase), {"minor": minor})


_define_version_classes()

if __name__ == "__main__":
    harness.main()

"""Scale-out end to end: two `setpoint server` processes on one real 3-member etcd cluster.

  1. Writes through either server are visible in both caches (lists and watches); a CRD made
     through one is served by the other; kubectl works through both.
  2. Killing the etcd leader during a write load through both servers loses no acknowledged write.
  3. A watch held on one server across an etcd leader change misses nothing and repeats nothing.
  4. Killing the setpoint server whose controllers lead moves them to the other within the
     lease duration: its garbage collector then collects an orphaned dependent.
  5. `setpoint migrate` copies a SQLite store into etcd; resourceVersions only ever grow.

Every wait is a poll with a deadline. Skipped when Debian's etcd-server is not installed.
"""

import http.client
import json
import os
import subprocess
import tempfile
import threading
import time
import unittest

import etcd_cluster
import harness
from harness import Kubectl, Server, ServerTestCase, wait_until


def remove_if_empty(path):
    """The work dir, once the servers and etcd cleaned up after themselves (what a failure kept stays)."""
    try:
        os.rmdir(path)
    except OSError:
        pass

TIMEOUT = 30
LEASE = 15  # the controller manager's leader-election lease duration


def cm(name, ns="default", data=None, owner=None):
    meta = {"name": name, "namespace": ns}
    if owner:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "ConfigMap", "name": owner["metadata"]["name"],
                                    "uid": owner["metadata"]["uid"]}]
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data or {"k": "v"}}


def names(server, ns="default"):
    r = server.api.get(f"/api/v1/namespaces/{ns}/configmaps")
    assert r.status == 200, r
    return {i["metadata"]["name"] for i in r.json()["items"]}


class WatchReader:
    """A raw watch stream read on a thread: the events, in the order they arrived."""

    def __init__(self, server, path):
        self.conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        self.conn.request("GET", path, headers={"Accept": "application/json"})
        self.resp = self.conn.getresponse()
        assert self.resp.status == 200, self.resp.status
        self.events = []
        self.error = None
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            while True:
                line = self.resp.readline()
                if not line:
                    return
                if line.strip():
                    self.events.append(json.loads(line))
        except Exception as e:  # closed by close(), or the stream broke
            self.error = e

    def close(self):
        self.conn.close()


class EtcdTwoServersTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        if not etcd_cluster.available():
            raise unittest.SkipTest("etcd-server is not installed (make deps installs it)")
        cls.workdir = tempfile.mkdtemp(prefix="e2e-etcd-")
        cls.etcd = etcd_cluster.EtcdCluster(cls.workdir, members=3).start()
        args = ["--leader-elect=true", "--no-agent"]
        cls.a = Server("etcd-a", store=cls.etcd.url(), extra_args=args, workdir=os.path.join(cls.workdir, "a"))
        cls.b = Server("etcd-b", store=cls.etcd.url(), extra_args=args, workdir=os.path.join(cls.workdir, "b"))
        cls.a.start()
        cls.b.start()
        cls.server = cls.a

    @classmethod
    def tearDownClass(cls):
        for s in (cls.a, cls.b):
            if s.alive():
                rc = s.stop()
                if rc != 0:
                    raise AssertionError(f"server exited {rc}:\n{s.log_tail()}")
            s.cleanup()
        cls.etcd.cleanup()
        remove_if_empty(cls.workdir)

    def create(self, server, obj, ns="default"):
        return server.api.post(f"/api/v1/namespaces/{ns}/configmaps", obj)

    def test_1_writes_through_either_server_are_seen_by_both(self):
        a, b = self.a, self.b
        self.assertEqual(self.create(a, cm("from-a")).status, 201)
        self.assertEqual(self.create(b, cm("from-b")).status, 201)
        for s in (a, b):
            wait_until(lambda s=s: {"from-a", "from-b"} <= names(s), TIMEOUT, f"both objects listed by {s.port}")
        # A consistent read through B right after a write through A.
        r = self.create(a, cm("read-your-write"))
        self.assertEqual(r.status, 201)
        got = b.api.get("/api/v1/namespaces/default/configmaps/read-your-write")
        self.assertEqual(got.status, 200, got)
        self.assertEqual(got.json()["metadata"]["resourceVersion"], r.json()["metadata"]["resourceVersion"])

        # A watch on B sees a write through A.
        rv = b.api.get("/api/v1/namespaces/default/configmaps").json()["metadata"]["resourceVersion"]
        w = WatchReader(b, f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv}")
        try:
            self.assertEqual(self.create(a, cm("watched-via-b")).status, 201)
            wait_until(lambda: any(e["object"]["metadata"]["name"] == "watched-via-b" for e in w.events),
                       TIMEOUT, "B's watch to deliver A's write")
        finally:
            w.close()

        # A CRD made through A is served by B; kubectl works through both.
        crd = dict(harness.WIDGET_CRD)
        r = a.api.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        self.assertEqual(r.status, 201, r)
        wait_until(lambda: b.api.get("/apis/example.com/v1/namespaces/default/widgets").status == 200, TIMEOUT,
                   "B to serve the CRD")
        minor = max(harness.available_kubectl_minors())
        for s, name in ((a, "w-a"), (b, "w-b")):
            k = Kubectl(minor, s)
            k.ok("apply", "-f", "-", input=json.dumps(harness.widget(name, "default")))
        for s in (a, b):
            k = Kubectl(minor, s)
            out = k.ok("get", "widgets", "-o", "name")
            wait_until(lambda k=k: {"widget.example.com/w-a", "widget.example.com/w-b"} <= set(
                k.ok("get", "widgets", "-o", "name").split()), TIMEOUT, "both widgets through kubectl")
            del out

    def test_2_killing_the_etcd_leader_during_writes_loses_nothing_acknowledged(self):
        a, b = self.a, self.b
        a.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "load"}})
        acked, failed, stop = [], [], threading.Event()
        lock = threading.Lock()

        def writer(server, prefix):
            i = 0
            while not stop.is_set():
                name = f"{prefix}-{i}"
                i += 1
                try:
                    r = self.create(server, cm(name, "load"), ns="load")
                    with lock:
                        (acked if r.status == 201 else failed).append((name, r.status))
                except Exception as e:  # a timeout is not an acknowledgement
                    with lock:
                        failed.append((name, repr(e)))

        threads = [threading.Thread(target=writer, args=(s, f"{tag}{n}")) for s, tag in ((a, "a"), (b, "b")) for n in range(2)]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(acked) > 100, TIMEOUT, "writes under way")
            leader = self.etcd.leader()
            self.etcd.kill(leader)
            before = len(acked)
            wait_until(lambda: len(acked) > before + 100, TIMEOUT, "writes going on after the leader died")
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.etcd.restart(leader)
        want = {name for name, _ in acked}
        for s in (a, b):
            wait_until(lambda s=s: want <= names(s, "load"), TIMEOUT, f"every acknowledged write listed by {s.port}")
        # And in etcd itself, read from the member that had been killed.
        sample = sorted(want)[:: max(1, len(want) // 20)]
        for name in sample:
            self.assertIsNotNone(self.etcd.get(f"/registry/core/configmaps/load/{name}", member=leader), name)
        self.assertGreater(len(acked), 200)

    def test_3_a_watch_across_an_etcd_leader_change_misses_nothing(self):
        a, b = self.a, self.b
        a.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "watched"}})
        rv = a.api.get("/api/v1/namespaces/watched/configmaps").json()["metadata"]["resourceVersion"]
        w = WatchReader(a, f"/api/v1/namespaces/watched/configmaps?watch=true&resourceVersion={rv}")
        acked = []
        try:
            for i in range(200):
                if i == 60:
                    self.etcd.kill(self.etcd.leader())
                name = f"w-{i}"
                # A write refused during the election is retried by the client, as a user's would be.
                try:
                    wait_until(lambda: self.create(b, cm(name, "watched"), ns="watched").status == 201, 5,
                               f"create {name} to be accepted")
                    acked.append(name)
                except AssertionError:
                    pass  # never acknowledged, so not expected on the watch
            wait_until(lambda: len([e for e in w.events if e["type"] == "ADDED"]) >= len(acked), TIMEOUT,
                       "the watch to deliver every create")
        finally:
            w.close()
            for i in range(3):
                if self.etcd.procs[i] is None:
                    self.etcd.restart(i)
        added = [e["object"]["metadata"]["name"] for e in w.events if e["type"] == "ADDED"]
        self.assertEqual(added, acked, "every acknowledged create, once, in order")
        rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in w.events if e["type"] != "BOOKMARK"]
        self.assertEqual(rvs, sorted(rvs))
        self.assertEqual(len(rvs), len(set(rvs)))

    def test_4_controllers_move_when_the_leading_server_dies(self):
        a, b = self.a, self.b

        def holder():
            r = a.api.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/setpoint-controller-manager") \
                if a.alive() else b.api.get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/setpoint-controller-manager")
            return r.json()["spec"].get("holderIdentity", "") if r.status == 200 else ""

        first = wait_until(holder, TIMEOUT, "a controller-manager leader")
        leading, other = (a, b) if first.endswith(os.path.abspath(a.data_dir)) else (b, a)
        self.assertTrue(first.endswith(os.path.abspath(leading.data_dir)), first)
        leading.kill()
        killed_at = time.monotonic()
        wait_until(lambda: other.api.get(
            "/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/setpoint-controller-manager").json()["spec"].get(
            "holderIdentity", "").endswith(os.path.abspath(other.data_dir)), LEASE + 15, "the other server to lead")
        self.assertLess(time.monotonic() - killed_at, LEASE + 10)
        # Its garbage collector works: a dependent of a deleted owner goes.
        owner = other.api.post("/api/v1/namespaces/default/configmaps", cm("gc-owner")).json()
        self.assertEqual(other.api.post("/api/v1/namespaces/default/configmaps", cm("gc-dep", owner=owner)).status, 201)
        self.assertEqual(other.api.delete("/api/v1/namespaces/default/configmaps/gc-owner").status, 200)
        wait_until(lambda: other.api.get("/api/v1/namespaces/default/configmaps/gc-dep").status == 404, TIMEOUT,
                   "the dependent collected by the new leader")
        leading.start()


class MigrateTest(ServerTestCase):
    def test_5_migrate_sqlite_to_etcd_keeps_resource_versions_growing(self):
        if not etcd_cluster.available():
            self.skipTest("etcd-server is not installed")
        workdir = tempfile.mkdtemp(prefix="e2e-migrate-")
        etcd = etcd_cluster.EtcdCluster(workdir, members=1, name="target").start()
        src = Server("migrate-src", workdir=os.path.join(workdir, "src"), extra_args=["--no-agent"])
        self.server = src
        try:
            src.start()
            for i in range(50):
                self.assertEqual(src.api.post("/api/v1/namespaces/default/configmaps", cm(f"m-{i}")).status, 201)
            listed = src.api.get("/api/v1/namespaces/default/configmaps").json()
            high = int(listed["metadata"]["resourceVersion"])
            before = {i["metadata"]["name"]: i for i in listed["items"]}
            self.assertEqual(src.stop(), 0)
            r = subprocess.run([harness.binary(), "migrate", "--from", f"sqlite:{src.data_dir}", "--to", etcd.url()],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            dst = Server("migrate-dst", store=etcd.url(), workdir=os.path.join(workdir, "dst"), extra_args=["--no-agent"])
            self.server = dst
            dst.start()
            try:
                after = dst.api.get("/api/v1/namespaces/default/configmaps").json()
                self.assertEqual({i["metadata"]["name"] for i in after["items"]}, set(before))
                for item in after["items"]:
                    old = before[item["metadata"]["name"]]
                    self.assertEqual(item["metadata"]["uid"], old["metadata"]["uid"])
                    self.assertEqual(item["data"], old["data"])
                    self.assertGreater(int(item["metadata"]["resourceVersion"]), high,
                                       "time never goes backwards for a client that saw the old store")
                self.assertGreater(int(after["metadata"]["resourceVersion"]), high)
                # A watch from the old high-water mark is refused as too old (the client relists),
                # never answered with a history that did not happen.
                r = dst.api.get(f"/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={high}&timeoutSeconds=1")
                self.assertIn(r.status, (200, 410), r)
                w = dst.api.post("/api/v1/namespaces/default/configmaps", cm("after-migration"))
                self.assertEqual(w.status, 201)
                self.assertGreater(int(w.json()["metadata"]["resourceVersion"]), int(after["metadata"]["resourceVersion"]))
            finally:
                self.assertEqual(dst.stop(), 0)
                dst.cleanup()
        finally:
            src.cleanup()
            etcd.cleanup()
            remove_if_empty(workdir)


if __name__ == "__main__":
    harness.main()

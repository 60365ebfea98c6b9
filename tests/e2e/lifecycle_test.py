"""Object lifecycle end to end: the controller manager inside `setpoint server`, driven by real kubectl.

What upstream Kubernetes does, checked against the real binary (server state is read over raw
HTTP, so a kubectl quirk cannot hide a server bug):

  1. ownerReferences trees of a custom resource (gc.example.com Node: A owns B owns C, controller
     and blockOwnerDeletion set): background, foreground (also held by a finalizer on C) and
     orphan deletion through `kubectl delete --cascade=...`.
  2. namespace deletion: phase Terminating, the NamespaceContentRemaining and
     NamespaceFinalizersRemaining conditions while a custom resource's finalizer holds it, then
     the namespace and its ConfigMaps, Secrets and custom resources gone.
  3. CRD deletion: the Terminating condition, creates refused, custom resources first.
  4. a diamond (C owned by A and B): deleting one owner only removes its reference.
  5. an ownerReference across namespaces: the dependent is collected, with a Warning Event
     OwnerRefInvalidNamespace.
  6. an owner deleted while the collector is off: its dependents are collected when a server on
     the same data dir starts with it on (catch-up), and setpoint_gc_deleted_total counts them.

Cases 1-5 run once per kubectl version in KUBECTL_MINORS (each version in its own namespaces, on
one shared server); case 6 has a server of its own. Every wait is a poll with a deadline.
"""

import json
import os
import tempfile

import yaml

import harness
from harness import Kubectl, Server, ServerTestCase, install_crd, wait_until

# Every installed kubectl (1.27-1.33): all seven take about 25 s in total. Case 6 uses the oldest
# and the newest only.
KUBECTL_MINORS = harness.available_kubectl_minors()

GC_TIMEOUT = 30  # seconds for any controller to act; it normally takes well under one

SERVER = None

# The custom resource of cases 1, 2, 4 and 5: namespaced gc.example.com/v1 Node. kubectl is always
# given the qualified resource (node.gc.example.com): on a real cluster a bare `node` is the core Node.
NODE_API_VERSION = "gc.example.com/v1"
NODE = "node.gc.example.com"
NODE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "nodes.gc.example.com"},
    "spec": {
        "group": "gc.example.com",
        "scope": "Namespaced",
        "names": {"plural": "nodes", "singular": "node", "kind": "Node", "listKind": "NodeList"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "spec": {"type": "object", "properties": {"note": {"type": "string"}}}}}},
        }],
    },
}

FOREGROUND = "foregroundDeletion"
HOLD = "example.com/hold"


def setUpModule():
    global SERVER
    SERVER = Server("lifecycle")
    SERVER.start()
    install_crd(SERVER.api, NODE_CRD)


def tearDownModule():
    rc = SERVER.stop()
    if rc != 0:
        raise AssertionError(f"server exited {rc} on SIGTERM:\n{SERVER.log_tail()}")
    SERVER.cleanup()


def node(name, namespace, owners=None, finalizers=None, note=None):
    metadata = {"name": name, "namespace": namespace}
    if owners:
        metadata["ownerReferences"] = owners
    if finalizers:
        metadata["finalizers"] = finalizers
    return {"apiVersion": NODE_API_VERSION, "kind": "Node", "metadata": metadata,
            "spec": {"note": note or name}}


def owner_ref(owner, controller=True, block=True):
    ref = {"apiVersion": owner["apiVersion"], "kind": owner["kind"],
           "name": owner["metadata"]["name"], "uid": owner["metadata"]["uid"]}
    if controller is not None:
        ref["controller"] = controller
    if block is not None:
        ref["blockOwnerDeletion"] = block
    return ref


def refs_of(obj):
    return obj["metadata"].get("ownerReferences") or []


def finalizers_of(obj):
    return obj["metadata"].get("finalizers") or []


class Lifecycle:
    """Helpers shared by the kubectl scenarios and the catch-up test."""

    k = None
    api = None
    tmp = None

    def write_file(self, name, obj):
        fd, path = tempfile.mkstemp(prefix=name + "-", suffix=".yaml", dir=self.tmp)
        with os.fdopen(fd, "w") as f:
            if isinstance(obj, list):
                yaml.safe_dump_all(obj, f)
            else:
                yaml.safe_dump(obj, f)
        return path

    def kubectl_create(self, obj):
        """`kubectl create -f` of one object; returns what the server stored (uid included)."""
        path = self.write_file(obj["metadata"]["name"], obj)
        return json.loads(self.k.ok("create", "-f", path, "-o", "json", *self.k.validate_flags()))

    def kubectl_apply(self, objs):
        path = self.write_file("apply", objs)
        return self.k.ok("apply", "-f", path, *self.k.validate_flags())

    def create_namespaces(self, *names):
        # `kubectl create namespace` sends protobuf from 1.32 on; apply of a manifest sends JSON.
        out = self.kubectl_apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}
                                  for n in names])
        for n in names:
            assert f"namespace/{n} created" in out, out

    def unhold(self, resource, name, namespace):
        """Removes every finalizer, as the controller owning `example.com/hold` would."""
        self.k.ok("patch", resource, name, "-n", namespace, "--type", "json",
                  "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')

    def node_path(self, namespace, name=""):
        return f"/apis/gc.example.com/v1/namespaces/{namespace}/nodes" + (f"/{name}" if name else "")

    def fetch(self, path):
        """The object at `path`, or None on 404."""
        resp = self.api.get(path)
        if resp.status == 404:
            return None
        self.assertEqual(resp.status, 200, resp)
        return resp.json()

    def node_of(self, namespace, name):
        return self.fetch(self.node_path(namespace, name))

    def wait_gone(self, path, timeout=GC_TIMEOUT):
        wait_until(lambda: self.fetch(path) is None, timeout, f"{path} to be deleted")

    def wait_nodes_gone(self, namespace, *names):
        for name in names:
            self.wait_gone(self.node_path(namespace, name))

    def gc_barrier(self, namespace):
        """Evidence (not proof) that the collector has caught up: an owner ConfigMap created and
        deleted now must have its dependent collected. Work the collector queued for earlier
        events has then very likely been done too, so an object that survives this is one the
        collector decided to keep, not one it has not reached yet."""
        base = f"/api/v1/namespaces/{namespace}/configmaps"
        resp = self.api.post(base, {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"generateName": "barrier-owner-"}})
        self.assertEqual(resp.status, 201, resp)
        owner = resp.json()
        resp = self.api.post(base, {"apiVersion": "v1", "kind": "ConfigMap",
                                    "metadata": {"generateName": "barrier-dep-",
                                                 "ownerReferences": [owner_ref(owner)]}})
        self.assertEqual(resp.status, 201, resp)
        dependent = resp.json()["metadata"]["name"]
        self.assertEqual(self.api.delete(f"{base}/{owner['metadata']['name']}").status, 200)
        self.wait_gone(f"{base}/{dependent}")


class LifecycleScenario(Lifecycle):
    """The per-version scenario; concrete classes set `minor` (see the bottom of the file)."""

    minor = None

    @classmethod
    def setUpClass(cls):
        cls.server = SERVER
        cls.api = SERVER.api
        cls.tmp = tempfile.mkdtemp(prefix=f"lifecycle-1.{cls.minor}-", dir=SERVER.workdir)
        cls.k = Kubectl(cls.minor, SERVER)

    def ns(self, suffix):
        return f"lc1{self.minor}-{suffix}"

    def tree(self, namespace, c_finalizers=None):
        """A owns B owns C, each reference controller=true and blockOwnerDeletion=true."""
        self.create_namespaces(namespace)
        a = self.kubectl_create(node("a", namespace))
        b = self.kubectl_create(node("b", namespace, owners=[owner_ref(a)]))
        c = self.kubectl_create(node("c", namespace, owners=[owner_ref(b)], finalizers=c_finalizers))
        self.assertEqual(refs_of(b), [owner_ref(a)])
        self.assertEqual(refs_of(c), [owner_ref(b)])
        return a, b, c

    # ----- 1. ownerReferences trees -----

    def test_tree_background(self):
        ns = self.ns("bg")
        self.tree(ns)
        out = self.k.ok("delete", NODE, "a", "-n", ns)
        self.assertIn(f'{NODE} "a" deleted', out)
        # Background: the owner goes at once, without waiting for its dependents.
        self.assertIsNone(self.node_of(ns, "a"))
        self.wait_nodes_gone(ns, "b", "c")

    def test_tree_foreground(self):
        ns = self.ns("fg")
        self.tree(ns)
        out = self.k.ok("delete", NODE, "a", "-n", ns, "--cascade=foreground", timeout=GC_TIMEOUT + 30)
        self.assertIn(f'{NODE} "a" deleted', out)
        # kubectl waited for A to go; the collector deletes A's dependents before A.
        state = {n: self.node_of(ns, n) for n in ("a", "b", "c")}
        self.assertEqual(state, {"a": None, "b": None, "c": None},
                         "after a foreground delete of A returns, A, B and C are all gone")

    def test_tree_foreground_held_by_a_finalizer(self):
        ns = self.ns("fgheld")
        a, b, c = self.tree(ns, c_finalizers=[HOLD])
        out = self.k.ok("delete", NODE, "a", "-n", ns, "--cascade=foreground", "--wait=false")
        self.assertIn(f'{NODE} "a" deleted', out)
        a_now = self.node_of(ns, "a")
        self.assertIsNotNone(a_now, "a foreground delete must leave A until its dependents are gone")
        self.assertTrue(a_now["metadata"].get("deletionTimestamp"), a_now)
        self.assertIn(FOREGROUND, finalizers_of(a_now), a_now)

        def held():
            got = {n: self.node_of(ns, n) for n in ("a", "b", "c")}
            if not all(o and o["metadata"].get("deletionTimestamp") for o in got.values()):
                return None
            return got

        got = wait_until(held, GC_TIMEOUT, "A, B and C all being deleted, C held by its finalizer")
        # B has a dependent of its own, so the collector deletes it in the foreground too.
        self.assertIn(FOREGROUND, finalizers_of(got["b"]), got["b"])
        # C has no dependents: it is deleted in the background, only its own finalizer holds it.
        self.assertEqual(finalizers_of(got["c"]), [HOLD], got["c"])
        self.gc_barrier(ns)
        for name, before in got.items():
            now = self.node_of(ns, name)
            self.assertIsNotNone(now, f"{name} went while C is still held")
            self.assertEqual(now["metadata"]["uid"], before["metadata"]["uid"])
        self.assertIn(FOREGROUND, finalizers_of(self.node_of(ns, "a")))

        self.unhold(NODE, "c", ns)
        self.wait_nodes_gone(ns, "c", "b", "a")

    def test_tree_orphan(self):
        ns = self.ns("orphan")
        a, b, c = self.tree(ns)
        out = self.k.ok("delete", NODE, "a", "-n", ns, "--cascade=orphan", timeout=GC_TIMEOUT + 30)
        self.assertIn(f'{NODE} "a" deleted', out)
        self.assertIsNone(self.node_of(ns, "a"))
        b_now = self.node_of(ns, "b")
        self.assertIsNotNone(b_now, "an orphaned dependent must stay")
        self.assertEqual(refs_of(b_now), [], b_now)
        self.assertFalse(b_now["metadata"].get("deletionTimestamp"), b_now)
        self.gc_barrier(ns)
        b_later = self.node_of(ns, "b")
        self.assertIsNotNone(b_later, "the collector deleted an orphaned dependent")
        self.assertEqual(b_later["metadata"]["uid"], b["metadata"]["uid"])
        c_now = self.node_of(ns, "c")
        self.assertIsNotNone(c_now)
        self.assertEqual(refs_of(c_now), [owner_ref(b)], "C is still owned by B")
        self.assertEqual(c_now["metadata"]["resourceVersion"], c["metadata"]["resourceVersion"],
                         "C must not be touched by orphaning A")

    # ----- 2. namespace deletion -----

    def test_namespace_deletion(self):
        ns = self.ns("nsdel")
        self.create_namespaces(ns)
        objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm{i}", "namespace": ns},
                 "data": {"i": str(i)}} for i in range(3)]
        objs += [{"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s0", "namespace": ns},
                  "stringData": {"password": "hunter2"}}]
        objs += [node("free", ns), node("held", ns, finalizers=[HOLD])]
        self.kubectl_apply(objs)
        paths = [f"/api/v1/namespaces/{ns}/configmaps/cm{i}" for i in range(3)]
        paths += [f"/api/v1/namespaces/{ns}/secrets/s0", self.node_path(ns, "free"), self.node_path(ns, "held")]
        for p in paths:
            self.assertIsNotNone(self.fetch(p), p)

        out = self.k.ok("delete", "namespace", ns, "--wait=false")
        self.assertIn(f'namespace "{ns}" deleted', out)

        def conditions():
            got = self.fetch(f"/api/v1/namespaces/{ns}")
            conds = {c["type"]: c for c in got.get("status", {}).get("conditions", [])}
            content = conds.get("NamespaceContentRemaining", {})
            finalizers = conds.get("NamespaceFinalizersRemaining", {})
            if content.get("status") == "True" and finalizers.get("status") == "True" \
                    and "nodes.gc.example.com has 1 resource instances" in content.get("message", ""):
                return got, content, finalizers
            return None

        got, content, finalizers = wait_until(conditions, GC_TIMEOUT,
                                              "the namespace conditions naming what holds it")
        self.assertEqual(got["status"]["phase"], "Terminating", got)
        self.assertTrue(got["metadata"].get("deletionTimestamp"), got)
        self.assertEqual(content["reason"], "SomeResourcesRemain", content)
        self.assertEqual(finalizers["reason"], "SomeFinalizersRemain", finalizers)
        self.assertIn(f"{HOLD} in 1 resource instances", finalizers.get("message", ""), finalizers)
        # No new content in a terminating namespace (upstream: 403 from the NamespaceLifecycle plugin).
        resp = self.api.post(f"/api/v1/namespaces/{ns}/configmaps",
                             {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "late"}})
        self.assertStatus(resp, 403, reason="Forbidden", message_contains="because it is being terminated")
        out = self.k.ok("get", "namespace", ns, "--no-headers")
        self.assertEqual(out.split()[:2], [ns, "Terminating"], out)
        # Everything without a finalizer is gone; the held Node is being deleted.
        for p in paths[:-1]:
            self.wait_gone(p)
        held = self.node_of(ns, "held")
        self.assertTrue(held["metadata"].get("deletionTimestamp"), held)
        self.assertIsNotNone(self.fetch(f"/api/v1/namespaces/{ns}"), "the namespace went while content is held")

        self.unhold(NODE, "held", ns)

        def gone():
            rc, out, err = self.k.run("get", "namespace", ns)
            return rc != 0 and f'namespaces "{ns}" not found' in err

        wait_until(gone, GC_TIMEOUT, f"kubectl get namespace {ns} to say NotFound")
        for p in paths:
            self.assertIsNone(self.fetch(p), p)

    # ----- 3. CRD deletion -----

    def test_crd_deletion(self):
        group = f"v1{self.minor}.crd.example.com"
        name = f"gadgets.{group}"
        resource = f"gadget.{group}"
        ns = self.ns("crddel")
        crd = {
            "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": name},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget",
                               "listKind": "GadgetList"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {"type": "object",
                                                                  "x-kubernetes-preserve-unknown-fields": True}}}]},
        }
        self.create_namespaces(ns)
        self.kubectl_apply([crd])
        self.k.ok("wait", "--for", "condition=Established", f"crd/{name}", "--timeout=30s")

        def gadget(n, finalizers=None):
            meta = {"name": n, "namespace": ns}
            if finalizers:
                meta["finalizers"] = finalizers
            return {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": meta, "spec": {"n": n}}

        self.kubectl_apply([gadget("held", [HOLD]), gadget("free")])
        base = f"/apis/{group}/v1/namespaces/{ns}/gadgets"

        out = self.k.ok("delete", "crd", name, "--wait=false")
        self.assertIn(f'customresourcedefinition.apiextensions.k8s.io "{name}" deleted', out)

        def terminating():
            got = self.fetch(f"{harness.CRDS}/{name}")
            for c in got.get("status", {}).get("conditions", []):
                if c["type"] == "Terminating" and c["status"] == "True":
                    return got
            return None

        got = wait_until(terminating, GC_TIMEOUT, f"CRD {name} condition Terminating=True")
        self.assertTrue(got["metadata"].get("deletionTimestamp"), got)
        self.assertIn("customresourcecleanup.apiextensions.k8s.io", finalizers_of(got), got)

        path = self.write_file("new-gadget", gadget("new"))
        rc, out, err = self.k.run("create", "-f", path, *self.k.validate_flags())
        self.assertNotEqual(rc, 0, f"a create while the CRD is terminating succeeded: {out}")
        self.assertIn("Error from server (MethodNotAllowed)", err)
        self.assertIn("create not allowed while custom resource definition is terminating", err)
        self.assertIsNone(self.fetch(f"{base}/new"))

        # The custom resources go first; the finalizer holds one and with it the CRD.
        self.wait_gone(f"{base}/free")
        held = self.fetch(f"{base}/held")
        self.assertTrue(held["metadata"].get("deletionTimestamp"), held)
        self.assertIsNotNone(self.fetch(f"{harness.CRDS}/{name}"), "the CRD went while a custom resource is held")

        self.unhold(resource, "held", ns)

        def gone():
            rc, out, err = self.k.run("get", "crd", name)
            return rc != 0 and "NotFound" in err

        wait_until(gone, GC_TIMEOUT, f"kubectl get crd {name} to say NotFound")
        self.assertIsNone(self.fetch(f"{base}/held"))

    # ----- 4. diamond -----

    def test_diamond(self):
        ns = self.ns("diamond")
        self.create_namespaces(ns)
        a = self.kubectl_create(node("a", ns))
        b = self.kubectl_create(node("b", ns))
        ref_a, ref_b = owner_ref(a, controller=False, block=None), owner_ref(b, controller=False, block=None)
        self.kubectl_create(node("c", ns, owners=[ref_a, ref_b]))

        self.k.ok("delete", NODE, "a", "-n", ns)

        def only_b_left():
            c = self.node_of(ns, "c")
            return c if c is not None and refs_of(c) == [ref_b] else None

        wait_until(only_b_left, GC_TIMEOUT, "C's reference to A to be removed, B's kept")
        self.gc_barrier(ns)
        c = self.node_of(ns, "c")
        self.assertIsNotNone(c, "C still has an owner and must stay")
        self.assertFalse(c["metadata"].get("deletionTimestamp"), c)
        self.assertEqual(refs_of(c), [ref_b])

        self.k.ok("delete", NODE, "b", "-n", ns)
        self.wait_nodes_gone(ns, "c")

    # ----- 5. an owner in another namespace -----

    def test_owner_in_another_namespace(self):
        ns1, ns2 = self.ns("xown"), self.ns("xdep")
        self.create_namespaces(ns1, ns2)
        owner = self.kubectl_create(node("owner", ns1))
        dep = self.kubectl_create(node("dep", ns2, owners=[owner_ref(owner)]))
        self.wait_nodes_gone(ns2, "dep")
        self.assertIsNotNone(self.node_of(ns1, "owner"), "the owner must not be touched")

        def warning():
            out = self.k.ok("get", "events", "-n", ns2, "-o", "json",
                            "--field-selector", "reason=OwnerRefInvalidNamespace")
            items = json.loads(out)["items"]
            return [e for e in items if e["involvedObject"].get("name") == "dep"] or None

        events = wait_until(warning, GC_TIMEOUT, "a Warning Event OwnerRefInvalidNamespace about dep")
        event = events[0]
        self.assertEqual(event["type"], "Warning", event)
        self.assertEqual(event["reason"], "OwnerRefInvalidNamespace", event)
        self.assertEqual(event["involvedObject"].get("uid"), dep["metadata"]["uid"], event)
        self.assertEqual(event["involvedObject"].get("kind"), "Node", event)
        self.assertIn(owner["metadata"]["uid"], event.get("message", ""), event)


class GarbageCollectorCatchUpTest(Lifecycle, ServerTestCase):
    """6. Dependents of an owner deleted while the collector is off are collected on restart."""

    @classmethod
    def setUpClass(cls):
        # Every other controller stays on ("*"): kube-controller-manager's `-garbagecollector`
        # alone would turn them all off.
        cls.server = Server("lifecycle-catchup", store="sqlite", extra_args=["--controllers=*,-garbagecollector"])
        cls.server.start()
        cls.api = cls.server.api
        cls.tmp = tempfile.mkdtemp(prefix="catchup-", dir=cls.server.workdir)

    @classmethod
    def tearDownClass(cls):
        cls.stop_server_cleanly()

    def test_dependents_collected_after_restart(self):
        if not KUBECTL_MINORS:
            self.skipTest(f"no kubectl in {harness.KUBECTL_DIR}")
        self.assertIsNone(self.api.metric("setpoint_gc_deleted_total"), "the collector runs although it is off")
        dependents = []  # API paths of the dependents
        for minor in sorted({KUBECTL_MINORS[0], KUBECTL_MINORS[-1]}):
            self.k = Kubectl(minor, self.server)
            ns = f"catchup1{minor}"
            self.create_namespaces(ns)
            owner = self.kubectl_create({"apiVersion": "v1", "kind": "ConfigMap",
                                         "metadata": {"name": "owner", "namespace": ns}})
            for i in range(2):
                self.kubectl_create({"apiVersion": "v1", "kind": "ConfigMap",
                                     "metadata": {"name": f"dep{i}", "namespace": ns,
                                                  "ownerReferences": [owner_ref(owner)]}})
                dependents.append(f"/api/v1/namespaces/{ns}/configmaps/dep{i}")
            self.kubectl_create({"apiVersion": "v1", "kind": "Secret",
                                 "metadata": {"name": "dep", "namespace": ns,
                                              "ownerReferences": [owner_ref(owner)]},
                                 "stringData": {"k": "v"}})
            dependents.append(f"/api/v1/namespaces/{ns}/secrets/dep")
            out = self.k.ok("delete", "configmap", "owner", "-n", ns)
            self.assertIn('configmap "owner" deleted', out)
            self.assertIsNone(self.fetch(f"/api/v1/namespaces/{ns}/configmaps/owner"))

        # The other controllers run: a namespace deletion completes. The dependents stay.
        self.create_namespaces("catchup-probe")
        self.k.ok("delete", "namespace", "catchup-probe", "--wait=false")
        wait_until(lambda: self.fetch("/api/v1/namespaces/catchup-probe") is None, GC_TIMEOUT,
                   "the namespace controller to finish a deletion")
        for p in dependents:
            self.assertIsNotNone(self.fetch(p), f"{p} went with the collector off")

        self.assertEqual(self.server.stop(), 0, self.server.log_tail())
        self.server.extra_args = [a for a in self.server.extra_args if not a.startswith("--controllers")]
        self.server.start()
        for p in dependents:
            self.wait_gone(p)
        wait_until(lambda: (self.api.metric("setpoint_gc_deleted_total") or 0) >= len(dependents),
                   GC_TIMEOUT, f"setpoint_gc_deleted_total >= {len(dependents)}")


def _define_version_classes():
    for minor in KUBECTL_MINORS:
        name = f"Lifecycle1_{minor}Test"
        globals()[name] = type(name, (LifecycleScenario, ServerTestCase), {"minor": minor})


_define_version_classes()

if __name__ == "__main__":
    harness.main()

"""The Debian python3-kubernetes client (22.6) against setpoint: CRUD through the dynamic client
and through the typed CoreV1Api (ConfigMap, Secret),
list-then-watch without gaps or repeats (also across a graceful restart and a crash), 410 on a
compacted resourceVersion, pagination, the error codes, and the WatchList protocol.
"""

import json
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request

from kubernetes import client, config, dynamic, watch
from kubernetes.client.rest import ApiException
from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, UnprocessibleEntityError

import harness
from harness import Server, ServerTestCase, create_namespace, install_crd, widget

GROUP, VERSION, PLURAL = "example.com", "v1", "widgets"
MERGE = "application/merge-patch+json"


def rv(obj):
    return int(obj["metadata"]["resourceVersion"])


class ClientFixture:
    """A started server with the Widget CRD, a namespace and python clients bound to it."""

    def __init__(self, name, namespace, extra_args=()):
        self.server = Server(name, extra_args=extra_args).start()
        self.namespace = namespace
        install_crd(self.server.api)
        create_namespace(self.server.api, namespace)
        self.connect()

    def connect(self):
        self.api_client = config.new_client_from_config(config_file=self.server.kubeconfig)
        self.custom = client.CustomObjectsApi(self.api_client)
        self.dyn = dynamic.DynamicClient(
            self.api_client, cache_file=os.path.join(self.server.workdir, "discovery.json"))
        self.widgets = self.dyn.resources.get(api_version=f"{GROUP}/{VERSION}", kind="Widget")

    # Writes through CustomObjectsApi; each returns the object dict the server answered with.
    def create(self, name, **kw):
        return self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, widget(name, self.namespace, **kw))

    def patch_size(self, name, size):
        return self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, PLURAL, name, {"spec": {"size": size}})

    def delete(self, name):
        return self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, name)

    def list(self, **kw):
        return self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, PLURAL, **kw)

    def stop(self):
        rc = self.server.stop()
        log = self.server.log_tail() if rc != 0 else ""
        self.server.cleanup()
        if rc != 0:
            raise AssertionError(f"server exited {rc} on SIGTERM; its log ends with:\n{log}")


class EventRecorder:
    """Write helpers that also record the watch event each write must produce, in order."""

    def __init__(self, fixture, label):
        self.fx = fixture
        self.labels = {"suite": label}
        self.expected = []  # (type, name, rv or None when the exact RV is not known)

    def create(self, name, size=1):
        obj = self.fx.create(name, size=size, labels=self.labels)
        self.expected.append(("ADDED", name, rv(obj)))
        return obj

    def patch(self, name, size):
        obj = self.fx.patch_size(name, size)
        self.expected.append(("MODIFIED", name, rv(obj)))
        return obj

    def delete(self, name):
        resp = self.fx.delete(name)
        # Upstream answers an immediate delete with the object at its deletion revision, or a Status.
        exact = rv(resp) if resp.get("kind") == "Widget" else None
        self.expected.append(("DELETED", name, exact))


def watch_events(fx, label, resource_version, until, timeout=30, on_first=None):
    """Watches with kubernetes.watch.Watch from resource_version until until(events) holds.

    Returns the (type, name, rv) events seen; stops early when the server ends the watch.
    """
    w = watch.Watch()
    events = []
    stream = w.stream(fx.custom.list_namespaced_custom_object, GROUP, VERSION, fx.namespace, PLURAL,
                      label_selector=f"suite={label}", resource_version=str(resource_version),
                      timeout_seconds=timeout, _request_timeout=timeout + 5)
    for event in stream:
        obj = event["raw_object"]
        events.append((event["type"], obj["metadata"]["name"], rv(obj)))
        if len(events) == 1 and on_first:
            on_first()
        if until(events):
            w.stop()
            break
    return events


def next_event(test, resp, what):
    """The next event on a raw watch response that is not a BOOKMARK; fails `test` if the stream ends."""
    while True:
        line = resp.readline()
        test.assertTrue(line, f"the stream ended before {what}")
        event = json.loads(line)
        if event["type"] != "BOOKMARK":
            return event


def count(n):
    return lambda events: len(events) >= n


class WatchAssertions:
    def assertEventsMatch(self, events, expected):
        """Same events in the same order; an expected RV of None is only checked for order."""
        self.assertEqual([(t, n) for t, n, _ in events], [(t, n) for t, n, _ in expected],
                         f"events {events}\nexpected {expected}")
        for (t, n, got), (_, _, want) in zip(events, expected):
            if want is not None:
                self.assertEqual(got, want, f"{t} {n}: {events}")
        rvs = [r for _, _, r in events]
        self.assertEqual(rvs, sorted(set(rvs)), f"RVs not strictly increasing: {events}")


class PythonClientTest(ServerTestCase, WatchAssertions):
    @classmethod
    def setUpClass(cls):
        cls.fx = ClientFixture("python", "py")
        cls.server = cls.fx.server
        cls.ns = cls.fx.namespace

    @classmethod
    def tearDownClass(cls):
        cls.fx.stop()

    def test_dynamic_client_crud(self):
        widgets = self.fx.widgets
        created = widgets.create(body=widget("crud", self.ns, 2, "red", {"suite": "crud"}), namespace=self.ns)
        self.assertEqual(created.metadata.name, "crud")
        self.assertEqual(created.metadata.generation, 1)
        self.assertTrue(created.metadata.uid)
        self.assertTrue(created.metadata.creationTimestamp)

        got = widgets.get(name="crud", namespace=self.ns)
        self.assertEqual(got.spec.size, 2)
        listed = widgets.get(namespace=self.ns, label_selector="suite=crud")
        self.assertEqual(listed.kind, "WidgetList")
        self.assertEqual([i.metadata.name for i in listed.items], ["crud"])

        body = got.to_dict()
        body["spec"]["size"] = 4
        replaced = widgets.replace(body=body, namespace=self.ns)
        self.assertEqual(replaced.spec.size, 4)
        self.assertEqual(replaced.metadata.generation, 2)
        self.assertGreater(int(replaced.metadata.resourceVersion), int(got.metadata.resourceVersion))

        patched = widgets.patch(name="crud", namespace=self.ns, body={"spec": {"color": "blue"}},
                                content_type=MERGE)
        self.assertEqual((patched.spec.size, patched.spec.color), (4, "blue"))

        status = widgets.status.patch(name="crud", namespace=self.ns,
                                      body={"status": {"replicas": 3}}, content_type=MERGE)
        self.assertEqual(status.status.replicas, 3)
        self.assertEqual(status.metadata.generation, 3)

        widgets.delete(name="crud", namespace=self.ns)
        with self.assertRaises(NotFoundError):
            widgets.get(name="crud", namespace=self.ns)

    def test_typed_core_client_configmaps_and_secrets(self):
        core = client.CoreV1Api(self.fx.api_client)
        cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="settings", labels={"suite": "core"}),
                                data={"mode": "fast"}, binary_data={"blob": "AAEC"})
        created = core.create_namespaced_config_map(self.ns, cm)
        self.assertEqual((created.data, created.binary_data), ({"mode": "fast"}, {"blob": "AAEC"}))
        self.assertIsNone(created.metadata.generation)
        self.assertTrue(created.metadata.uid)
        listed = core.list_namespaced_config_map(self.ns, label_selector="suite=core")
        self.assertEqual([i.metadata.name for i in listed.items], ["settings"])

        got = core.read_namespaced_config_map("settings", self.ns)
        got.data["mode"] = "safe"
        got.immutable = True
        replaced = core.replace_namespaced_config_map("settings", self.ns, got)
        self.assertEqual((replaced.data["mode"], replaced.immutable), ("safe", True))
        with self.assertRaises(ApiException) as cm_err:
            core.patch_namespaced_config_map("settings", self.ns, {"data": {"mode": "unsafe"}})
        self.assertEqual(cm_err.exception.status, 422)
        status = json.loads(cm_err.exception.body)
        self.assertEqual(status["details"]["causes"],
                         [{"reason": "FieldValueForbidden", "field": "data",
                           "message": "Forbidden: field is immutable when `immutable` is set"}])

        secret = client.V1Secret(metadata=client.V1ObjectMeta(name="creds"), type="kubernetes.io/basic-auth",
                                 string_data={"username": "admin", "password": "pw"})
        created = core.create_namespaced_secret(self.ns, secret)
        self.assertIsNone(created.string_data)
        self.assertEqual(created.data, {"username": "YWRtaW4=", "password": "cHc="})
        self.assertEqual(created.type, "kubernetes.io/basic-auth")
        with self.assertRaises(ApiException) as bad:
            core.create_namespaced_config_map(self.ns, client.V1ConfigMap(
                metadata=client.V1ObjectMeta(name="bad-key"), data={"no/slash": "x"}))
        self.assertEqual(bad.exception.status, 422)
        self.assertEqual(json.loads(bad.exception.body)["details"]["causes"][0]["field"], "data[no/slash]")
        core.delete_namespaced_secret("creds", self.ns)
        with self.assertRaises(ApiException) as gone:
            core.read_namespaced_secret("creds", self.ns)
        self.assertEqual(gone.exception.status, 404)

    def test_missing_is_404(self):
        with self.assertRaises(NotFoundError) as cm:
            self.fx.widgets.get(name="nope", namespace=self.ns)
        self.assertEqual(cm.exception.status, 404)
        status = json.loads(cm.exception.body)
        self.assertEqual((status["kind"], status["reason"], status["code"]), ("Status", "NotFound", 404))
        self.assertEqual(status["details"]["name"], "nope")
        self.assertIn('widgets.example.com "nope" not found', status["message"])

    def test_invalid_is_422(self):
        with self.assertRaises(UnprocessibleEntityError) as cm:
            self.fx.widgets.create(body=widget("invalid", self.ns, size=100), namespace=self.ns)
        status = json.loads(cm.exception.body)
        self.assertEqual((status["reason"], status["code"]), ("Invalid", 422))
        fields = [c.get("field") for c in status["details"]["causes"]]
        self.assertIn("spec.size", fields, status)

    def test_stale_update_is_409(self):
        self.fx.widgets.create(body=widget("stale", self.ns), namespace=self.ns)
        first = self.fx.widgets.get(name="stale", namespace=self.ns).to_dict()
        second = json.loads(json.dumps(first))
        first["spec"]["size"] = 3
        self.fx.widgets.replace(body=first, namespace=self.ns)
        second["spec"]["size"] = 4
        with self.assertRaises(ConflictError) as cm:
            self.fx.widgets.replace(body=second, namespace=self.ns)
        status = json.loads(cm.exception.body)
        self.assertEqual((status["reason"], status["code"]), ("Conflict", 409))
        self.assertIn("the object has been modified", status["message"])
        self.assertEqual(self.fx.widgets.get(name="stale", namespace=self.ns).spec.size, 3)

    def test_read_your_writes_right_after_each_write(self):
        # Writes are answered as soon as they are durable; whatever a client does next with the
        # answer (update with its resourceVersion, patch, get, delete) must see it — never a 404
        # or a spurious 409 because the server's cache is a moment behind.
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{self.ns}/{PLURAL}"
        failures = []

        def writer(t):
            for i in range(40):
                name = f"ryw-{t}-{i}"
                created = self.server.api.post(base, widget(name, self.ns, 1, "red", {"suite": "ryw"}))
                if created.status != 201:
                    failures.append((name, "create", created.status))
                    continue
                obj = created.json()
                obj["spec"]["size"] = 2
                updated = self.server.api.put(f"{base}/{name}", obj)
                if updated.status != 200:
                    failures.append((name, "update", updated.status, updated.body[:200]))
                    continue
                patched = self.server.api.patch(f"{base}/{name}", {"metadata": {"resourceVersion": updated.json()["metadata"]["resourceVersion"]}, "spec": {"size": 3}})
                if patched.status != 200:
                    failures.append((name, "patch", patched.status, patched.body[:200]))
                    continue
                got = self.server.api.get(f"{base}/{name}")
                if got.status != 200 or got.json()["spec"]["size"] != 3:
                    failures.append((name, "get", got.status))
                deleted = self.server.api.delete(f"{base}/{name}")
                if deleted.status != 200:
                    failures.append((name, "delete", deleted.status))

        threads = [threading.Thread(target=writer, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(failures, [])

    def test_concurrent_patches_without_rv_do_not_conflict(self):
        # A patch without metadata.resourceVersion is unconditional: the server re-reads and
        # re-applies on a write race, it never hands the client a 409.
        self.fx.create("contended")
        failures = []

        def patcher(t):
            for i in range(50):
                try:
                    self.fx.custom.patch_namespaced_custom_object(
                        GROUP, VERSION, self.ns, PLURAL, "contended",
                        {"metadata": {"annotations": {f"writer-{t}": str(i)}}})
                except ApiException as e:
                    failures.append((t, i, e.status))

        threads = [threading.Thread(target=patcher, args=(t,)) for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(len(failures), 0, f"{len(failures)} of 200 patches failed, e.g. {failures[:3]}")
        annotations = self.fx.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.ns, PLURAL, "contended")["metadata"]["annotations"]
        self.assertEqual({k: annotations[k] for k in annotations if k.startswith("writer-")},
                         {f"writer-{t}": "49" for t in range(4)})

    def test_list_then_watch_no_gaps_no_repeats(self):
        rec = EventRecorder(self.fx, "watch")
        rec.create("w-0")
        listing = self.fx.list(label_selector="suite=watch")
        self.assertEqual([i["metadata"]["name"] for i in listing["items"]], ["w-0"])
        list_rv = listing["metadata"]["resourceVersion"]
        # Writes between the list and the watch.
        rec.create("w-a")
        rec.patch("w-a", 2)
        rec.create("w-b")
        # Writes while the watch is open (started once the first event is delivered); the
        # watch ends at the ADDED of w-end, the writer's last write.
        errors = []

        def writer():
            try:
                for i in range(5):
                    rec.patch("w-b", i + 2)
                rec.delete("w-a")
                rec.create("w-c")
                rec.patch("w-0", 9)
                rec.create("w-end")
            except Exception as e:
                errors.append(e)

        thread = threading.Thread(target=writer)
        events = watch_events(self.fx, "watch", list_rv, on_first=thread.start,
                              until=lambda ev: ev[-1][:2] == ("ADDED", "w-end"))
        if thread.ident is None:
            self.fail(f"the watch from the list RV {list_rv} delivered no event: {events}")
        thread.join(30)
        self.assertFalse(errors, errors)
        self.assertEventsMatch(events, rec.expected[1:])
        # Nothing repeated later: the next event after a fresh write is that write.
        rec.create("w-sentinel")
        more = watch_events(self.fx, "watch", events[-1][2], until=count(1))
        self.assertEventsMatch(more, rec.expected[-1:])

    def test_label_change_moves_object_in_and_out_of_a_selector_watch(self):
        self.fx.create("mover", labels={"suite": "sel-in"})
        list_rv = self.fx.list(label_selector="suite=sel-in")["metadata"]["resourceVersion"]
        patch = lambda suite: self.fx.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.ns, PLURAL, "mover", {"metadata": {"labels": {"suite": suite}}})
        left = rv(patch("sel-out"))
        back = rv(patch("sel-in"))
        events = watch_events(self.fx, "sel-in", list_rv, until=count(2))
        self.assertEqual(events, [("DELETED", "mover", left), ("ADDED", "mover", back)])

    def test_noop_patch_writes_nothing(self):
        obj = self.fx.create("noop", size=2, labels={"suite": "noop"})
        same = self.fx.patch_size("noop", 2)
        self.assertEqual(rv(same), rv(obj), "a no-op patch must not bump the resourceVersion")
        sentinel = self.fx.create("noop-sentinel", labels={"suite": "noop"})
        events = watch_events(self.fx, "noop", rv(obj), until=count(1))
        self.assertEqual(events, [("ADDED", "noop-sentinel", rv(sentinel))])

    def test_dry_run_persists_nothing(self):
        obj = self.fx.create("dry", size=2, labels={"suite": "dry"})
        api = self.server.api
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{self.ns}/{PLURAL}"
        resp = api.post(path + "?dryRun=All", widget("dry-new", self.ns, labels={"suite": "dry"}))
        self.assertEqual(resp.status, 201, resp)
        self.assertEqual(resp.json()["metadata"]["name"], "dry-new")
        self.assertEqual(api.get(f"{path}/dry-new").status, 404)
        resp = api.patch(f"{path}/dry?dryRun=All", {"spec": {"size": 9}})
        self.assertEqual((resp.status, resp.json()["spec"]["size"]), (200, 9), resp)
        resp = api.delete(f"{path}/dry?dryRun=All")
        self.assertEqual(resp.status, 200, resp)
        self.assertEqual(self.fx.widgets.get(name="dry", namespace=self.ns).spec.size, 2)
        sentinel = self.fx.create("dry-sentinel", labels={"suite": "dry"})
        events = watch_events(self.fx, "dry", rv(obj), until=count(1))
        self.assertEqual(events, [("ADDED", "dry-sentinel", rv(sentinel))], "a dry run emitted events")

    def test_generate_name(self):
        body = widget("", self.ns)
        del body["metadata"]["name"]
        body["metadata"]["generateName"] = "gen-"
        names = {self.fx.widgets.create(body=body, namespace=self.ns).metadata.name for _ in range(3)}
        self.assertEqual(len(names), 3)
        for name in names:
            self.assertRegex(name, r"^gen-[a-z0-9]{5}$")

    def test_field_selector_and_delete_collection(self):
        for i in range(4):
            self.fx.create(f"coll-{i}", labels={"suite": "coll"})
        self.fx.create("coll-keep", labels={"suite": "coll", "keep": "yes"})
        picked = self.fx.list(field_selector="metadata.name=coll-2")
        self.assertEqual([i["metadata"]["name"] for i in picked["items"]], ["coll-2"])
        self.fx.widgets.delete(namespace=self.ns, label_selector="suite=coll,!keep")
        left = self.fx.list(label_selector="suite=coll")
        self.assertEqual([i["metadata"]["name"] for i in left["items"]], ["coll-keep"])

    def test_paginated_list_returns_every_object_once(self):
        names = [f"page-{i:02d}" for i in range(23)]
        for name in names:
            self.fx.create(name, labels={"suite": "page"})
        seen, token, pages, list_rvs = [], None, 0, set()
        while True:
            page = self.fx.widgets.get(namespace=self.ns, label_selector="suite=page", limit=5, _continue=token)
            pages += 1
            self.assertLessEqual(len(page.items), 5)
            seen += [i.metadata.name for i in page.items]
            list_rvs.add(page.metadata.resourceVersion)
            token = page.metadata["continue"]
            if not token:
                break
            self.assertLess(pages, 30, "pagination does not terminate")
        self.assertEqual(sorted(seen), names, "pages must hold every object exactly once")
        self.assertGreaterEqual(pages, 5)
        self.assertEqual(len(list_rvs), 1, f"every page reports the snapshot RV: {list_rvs}")

    def test_paginated_list_is_a_snapshot(self):
        names = [f"snap-{i}" for i in range(6)]
        for name in names:
            self.fx.create(name, labels={"suite": "snap"})
        first = self.fx.list(label_selector="suite=snap", limit=2)
        seen = [i["metadata"]["name"] for i in first["items"]]
        # Written after the first page: a continued list is served at the first page's RV.
        self.fx.create("snap-zz", labels={"suite": "snap"})
        self.fx.delete("snap-5")
        token = first["metadata"]["continue"]
        while token:
            page = self.fx.list(label_selector="suite=snap", limit=2, _continue=token)
            self.assertEqual(page["metadata"]["resourceVersion"], first["metadata"]["resourceVersion"])
            seen += [i["metadata"]["name"] for i in page["items"]]
            token = page["metadata"].get("continue")
        self.assertEqual(seen, names)

    def test_watchlist_ends_initial_events_with_a_bookmark(self):
        names = ["wl-a", "wl-b", "wl-c"]
        rvs = [rv(self.fx.create(n, labels={"suite": "watchlist"})) for n in names]
        query = urllib.parse.urlencode({
            "watch": "1", "sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
            "allowWatchBookmarks": "true", "resourceVersion": "", "labelSelector": "suite=watchlist"})
        url = (f"http://127.0.0.1:{self.server.port}/apis/{GROUP}/{VERSION}/namespaces/{self.ns}/"
               f"{PLURAL}?{query}")
        request = urllib.request.Request(url, headers={"Accept": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as resp:
            self.assertEqual(resp.status, 200)
            initial = []
            while True:
                line = resp.readline()
                self.assertTrue(line, f"stream ended before the initial-events-end bookmark: {initial}")
                event = json.loads(line)
                if event["type"] == "BOOKMARK":
                    meta = event["object"]["metadata"]
                    if meta.get("annotations", {}).get("k8s.io/initial-events-end") == "true":
                        bookmark = event
                        break
                    continue
                initial.append(event)
            self.assertEqual(sorted((e["type"], e["object"]["metadata"]["name"]) for e in initial),
                             [("ADDED", n) for n in names])
            self.assertEqual(bookmark["object"]["kind"], "Widget")
            self.assertGreaterEqual(int(bookmark["object"]["metadata"]["resourceVersion"]), max(rvs))
            # After the bookmark the stream is an ordinary watch.
            created = self.fx.create("wl-d", labels={"suite": "watchlist"})
            event = next_event(self, resp, "the event after the bookmark")
            self.assertEqual((event["type"], event["object"]["metadata"]["name"], rv(event["object"])),
                             ("ADDED", "wl-d", rv(created)))


    def test_partial_object_metadata_for_get_list_and_watch(self):
        """client-go's metadata client: Accept as=PartialObjectMetadata(List) gets metadata only."""
        full = self.fx.create("pom-a", labels={"suite": "pom"})
        self.fx.create("pom-b", labels={"suite": "pom"})
        base = f"http://127.0.0.1:{self.server.port}/apis/{GROUP}/{VERSION}/namespaces/{self.ns}/{PLURAL}"
        # What client-go sends: protobuf first (not served here, so skipped), then JSON.
        one = ("application/vnd.kubernetes.protobuf;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,"
               "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json")
        many = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"

        def fetch(path, accept):
            req = urllib.request.Request(base + path, headers={"Accept": accept})
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())

        got = fetch("/pom-a", one)
        self.assertEqual((got["kind"], got["apiVersion"]), ("PartialObjectMetadata", "meta.k8s.io/v1"))
        self.assertEqual(got["metadata"], full["metadata"])
        self.assertNotIn("spec", got)
        # A paginated list: every page is a PartialObjectMetadataList.
        page = fetch("?labelSelector=suite%3Dpom&limit=1", many)
        self.assertEqual((page["kind"], page["apiVersion"]), ("PartialObjectMetadataList", "meta.k8s.io/v1"))
        self.assertEqual([i["kind"] for i in page["items"]], ["PartialObjectMetadata"])
        names = [i["metadata"]["name"] for i in page["items"]]
        rest = fetch("?labelSelector=suite%3Dpom&limit=1&continue=" +
                     urllib.parse.quote(page["metadata"]["continue"]), many)
        names += [i["metadata"]["name"] for i in rest["items"]]
        self.assertEqual(names, ["pom-a", "pom-b"])
        self.assertTrue(all("spec" not in i for i in page["items"] + rest["items"]))
        # The wrong rendering for the verb is refused with 406, as kube-apiserver does.
        for path, accept in (("", one.split(",")[1]), ("/pom-a", many.split(",")[0])):
            with self.assertRaises(urllib.error.HTTPError) as err:
                fetch(path, accept)
            self.assertEqual(err.exception.code, 406)
            self.assertEqual(json.loads(err.exception.read())["reason"], "NotAcceptable")
        # A watch: events carry PartialObjectMetadata, bookmarks too.
        query = urllib.parse.urlencode({"watch": "1", "labelSelector": "suite=pom", "allowWatchBookmarks": "true",
                                        "resourceVersion": page["metadata"]["resourceVersion"]})
        req = urllib.request.Request(f"{base}?{query}", headers={"Accept": one})
        with urllib.request.urlopen(req, timeout=30) as resp:
            patched = self.fx.patch_size("pom-a", 9)
            event = next_event(self, resp, "the metadata watch's event")
            self.assertEqual(event["type"], "MODIFIED")
            self.assertEqual(event["object"]["kind"], "PartialObjectMetadata")
            self.assertEqual(event["object"]["metadata"], patched["metadata"])
            self.assertNotIn("spec", event["object"])


class RestartWatchTest(ServerTestCase, WatchAssertions):
    """A watch resumed from the last RV seen before a restart gets every later event once."""

    @classmethod
    def setUpClass(cls):
        cls.fx = ClientFixture("restart", "restart")
        cls.server = cls.fx.server

    @classmethod
    def tearDownClass(cls):
        cls.fx.stop()

    def resume_across(self, label, bring_down):
        rec = EventRecorder(self.fx, label)
        list_rv = self.fx.list(label_selector=f"suite={label}")["metadata"]["resourceVersion"]
        rec.create(f"{label}-a")
        rec.create(f"{label}-b")
        seen = watch_events(self.fx, label, list_rv, until=count(2))
        self.assertEventsMatch(seen, rec.expected)
        last_seen = seen[-1][2]
        mark = len(rec.expected)
        # Written just before the server goes down: acknowledged, so they must survive.
        rec.patch(f"{label}-a", 5)
        rec.delete(f"{label}-b")
        rec.create(f"{label}-c")
        bring_down()
        self.fx.server.start()
        self.fx.connect()
        rec.patch(f"{label}-c", 7)
        rec.create(f"{label}-d")
        expected = rec.expected[mark:]
        events = watch_events(self.fx, label, last_seen, until=count(len(expected)))
        self.assertEventsMatch(events, expected)
        rec.create(f"{label}-sentinel")
        more = watch_events(self.fx, label, events[-1][2], until=count(1))
        self.assertEventsMatch(more, rec.expected[-1:])

    def test_watch_resumes_across_graceful_restart(self):
        def graceful():
            self.assertEqual(self.fx.server.stop(), 0, "SIGTERM must end the server with exit code 0")
        self.resume_across("graceful", graceful)

    def test_watch_resumes_across_crash(self):
        self.resume_across("crash", self.fx.server.kill)


class CompactionTest(ServerTestCase):
    """With --history-max-events 10, a watch from an RV 50 writes back must get 410 Expired."""

    @classmethod
    def setUpClass(cls):
        cls.fx = ClientFixture("compaction", "compact", extra_args=["--history-max-events", "10"])
        cls.server = cls.fx.server

    @classmethod
    def tearDownClass(cls):
        cls.fx.stop()

    def test_watch_from_compacted_rv_is_410(self):
        first = rv(self.fx.create("compacted", size=1, labels={"suite": "compact"}))
        for i in range(50):
            self.fx.patch_size("compacted", i % 10 + 1)
        w = watch.Watch()
        with self.assertRaises(ApiException) as cm:
            for event in w.stream(self.fx.custom.list_namespaced_custom_object, GROUP, VERSION,
                                  self.fx.namespace, PLURAL, resource_version=str(first),
                                  timeout_seconds=10, _request_timeout=20):
                self.fail(f"expected 410, got event {event['type']}")
        self.assertEqual(cm.exception.status, 410)
        # The raw stream: 200 then an ERROR event, or a 410 Status answer.
        resp = self.server.api.get(f"/apis/{GROUP}/{VERSION}/namespaces/{self.fx.namespace}/{PLURAL}"
                                   f"?watch=true&resourceVersion={first}&timeoutSeconds=5")
        if resp.status == 200:
            event = json.loads(resp.body.splitlines()[0])
            self.assertEqual(event["type"], "ERROR", resp)
            status = event["object"]
        else:
            status = resp.json()
            self.assertEqual(resp.status, 410)
        self.assertEqual((status["kind"], status["code"], status["reason"]), ("Status", 410, "Expired"))

    def test_watch_from_a_fresh_list_still_works(self):
        for i in range(20):
            self.fx.create(f"fresh-{i}", labels={"suite": "fresh"})
        list_rv = self.fx.list(label_selector="suite=fresh")["metadata"]["resourceVersion"]
        created = self.fx.create("fresh-last", labels={"suite": "fresh"})
        events = watch_events(self.fx, "fresh", list_rv, until=count(1))
        self.assertEqual(events, [("ADDED", "fresh-last", rv(created))])


NS_LAG = "lag"


class LaggingCacheTest(ServerTestCase):
    """The server's watch cache is made to lag the store by 20 ms (a test-only flag), as it can
    under load: every answer must still be judged against the newest version of the object."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("lagging-cache", extra_args=["--test-cache-delay-ms", "20"]).start()
        install_crd(cls.server.api)
        create_namespace(cls.server.api, NS_LAG)

    @classmethod
    def tearDownClass(cls):
        cls.stop_server_cleanly()

    def test_flip_flop_patches_are_never_lost(self):
        # A patch that undoes the previous one, sent right after it was answered: if the server
        # judged it against a cache that had not applied the first patch yet, it would look like a
        # no-op and be dropped.
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{NS_LAG}/{PLURAL}"
        self.assertEqual(self.server.api.post(base, widget("flip", NS_LAG, 1, "red", {"state": "a"})).status, 201)
        # Pipelined on one keep-alive connection: the second patch is read the moment the first
        # is answered, the tightest a client can make the race.
        sock = socket.create_connection(("127.0.0.1", self.server.port), timeout=30)
        reader = sock.makefile("rb")

        def patch_request(state):
            body = json.dumps({"metadata": {"labels": {"state": state}}}).encode()
            return (f"PATCH {base}/flip HTTP/1.1\r\nHost: x\r\nContent-Type: application/merge-patch+json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n").encode() + body

        def read_response():
            status = int(reader.readline().split()[1])
            length = 0
            while True:
                line = reader.readline().strip()
                if not line:
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            return status, json.loads(reader.read(length))

        try:
            for i in range(25):
                sock.sendall(patch_request("b") + patch_request("a"))
                for state in ("b", "a"):
                    status, obj = read_response()
                    self.assertEqual(status, 200, obj)
                    self.assertEqual(obj["metadata"]["labels"]["state"], state, f"round {i}")
                got = self.server.api.get(f"{base}/flip").json()
                self.assertEqual(got["metadata"]["labels"]["state"], "a", f"round {i}: the undo was lost")
        finally:
            sock.close()

    def test_read_your_writes_and_stale_versions(self):
        base = f"/apis/{GROUP}/{VERSION}/namespaces/{NS_LAG}/{PLURAL}"
        api = self.server.api
        created = api.post(base, widget("ryw", NS_LAG, 1))
        self.assertEqual(created.status, 201, created)
        first = created.json()
        second = dict(first, spec=dict(first["spec"], size=2))
        updated = api.put(f"{base}/ryw", second)  # right after the create: not a 404
        self.assertEqual(updated.status, 200, updated)
        # The first version again, unchanged: the object moved on, so this is a conflict, not a no-op.
        stale = api.put(f"{base}/ryw", first)
        self.assertStatus(stale, 409, "Conflict")
        self.assertEqual(api.get(f"{base}/ryw").json()["spec"]["size"], 2)
        self.assertEqual(api.delete(f"{base}/ryw").status, 200)
        self.assertEqual(api.get(f"{base}/ryw").status, 404)


if __name__ == "__main__":
    harness.main()

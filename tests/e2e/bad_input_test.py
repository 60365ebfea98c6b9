"""Hostile and malformed requests over raw HTTP. Each must get a Kubernetes Status with the right
code and reason, and the server must stay up and keep serving normal requests afterwards.
"""

import json
import socket
import time

import harness
from harness import Server, ServerTestCase, create_namespace, install_crd, wait_until, widget

NS = "bad"
# Free-form spec: where a number out of double range used to be taken and stored.
GIZMO_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "gizmos.example.com"},
    "spec": {"group": "example.com", "scope": "Namespaced",
             "names": {"plural": "gizmos", "singular": "gizmo", "kind": "Gizmo", "listKind": "GizmoList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                               "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]},
}
WIDGETS = f"/apis/example.com/v1/namespaces/{NS}/widgets"


class BadInputTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("bad-input").start()
        cls.api = cls.server.api
        install_crd(cls.api)
        create_namespace(cls.api, NS)

    @classmethod
    def tearDownClass(cls):
        cls.stop_server_cleanly()

    def tearDown(self):
        self.assertTrue(self.server.alive(), "the server died")

    def existing(self, name):
        resp = self.api.post(WIDGETS, widget(name, NS))
        self.assertEqual(resp.status, 201, resp)
        return resp.json()

    def current_rv(self):
        return int(self.api.get(WIDGETS).json()["metadata"]["resourceVersion"])

    # ----- bodies -----

    def test_invalid_json_is_400(self):
        resp = self.api.post(WIDGETS, '{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {')
        self.assertStatus(resp, 400, "BadRequest")

    def test_invalid_yaml_is_400(self):
        resp = self.api.post(WIDGETS, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: [x\n  - :\n",
                             content_type="application/yaml")
        self.assertStatus(resp, 400, "BadRequest")

    def test_yaml_body_is_accepted(self):
        body = "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: from-yaml\nspec:\n  size: 3\n"
        resp = self.api.post(WIDGETS, body, content_type="application/yaml")
        self.assertEqual(resp.status, 201, resp)
        self.assertEqual(resp.json()["spec"]["size"], 3)

    def test_unknown_field_strict_is_400(self):
        body = widget("strict", NS, spec_extra={"bogus": 1})
        resp = self.api.post(WIDGETS + "?fieldValidation=Strict", body)
        status = self.assertStatus(resp, 400, "BadRequest", "strict decoding error")
        self.assertIn('unknown field "spec.bogus"', status["message"])
        self.assertEqual(self.api.get(f"{WIDGETS}/strict").status, 404)

    def test_duplicate_field_strict_is_400(self):
        body = ('{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"dup"},'
                '"spec":{"size":1,"size":2}}')
        resp = self.api.post(WIDGETS + "?fieldValidation=Strict", body)
        self.assertStatus(resp, 400, "BadRequest", "duplicate field")

    def test_unknown_field_warn_sets_warning_header(self):
        body = widget("warned", NS, spec_extra={"bogus": 1})
        resp = self.api.post(WIDGETS + "?fieldValidation=Warn", body)
        self.assertEqual(resp.status, 201, resp)
        warning = resp.header("Warning")
        self.assertIsNotNone(warning, f"no Warning header in {resp.headers}")
        self.assertTrue(warning.startswith("299 "), warning)
        self.assertIn('unknown field \\"spec.bogus\\"', warning)
        self.assertNotIn("bogus", resp.json()["spec"], "unknown fields are pruned")

    def test_a_field_name_cannot_split_the_response_headers(self):
        # The warning quotes the unknown field's name, which the client chose: a CR LF in it must
        # not end the header and start one of the client's own (as Go's net/http, it becomes a space).
        body = widget("split", NS, spec_extra={"a\r\nX-Injected: 1": 1})
        payload = json.dumps(body).encode()
        request = (f"POST {WIDGETS}?fieldValidation=Warn HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                   f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n").encode() + payload
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            s.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        head = data.partition(b"\r\n\r\n")[0].split(b"\r\n")
        self.assertTrue(head[0].startswith(b"HTTP/1.1 201"), head[0])
        names = [line.split(b":")[0].lower() for line in head[1:]]
        self.assertNotIn(b"x-injected", names, head)
        warning = [line for line in head if line.lower().startswith(b"warning:")]
        self.assertEqual(len(warning), 1, head)
        self.assertIn(b"X-Injected: 1", warning[0])

    def test_invalid_names_are_422(self):
        for name in ("Bad_Name", "-leading-dash", "a" * 254, "dots..twice"):
            with self.subTest(name=name):
                resp = self.api.post(WIDGETS, widget(name, NS))
                self.assertStatus(resp, 422, "Invalid", "metadata.name")

    def test_bad_labels_are_422(self):
        for labels in ({"app": "not valid!"}, {"app": "x" * 64}, {"-bad-key": "v"}, {"a/b/c": "v"}):
            with self.subTest(labels=labels):
                resp = self.api.post(WIDGETS, widget("labels", NS, labels=labels))
                self.assertStatus(resp, 422, "Invalid", "metadata.labels")

    def test_huge_body_is_413(self):
        body = json.dumps(widget("huge", NS, spec_extra={"padding": "x" * (4 * 1024 * 1024)})).encode()
        conn = self.api.connection(timeout=60)
        try:
            conn.putrequest("POST", WIDGETS)
            conn.putheader("Content-Type", "application/json")
            conn.putheader("Content-Length", str(len(body)))
            conn.endheaders()
            try:
                conn.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server may answer and close before reading the whole body
            resp = conn.getresponse()
            answer = harness.Response(resp.status, resp.getheaders(), resp.read())
        finally:
            conn.close()
        self.assertStatus(answer, 413, "RequestEntityTooLarge")

    def test_deeply_nested_json_is_400(self):
        nested = "1"
        for _ in range(200):
            nested = '{"a":' + nested + "}"
        body = ('{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"deep"},'
                '"spec":{"size":1,"deep":' + nested + "}}")
        resp = self.api.post(WIDGETS, body)
        self.assertStatus(resp, 400, "BadRequest")

    def test_body_namespace_must_match_url(self):
        resp = self.api.post(WIDGETS, widget("elsewhere", "default"))
        self.assertStatus(resp, 400, "BadRequest", "does not match the namespace")

    def test_protobuf_body_is_415(self):
        resp = self.api.post(WIDGETS, b"k8s\x00\n\x0f\n\x02v1\x12\tNamespace",
                             content_type="application/vnd.kubernetes.protobuf")
        self.assertStatus(resp, 415, "UnsupportedMediaType")

    # ----- paths and query parameters -----

    def test_unknown_resource_is_404(self):
        for path in (f"/apis/example.com/v1/namespaces/{NS}/gadgets",
                     "/apis/nope.example.com/v1/things", "/api/v1/namespaces/default/pods"):
            with self.subTest(path=path):
                self.assertStatus(self.api.get(path), 404, "NotFound")

    def test_bad_label_selector_is_400(self):
        for selector in ("a%20in%20(", "a%3D%3D%3Db", "!"):
            with self.subTest(selector=selector):
                self.assertStatus(self.api.get(f"{WIDGETS}?labelSelector={selector}"), 400, "BadRequest")

    def test_bad_field_selector_is_400(self):
        for selector in ("spec.size%3D3", "metadata.name"):
            with self.subTest(selector=selector):
                self.assertStatus(self.api.get(f"{WIDGETS}?fieldSelector={selector}"), 400, "BadRequest")

    def test_non_numeric_resource_version_is_400(self):
        for query in ("resourceVersion=abc", "watch=true&resourceVersion=abc"):
            with self.subTest(query=query):
                self.assertStatus(self.api.get(f"{WIDGETS}?{query}", timeout=10), 400, "BadRequest")

    def test_boolean_query_values_parse_like_upstream(self):
        # Upstream reads a bool query parameter as false only for "0" or "false" (any case);
        # the Python client sends watch=True.
        self.existing("booleans")
        rv = self.current_rv()
        for value, is_watch in (("true", True), ("True", True), ("1", True), ("TRUE", True),
                                ("false", False), ("False", False), ("0", False)):
            with self.subTest(watch=value):
                resp = self.api.get(f"{WIDGETS}?watch={value}&resourceVersion={rv - 1}&timeoutSeconds=1")
                self.assertEqual(resp.status, 200, resp)
                first = json.loads(resp.body.splitlines()[0])
                if is_watch:
                    self.assertIn(first.get("type"), ("ADDED", "MODIFIED"), resp)
                else:
                    self.assertEqual(first.get("kind"), "WidgetList", resp)

    def test_negative_limit_is_400(self):
        self.assertStatus(self.api.get(f"{WIDGETS}?limit=-1"), 400, "BadRequest")

    def test_future_resource_version_on_list_is_504(self):
        future = self.current_rv() + 1000
        started = time.monotonic()
        resp = self.api.get(f"{WIDGETS}?resourceVersion={future}&resourceVersionMatch=NotOlderThan", timeout=30)
        elapsed = time.monotonic() - started
        status = self.assertStatus(resp, 504, "Timeout")
        self.assertIn("ResourceVersionTooLarge", [c.get("reason") for c in status["details"].get("causes", [])],
                      status)
        self.assertTrue(2.0 <= elapsed <= 15.0, f"answered after {elapsed:.1f}s, upstream waits ~3s")

    def test_future_resource_version_on_watch_is_504(self):
        future = self.current_rv() + 1000
        started = time.monotonic()
        resp = self.api.get(f"{WIDGETS}?watch=true&resourceVersion={future}&timeoutSeconds=20", timeout=30)
        elapsed = time.monotonic() - started
        if resp.status == 200:  # an ERROR event on an open stream is acceptable too
            event = json.loads(resp.body.splitlines()[0])
            self.assertEqual(event["type"], "ERROR", resp)
            status = event["object"]
        else:
            status = self.assertStatus(resp, 504)
        self.assertEqual((status["code"], status["reason"]), (504, "Timeout"), status)
        self.assertTrue(2.0 <= elapsed <= 15.0, f"answered after {elapsed:.1f}s, upstream waits ~3s")

    # ----- numbers no double holds, on every decode path (issue: 1e400 was stored, then served as
    # the non-JSON token Infinity) -----

    def test_out_of_range_numbers_are_400_on_every_decode_path(self):
        install_crd(self.api, GIZMO_CRD)
        gizmos = f"/apis/example.com/v1/namespaces/{NS}/gizmos"
        configmaps = f"/api/v1/namespaces/{NS}/configmaps"
        made = self.api.post(gizmos, {"apiVersion": "example.com/v1", "kind": "Gizmo",
                                       "metadata": {"name": "g0"}, "spec": {"free": 1}})
        self.assertEqual(made.status, 201, made)
        self.assertEqual(self.api.post(configmaps, {"apiVersion": "v1", "kind": "ConfigMap",
                                                    "metadata": {"name": "cm0"}}).status, 201)
        rv = made.json()["metadata"]["resourceVersion"]
        for n, number in enumerate(("1e400", "-1e400", "1" + "0" * 400, "1E309")):
            doc = ('{"apiVersion":"example.com/v1","kind":"Gizmo","metadata":{"name":"%s"%s},'
                   '"spec":{"free":{"deep":[1,%s]}}}')
            paths = [
                ("create", "POST", gizmos, doc % ("g1", "", number), "application/json"),
                ("create dry run", "POST", gizmos + "?dryRun=All", doc % ("g1", "", number), "application/json"),
                ("update", "PUT", gizmos + "/g0", doc % ("g0", ',"resourceVersion":"%s"' % rv, number),
                 "application/json"),
                ("merge patch", "PATCH", gizmos + "/g0", '{"spec":{"free":%s}}' % number,
                 "application/merge-patch+json"),
                ("json patch", "PATCH", gizmos + "/g0", '[{"op":"add","path":"/spec/x","value":%s}]' % number,
                 "application/json-patch+json"),
                ("strategic merge patch", "PATCH", configmaps + "/cm0", '{"metadata":{"labels":{"a":%s}}}' % number,
                 "application/strategic-merge-patch+json"),
                ("status update", "PUT", gizmos + "/g0/status", doc % ("g0", ',"resourceVersion":"%s"' % rv, number),
                 "application/json"),
            ]
            for what, method, path, body, ctype in paths:
                with self.subTest(number=number[:12], path=what):
                    resp = self.api.request(method, path, body, content_type=ctype)
                    self.assertStatus(resp, 400, "BadRequest", "out of the range of a 64-bit float")
            # YAML reads such a scalar as go-yaml does: not a float, so a string; valid JSON either way.
            with self.subTest(number=number[:12], path="yaml create"):
                resp = self.api.post(gizmos, "apiVersion: example.com/v1\nkind: Gizmo\nmetadata: {name: gy%d}\n"
                                     "spec: {free: %s}\n" % (n, number), content_type="application/yaml")
                self.assertIn(resp.status, (201, 400), resp)
        # Nothing that is not JSON was stored or is served.
        strict = lambda body: json.loads(body, parse_constant=lambda c: self.fail(f"non-JSON token {c} served"))
        for path in (gizmos, gizmos + "/g0", configmaps + "/cm0"):
            resp = self.api.get(path)
            self.assertEqual(resp.status, 200, resp)
            strict(resp.body)

    def test_integers_beyond_int64_are_rejected_where_the_schema_says_integer(self):
        for number in ("9223372036854775808", "18446744073709551615", "18446744073709551616"):
            with self.subTest(number=number):
                body = ('{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"big"},'
                        '"spec":{"size":%s}}' % number)
                resp = self.api.post(WIDGETS, body)
                status = self.assertStatus(resp, 422, "Invalid")
                self.assertIn("must be of type integer", status["message"])
        self.assertEqual(self.api.get(f"{WIDGETS}/big").status, 404)

    # ----- resourceVersions that are not uint64: 400 at once, for every parameter that carries one
    # (issue: 18446744073709551616 was clamped and waited 3 s for a version "from the future") -----

    BAD_RVS = ("18446744073709551616", "99999999999999999999999", "-1", "+1", "%201", "1e3", "0x10", "12abc")

    def test_malformed_resource_versions_are_400_on_every_read(self):
        self.existing("rvread")
        for rv in self.BAD_RVS:
            for what, query in (("list", f"resourceVersion={rv}"),
                                ("list NotOlderThan", f"resourceVersion={rv}&resourceVersionMatch=NotOlderThan"),
                                ("list Exact", f"resourceVersion={rv}&resourceVersionMatch=Exact"),
                                ("list limit", f"resourceVersion={rv}&limit=1"),
                                ("watch", f"watch=true&resourceVersion={rv}"),
                                ("watch list", f"watch=true&resourceVersion={rv}&sendInitialEvents=true"
                                               "&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")):
                with self.subTest(rv=rv, read=what):
                    self.assertStatus(self.api.get(f"{WIDGETS}?{query}", timeout=10), 400, "BadRequest",
                                      "invalid resource version")
            with self.subTest(rv=rv, read="get"):
                self.assertStatus(self.api.get(f"{WIDGETS}/rvread?resourceVersion={rv}"), 400, "BadRequest")

    def test_continue_tokens_with_out_of_range_versions_are_400(self):
        import base64
        for rv in ("18446744073709551616", "-5", "9223372036854775808", '"12"'):
            token = base64.b64encode(('{"v":"meta.k8s.io/v1","rv":%s,"start":"a"}' % rv).encode()).decode()
            with self.subTest(rv=rv):
                self.assertStatus(self.api.get(f"{WIDGETS}?limit=1&continue={token}"), 400, "BadRequest",
                                  "continue key is not valid")

    def test_malformed_resource_versions_are_400_on_every_write(self):
        obj = self.existing("rvwrite")
        for rv in [r for r in self.BAD_RVS if "%" not in r] + [" 1", "0"]:
            with self.subTest(rv=rv, write="update"):
                body = json.loads(json.dumps(obj))
                body["metadata"]["resourceVersion"] = rv
                self.assertStatus(self.api.put(f"{WIDGETS}/rvwrite", body), 400, "BadRequest", "invalid resourceVersion")
            with self.subTest(rv=rv, write="merge patch precondition"):
                resp = self.api.patch(f"{WIDGETS}/rvwrite", {"metadata": {"resourceVersion": rv}, "spec": {"size": 5}})
                self.assertStatus(resp, 400, "BadRequest", "invalid resourceVersion")
            with self.subTest(rv=rv, write="delete precondition"):
                resp = self.api.request("DELETE", f"{WIDGETS}/rvwrite",
                                        {"kind": "DeleteOptions", "apiVersion": "v1",
                                         "preconditions": {"resourceVersion": rv}})
                self.assertStatus(resp, 400, "BadRequest", "invalid resourceVersion")
        self.assertEqual(self.api.get(f"{WIDGETS}/rvwrite").json()["spec"], obj["spec"], "a write got through")

    def test_resource_versions_no_revision_can_reach_are_answered_at_once(self):
        # A uint64 past int64 parses, but the store never gets there: reads say too large at once,
        # writes conflict, with no wait.
        obj = self.existing("rvhuge")
        huge = "9223372036854775808"
        started = time.monotonic()
        status = self.assertStatus(self.api.get(f"{WIDGETS}?resourceVersion={huge}&resourceVersionMatch=NotOlderThan"),
                                   504, "Timeout")
        self.assertIn("ResourceVersionTooLarge", [c.get("reason") for c in status["details"].get("causes", [])])
        obj["metadata"]["resourceVersion"] = huge
        self.assertStatus(self.api.put(f"{WIDGETS}/rvhuge", obj), 409, "Conflict")
        # Waiting would take 3 s for each of the two (6 s in all); at once is far less, even on a
        # loaded machine.
        self.assertLess(time.monotonic() - started, 5.0, "waited for a version the store can never reach")

    # ----- patches -----

    def test_bad_json_patch(self):
        self.existing("jsonpatch")
        path = f"{WIDGETS}/jsonpatch"
        resp = self.api.patch(path, '{"op":"replace"}', content_type="application/json-patch+json")
        self.assertStatus(resp, 400, "BadRequest")
        resp = self.api.patch(path, "[{not json", content_type="application/json-patch+json")
        self.assertStatus(resp, 400, "BadRequest")
        for doc in ('[{"op":"frobnicate","path":"/spec/size","value":1}]',
                    '[{"op":"remove","path":"/spec/nothing/here"}]'):
            with self.subTest(doc=doc):
                resp = self.api.patch(path, doc, content_type="application/json-patch+json")
                self.assertIn(resp.status, (400, 422), resp)
                self.assertStatus(resp, resp.status)
        self.assertEqual(self.api.get(path).json()["spec"]["size"], 2)

    def test_bad_merge_patch_is_400(self):
        self.existing("mergepatch")
        resp = self.api.patch(f"{WIDGETS}/mergepatch", "{oops")
        self.assertStatus(resp, 400, "BadRequest")

    def test_strategic_merge_patch_is_415(self):
        self.existing("smp")
        resp = self.api.patch(f"{WIDGETS}/smp", {"spec": {"size": 3}},
                              content_type="application/strategic-merge-patch+json")
        self.assertStatus(resp, 415, "UnsupportedMediaType", "application/merge-patch+json")

    def test_apply_patch_is_415(self):
        resp = self.api.patch(f"{WIDGETS}/applied?fieldManager=e2e", widget("applied", NS),
                              content_type="application/apply-patch+yaml")
        self.assertStatus(resp, 415, "UnsupportedMediaType")

    # ----- namespaces and concurrency -----

    def test_the_system_namespaces_may_not_be_deleted(self):
        # Found by the fuzzer: a DELETE of the namespace collection took kube-system, and the
        # controllers' Lease with it.
        for name in ("default", "kube-system", "kube-public"):
            with self.subTest(namespace=name):
                self.assertStatus(self.api.delete(f"/api/v1/namespaces/{name}"), 403, "Forbidden",
                                  "this namespace may not be deleted")
        made = self.api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": "mortal", "labels": {"doomed": "yes"}}})
        self.assertEqual(made.status, 201, made)
        self.assertEqual(self.api.patch("/api/v1/namespaces/kube-system",
                                        {"metadata": {"labels": {"doomed": "yes"}}}).status, 200)
        resp = self.api.delete("/api/v1/namespaces?labelSelector=doomed%3Dyes")
        self.assertStatus(resp, 403, "Forbidden", "this namespace may not be deleted")
        self.api.patch("/api/v1/namespaces/kube-system", {"metadata": {"labels": {"doomed": None}}})
        for name in ("default", "kube-system", "kube-public"):
            ns = self.api.get(f"/api/v1/namespaces/{name}").json()
            self.assertNotIn("deletionTimestamp", ns["metadata"], ns)
        # The others in the collection are deleted all the same, as upstream.
        wait_until(lambda: self.api.get("/api/v1/namespaces/mortal").status == 404
                   or "deletionTimestamp" in self.api.get("/api/v1/namespaces/mortal").json()["metadata"],
                   10, "the mortal namespace to be deleted")

    def test_create_in_missing_namespace_is_404(self):
        resp = self.api.post("/apis/example.com/v1/namespaces/nowhere/widgets", widget("lost", "nowhere"))
        self.assertStatus(resp, 404, "NotFound", 'namespaces "nowhere" not found')

    def test_create_in_terminating_namespace_is_403(self):
        create_namespace(self.api, "ending")
        held = widget("held", "ending", finalizers=["example.com/hold"])
        self.assertEqual(self.api.post("/apis/example.com/v1/namespaces/ending/widgets", held).status, 201)
        resp = self.api.delete("/api/v1/namespaces/ending")
        self.assertIn(resp.status, (200, 202), resp)
        wait_until(lambda: self.api.get("/api/v1/namespaces/ending").json().get("status", {}).get("phase")
                   == "Terminating", 10, "namespace phase Terminating")
        resp = self.api.post("/apis/example.com/v1/namespaces/ending/widgets", widget("late", "ending"))
        self.assertStatus(resp, 403, "Forbidden", "because it is being terminated")
        # Releasing the finalizer lets the namespace finish terminating.
        resp = self.api.patch("/apis/example.com/v1/namespaces/ending/widgets/held",
                              {"metadata": {"finalizers": None}})
        self.assertEqual(resp.status, 200, resp)
        wait_until(lambda: self.api.get("/api/v1/namespaces/ending").status == 404, 30,
                   "the namespace to go once its content is gone")

    def test_put_without_resource_version_is_422(self):
        obj = self.existing("norv")
        del obj["metadata"]["resourceVersion"]
        obj["spec"]["size"] = 5
        resp = self.api.put(f"{WIDGETS}/norv", obj)
        self.assertStatus(resp, 422, "Invalid", "resourceVersion")

    def test_update_with_stale_resource_version_is_409(self):
        obj = self.existing("stale")
        fresh = dict(obj, spec={"size": 3, "color": "red"})
        self.assertEqual(self.api.put(f"{WIDGETS}/stale", fresh).status, 200)
        obj["spec"]["size"] = 4
        resp = self.api.put(f"{WIDGETS}/stale", obj)
        self.assertStatus(resp, 409, "Conflict", "the object has been modified")

    # ----- transport -----

    # ----- /metrics under made-up names (issue: unescaped label values broke the scrape, and each
    # made-up resource added a series for good) -----

    def test_metrics_stay_parseable_and_bounded_under_made_up_names(self):
        import subprocess
        import urllib.parse
        def series():
            return [l for l in self.api.get("/metrics").body.decode().splitlines() if l.startswith("apiserver_request")]
        for name in ('q"uote', "back\\slash", "new\nline", "tab\tand}brace", "{x=\"y\"}"):
            quoted = urllib.parse.quote(name, safe="")
            for path in (f"/apis/example.com/v1/{quoted}", f"/api/v1/namespaces/{NS}/{quoted}",
                         f"/apis/{quoted}/v1/things", f"{WIDGETS}/x/{quoted}"):
                with self.subTest(name=name, path=path):
                    self.assertStatus(self.api.get(path), 404, "NotFound")
        scrape = self.api.get("/metrics").body
        checked = subprocess.run(["promtool", "check", "metrics"], input=scrape, capture_output=True, timeout=60)
        self.assertEqual(checked.returncode, 0, (checked.stdout + checked.stderr).decode()[:2000])
        before = len(series())
        for i in range(1000):
            self.api.get(f"/apis/example.com/v1/made-up-{i}")
            self.api.request(f"M{i}", "/api")  # a made-up method too
        grown = len(series()) - before
        self.assertLessEqual(grown, 60, "1,000 made-up resources and methods added series for each")

    def raw_exchange(self, payload):
        """Sends raw bytes; returns (status code, Status body) of the answer."""
        with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
            try:
                s.sendall(payload)
            except OSError:
                pass  # the server may answer and close before reading everything
            data = b""
            try:
                while True:
                    chunk = s.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                    if b"\r\n\r\n" in data:
                        head, _, body = data.partition(b"\r\n\r\n")
                        length = [int(l.split(b":")[1]) for l in head.split(b"\r\n")
                                  if l.lower().startswith(b"content-length:")]
                        if length and len(body) >= length[0]:
                            break
            except OSError:
                pass
        head, _, body = data.partition(b"\r\n\r\n")
        self.assertTrue(head.startswith(b"HTTP/1.1 "), data[:200])
        return int(head.split(b" ")[1]), json.loads(body)

    def test_header_limits_are_431_in_the_status_line_and_the_body(self):
        cases = {
            "one huge header": b"GET /api HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n",
            "too many headers": b"GET /api HTTP/1.1\r\nHost: x\r\n" +
                                b"".join(b"X-H%d: v\r\n" % i for i in range(1000)) + b"\r\n",
            "100 KiB request line": b"GET /api?" + b"q" * (100 * 1024) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        }
        for what, payload in cases.items():
            with self.subTest(case=what):
                code, status = self.raw_exchange(payload)
                self.assertEqual(code, 431, status)
                self.assertEqual(status.get("kind"), "Status", status)
                self.assertEqual(status.get("code"), 431, status)
                self.assertEqual(status.get("reason"), "RequestHeaderFieldsTooLarge", status)
        self.assertTrue(self.api.ready())

    def test_a_client_still_sending_gets_the_answer_not_a_reset(self):
        # Answered (431, 413) before it was read to its end, a request's remaining bytes are read
        # and dropped for a moment before the server closes: closing at once makes the kernel reset
        # the connection, and a client still sending sees a broken pipe instead of the answer.
        cases = {
            431: b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\nX-Big: " +
                 b"a" * (70 * 1024) + b"\r\nContent-Length: 1048576\r\n\r\n" + b"{" * (1024 * 1024),
            413: b"POST /api/v1/namespaces/default/configmaps HTTP/1.1\r\nHost: x\r\n"
                 b"Content-Type: application/json\r\nContent-Length: 3500000\r\n\r\n" + b" " * 3500000,
        }
        for code, payload in cases.items():
            with self.subTest(code=code):
                with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
                    s.sendall(payload)  # a reset would fail this with EPIPE or ECONNRESET
                    s.shutdown(socket.SHUT_WR)
                    data = b""
                    while True:
                        chunk = s.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                self.assertTrue(data.startswith(b"HTTP/1.1 %d " % code), data[:100])

    def test_garbage_http_does_not_hurt(self):
        for payload in (b"GARBAGE\r\n\r\n", b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 64):
            with self.subTest(payload=payload[:16]):
                with socket.create_connection(("127.0.0.1", self.server.port), timeout=10) as s:
                    s.sendall(payload)
                    s.shutdown(socket.SHUT_WR)
                    try:
                        while s.recv(65536):
                            pass
                    except OSError:
                        pass
                self.assertTrue(self.api.ready())

    def test_zz_still_healthy_after_everything(self):
        self.assertEqual(self.api.get("/readyz").status, 200)
        resp = self.api.post(WIDGETS, widget("healthy", NS))
        self.assertEqual(resp.status, 201, resp)


if __name__ == "__main__":
    harness.main()

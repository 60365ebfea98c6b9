"""Hostile and malformed requests over raw HTTP. Each must get a Kubernetes Status with the right
code and reason, and the server must stay up and keep serving normal requests afterwards.
"""

import json
import socket
import time

import harness
from harness import Server, ServerTestCase, create_namespace, install_crd, wait_until, widget

NS = "bad"
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

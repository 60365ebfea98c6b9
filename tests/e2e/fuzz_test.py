"""Randomised hostile requests (fixed seeds, so a failure reproduces): any method, path, query,
content type and body, well-formed or not. The server must answer every one without a 5xx, stay
up, and still be ready afterwards.
"""

import http.client
import json
import random

import harness
from harness import Server, ServerTestCase, create_namespace, install_crd

PATHS = [
    "/api", "/apis", "/api/v1/namespaces", "/api/v1/namespaces/fz/events",
    "/apis/example.com/v1/namespaces/fz/widgets", "/apis/example.com/v1/widgets",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", "/openapi/v3/apis/example.com/v1",
    "/apis/coordination.k8s.io/v1/namespaces/fz/leases", "/api/v1/namespaces/fz/status", "/apis/x/y/z/w/v/u",
]
SUFFIXES = ["a", "ok-1", "..", "%2F", "x" * 300, "b/status", "b/scale", "c/foo"]
PARAMS = [
    "watch=1&timeoutSeconds=1", "resourceVersion=", "resourceVersion=-1", "resourceVersion=99999999999999999999",
    "limit=-5", "limit=abc", "continue=%25%25", "continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6LTUsInN0YXJ0IjoiYSJ9",
    "labelSelector=a%20in%20(", "labelSelector=a!=b,c", "fieldSelector=metadata.name%3D", "fieldSelector=x%3Dy",
    "sendInitialEvents=true", "resourceVersionMatch=Exact", "dryRun=All", "fieldValidation=Bogus",
    "resourceVersion=18446744073709551616", "resourceVersion=9223372036854775808", "resourceVersion=%2B5",
    "resourceVersion=1e3", "resourceVersion=%205", "limit=18446744073709551616", "timeoutSeconds=99999999999999999999",
    "gracePeriodSeconds=99999999999999999999", "continue=eyJ2IjoibWV0YS5rOHMuaW8vdjEiLCJydiI6MWU0MDAsInN0YXJ0IjoiYSJ9",
]
# Number tokens JSON allows but no double (or no int64) holds; spliced into bodies as raw text.
RAW_NUMBERS = ["1e400", "-1e400", "1" + "0" * 400, "9223372036854775808", "18446744073709551616", "1E309", "-0"]
CONTENT_TYPES = [
    "application/json", "application/yaml", "application/merge-patch+json", "application/json-patch+json",
    "application/strategic-merge-patch+json", "application/apply-patch+yaml", "text/plain", "",
]
ACCEPTS = [
    "application/json;as=Table;v=v1;g=meta.k8s.io", "application/vnd.kubernetes.protobuf", "*/*",
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
]
KEYS = ["apiVersion", "kind", "metadata", "spec", "status", "name", "namespace", "labels", "finalizers",
        "op", "path", "value", "from", "$patch", "generateName", "resourceVersion"]


def random_json(rng, depth=0):
    r = rng.random()
    if depth > 4 or r < 0.3:
        return rng.choice([1, -1, 1.5, "s", None, True, "\u0000\uffff", 10 ** 30, "", "@NUM@", "@NUM@"])
    if r < 0.6:
        return [random_json(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(KEYS): random_json(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def random_body(rng):
    r = rng.random()
    if r < 0.2:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 200)))
    if r < 0.3:
        return b"[" * rng.randint(50, 300)
    obj = random_json(rng)
    if r < 0.8 and isinstance(obj, dict):
        obj.setdefault("metadata", {"name": rng.choice(["a", "B", "x" * 300, f"ok-{rng.randint(0, 99)}", ""])})
    text = json.dumps(obj)
    while '"@NUM@"' in text:
        text = text.replace('"@NUM@"', rng.choice(RAW_NUMBERS), 1)
    return text.encode()


def random_headers(rng):
    """Now and then, headers past the limits (the answer must be 431, never a 5xx)."""
    r = rng.random()
    if r < 0.03:
        return {"X-Big": "h" * rng.randint(60 * 1024, 80 * 1024)}
    if r < 0.06:
        return {f"X-Many-{i}": "v" for i in range(rng.randint(400, 700))}
    return {}


def strict_json(body):
    """Parses like a strict client: the tokens Infinity and NaN are not JSON."""
    def refuse(token):
        raise ValueError(f"non-JSON token {token}")
    return json.loads(body, parse_constant=refuse)


class FuzzTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("fuzz").start()
        install_crd(cls.server.api)
        create_namespace(cls.server.api, "fz")

    @classmethod
    def tearDownClass(cls):
        cls.stop_server_cleanly()

    def run_seed(self, seed, count):
        rng = random.Random(seed)
        server_errors = []
        invalid = []
        for i in range(count):
            method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
            path = rng.choice(PATHS)
            if rng.random() < 0.5:
                path += "/" + rng.choice(SUFFIXES)
            query = "&".join(rng.sample(PARAMS, rng.randint(0, 3)))
            if query:
                path += "?" + query
            headers = {"Content-Type": rng.choice(CONTENT_TYPES), **random_headers(rng)}
            if rng.random() < 0.3:
                headers["Accept"] = rng.choice(ACCEPTS)
            body = random_body(rng) if method in ("POST", "PUT", "PATCH", "DELETE") else None
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                body = resp.read()
                if resp.status >= 500 and resp.status != 504:  # 504: an RV from the future, by design
                    server_errors.append((i, method, path, resp.status))
                # Whatever is served as JSON is JSON (a watch: one document per line).
                if method != "HEAD" and (resp.getheader("Content-Type") or "").startswith("application/json"):
                    for line in body.splitlines():
                        if line.strip():
                            try:
                                strict_json(line)
                            except ValueError as e:
                                invalid.append((i, method, path, resp.status, str(e)[:80]))
            finally:
                conn.close()
        self.assertEqual(server_errors, [], f"seed {seed}")
        self.assertEqual(invalid, [], f"seed {seed}: bodies served as JSON that are not")
        # And what the fuzz stored reads back as JSON.
        for path in ("/api/v1/events", "/api/v1/namespaces", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
                     "/apis/coordination.k8s.io/v1/leases", "/apis/example.com/v1/widgets"):
            resp = self.server.api.get(path)
            if path.endswith("widgets") and resp.status == 404:
                continue  # the fuzz may have deleted the CRD
            self.assertEqual(resp.status, 200, resp)
            strict_json(resp.body)
        self.assertTrue(self.server.alive(), f"the server died during seed {seed}")
        ready = self.server.api.get("/readyz")
        self.assertEqual(ready.status, 200, ready.body)

    def test_seed_1(self):
        self.run_seed(1, 1500)

    def test_seed_2(self):
        self.run_seed(2, 1500)


if __name__ == "__main__":
    harness.main()

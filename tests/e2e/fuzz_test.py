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
]
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
        return rng.choice([1, -1, 1.5, "s", None, True, "\u0000\uffff", 10 ** 30, ""])
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
    return json.dumps(obj).encode()


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
        for i in range(count):
            method = rng.choice(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
            path = rng.choice(PATHS)
            if rng.random() < 0.5:
                path += "/" + rng.choice(SUFFIXES)
            query = "&".join(rng.sample(PARAMS, rng.randint(0, 3)))
            if query:
                path += "?" + query
            headers = {"Content-Type": rng.choice(CONTENT_TYPES)}
            if rng.random() < 0.3:
                headers["Accept"] = rng.choice(ACCEPTS)
            body = random_body(rng) if method in ("POST", "PUT", "PATCH", "DELETE") else None
            conn = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=10)
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status >= 500 and resp.status != 504:  # 504: an RV from the future, by design
                    server_errors.append((i, method, path, resp.status))
            finally:
                conn.close()
        self.assertEqual(server_errors, [], f"seed {seed}")
        self.assertTrue(self.server.alive(), f"the server died during seed {seed}")
        self.assertEqual(self.server.api.get("/readyz").status, 200)

    def test_seed_1(self):
        self.run_seed(1, 1500)

    def test_seed_2(self):
        self.run_seed(2, 1500)


if __name__ == "__main__":
    harness.main()

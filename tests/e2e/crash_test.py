"""Durability under SIGKILL: every create the server acknowledged (201) must survive a crash with
the acknowledged resourceVersion, and RVs must keep growing after the restart. Three crashes in a
row on the same SQLite data dir, each in the middle of an 8-thread write load.
"""

import http.client
import json
import signal
import sys
import threading

import harness
from harness import Server, ServerTestCase, create_namespace, install_crd, wait_until

NOTE_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "notes.crash.example.com"},
    "spec": {
        "group": "crash.example.com",
        "scope": "Namespaced",
        "names": {"plural": "notes", "singular": "note", "kind": "Note", "listKind": "NoteList"},
        "versions": [{
            "name": "v1", "served": True, "storage": True,
            "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                "data": {"type": "object", "additionalProperties": {"type": "string"}}}}},
        }],
    },
}
NAMESPACE = "crash"
NOTES = f"/apis/crash.example.com/v1/namespaces/{NAMESPACE}/notes"
THREADS = 8
ACKS_PER_ROUND = 300
ROUNDS = 3


class WriteLoad:
    """THREADS writers POSTing Notes over keep-alive connections until the server goes away."""

    def __init__(self, port, round_no):
        self.port = port
        self.round_no = round_no
        self.lock = threading.Lock()
        self.acked = {}       # name -> acknowledged RV
        self.unexpected = []  # answers other than 201 while the server was up
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.writer, args=(t,)) for t in range(THREADS)]

    def start(self):
        for t in self.threads:
            t.start()

    def count(self):
        with self.lock:
            return len(self.acked)

    def writer(self, tid):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        i = 0
        while not self.stopping.is_set():
            name = f"r{self.round_no}-t{tid}-{i}"
            body = json.dumps({"apiVersion": "crash.example.com/v1", "kind": "Note",
                               "metadata": {"name": name},
                               "data": {"index": str(i), "payload": "x" * 256}})
            try:
                conn.request("POST", NOTES, body=body,
                             headers={"Content-Type": "application/json", "Accept": "application/json"})
                resp = conn.getresponse()
                data = resp.read()
            except (OSError, http.client.HTTPException):
                return  # the server was killed; whatever was not answered was not acknowledged
            if resp.status == 201:
                obj = json.loads(data)
                with self.lock:
                    self.acked[name] = int(obj["metadata"]["resourceVersion"])
            elif not self.stopping.is_set():
                with self.lock:
                    self.unexpected.append((name, resp.status, data[:300]))
            i += 1

    def join(self):
        self.stopping.set()
        for t in self.threads:
            t.join(60)
            assert not t.is_alive(), "a writer thread did not stop"


class CrashTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("crash", store="sqlite").start()
        install_crd(cls.server.api, NOTE_CRD)
        create_namespace(cls.server.api, NAMESPACE)

    @classmethod
    def tearDownClass(cls):
        cls.stop_server_cleanly()

    def list_notes(self):
        resp = self.server.api.get(NOTES, timeout=60)
        self.assertEqual(resp.status, 200, resp)
        listing = resp.json()
        return int(listing["metadata"]["resourceVersion"]), {
            i["metadata"]["name"]: int(i["metadata"]["resourceVersion"]) for i in listing["items"]}

    def test_acknowledged_writes_survive_sigkill(self):
        all_acked = {}
        for round_no in range(1, ROUNDS + 1):
            with self.subTest(round=round_no):
                load = WriteLoad(self.server.port, round_no)
                load.start()
                try:
                    wait_until(lambda: load.count() >= ACKS_PER_ROUND or not self.server.alive(), 120,
                               f"{ACKS_PER_ROUND} acknowledged creates")
                finally:
                    self.server.kill()
                    load.join()
                self.assertFalse(load.unexpected, f"non-201 answers under load: {load.unexpected[:5]}")
                self.assertGreaterEqual(len(load.acked), ACKS_PER_ROUND)
                rvs = list(load.acked.values())
                self.assertEqual(len(rvs), len(set(rvs)), "two creates acknowledged with one RV")
                all_acked.update(load.acked)
                sys.stderr.write(f"\n  round {round_no}: {len(load.acked)} creates acknowledged before SIGKILL, "
                                 f"highest RV {max(rvs)} ")

                self.server.start()
                list_rv, stored = self.list_notes()
                missing = sorted(n for n in all_acked if n not in stored)
                self.assertFalse(missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}")
                older = [(n, stored[n], r) for n, r in all_acked.items() if stored[n] < r]
                self.assertFalse(older, f"objects older than acknowledged (name, stored, acked): {older[:5]}")
                highest = max(all_acked.values())
                self.assertGreaterEqual(list_rv, highest, "list RV behind an acknowledged write")

                resp = self.server.api.post(NOTES, {"apiVersion": "crash.example.com/v1", "kind": "Note",
                                                    "metadata": {"name": f"after-crash-{round_no}"},
                                                    "data": {"round": str(round_no)}})
                self.assertEqual(resp.status, 201, resp)
                new_rv = int(resp.json()["metadata"]["resourceVersion"])
                self.assertGreater(new_rv, highest, "an RV was reused after the crash")
                all_acked[f"after-crash-{round_no}"] = new_rv

    def test_sigterm_under_load_finishes_acknowledged_writes(self):
        # Graceful stop with writers and a watch open: exit code 0 within the deadline, the watch
        # stream ends, and every acknowledged create is there after the restart.
        watch = self.server.api.connection(timeout=30)
        watch.request("GET", NOTES + "?watch=true", headers={"Accept": "application/json"})
        stream = watch.getresponse()
        self.assertEqual(stream.status, 200)
        load = WriteLoad(self.server.port, "graceful")
        load.start()
        try:
            wait_until(lambda: load.count() >= ACKS_PER_ROUND or not self.server.alive(), 120,
                       f"{ACKS_PER_ROUND} acknowledged creates")
            load.stopping.set()  # answers other than 201 are allowed from here on
            self.assertEqual(self.server.stop(), 0, "SIGTERM under load must still exit 0")
        finally:
            self.server.kill()
            load.join()
        self.assertFalse(load.unexpected, f"non-201 answers under load: {load.unexpected[:5]}")
        # The stream must have ended (EOF, or a reset) rather than stay open after the exit.
        try:
            while stream.readline():
                pass
        except (OSError, http.client.HTTPException):
            pass
        watch.close()
        self.server.start()
        _, stored = self.list_notes()
        missing = sorted(n for n in load.acked if n not in stored)
        self.assertFalse(missing, f"{len(missing)} acknowledged creates lost, e.g. {missing[:5]}")

    def test_sigint_stops_cleanly(self):
        self.assertEqual(self.server.stop(sig=signal.SIGINT), 0, "SIGINT must end the server with exit code 0")
        self.server.start()
        self.assertEqual(self.server.api.get("/healthz").status, 200)


if __name__ == "__main__":
    harness.main()

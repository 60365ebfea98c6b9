"""A real etcd cluster on loopback for the end-to-end tests: N members of Debian's etcd-server,
each with its own data dir and free ports, started and stopped by the test.

    cluster = EtcdCluster(workdir, members=3).start()
    cluster.endpoints()          # "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3"
    cluster.leader()             # index of the current leader
    cluster.kill(i); cluster.restart(i)
    cluster.stop()

Members are probed through etcd's HTTP gateway (/health, /v3/maintenance/status); every wait is
a deadline. Not thread-safe.
"""

import base64
import json
import os
import shutil
import socket
import subprocess
import urllib.request

from harness import wait_until

ETCD = "/usr/bin/etcd"


def available():
    return os.access(ETCD, os.X_OK)


def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def _post(port, path, body, timeout=2):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def b64(s):
    return base64.b64encode(s.encode()).decode()


class EtcdCluster:
    def __init__(self, workdir, members=3, name="etcd"):
        self.workdir = os.path.join(workdir, name)
        self.n = members
        self.client_ports = [_free_port() for _ in range(members)]
        self.peer_ports = [_free_port() for _ in range(members)]
        self.procs = [None] * members
        self.token = f"setpoint-e2e-{os.getpid()}-{name}"

    def _member(self, i):
        return f"m{i}"

    def _argv(self, i, state):
        cluster = ",".join(f"{self._member(j)}=http://127.0.0.1:{self.peer_ports[j]}" for j in range(self.n))
        return [ETCD,
                "--name", self._member(i),
                "--data-dir", os.path.join(self.workdir, self._member(i)),
                "--listen-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                "--advertise-client-urls", f"http://127.0.0.1:{self.client_ports[i]}",
                "--listen-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.peer_ports[i]}",
                "--initial-cluster", cluster,
                "--initial-cluster-state", state,
                "--initial-cluster-token", self.token,
                # Quick elections on loopback, so leader changes take well under a second.
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--logger", "zap", "--log-outputs", os.path.join(self.workdir, f"{self._member(i)}.log")]

    def _spawn(self, i, state):
        os.makedirs(self.workdir, exist_ok=True)
        out = open(os.path.join(self.workdir, f"{self._member(i)}.stdout"), "ab")
        self.procs[i] = subprocess.Popen(self._argv(i, state), stdout=out, stderr=out, stdin=subprocess.DEVNULL)
        out.close()

    def start(self, timeout=30):
        for i in range(self.n):
            self._spawn(i, "new")
        self.wait_healthy(timeout)
        return self

    def healthy(self, i):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.client_ports[i]}/health", timeout=1) as r:
                return json.loads(r.read()).get("health") == "true"
        except Exception:
            return False

    def wait_healthy(self, timeout=30, members=None):
        members = range(self.n) if members is None else members
        try:
            wait_until(lambda: all(self.procs[i] is not None and self.healthy(i) for i in members), timeout,
                       f"etcd members {list(members)} to be healthy")
        except AssertionError as e:
            raise AssertionError(f"{e}:\n{self.log_tail()}") from None

    def endpoints(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.client_ports)

    def url(self):
        return "etcd://" + self.endpoints()

    def status(self, i):
        return _post(self.client_ports[i], "/v3/maintenance/status", {})

    def leader(self, timeout=10):
        """Index of the member that leads now (asks a live member)."""
        def current():
            for i in range(self.n):
                if self.procs[i] is None:
                    continue
                leader_id = self.status(i).get("leader")
                for j in range(self.n):
                    if self.procs[j] is not None and self.status(j)["header"]["member_id"] == leader_id:
                        return (j,)  # a tuple: member 0 is a true answer too
            return None
        return wait_until(current, timeout, "an etcd leader")[0]

    def get(self, key, member=None):
        """The value of `key` as one member sees it (a linearizable read), or None."""
        i = member if member is not None else next(j for j in range(self.n) if self.procs[j] is not None)
        r = _post(self.client_ports[i], "/v3/kv/range", {"key": b64(key)})
        kvs = r.get("kvs") or []
        return base64.b64decode(kvs[0]["value"]).decode() if kvs else None

    def kill(self, i):
        p = self.procs[i]
        if p is not None:
            p.kill()
            p.wait()
            self.procs[i] = None

    def restart(self, i, timeout=30):
        assert self.procs[i] is None
        self._spawn(i, "existing")
        self.wait_healthy(timeout, members=[i])

    def stop(self):
        for i in range(self.n):
            self.kill(i)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log_tail(self, max_bytes=4000):
        parts = []
        for i in range(self.n):
            path = os.path.join(self.workdir, f"{self._member(i)}.log")
            try:
                with open(path, "rb") as f:
                    parts.append(f"[{self._member(i)}]\n" + f.read()[-max_bytes:].decode("utf-8", "replace"))
            except OSError:
                pass
        return "\n".join(parts)

"""Processes end to end: the agent inside `setpoint server` (and standalone `setpoint agent`s)
keeping real programs running the way Process and ProcessSet objects say, driven by kubectl.

  1. A ProcessSet of 3 `python3 -m http.server` → three ready processes answering on their
     allocated ports; `kubectl scale` to 5 and back to 2; a template change rolls them
     (RollingUpdate); `kill -9` of a child → restarted with its restart count up; `kubectl
     delete` → every child gone.
  2. HotRestart with the listening socket passed by the agent: a client polling both replicas
     during the template change sees no failed request, and the replicas keep their names.
  3. Debian's memcached as a ProcessSet answering `stats`.
  4. Bad input: a command that does not exist, a fixed port already taken, a crash loop that
     spends its retry budget, a process that ignores SIGTERM (SIGKILL after the grace period), an
     output flood (the log stays bounded, LogFlood condition and Event).
  5. `setpoint logs` and the processes/NAME/log subresource, with --tail and -f.
  6. The server killed and restarted: its processes are re-adopted, not started twice.
  7. Two standalone agents: killing one moves its processes to the other within the lease
     duration plus a few seconds; the killed agent, restarted, stops what it left behind.

Every wait is a poll with a deadline; processes a test started are killed when it ends even if
it fails, so nothing outlives the suite.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import harness
from harness import Kubectl, Server, ServerTestCase, wait_until

HERE = os.path.dirname(os.path.abspath(__file__))
SOCKET_SERVER = os.path.join(HERE, "testdata", "socket_server.py")
PYTHON = "/usr/bin/python3"
LEASE = 3  # seconds; the agents' --agent-lease-duration in this suite
TIMEOUT = 30
PS = "processsets.setpoint.dev"
PROC = "processes.setpoint.dev"


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def http_get(port, timeout=2):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=timeout) as r:
        return r.status, r.read().decode()


def processset(name, replicas, command, strategy="RollingUpdate", ports=None, env=None, probe=True,
               extra_spec=None):
    spec = {
        "command": command,
        "ports": ports or [{"name": "http"}],
        "env": env or [],
        "terminationGracePeriodSeconds": 5,
    }
    if probe:
        spec["readinessProbe"] = {"httpGet": {"port": "http"}, "periodSeconds": 1}
    spec.update(extra_spec or {})
    return {
        "apiVersion": "setpoint.dev/v1alpha1",
        "kind": "ProcessSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "strategy": {"type": strategy},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec},
        },
    }


def process(name, command, **spec_extra):
    spec = {"command": command}
    spec.update(spec_extra)
    return {"apiVersion": "setpoint.dev/v1alpha1", "kind": "Process", "metadata": {"name": name}, "spec": spec}


class Cluster:
    """kubectl plus raw reads of one server, and the pids the suite must not leave behind."""

    def __init__(self, server, ns):
        self.server = server
        self.ns = ns
        self.kubectl = Kubectl(max(harness.available_kubectl_minors()), server)
        self.seen_pids = set()

    def k(self, *args, **kw):
        return self.kubectl.ok("-n", self.ns, *args, **kw)

    def apply(self, obj):
        return self.k("apply", "-f", "-", input=json.dumps(obj))

    def get(self, resource, name=None, selector=None):
        args = ["get", resource, "-o", "json"]
        if name:
            args.insert(2, name)
        if selector:
            args += ["-l", selector]
        return json.loads(self.k(*args))

    def children(self, app):
        items = self.get(PROC, selector=f"app={app}")["items"]
        live = [p for p in items if not p["metadata"].get("deletionTimestamp")]
        for p in live:
            pid = p.get("status", {}).get("pid")
            if pid:
                self.seen_pids.add(pid)
        return live

    def ready_children(self, app, replicas):
        kids = self.children(app)
        ok = [p for p in kids if p.get("status", {}).get("ready") and p["status"].get("phase") == "Running"]
        return kids if len(kids) == replicas and len(ok) == replicas else None

    def kill_leftovers(self):
        for pid in self.seen_pids:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def port_of(p, name="http"):
    return next(x["port"] for x in p["status"]["ports"] if x["name"] == name)


SERVER = None


def setUpModule():
    global SERVER
    SERVER = Server("agent", extra_args=["--agent-lease-duration", str(LEASE), "--agent-log-max-mb", "1"])
    SERVER.start()


def tearDownModule():
    rc = SERVER.stop()
    if rc != 0:
        raise AssertionError(f"server exited {rc} on SIGTERM:\n{SERVER.log_tail()}")
    SERVER.cleanup()


class ProcessSetTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = SERVER

    def setUp(self):
        self.c = Cluster(SERVER, "default")

    def tearDown(self):
        self.c.kill_leftovers()

    def test_http_server_scale_roll_kill_delete(self):
        c = self.c
        c.apply(processset("web", 3, [PYTHON, "-m", "http.server", "$(PORT_HTTP)", "--bind", "127.0.0.1"]))
        kids = wait_until(lambda: c.ready_children("web", 3), TIMEOUT, "3 ready http.server processes")
        for p in kids:
            self.assertEqual(http_get(port_of(p))[0], 200)
        self.assertEqual(sorted(p["metadata"]["labels"]["setpoint.dev/index"] for p in kids), ["0", "1", "2"])
        ports = {port_of(p) for p in kids}
        self.assertEqual(len(ports), 3, "each replica has a port of its own")
        wait_until(lambda: c.get(PS, "web").get("status", {}).get("readyReplicas") == 3, TIMEOUT, "readyReplicas 3")

        c.k("scale", f"{PS}/web", "--replicas=5")
        wait_until(lambda: c.ready_children("web", 5), TIMEOUT, "5 ready processes")
        before = {p["metadata"]["name"]: p["status"]["pid"] for p in c.children("web")}
        c.k("scale", f"{PS}/web", "--replicas=2")
        kids = wait_until(lambda: c.ready_children("web", 2), TIMEOUT, "2 processes left")
        kept = {p["metadata"]["name"] for p in kids}
        self.assertEqual(sorted(p["metadata"]["labels"]["setpoint.dev/index"] for p in kids), ["0", "1"])
        for name, pid in before.items():
            if name not in kept:
                wait_until(lambda pid=pid: not pid_alive(pid), TIMEOUT, f"pid {pid} of a scaled-away replica gone")

        # A template change rolls the replicas onto the new template (new objects).
        c.k("patch", f"{PS}/web", "--type=merge", "-p",
            json.dumps({"spec": {"template": {"spec": {"command": [PYTHON, SOCKET_SERVER], "env": [{"name": "VERSION", "value": "2"}]}}}}))

        def rolled():
            kids = c.ready_children("web", 2)
            if not kids or {p["metadata"]["name"] for p in kids} & kept:
                return None
            return kids if all("version=2" in http_get(port_of(p))[1] for p in kids) else None

        kids = wait_until(rolled, 60, "both replicas on the new template")
        ps = wait_until(lambda: (lambda s: s if s.get("updatedReplicas") == 2 and s.get("availableReplicas") == 2 else None)(
            c.get(PS, "web").get("status", {})), TIMEOUT, "updatedReplicas and availableReplicas 2")
        conditions = {x["type"]: x for x in ps["conditions"]}
        self.assertEqual(conditions["Available"]["status"], "True", ps)

        # kill -9 of a child: restarted in place, restart count up.
        victim = kids[0]
        name, pid = victim["metadata"]["name"], victim["status"]["pid"]
        os.kill(pid, signal.SIGKILL)

        def restarted():
            p = c.get(PROC, name)
            st = p.get("status", {})
            return p if st.get("restartCount", 0) >= 1 and st.get("pid") != pid and st.get("ready") else None

        p = wait_until(restarted, TIMEOUT, "the killed child restarted")
        c.seen_pids.add(p["status"]["pid"])
        self.assertEqual(p["status"]["lastTermination"]["signal"], 9, p["status"])
        self.assertIn("version=2", http_get(port_of(p))[1])

        # Delete: every child gone, no process left.
        pids = [x["status"]["pid"] for x in c.children("web")]
        c.k("delete", f"{PS}/web", "--wait=true", "--timeout=60s")
        wait_until(lambda: not c.get(PROC, selector="app=web")["items"], TIMEOUT, "no Process objects left")
        for pid in pids:
            wait_until(lambda pid=pid: not pid_alive(pid), TIMEOUT, f"pid {pid} gone after delete")

    def test_hot_restart_serves_every_request(self):
        c = self.c
        c.apply(processset("hot", 2, [PYTHON, SOCKET_SERVER], strategy="HotRestart",
                           ports=[{"name": "http", "passSocket": True}], env=[{"name": "VERSION", "value": "1"}],
                           extra_spec={"drainPeriodSeconds": 1}))
        kids = wait_until(lambda: c.ready_children("hot", 2), TIMEOUT, "2 ready hot processes")
        names = sorted(p["metadata"]["name"] for p in kids)
        ports = [port_of(p) for p in kids]
        failures, answers, stop = [], [], threading.Event()

        def poll(port):
            while not stop.is_set():
                try:
                    code, body = http_get(port)
                    answers.append(body.split()[1])
                    if code != 200:
                        failures.append(code)
                except Exception as e:  # a refused or reset connection is a failed request
                    failures.append(repr(e))

        threads = [threading.Thread(target=poll, args=(port,)) for port in ports]
        for t in threads:
            t.start()
        try:
            wait_until(lambda: len(answers) > 20, TIMEOUT, "the pollers running")
            c.k("patch", f"{PS}/hot", "--type=json", "-p",
                json.dumps([{"op": "replace", "path": "/spec/template/spec/env/0/value", "value": "2"}]))

            def settled():
                kids = c.ready_children("hot", 2)
                if not kids:
                    return None
                for p in kids:
                    st = p["status"]
                    if st.get("observedGeneration") != p["metadata"]["generation"] or len(st.get("epochs", [])) != 1:
                        return None
                    if "version=2" not in http_get(port_of(p))[1]:
                        return None
                return kids

            kids = wait_until(settled, 60, "both replicas hot-restarted onto version 2")
            n = len(answers)
            wait_until(lambda: len(answers) > n + 20, TIMEOUT, "more answers after the change")
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(failures, [], "no request failed during the hot restart")
        self.assertIn("version=1", answers)
        self.assertIn("version=2", answers)
        self.assertEqual(sorted(p["metadata"]["name"] for p in kids), names, "hot restart keeps the objects")
        self.assertTrue(all(p["status"]["epoch"] >= 1 for p in kids), kids)
        self.assertEqual(sorted(port_of(p) for p in kids), sorted(ports), "and their ports")
        c.k("delete", f"{PS}/hot", "--wait=true", "--timeout=60s")

    def test_memcached(self):
        memcached = "/usr/bin/memcached"
        if not os.access(memcached, os.X_OK):
            self.skipTest("memcached is not installed (make deps installs it)")
        c = self.c
        # memcached refuses to run as root without -u.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        c.apply(processset("cache", 2, [memcached, "-p", "$(PORT_MEMCACHE)", "-U", "0", "-l", "127.0.0.1", "-m", "16"] + user,
                           ports=[{"name": "memcache"}], probe=False,
                           extra_spec={"readinessProbe": {"tcpSocket": {"port": "memcache"}, "periodSeconds": 1}}))
        kids = wait_until(lambda: c.ready_children("cache", 2), TIMEOUT, "2 ready memcached processes")
        for p in kids:
            with socket.create_connection(("127.0.0.1", port_of(p, "memcache")), timeout=5) as s:
                s.sendall(b"stats\r\n")
                data = b""
                while not data.endswith(b"END\r\n"):
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
            self.assertIn(f"STAT pid {p['status']['pid']}".encode(), data)
        pids = [p["status"]["pid"] for p in kids]
        c.k("delete", f"{PS}/cache", "--wait=true", "--timeout=60s")
        for pid in pids:
            wait_until(lambda pid=pid: not pid_alive(pid), TIMEOUT, f"memcached {pid} gone")


class BadInputTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = SERVER

    def setUp(self):
        self.c = Cluster(SERVER, "default")

    def tearDown(self):
        self.c.kill_leftovers()

    def events(self, name):
        return [e for e in self.c.get("events")["items"] if e["involvedObject"]["name"] == name]

    def status(self, name):
        return self.c.get(PROC, name).get("status", {})

    def test_command_not_found(self):
        c = self.c
        c.apply(process("nope", ["no-such-program-anywhere"], maxRetries=1, initialBackoffMilliseconds=50))
        st = wait_until(lambda: (lambda s: s if s.get("phase") == "Failed" else None)(self.status("nope")),
                        TIMEOUT, "the process Failed")
        self.assertIn('exec: "no-such-program-anywhere": executable file not found in $PATH', st["message"])
        ready = {x["type"]: x for x in st["conditions"]}["Ready"]
        self.assertEqual(ready["status"], "False")
        self.assertEqual(ready["reason"], "RetryBudgetExhausted")
        reasons = {e["reason"] for e in self.events("nope")}
        self.assertTrue({"FailedStart", "Failed"} <= reasons, reasons)
        c.k("delete", f"{PROC}/nope", "--wait=true", "--timeout=30s")

    def test_port_taken(self):
        c = self.c
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        try:
            c.apply(process("taken", [PYTHON, SOCKET_SERVER], ports=[{"name": "http", "port": port}],
                            maxRetries=1, initialBackoffMilliseconds=50))
            st = wait_until(lambda: (lambda s: s if s.get("phase") == "Failed" else None)(self.status("taken")),
                            TIMEOUT, "the process Failed")
            self.assertIn(f"127.0.0.1:{port}: bind: address already in use", st["message"])
            self.assertIn("PortConflict", {e["reason"] for e in self.events("taken")})
        finally:
            holder.close()
        # Freed and the spec touched: it starts (a spec change refills the budget).
        c.k("patch", f"{PROC}/taken", "--type=merge", "-p", json.dumps({"spec": {"maxRetries": 2}}))
        st = wait_until(lambda: (lambda s: s if s.get("phase") == "Running" else None)(self.status("taken")),
                        TIMEOUT, "running once the port is free")
        c.seen_pids.add(st["pid"])
        self.assertEqual(wait_until(lambda: http_get(port)[0], TIMEOUT, "an answer on the freed port"), 200)
        c.k("delete", f"{PROC}/taken", "--wait=true", "--timeout=30s")

    def test_crash_loop_spends_the_budget(self):
        c = self.c
        c.apply(process("crash", ["/bin/sh", "-c", "echo crashing; exit 3"], maxRetries=2, initialBackoffMilliseconds=50))
        st = wait_until(lambda: (lambda s: s if s.get("phase") == "Failed" else None)(self.status("crash")),
                        TIMEOUT, "the process Failed")
        self.assertEqual(st["restartCount"], 2, st)
        self.assertEqual(st["lastTermination"]["exitCode"], 3, st)
        self.assertEqual(st["reason"], "RetryBudgetExhausted", st)
        self.assertIn("BackOff", {e["reason"] for e in self.events("crash")})
        logs = subprocess.run([harness.binary(), "logs", "crash", "--kubeconfig", SERVER.kubeconfig],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(logs.returncode, 0, logs.stderr)
        self.assertIn("crashing", logs.stdout)
        c.k("delete", f"{PROC}/crash", "--wait=true", "--timeout=30s")

    def test_ignoring_sigterm_gets_sigkill_after_the_grace_period(self):
        c = self.c
        c.apply(process("stubborn", ["/bin/sh", "-c", "trap '' TERM; echo up; while :; do sleep 0.2; done"],
                        terminationGracePeriodSeconds=1))
        st = wait_until(lambda: (lambda s: s if s.get("phase") == "Running" else None)(self.status("stubborn")),
                        TIMEOUT, "running")
        pid = st["pid"]
        c.seen_pids.add(pid)
        started = time.monotonic()
        c.k("delete", f"{PROC}/stubborn", "--wait=true", "--timeout=30s")
        self.assertGreaterEqual(time.monotonic() - started, 0.9, "the grace period was honoured")
        self.assertFalse(pid_alive(pid))

    def test_output_flood_stays_bounded(self):
        c = self.c
        # About 100 MB/s: a runaway logger, without making the test machine's disk the bottleneck.
        flood = ("import sys, time\nline = 'x' * 1023 + '\\n'\nwhile True:\n    sys.stdout.write(line * 64)\n"
                 "    sys.stdout.flush()\n    time.sleep(0.0005)\n")
        c.apply(process("flood", [PYTHON, "-c", flood]))
        st = wait_until(lambda: (lambda s: s if s.get("phase") == "Running" else None)(self.status("flood")),
                        TIMEOUT, "running")
        c.seen_pids.add(st["pid"])
        cond = wait_until(lambda: {x["type"]: x for x in self.status("flood").get("conditions", [])}.get("LogFlood"),
                          TIMEOUT, "the LogFlood condition")
        self.assertEqual(cond["status"], "True", cond)
        self.assertIn("LogFlood", {e["reason"] for e in self.events("flood")})
        uid = c.get(PROC, "flood")["metadata"]["uid"]
        logs = os.path.join(SERVER.data_dir, "agent", "processes", uid, "logs")

        def size():
            # The agent rotates as we look: a file listed a moment ago may be gone already.
            total = 0
            for f in os.listdir(logs):
                try:
                    total += os.path.getsize(os.path.join(logs, f))
                except FileNotFoundError:
                    pass
            return total

        # Bounded: 1 MiB in each of the 3 kept files, plus what the writer manages within one
        # rotation period (20 ms while it floods), however long it runs.
        for _ in range(20):
            self.assertLess(size(), 32 << 20)
        tail = subprocess.run([harness.binary(), "logs", "flood", "--tail", "2", "--kubeconfig", SERVER.kubeconfig],
                              capture_output=True, text=True, timeout=30)
        self.assertEqual(tail.returncode, 0, tail.stderr)
        self.assertEqual(len(tail.stdout.splitlines()), 2, tail.stdout[:200])
        c.k("delete", f"{PROC}/flood", "--wait=true", "--timeout=30s")
        self.assertFalse(os.path.exists(logs), "the process's files go with it")


class ConditionsTest(ServerTestCase):
    """The built-in kinds' conditions follow metav1.Condition: kubectl wait works on each, and the
    API rejects malformed ones (S7-18)."""

    @classmethod
    def setUpClass(cls):
        cls.server = SERVER

    def setUp(self):
        self.c = Cluster(SERVER, "default")

    def tearDown(self):
        self.c.kill_leftovers()

    def test_kubectl_wait_on_every_kind_and_malformed_conditions_rejected(self):
        c = self.c
        agent = c.get("agents.setpoint.dev")["items"][0]["metadata"]["name"]
        c.k("wait", f"agents.setpoint.dev/{agent}", "--for=condition=Ready", "--timeout=30s")
        c.apply(processset("waited", 2, [PYTHON, SOCKET_SERVER]))
        c.k("wait", f"{PS}/waited", "--for=condition=Available", "--timeout=60s")
        kids = wait_until(lambda: c.ready_children("waited", 2), TIMEOUT, "2 ready processes")
        for p in kids:
            c.k("wait", f"{PROC}/{p['metadata']['name']}", "--for=condition=Ready", "--timeout=30s")
            c.k("wait", f"{PROC}/{p['metadata']['name']}", "--for=condition=Scheduled", "--timeout=30s")
        status = c.get(PS, "waited")["status"]
        for cond in status["conditions"]:
            self.assertEqual(cond["observedGeneration"], c.get(PS, "waited")["metadata"]["generation"], cond)

        # S7-18: a reason with a space, or a status outside True/False/Unknown, is refused.
        name = kids[0]["metadata"]["name"]
        path = f"/apis/setpoint.dev/v1alpha1/namespaces/default/processes/{name}/status"
        for bad in ({"type": "Ready", "status": "True", "reason": "Bad Reason!", "message": "",
                     "lastTransitionTime": "2026-01-01T00:00:00Z"},
                    {"type": "Ready", "status": "Maybe", "reason": "Fine", "message": "",
                     "lastTransitionTime": "2026-01-01T00:00:00Z"}):
            r = SERVER.api.patch(path, json.dumps({"status": {"conditions": [bad]}}))
            status = self.assertStatus(r, 422, "Invalid")
            self.assertIn("status.conditions[0]", status["message"], status)
        c.k("delete", f"{PS}/waited", "--wait=true", "--timeout=60s")


class LogsAndRestartTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = SERVER

    def setUp(self):
        self.c = Cluster(SERVER, "default")

    def tearDown(self):
        self.c.kill_leftovers()

    def test_logs_follow_and_subresource_errors(self):
        c = self.c
        script = "i=0; while :; do i=$((i+1)); echo line $i; sleep 0.1; done"
        c.apply(process("talker", ["/bin/sh", "-c", script]))
        st = wait_until(lambda: (lambda s: s if s.get("phase") == "Running" else None)(c.get(PROC, "talker").get("status", {})),
                        TIMEOUT, "running")
        c.seen_pids.add(st["pid"])
        path = "/apis/setpoint.dev/v1alpha1/namespaces/default/processes/talker/log"
        wait_until(lambda: "line 3" in SERVER.api.get(path).body.decode(), TIMEOUT, "three lines logged")
        r = SERVER.api.get(path + "?tailLines=1")
        self.assertEqual(r.status, 200)
        self.assertEqual(len(r.body.decode().splitlines()), 1, r.body)
        self.assertStatus(SERVER.api.get(path + "?tailLines=x"), 400, "BadRequest")
        self.assertStatus(SERVER.api.get("/apis/setpoint.dev/v1alpha1/namespaces/default/processes/none/log"), 404, "NotFound")
        follow = subprocess.Popen([harness.binary(), "logs", "-f", "talker", "--tail", "1", "--kubeconfig", SERVER.kubeconfig],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            seen = []
            deadline = time.monotonic() + TIMEOUT
            while len(seen) < 5 and time.monotonic() < deadline:
                line = follow.stdout.readline()
                if not line:
                    break
                seen.append(line)
            self.assertEqual(len(seen), 5, seen)
            numbers = [int(x.split()[1]) for x in seen]
            self.assertEqual(numbers, list(range(numbers[0], numbers[0] + 5)), "consecutive lines as written")
        finally:
            harness.stop_process(follow)
        c.k("delete", f"{PROC}/talker", "--wait=true", "--timeout=30s")

    def test_server_killed_and_restarted_readopts(self):
        c = self.c
        c.apply(processset("keep", 2, [PYTHON, SOCKET_SERVER]))
        kids = wait_until(lambda: c.ready_children("keep", 2), TIMEOUT, "2 ready processes")
        pids = sorted(p["status"]["pid"] for p in kids)
        SERVER.kill()
        for pid in pids:
            self.assertTrue(pid_alive(pid), "processes outlive the agent")
        SERVER.start()
        # Status right again, same pids: nothing started twice.
        def same():
            kids = c.ready_children("keep", 2)
            return kids if kids and sorted(p["status"]["pid"] for p in kids) == pids else None

        kids = wait_until(same, TIMEOUT, "the same two processes, re-adopted and ready")
        running = subprocess.run(["pgrep", "-f", SOCKET_SERVER], capture_output=True, text=True).stdout.split()
        mine = [int(p) for p in running if int(p) in pids]
        self.assertEqual(sorted(mine), pids)
        for p in kids:
            self.assertEqual(p["status"]["restartCount"], 0, p["status"])
            self.assertEqual(http_get(port_of(p))[0], 200)
        c.k("delete", f"{PS}/keep", "--wait=true", "--timeout=60s")
        for pid in pids:
            wait_until(lambda pid=pid: not pid_alive(pid), TIMEOUT, f"pid {pid} gone")


class TwoAgentsTest(ServerTestCase):
    """A server without its own agent, and two `setpoint agent` processes on one machine."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server("agents", extra_args=["--no-agent"])
        cls.server.start()
        cls.agents = {}

    @classmethod
    def tearDownClass(cls):
        for proc in cls.agents.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        cls.stop_server_cleanly()

    def start_agent(self, name):
        data = os.path.join(self.server.workdir, name)
        log = open(os.path.join(self.server.workdir, f"{name}.log"), "ab")
        proc = subprocess.Popen([harness.binary(), "agent", "--kubeconfig", self.server.kubeconfig, "--name", name,
                                 "--data-dir", data, "--agent-lease-duration", str(LEASE)],
                                stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        type(self).agents[name] = proc
        return proc

    def test_lost_agent_moves_its_processes(self):
        c = Cluster(self.server, "default")
        try:
            for name in ("alpha", "beta"):
                self.start_agent(name)
            wait_until(lambda: len([a for a in c.get("agents.setpoint.dev")["items"]
                                    if any(x["type"] == "Ready" and x["status"] == "True"
                                           for x in a.get("status", {}).get("conditions", []))]) == 2,
                       TIMEOUT, "two Ready agents")
            c.apply(processset("spread", 2, [PYTHON, SOCKET_SERVER]))
            kids = wait_until(lambda: c.ready_children("spread", 2), TIMEOUT, "2 ready processes")
            self.assertEqual(sorted(p["spec"]["agentName"] for p in kids), ["alpha", "beta"], "spread over both agents")
            on_alpha = next(p for p in kids if p["spec"]["agentName"] == "alpha")
            orphan_pid = on_alpha["status"]["pid"]

            self.agents["alpha"].kill()
            self.agents["alpha"].wait()
            killed_at = time.monotonic()

            def moved():
                kids = c.ready_children("spread", 2)
                return kids if kids and all(p["spec"]["agentName"] == "beta" for p in kids) else None

            kids = wait_until(moved, LEASE + 20, "both processes on beta")
            self.assertLess(time.monotonic() - killed_at, LEASE + 10, "moved within the lease duration plus a few seconds")
            alpha = c.get("agents.setpoint.dev", "alpha")
            ready = {x["type"]: x for x in alpha["status"]["conditions"]}["Ready"]
            self.assertEqual(ready["status"], "Unknown", alpha["status"])
            for p in kids:
                self.assertEqual(http_get(port_of(p))[0], 200)

            # The machine "comes back": alpha restarts, finds its old process no longer wanted, stops it.
            self.assertTrue(pid_alive(orphan_pid), "a killed agent leaves its processes running")
            self.start_agent("alpha")
            wait_until(lambda: not pid_alive(orphan_pid), TIMEOUT, "the restarted agent stops what it left behind")
            wait_until(lambda: {x["type"]: x for x in c.get("agents.setpoint.dev", "alpha")["status"]["conditions"]}
                       ["Ready"]["status"] == "True", TIMEOUT, "alpha Ready again")
            self.assertEqual(len(c.ready_children("spread", 2)), 2)
            c.k("delete", f"{PS}/spread", "--wait=true", "--timeout=60s")
        finally:
            c.kill_leftovers()


if __name__ == "__main__":
    harness.main()

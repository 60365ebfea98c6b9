#!/usr/bin/env python3
"""make bench: setpoint side by side with etcd on this machine.

Starts fresh servers on loopback (setpoint on SQLite, and Debian's etcd 3.4 with its defaults),
drives them with the C++ drivers under build/bench, and writes a Markdown report to
bench/results/<time>.md and its summary into docs/performance.md (between the bench markers).
Every figure is the median of RUNS runs with the min and max beside it. Prints numbers; never
fails because something is slow. BENCH_QUICK=1: one short run of a subset, for a smoke test.
"""
import http.client
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

def json_dumps(v):
    return json.dumps(v, separators=(",", ":"))


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
QUICK = os.environ.get("BENCH_QUICK", "0") == "1"
RUNS = 1 if QUICK else 3
SECONDS = int(os.environ.get("BENCH_SECONDS", "2" if QUICK else "5"))
GROUP, KIND, PLURAL = "bench.setpoint.dev", "Load", "loads"
API_VERSION = f"{GROUP}/v1"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.01)
    return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Setpoint:
    def __init__(self, data_dir, store="sqlite"):
        self.data_dir, self.store = data_dir, store
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        log = open(os.path.join(self.data_dir, "server.log"), "ab")
        t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "setpoint"), "server", "--data-dir", self.data_dir, "--store", self.store,
             "--listen", f"127.0.0.1:{self.port}", "--no-agent",
             # Every load generator connects from 127.0.0.1: no per-client cap.
             "--max-connections-per-client", "0"], stdout=log, stderr=log)
        if not wait_for(self.url + "/readyz", 300):
            raise SystemExit("setpoint did not become ready; see " + self.data_dir)
        return time.monotonic() - t0

    def stop(self):
        if self.proc:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(60)
            self.proc = None

    def request(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request(method, path, body=body, headers={"Content-Type": "application/json"})
        r = c.getresponse()
        data = r.read()
        c.close()
        return r.status, data

    def install_crd(self):
        crd = ('{"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",'
               f'"metadata":{{"name":"{PLURAL}.{GROUP}"}},'
               f'"spec":{{"group":"{GROUP}","scope":"Namespaced","names":{{"plural":"{PLURAL}","kind":"{KIND}"}},'
               '"versions":[{"name":"v1","served":true,"storage":true,'
               '"schema":{"openAPIV3Schema":{"type":"object","x-kubernetes-preserve-unknown-fields":true}}}]}}')
        status, _ = self.request("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        assert status in (200, 201, 409), status
        deadline = time.monotonic() + 30
        while self.request("GET", self.path("default"))[0] != 200:
            if time.monotonic() > deadline:
                raise SystemExit("the benchmark CRD was never served")
            time.sleep(0.02)

    def namespace(self, name):
        self.request("POST", "/api/v1/namespaces", f'{{"apiVersion":"v1","kind":"Namespace","metadata":{{"name":"{name}"}}}}')

    def path(self, ns):
        return f"/apis/{GROUP}/v1/namespaces/{ns}/{PLURAL}"


class Etcd:
    def __init__(self, data_dir):
        self.data_dir = data_dir
        self.port, self.peer = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = None

    def start(self):
        log = open(os.path.join(self.data_dir, "etcd.log"), "ab")
        peer = f"http://127.0.0.1:{self.peer}"
        self.proc = subprocess.Popen(
            ["etcd", "--data-dir", os.path.join(self.data_dir, "etcd"), "--listen-client-urls", self.url,
             "--advertise-client-urls", self.url, "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
             "--initial-cluster", f"default={peer}"], stdout=log, stderr=log)
        if not wait_for(self.url + "/health", 60):
            raise SystemExit("etcd did not become healthy; see " + self.data_dir)

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait(60)
            self.proc = None


def run(cmd):
    out = subprocess.run(cmd, check=False, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stdout + out.stderr, file=sys.stderr)
    return out.stdout


def results(text):
    """The RESULT key=value lines a driver printed, as dicts of floats where possible."""
    out = []
    for line in text.splitlines():
        if not line.startswith("RESULT "):
            continue
        row = {}
        for kv in line.split()[1:]:
            k, _, v = kv.partition("=")
            try:
                row[k] = float(v)
            except ValueError:
                row[k] = v
        out.append(row)
    return out


def spread(values, fmt="{:,.0f}"):
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    med = statistics.median(values)
    if len(values) == 1:
        return fmt.format(med)
    return f"{fmt.format(med)} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Report:
    def __init__(self):
        self.lines, self.summary = [], {}

    def add(self, *lines):
        for line in lines:
            print(line, flush=True)
            self.lines.append(line)


def api_load(server_url, conns, size, update, extra, target_args):
    cmd = [os.path.join(BUILD, "bench", "api_load"), "--server", server_url, "--connections", str(conns),
           "--bytes", str(size), "--seconds", str(SECONDS)] + target_args + extra
    if update:
        cmd.append("--update")
    rows = results(run(cmd))
    return rows[0] if rows else None


def fresh_pair(tmp, tag):
    """A new setpoint and etcd, each on an empty data dir: every block starts from the same state."""
    os.makedirs(os.path.join(tmp, f"sp-{tag}"))
    os.makedirs(os.path.join(tmp, f"etcd-{tag}"))
    sp, etcd = Setpoint(os.path.join(tmp, f"sp-{tag}")), Etcd(os.path.join(tmp, f"etcd-{tag}"))
    sp.start()
    etcd.start()
    sp.install_crd()
    return sp, etcd


def write_load(rep, tmp, servers):
    rep.add("## 1–2. Write load: durable creates (and create+update), setpoint vs etcd", "",
            f"Each cell: requests/s, median ({RUNS} runs, min–max); p99 in ms. setpoint: POST of a custom "
            "resource (then PUT with its resourceVersion), acknowledged after the SQLite commit is fsynced. "
            "etcd: `POST /v3/kv/put` on the v3 JSON gateway (a second put of the key for the update). "
            f"{SECONDS} s per run; fresh servers for each value size.", "",
            "| bytes | conns | op | setpoint req/s | setpoint p50 / p99 ms | etcd req/s | etcd p50 / p99 ms | ratio |",
            "|---|---|---|---|---|---|---|---|")
    sizes = [1024] if QUICK else [256, 1024]
    conns_list = [1, 64] if QUICK else [1, 16, 64, 256]
    for size in sizes:
        # Fresh servers per value size, so the 1 KiB rows do not run on a store the 256 B rows
        # already filled with a million objects.
        sp, etcd = fresh_pair(tmp, f"w{size}")
        servers += [sp, etcd]
        sp_args = ["--path", sp.path("default"), "--kind", KIND, "--api-version", API_VERSION]
        for conns in conns_list:
            for update in (False, True):
                s = [api_load(sp.url, conns, size, update, [], sp_args) for _ in range(RUNS)]
                e = [api_load(etcd.url, conns, size, update, [], ["--etcd"]) for _ in range(RUNS)]
                s_ops = [r["ops_per_s"] for r in s if r]
                e_ops = [r["ops_per_s"] for r in e if r]
                ratio = median(s_ops) / median(e_ops) if s_ops and e_ops and median(e_ops) else None
                op = "create+update" if update else "create"
                rep.add(f"| {size} | {conns} | {op} | {spread(s_ops)} | "
                        f"{spread([r['p50_ms'] for r in s if r], '{:.2f}')} / {spread([r['p99_ms'] for r in s if r], '{:.2f}')} | "
                        f"{spread(e_ops)} | {spread([r['p50_ms'] for r in e if r], '{:.2f}')} / "
                        f"{spread([r['p99_ms'] for r in e if r], '{:.2f}')} | "
                        f"{'n/a' if ratio is None else f'{ratio:.2f}×'} |")
                if size == 1024 and conns == 64 and not update:
                    rep.summary["creates_64"] = (median(s_ops), median(e_ops), ratio)
        if size != sizes[-1]:
            sp.stop()
            etcd.stop()
    # Latency at half the target rate (20,000/s ÷ 2), 64 connections, paced.
    # Eight event loops for the paced run: one loop sending 10,000 requests/s queues answers behind
    # its own sends and adds milliseconds of its own to the latency it reports.
    s = [api_load(sp.url, 64, 1024, False, ["--rate", "10000", "--threads", "8"], sp_args) for _ in range(RUNS)]
    rep.add("", "Paced at 10,000 creates/s (half the target), 64 connections, 1 KiB:", "",
            f"- achieved {spread([r['ops_per_s'] for r in s if r])} req/s; latency ms p50 "
            f"{spread([r['p50_ms'] for r in s if r], '{:.2f}')}, p99 {spread([r['p99_ms'] for r in s if r], '{:.2f}')}, "
            f"p999 {spread([r['p999_ms'] for r in s if r], '{:.2f}')}", "")
    rep.summary["p99_half_rate"] = median([r["p99_ms"] for r in s if r])


def write_load_on_etcd(rep, tmp, servers):
    """setpoint with etcd as its store (--store etcd://), beside the SQLite and raw etcd rows."""
    os.makedirs(os.path.join(tmp, "etcd-store"))
    os.makedirs(os.path.join(tmp, "sp-on-etcd"))
    etcd = Etcd(os.path.join(tmp, "etcd-store"))
    etcd.start()
    servers.append(etcd)
    sp = Setpoint(os.path.join(tmp, "sp-on-etcd"), store=f"etcd://127.0.0.1:{etcd.port}")
    sp.start()
    servers.append(sp)
    sp.install_crd()
    rep.add("## 1b. Write load with etcd as setpoint's store", "",
            "The same creates through setpoint started with `--store etcd://…` on its own fresh etcd: "
            "each write is one etcd transaction (the precondition as its compare), acknowledged once etcd "
            f"has committed it. 1 KiB objects, {RUNS} runs.", "",
            "| conns | op | setpoint on etcd req/s | p50 / p99 ms |", "|---|---|---|---|")
    sp_args = ["--path", sp.path("default"), "--kind", KIND, "--api-version", API_VERSION]
    for conns in [64]:  # one connection count: `make bench` must stay under 15 minutes
        for update in (False, True):
            s = [api_load(sp.url, conns, 1024, update, [], sp_args) for _ in range(RUNS)]
            ops = [r["ops_per_s"] for r in s if r]
            rep.add(f"| {conns} | {'create+update' if update else 'create'} | {spread(ops)} | "
                    f"{spread([r['p50_ms'] for r in s if r], '{:.2f}')} / {spread([r['p99_ms'] for r in s if r], '{:.2f}')} |")
            if conns == 64 and not update:
                rep.summary["creates_64_on_etcd"] = median(ops) if ops else None
    rep.add("")
    sp.stop()
    etcd.stop()


def watch_fanout(rep, sp, etcd):
    binary = os.path.join(BUILD, "bench", "watch_fanout")
    rep.add("## 3. Watch fan-out at 1,000 writes/s", "")
    if not os.path.exists(binary):
        rep.add("(bench/watch_fanout is not built)", "")
        return
    rep.add("Latency from write acknowledgement to delivery, ms (p99 over writes): at the first, the median "
            f"and the last watcher; events lost. Median of {RUNS} runs (min–max).", "",
            "| target | watchers | writes/s achieved | first p99 | median p99 | last p50 | last p99 | lost |",
            "|---|---|---|---|---|---|---|---|")
    for target, url, args in (("setpoint", sp.url, ["--mode", "k8s", "--path", sp.path("fanout"), "--kind", KIND,
                                                     "--api-version", API_VERSION]),
                              ("etcd", etcd.url, ["--mode", "etcd", "--prefix", "/fanout/"])):
        for watchers in ([1, 100] if QUICK else [1, 100, 1000]):
            rows = []
            for _ in range(RUNS):
                out = run([binary, "--server", url, "--watchers", str(watchers), "--rate", "1000",
                           "--seconds", str(SECONDS)] + args)
                rows += results(out)
            def col(k):
                return [r.get(k) for r in rows if isinstance(r.get(k), float)]
            rep.add(f"| {target} | {watchers} | {spread(col('writes_per_s'))} | {spread(col('first_p99_ms'), '{:.2f}')} | "
                    f"{spread(col('median_p99_ms'), '{:.2f}')} | {spread(col('last_p50_ms'), '{:.2f}')} | "
                    f"{spread(col('last_p99_ms'), '{:.2f}')} | {spread(col('lost'))} |")
            if target == "setpoint" and watchers == 1000:
                rep.summary["watch_1000"] = (median(col("last_p99_ms")), median(col("lost")))
    rep.add("")


def list_walk(sp, ns, limit):
    """Seconds and bytes to list `ns` (every page when limit > 0)."""
    c = http.client.HTTPConnection("127.0.0.1", sp.port, timeout=300)
    t0, total, cont = time.monotonic(), 0, ""
    while True:
        q = f"?limit={limit}" if limit else ""
        if cont:
            q += "&continue=" + urllib.request.quote(cont)
        c.request("GET", sp.path(ns) + q)
        r = c.getresponse()
        body = r.read()
        total += len(body)
        if not limit:
            break
        m = re.search(rb'"continue":"([^"]*)"', body[:4096])
        cont = m.group(1).decode() if m else ""
        if not cont:
            break
    c.close()
    return time.monotonic() - t0, total


def lists_memory_coldstart(rep, data_dir):
    rep.add("## 4–5, 7. List, memory and cold start", "")
    sp = Setpoint(data_dir)
    sp.start()
    sp.install_crd()
    base = rss_kib(sp.proc.pid)
    sizes = [("l10k", 10000)] if QUICK else [("l10k", 10000), ("l100k", 100000)]
    rows, loaded = [], 0
    for ns, n in sizes:
        sp.namespace(ns)
        run([os.path.join(BUILD, "bench", "api_load"), "--server", sp.url, "--connections", "64", "--bytes", "1024",
             "--count", str(n), "--path", sp.path(ns), "--kind", KIND, "--api-version", API_VERSION])
        loaded += n
        full = [list_walk(sp, ns, 0) for _ in range(max(RUNS, 5))]
        paged = [list_walk(sp, ns, 500) for _ in range(RUNS)]
        json_bytes = full[0][1]
        rss = rss_kib(sp.proc.pid)
        per_obj = (rss - base) * 1024 / loaded
        raw = json_bytes / n
        rows.append((ns, n, full, paged, json_bytes, rss, per_obj, raw))
        rep.add(f"- {n:,} objects of ~1 KiB (`{ns}`): full list {spread([t * 1000 for t, _ in full], '{:.1f}')} ms, "
                f"{json_bytes / 1e6:.1f} MB, {json_bytes / median([t for t, _ in full]) / 1e6:.0f} MB/s; paginated by 500 "
                f"{spread([t * 1000 for t, _ in paged], '{:.1f}')} ms in all")
        rep.add(f"  resident memory {rss / 1024:.0f} MiB (empty server {base / 1024:.0f} MiB): "
                f"{per_obj:,.0f} bytes per stored object vs {raw:,.0f} bytes of JSON = {per_obj / raw:.2f}×")
        if n == 10000:
            rep.summary["list_10k_ms"] = median([t * 1000 for t, _ in full])
        rep.summary["mem_ratio"] = per_obj / raw
        rep.summary["mem_objects"] = loaded
    # Diagnostics for the memory figures: anonymous vs file-backed resident memory, and how often
    # the embedded garbage collector's watches had to list everything again (a relist holds a
    # whole resource's metadata at once).
    status = open(f"/proc/{sp.proc.pid}/status").read()
    parts = {k: int(v.split()[0]) for k, v in re.findall(r"^(RssAnon|RssFile):\s+(.*)$", status, re.M)}
    _, metrics = sp.request("GET", "/metrics")
    lists = re.search(rb"^setpoint_gc_lists_total (\d+)", metrics, re.M)
    rep.add(f"  of which anonymous {parts.get('RssAnon', 0) / 1024:.0f} MiB, file-backed {parts.get('RssFile', 0) / 1024:.0f} MiB; "
            f"the garbage collector's watches listed {lists.group(1).decode() if lists else '?'} times")
    if len(rows) == 2:
        # What each further object costs, without the fixed parts that fill early (SQLite's page
        # cache, the event rings, the allocator's free lists): the slope between the two sizes.
        (_, n1, *_, rss1, _, raw1), (_, n2, *_, rss2, _, raw2) = rows
        slope = (rss2 - rss1) * 1024 / n2
        rep.add(f"  each of the {n2:,} objects after the first {n1:,}: {slope:,.0f} bytes of resident memory "
                f"= {slope / raw2:.2f}× its JSON")
        rep.summary["mem_marginal_ratio"] = slope / raw2
    # Idle watchers: open many watches that receive nothing and compare resident memory.
    idle = 200 if QUICK else 1000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, idle + 256)), hard))
    sp.namespace("idle")
    before = rss_kib(sp.proc.pid)
    socks = []
    for _ in range(idle):
        s = socket.create_connection(("127.0.0.1", sp.port))
        s.sendall(f"GET {sp.path('idle')}?watch=1&allowWatchBookmarks=true HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        socks.append(s)
    for s in socks:
        s.settimeout(30)
        s.recv(4096)  # the response head: the watch is registered
    time.sleep(0.5)  # lets the server finish allocating per-watch buffers before the reading
    after = rss_kib(sp.proc.pid)
    for s in socks:
        s.close()
    per_watch = (after - before) * 1024 / idle
    rep.add(f"- {idle} idle watchers: {per_watch / 1024:.1f} KiB each", "")
    rep.summary["idle_watch_kib"] = per_watch / 1024
    # Cold start with everything loaded.
    times = []
    for _ in range(RUNS):
        sp.stop()
        times.append(sp.start())
    rep.add(f"- cold start to /readyz with {loaded:,} objects: {spread([t * 1000 for t in times], '{:.0f}')} ms", "")
    rep.summary["cold_start"] = (loaded, median(times))
    sp.stop()


def controller(rep, data_dir):
    binary = os.path.join(BUILD, "bench", "controller_bench")
    rep.add("## 6. Controller throughput", "")
    if not os.path.exists(binary):
        rep.add("(bench/controller_bench is not built)", "")
        return
    n = 2000 if QUICK else 10000
    rep.add(f"A Manager with one controller (4 workers) against a fresh `setpoint server` on SQLite; {n:,} objects "
            "created first, then the controller started. no-op: each reconcile reads its object from the cache. "
            "status: each writes status once through the manager's client. Reconciles/s from the first reconcile; "
            "converge from start(), initial list included.", "")
    rep.add("Each figure twice: the JSON reconciler (objects as boost::json) and the typed one (the same "
            "reconcile on runtime::Client with the Item as a described struct), runs interleaved. no-op also "
            "runs steady passes (`--passes 20`: every key queued again 20 times after converging), the rate "
            "over those reconciles; the first pass alone is over too soon to time well.", "")
    sp = Setpoint(data_dir)
    sp.start()
    for mode in ("noop", "status"):
        rows = {"client": [], "typed": []}
        for _ in range(RUNS):
            for read in ("client", "typed"):
                passes = ["--passes", "20"] if mode == "noop" else []
                text = run([binary, "--server", sp.url, "--objects", str(n), "--mode", mode, "--read", read] + passes)
                rows[read] += results(text)
        def col(read, k):
            return [r.get(k) for r in rows[read] if isinstance(r.get(k), float)]
        for read, label in (("client", "JSON"), ("typed", "typed")):
            rep.add(f"- {mode}, {label}: {n:,} objects converge in {spread(col(read, 'converge_s'), '{:.2f}')} s, "
                    f"{spread(col(read, 'reconciles_per_s'))} reconciles/s")
            if mode == "noop":
                rep.add(f"  steady passes, {label}: {spread(col(read, 'steady_per_s'))} reconciles/s")
        json_rate, typed_rate = median(col("client", "reconciles_per_s")), median(col("typed", "reconciles_per_s"))
        if json_rate and typed_rate:
            rep.add(f"  typed / JSON reconciles/s: {typed_rate / json_rate:.2f}")
        json_steady, typed_steady = median(col("client", "steady_per_s")), median(col("typed", "steady_per_s"))
        if mode == "noop" and json_steady and typed_steady:
            rep.add(f"  typed / JSON steady reconciles/s: {typed_steady / json_steady:.2f}")
        rep.summary[f"controller_{mode}"] = (median(col("client", "converge_s")), json_rate, n)
        rep.summary[f"controller_{mode}_typed"] = (median(col("typed", "converge_s")), typed_rate, n)
    sp.stop()
    tb = os.path.join(BUILD, "bench", "types_bench")
    if os.path.exists(tb):
        out = run([tb, "--benchmark_min_time=0.2"])
        rep.add("", "Typed objects (Google Benchmark, bench/types_bench: a served ProcessSet):", "", "```")
        rep.add(*[line for line in out.splitlines() if line.startswith(("BM_", "Benchmark", "---"))])
        rep.add("```")
    wq = os.path.join(BUILD, "bench", "workqueue_bench")
    if os.path.exists(wq):
        out = run([wq, "--benchmark_min_time=0.2"])
        rep.add("", "Work queue (Google Benchmark, bench/workqueue_bench):", "", "```")
        rep.add(*[line for line in out.splitlines() if line.startswith(("BM_", "Benchmark", "---"))])
        rep.add("```")
    rep.add("")


def reconciliation(rep, data_dir):
    """Bank reconciliation: matching at 10,000 lines x 20,000 transactions, and that size as an object."""
    rep.add("## 7. Bank reconciliation", "")
    binary = os.path.join(BUILD, "bench", "reconciliation_bench")
    if not os.path.exists(binary):
        rep.add("(bench/reconciliation_bench is not built)", "")
        return
    rows = results(run([binary, "--runs", "3" if QUICK else "7"]))
    if rows:
        r = rows[0]
        rep.add(f"accounting::ProposeMatches, {int(r['lines']):,} statement lines against {int(r['transactions']):,} "
                f"transactions (bench/reconciliation_bench; 80% of lines share a reference with their transaction, "
                f"15% do not and are up to 2 days off, 5% are split in three, half the ledger is not on the "
                f"statement): best {r['best_ms']:.1f} ms, median {r['median_ms']:.1f} ms; inputs "
                f"{r['inputs_kib'] / 1024:.1f} MiB, matching adds {r['matching_kib'] / 1024:.1f} MiB at its peak. "
                f"Proposed {int(r['proposals']):,}: {int(r['reference']):,} by reference, {int(r['amount']):,} by "
                f"amount, {int(r['split']):,} splits, {int(r['near']):,} near; {int(r['unmatched_lines']):,} lines "
                f"unmatched.", "")
        rep.summary["reconciliation_match"] = (r["median_ms"], r["lines"], r["transactions"])
    # The same size as an API object: a 10,000-line BankStatement created on a real server.
    sp = Setpoint(data_dir)
    sp.start()
    base = "/apis/accounting.setpoint.dev/v1alpha1/namespaces/default"
    sp.request("POST", base + "/financialaccounts",
               '{"apiVersion":"accounting.setpoint.dev/v1alpha1","kind":"FinancialAccount",'
               '"metadata":{"name":"giro"},"spec":{"currency":"EUR","glAccount":"111100"}}')
    lines = []
    for i in range(10000):
        d = f"2026-10-{1 + i % 28:02d}"
        lines.append({"id": f"E{i:05d}", "bookingDate": d, "valueDate": d, "amount": f"{(i * 37) % 90000 / 100:.2f}",
                      "reference": f"INV-2026-{i:06d}", "endToEndId": f"E2E{i:010d}",
                      "counterparty": f"Customer {i % 700:03d} GmbH", "text": f"Invoice {i:06d} October"})
    body = ('{"apiVersion":"accounting.setpoint.dev/v1alpha1","kind":"BankStatement","metadata":{"name":"big"},'
            '"spec":{"account":"giro","statementId":"BIG","openingBalance":"0.00","closingBalance":"0.00","lines":'
            + json_dumps(lines) + "}}")
    t0 = time.monotonic()
    status, data = sp.request("POST", base + "/bankstatements", body)
    created_ms = (time.monotonic() - t0) * 1000
    t0 = time.monotonic()
    get_status, got = sp.request("GET", base + "/bankstatements/big")
    get_ms = (time.monotonic() - t0) * 1000
    sp.stop()
    rep.add(f"A 10,000-line BankStatement (every field of a camt.053 entry filled) is {len(body) / 1048576:.2f} MiB of "
            f"JSON, under the 3 MiB request limit: create answered {status} in {created_ms:.0f} ms, get {get_status} "
            f"({len(got) / 1048576:.2f} MiB) in {get_ms:.0f} ms.", "")
    rep.summary["reconciliation_object"] = (len(body), status)


def machine():
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    etcd_version = run(["etcd", "--version"]).splitlines()[0] if shutil.which("etcd") else "etcd not installed"
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return [f"- date: {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())}",
            f"- machine: {os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, Linux {os.uname().release}",
            f"- setpoint commit {commit or 'unknown'}, RelWithDebInfo build in `{os.path.relpath(BUILD, ROOT)}`; "
            f"{etcd_version} (Debian's etcd-server, defaults, fresh data dir)",
            f"- {RUNS} run(s) per figure, {SECONDS} s per timed run{'; BENCH_QUICK=1 (a subset)' if QUICK else ''}"]


def summary_lines(s):
    out = ["| target (2 cores) | goal | measured |", "|---|---|---|"]
    if "creates_64" in s:
        sp, et, ratio = s["creates_64"]
        out.append(f"| durable 1 KiB creates/s, 64 connections | ≥ 20,000 and ≥ 4× etcd | {sp:,.0f}/s; etcd {et:,.0f}/s; "
                   f"{ratio:.2f}× |" if ratio else f"| durable creates | ≥ 20,000 | {sp} |")
    if s.get("creates_64_on_etcd"):
        out.append(f"| the same with etcd as setpoint's store | (reported) | {s['creates_64_on_etcd']:,.0f}/s |")
    if "p99_half_rate" in s:
        out.append(f"| p99 at half that rate (10,000/s) | ≤ 10 ms | {s['p99_half_rate']:.2f} ms |")
    if "watch_1000" in s and s["watch_1000"][0] is not None:
        out.append(f"| 1,000 watchers, write→last watcher p99 at 1,000 writes/s | ≤ 20 ms, 0 lost | "
                   f"{s['watch_1000'][0]:.2f} ms, {s['watch_1000'][1]:.0f} lost |")
    if "list_10k_ms" in s:
        out.append(f"| list of 10,000 × 1 KiB | ≤ 30 ms | {s['list_10k_ms']:.1f} ms |")
    if "mem_ratio" in s:
        marginal = (f"; each object after the first 10,000: {s['mem_marginal_ratio']:.2f}"
                    if "mem_marginal_ratio" in s else "")
        out.append(f"| memory per object ÷ its JSON size | ≤ 1.5 | {s['mem_ratio']:.2f} at {s['mem_objects']:,} objects{marginal} |")
    if "idle_watch_kib" in s:
        out.append(f"| an idle watcher | ≤ 64 KiB | {s['idle_watch_kib']:.1f} KiB |")
    if "controller_noop" in s and s["controller_noop"][1] is not None:
        out.append(f"| no-op reconciles/s | ≥ 50,000 | {s['controller_noop'][1]:,.0f}/s |")
    if "controller_status" in s and s["controller_status"][0] is not None:
        target = "≤ 2 s" if s["controller_status"][2] == 10000 else "(10,000 objects: ≤ 2 s)"
        out.append(f"| {s['controller_status'][2]:,} objects converge with status writes | {target} | "
                   f"{s['controller_status'][0]:.2f} s |")
    for mode, label in (("noop", "no-op"), ("status", "status-write")):
        json_rate = s.get(f"controller_{mode}", (None, None))[1]
        typed_rate = s.get(f"controller_{mode}_typed", (None, None))[1]
        if json_rate and typed_rate:
            out.append(f"| typed {label} reconciles/s ÷ JSON | ≥ 0.90 | {typed_rate / json_rate:.2f} |")
    if "reconciliation_match" in s:
        ms, lines, txns = s["reconciliation_match"]
        out.append(f"| matching {lines:,.0f} statement lines against {txns:,.0f} transactions | (reported) | {ms:.1f} ms |")
    if "reconciliation_object" in s:
        size, status = s["reconciliation_object"]
        out.append(f"| that statement as one object | fits the API's limits | {size / 1048576:.2f} MiB, created: {status} |")
    if "cold_start" in s:
        out.append(f"| cold start to /readyz | (reported) | {s['cold_start'][1] * 1000:,.0f} ms with "
                   f"{s['cold_start'][0]:,} objects |")
    return out


def main():
    tmp = tempfile.mkdtemp(prefix="setpoint-bench-")
    rep = Report()
    rep.add("# setpoint benchmark report", "", *machine(), "")
    servers = []
    try:
        write_load(rep, tmp, servers)
        for s in servers:
            s.stop()
        write_load_on_etcd(rep, tmp, servers)
        sp, etcd = fresh_pair(tmp, "fanout")
        servers += [sp, etcd]
        sp.namespace("fanout")
        watch_fanout(rep, sp, etcd)
        for s in servers:
            s.stop()
        os.makedirs(os.path.join(tmp, "list"))
        lists_memory_coldstart(rep, os.path.join(tmp, "list"))
        os.makedirs(os.path.join(tmp, "ctl"))
        controller(rep, os.path.join(tmp, "ctl"))
        os.makedirs(os.path.join(tmp, "bank"))
        reconciliation(rep, os.path.join(tmp, "bank"))
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    summary = summary_lines(rep.summary)
    rep.add("## Summary", "", *summary, "")
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    path = os.path.join(ROOT, "bench", "results", time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + ".md")
    with open(path, "w") as f:
        f.write("\n".join(rep.lines) + "\n")
    perf = os.path.join(ROOT, "docs", "performance.md")
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    with open(perf) as f:
        doc = f.read()
    if begin in doc and end in doc and not QUICK:
        block = "\n".join([begin, f"Last `make bench`: {os.path.relpath(path, ROOT)}", "", *machine(), "", *summary, end])
        doc = doc[:doc.index(begin)] + block + doc[doc.index(end) + len(end):]
        with open(perf, "w") as f:
            f.write(doc)
    print("report:", os.path.relpath(path, ROOT))


if __name__ == "__main__":
    main()

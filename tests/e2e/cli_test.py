"""The `setpoint` client commands (get, describe, apply, delete, wait) against the real server, as
a user runs them: with KUBECONFIG pointing at the kubeconfig the server wrote.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading

import yaml

import harness
from harness import Server, ServerTestCase, WIDGET_CRD, widget

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
DESCRIBED = "/apis/example.com/v1/namespaces/describe/widgets"

# A namespaced custom resource shaped like a ConfigMap (top-level `data`, no spec): the generic
# describer on a custom kind with a top-level map.
SETTING_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "settings.example.com"},
    "spec": {
        "group": "example.com",
        "scope": "Namespaced",
        "names": {"plural": "settings", "singular": "setting", "kind": "Setting", "listKind": "SettingList"},
        "versions": [{"name": "v1", "served": True, "storage": True,
                      "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}],
    },
}


def timestamp(ago):
    """An RFC 3339 time `ago` (a timedelta) before now."""
    return (datetime.datetime.now(datetime.timezone.utc) - ago).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(name, namespace, involved, type_, reason, message, **fields):
    """A core/v1 Event about `involved` (an object as the server returned it)."""
    meta = involved["metadata"]
    ref = {"apiVersion": involved["apiVersion"], "kind": involved["kind"], "name": meta["name"], "uid": meta["uid"]}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": namespace},
          "involvedObject": ref, "type": type_, "reason": reason, "message": message}
    ev.update(fields)
    return ev


def event_rows(out):
    """The rows of the Events table of one description, split on its column gaps."""
    lines = out.splitlines()
    start = lines.index("Events:")
    return [re.split(r" {2,}", l.strip()) for l in lines[start + 1:]]


class CliTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("cli").start()
        cls.api = cls.server.api
        cls.tmp = tempfile.mkdtemp(prefix="setpoint-cli-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.stop_server_cleanly()

    def run_cli(self, *args, input=None, timeout=60):
        env = dict(os.environ, KUBECONFIG=self.server.kubeconfig)
        p = subprocess.run([harness.binary(), *args], input=input, capture_output=True, text=True,
                           env=env, timeout=timeout)
        return p.returncode, p.stdout, p.stderr

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_1_apply_crd_wait_and_objects(self):
        crd = self.write("crd.json", json.dumps(WIDGET_CRD))
        rc, out, err = self.run_cli("apply", "-f", crd)
        self.assertEqual(rc, 0, err)
        self.assertIn("customresourcedefinition.apiextensions.k8s.io/widgets.example.com created", out)
        rc, out, err = self.run_cli("wait", "crd/widgets.example.com", "--for", "condition=Established", "--timeout", "30")
        self.assertEqual(rc, 0, err)
        self.assertIn("condition met", out)
        # Two documents in one YAML file; the second apply of the same file changes nothing.
        manifests = self.write("widgets.yaml", "\n".join([
            "apiVersion: example.com/v1", "kind: Widget", "metadata: {name: one}", "spec: {size: 1, color: red}",
            "---", "apiVersion: example.com/v1", "kind: Widget", "metadata: {name: two}", "spec: {size: 2, color: blue}", ""]))
        rc, out, err = self.run_cli("apply", "-f", manifests)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["widget.example.com/one created", "widget.example.com/two created"])
        rc, out, err = self.run_cli("apply", "-f", manifests)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ["widget.example.com/one unchanged", "widget.example.com/two unchanged"])
        # A changed spec from stdin is configured.
        rc, out, err = self.run_cli("apply", "-f", "-", input=json.dumps(widget("one", "default", size=7)))
        self.assertEqual(rc, 0, err)
        self.assertIn("widget.example.com/one configured", out)
        self.assertEqual(self.api.get(f"{WIDGETS}/one").json()["spec"]["size"], 7)

    def test_2_get_table_yaml_json_and_selectors(self):
        rc, out, err = self.run_cli("get", "widgets")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[0].split(), ["NAME", "SIZE", "COLOR", "AGE"])
        self.assertEqual([l.split()[0] for l in lines[1:]], ["one", "two"])
        rc, out, err = self.run_cli("get", "wd", "two", "-o", "json")
        self.assertEqual(rc, 0, err)
        self.assertEqual(json.loads(out)["spec"]["color"], "blue")
        rc, out, err = self.run_cli("get", "widget", "one", "-o", "yaml")
        self.assertEqual(rc, 0, err)
        self.assertIn("name: one", out)
        rc, out, err = self.run_cli("get", "widgets.example.com", "-A")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[0].split()[:2], ["NAMESPACE", "NAME"])
        self.api.patch(f"{WIDGETS}/two", {"metadata": {"labels": {"tier": "gold"}}})
        rc, out, err = self.run_cli("get", "wd", "-l", "tier=gold", "-o", "name")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.split(), ["widget.example.com/two"])
        rc, out, err = self.run_cli("get", "wd", "-l", "tier=silver")
        self.assertEqual(rc, 0, err)
        self.assertIn("No resources found in default namespace.", err)

    def test_2_yaml_keeps_strings_that_look_like_other_scalars(self):
        # "true", "3", "yes", "null", "1e3" are strings in the object; -o yaml must quote them so
        # that the YAML reads back (and re-applies) with the same types.
        values = {"flag": "true", "count": "3", "answer": "yes", "none": "null", "exp": "1e3", "hex": "0x1F",
                  "plain": "blue", "empty": ""}
        cm = {"apiVersion": "v1", "kind": "ConfigMap",
              "metadata": {"name": "scalars", "namespace": "default", "labels": {"mirror": "true"}},
              "data": values}
        rc, out, err = self.run_cli("apply", "-f", "-", input=json.dumps(cm))
        self.assertEqual(rc, 0, err)
        rc, out, err = self.run_cli("get", "cm", "scalars", "-o", "yaml")
        self.assertEqual(rc, 0, err)
        back = yaml.safe_load(out)
        self.assertEqual(back["data"], values)
        self.assertEqual(back["metadata"]["labels"], {"mirror": "true"})
        self.assertIn("plain: blue", out)  # ordinary strings stay unquoted
        rc, out, err = self.run_cli("apply", "-f", "-", input=out)
        self.assertEqual(rc, 0, err)
        self.assertIn("configmap/scalars unchanged", out)

    def test_3_errors_read_like_kubectl(self):
        rc, out, err = self.run_cli("get", "wd", "missing")
        self.assertEqual(rc, 1)
        self.assertIn('Error from server (NotFound): widgets.example.com "missing" not found', err)
        rc, out, err = self.run_cli("get", "bogus")
        self.assertEqual(rc, 1)
        self.assertIn('the server doesn\'t have a resource type "bogus"', err)
        bad = self.write("bad.yaml", "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad}\nspec: {size: 99}\n")
        rc, out, err = self.run_cli("apply", "-f", bad)
        self.assertEqual(rc, 1)
        self.assertIn("Invalid", err)
        self.assertIn("spec.size", err)

    def test_4_wait_for_condition_set_later(self):
        result = {}

        def waiter():
            result["rc"], result["out"], result["err"] = self.run_cli(
                "wait", "widget/one", "--for", "condition=Ready", "--timeout", "30")

        t = threading.Thread(target=waiter)
        t.start()
        harness.wait_until(lambda: self.api.watchers() >= 1, 10, "the wait command's watch")
        resp = self.api.patch(f"{WIDGETS}/one/status",
                              {"status": {"conditions": [{"type": "Ready", "status": "True", "reason": "Done",
                                                          "message": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})
        self.assertEqual(resp.status, 200, resp)
        t.join(40)
        self.assertEqual(result.get("rc"), 0, result)
        self.assertIn("widget.example.com/one condition met", result["out"])

    def test_5_get_watch_shows_changes(self):
        result = {}

        def watcher():
            result["rc"], result["out"], result["err"] = self.run_cli("get", "wd", "-w", "--watch-timeout", "5")

        t = threading.Thread(target=watcher)
        t.start()
        harness.wait_until(lambda: self.api.watchers() >= 1, 10, "the get -w watch")
        self.api.patch(f"{WIDGETS}/two", {"spec": {"size": 9}})
        t.join(20)
        self.assertEqual(result.get("rc"), 0, result)
        rows = [l.split() for l in result["out"].splitlines()]
        self.assertIn(["two", "9", "blue"], [r[:3] for r in rows])

    def test_6_delete_waits_until_gone(self):
        rc, out, err = self.run_cli("delete", "widget", "one", "two")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines(), ['widgets.example.com "one" deleted', 'widgets.example.com "two" deleted'])
        self.assertEqual(self.api.get(f"{WIDGETS}/one").status, 404)
        rc, out, err = self.run_cli("delete", "widget", "one")
        self.assertEqual(rc, 1)
        self.assertIn("NotFound", err)
        rc, out, err = self.run_cli("delete", "widget", "one", "--ignore-not-found")
        self.assertEqual(rc, 0, err)


    # --- describe -----------------------------------------------------------------------------
    # Objects in their own namespace "describe": widgets gadget (labels app=demo, tier=gold; an
    # annotation; status with two conditions; two legacy Events plus Events that must not show),
    # sprocket (tier=gold; an events.k8s.io-style Event) and bolt (tier=silver); a Setting; a Lease.

    described = None

    def describe_fixture(self):
        if CliTest.described is not None:
            return CliTest.described
        harness.install_crd(self.api)
        harness.install_crd(self.api, SETTING_CRD)
        harness.create_namespace(self.api, "describe")
        harness.create_namespace(self.api, "describe-other")
        objs = {}
        gadget = widget("gadget", "describe", size=3, labels={"tier": "gold", "app": "demo"})
        gadget["metadata"]["annotations"] = {"example.com/note": "hello"}
        for w in (gadget, widget("sprocket", "describe", size=2, color="blue", labels={"tier": "gold"}),
                  widget("bolt", "describe", size=1, color="green", labels={"tier": "silver"}),
                  widget("nut", "describe-other", size=4, labels={"tier": "gold"})):
            resp = self.api.post(f"/apis/example.com/v1/namespaces/{w['metadata']['namespace']}/widgets", w)
            self.assertEqual(resp.status, 201, resp)
        resp = self.api.patch(f"{DESCRIBED}/gadget/status", {"status": {"replicas": 3, "conditions": [
            {"type": "Ready", "status": "True", "reason": "Assembled", "message": "all parts present",
             "lastTransitionTime": "2026-01-01T00:00:00Z"},
            {"type": "Degraded", "status": "False", "reason": "AsExpected", "message": "",
             "lastTransitionTime": "2026-01-02T00:00:00Z"}]}})
        self.assertEqual(resp.status, 200, resp)
        objs["gadget"] = resp.json()
        objs["sprocket"] = self.api.get(f"{DESCRIBED}/sprocket").json()
        setting = {"apiVersion": "example.com/v1", "kind": "Setting", "metadata": {"name": "app-config"},
                   "data": {"log.level": "debug", "maxConns": "10"}, "status": {"observedGeneration": 1}}
        resp = self.api.post("/apis/example.com/v1/namespaces/describe/settings", setting)
        self.assertEqual(resp.status, 201, resp)
        objs["setting"] = resp.json()
        lease = {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "holder"},
                 "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15}}
        resp = self.api.post("/apis/coordination.k8s.io/v1/namespaces/describe/leases", lease)
        self.assertEqual(resp.status, 201, resp)
        objs["lease"] = resp.json()
        day = datetime.timedelta(days=1)
        hour = datetime.timedelta(hours=1)
        g = objs["gadget"]
        stale = json.loads(json.dumps(g))
        stale["metadata"]["uid"] = "00000000-0000-0000-0000-000000000000"  # an earlier gadget of that name
        events = [
            # Created out of order: describe sorts them by time.
            event("gadget.slow", "describe", g, "Warning", "Slow", "took long  ", source={"component": "widget-controller"},
                  firstTimestamp=timestamp(20 * day + hour), lastTimestamp=timestamp(9 * day + hour), count=3),
            event("gadget.created", "describe", g, "Normal", "Created", "made it", source={"component": "widget-controller"},
                  firstTimestamp=timestamp(10 * day + hour), lastTimestamp=timestamp(10 * day + hour), count=1),
            event("gadget.stale", "describe", stale, "Normal", "Stale", "about another gadget",
                  source={"component": "widget-controller"}, lastTimestamp=timestamp(day)),
            event("sprocket.series", "describe", objs["sprocket"], "Normal", "Spinning", "series event",
                  reportingController="example.com/spinner", reportingInstance="spinner-1", action="Spin",
                  eventTime=timestamp(15 * day + hour).replace("Z", ".000000Z"),
                  series={"count": 2, "lastObservedTime": timestamp(12 * day + hour).replace("Z", ".000000Z")}),
        ]
        for ev in events:
            resp = self.api.post(f"/api/v1/namespaces/{ev['metadata']['namespace']}/events", ev)
            self.assertEqual(resp.status, 201, resp)
        CliTest.described = objs
        return objs

    def test_7_describe_custom_resource_with_status_conditions_and_events(self):
        g = self.describe_fixture()["gadget"]
        rc, out, err = self.run_cli("describe", "widget", "gadget", "-n", "describe")
        self.assertEqual(rc, 0, err)
        m = g["metadata"]
        expected = [
            "Name:         gadget",
            "Namespace:    describe",
            "Labels:       app=demo",
            "              tier=gold",
            "Annotations:  example.com/note: hello",
            "API Version:  example.com/v1",
            "Kind:         Widget",
            "Metadata:",
            f"  Creation Timestamp:  {m['creationTimestamp']}",
            f"  Generation:          {m['generation']}",
            f"  Resource Version:    {m['resourceVersion']}",
            f"  UID:                 {m['uid']}",
            "Spec:",
            "  Color:  red",
            "  Size:   3",
            "Status:",
            "  Conditions:",
            "    Last Transition Time:  2026-01-01T00:00:00Z",
            "    Message:               all parts present",
            "    Reason:                Assembled",
            "    Status:                True",
            "    Type:                  Ready",
            "    Last Transition Time:  2026-01-02T00:00:00Z",
            "    Message:               ",
            "    Reason:                AsExpected",
            "    Status:                False",
            "    Type:                  Degraded",
            "  Replicas:                3",
            "Events:",
            "  Type     Reason   Age               From               Message",
            "  ----     ------   ----              ----               -------",
            "  Normal   Created  10d               widget-controller  made it",
            "  Warning  Slow     9d (x3 over 20d)  widget-controller  took long",
        ]
        self.assertEqual(out.splitlines(), expected)
        self.assertEqual(err, "")

    def test_7_describe_event_from_events_api_and_no_events(self):
        self.describe_fixture()
        rc, out, err = self.run_cli("describe", "wd", "sprocket", "-n", "describe")
        self.assertEqual(rc, 0, err)
        # An events.k8s.io-style Event: no source, no lastTimestamp; a series.
        self.assertEqual(event_rows(out)[2:], [["Normal", "Spinning", "12d (x2 over 15d)", "example.com/spinner", "series event"]])
        rc, out, err = self.run_cli("describe", "wd", "bolt", "-n", "describe")
        self.assertEqual(rc, 0, err)
        # No events: the "<none>" lines up with the block above it, as in kubectl.
        self.assertEqual(out.splitlines()[-3:], ["  Color:  green", "  Size:   1", "Events:   <none>"])
        rc, out, err = self.run_cli("describe", "wd", "gadget", "-n", "describe", "--show-events=false")
        self.assertEqual(rc, 0, err)
        self.assertNotIn("Events:", out)

    def test_7_describe_configmap_like_object_and_builtin_kind(self):
        objs = self.describe_fixture()
        rc, out, err = self.run_cli("describe", "setting", "app-config", "-n", "describe")
        self.assertEqual(rc, 0, err)
        m = objs["setting"]["metadata"]
        self.assertEqual(out.splitlines(), [
            "Name:         app-config",
            "Namespace:    describe",
            "Labels:       <none>",
            "Annotations:  <none>",
            "API Version:  example.com/v1",
            "Data:",
            "  log.level:  debug",  # not a camelCase word: shown as it is
            "  Max Conns:  10",
            "Kind:         Setting",
            "Metadata:",
            f"  Creation Timestamp:  {m['creationTimestamp']}",
            f"  Generation:          {m['generation']}",
            f"  Resource Version:    {m['resourceVersion']}",
            f"  UID:                 {m['uid']}",
            "Status:",
            "  Observed Generation:  1",
            "Events:                 <none>",
        ])
        rc, out, err = self.run_cli("describe", "leases", "holder", "-n", "describe")
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        self.assertEqual(lines[:7], ["Name:         holder", "Namespace:    describe", "Labels:       <none>",
                                     "Annotations:  <none>", "API Version:  coordination.k8s.io/v1", "Kind:         Lease",
                                     "Metadata:"])
        self.assertEqual(lines[-4:], ["Spec:", "  Holder Identity:         me", "  Lease Duration Seconds:  15",
                                      "Events:                    <none>"])
        # A cluster-scoped object: an empty Namespace.
        rc, out, err = self.run_cli("describe", "crd", "settings.example.com")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[:2], ["Name:         settings.example.com", "Namespace:    "])
        self.assertIn("        X - Kubernetes - Preserve - Unknown - Fields:  true", out.splitlines())

    def test_7_describe_all_with_label_selector(self):
        self.describe_fixture()
        rc, out, err = self.run_cli("describe", "widgets", "-n", "describe", "-l", "tier=gold")
        self.assertEqual(rc, 0, err)
        # One description after the other, two blank lines apart, as kubectl prints them.
        parts = out.split("\n\n\n")
        self.assertEqual([p.splitlines()[0] for p in parts], ["Name:         gadget", "Name:         sprocket"])
        self.assertTrue(all(p.splitlines()[1] == "Namespace:    describe" for p in parts))
        rc, out, err = self.run_cli("describe", "widgets", "-A", "-l", "tier=gold")
        self.assertEqual(rc, 0, err)
        described = [(p.splitlines()[0], p.splitlines()[1]) for p in out.split("\n\n\n")]
        self.assertEqual(sorted(described), [("Name:         gadget", "Namespace:    describe"),
                                             ("Name:         nut", "Namespace:    describe-other"),
                                             ("Name:         sprocket", "Namespace:    describe")])
        rc, out, err = self.run_cli("describe", "widgets", "-n", "describe", "-l", "tier=none")
        self.assertEqual((rc, out, err), (0, "", "No resources found in describe namespace.\n"))
        rc, out, err = self.run_cli("describe", "widgets", "gadget", "-n", "describe", "-l", "tier=gold")
        self.assertEqual((rc, err), (1, "error: name cannot be provided when a selector is specified\n"))

    def test_7_describe_not_found(self):
        self.describe_fixture()
        rc, out, err = self.run_cli("describe", "wd", "nosuch", "-n", "describe")
        self.assertEqual((rc, out), (1, ""))
        self.assertEqual(err, 'Error from server (NotFound): widgets.example.com "nosuch" not found\n')
        # Several names: the ones found are described, the others reported, and the exit code is 1.
        rc, out, err = self.run_cli("describe", "wd", "bolt", "nosuch", "-n", "describe")
        self.assertEqual(rc, 1)
        self.assertEqual(out.splitlines()[0], "Name:         bolt")
        self.assertEqual(err, 'Error from server (NotFound): widgets.example.com "nosuch" not found\n')
        # Like kubectl, a single missing name describes the objects whose names start with it.
        rc, out, err = self.run_cli("describe", "wd", "spr", "-n", "describe")
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.splitlines()[0], "Name:         sprocket")
        rc, out, err = self.run_cli("describe", "bogus", "x")
        self.assertEqual((rc, err), (1, 'error: the server doesn\'t have a resource type "bogus"\n'))

    def test_7_describe_reads_like_kubectl(self):
        """The same bytes as kubectl's describe, for the objects whose Events kubectl renders the
        same way (legacy Events: kubectl 1.33 neither sorts by eventTime nor shows reportingController)."""
        minors = harness.available_kubectl_minors()
        if not minors:
            self.skipTest("no kubectl binary in " + harness.KUBECTL_DIR)
        self.describe_fixture()
        kubectl = harness.Kubectl(minors[-1], self.server)
        for args in (["widget", "gadget", "-n", "describe"], ["widgets", "-n", "describe", "-l", "tier=silver"],
                     ["settings", "-n", "describe"], ["lease", "holder", "-n", "describe"],
                     ["crd", "widgets.example.com"], ["widgets", "nosuch", "-n", "describe"]):
            with self.subTest(args=args):
                self.assertEqual(self.run_cli("describe", *args), kubectl.run("describe", *args))


if __name__ == "__main__":
    harness.main()

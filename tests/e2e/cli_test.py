"""The `setpoint` client commands (get, apply, delete, wait) against the real server, as a user
runs them: with KUBECONFIG pointing at the kubeconfig the server wrote.
"""

import json
import os
import subprocess
import tempfile
import threading

import harness
from harness import Server, ServerTestCase, WIDGET_CRD, widget

WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"


class CliTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("cli").start()
        cls.api = cls.server.api
        cls.tmp = tempfile.mkdtemp(prefix="setpoint-cli-")

    @classmethod
    def tearDownClass(cls):
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


if __name__ == "__main__":
    harness.main()

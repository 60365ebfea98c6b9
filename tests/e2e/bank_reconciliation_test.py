"""Bank reconciliation end to end: OFBiz's rules and scenarios (seed-systems §6, S6-xx) and a
month's statement against a ledger, with real kubectl and the `setpoint` CLI against the real
server and its bankreconciliation controller.

  1. The rules at the API (S6-01..08, 15, 20): refusals are 422 with OFBiz's error names, and the
     object is unchanged.
  2. The services (S6-10..14, 16, 18, 19) through the controller: clearing by accepted matches,
     journal entries, the balances, cancel, the scheduled auto-reconciliation.
  3. A 500-line statement, once as camt.053 and once as CSV, against a ledger of 600
     transactions with deliberate differences: the proposals are those expected, the balances are
     exact to the cent, and after the right acceptances `kubectl wait --for=condition=Balanced`
     returns and closing makes the reconciliation read-only.
  4. A malformed statement file is refused with the line at fault and creates nothing.

Every wait is a poll with a deadline (harness.wait_until or kubectl wait).
"""

import datetime
import json
import os
import random
import shutil
import subprocess
import tempfile
from decimal import Decimal

import yaml

import harness
from harness import Kubectl, Server, ServerTestCase, wait_until

API = "accounting.setpoint.dev/v1alpha1"
BASE = "/apis/accounting.setpoint.dev/v1alpha1"
TIMEOUT = 60  # seconds for the controller to act (it normally takes well under one)


def obj(kind, name, spec, **meta):
    m = {"name": name}
    m.update(meta)
    return {"apiVersion": API, "kind": kind, "metadata": m, "spec": spec}


def account(name, **spec):
    s = {"currency": "EUR", "glAccount": "111100"}
    s.update(spec)
    return obj("FinancialAccount", name, s)


def txn(name, acct, type_, amount, **spec):
    s = {"account": acct, "type": type_, "amount": str(amount)}
    s.update(spec)
    return obj("AccountTransaction", name, s)


class BankReconciliationTest(ServerTestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Server("bank").start()
        cls.api = cls.server.api
        cls.tmp = tempfile.mkdtemp(prefix="setpoint-bank-")
        cls.k = Kubectl(harness.available_kubectl_minors()[-1], cls.server)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)
        cls.stop_server_cleanly()

    # -- helpers --------------------------------------------------------------------------------

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def namespace(self, name):
        # `kubectl create namespace` sends protobuf from 1.32 on; apply of a manifest sends JSON.
        self.apply([{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}])

    def apply(self, objs, ns=None):
        path = self.write("apply.yaml", yaml.safe_dump_all(objs))
        args = ["apply", "-f", path] + (["-n", ns] if ns else [])
        return self.k.ok(*args, timeout=300)

    def kubectl(self, *args):
        return self.k.run(*args)

    def cli(self, *args):
        env = dict(os.environ, KUBECONFIG=self.server.kubeconfig)
        p = subprocess.run([harness.binary(), *args], capture_output=True, text=True, env=env, timeout=120)
        return p.returncode, p.stdout, p.stderr

    def get(self, ns, resource, name):
        r = self.api.get(f"{BASE}/namespaces/{ns}/{resource}/{name}")
        self.assertEqual(r.status, 200, r)
        return r.json()

    def items(self, ns, resource):
        r = self.api.get(f"{BASE}/namespaces/{ns}/{resource}")
        self.assertEqual(r.status, 200, r)
        return r.json()["items"]

    def status(self, ns, name):
        return self.get(ns, "reconciliations", name).get("status", {})

    def wait_status(self, ns, name, pred, what):
        """The reconciliation's status once `pred` holds for it."""
        def probe():
            s = self.status(ns, name)
            return s if pred(s) else None
        return wait_until(probe, TIMEOUT, f"reconciliation {ns}/{name}: {what}")

    def patch(self, ns, resource, name, body):
        return self.api.patch(f"{BASE}/namespaces/{ns}/{resource}/{name}", json.dumps(body))

    def refused(self, rc_out_err, error_name):
        rc, out, err = rc_out_err
        self.assertNotEqual(rc, 0, out)
        self.assertIn(error_name, err)
        self.assertIn("is invalid", err)

    def condition(self, status, type_):
        for c in status.get("conditions", []):
            if c["type"] == type_:
                return c
        return {}

    # -- 1. the rules at the API ----------------------------------------------------------------

    def test_1_rules_at_the_api(self):
        ns = "rules"
        self.namespace(ns)
        self.apply([account("checking"), account("frozen", state="ManuallyFrozen"),
                    account("closed", state="Cancelled")], ns)
        # S6-01
        path = self.write("t.yaml", yaml.safe_dump(txn("t-frozen", "frozen", "DEPOSIT", "1")))
        self.refused(self.kubectl("create", "-n", ns, "-f", path), "AccountingFinAccountInactiveStatusError")
        path = self.write("t.yaml", yaml.safe_dump(txn("t-closed", "closed", "DEPOSIT", "1")))
        self.refused(self.kubectl("create", "-n", ns, "-f", path), "AccountingFinAccountStatusNotValidError")
        # S6-02: rounded HalfUp to 2 decimals, with a warning and a Warning event.
        path = self.write("t.yaml", yaml.safe_dump(txn("t-round", "checking", "DEPOSIT", "10.005")))
        rc, out, err = self.kubectl("create", "-n", ns, "-f", path)
        self.assertEqual(rc, 0, err)
        self.assertIn("amount 10.005 rounded to 10.01", err)
        t = self.get(ns, "accounttransactions", "t-round")
        self.assertEqual(t["spec"]["amount"], "10.01")
        # S6-03: APPROVED, both dates now.
        self.assertEqual(t["spec"]["state"], "APPROVED")
        self.assertEqual(t["spec"]["transactionDate"], t["spec"]["entryDate"])
        wait_until(lambda: "AmountRounded" in self.k.ok("get", "events", "-n", ns), TIMEOUT, "the AmountRounded event")
        # S6-04: a payment's transaction awaits reconciliation.
        self.apply([txn("t-pay", "checking", "DEPOSIT", "100", payment={"id": "P1", "status": "PMNT_RECEIVED"}),
                    txn("t-unpaid", "checking", "DEPOSIT", "5", payment={"id": "P2", "status": "PMNT_NOT_PAID"}),
                    obj("Reconciliation", "open", {"account": "checking"})], ns)
        self.assertEqual(self.get(ns, "accounttransactions", "t-pay")["spec"]["state"], "CREATED")
        self.wait_status(ns, "open", lambda s: s.get("phase") == "Created", "phase Created")
        # S6-05
        self.k.ok("patch", "-n", ns, "accounttransaction", "t-pay", "--type", "merge",
                  "-p", '{"spec":{"reconciliation":"open"}}')
        self.assertEqual(self.get(ns, "accounttransactions", "t-pay")["spec"]["reconciliation"], "open")
        # S6-06: t-round is APPROVED.
        self.refused(self.kubectl("patch", "-n", ns, "accounttransaction", "t-round", "--type", "merge",
                                  "-p", '{"spec":{"reconciliation":"open"}}'),
                     "AccountingInvalidGlReconciliationAssignment")
        self.assertNotIn("reconciliation", self.get(ns, "accounttransactions", "t-round")["spec"])
        # S6-08
        self.refused(self.kubectl("patch", "-n", ns, "accounttransaction", "t-unpaid", "--type", "merge",
                                  "-p", '{"spec":{"reconciliation":"open"}}'),
                     "AccountingPaymentsAssociateWithFinAccountHasInvalidStatusError")
        # Clear t-pay (close the reconciliation; nothing is unmatched without a statement, but
        # without an ending balance it cannot balance: give it one).
        self.k.ok("patch", "-n", ns, "reconciliation", "open", "--type", "merge",
                  "-p", '{"spec":{"openingBalance":"0.00","statementEndingBalance":"100.00","close":true}}')
        self.k.ok("wait", "-n", ns, "reconciliation/open", "--for=condition=Reconciled", "--timeout=60s")
        # S6-15: a cleared transaction does not leave.
        self.refused(self.kubectl("patch", "-n", ns, "accounttransaction", "t-pay", "--type", "json",
                                  "-p", '[{"op":"remove","path":"/spec/reconciliation"}]'),
                     "AccountingFinAccountTransInvalidStatusError")
        # S6-07: the reconciliation is closed.
        self.apply([txn("t-late", "checking", "DEPOSIT", "7", state="CREATED")], ns)
        self.refused(self.kubectl("patch", "-n", ns, "accounttransaction", "t-late", "--type", "merge",
                                  "-p", '{"spec":{"reconciliation":"open"}}'), "AccountingInvalidGlReconciliation")
        # S6-20: read-only once closed.
        self.refused(self.kubectl("patch", "-n", ns, "reconciliation", "open", "--type", "merge",
                                  "-p", '{"spec":{"openingBalance":"5.00"}}'), "AccountingGlReconciliationReconciled")
        self.assertEqual(self.status(ns, "open")["reconciledBalance"], "100.00")
        # Nor does what it cleared go away.
        self.refused(self.kubectl("delete", "-n", ns, "accounttransaction", "t-pay"),
                     "AccountingGlReconciliationReconciled")
        self.assertEqual(self.get(ns, "accounttransactions", "t-pay")["spec"]["state"], "APPROVED")
        # The declared selectable fields select.
        self.assertEqual(self.k.ok("get", "-n", ns, "accounttransactions", "--field-selector",
                                   "spec.state=CREATED,spec.account=checking", "-o", "name").split(),
                         ["accounttransaction.accounting.setpoint.dev/t-late",
                          "accounttransaction.accounting.setpoint.dev/t-unpaid"])
        # The balances of the account: every transaction, and the cleared ones.
        wait_until(lambda: self.get(ns, "financialaccounts", "checking").get("status", {}).get("actualBalance")
                   == "122.01", TIMEOUT, "actualBalance 10.01 + 100 + 5 + 7")

    # -- 2. the services through the controller -------------------------------------------------

    def test_2_services(self):
        ns = "services"
        self.namespace(ns)
        self.apply([account("bank", glAccount="111100")], ns)
        # S6-12: a deposit whose payment debited undeposited funds; S6-13: an adjustment with an
        # unposted entry of its own. S6-10: DEP 100 and WD 30.
        self.apply([
            obj("Reconciliation", "r", {"account": "bank", "openingBalance": "1000.00",
                                        "statementEndingBalance": "1100.00"}),
            txn("dep", "bank", "DEPOSIT", "100", payment={"id": "PAY-1", "status": "PMNT_RECEIVED"}),
            txn("wd", "bank", "WITHDRAWAL", "30", state="CREATED"),
            txn("adj", "bank", "ADJUSTMENT", "-4.50", state="CREATED"),
            obj("JournalEntry", "pay-1", {"payment": "PAY-1", "lines": [
                {"glAccount": "112000", "debitCredit": "D", "amount": "100.00"},
                {"glAccount": "120000", "debitCredit": "C", "amount": "100.00"}]}),
            obj("JournalEntry", "adj-entry", {"transaction": "adj", "posted": False, "lines": [
                {"glAccount": "111100", "debitCredit": "C", "amount": "4.50"},
                {"glAccount": "820000", "debitCredit": "D", "amount": "4.50"}]}),
        ], ns)
        for name in ("dep", "wd"):
            self.k.ok("patch", "-n", ns, "accounttransaction", name, "--type", "merge",
                      "-p", '{"spec":{"reconciliation":"r"}}')
        # Unbalanced journal entries are refused.
        path = self.write("je.yaml", yaml.safe_dump(obj("JournalEntry", "bad", {"lines": [
            {"glAccount": "1", "debitCredit": "D", "amount": "1.00"},
            {"glAccount": "2", "debitCredit": "C", "amount": "0.99"}]})))
        self.refused(self.kubectl("create", "-n", ns, "-f", path), "AccountingTransactionNotBalanced")
        # Nothing is cleared before the statement date or close: S6-11's reconciledDate is empty.
        s = self.wait_status(ns, "r", lambda s: s.get("assignedTransactions") == 2, "two assigned")
        self.assertEqual(s["reconciledBalance"], "0.00")
        self.assertNotIn("reconciledDate", s)
        # S6-18 before clearing: Σ assigned + reconciled = 70.
        self.assertEqual(s["transactionTotal"], "70.00")
        # close: every assigned transaction clears; the difference stands, so it stays open.
        self.k.ok("patch", "-n", ns, "reconciliation", "r", "--type", "merge", "-p", '{"spec":{"close":true}}')
        s = self.wait_status(ns, "r", lambda s: s.get("clearedTransactions") == 2, "two cleared")
        # S6-10, S6-16, S6-18
        self.assertEqual(s["reconciledBalance"], "70.00")
        self.assertEqual(s["closingBalance"], "1070.00")
        self.assertEqual(s["difference"], "30.00")
        self.assertEqual(s["transactionTotal"], "140.00")  # upstream's double count, kept
        self.assertEqual(s["phase"], "Created")
        self.assertEqual(self.condition(s, "Reconciled")["reason"], "Unbalanced")
        self.assertTrue(s.get("reconciledDate"))  # S6-11: nothing assigned is left uncleared
        for name in ("dep", "wd"):
            t = self.get(ns, "accounttransactions", name)
            self.assertEqual(t["spec"]["state"], "APPROVED")
            self.assertEqual(t["status"]["clearedBy"], "r")
        # S6-12: the clearing entry credits undeposited funds and debits the bank's GL account.
        clearing = self.get(ns, "journalentries", "dep-clearing")
        self.assertEqual(clearing["spec"]["reconciliation"], "r")
        self.assertEqual(sorted((l["glAccount"], l["debitCredit"], l["amount"], l["reconcileStatus"])
                                for l in clearing["spec"]["lines"]),
                         [("111100", "D", "100.00", "AES_RECONCILED"), ("112000", "C", "100.00", "AES_RECONCILED")])
        original = self.get(ns, "journalentries", "pay-1")
        self.assertEqual([l["reconcileStatus"] for l in original["spec"]["lines"]],
                         ["AES_RECONCILED", "AES_NOT_RECONCILED"])
        # S6-13: the adjustment's own entry is posted and reconciled once it clears.
        self.k.ok("patch", "-n", ns, "accounttransaction", "adj", "--type", "merge",
                  "-p", '{"spec":{"reconciliation":"r"}}')
        s = self.wait_status(ns, "r", lambda s: s.get("clearedTransactions") == 3, "three cleared")
        self.assertEqual(s["reconciledBalance"], "65.50")
        entry = self.get(ns, "journalentries", "adj-entry")
        self.assertTrue(entry["spec"]["posted"])
        self.assertEqual(entry["spec"]["reconciliation"], "r")
        self.assertEqual({l["reconcileStatus"] for l in entry["spec"]["lines"]}, {"AES_RECONCILED"})

        # S6-14: cancel unassigns only what has not cleared.
        today = datetime.datetime.now(datetime.timezone.utc).date()
        later = (today + datetime.timedelta(days=30)).isoformat()
        self.apply([obj("Reconciliation", "c", {"account": "bank", "statementDate": later}),
                    txn("c-open", "bank", "DEPOSIT", "1", state="CREATED"),
                    txn("c-done", "bank", "DEPOSIT", "2", state="CREATED")], ns)
        self.wait_status(ns, "c", lambda s: s.get("phase") == "Created", "phase Created")
        for name in ("c-open", "c-done"):
            self.k.ok("patch", "-n", ns, "accounttransaction", name, "--type", "merge",
                      "-p", '{"spec":{"reconciliation":"c"}}')
        self.apply([obj("ReconciliationMatch", "c-manual", {"reconciliation": "c", "lines": ["none"],
                                                             "transactions": ["c-done"], "accepted": True})], ns)
        wait_until(lambda: self.get(ns, "accounttransactions", "c-done")["spec"]["state"] == "APPROVED", TIMEOUT,
                   "c-done cleared by its accepted match")
        self.k.ok("patch", "-n", ns, "reconciliation", "c", "--type", "merge", "-p", '{"spec":{"cancel":true}}')
        wait_until(lambda: "reconciliation" not in self.get(ns, "accounttransactions", "c-open")["spec"], TIMEOUT,
                   "c-open unassigned")
        self.assertEqual(self.get(ns, "accounttransactions", "c-done")["spec"]["reconciliation"], "c")
        self.wait_status(ns, "c", lambda s: self.condition(s, "Reconciled").get("reason") == "Cancelled",
                         "Reconciled=False/Cancelled")

        # S6-19: the scheduled auto-reconciliation runs on the statement date (today).
        self.apply([obj("Reconciliation", "auto", {"account": "bank", "statementDate": today.isoformat()}),
                    txn("a1", "bank", "DEPOSIT", "10", state="CREATED"),
                    txn("a2", "bank", "WITHDRAWAL", "3", state="CREATED")], ns)
        self.wait_status(ns, "auto", lambda s: s.get("phase") == "Created", "phase Created")
        for name in ("a1", "a2"):
            self.k.ok("patch", "-n", ns, "accounttransaction", name, "--type", "merge",
                      "-p", '{"spec":{"reconciliation":"auto"}}')
        s = self.wait_status(ns, "auto", lambda s: s.get("clearedTransactions") == 2, "both cleared on the day")
        self.assertEqual(s["reconciledBalance"], "7.00")

        # autoAccept: Exact accepts what matches by reference and amount, and nothing else.
        self.apply([
            obj("BankStatement", "s-exact", {"account": "bank", "openingBalance": "0.00", "closingBalance": "65.00",
                                             "lines": [{"id": "X1", "bookingDate": "2026-11-02", "amount": "40.00",
                                                        "reference": "R-1"},
                                                       {"id": "X2", "bookingDate": "2026-11-03", "amount": "25.00"}]}),
            txn("x1", "bank", "DEPOSIT", "40", state="CREATED", reference="r-1",
                transactionDate="2026-10-20T00:00:00Z"),
            txn("x2", "bank", "DEPOSIT", "25", state="CREATED", transactionDate="2026-11-03T09:00:00Z"),
            obj("Reconciliation", "exact", {"account": "bank", "statement": "s-exact", "autoAccept": "Exact",
                                            "statementDate": later}),
        ], ns)
        s = self.wait_status(ns, "exact", lambda s: s.get("clearedTransactions") == 1 and s.get("proposedMatches") == 1,
                             "the exact match cleared, the other proposed")
        self.assertEqual(s["reconciledBalance"], "40.00")
        self.assertEqual(s["matchedLines"], 1)
        self.assertEqual(self.get(ns, "accounttransactions", "x1")["status"]["clearedBy"], "exact")
        self.assertEqual(self.get(ns, "accounttransactions", "x2")["spec"]["state"], "CREATED")
        rules = {m["status"]["rule"]: m for m in self.items(ns, "reconciliationmatches")
                 if m["spec"]["reconciliation"] == "exact"}
        self.assertEqual(rules["Reference"]["status"]["phase"], "Cleared")
        self.assertFalse(rules["Amount"]["spec"]["accepted"])

    # -- 3. a month: 500 statement lines against 600 transactions -------------------------------

    def month(self):
        """The statement's lines and the ledger, with the differences the suite expects."""
        rnd = random.Random(19)
        start = datetime.date(2026, 10, 1)
        # The amounts written out below, so that no random one equals them.
        used = {Decimal(v) for v in ("100.00", "150.00", "50.00", "300.00", "19.99", "20.00", "2.50", "612.34",
                                      "250.00", "0.01")}

        def amount(lo, hi):
            while True:
                a = Decimal(rnd.randrange(lo * 100, hi * 100)) / 100
                if a not in used:
                    used.add(a)
                    return a

        lines, ledger = [], []

        def day(i):
            return start + datetime.timedelta(days=i)

        def add_txn(name, when, signed, ref=""):
            t = txn(name, "giro", "DEPOSIT" if signed > 0 else "WITHDRAWAL", abs(signed), state="CREATED",
                    transactionDate=f"{when.isoformat()}T12:00:00Z")
            if ref:
                t["spec"]["reference"] = ref
            ledger.append(t)

        for i in range(1, 486):  # same amount and reference: 485 Reference matches
            signed = amount(5, 900) * (1 if i % 3 else -1)
            when = day(i % 28)
            lines.append(("L%03d" % i, when, signed, f"INV-{i}"))
            add_txn(f"t{i:03d}", when - datetime.timedelta(days=i % 3), signed, f"INV-{i}")
        for i in range(486, 496):  # no reference, same amount 0..3 days off: 10 Amount matches
            signed = amount(1000, 2000)
            when = day(5 + i % 20)
            lines.append(("L%03d" % i, when, signed, ""))
            add_txn(f"t{i:03d}", when + datetime.timedelta(days=i % 4), signed)
        lines.append(("L496", day(14), Decimal("300.00"), ""))  # three transactions sum to it
        add_txn("split-a", day(13), Decimal("100.00"))
        add_txn("split-b", day(14), Decimal("150.00"))
        add_txn("split-c", day(15), Decimal("50.00"))
        lines.append(("L497", day(20), Decimal("19.99"), "INV-497"))  # a cent off
        add_txn("t497", day(20), Decimal("20.00"), "INV-497")
        lines.append(("L498", day(27), Decimal("-2.50"), ""))  # a fee only the bank knows
        lines.append(("L499", day(7), Decimal("-612.34"), ""))  # the ledger has it four days off
        add_txn("t499", day(11), Decimal("-612.34"))
        signed = amount(3000, 4000)  # one more Amount match, the same day
        lines.append(("L500", day(2), signed, ""))
        add_txn("t500", day(2), signed)
        add_txn("missing-deposit", day(29), Decimal("250.00"))  # not on the statement yet
        for i in range(98):  # November's, far outside every window
            add_txn(f"nov{i:02d}", datetime.date(2026, 11, 20), amount(5000, 9000))
        return lines, ledger

    def camt(self, lines, opening, closing):
        entries = []
        for lid, when, signed, ref in lines:
            rmt = f"<RmtInf><Strd><CdtrRefInf><Ref>{ref}</Ref></CdtrRefInf></Strd></RmtInf>" if ref else ""
            entries.append(
                f"<Ntry><NtryRef>{lid}</NtryRef><Amt Ccy=\"EUR\">{abs(signed):.2f}</Amt>"
                f"<CdtDbtInd>{'CRDT' if signed > 0 else 'DBIT'}</CdtDbtInd><Sts>BOOK</Sts>"
                f"<BookgDt><Dt>{when.isoformat()}</Dt></BookgDt><ValDt><Dt>{when.isoformat()}</Dt></ValDt>"
                f"<NtryDtls><TxDtls>{rmt}</TxDtls></NtryDtls></Ntry>")
        bal = lambda code, v: (f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"EUR\">{abs(v):.2f}</Amt>"
                               f"<CdtDbtInd>{'CRDT' if v >= 0 else 'DBIT'}</CdtDbtInd><Dt><Dt>2026-10-31</Dt></Dt></Bal>")
        return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\"><BkToCstmrStmt>"
                "<GrpHdr><MsgId>M1</MsgId></GrpHdr><Stmt><Id>STMT-2026-10</Id>"
                "<FrToDt><FrDtTm>2026-10-01T00:00:00</FrDtTm><ToDtTm>2026-10-31T23:59:59</ToDtTm></FrToDt>"
                "<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id><Ccy>EUR</Ccy></Acct>"
                + bal("OPBD", opening) + bal("CLBD", closing) + "\n" + "\n".join(entries) +
                "\n</Stmt></BkToCstmrStmt></Document>\n")

    def csv(self, lines):
        def german(v):  # 1.234,56 with a sign
            s = f"{abs(v):,.2f}".replace(",", "X").replace(".", ",").replace("X", ".")
            return ("-" if v < 0 else "") + s
        rows = ["Buchungstag;Valuta;Betrag;Referenz;Id"]
        for lid, when, signed, ref in lines:
            d = when.strftime("%d.%m.%Y")
            rows.append(f"{d};{d};{german(signed)};{ref};{lid}")
        return "\n".join(rows) + "\n"

    def run_month(self, ns, fmt, statement_file, mapping=None):
        lines, ledger = self.month()
        opening = Decimal("10000.00")
        closing = opening + sum(l[2] for l in lines)
        self.namespace(ns)
        self.apply([account("giro", glAccount="111200")], ns)
        out = self.apply(ledger, ns)
        self.assertEqual(out.count(" created"), 600, out[-500:])
        path = self.write(f"statement.{fmt}", statement_file(lines, opening, closing))
        args = ["statement", "import", path, "--account", "giro", "--format", fmt, "-n", ns]
        if mapping:
            args += ["--mapping", mapping]
        rc, out, err = self.cli(*args)
        self.assertEqual(rc, 0, err)
        self.assertIn("bankstatement.accounting.setpoint.dev/stmt-2026-10 created (500 lines", out)
        self.apply([obj("Reconciliation", "oct", {"account": "giro", "statement": "stmt-2026-10"})], ns)

        # The proposals.
        s = self.wait_status(ns, "oct", lambda s: s.get("proposedMatches") == 498, "498 proposals")
        matches = self.items(ns, "reconciliationmatches")
        by_rule = {}
        for m in matches:
            by_rule.setdefault(m["status"]["rule"], []).append(m)
        self.assertEqual({r: len(v) for r, v in by_rule.items()}, {"Reference": 485, "Amount": 11, "Split": 1, "Near": 1})
        self.assertEqual({m["status"]["confidence"] for m in by_rule["Reference"]}, {1})
        split = by_rule["Split"][0]
        self.assertEqual(split["spec"]["lines"], ["L496"])
        self.assertEqual(split["spec"]["transactions"], ["split-a", "split-b", "split-c"])
        near = by_rule["Near"][0]
        self.assertEqual((near["spec"]["lines"], near["spec"]["transactions"]), (["L497"], ["t497"]))
        self.assertEqual(near["status"]["difference"], "-0.01")
        self.assertEqual(sorted(s["unmatched"]["lines"]), ["L498", "L499"])
        self.assertEqual(s["unmatchedTransactions"], 100)  # t499, the missing deposit, 98 of November
        self.assertIn("missing-deposit", s["unmatched"]["transactions"])
        self.assertEqual(s["openingBalance"], "10000.00")
        self.assertEqual(s["statementEndingBalance"], f"{closing:.2f}")
        self.assertEqual(s["difference"], f"{closing - opening:.2f}")
        for m in matches:
            self.assertEqual(m["metadata"]["ownerReferences"][0]["name"], "oct")
            self.assertFalse(m["spec"]["accepted"])

        # The right acceptances: everything at confidence 0.5 or more, with the CLI.
        rc, out, err = self.cli("match", "accept", "--reconciliation", "oct", "--min-confidence", "0.5", "-n", ns)
        self.assertEqual(rc, 0, err)
        self.assertEqual(out.count(" accepted"), 497)
        # The cent: an adjustment, matched with t497 to L497 by hand (the Near proposal withdraws).
        self.apply([txn("cent", "giro", "ADJUSTMENT", "-0.01", state="CREATED",
                        transactionDate="2026-10-21T12:00:00Z"),
                    obj("ReconciliationMatch", "l497-by-hand", {"reconciliation": "oct", "lines": ["L497"],
                                                                "transactions": ["t497", "cent"], "accepted": True}),
                    # The four days: by hand too.
                    obj("ReconciliationMatch", "l499-by-hand", {"reconciliation": "oct", "lines": ["L499"],
                                                                "transactions": ["t499"], "accepted": True}),
                    # The fee: booked, then proposed and accepted.
                    txn("fee-oct", "giro", "WITHDRAWAL", "2.50", state="CREATED",
                        transactionDate="2026-10-28T08:00:00Z")], ns)
        wait_until(lambda: any(m["spec"]["transactions"] == ["fee-oct"] for m in self.items(ns, "reconciliationmatches")),
                   TIMEOUT, "a proposal for the fee")
        fee = [m for m in self.items(ns, "reconciliationmatches") if m["spec"]["transactions"] == ["fee-oct"]][0]
        self.assertEqual(fee["status"]["rule"], "Amount")
        rc, out, err = self.cli("match", "accept", fee["metadata"]["name"], "-n", ns)
        self.assertEqual(rc, 0, err)

        self.k.ok("wait", "-n", ns, "reconciliation/oct", "--for=condition=Balanced", "--timeout=120s", timeout=150)
        s = self.status(ns, "oct")
        self.assertEqual(s["difference"], "0.00")
        self.assertEqual(s["reconciledBalance"], f"{closing - opening:.2f}")
        self.assertEqual(s["closingBalance"], f"{closing:.2f}")
        self.assertEqual(s["matchedLines"], 500)
        self.assertEqual(s["clearedTransactions"], 503)  # 485 + 11 + 3 + t497, cent, t499, fee
        self.assertEqual(sorted(n for n in s["unmatched"]["transactions"] if not n.startswith("nov")),
                         ["missing-deposit"])
        self.assertFalse(any(m["metadata"]["name"] == near["metadata"]["name"]
                             for m in self.items(ns, "reconciliationmatches")))
        # Closing makes it read-only.
        self.k.ok("patch", "-n", ns, "reconciliation", "oct", "--type", "merge", "-p", '{"spec":{"close":true}}')
        self.k.ok("wait", "-n", ns, "reconciliation/oct", "--for=condition=Reconciled", "--timeout=60s")
        self.refused(self.kubectl("patch", "-n", ns, "reconciliation", "oct", "--type", "merge",
                                  "-p", '{"spec":{"openingBalance":"0.00"}}'), "AccountingGlReconciliationReconciled")
        self.refused(self.kubectl("patch", "-n", ns, "accounttransaction", "missing-deposit", "--type", "merge",
                                  "-p", '{"spec":{"reconciliation":"oct"}}'), "AccountingInvalidGlReconciliation")
        table = self.k.ok("get", "-n", ns, "reconciliation", "oct")
        self.assertIn("Reconciled", table)
        self.assertIn(f"{closing:.2f}", table)

    def test_3_a_month_from_camt053(self):
        self.run_month("camt", "camt053", self.camt)

    def test_3_a_month_from_csv(self):
        self.run_month("csv", "csv", lambda lines, opening, closing: self.csv(lines),
                       mapping="date=Buchungstag,valueDate=Valuta,amount=Betrag,reference=Referenz,id=Id,"
                               "dateFormat=DD.MM.YYYY,decimal=,,delimiter=;,opening=10.000,00,"
                               "statementId=STMT-2026-10")

    def test_3_a_statement_that_comes_after_its_reconciliation(self):
        ns = "late"
        self.namespace(ns)
        self.apply([account("giro"), txn("t1", "giro", "DEPOSIT", "12.00", state="CREATED", reference="A-1"),
                    obj("Reconciliation", "nov", {"account": "giro", "statement": "stmt-late"})], ns)
        s = self.wait_status(ns, "nov", lambda s: s.get("phase") == "Created", "phase Created")
        self.assertEqual(s["proposedMatches"], 0)
        self.assertEqual(self.condition(s, "Balanced")["status"], "False")
        # The statement arriving is what brings the reconciliation back.
        self.apply([obj("BankStatement", "stmt-late", {"account": "giro", "openingBalance": "0.00",
                                                       "closingBalance": "12.00", "lines": [
                                                           {"id": "B1", "bookingDate": "2026-11-02", "amount": "12.00",
                                                            "reference": "A-1"}]})], ns)
        s = self.wait_status(ns, "nov", lambda s: s.get("proposedMatches") == 1, "a proposal from the late statement")
        self.assertEqual(s["statementEndingBalance"], "12.00")

    def test_3_a_failed_match_and_a_deleted_reconciliation(self):
        ns = "failing"
        self.namespace(ns)
        self.apply([account("giro"),
                    txn("mine", "giro", "DEPOSIT", "5", state="CREATED"),
                    txn("theirs", "giro", "DEPOSIT", "6", state="CREATED"),
                    obj("Reconciliation", "a", {"account": "giro"}),
                    obj("Reconciliation", "b", {"account": "giro"})], ns)
        for name in ("a", "b"):
            self.wait_status(ns, name, lambda s: s.get("phase") == "Created", "phase Created")
        self.k.ok("patch", "-n", ns, "accounttransaction", "theirs", "--type", "merge",
                  "-p", '{"spec":{"reconciliation":"b"}}')
        self.k.ok("patch", "-n", ns, "accounttransaction", "mine", "--type", "merge",
                  "-p", '{"spec":{"reconciliation":"a"}}')
        # A match of "a" naming b's transaction fails, says why, and clears nothing.
        self.apply([obj("ReconciliationMatch", "wrong", {"reconciliation": "a", "lines": ["x"],
                                                          "transactions": ["theirs"], "accepted": True})], ns)
        m = wait_until(lambda: (lambda m: m if m.get("status", {}).get("phase") == "Failed" else None)(
            self.get(ns, "reconciliationmatches", "wrong")), TIMEOUT, "the match Failed")
        self.assertEqual(m["status"]["message"], 'transaction "theirs" is assigned to reconciliation "b"')
        self.assertEqual(self.get(ns, "accounttransactions", "theirs")["spec"]["state"], "CREATED")
        wait_until(lambda: "MatchFailed" in self.k.ok("get", "events", "-n", ns), TIMEOUT, "a MatchFailed event")
        # Deleting "a" unassigns what it had not cleared before it goes.
        self.k.ok("delete", "-n", ns, "reconciliation", "a", "--timeout=60s")
        self.assertNotIn("reconciliation", self.get(ns, "accounttransactions", "mine")["spec"])
        self.assertEqual(self.get(ns, "accounttransactions", "theirs")["spec"]["reconciliation"], "b")

    # -- 4. a malformed file --------------------------------------------------------------------

    def test_4_a_malformed_statement_creates_nothing(self):
        ns = "malformed"
        self.namespace(ns)
        self.apply([account("giro")], ns)
        path = self.write("bad.csv", "Date,Amount\n2026-10-01,1.00\n2026-10-02,1.0.0\n")
        rc, out, err = self.cli("statement", "import", path, "--account", "giro", "--format", "csv",
                                "--mapping", "date=Date,amount=Amount,statementId=bad", "-n", ns)
        self.assertEqual(rc, 1)
        self.assertIn("line 3: column Amount: \"1.0.0\" is not an amount", err)
        path = self.write("bad.xml", "<Document><BkToCstmrStmt><Stmt><Id>X</Id>\n<Bal></Stmt></Document>")
        rc, out, err = self.cli("statement", "import", path, "--account", "giro", "--format", "camt053", "-n", ns)
        self.assertEqual(rc, 1)
        self.assertIn("line 2: malformed XML: mismatched tag", err)
        self.assertEqual(self.items(ns, "bankstatements"), [])

    # -- 5. the README's example ----------------------------------------------------------------

    def test_5_the_readme_example_runs_as_written(self):
        ns = "readme"
        self.namespace(ns)
        example = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "bank-reconciliation")
        self.k.ok("apply", "-n", ns, "-f", os.path.join(example, "ledger.yaml"))
        rc, out, err = self.cli("statement", "import", os.path.join(example, "october.xml"), "--account", "giro",
                                "--format", "camt053", "-n", ns)
        self.assertEqual(rc, 0, err)
        self.apply([obj("Reconciliation", "oct", {"account": "giro", "statement": "stmt-2026-10"})], ns)
        self.k.ok("wait", "-n", ns, "reconciliation/oct", "--for=jsonpath={.status.proposedMatches}=3", "--timeout=60s")
        self.assertEqual(self.status(ns, "oct")["unmatched"]["lines"], ["E4"])
        self.k.ok("apply", "-n", ns, "-f", os.path.join(example, "fee.yaml"))
        self.k.ok("wait", "-n", ns, "reconciliation/oct", "--for=jsonpath={.status.proposedMatches}=4", "--timeout=60s")
        rc, out, err = self.cli("match", "accept", "--reconciliation", "oct", "--min-confidence", "0.5", "-n", ns)
        self.assertEqual((rc, out.count(" accepted")), (0, 4), err)
        self.k.ok("wait", "-n", ns, "reconciliation/oct", "--for=condition=Balanced", "--timeout=60s")
        self.k.ok("patch", "-n", ns, "reconciliation", "oct", "--type", "merge", "-p", '{"spec":{"close":true}}')
        self.k.ok("wait", "-n", ns, "reconciliation/oct", "--for=condition=Reconciled", "--timeout=60s")
        s = self.status(ns, "oct")
        self.assertEqual((s["closingBalance"], s["difference"]), ("597.50", "0.00"))


if __name__ == "__main__":
    harness.main()

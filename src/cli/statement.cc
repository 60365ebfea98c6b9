// `setpoint statement import` and `setpoint match accept` (cli.h): bank reconciliation's commands.
#include <fstream>
#include <sstream>

#include <boost/json.hpp>

#include "accounting/statement_import.h"
#include "cli/cli.h"
#include "cli/session.h"
#include "setpoint/api/yaml.h"
#include "setpoint/common/json.h"
#include "setpoint/types/accounting_v1alpha1.h"

namespace setpoint::cli {

namespace json = boost::json;

namespace {

const client::GroupVersionResource kStatements{"accounting.setpoint.dev", "v1alpha1", "bankstatements", true,
                                               "BankStatement"};
const client::GroupVersionResource kAccounts{"accounting.setpoint.dev", "v1alpha1", "financialaccounts", true,
                                             "FinancialAccount"};
const client::GroupVersionResource kMatches{"accounting.setpoint.dev", "v1alpha1", "reconciliationmatches", true,
                                            "ReconciliationMatch"};

json::object StatementObject(const accounting::ImportedStatement& s, const std::string& account,
                             const std::string& ns) {
  json::array lines;
  for (const auto& l : s.lines) {
    json::object line{{"id", l.id}, {"bookingDate", l.booking_date}, {"amount", l.amount.str()}};
    auto put = [&](const char* k, const std::string& v) {
      if (!v.empty()) line[k] = v;
    };
    put("valueDate", l.value_date);
    put("reference", l.reference);
    put("endToEndId", l.end_to_end_id);
    put("counterparty", l.counterparty);
    put("text", l.text);
    lines.push_back(std::move(line));
  }
  json::object spec{{"account", account},
                    {"statementId", s.statement_id},
                    {"openingBalance", s.opening.str()},
                    {"closingBalance", s.closing.str()},
                    {"lines", std::move(lines)}};
  if (!s.currency.empty()) spec["currency"] = s.currency;
  json::object period;
  if (!s.from.empty()) period["from"] = s.from;
  if (!s.to.empty()) period["to"] = s.to;
  if (!period.empty()) spec["period"] = std::move(period);
  json::object meta{{"name", accounting::StatementObjectName(s.statement_id)}};
  if (!ns.empty()) meta["namespace"] = ns;
  return {{"apiVersion", "accounting.setpoint.dev/v1alpha1"},
          {"kind", "BankStatement"},
          {"metadata", std::move(meta)},
          {"spec", std::move(spec)}};
}

}  // namespace

int ImportStatement(const CommonOptions& common, const ImportStatementOptions& o, std::ostream& out,
                    std::ostream& err) {
  std::ifstream in(o.file, std::ios::binary);
  if (!in) {
    err << "error: cannot read " << o.file << "\n";
    return 1;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string text = buf.str();
  Result<accounting::ImportedStatement> parsed = Err(Status::BadRequest("unknown format"));
  if (o.format == "camt053") {
    parsed = accounting::ParseCamt053(text);
  } else if (o.format == "ofx") {
    parsed = accounting::ParseOfx(text);
  } else if (o.format == "csv") {
    auto mapping = accounting::CsvMapping::Parse(o.mapping);
    if (!mapping) {
      err << "error: --mapping: " << mapping.error().message() << "\n";
      return 1;
    }
    parsed = accounting::ParseCsv(text, *mapping);
  } else {
    err << "error: --format must be camt053, ofx or csv\n";
    return 1;
  }
  if (!parsed) {
    err << "error: " << o.file << ": " << parsed.error().message() << "\n";
    return 1;
  }
  if (o.dry_run) {
    json::object obj = StatementObject(*parsed, o.account, common.ns);
    out << (o.output == "json" ? json::serialize(obj) + "\n" : api::JsonToYaml(obj));
    return 0;
  }
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  json::object obj = StatementObject(*parsed, o.account, s.ns);
  // The account must exist, and a statement in another currency is not its statement.
  auto account = s.dynamic->get(kAccounts, s.ns, o.account);
  if (!account) return Fail(err, account.error());
  const json::object* spec = GetObject(*account, "spec");
  const std::string currency(spec ? GetStringOr(*spec, "currency", "") : "");
  if (!parsed->currency.empty() && !currency.empty() && parsed->currency != currency) {
    err << "error: the statement is in " << parsed->currency << ", financial account \"" << o.account << "\" in "
        << currency << "\n";
    return 1;
  }
  auto created = s.dynamic->create(kStatements, s.ns, obj);
  if (!created) return Fail(err, created.error());
  const json::object* meta = GetObject(*created, "metadata");
  out << "bankstatement.accounting.setpoint.dev/" << (meta ? GetStringOr(*meta, "name", "") : "") << " created ("
      << parsed->lines.size() << " lines, opening " << parsed->opening.str() << ", closing " << parsed->closing.str()
      << ")\n";
  return 0;
}

int AcceptMatches(const CommonOptions& common, const AcceptMatchesOptions& o, std::ostream& out, std::ostream& err) {
  if (o.names.empty() == o.reconciliation.empty()) {
    err << "error: name matches, or give --reconciliation with --min-confidence\n";
    return 1;
  }
  auto session = Connect(common);
  if (!session) return Fail(err, session.error(), false);
  Session& s = *session;
  std::vector<std::string> names = o.names;
  if (!o.reconciliation.empty()) {
    client::ListOptions by_reconciliation;
    by_reconciliation.field_selector = "spec.reconciliation=" + o.reconciliation;
    auto list = s.dynamic->list(kMatches, s.ns, by_reconciliation);
    if (!list) return Fail(err, list.error());
    for (const auto& item : list->items) {
      const json::object* spec = GetObject(item, "spec");
      const json::object* status = GetObject(item, "status");
      if (!spec) continue;
      const json::value* accepted = spec->if_contains("accepted");
      if (accepted && accepted->is_bool() && accepted->get_bool()) continue;
      const json::value* c = status ? status->if_contains("confidence") : nullptr;
      const double confidence = c && c->is_number() ? c->to_number<double>() : 0;
      if (confidence + 1e-9 < o.min_confidence) continue;
      names.push_back(std::string(GetStringOr(*GetObject(item, "metadata"), "name", "")));
    }
  }
  int rc = 0;
  for (const auto& name : names) {
    auto patched = s.dynamic->patch(kMatches, s.ns, name, client::PatchType::kMerge, R"({"spec":{"accepted":true}})");
    if (!patched) {
      rc = Fail(err, patched.error());
      continue;
    }
    out << "reconciliationmatch.accounting.setpoint.dev/" << name << " accepted\n";
  }
  return rc;
}

}  // namespace setpoint::cli

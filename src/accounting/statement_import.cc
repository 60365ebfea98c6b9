#include "accounting/statement_import.h"

#include <expat.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <set>

namespace setpoint::accounting {
namespace {

// ---------------------------------------------------------------------------------------------
// A small element tree, from expat (XML) or from the OFX 1.x SGML reader.

struct Node {
  std::string name;  // the local name (a namespace prefix dropped)
  std::string text;  // the element's own character data, trimmed
  std::vector<std::unique_ptr<Node>> kids;
  std::vector<std::pair<std::string, std::string>> attributes;
  long line = 0;

  std::string attribute(std::string_view n) const {
    for (const auto& [k, v] : attributes)
      if (k == n) return v;
    return "";
  }

  const Node* child(std::string_view n) const {
    for (const auto& k : kids)
      if (k->name == n) return k.get();
    return nullptr;
  }
  std::vector<const Node*> all(std::string_view n) const {
    std::vector<const Node*> out;
    for (const auto& k : kids)
      if (k->name == n) out.push_back(k.get());
    return out;
  }
  // The node at a path of child names, or null.
  const Node* at(std::initializer_list<std::string_view> path) const {
    const Node* n = this;
    for (auto p : path)
      if (!(n = n->child(p))) return nullptr;
    return n;
  }
  std::string text_at(std::initializer_list<std::string_view> path) const {
    const Node* n = at(path);
    return n ? n->text : std::string();
  }
  // The first node named `n` in document order below this one, or null.
  const Node* find(std::string_view n) const {
    for (const auto& k : kids) {
      if (k->name == n) return k.get();
      if (const Node* f = k->find(n)) return f;
    }
    return nullptr;
  }
};

std::string Trim(std::string_view s) {
  std::size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

std::string LocalName(std::string_view qname) {
  auto colon = qname.rfind(':');
  return std::string(colon == std::string_view::npos ? qname : qname.substr(colon + 1));
}

Status AtLine(long line, std::string message) {
  return Status::BadRequest("line " + std::to_string(line) + ": " + std::move(message));
}

struct XmlBuild {
  XML_Parser parser = nullptr;
  std::unique_ptr<Node> root;
  std::vector<Node*> stack;
  std::vector<std::string> texts;
  std::string refused;  // why parsing was stopped by us
};

void XMLCALL OnStart(void* data, const XML_Char* name, const XML_Char** attributes) {
  auto* b = static_cast<XmlBuild*>(data);
  auto node = std::make_unique<Node>();
  node->name = LocalName(name);
  for (int k = 0; attributes[k] && attributes[k + 1]; k += 2)
    node->attributes.emplace_back(LocalName(attributes[k]), attributes[k + 1]);
  node->line = static_cast<long>(XML_GetCurrentLineNumber(b->parser));
  Node* raw = node.get();
  if (b->stack.empty())
    b->root = std::move(node);
  else
    b->stack.back()->kids.push_back(std::move(node));
  b->stack.push_back(raw);
  b->texts.emplace_back();
}

void XMLCALL OnEnd(void* data, const XML_Char*) {
  auto* b = static_cast<XmlBuild*>(data);
  b->stack.back()->text = Trim(b->texts.back());
  b->stack.pop_back();
  b->texts.pop_back();
}

void XMLCALL OnText(void* data, const XML_Char* s, int len) {
  auto* b = static_cast<XmlBuild*>(data);
  if (!b->texts.empty()) b->texts.back().append(s, static_cast<std::size_t>(len));
}

void XMLCALL OnDoctype(void* data, const XML_Char*, const XML_Char*, const XML_Char*, int) {
  auto* b = static_cast<XmlBuild*>(data);
  b->refused = "a DOCTYPE is not accepted";
  XML_StopParser(b->parser, XML_FALSE);
}

Result<std::unique_ptr<Node>> ParseXml(std::string_view xml) {
  XmlBuild b;
  b.parser = XML_ParserCreate(nullptr);
  if (!b.parser) return Err(Status::Internal("cannot create an XML parser"));
  std::unique_ptr<std::remove_pointer_t<XML_Parser>, decltype(&XML_ParserFree)> guard(b.parser, &XML_ParserFree);
  XML_SetUserData(b.parser, &b);
  XML_SetElementHandler(b.parser, OnStart, OnEnd);
  XML_SetCharacterDataHandler(b.parser, OnText);
  XML_SetStartDoctypeDeclHandler(b.parser, OnDoctype);
  if (XML_Parse(b.parser, xml.data(), static_cast<int>(xml.size()), XML_TRUE) != XML_STATUS_OK) {
    const long line = static_cast<long>(XML_GetCurrentLineNumber(b.parser));
    std::string why = b.refused.empty() ? XML_ErrorString(XML_GetErrorCode(b.parser)) : b.refused;
    std::string where = b.stack.empty() ? "" : " (in <" + b.stack.back()->name + ">)";
    return Err(AtLine(line, "malformed XML: " + why + where));
  }
  if (!b.root) return Err(Status::BadRequest("no XML element"));
  return std::move(b.root);
}

// ---------------------------------------------------------------------------------------------
// Amounts and dates.

Result<Decimal> Amount(const Node* n, std::string_view what, long line) {
  if (!n || n->text.empty()) return Err(AtLine(line, "no " + std::string(what)));
  auto d = Decimal::Parse(n->text);
  if (!d) return Err(AtLine(n->line, "<" + n->name + "> " + d.error().message()));
  return *d;
}

bool IsDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// camt's <Dt> or <DtTm> below `n`, as YYYY-MM-DD ("" when absent).
Result<std::string> CamtDate(const Node* n) {
  if (!n) return std::string();
  const Node* d = n->child("Dt");
  if (!d) d = n->child("DtTm");
  if (!d) return std::string();
  std::string s = d->text.substr(0, 10);
  if (!IsDate(s)) return Err(AtLine(d->line, "<" + d->name + "> \"" + d->text + "\" is not a date"));
  return s;
}

// ---------------------------------------------------------------------------------------------
// camt.053

std::string Counterparty(const Node* ntry, bool credit) {
  const Node* parties = ntry->at({"NtryDtls", "TxDtls", "RltdPties"});
  if (!parties) return "";
  const Node* p = parties->child(credit ? "Dbtr" : "Cdtr");
  if (!p) return "";
  if (const Node* pty = p->child("Pty")) p = pty;  // camt.053.001.08 and later
  return p->text_at({"Nm"});
}

Status CheckUnique(std::vector<ImportedLine>& lines, const std::vector<long>& line_numbers) {
  std::set<std::string> ids;
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (!ids.insert(lines[i].id).second)
      return AtLine(line_numbers[i], "entry id \"" + lines[i].id + "\" is not unique");
  return Status::Ok();
}

}  // namespace

Result<ImportedStatement> ParseCamt053(std::string_view xml) {
  auto root = ParseXml(xml);
  if (!root) return Err(root.error());
  const Node& doc = **root;
  if (doc.name != "Document") return Err(AtLine(doc.line, "the root element is <" + doc.name + ">, not <Document>"));
  const Node* stmt = doc.at({"BkToCstmrStmt", "Stmt"});
  if (!stmt) return Err(AtLine(doc.line, "no <BkToCstmrStmt><Stmt>: not a camt.053 statement"));
  ImportedStatement out;
  out.statement_id = stmt->text_at({"Id"});
  if (out.statement_id.empty()) return Err(AtLine(stmt->line, "<Stmt> has no <Id>"));
  out.account_id = stmt->text_at({"Acct", "Id", "IBAN"});
  if (out.account_id.empty()) out.account_id = stmt->text_at({"Acct", "Id", "Othr", "Id"});
  out.currency = stmt->text_at({"Acct", "Ccy"});
  out.from = stmt->text_at({"FrToDt", "FrDtTm"}).substr(0, 10);
  out.to = stmt->text_at({"FrToDt", "ToDtTm"}).substr(0, 10);

  std::optional<Decimal> opening, previous_closing, closing;
  for (const Node* bal : stmt->all("Bal")) {
    const std::string code = bal->text_at({"Tp", "CdOrPrtry", "Cd"});
    auto amount = Amount(bal->child("Amt"), "<Amt> in <Bal>", bal->line);
    if (!amount) return Err(amount.error());
    const std::string ind = bal->text_at({"CdtDbtInd"});
    if (ind != "CRDT" && ind != "DBIT") return Err(AtLine(bal->line, "<Bal> has no CdtDbtInd CRDT or DBIT"));
    const Decimal v = ind == "DBIT" ? amount->negated() : *amount;
    if (code == "OPBD") opening = v;
    if (code == "PRCD") previous_closing = v;
    if (code == "CLBD") closing = v;
    if (out.currency.empty()) out.currency = bal->child("Amt")->attribute("Ccy");
  }
  if (!opening) opening = previous_closing;
  if (!opening) return Err(AtLine(stmt->line, "<Stmt> has no opening balance (Bal of type OPBD or PRCD)"));
  if (!closing) return Err(AtLine(stmt->line, "<Stmt> has no closing balance (Bal of type CLBD)"));
  out.opening = *opening;
  out.closing = *closing;

  std::vector<long> line_numbers;
  int index = 0;
  for (const Node* ntry : stmt->all("Ntry")) {
    ++index;
    std::string status = ntry->text_at({"Sts"});
    if (status.empty()) status = ntry->text_at({"Sts", "Cd"});
    if (status == "PDNG" || status == "INFO") continue;  // not booked: not in the balances
    ImportedLine l;
    auto amount = Amount(ntry->child("Amt"), "<Amt> in <Ntry>", ntry->line);
    if (!amount) return Err(amount.error());
    const std::string ind = ntry->text_at({"CdtDbtInd"});
    if (ind != "CRDT" && ind != "DBIT") return Err(AtLine(ntry->line, "<Ntry> has no CdtDbtInd CRDT or DBIT"));
    l.amount = ind == "DBIT" ? amount->negated() : *amount;
    auto booked = CamtDate(ntry->child("BookgDt"));
    if (!booked) return Err(booked.error());
    if (booked->empty()) return Err(AtLine(ntry->line, "<Ntry> has no <BookgDt>"));
    l.booking_date = *booked;
    auto valued = CamtDate(ntry->child("ValDt"));
    if (!valued) return Err(valued.error());
    l.value_date = *valued;
    l.id = ntry->text_at({"NtryRef"});
    if (l.id.empty()) l.id = ntry->text_at({"AcctSvcrRef"});
    if (l.id.empty()) l.id = "E" + std::to_string(index);
    const Node* tx = ntry->at({"NtryDtls", "TxDtls"});
    if (tx) {
      l.end_to_end_id = tx->text_at({"Refs", "EndToEndId"});
      if (l.end_to_end_id == "NOTPROVIDED") l.end_to_end_id.clear();
      l.reference = tx->text_at({"RmtInf", "Strd", "CdtrRefInf", "Ref"});
      if (l.reference.empty()) l.reference = tx->text_at({"RmtInf", "Ustrd"});
    }
    l.counterparty = Counterparty(ntry, ind == "CRDT");
    l.text = ntry->text_at({"AddtlNtryInf"});
    if (l.text.empty() && tx) l.text = tx->text_at({"RmtInf", "Ustrd"});
    out.lines.push_back(std::move(l));
    line_numbers.push_back(ntry->line);
  }
  if (Status s = CheckUnique(out.lines, line_numbers); !s.ok()) return Err(s);
  return out;
}

// ---------------------------------------------------------------------------------------------
// OFX

namespace {

// OFX 1.x: SGML whose leaf elements have no end tag. Builds the same tree as XML would.
Result<std::unique_ptr<Node>> ParseOfxSgml(std::string_view text) {
  auto root = std::make_unique<Node>();
  root->name = "#document";
  std::vector<Node*> stack{root.get()};
  long line = 1;
  std::size_t i = text.find('<');
  for (std::size_t k = 0; k < i && k < text.size(); ++k)
    if (text[k] == '\n') ++line;
  if (i == std::string_view::npos) return Err(Status::BadRequest("no OFX element"));
  // A leaf is an element with text and no children; the next tag closes it.
  auto close_leaf = [&] {
    Node* top = stack.back();
    if (stack.size() > 1 && !top->text.empty() && top->kids.empty()) stack.pop_back();
  };
  while (i < text.size()) {
    if (text[i] == '<') {
      const std::size_t end = text.find('>', i);
      if (end == std::string_view::npos) return Err(AtLine(line, "a tag is not closed with '>'"));
      std::string_view tag = text.substr(i + 1, end - i - 1);
      if (tag.empty() || tag.find('<') != std::string_view::npos) return Err(AtLine(line, "malformed tag"));
      if (tag.front() == '/') {
        const std::string name(Trim(tag.substr(1)));
        close_leaf();
        auto it = std::find_if(stack.rbegin(), stack.rend() - 1, [&](Node* n) { return n->name == name; });
        if (it == stack.rend() - 1) return Err(AtLine(line, "</" + name + "> closes no open element"));
        stack.erase(std::next(it).base(), stack.end());
      } else if (tag.front() != '?' && tag.front() != '!') {
        close_leaf();
        auto node = std::make_unique<Node>();
        node->name = Trim(tag);
        node->line = line;
        Node* raw = node.get();
        stack.back()->kids.push_back(std::move(node));
        stack.push_back(raw);
      }
      for (std::size_t k = i; k <= end; ++k)
        if (text[k] == '\n') ++line;
      i = end + 1;
    } else {
      std::size_t next = text.find('<', i);
      if (next == std::string_view::npos) next = text.size();
      std::string_view raw = text.substr(i, next - i);
      for (char c : raw)
        if (c == '\n') ++line;
      std::string t = Trim(raw);
      if (!t.empty()) {
        if (stack.size() == 1) return Err(AtLine(line, "text outside the OFX element"));
        if (!stack.back()->kids.empty())
          return Err(AtLine(line, "text \"" + t + "\" after the children of <" + stack.back()->name + ">"));
        stack.back()->text = t;
      }
      i = next;
    }
  }
  close_leaf();
  if (stack.size() > 1) return Err(AtLine(line, "<" + stack.back()->name + "> is not closed"));
  const Node* ofx = root->child("OFX");
  if (!ofx) return Err(Status::BadRequest("no <OFX> element"));
  return root;
}

// OFX's datetime "YYYYMMDD[HHMMSS[.XXX]][[+-]h:TZ]" as YYYY-MM-DD.
Result<std::string> OfxDate(const Node* n) {
  if (!n || n->text.size() < 8) return Err(AtLine(n ? n->line : 0, "an OFX date must start YYYYMMDD"));
  for (int k = 0; k < 8; ++k)
    if (!std::isdigit(static_cast<unsigned char>(n->text[k])))
      return Err(AtLine(n->line, "<" + n->name + "> \"" + n->text + "\" is not an OFX date"));
  return n->text.substr(0, 4) + "-" + n->text.substr(4, 2) + "-" + n->text.substr(6, 2);
}

}  // namespace

Result<ImportedStatement> ParseOfx(std::string_view text) {
  const bool xml = text.find("<?xml") != std::string_view::npos;
  auto tree = xml ? ParseXml(text) : ParseOfxSgml(text);
  if (!tree) return Err(tree.error());
  const Node& root = **tree;
  const Node* stmtrs = root.name == "STMTRS" ? &root : root.find("STMTRS");
  if (!stmtrs) stmtrs = root.find("CCSTMTRS");
  if (!stmtrs) return Err(Status::BadRequest("no <STMTRS> (bank statement response) in the OFX file"));
  ImportedStatement out;
  out.currency = stmtrs->text_at({"CURDEF"});
  out.account_id = stmtrs->text_at({"BANKACCTFROM", "ACCTID"});
  if (out.account_id.empty()) out.account_id = stmtrs->text_at({"CCACCTFROM", "ACCTID"});
  const Node* list = stmtrs->child("BANKTRANLIST");
  if (!list) return Err(AtLine(stmtrs->line, "<STMTRS> has no <BANKTRANLIST>"));
  if (const Node* d = list->child("DTSTART")) {
    auto from = OfxDate(d);
    if (!from) return Err(from.error());
    out.from = *from;
  }
  if (const Node* d = list->child("DTEND")) {
    auto to = OfxDate(d);
    if (!to) return Err(to.error());
    out.to = *to;
  }
  const Node* ledger = stmtrs->child("LEDGERBAL");
  if (!ledger) return Err(AtLine(stmtrs->line, "<STMTRS> has no <LEDGERBAL>"));
  auto closing = Amount(ledger->child("BALAMT"), "<BALAMT> in <LEDGERBAL>", ledger->line);
  if (!closing) return Err(closing.error());
  out.closing = *closing;
  DecimalSum total;
  std::vector<long> line_numbers;
  for (const Node* trn : list->all("STMTTRN")) {
    ImportedLine l;
    auto amount = Amount(trn->child("TRNAMT"), "<TRNAMT> in <STMTTRN>", trn->line);
    if (!amount) return Err(amount.error());
    l.amount = *amount;
    total.add(l.amount);
    auto posted = OfxDate(trn->child("DTPOSTED"));
    if (!posted) return Err(trn->child("DTPOSTED") ? posted.error() : AtLine(trn->line, "<STMTTRN> has no <DTPOSTED>"));
    l.booking_date = *posted;
    if (const Node* avail = trn->child("DTAVAIL")) {
      auto v = OfxDate(avail);
      if (!v) return Err(v.error());
      l.value_date = *v;
    }
    l.id = trn->text_at({"FITID"});
    if (l.id.empty()) return Err(AtLine(trn->line, "<STMTTRN> has no <FITID>"));
    l.reference = trn->text_at({"REFNUM"});
    if (l.reference.empty()) l.reference = trn->text_at({"CHECKNUM"});
    l.counterparty = trn->text_at({"NAME"});
    if (l.counterparty.empty()) l.counterparty = trn->text_at({"PAYEE", "NAME"});
    l.text = trn->text_at({"MEMO"});
    out.lines.push_back(std::move(l));
    line_numbers.push_back(trn->line);
  }
  if (Status s = CheckUnique(out.lines, line_numbers); !s.ok()) return Err(s);
  auto sum = total.result();
  if (!sum) return Err(sum.error());
  auto opening = Decimal::Sub(out.closing, *sum);  // OFX gives no opening balance
  if (!opening) return Err(opening.error());
  out.opening = *opening;
  out.statement_id =
      (out.account_id.empty() ? std::string("ofx") : out.account_id) + (out.to.empty() ? "" : "-" + out.to);
  return out;
}

// ---------------------------------------------------------------------------------------------
// CSV

Result<CsvMapping> CsvMapping::Parse(std::string_view text) {
  static const std::set<std::string, std::less<>> known = {
      "date", "valueDate",  "amount",  "debit",     "credit",  "id",      "reference",   "counterparty",
      "text", "dateFormat", "decimal", "delimiter", "opening", "closing", "statementId", "currency"};
  CsvMapping m;
  std::string last;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view piece = text.substr(start, comma - start);
    const auto eq = piece.find('=');
    if (eq == std::string_view::npos) {
      // A comma that belongs to the previous value ("decimal=,").
      if (last.empty()) {
        if (!piece.empty()) return Err(Status::BadRequest("mapping \"" + std::string(piece) + "\" is not KEY=VALUE"));
      } else {
        m.keys[last] += "," + std::string(piece);
      }
    } else {
      std::string key(Trim(piece.substr(0, eq)));
      if (!known.count(key)) return Err(Status::BadRequest("unknown mapping key \"" + key + "\""));
      m.keys[key] = std::string(piece.substr(eq + 1));
      last = key;
    }
    start = comma + 1;
  }
  return m;
}

namespace {

// The fields of one CSV record starting at `i`; `i` moves past it. Quotes as RFC 4180.
Result<std::vector<std::string>> CsvRecord(std::string_view text, std::size_t& i, char delim, long& line) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  const long started = line;
  while (i < text.size()) {
    const char c = text[i++];
    if (quoted) {
      if (c == '"') {
        if (i < text.size() && text[i] == '"') {
          fields.back().push_back('"');
          ++i;
        } else {
          quoted = false;
        }
      } else {
        if (c == '\n') ++line;
        fields.back().push_back(c);
      }
    } else if (c == '"' && fields.back().empty()) {
      quoted = true;
    } else if (c == delim) {
      fields.emplace_back();
    } else if (c == '\n') {
      ++line;
      break;
    } else if (c != '\r') {
      fields.back().push_back(c);
    }
  }
  if (quoted) return Err(AtLine(started, "a quoted field is not closed"));
  return fields;
}

Result<std::string> CsvDate(const std::string& value, const std::string& format, long line) {
  std::string v = Trim(value);
  std::string y, m, d;
  auto take = [&](std::size_t at, std::size_t n) { return at + n <= v.size() ? v.substr(at, n) : std::string(); };
  if (format == "YYYY-MM-DD") {
    y = take(0, 4), m = take(5, 2), d = take(8, 2);
  } else if (format == "DD.MM.YYYY" || format == "DD/MM/YYYY") {
    d = take(0, 2), m = take(3, 2), y = take(6, 4);
  } else if (format == "MM/DD/YYYY") {
    m = take(0, 2), d = take(3, 2), y = take(6, 4);
  } else if (format == "YYYYMMDD") {
    y = take(0, 4), m = take(4, 2), d = take(6, 2);
  } else {
    return Err(Status::BadRequest("unknown dateFormat \"" + format +
                                  "\": one of YYYY-MM-DD, DD.MM.YYYY, DD/MM/YYYY, MM/DD/YYYY, YYYYMMDD"));
  }
  std::string out = y + "-" + m + "-" + d;
  if (!IsDate(out) || v.size() != format.size())
    return Err(AtLine(line, "\"" + v + "\" is not a date of the form " + format));
  return out;
}

Result<Decimal> CsvAmount(const std::string& value, char decimal, long line, const std::string& column) {
  std::string v;
  for (char c : Trim(value)) {
    if (c == decimal)
      v.push_back('.');
    else if (c == (decimal == '.' ? ',' : '.') || c == ' ' || c == '\'')
      continue;  // thousands separators
    else
      v.push_back(c);
  }
  if (v.empty()) return Decimal();
  auto d = Decimal::Parse(v);
  if (!d) return Err(AtLine(line, "column " + column + ": \"" + Trim(value) + "\" is not an amount"));
  return *d;
}

}  // namespace

Result<ImportedStatement> ParseCsv(std::string_view text, const CsvMapping& mapping) {
  auto key = [&](std::string_view k, std::string fallback = "") {
    auto it = mapping.keys.find(std::string(k));
    return it == mapping.keys.end() ? fallback : it->second;
  };
  std::string delim_name = key("delimiter", ",");
  const char delim = delim_name == "tab" ? '\t' : (delim_name.size() == 1 ? delim_name[0] : '\0');
  if (delim == '\0') return Err(Status::BadRequest("delimiter must be one character or \"tab\""));
  const std::string decimal_name = key("decimal", ".");
  if (decimal_name != "." && decimal_name != ",") return Err(Status::BadRequest("decimal must be \".\" or \",\""));
  const char decimal = decimal_name[0];
  const std::string date_format = key("dateFormat", "YYYY-MM-DD");
  if (key("date").empty()) return Err(Status::BadRequest("the mapping needs date=COLUMN"));
  if (key("amount").empty() && (key("debit").empty() || key("credit").empty()))
    return Err(Status::BadRequest("the mapping needs amount=COLUMN, or debit=COLUMN and credit=COLUMN"));

  std::size_t i = 0;
  long line = 1;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") i = 3;  // a UTF-8 byte order mark
  auto header = CsvRecord(text, i, delim, line);
  if (!header) return Err(header.error());
  for (auto& h : *header) h = Trim(h);
  auto column = [&](std::string_view k) -> Result<int> {
    const std::string name = key(k);
    if (name.empty()) return -1;
    for (std::size_t c = 0; c < header->size(); ++c)
      if ((*header)[c] == name) return static_cast<int>(c);
    if (std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      const int n = std::stoi(name);
      if (n >= 1 && n <= static_cast<int>(header->size())) return n - 1;
    }
    return Err(AtLine(1, "no column \"" + name + "\" (for " + std::string(k) + ") in the header"));
  };
  struct Col {
    std::string_view key;
    int index;
  };
  std::vector<Col> cols;
  for (std::string_view k :
       {"date", "valueDate", "amount", "debit", "credit", "id", "reference", "counterparty", "text"}) {
    auto c = column(k);
    if (!c) return Err(c.error());
    cols.push_back({k, *c});
  }
  auto idx = [&](std::string_view k) {
    for (const auto& c : cols)
      if (c.key == k) return c.index;
    return -1;
  };

  ImportedStatement out;
  out.statement_id = key("statementId", "csv");
  out.currency = key("currency");
  DecimalSum total;
  std::vector<long> line_numbers;
  int row = 0;
  while (i < text.size()) {
    const long at = line;
    auto fields = CsvRecord(text, i, delim, line);
    if (!fields) return Err(fields.error());
    if (fields->size() == 1 && Trim((*fields)[0]).empty()) continue;  // a blank line
    ++row;
    auto field = [&](std::string_view k) -> std::string {
      const int c = idx(k);
      return c >= 0 && c < static_cast<int>(fields->size()) ? (*fields)[c] : std::string();
    };
    for (const auto& c : cols)
      if (c.index >= static_cast<int>(fields->size()))
        return Err(AtLine(
            at, "the record has " + std::to_string(fields->size()) + " fields; column " + key(c.key) + " is missing"));
    ImportedLine l;
    auto booked = CsvDate(field("date"), date_format, at);
    if (!booked) return Err(booked.error());
    l.booking_date = *booked;
    if (idx("valueDate") >= 0 && !Trim(field("valueDate")).empty()) {
      auto v = CsvDate(field("valueDate"), date_format, at);
      if (!v) return Err(v.error());
      l.value_date = *v;
    }
    if (idx("amount") >= 0) {
      auto a = CsvAmount(field("amount"), decimal, at, key("amount"));
      if (!a) return Err(a.error());
      l.amount = *a;
    } else {
      auto d = CsvAmount(field("debit"), decimal, at, key("debit"));
      if (!d) return Err(d.error());
      auto c = CsvAmount(field("credit"), decimal, at, key("credit"));
      if (!c) return Err(c.error());
      auto a = Decimal::Sub(c->abs(), d->abs());
      if (!a) return Err(AtLine(at, a.error().message()));
      l.amount = *a;
    }
    total.add(l.amount);
    l.id = Trim(field("id"));
    if (l.id.empty()) l.id = "R" + std::to_string(row);
    l.reference = Trim(field("reference"));
    l.counterparty = Trim(field("counterparty"));
    l.text = Trim(field("text"));
    out.lines.push_back(std::move(l));
    line_numbers.push_back(at);
  }
  if (Status s = CheckUnique(out.lines, line_numbers); !s.ok()) return Err(s);
  auto sum = total.result();
  if (!sum) return Err(sum.error());
  auto parse_balance = [&](std::string_view k) -> Result<std::optional<Decimal>> {
    const std::string v = key(k);
    if (v.empty()) return std::optional<Decimal>();
    auto d = CsvAmount(v, decimal, 0, std::string(k));
    if (!d) return Err(Status::BadRequest(std::string(k) + ": \"" + v + "\" is not an amount"));
    return std::optional<Decimal>(*d);
  };
  auto opening = parse_balance("opening");
  if (!opening) return Err(opening.error());
  auto closing = parse_balance("closing");
  if (!closing) return Err(closing.error());
  if (*opening) {
    out.opening = **opening;
    auto c = *closing ? Result<Decimal>(**closing) : Decimal::Add(out.opening, *sum);
    if (!c) return Err(c.error());
    out.closing = *c;
  } else if (*closing) {
    out.closing = **closing;
    auto o = Decimal::Sub(out.closing, *sum);
    if (!o) return Err(o.error());
    out.opening = *o;
  } else {
    out.closing = *sum;
  }
  for (const auto& l : out.lines) {
    if (out.from.empty() || l.booking_date < out.from) out.from = l.booking_date;
    if (out.to.empty() || l.booking_date > out.to) out.to = l.booking_date;
  }
  return out;
}

std::string StatementObjectName(std::string_view id) {
  std::string out;
  for (char c : id) {
    const unsigned char u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '.')
      out.push_back(static_cast<char>(std::tolower(u)));
    else if (!out.empty() && out.back() != '-')
      out.push_back('-');
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  while (!out.empty() && (out.front() == '.' || out.front() == '-')) out.erase(out.begin());
  if (out.size() > 253) out.resize(253);
  while (!out.empty() && !std::isalnum(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out.empty() ? "statement" : out;
}

}  // namespace setpoint::accounting

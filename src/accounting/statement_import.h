// Reading bank statements as banks send them, for `setpoint statement import`
// (docs/bank-reconciliation.md, "Importing a statement"):
//   camt.053  ISO 20022 BankToCustomerStatement (any .001.0x version): the first Stmt's Id,
//             period, balances OPBD (or PRCD) and CLBD, and every Ntry with its references.
//   OFX       1.x (SGML: leaf elements need no end tag) and 2.x (XML): STMTRS's currency,
//             BANKTRANLIST's period and STMTTRNs, LEDGERBAL as the closing balance (OFX has no
//             opening balance: it is closing − Σ lines).
//   CSV       one line per entry under a header, by a column mapping (CsvMapping).
// A file that is not what its format says is refused with the line (and element) at fault; the
// parsers never produce a partial statement. XML is read with expat (Debian's libexpat: no
// external entities, bounded entity expansion).
//
// Pure; thread-compatible.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "setpoint/common/decimal.h"
#include "setpoint/common/status.h"

namespace setpoint::accounting {

struct ImportedLine {
  std::string id, booking_date, value_date;  // dates YYYY-MM-DD
  Decimal amount;                            // a credit to the account is positive
  std::string reference, end_to_end_id, counterparty, text;
};

struct ImportedStatement {
  std::string statement_id, currency, account_id;  // account_id: IBAN or the bank's account number
  std::string from, to;                            // the period, YYYY-MM-DD ("" when not given)
  Decimal opening, closing;
  std::vector<ImportedLine> lines;
};

Result<ImportedStatement> ParseCamt053(std::string_view xml);
Result<ImportedStatement> ParseOfx(std::string_view text);

// The CSV's layout. Columns are named by their header or by 1-based number.
//   date        the booking date column (required)
//   valueDate   a value date column
//   amount      one signed amount column; or debit and credit, two unsigned ones
//   id, reference, counterparty, text     optional columns
//   dateFormat  DD.MM.YYYY, YYYY-MM-DD (default), MM/DD/YYYY, DD/MM/YYYY, YYYYMMDD
//   decimal     the decimal separator, "." (default) or ","; the other one is a thousands separator
//   delimiter   the field separator, "," (default), ";" or "tab"
//   opening     the opening balance; closing: the closing balance (each defaults from the other and
//               the lines; with neither, opening is 0)
//   statementId the statement's id (default: "csv")
//   currency    ISO 4217 code
struct CsvMapping {
  std::map<std::string, std::string> keys;
  // "date=Buchungstag,amount=Betrag,decimal=,": a comma inside a value is taken when the next
  // piece has no '='. BadRequest for an unknown key.
  static Result<CsvMapping> Parse(std::string_view text);
};

Result<ImportedStatement> ParseCsv(std::string_view text, const CsvMapping& mapping);

// A Kubernetes name made of a statement id: lowercase, runs of anything else as "-", at most 253
// characters; "statement" when nothing is left.
std::string StatementObjectName(std::string_view statement_id);

}  // namespace setpoint::accounting

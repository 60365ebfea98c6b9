// Reading statements: camt.053, OFX 1.x (SGML) and 2.x (XML), CSV by a mapping; and a malformed
// file refused with the line at fault and nothing produced.
#include "accounting/statement_import.h"

#include <gtest/gtest.h>

namespace setpoint::accounting {
namespace {

constexpr std::string_view kCamt = R"(<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
  <BkToCstmrStmt>
    <GrpHdr><MsgId>MSG-1</MsgId><CreDtTm>2026-12-01T06:00:00</CreDtTm></GrpHdr>
    <Stmt>
      <Id>STMT-2026-11</Id>
      <FrToDt><FrDtTm>2026-11-01T00:00:00</FrDtTm><ToDtTm>2026-11-30T23:59:59</ToDtTm></FrToDt>
      <Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
      <Bal><Tp><CdOrPrtry><Cd>OPBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1000.00</Amt>
           <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-01</Dt></Dt></Bal>
      <Bal><Tp><CdOrPrtry><Cd>CLBD</Cd></CdOrPrtry></Tp><Amt Ccy="EUR">1067.50</Amt>
           <CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-30</Dt></Dt></Bal>
      <Ntry>
        <NtryRef>L1</NtryRef><Amt Ccy="EUR">100.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-03</Dt></BookgDt><ValDt><Dt>2026-11-04</Dt></ValDt>
        <NtryDtls><TxDtls>
          <Refs><EndToEndId>E2E-7</EndToEndId></Refs>
          <RltdPties><Dbtr><Nm>ACME GmbH</Nm></Dbtr></RltdPties>
          <RmtInf><Strd><CdtrRefInf><Ref>INV-1</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <AcctSvcrRef>BANK-99</AcctSvcrRef><Amt Ccy="EUR">30.00</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><DtTm>2026-11-10T09:30:00</DtTm></BookgDt>
        <NtryDtls><TxDtls><Refs><EndToEndId>NOTPROVIDED</EndToEndId></Refs>
          <RltdPties><Cdtr><Pty><Nm>Office Supplies Ltd</Nm></Pty></Cdtr></RltdPties>
          <RmtInf><Ustrd>Order 4711</Ustrd></RmtInf></TxDtls></NtryDtls>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">2.50</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts>BOOK</Sts>
        <BookgDt><Dt>2026-11-20</Dt></BookgDt><AddtlNtryInf>Account fee</AddtlNtryInf>
      </Ntry>
      <Ntry>
        <Amt Ccy="EUR">5.00</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>PDNG</Sts>
        <BookgDt><Dt>2026-11-30</Dt></BookgDt>
      </Ntry>
    </Stmt>
  </BkToCstmrStmt>
</Document>
)";

TEST(StatementImportTest, Camt053) {
  auto s = ParseCamt053(kCamt);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->statement_id, "STMT-2026-11");
  EXPECT_EQ(s->account_id, "DE89370400440532013000");
  EXPECT_EQ(s->currency, "EUR");
  EXPECT_EQ(s->from, "2026-11-01");
  EXPECT_EQ(s->to, "2026-11-30");
  EXPECT_EQ(s->opening.str(), "1000.00");
  EXPECT_EQ(s->closing.str(), "1067.50");
  ASSERT_EQ(s->lines.size(), 3u);  // the pending entry is not booked
  EXPECT_EQ(s->lines[0].id, "L1");
  EXPECT_EQ(s->lines[0].amount.str(), "100.00");
  EXPECT_EQ(s->lines[0].booking_date, "2026-11-03");
  EXPECT_EQ(s->lines[0].value_date, "2026-11-04");
  EXPECT_EQ(s->lines[0].reference, "INV-1");
  EXPECT_EQ(s->lines[0].end_to_end_id, "E2E-7");
  EXPECT_EQ(s->lines[0].counterparty, "ACME GmbH");
  EXPECT_EQ(s->lines[1].id, "BANK-99");
  EXPECT_EQ(s->lines[1].amount.str(), "-30.00");
  EXPECT_EQ(s->lines[1].booking_date, "2026-11-10");
  EXPECT_EQ(s->lines[1].end_to_end_id, "");
  EXPECT_EQ(s->lines[1].reference, "Order 4711");
  EXPECT_EQ(s->lines[1].counterparty, "Office Supplies Ltd");
  EXPECT_EQ(s->lines[2].id, "E3");
  EXPECT_EQ(s->lines[2].text, "Account fee");
}

void ExpectRefusedAt(const Result<ImportedStatement>& r, std::string_view where) {
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), StatusCode::kBadRequest);
  EXPECT_NE(r.error().message().find(where), std::string::npos) << r.error().message();
}

TEST(StatementImportTest, MalformedCamtNamesTheLine) {
  std::string broken(kCamt);
  broken.replace(broken.find("<Sts>BOOK</Sts>"), 15, "<Sts>BOOK</Stx>");
  ExpectRefusedAt(ParseCamt053(broken), "line 14: malformed XML: mismatched tag (in <Sts>)");
  std::string bad_amount(kCamt);
  bad_amount.replace(bad_amount.find(">30.00<"), 7, ">30,00<");
  ExpectRefusedAt(ParseCamt053(bad_amount), "line 23: <Amt> \"30,00\" is not a decimal number");
  std::string no_close(kCamt);
  no_close.replace(no_close.find("CLBD"), 4, "XXXX");
  ExpectRefusedAt(ParseCamt053(no_close), "no closing balance");
  ExpectRefusedAt(ParseCamt053("<!DOCTYPE x [<!ENTITY a \"b\">]><Document/>"), "DOCTYPE");
  ExpectRefusedAt(ParseCamt053("<Invoice/>"), "not <Document>");
  std::string twice(kCamt);
  const std::string_view second = "<AcctSvcrRef>BANK-99</AcctSvcrRef>";
  twice.replace(twice.find(second), second.size(), "<NtryRef>L1</NtryRef>");
  ExpectRefusedAt(ParseCamt053(twice), "entry id \"L1\" is not unique");
}

constexpr std::string_view kOfx1 = R"(OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:USASCII

<OFX>
<SIGNONMSGSRSV1><SONRS><STATUS><CODE>0<SEVERITY>INFO</STATUS><DTSERVER>20261201</SONRS></SIGNONMSGSRSV1>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STMTRS>
<CURDEF>USD
<BANKACCTFROM><BANKID>121000248<ACCTID>4711<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST>
<DTSTART>20261101
<DTEND>20261130120000.000[-5:EST]
<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261103<TRNAMT>100.00<FITID>F1<NAME>ACME<MEMO>Invoice<REFNUM>INV-1</STMTTRN>
<STMTTRN><TRNTYPE>DEBIT<DTPOSTED>20261110<TRNAMT>-30.00<FITID>F2<CHECKNUM>1001</STMTTRN>
</BANKTRANLIST>
<LEDGERBAL><BALAMT>1070.00<DTASOF>20261130</LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
)";

TEST(StatementImportTest, Ofx1Sgml) {
  auto s = ParseOfx(kOfx1);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->currency, "USD");
  EXPECT_EQ(s->account_id, "4711");
  EXPECT_EQ(s->from, "2026-11-01");
  EXPECT_EQ(s->to, "2026-11-30");
  EXPECT_EQ(s->statement_id, "4711-2026-11-30");
  EXPECT_EQ(s->closing.str(), "1070.00");
  EXPECT_EQ(s->opening.str(), "1000.00");  // closing − Σ lines
  ASSERT_EQ(s->lines.size(), 2u);
  EXPECT_EQ(s->lines[0].id, "F1");
  EXPECT_EQ(s->lines[0].reference, "INV-1");
  EXPECT_EQ(s->lines[0].counterparty, "ACME");
  EXPECT_EQ(s->lines[0].text, "Invoice");
  EXPECT_EQ(s->lines[1].amount.str(), "-30.00");
  EXPECT_EQ(s->lines[1].reference, "1001");
  EXPECT_EQ(s->lines[1].booking_date, "2026-11-10");
}

TEST(StatementImportTest, Ofx2Xml) {
  constexpr std::string_view kOfx2 = R"(<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<?OFX OFXHEADER="200" VERSION="220" SECURITY="NONE" OLDFILEUID="NONE" NEWFILEUID="NONE"?>
<OFX><BANKMSGSRSV1><STMTTRNRS><TRNUID>1</TRNUID><STMTRS><CURDEF>EUR</CURDEF>
<BANKACCTFROM><BANKID>1</BANKID><ACCTID>DE1</ACCTID><ACCTTYPE>CHECKING</ACCTTYPE></BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261101</DTSTART><DTEND>20261130</DTEND>
<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20261103</DTPOSTED><DTAVAIL>20261104</DTAVAIL><TRNAMT>100.00</TRNAMT><FITID>X1</FITID></STMTTRN>
</BANKTRANLIST><LEDGERBAL><BALAMT>100.00</BALAMT><DTASOF>20261130</DTASOF></LEDGERBAL>
</STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>
)";
  auto s = ParseOfx(kOfx2);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->statement_id, "DE1-2026-11-30");
  EXPECT_EQ(s->opening.str(), "0.00");
  ASSERT_EQ(s->lines.size(), 1u);
  EXPECT_EQ(s->lines[0].value_date, "2026-11-04");
  std::string broken(kOfx2);
  broken.replace(broken.find("</TRNAMT>"), 9, "</TRNAMX>");
  ExpectRefusedAt(ParseOfx(broken), "line 6: malformed XML");
}

TEST(StatementImportTest, MalformedOfx1NamesTheLine) {
  std::string broken(kOfx1);
  broken.replace(broken.find("<TRNAMT>-30.00"), 14, "<TRNAMT>thirty");
  ExpectRefusedAt(ParseOfx(broken), "line 16: <TRNAMT> \"thirty\" is not a decimal number");
  std::string unclosed(kOfx1);
  unclosed.replace(unclosed.find("</BANKTRANLIST>"), 15, "");
  unclosed.replace(unclosed.find("</STMTRS>"), 9, "</STMTRSX>");
  ExpectRefusedAt(ParseOfx(unclosed), "line 19: </STMTRSX> closes no open element");
  std::string no_fitid(kOfx1);
  no_fitid.replace(no_fitid.find("<FITID>F2"), 9, "");
  ExpectRefusedAt(ParseOfx(no_fitid), "line 16: <STMTTRN> has no <FITID>");
  ExpectRefusedAt(ParseOfx("OFXHEADER:100\n\n<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>"), "no <STMTRS>");
}

TEST(StatementImportTest, CsvWithOneSignedColumn) {
  constexpr std::string_view kCsv =
      "Buchungstag;Valuta;Betrag;Verwendungszweck;Empfaenger;Referenz\n"
      "03.11.2026;04.11.2026;1.100,00;\"Invoice \"\"1\"\"; thanks\";ACME;INV-1\n"
      "\n"
      "10.11.2026;;-30,00;Office;Supplies Ltd;\n";
  auto m = CsvMapping::Parse(
      "date=Buchungstag,valueDate=Valuta,amount=Betrag,text=Verwendungszweck,counterparty=Empfaenger,"
      "reference=Referenz,dateFormat=DD.MM.YYYY,decimal=,,delimiter=;,opening=1.000,00,statementId=Nov 2026");
  ASSERT_TRUE(m) << m.error().to_string();
  EXPECT_EQ(m->keys.at("decimal"), ",");
  EXPECT_EQ(m->keys.at("opening"), "1.000,00");
  auto s = ParseCsv(kCsv, *m);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->statement_id, "Nov 2026");
  EXPECT_EQ(s->opening.str(), "1000.00");
  EXPECT_EQ(s->closing.str(), "2070.00");
  EXPECT_EQ(s->from, "2026-11-03");
  EXPECT_EQ(s->to, "2026-11-10");
  ASSERT_EQ(s->lines.size(), 2u);
  EXPECT_EQ(s->lines[0].id, "R1");
  EXPECT_EQ(s->lines[0].amount.str(), "1100.00");
  EXPECT_EQ(s->lines[0].text, "Invoice \"1\"; thanks");
  EXPECT_EQ(s->lines[0].value_date, "2026-11-04");
  EXPECT_EQ(s->lines[0].reference, "INV-1");
  EXPECT_EQ(s->lines[1].id, "R2");
  EXPECT_EQ(s->lines[1].amount.str(), "-30.00");
  EXPECT_EQ(StatementObjectName(s->statement_id), "nov-2026");
}

TEST(StatementImportTest, CsvWithDebitAndCreditColumns) {
  constexpr std::string_view kCsv =
      "Date,Id,Debit,Credit,Ref\n"
      "2026-11-03,A1,,100.00,INV-1\n"
      "2026-11-10,A2,30.00,,\n";
  auto m = CsvMapping::Parse("date=Date,id=Id,debit=Debit,credit=Credit,reference=5,closing=1070.00");
  ASSERT_TRUE(m);
  auto s = ParseCsv(kCsv, *m);
  ASSERT_TRUE(s) << s.error().to_string();
  EXPECT_EQ(s->opening.str(), "1000.00");
  EXPECT_EQ(s->lines[0].amount.str(), "100.00");
  EXPECT_EQ(s->lines[0].reference, "INV-1");
  EXPECT_EQ(s->lines[1].amount.str(), "-30.00");
  EXPECT_EQ(s->lines[1].id, "A2");
}

TEST(StatementImportTest, MalformedCsvNamesTheLine) {
  auto m = CsvMapping::Parse("date=Date,amount=Amount");
  ASSERT_TRUE(m);
  ExpectRefusedAt(ParseCsv("Date,Amount\n2026-11-03,1.00\n2026-11-31x,2.00\n", *m),
                  "line 3: \"2026-11-31x\" is not a date of the form YYYY-MM-DD");
  ExpectRefusedAt(ParseCsv("Date,Amount\n2026-11-03,1.00\n2026-11-04,abc\n", *m),
                  "line 3: column Amount: \"abc\" is not an amount");
  ExpectRefusedAt(ParseCsv("Date,Amount\n2026-11-03\n", *m), "line 2: the record has 1 fields");
  ExpectRefusedAt(ParseCsv("Date,Amount\n2026-11-03,\"1.00\n", *m), "line 2: a quoted field is not closed");
  ExpectRefusedAt(ParseCsv("Day,Amount\n", *m), "no column \"Date\"");
  EXPECT_FALSE(CsvMapping::Parse("date=D,colour=red"));
  EXPECT_FALSE(ParseCsv("x\n", *CsvMapping::Parse("amount=A")));  // no date column named
}

TEST(StatementImportTest, ObjectNamesFromStatementIds) {
  EXPECT_EQ(StatementObjectName("STMT-2026-11"), "stmt-2026-11");
  EXPECT_EQ(StatementObjectName("  /// "), "statement");
  EXPECT_EQ(StatementObjectName("A_B..C"), "a-b..c");
}

}  // namespace
}  // namespace setpoint::accounting

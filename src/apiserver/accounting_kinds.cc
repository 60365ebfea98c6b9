#include "apiserver/accounting_kinds.h"

#include <boost/json.hpp>

#include "apiserver/native_kinds.h"
#include "setpoint/api/condition_schema.h"

namespace setpoint::apiserver {

namespace json = boost::json;

namespace {

// An amount as the API writes it: a decimal string, at most 18 digits before the point and 9
// after (what accounting::Decimal holds exactly).
constexpr std::string_view kMoney = R"({type: string, pattern: '^[-+]?[0-9]{1,18}(\.[0-9]{1,9})?$'})";

constexpr std::string_view kFinancialAccount = R"yaml(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Type, type: string, jsonPath: .spec.type}
    - {name: Currency, type: string, jsonPath: .spec.currency}
    - {name: GL-Account, type: string, jsonPath: .spec.glAccount}
    - {name: State, type: string, jsonPath: .spec.state}
    - {name: Actual, type: string, jsonPath: .status.actualBalance}
    - {name: Available, type: string, jsonPath: .status.availableBalance}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A bank account of the organisation (OFBiz's FinAccount); its ledger is the AccountTransactions that name it.
        required: [spec]
        properties:
          spec:
            type: object
            required: [currency, glAccount]
            properties:
              type: {type: string, default: BANK_ACCOUNT, description: "finAccountTypeId"}
              displayName: {type: string, description: "finAccountName"}
              currency: {type: string, pattern: '^[A-Z]{3}$', description: "ISO 4217 code; its minor unit is the default decimals"}
              decimals: {type: integer, minimum: 0, maximum: 9, description: "digits amounts are rounded to (default: the currency's minor unit)"}
              rounding: {type: string, enum: [HalfUp, HalfDown, HalfEven, Up, Down, Ceiling, Floor], default: HalfUp}
              glAccount: {type: string, minLength: 1, description: "the GL cash account it posts to (postToGlAccountId)"}
              organization: {type: string, description: "organizationPartyId"}
              owner: {type: string, description: "ownerPartyId"}
              state: {type: string, enum: [Active, ManuallyFrozen, Cancelled], default: Active}
          status:
            type: object
            properties:
              actualBalance: MONEY
              availableBalance: MONEY
              transactions: {type: integer}
              observedGeneration: {type: integer}
)yaml";

constexpr std::string_view kAccountTransaction = R"yaml(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Account, type: string, jsonPath: .spec.account}
    - {name: Type, type: string, jsonPath: .spec.type}
    - {name: Amount, type: string, jsonPath: .spec.amount}
    - {name: Date, type: date, jsonPath: .spec.transactionDate}
    - {name: State, type: string, jsonPath: .spec.state}
    - {name: Reconciliation, type: string, jsonPath: .spec.reconciliation}
    - {name: Reference, type: string, jsonPath: .spec.reference, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A deposit, withdrawal or adjustment on a FinancialAccount (OFBiz's FinAccountTrans).
        required: [spec]
        properties:
          spec:
            type: object
            required: [account, type, amount]
            properties:
              account: {type: string, minLength: 1}
              type: {type: string, enum: [DEPOSIT, WITHDRAWAL, ADJUSTMENT]}
              amount: MONEY
              transactionDate: {type: string, format: date-time}
              entryDate: {type: string, format: date-time}
              reference: {type: string}
              counterparty: {type: string}
              performedBy: {type: string}
              comments: {type: string}
              payment:
                type: object
                required: [id]
                properties:
                  id: {type: string, minLength: 1}
                  status: {type: string, enum: [PMNT_NOT_PAID, PMNT_SENT, PMNT_RECEIVED, PMNT_CONFIRMED, PMNT_CANCELLED, PMNT_VOID], default: PMNT_NOT_PAID}
              reconciliation: {type: string, description: "the Reconciliation it is assigned to (glReconciliationId)"}
              state: {type: string, enum: [CREATED, APPROVED, CANCELED], description: "CREATED: not cleared; APPROVED: cleared. Default APPROVED, or CREATED with a payment"}
          status:
            type: object
            properties:
              clearedBy: {type: string, description: "the Reconciliation that cleared it"}
              clearedAt: {type: string, format: date-time}
              clearingEntries: {type: array, items: {type: string}}
)yaml";

constexpr std::string_view kJournalEntry = R"yaml(
    additionalPrinterColumns:
    - {name: Date, type: date, jsonPath: .spec.date}
    - {name: Transaction, type: string, jsonPath: .spec.transaction}
    - {name: Payment, type: string, jsonPath: .spec.payment}
    - {name: Posted, type: boolean, jsonPath: .spec.posted}
    - {name: Reconciliation, type: string, jsonPath: .spec.reconciliation}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A double-entry accounting transaction (OFBiz's AcctgTrans with its AcctgTransEntry lines); debits equal credits.
        required: [spec]
        properties:
          spec:
            type: object
            required: [lines]
            properties:
              date: {type: string, format: date-time}
              description: {type: string}
              transaction: {type: string, description: "the AccountTransaction it records"}
              payment: {type: string, description: "the payment it records"}
              posted: {type: boolean, default: true}
              reconciliation: {type: string, description: "the Reconciliation its lines were reconciled by (GlReconciliationEntry)"}
              lines:
                type: array
                minItems: 2
                items:
                  type: object
                  required: [glAccount, debitCredit, amount]
                  properties:
                    glAccount: {type: string, minLength: 1}
                    debitCredit: {type: string, enum: [D, C]}
                    amount: MONEY
                    reconcileStatus: {type: string, enum: [AES_NOT_RECONCILED, AES_PARTLY_RECON, AES_RECONCILED], default: AES_NOT_RECONCILED}
)yaml";

constexpr std::string_view kBankStatement = R"yaml(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Account, type: string, jsonPath: .spec.account}
    - {name: Statement, type: string, jsonPath: .spec.statementId}
    - {name: From, type: string, jsonPath: .spec.period.from}
    - {name: To, type: string, jsonPath: .spec.period.to}
    - {name: Opening, type: string, jsonPath: .spec.openingBalance}
    - {name: Closing, type: string, jsonPath: .spec.closingBalance}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: What the bank says cleared on an account over a period.
        required: [spec]
        properties:
          spec:
            type: object
            required: [account, openingBalance, closingBalance]
            properties:
              account: {type: string, minLength: 1}
              statementId: {type: string}
              currency: {type: string, pattern: '^[A-Z]{3}$'}
              period:
                type: object
                properties:
                  from: {type: string, format: date}
                  to: {type: string, format: date}
              openingBalance: MONEY
              closingBalance: MONEY
              lines:
                type: array
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [id]
                items:
                  type: object
                  required: [id, bookingDate, amount]
                  properties:
                    id: {type: string, minLength: 1}
                    bookingDate: {type: string, format: date}
                    valueDate: {type: string, format: date}
                    amount: MONEY
                    reference: {type: string}
                    endToEndId: {type: string}
                    counterparty: {type: string}
                    text: {type: string}
          status:
            type: object
            properties:
              lines: {type: integer}
)yaml";

constexpr std::string_view kReconciliation = R"yaml(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Account, type: string, jsonPath: .spec.account}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Opening, type: string, jsonPath: .status.openingBalance}
    - {name: Reconciled, type: string, jsonPath: .status.reconciledBalance}
    - {name: Closing, type: string, jsonPath: .status.closingBalance}
    - {name: Difference, type: string, jsonPath: .status.difference}
    - {name: Balanced, type: string, jsonPath: '.status.conditions[?(@.type=="Balanced")].status'}
    - {name: Statement, type: string, jsonPath: .spec.statement, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: One reconciliation of a FinancialAccount against its bank statement (OFBiz's GlReconciliation).
        required: [spec]
        properties:
          spec:
            type: object
            required: [account]
            properties:
              account: {type: string, minLength: 1, description: "the FinancialAccount reconciled"}
              displayName: {type: string, description: "glReconciliationName"}
              description: {type: string}
              organization: {type: string, description: "organizationPartyId"}
              statement: {type: string, description: "the BankStatement matched against"}
              openingBalance: MONEY
              statementEndingBalance: MONEY
              statementDate: {type: string, format: date, description: "when the scheduled auto-reconciliation clears what is assigned"}
              autoAccept: {type: string, enum: [None, Exact], default: None, description: "Exact: matches by reference and amount are accepted without a person"}
              dateWindowDays: {type: integer, minimum: 0, maximum: 31, default: 3, description: "how many days a line and a transaction may be apart to match by amount"}
              close: {type: boolean, default: false, description: "clear everything assigned and, once Balanced, close (GLREC_RECONCILED): read-only from then on"}
              cancel: {type: boolean, default: false, description: "unassign every transaction that has not cleared (cancelBankReconciliation)"}
          status:
            type: object
            properties:
              phase: {type: string, enum: [Created, Reconciled]}
              glAccount: {type: string}
              openingBalance: MONEY
              statementEndingBalance: MONEY
              reconciledBalance: MONEY
              closingBalance: MONEY
              difference: MONEY
              transactionTotal: MONEY
              reconciledDate: {type: string, format: date-time}
              assignedTransactions: {type: integer}
              clearedTransactions: {type: integer}
              matchedLines: {type: integer}
              unmatchedLines: {type: integer}
              unmatchedTransactions: {type: integer}
              proposedMatches: {type: integer}
              unmatched:
                type: object
                properties:
                  lines: {type: array, items: {type: string}}
                  transactions: {type: array, items: {type: string}}
              observedGeneration: {type: integer}
              conditions: {}
)yaml";

constexpr std::string_view kReconciliationMatch = R"yaml(
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Reconciliation, type: string, jsonPath: .spec.reconciliation}
    - {name: Lines, type: string, jsonPath: .spec.lines}
    - {name: Transactions, type: string, jsonPath: .spec.transactions}
    - {name: Confidence, type: number, jsonPath: .status.confidence}
    - {name: Accepted, type: boolean, jsonPath: .spec.accepted}
    - {name: Phase, type: string, jsonPath: .status.phase}
    - {name: Reason, type: string, jsonPath: .status.reason, priority: 1}
    - {name: Age, type: date, jsonPath: .metadata.creationTimestamp}
    schema:
      openAPIV3Schema:
        type: object
        description: A proposed pairing of statement lines with ledger transactions; accepting it assigns and clears them.
        required: [spec]
        properties:
          spec:
            type: object
            required: [reconciliation, lines, transactions]
            properties:
              reconciliation: {type: string, minLength: 1}
              lines: {type: array, minItems: 1, items: {type: string}, description: "ids of the statement's lines"}
              transactions: {type: array, minItems: 1, items: {type: string}, description: "names of AccountTransactions"}
              accepted: {type: boolean, default: false, description: "true: assign and clear the transactions"}
          status:
            type: object
            properties:
              phase: {type: string, enum: [Proposed, Accepted, Cleared, Failed]}
              rule: {type: string, enum: [Reference, Amount, Split, Near, Manual]}
              confidence: {type: number, minimum: 0, maximum: 1}
              reason: {type: string}
              lineAmount: MONEY
              transactionAmount: MONEY
              difference: MONEY
              message: {type: string}
              observedGeneration: {type: integer}
)yaml";

// The documents' MONEY placeholders become kMoney.
std::string WithMoney(std::string_view version) {
  std::string out(version);
  for (std::size_t at = out.find("MONEY"); at != std::string::npos; at = out.find("MONEY", at))
    out.replace(at, 5, kMoney);
  return out;
}

}  // namespace

std::vector<json::object> AccountingKindDefinitions() {
  constexpr std::string_view kGroup = "accounting.setpoint.dev";
  auto kind = [&](std::string_view plural, std::string_view names, std::string_view version) {
    return NativeCrd(kGroup, plural, "Namespaced", names, WithMoney(version));
  };
  std::vector<json::object> out;
  out.push_back(kind("financialaccounts",
                     "{plural: financialaccounts, singular: financialaccount, kind: FinancialAccount, listKind: "
                     "FinancialAccountList, shortNames: [finacct], categories: [accounting]}",
                     kFinancialAccount));
  out.push_back(kind("accounttransactions",
                     "{plural: accounttransactions, singular: accounttransaction, kind: AccountTransaction, "
                     "listKind: AccountTransactionList, shortNames: [acctx], categories: [accounting]}",
                     kAccountTransaction));
  out.push_back(kind("journalentries",
                     "{plural: journalentries, singular: journalentry, kind: JournalEntry, listKind: "
                     "JournalEntryList, shortNames: [je], categories: [accounting]}",
                     kJournalEntry));
  out.push_back(kind("bankstatements",
                     "{plural: bankstatements, singular: bankstatement, kind: BankStatement, listKind: "
                     "BankStatementList, shortNames: [stmt], categories: [accounting]}",
                     kBankStatement));
  out.push_back(kind("reconciliations",
                     "{plural: reconciliations, singular: reconciliation, kind: Reconciliation, listKind: "
                     "ReconciliationList, shortNames: [recon], categories: [accounting]}",
                     kReconciliation));
  auto& recon = out.back();
  NativeSchemaProps(recon)["status"].as_object()["properties"].as_object()["conditions"] =
      NativeYaml(api::ConditionsSchemaYaml());
  out.push_back(kind("reconciliationmatches",
                     "{plural: reconciliationmatches, singular: reconciliationmatch, kind: ReconciliationMatch, "
                     "listKind: ReconciliationMatchList, shortNames: [rmatch], categories: [accounting]}",
                     kReconciliationMatch));
  return out;
}

}  // namespace setpoint::apiserver

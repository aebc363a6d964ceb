import ArgumentParser
import Foundation
import LedgerConfig
import LedgerStore

extension Ledgerd {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Shows documents by state, invoices and open amounts by currency, and recent problems.")

        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await runReportingErrors {
                let configuration = try options.loadConfiguration()
                let store = try options.openStore(configuration, create: false)
                let report = try store.status()
                if options.json {
                    print(try Output.json(report))
                    return
                }
                print("Database: \(configuration.paths.database)")
                print("\nDocuments")
                if report.documents.isEmpty { print("  none yet") }
                print(Output.table(report.documents.map { ["  " + $0.state, String($0.count)] }))
                print("\nInvoices")
                if report.open.isEmpty { print("  none yet") }
                print(
                    Output.table(
                        [["  side", "currency", "invoices", "open", "open amount"]]
                            + report.open.map {
                                ["  " + $0.side, $0.currency, String($0.invoices), String($0.openInvoices), Output.amount($0.openMinor, $0.currency)]
                            }))
                if !report.recentProblems.isEmpty {
                    print("\nRecent problems (newest first)")
                    for doc in report.recentProblems {
                        print("  \(doc.processedAt)  \(doc.state)  \(doc.name) — \(doc.reason ?? "")")
                    }
                }
            }
        }
    }

    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compares the receivables (1500) and payables (2400) accounts with their sub-ledgers.",
            discussion: """
                For each control account and currency: the general-ledger balance, the sub-ledger sum, and \
                the entries on the account that have no sub-ledger entry (manual corrections), which explain \
                a difference. Also checks that every journal entry balances. Exits 1 when anything is unexplained.
                """)

        @OptionGroup var options: CommonOptions

        func run() async throws {
            try await runReportingErrors {
                let configuration = try options.loadConfiguration()
                let store = try options.openStore(configuration, create: false)
                let reconciliation = try store.reconcile(accounts: configuration.accounts)
                let balances = try store.checkBalances()
                let ok = reconciliation.agrees && balances.unbalanced.isEmpty
                if options.json {
                    struct Report: Encodable {
                        var agrees: Bool
                        var accounts: [Reconciliation.Line]
                        var balance: BalanceCheck
                    }
                    print(try Output.json(Report(agrees: ok, accounts: reconciliation.lines, balance: balances)))
                } else {
                    if reconciliation.lines.isEmpty { print("Nothing posted to the control accounts yet.") }
                    for line in reconciliation.lines {
                        let mark = line.agrees ? "agrees" : "DOES NOT AGREE"
                        print("\(line.account) \(line.currency): general ledger \(Output.amount(line.generalLedgerMinor, line.currency)), "
                            + "\(line.subLedger) \(Output.amount(line.subLedgerMinor, line.currency)) — \(mark)")
                        for entry in line.entriesWithoutSubLedger {
                            print("    entry \(entry.entryID) \(entry.date) \(entry.source): \(entry.description) "
                                + "\(Output.amount(entry.amountMinor, line.currency)) (no sub-ledger entry)")
                        }
                        if line.unexplainedMinor != 0 {
                            print("    unexplained difference: \(Output.amount(line.unexplainedMinor, line.currency))")
                        }
                    }
                    if balances.unbalanced.isEmpty {
                        print("All \(balances.entries) journal entries balance.")
                    } else {
                        for u in balances.unbalanced {
                            print("Entry \(u.entryID) does not balance in \(u.currency): debit \(u.debitMinor), credit \(u.creditMinor)")
                        }
                    }
                }
                if !ok { throw ExitCode(1) }
            }
        }
    }
}

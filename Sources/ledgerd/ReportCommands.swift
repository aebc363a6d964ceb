import ArgumentParser
import Daemon
import Foundation
import Ingest
import LedgerConfig
import LedgerCore
import LedgerStore
import Logging

extension Ledgerd {
    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract:
                "Shows the daemon, documents by state, open amounts by currency, and the files that need attention.",
            discussion: """
                The files that need attention are the rejected and flagged ones not settled since, as the \
                status page counts them: the newest 20, or all with --all. Times are local. Exits 0, or 1 \
                when the books cannot be opened.
                """)

        @OptionGroup var options: CommonOptions

        @Flag(help: "List every file that needs attention, not only the newest 20.")
        var all = false

        func run() async throws {
            try await runReportingErrors(json: options.json) {
                let configuration = try options.loadConfiguration()
                let store = try options.openStore(configuration, create: false, reading: true)
                let report = try store.status(problemLimit: all ? nil : 20)
                let daemon = try DaemonReport(store: store)
                // The daemon counts what waits while it runs; without it, the inboxes are counted
                // here. A script gets the count of files in each inbox either way.
                let counted = InboxCount.now(configuration)
                let waiting = daemon.running ? nil : counted
                if options.json {
                    struct Combined: Encodable {
                        var daemon: DaemonReport
                        var inboxes: [InboxCount]
                        var ledger: StatusReport
                    }
                    // Stopped, its last report is out of date: the inboxes are counted afresh instead.
                    var reported = daemon
                    if !daemon.running { reported.snapshot = nil }
                    print(try Output.json(Combined(daemon: reported, inboxes: counted, ledger: report)))
                    return
                }
                print("Database: \(configuration.paths.database)")
                print(daemon.text)
                for inbox in waiting ?? [] where inbox.files > 0 {
                    let files = "\(inbox.files) file\(inbox.files == 1 ? "" : "s")"
                    print(
                        inbox.read
                            ? "  \(inbox.inbox): \(files) waiting, taken in by `ledgerd run` or `ledgerd ingest`"
                            : inbox.inbox == InboxScanner.otherFiles
                                ? "  \(files) in the inbox of a kind ledgerd does not read; EHF invoices are .xml files"
                                : "  \(inbox.inbox): \(files) left in place, which this version of ledgerd does not read"
                    )
                }
                print("\nDocuments")
                if report.documents.isEmpty {
                    print("  none yet")
                } else {
                    var rows = report.documents.map {
                        ["  " + $0.state.replacingOccurrences(of: "_", with: " "), String($0.count)]
                    }
                    if report.duplicateDrops > 0 {
                        rows.append([
                            "  dropped again",
                            "\(report.duplicateDrops) (posted nothing; in the archive's duplicates folder)",
                        ])
                    }
                    print(Output.table(rows))
                }
                print("\nOpen amounts (invoices and credit notes)")
                if report.open.isEmpty {
                    print("  none yet")
                } else {
                    let header = ["  side", "currency", "documents", "still open", "open amount"]
                    let rows: [[String]] = report.open.map { line in
                        [
                            "  " + line.side, line.currency, String(line.documents), String(line.openDocuments),
                            Output.amount(line.openMinor, line.currency),
                        ]
                    }
                    print(Output.table([header] + rows))
                    if report.open.contains(where: { $0.openMinor < 0 }) {
                        print("  (credit notes count against what is open: a negative amount is owed the other way)")
                    }
                }
                let problems = report.openProblems
                if problems.total > 0 {
                    print("\nNeeds attention (\(problems.total), newest first)")
                    for doc in problems.items {
                        let state = doc.state.replacingOccurrences(of: "_", with: " ")
                        print(
                            OneLine.escaped(
                                "  \(Output.localTime(doc.processedAt))  \(state)  \(doc.name) — \(doc.reason ?? "")"))
                        if let kept = doc.rejectedPath, FileSystem.lastComponent(kept) != doc.name {
                            print(OneLine.escaped("      in the rejected folder as \(FileSystem.lastComponent(kept))"))
                        }
                    }
                    if problems.items.count < problems.total {
                        print(
                            "  …and \(problems.total - problems.items.count) more (ledgerd status --all lists them all)"
                        )
                    }
                }
                let notes = report.postingNotes
                if notes.total > 0 {
                    print("\nPosted, with something to do by hand (\(notes.total), newest first)")
                    for doc in notes.items {
                        print(
                            OneLine.escaped(
                                "  \(Output.localTime(doc.processedAt))  #\(doc.id) \(doc.name) — \(doc.note)"))
                    }
                    if notes.items.count < notes.total {
                        print("  …and \(notes.total - notes.items.count) more (ledgerd status --all lists them all)")
                    }
                    print(
                        "  (when one is acted on, `ledgerd done \(notes.items.first?.id ?? 0)` takes it off this list)")
                }
            }
        }
    }

    struct Reconcile: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "reconcile",
            abstract:
                "Compares the receivables and payables accounts (1500 and 2400 by default) with their sub-ledgers.",
            discussion: """
                For each control account and currency: the general-ledger balance, the sub-ledger sum, the \
                manual corrections on the account (which have no sub-ledger entry and explain a difference), \
                and each entry whose two sides disagree (an invoice whose sub-ledger entry is missing or \
                differs, a sub-ledger entry with no line on the account). Also checks that every journal entry \
                balances. Exits 1 when anything is unexplained, 3 when the books cannot be opened or read.
                """)

        @OptionGroup var options: CommonOptions

        func run() async throws {
            // 3, not 1, for books it cannot open or read: a check that alerts on "the books
            // disagree" must not also fire on those.
            try await runReportingErrors(json: options.json, unexpectedExitCode: 3) {
                let configuration = try options.loadConfiguration()
                let store: LedgerStore
                do {
                    store = try options.openStore(configuration, create: false, reading: true)
                } catch var error as UserFacingError {
                    error.exitCode = 3
                    throw error
                }
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
                        let subLedger = line.subLedgerName
                        let corrections = line.differenceMinor - line.unexplainedMinor
                        let mark =
                            !line.agrees
                            ? "DOES NOT AGREE"
                            : line.differenceMinor == 0
                                ? "agrees"
                                : "agrees: the difference of \(Output.amount(line.differenceMinor, line.currency)) is "
                                    + "the correction\(line.entriesWithoutSubLedger.count == 1 ? "" : "s") below"
                        // Amounts are in the account's normal direction: receivables a debit balance,
                        // supplier debt a credit one; which it is, is said.
                        let normal = line.subLedger == "customer_ledger" ? "debit" : "credit"
                        let other = normal == "debit" ? "credit" : "debit"
                        let balance =
                            line.generalLedgerMinor == 0
                            ? "" : " (\(line.generalLedgerMinor > 0 ? normal : other) balance)"
                        print(
                            "\(line.account) \(line.currency): general ledger \(Output.amount(line.generalLedgerMinor, line.currency))\(balance), "
                                + "\(subLedger) \(Output.amount(line.subLedgerMinor, line.currency)) — \(mark)")
                        for entry in line.entriesWithoutSubLedger {
                            print(
                                "    entry \(entry.entryID) \(entry.date) \(entry.source): \(entry.description) "
                                    + "\(Output.amount(entry.amountMinor, line.currency)) (a correction, no sub-ledger entry)"
                            )
                        }
                        for d in line.discrepancies {
                            let what: String
                            switch (d.generalLedgerMinor, d.subLedgerMinor) {
                            case (let g?, nil):
                                what =
                                    "general ledger \(Output.amount(g, line.currency)), but its \(subLedger) entry is missing"
                            case (nil, let s?):
                                what =
                                    "\(subLedger) \(Output.amount(s, line.currency)), but no line on \(line.account)"
                            case (let g?, let s?):
                                what =
                                    "general ledger \(Output.amount(g, line.currency)), \(subLedger) "
                                    + Output.amount(s, line.currency)
                            case (nil, nil):
                                what = "nothing on either side"
                            }
                            let entry =
                                d.source.isEmpty
                                ? "entry \(d.entryID) (missing)"
                                : "entry \(d.entryID) \(d.date) \(d.source): \(d.description)"
                            print("    \(entry) — \(what)")
                        }
                        if line.unexplainedMinor != 0 {
                            // The entries whose two sides disagree make this part; corrections, the rest.
                            print(
                                "    difference \(Output.amount(line.differenceMinor, line.currency)): "
                                    + (corrections == 0
                                        ? "" : "\(Output.amount(corrections, line.currency)) from corrections, ")
                                    + "\(Output.amount(line.unexplainedMinor, line.currency)) where no correction explains it "
                                    + (line.discrepancies.isEmpty
                                        ? "(an error in the books)" : "(the entries listed: an error in the books)"))
                        }
                    }
                    if balances.unbalanced.isEmpty {
                        switch balances.entries {
                        case 0: print("No journal entries yet.")
                        case 1: print("The one journal entry balances.")
                        default: print("All \(balances.entries) journal entries balance.")
                        }
                    } else {
                        for u in balances.unbalanced {
                            print(
                                "Entry \(u.entryID) does not balance in \(u.currency): debit \(Output.amount(u.debitMinor, u.currency)), "
                                    + "credit \(Output.amount(u.creditMinor, u.currency))")
                        }
                    }
                }
                if !ok { throw ExitCode(1) }
            }
        }
    }
}

/// What lies in one inbox now, counted by `ledgerd status` while no daemon runs.
struct InboxCount: Encodable {
    var inbox: String
    var files: Int
    /// Whether this version of ledgerd reads that inbox's files.
    var read: Bool

    /// Counted as the daemon's scan finds them: a file at the inbox's root, or in a folder
    /// someone made there, counts for the inbox of its type.
    static func now(_ configuration: LedgerConfig.Configuration) -> [InboxCount] {
        let files = InboxScanner.scan(
            root: configuration.paths.inbox,
            excluding: [configuration.paths.rejected, configuration.paths.archive],
            isIgnored: { InboxScanner.isTemporaryName($0) || configuration.watch.isIgnored(name: $0) },
            logger: Logger(label: "ledgerd"))
        let counts = Dictionary(grouping: files, by: \.inbox).mapValues(\.count)
        // Files of kinds no inbox takes are listed only when there are some.
        let other = counts[InboxScanner.otherFiles] == nil ? [] : [InboxScanner.otherFiles]
        return (InboxScanner.inboxes + other).map { inbox in
            InboxCount(inbox: inbox, files: counts[inbox] ?? 0, read: InboxScanner.readInboxes.contains(inbox))
        }
    }
}

/// The daemon as `ledgerd status` sees it: whether it runs, and its backlog per inbox with
/// each waiting file's state.
struct DaemonReport: Encodable {
    var running: Bool
    var pid: Int32?
    var updatedAt: String?
    /// Seconds since the running daemon last published its state, when that is over three
    /// heartbeats: what follows is that old (it could not write to the books since).
    var staleSeconds: Int?
    var snapshot: Daemon.Snapshot?

    init(store: LedgerStore) throws {
        guard let state = try store.daemonState() else {
            running = false
            return
        }
        pid = state.pid
        updatedAt = state.updatedAt
        running = kill(state.pid, 0) == 0 || errno == EPERM
        if running, let published = ISO8601DateFormatter().date(from: state.updatedAt) {
            let age = Int(Date().timeIntervalSince(published))
            if age > 3 * Int(Daemon.heartbeat.components.seconds) { staleSeconds = age }
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        snapshot = try? decoder.decode(Daemon.Snapshot.self, from: Data(state.json.utf8))
    }

    var text: String {
        guard let snapshot else { return "Daemon: never run on this database" }
        var lines: [String] = []
        if running {
            lines.append(
                "Daemon: running (pid \(snapshot.pid), since \(Output.localTime(snapshot.startedAt)), \(snapshot.watchMode)\(snapshot.watcherAlive || snapshot.watchMode == "poll" ? "" : ", watcher DOWN"))"
            )
            if let staleSeconds {
                lines.append(
                    "  what follows is the daemon's report of \(updatedAt.map(Output.localTime) ?? "?"), \(staleSeconds) s ago: it has not "
                        + "been able to write to its books since (a full disk?); see its log (journalctl -u ledgerd)")
            }
        } else {
            // What it reported last is out of date: the inboxes are counted afresh instead.
            return "Daemon: not running (last seen \(updatedAt.map(Output.localTime) ?? "?"))"
        }
        if let rescan = snapshot.lastRescan {
            lines.append("  last scan \(Output.localTime(rescan)); \(snapshot.processed) file(s) processed since start")
        }
        for inbox in snapshot.inboxes where inbox.backlog > 0 || inbox.burstTotal > 0 {
            lines.append(
                "  \(inbox.inbox): backlog \(inbox.backlog) (settling \(inbox.settling), waiting \(inbox.waiting), processing \(inbox.processing), retrying \(inbox.retrying))"
                    + (inbox.burstTotal > 0 ? " — \(inbox.burstDone) of \(inbox.burstTotal) done" : ""))
        }
        for inbox in snapshot.inboxes where inbox.notRead > 0 {
            let files = "\(inbox.notRead) file\(inbox.notRead == 1 ? "" : "s")"
            let names =
                inbox.notReadNames.isEmpty
                ? ""
                : " (\(inbox.notReadNames.map { OneLine.escaped($0) }.joined(separator: ", "))\(inbox.notRead > inbox.notReadNames.count ? ", …" : ""))"
            lines.append(
                inbox.inbox == InboxScanner.otherFiles
                    ? "  \(files) in the inbox of a kind ledgerd does not read\(names); EHF invoices are .xml files"
                    : "  \(inbox.inbox): \(files) left in place\(names), which this version of ledgerd does not read")
        }
        for file in snapshot.pending.prefix(20) {
            lines.append("    \(file.state)  \(file.inbox)/\(file.name)" + (file.lastError.map { " — \($0)" } ?? ""))
        }
        for error in snapshot.recentErrors.prefix(5) { lines.append("  error: \(error)") }
        return lines.joined(separator: "\n")
    }
}

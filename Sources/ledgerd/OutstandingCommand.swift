import ArgumentParser
import Foundation
import LedgerConfig
import LedgerCore
import LedgerStore
import StatusServer

extension Ledgerd {
    struct Outstanding: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "outstanding",
            abstract: "Shows what each customer owes and what is owed each supplier, aged by due date.",
            discussion: """
                Per party and currency: the open amount (invoices less the credit notes not used up), \
                the number of open documents, the oldest due date, and the amount in each aging bucket \
                (current, 1-30, 31-60, 61-90 and 90+ days past due), the most overdue first, with a total \
                per currency. An invoice without a due date is taken as due 30 days after its issue date. \
                The amounts are invoiced amounts: this version records no payments. Exits 0, or 1 when \
                the books cannot be opened.
                """)

        @OptionGroup var options: CommonOptions

        @Flag(help: "Only parties with something past due.")
        var overdue = false

        @Option(
            name: .customLong("as-of"),
            help: ArgumentHelp(
                "Age as of this day (YYYY-MM-DD) instead of today: the documents issued by then, less the credits issued by then.",
                valueName: "DAY"))
        var asOf: String?

        func run() async throws {
            try await runReportingErrors(json: options.json) {
                let configuration = try options.loadConfiguration()
                let today: Day
                if let asOf {
                    guard let day = Day(iso: asOf) else {
                        throw UserFacingError("ledgerd: --as-of \(asOf): not a day of the calendar, written YYYY-MM-DD")
                    }
                    today = day
                } else {
                    let parts = Calendar.current.dateComponents([.year, .month, .day], from: Date())
                    today = Day(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1)!
                }
                let store = try options.openStore(configuration, create: false, reading: true)
                let report = OutstandingReport(try store.aging(asOf: today), asOf: today, onlyOverdue: overdue)
                if options.json {
                    print(try Output.json(report))
                } else {
                    print(report.text)
                }
            }
        }
    }
}

/// What `ledgerd outstanding` shows: a side's parties, aged, the most overdue first.
struct OutstandingReport: Encodable {
    var asOf: String
    var receivables: Side
    var payables: Side
    /// Whether only parties with something past due are listed (`--overdue`); the totals are
    /// then theirs.
    var onlyOverdue: Bool
    /// Always true in this version: the amounts are what was invoiced.
    var paymentsNotRecorded = true

    struct Side: Encodable {
        var parties: [Row]
        var totals: [Row]
    }

    struct Row: Encodable {
        /// The name shown; nil on a total row.
        var party: String?
        /// What the books know the party by, as `/api/status` gives it (`Party.key`): its
        /// organisation number when known, else its endpoint, VAT number or name. Two parties
        /// may share a name; never a key. nil on a total row.
        var partyKey: String?
        var currency: String
        var open: Amount
        var documents: Int
        var withoutDueDate: Int
        var oldestDueDate: String?
        /// `current`, `1-30`, `31-60`, `61-90`, `90+`.
        var buckets: [String: Amount]
        /// The amounts in bucket order, for the table.
        var minor: [Int64] { AgingBucket.allCases.map { buckets[$0.rawValue]?.minor ?? 0 } }
    }

    /// `aging`: what was open on `today` (`LedgerStore.aging(asOf:)`).
    init(_ aging: [StatusPageData.AgingEntry], asOf today: Day, onlyOverdue: Bool) {
        asOf = today.description
        self.onlyOverdue = onlyOverdue
        func side(_ name: String) -> Side {
            let entries = aging.filter { $0.side == name }
            let items = entries.map(\.item)
            // A name shown stands for one party of its side (shared names carry the key).
            let keys = Dictionary(entries.map { ($0.item.party, $0.partyKey) }, uniquingKeysWith: { first, _ in first })
            let oldest = Aging.oldestDue(items)
            let all = Aging.rows(items, asOf: today)
            let rows = onlyOverdue ? all.filter { $0.buckets.dropFirst().contains { $0 > 0 } } : all
            func row(_ row: AgingRow) -> Row {
                let currency = row.currency
                return Row(
                    party: row.party, partyKey: row.party.flatMap { keys[$0] }, currency: currency.code,
                    open: Amount(Money(minor: row.totalMinor, currency: currency)), documents: row.documents,
                    withoutDueDate: row.withoutDueDate,
                    oldestDueDate: row.party.flatMap { oldest["\($0)\u{0}\(currency.code)"]?.description },
                    buckets: Dictionary(
                        uniqueKeysWithValues: zip(AgingBucket.allCases, row.buckets).map {
                            ($0.rawValue, Amount(Money(minor: $1, currency: currency)))
                        }))
            }
            // The most overdue first: the oldest bucket holding money, then how much is in it
            // (amounts in one currency only: no rate is guessed), then the oldest due date.
            func urgency(_ row: Row) -> (bucket: Int, minor: Int64) {
                let amounts = row.minor
                guard let oldest = amounts.lastIndex(where: { $0 > 0 }) else { return (-1, 0) }
                return (oldest, amounts[oldest])
            }
            let parties = rows.map(row).sorted { a, b in
                let (x, y) = (urgency(a), urgency(b))
                if x.bucket != y.bucket { return x.bucket > y.bucket }
                if a.currency == b.currency, x.minor != y.minor { return x.minor > y.minor }
                if a.oldestDueDate != b.oldestDueDate { return (a.oldestDueDate ?? "~") < (b.oldestDueDate ?? "~") }
                return (a.party ?? "") < (b.party ?? "")
            }
            // The totals of the parties listed.
            return Side(parties: parties, totals: Aging.totals(rows).map(row))
        }
        receivables = side("receivable")
        payables = side("payable")
    }

    var text: String {
        var lines: [String] = []
        for (title, who, side) in [
            ("Customers owe us", "customer", receivables), ("We owe suppliers", "supplier", payables),
        ] {
            lines.append("\(title), as of \(asOf)")
            guard !side.parties.isEmpty else {
                lines.append(onlyOverdue ? "  nothing past due\n" : "  nothing open\n")
                continue
            }
            let header = ["  " + who, "open", "documents", "oldest due"] + AgingBucket.allCases.map(\.label)
            func cells(_ row: Row, name: String) -> [String] {
                ["  " + name, row.open.formatted, String(row.documents), row.oldestDueDate ?? "—"]
                    + row.minor.map {
                        String(Money.grouped(minor: $0, currencyCode: row.currency).dropLast(row.currency.count + 1))
                    }
            }
            let body = side.parties.map { cells($0, name: OneLine.escaped($0.party ?? "")) }
            let totals = side.totals.map { cells($0, name: "total \($0.currency)") }
            lines.append(Output.table([header] + body + totals, rightAligned: Set([1, 2] + Array(4..<header.count))))
            let undated = side.parties.reduce(0) { $0 + $1.withoutDueDate }
            if undated > 0 {
                lines.append("  \(undated) without a due date, taken as due 30 days after issue")
            }
            lines.append("")
        }
        lines.append("Invoiced amounts: ledgerd records no payments yet, so what was paid outside it still shows here.")
        return lines.joined(separator: "\n")
    }
}

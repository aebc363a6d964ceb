import GRDB
public import LedgerCore

/// What `ledgerd status` shows: documents by state, invoices and open amounts by currency.
public struct StatusReport: Sendable, Codable, Equatable {
    public struct DocumentCount: Sendable, Codable, Equatable {
        public var state: String
        public var count: Int
    }
    public struct OpenAmounts: Sendable, Codable, Equatable {
        /// `receivable` (customer invoices) or `payable` (vendor invoices).
        public var side: String
        public var currency: String
        /// Invoices and credit notes of this side and currency.
        public var documents: Int
        /// Of those, the ones not settled: open invoices, and credit notes not used up.
        public var openDocuments: Int
        /// Sum of what is still open, in minor units (credit notes count negative).
        public var openMinor: Int64
        public var open: String
    }
    public struct RecentDocument: Sendable, Codable, Equatable {
        public var id: Int64
        public var name: String
        public var inbox: String
        public var state: String
        public var reasonCode: String?
        public var reason: String?
        public var processedAt: String
        /// Where its file was put in the rejected folder, when known.
        public var rejectedPath: String?
    }
    /// Rejected and flagged documents that still need someone, as the status page counts them.
    public struct Problems: Sendable, Codable, Equatable {
        /// How many there are in all (`items` may be fewer).
        public var total: Int
        /// Newest first.
        public var items: [RecentDocument]
    }

    public var documents: [DocumentCount]
    /// Files dropped again with the bytes of a posted document (they posted nothing).
    public var duplicateDrops: Int
    public var open: [OpenAmounts]
    public var openProblems: Problems

    /// A posted document whose posting left something to do by hand (`documents.note`).
    public struct NotedDocument: Sendable, Codable, Equatable {
        public var id: Int64
        public var name: String
        public var inbox: String
        public var processedAt: String
        public var note: String
    }
    /// The posted documents with a note, as the status page lists them.
    public struct Notes: Sendable, Codable, Equatable {
        /// How many there are in all (`items` may be fewer).
        public var total: Int
        /// Newest first.
        public var items: [NotedDocument]
    }
    public var postingNotes: Notes
}

/// GL balance against sub-ledger per control account and currency (DESIGN §3).
public struct Reconciliation: Sendable, Codable, Equatable {
    public struct UnmatchedEntry: Sendable, Codable, Equatable {
        public var entryID: Int64
        public var date: String
        public var source: String
        public var description: String
        /// The entry's signed effect on the control account, in the account's normal direction.
        public var amountMinor: Int64
    }
    public struct Line: Sendable, Codable, Equatable {
        public var account: String
        /// `customer_ledger` or `supplier_ledger`.
        public var subLedger: String
        /// The same in words, for people: "customer sub-ledger" or "supplier sub-ledger".
        public var subLedgerName: String {
            subLedger == "customer_ledger" ? "customer sub-ledger" : "supplier sub-ledger"
        }
        public var currency: String
        public var generalLedgerMinor: Int64
        public var subLedgerMinor: Int64
        public var differenceMinor: Int64
        /// Manual entries on the control account (corrections, which make no sub-ledger entry):
        /// they explain the difference.
        public var entriesWithoutSubLedger: [UnmatchedEntry]
        /// Entries whose general-ledger side and sub-ledger side disagree: an invoice or
        /// payment whose sub-ledger entry is missing or differs, or a sub-ledger entry with no
        /// line on the account. Together they make the unexplained difference.
        public var discrepancies: [Discrepancy]
        /// What the listed entries do not explain; anything but zero is an error in the books.
        public var unexplainedMinor: Int64
        public var agrees: Bool { unexplainedMinor == 0 }
    }
    public struct Discrepancy: Sendable, Codable, Equatable {
        public var entryID: Int64
        public var date: String
        public var source: String
        public var description: String
        /// The entry's effect on the control account, in its normal direction; nil when it has
        /// no line there.
        public var generalLedgerMinor: Int64?
        /// Its sub-ledger entries' sum; nil when it has none.
        public var subLedgerMinor: Int64?
    }
    public var lines: [Line]
    public var agrees: Bool { lines.allSatisfy(\.agrees) }
}

/// The whole-database integrity check: every entry balances per currency.
public struct BalanceCheck: Sendable, Codable, Equatable {
    public struct Unbalanced: Sendable, Codable, Equatable {
        public var entryID: Int64
        public var currency: String
        public var debitMinor: Int64
        public var creditMinor: Int64
    }
    public var entries: Int
    public var unbalanced: [Unbalanced]
}

extension LedgerStore {
    /// `problemLimit`: the most open problems listed (nil: all of them).
    public func status(problemLimit: Int? = 20) throws -> StatusReport {
        try pool.read { db in
            let documents = try Row.fetchAll(
                db, sql: "SELECT state, COUNT(*) FROM documents GROUP BY state ORDER BY state"
            )
            .map { StatusReport.DocumentCount(state: $0[0], count: $0[1]) }
            var amounts: [StatusReport.OpenAmounts] = []
            // Payables first, as `ledgerd status` shows them.
            for (side, table) in Self.sides.reversed().map({ ($0.side, $0.invoices) }) {
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT currency, COUNT(*),
                            SUM(CASE WHEN status != 'paid' THEN 1 ELSE 0 END),
                            COALESCE(SUM(CASE WHEN status != 'paid' THEN
                                (CASE document_type WHEN 'credit_note' THEN -1 ELSE 1 END) * (payable_minor - amount_paid_minor)
                                ELSE 0 END), 0)
                        FROM \(table) GROUP BY currency ORDER BY currency
                        """)
                for row in rows {
                    let currency: String = row[0]
                    let minor: Int64 = row[3]
                    let amount =
                        Currency(currency).map { Money(minor: minor, currency: $0).amountString } ?? String(minor)
                    amounts.append(
                        .init(
                            side: side, currency: currency, documents: row[1], openDocuments: row[2], openMinor: minor,
                            open: amount))
                }
            }
            // The status page's rule: a rejection settled since (its file taken out of the rejected
            // folder, or a corrected file posted) no longer counts.
            let open = "state IN ('rejected', 'duplicate_number') AND resolved_at IS NULL"
            let problems = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, original_name, inbox, state, reason_code, reason, processed_at, rejected_path
                    FROM documents WHERE \(open) ORDER BY processed_at DESC, id DESC LIMIT ?
                    """, arguments: [problemLimit ?? -1]
            ).map {
                StatusReport.RecentDocument(
                    id: $0[0], name: $0[1], inbox: $0[2], state: $0[3], reasonCode: $0[4], reason: $0[5],
                    processedAt: $0[6], rejectedPath: $0[7])
            }
            let problemCount = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM documents WHERE \(open)") ?? 0
            let drops = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM duplicate_drops") ?? 0
            return StatusReport(
                documents: documents, duplicateDrops: drops, open: amounts,
                openProblems: .init(total: problemCount, items: problems),
                postingNotes: try Self.postingNotes(db, limit: problemLimit))
        }
    }

    /// The posted documents whose posting left something to do by hand, newest first, at most
    /// `limit` (nil: all), and how many there are.
    static func postingNotes(_ db: Database, limit: Int?) throws -> StatusReport.Notes {
        // Only posted documents have one (`PostingWriter.saveDocument` clears it otherwise); said
        // as the partial index `documents_open_notes` is, so that both queries read it alone.
        let noted = "note IS NOT NULL AND note_done_at IS NULL"
        let items = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT id, original_name, inbox, processed_at, note FROM documents
                    WHERE \(noted) ORDER BY processed_at DESC, id DESC LIMIT ?
                    """), arguments: [limit ?? -1]
        ).map {
            StatusReport.NotedDocument(id: $0[0], name: $0[1], inbox: $0[2], processedAt: $0[3], note: $0[4])
        }
        let total = try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM documents WHERE \(noted)")) ?? 0
        return StatusReport.Notes(total: total, items: items)
    }

    /// Marks the note of document `id` as acted on, and records who said so in the audit log;
    /// nil, changing nothing, when the document has no note still open.
    public func markNoteDone(documentID id: Int64, actor: String, now: String) throws -> StatusReport.NotedDocument? {
        try pool.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: """
                        UPDATE documents SET note_done_at = ? WHERE id = ? AND note IS NOT NULL AND note_done_at IS NULL
                        RETURNING id, original_name, inbox, processed_at, note
                        """, arguments: [now, id])
            else { return nil }
            let done = StatusReport.NotedDocument(
                id: row[0], name: row[1], inbox: row[2], processedAt: row[3], note: row[4])
            try Self.audit(
                .noteDone, actor: actor, documentID: id, detail: "\(done.name): \(done.note)", now: now, in: db)
            return done
        }
    }

    /// Reconciles the receivables and payables control accounts with their sub-ledgers.
    public func reconcile(accounts: AccountPlan) throws -> Reconciliation {
        try pool.read { db in
            var lines: [Reconciliation.Line] = []
            // Receivables carry a debit balance, payables a credit balance.
            for (account, ledger, sign) in [
                (accounts.receivables.number, "customer_ledger", Int64(1)),
                (accounts.payables.number, "supplier_ledger", Int64(-1)),
            ] {
                var gl: [String: Int64] = [:]
                for row in try Row.fetchAll(
                    db,
                    sql:
                        "SELECT currency, SUM(debit_minor) - SUM(credit_minor) FROM journal_lines WHERE account = ? GROUP BY currency",
                    arguments: [account])
                {
                    gl[row[0]] = sign * (row[1] as Int64)
                }
                var sub: [String: Int64] = [:]
                for row in try Row.fetchAll(
                    db, sql: "SELECT currency, SUM(amount_minor) FROM \(ledger) GROUP BY currency")
                {
                    sub[row[0]] = row[1]
                }
                // Entry by entry, the two sides of the account: only a manual entry may lack a
                // sub-ledger entry (a correction); every other difference is a discrepancy. A side
                // that is missing counts as zero: an invoice paid in advance in full has a
                // sub-ledger entry of 0 and no line on the account.
                // Both sides in one pass, grouped once: joining the two sides' groups instead
                // leaves SQLite to find each entry's other side through an index it makes for
                // the query, or, when its planner judges otherwise, by reading all of them for
                // each entry (28 s instead of 0.1 s for 30,000 entries).
                let differing = try Row.fetchAll(
                    db,
                    sql: """
                        SELECT k.id, COALESCE(e.date, ''), COALESCE(e.source, ''), COALESCE(e.description, ''),
                            k.currency, CASE WHEN k.in_general THEN k.general END,
                            CASE WHEN k.in_sub THEN k.sub END
                        FROM (
                            SELECT id, currency, SUM(general) AS general, SUM(sub) AS sub,
                                MAX(in_general) AS in_general, MAX(in_sub) AS in_sub
                            FROM (
                                SELECT entry_id AS id, currency, debit_minor - credit_minor AS general, 0 AS sub,
                                    1 AS in_general, 0 AS in_sub
                                FROM journal_lines WHERE account = ?1
                                UNION ALL
                                SELECT journal_entry_id, currency, 0, amount_minor, 0, 1 FROM \(ledger))
                            GROUP BY id, currency HAVING ?2 * SUM(general) <> SUM(sub)) k
                        LEFT JOIN journal_entries e ON e.id = k.id
                        ORDER BY e.date, k.id
                        """, arguments: [account, sign])
                var explaining: [String: [Reconciliation.UnmatchedEntry]] = [:]
                var discrepancies: [String: [Reconciliation.Discrepancy]] = [:]
                for row in differing {
                    let currency: String = row[4]
                    let general = (row[5] as Int64?).map { sign * $0 }
                    let subLedger: Int64? = row[6]
                    if let general, subLedger == nil, (row[2] as String) == "manual" {
                        explaining[currency, default: []].append(
                            .init(
                                entryID: row[0], date: row[1], source: row[2], description: row[3], amountMinor: general
                            ))
                    } else {
                        discrepancies[currency, default: []].append(
                            .init(
                                entryID: row[0], date: row[1], source: row[2], description: row[3],
                                generalLedgerMinor: general, subLedgerMinor: subLedger))
                    }
                }
                for currency in Set(gl.keys).union(sub.keys).sorted() {
                    let g = gl[currency, default: 0]
                    let s = sub[currency, default: 0]
                    let entries = explaining[currency, default: []]
                    let explained = entries.reduce(Int64(0)) { $0 + $1.amountMinor }
                    lines.append(
                        .init(
                            account: account, subLedger: ledger, currency: currency, generalLedgerMinor: g,
                            subLedgerMinor: s, differenceMinor: g - s, entriesWithoutSubLedger: entries,
                            discrepancies: discrepancies[currency, default: []], unexplainedMinor: g - s - explained))
                }
            }
            return Reconciliation(lines: lines)
        }
    }

    /// Checks that every journal entry in the database balances per currency. An entry with
    /// no lines is reported too, unless it records an invoice whose amounts are all zero.
    public func checkBalances() throws -> BalanceCheck {
        try pool.read { db in
            let entries = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal_entries") ?? 0
            func recordsAnInvoiceOfZero(_ table: String) -> String {
                """
                EXISTS (SELECT 1 FROM \(table) i WHERE i.journal_entry_id = e.id AND i.net_minor = 0
                    AND i.tax_minor = 0 AND i.total_minor = 0 AND i.prepaid_minor = 0 AND i.rounding_minor = 0
                    AND i.payable_minor = 0)
                """
            }
            let unbalanced = try Row.fetchAll(
                db,
                sql: """
                    SELECT entry_id, currency, SUM(debit_minor), SUM(credit_minor) FROM journal_lines
                    GROUP BY entry_id, currency HAVING SUM(debit_minor) != SUM(credit_minor)
                    UNION ALL
                    SELECT e.id, '', 0, 0 FROM journal_entries e
                    WHERE NOT EXISTS (SELECT 1 FROM journal_lines l WHERE l.entry_id = e.id)
                        AND NOT \(recordsAnInvoiceOfZero("vendor_invoices"))
                        AND NOT \(recordsAnInvoiceOfZero("customer_invoices"))
                    """
            ).map { BalanceCheck.Unbalanced(entryID: $0[0], currency: $0[1], debitMinor: $0[2], creditMinor: $0[3]) }
            return BalanceCheck(entries: entries, unbalanced: unbalanced)
        }
    }
}

import GRDB
public import LedgerCore

/// Everything the status page reads from the database, taken in ONE read transaction so the
/// figures agree with each other (WAL: it never waits for, nor blocks, the pipeline).
public struct StatusPageData: Sendable, Equatable {
    /// How many open problems have one reason code.
    public struct ReasonCount: Sendable, Equatable, Encodable {
        public var code: String
        public var count: Int

        public init(code: String, count: Int) {
            self.code = code
            self.count = count
        }
    }

    public struct Document: Sendable, Equatable {
        public var id: Int64
        public var name: String
        public var inbox: String
        public var kind: String
        /// `posted`, `rejected` or `duplicate_number`; `duplicate` for a file dropped again with
        /// the bytes of a posted document (`id` and `duplicateOf` are that document's, `name`,
        /// `archivedPath` and the times the file's).
        public var state: String
        public var reasonCode: String?
        public var reason: String?
        public var receivedAt: String
        public var processedAt: String
        public var archivedPath: String?
        /// For a flagged duplicate number: the document that was posted first.
        public var duplicateOf: Int64?
        public var duplicateOfName: String?
        public var duplicateOfArchivedPath: String?
        public var duplicateOfProcessedAt: String?
        /// Where a rejected or flagged document's file was put in the rejected folder (its own
        /// name, or `name (2).xml` beside another of the name); nil when not known.
        public var rejectedPath: String? = nil
        /// When a rejected or flagged document stopped needing anyone (`LedgerStore.resolveProblem`).
        public var resolvedAt: String? = nil
        /// For a posted document (or a file dropped again with its bytes): what it was posted as.
        public var postedAs: PostedAs? = nil
        /// For a posted document: what its posting left to do by hand (`documents.note`).
        public var note: String? = nil
    }

    /// The invoice or credit note a document was posted as.
    public struct PostedAs: Sendable, Equatable {
        /// `invoice` or `credit_note`.
        public var type: String
        /// `purchase` (from a supplier) or `sale` (to a customer).
        public var direction: String
        public var number: String
        /// The supplier's or customer's name.
        public var party: String
        public var payableMinor: Int64
        public var currency: String
        public var dueDate: String?
    }

    /// What one party still owes us (receivable) or we still owe it (payable), per currency.
    public struct PartyBalance: Sendable, Equatable {
        /// `receivable` (customer) or `payable` (supplier).
        public var side: String
        public var partyKey: String
        /// The party's name; made unique per side by appending the key when two parties share
        /// a name.
        public var party: String
        public var currency: String
        /// Open documents (invoices and credit notes not fully settled).
        public var openDocuments: Int
        /// Signed sum still open in minor units (credit notes negative).
        public var openMinor: Int64
    }

    /// An open amount to age, tagged with its side and its party's key (`item.party` is the
    /// name shown).
    public struct AgingEntry: Sendable, Equatable {
        public var side: String
        public var partyKey: String
        public var item: AgingItem
    }

    public var documentCounts: [StatusReport.DocumentCount]
    public var documentTotal: Int
    /// Files dropped again with the bytes of a posted document (`duplicate_drops`).
    public var duplicateDropCount: Int
    /// The most recently processed documents, and files dropped again with the bytes of a
    /// posted one (state `duplicate`), newest first.
    public var recent: [Document]
    /// Rejected documents not resolved since (`LedgerStore.resolveProblem`), newest first, at
    /// most `problemLimit`.
    public var openRejections: [Document]
    public var openRejectionCount: Int
    /// All open rejections counted by reason code, the most common first (ties by code).
    public var openRejectionsByCode: [ReasonCount]
    /// Documents flagged as a duplicate document number and not resolved since, newest first,
    /// at most `problemLimit`.
    public var duplicates: [Document]
    public var duplicateCount: Int
    /// Per party and currency, receivables first, then by party name.
    public var balances: [PartyBalance]
    /// Open amounts grouped by party, currency, aging bucket as of the day read for, whether
    /// the due date is known, and what is owed apart from credits (input for `Aging.rows`); each
    /// with the earliest issue and due date of its documents.
    public var aging: [AgingEntry]
    /// The newest audit-log rows (starts, stops, retries, rescans, backups, ingest runs), newest
    /// first, at most `activityLimit`.
    public var activity: [AuditEntry]
    /// Posted documents whose posting left something to do by hand, newest first, at most
    /// `problemLimit`, and how many there are.
    public var postingNotes = StatusReport.Notes(total: 0, items: [])
}

extension LedgerStore {
    /// Reads what the status page shows (see `StatusPageData`), its open amounts grouped for
    /// aging as of `today`.
    public func statusPageData(
        asOf today: Day, recentLimit: Int = 50, problemLimit: Int = 100, activityLimit: Int = 10
    ) throws -> StatusPageData {
        try pool.read { db in
            try Self.statusPageData(
                db, asOf: today, recentLimit: recentLimit, problemLimit: problemLimit, activityLimit: activityLimit)
        }
    }

    /// The open amounts to age as of `day`, as `StatusPageData.AgingEntry` items grouped by
    /// party, currency, issue and due date (the status page groups by bucket instead; `Aging`
    /// gives the same rows for either): the documents issued by then, each with what it left
    /// open on that day. A credit settles an invoice
    /// from the later of their two issue dates, so a credit note issued after `day` leaves the
    /// invoice it settles open as of `day`, as the books stood then. (What each document leaves
    /// open today, `payable_minor - amount_paid_minor`, is the sum of all its credits.)
    public func aging(asOf day: Day) throws -> [StatusPageData.AgingEntry] {
        try pool.read { db in
            var aging: [StatusPageData.AgingEntry] = []
            for side in Self.sides {
                let (table, column) = (side.invoices, side.party)
                let applications =
                    side.side == "receivable" ? "customer_credit_applications" : "vendor_credit_applications"
                let label = try Self.partyLabels(
                    db, parties: side.parties, invoices: table, column: column, of: "i.issue_date <= ?",
                    arguments: [day.description])
                // A negative invoice settling another is a credit whose open amount goes towards
                // zero from below (`PostingWriter.applyCredits`).
                let rows = try Row.fetchAll(
                    db,
                    sql: """
                        WITH open AS (
                            SELECT i.\(column) AS party, i.currency, i.issue_date, i.due_date,
                                CASE i.document_type WHEN 'credit_note' THEN -1 ELSE 1 END AS sign,
                                i.payable_minor
                                - COALESCE((SELECT SUM(a.amount_minor) FROM \(applications) a
                                    JOIN \(table) c ON c.id = a.credit_note_id
                                    WHERE a.invoice_id = i.id AND c.issue_date <= ?1), 0)
                                - (CASE i.document_type WHEN 'invoice' THEN -1 ELSE 1 END)
                                    * COALESCE((SELECT SUM(a.amount_minor) FROM \(applications) a
                                        JOIN \(table) v ON v.id = a.invoice_id
                                        WHERE a.credit_note_id = i.id AND v.issue_date <= ?1), 0) AS minor
                            FROM \(table) i WHERE i.issue_date <= ?1)
                        SELECT party, currency, issue_date, due_date, COUNT(*), SUM(sign * minor)
                        FROM open WHERE minor != 0
                        GROUP BY party, currency, issue_date, due_date, sign * minor > 0
                        """, arguments: [day.description])
                for row in rows {
                    if let aged = Self.agingItem(row, label: label) {
                        aging.append(.init(side: side.side, partyKey: aged.partyKey, item: aged.item))
                    }
                }
            }
            return aging
        }
    }

    /// Open invoices and credit notes per side and currency: (count, signed open minor units).
    /// Cheap enough for every `/metrics` scrape.
    public func outstandingTotals() throws -> [(side: String, currency: String, documents: Int, openMinor: Int64)] {
        try pool.read { db in
            var result: [(side: String, currency: String, documents: Int, openMinor: Int64)] = []
            for (side, table) in Self.sides.map({ ($0.side, $0.invoices) }) {
                let rows = try Row.fetchAll(
                    db.cachedStatement(
                        sql: """
                            SELECT currency, COUNT(*), COALESCE(SUM(\(Self.signedOpen)), 0)
                            FROM \(table) WHERE status != 'paid' GROUP BY currency ORDER BY currency
                            """))
                for row in rows { result.append((side, row[0], row[1], row[2])) }
            }
            return result
        }
    }

    /// Of `names` (archived files, `<first 12 hex digits of the SHA-256>_<name>` after their
    /// folders), those whose bytes no document of the books has: posted into books that were
    /// since restored from an older backup.
    public func unknownToTheBooks(_ names: [String]) throws -> [String] {
        try pool.read { db in
            // Hex digits sort below 'g': every SHA-256 beginning with the prefix lies in the range.
            let known = try db.cachedStatement(
                sql: "SELECT 1 FROM documents WHERE sha256 >= ?1 AND sha256 < ?1 || 'g' LIMIT 1")
            return try names.filter { name in
                let prefix = String(name.split(separator: "/").last?.prefix(12) ?? "")
                return try Int.fetchOne(known, arguments: [prefix]) == nil
            }
        }
    }

    /// When the latest document was posted (ISO-8601), nil before the first: for a monitor
    /// that alerts when nothing has been posted for longer than files usually come.
    public func lastPostedAt() throws -> String? {
        try pool.read { db in
            try String.fetchOne(
                db.cachedStatement(sql: "SELECT MAX(processed_at) FROM documents WHERE state = 'posted'"))
        }
    }

    /// Marks the rejected or flagged document with these bytes as needing no one any more: its
    /// file left the rejected folder and a file of its name was posted. True when one was.
    @discardableResult
    public func resolveProblem(sha256: String, now: String) throws -> Bool {
        try pool.write { db in
            try db.execute(
                sql: """
                    UPDATE documents SET resolved_at = ?
                    WHERE sha256 = ? AND (state = 'rejected' OR state = 'duplicate_number') AND resolved_at IS NULL
                    """, arguments: [now, sha256])
            return db.changesCount > 0
        }
    }

    /// The open problems (rejected or flagged) whose file's move into the rejected folder is
    /// recorded (`documents.rejected_path`), with when each was processed: their files were
    /// there when this was read.
    public func problemsInRejectedFolder() throws -> [Int64: String] {
        try pool.read { db in
            var found: [Int64: String] = [:]
            let rows = try Row.fetchCursor(
                db,
                sql: """
                    SELECT id, processed_at FROM documents
                    WHERE (state = 'rejected' OR state = 'duplicate_number') AND resolved_at IS NULL
                        AND rejected_path IS NOT NULL
                    """)
            while let row = try rows.next() { found[row[0]] = row[1] }
            return found
        }
    }

    /// Marks resolved every open problem (rejected or flagged) whose file `isStillThere`
    /// (given the document's key, its SHA-256 or `unread:` stand-in, and its original name)
    /// says is no longer in the rejected folder, of those processed before `cutoff` and those
    /// in `known` (from `problemsInRejectedFolder`) still as they were then: recorded in the
    /// folder, and not processed again since. Returns how many were resolved.
    public func resolveProblems(
        processedBefore cutoff: String, orKnown known: [Int64: String] = [:], now: String,
        isStillThere: (_ key: String, _ originalName: String) -> Bool
    ) throws -> Int {
        try pool.write { db in
            let open = try Row.fetchAll(
                db,
                sql: """
                    SELECT id, sha256, original_name, processed_at, rejected_path IS NOT NULL FROM documents
                    WHERE (state = 'rejected' OR state = 'duplicate_number') AND resolved_at IS NULL
                    """)
            var resolved = 0
            for row in open {
                let id: Int64 = row[0]
                let processedAt: String = row[3]
                let unchanged = row[4] && known[id] == processedAt
                guard processedAt < cutoff || unchanged, !isStillThere(row[1], row[2]) else { continue }
                try db.execute(sql: "UPDATE documents SET resolved_at = ? WHERE id = ?", arguments: [now, id])
                resolved += 1
            }
            return resolved
        }
    }

    /// Whether the database answers a trivial query.
    public func ping() throws {
        _ = try pool.read { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    static let signedOpen =
        "(CASE document_type WHEN 'credit_note' THEN -1 ELSE 1 END) * (payable_minor - amount_paid_minor)"

    /// The two sides of the books, receivables first: their invoice, party and sub-ledger tables.
    static let sides:
        [(side: String, direction: String, invoices: String, parties: String, party: String, ledger: String)] = [
            ("receivable", "sale", "customer_invoices", "customers", "customer_id", "customer_ledger"),
            ("payable", "purchase", "vendor_invoices", "suppliers", "supplier_id", "supplier_ledger"),
        ]

    static let documentColumns = """
        d.id, d.original_name, d.inbox, d.kind, d.state, d.reason_code, d.reason, d.received_at, d.processed_at,
        d.archived_path, d.duplicate_of, o.original_name, o.archived_path, o.processed_at, d.rejected_path,
        d.resolved_at, d.note
        """

    static func document(_ row: Row) -> StatusPageData.Document {
        StatusPageData.Document(
            id: row[0], name: row[1], inbox: row[2], kind: row[3], state: row[4], reasonCode: row[5], reason: row[6],
            receivedAt: row[7], processedAt: row[8], archivedPath: row[9], duplicateOf: row[10],
            duplicateOfName: row[11],
            duplicateOfArchivedPath: row[12], duplicateOfProcessedAt: row[13], rejectedPath: row[14],
            resolvedAt: row[15], note: row[16])
    }

    /// A document rejected and not resolved since, as `d`. A rejection is settled once its
    /// file was taken out of the rejected folder and a file of the same name posted (the
    /// bookkeeper fixed it and dropped it again): `resolved_at`. The same bytes retried update
    /// the rejected row itself.
    static let openRejection = "d.state = 'rejected' AND d.resolved_at IS NULL"
    /// A document flagged for a number already posted, not resolved since, as `d`.
    static let openDuplicateNumber = "d.state = 'duplicate_number' AND d.resolved_at IS NULL"

    /// The documents that meet `condition` (on `d`), newest first, as many as the one parameter
    /// says: read newest first through an index, never by sorting all of them
    /// (`QueryPlanTests`), so a list costs the same however many documents the books hold.
    static func newestDocuments(where condition: String? = nil) -> String {
        """
        SELECT \(documentColumns) FROM documents d LEFT JOIN documents o ON o.id = d.duplicate_of
        \(condition.map { "WHERE \($0) " } ?? "")ORDER BY d.processed_at DESC, d.id DESC LIMIT ?
        """
    }

    static func statusPageData(
        _ db: Database, asOf today: Day, recentLimit: Int, problemLimit: Int, activityLimit: Int
    ) throws -> StatusPageData {
        let counts = try Row.fetchAll(
            db.cachedStatement(sql: "SELECT state, COUNT(*) FROM documents GROUP BY state ORDER BY state")
        ).map { StatusReport.DocumentCount(state: $0[0], count: $0[1]) }
        let total = counts.reduce(0) { $0 + $1.count }

        let recentDocuments = try Row.fetchAll(
            db.cachedStatement(sql: newestDocuments()), arguments: [recentLimit]
        ).map(document)
        let recent = try withDuplicateDrops(db, recentDocuments, limit: recentLimit)

        let rejections = try Row.fetchAll(
            db.cachedStatement(sql: newestDocuments(where: openRejection)), arguments: [problemLimit]
        ).map(document)
        let byCode = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT COALESCE(d.reason_code, ''), COUNT(*) FROM documents d WHERE \(openRejection)
                    GROUP BY 1 ORDER BY 2 DESC, 1
                    """)
        ).map { StatusPageData.ReasonCount(code: $0[0], count: $0[1]) }
        let rejectionCount = byCode.reduce(0) { $0 + $1.count }

        let duplicates = try Row.fetchAll(
            db.cachedStatement(sql: newestDocuments(where: openDuplicateNumber)), arguments: [problemLimit]
        ).map(document)
        let duplicateCount =
            try Int.fetchOne(
                db.cachedStatement(
                    sql: "SELECT COUNT(*) FROM documents WHERE state = 'duplicate_number' AND resolved_at IS NULL"))
            ?? 0

        var balances: [StatusPageData.PartyBalance] = []
        var aging: [StatusPageData.AgingEntry] = []
        // Days are written YYYY-MM-DD, so they compare as text in the order of the calendar.
        let starts = Aging.bucketStarts(asOf: today)
        let bucketArguments = StatementArguments((starts.dueDates + starts.issueDates).map(\.description))
        func bucket(_ column: String, startingAt first: Int) -> String {
            let cases = (0..<starts.dueDates.count).map { "WHEN \(column) >= ?\(first + $0) THEN \($0)" }
            return "CASE \(cases.joined(separator: " ")) ELSE \(starts.dueDates.count) END"
        }
        for (side, table, parties, column) in Self.sides.map({ ($0.side, $0.invoices, $0.parties, $0.party) }) {
            let label = try partyLabels(db, parties: parties, invoices: table, column: column, of: "i.status != 'paid'")

            // One pass over the open documents serves both: each party's balance per currency is
            // the sum of its rows to age (the table holds every invoice ever received while no
            // payment is recorded, so a second pass cost a fifth of the page's read).
            // Grouped by aging bucket here rather than by date, so a handful of rows a party
            // come back however many documents are open (by date, a row a document: 0.25 s of a
            // read at 40,000 documents). Each row's earliest dates fall in its bucket, and are
            // the earliest of its documents, so `Aging` ages and dates it as it would them.
            // Through the table itself: by the party's index, SQLite looked up every document
            // from it one by one, which took half as long again.
            let items = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT party, currency, MIN(issue_date), MIN(due_date), COUNT(*), SUM(open_minor)
                        FROM (
                            SELECT \(column) AS party, currency, issue_date, due_date, \(signedOpen) AS open_minor,
                                CASE WHEN due_date IS NULL THEN \(bucket("issue_date", startingAt: starts.dueDates.count + 1))
                                    ELSE \(bucket("due_date", startingAt: 1)) END AS bucket
                            FROM \(table) NOT INDEXED WHERE status != 'paid')
                        GROUP BY party, currency, bucket, due_date IS NULL, open_minor > 0
                        """), arguments: bucketArguments)
            struct Key: Hashable {
                var party: Int64
                var currency: String
            }
            var totals: [Key: (documents: Int, minor: Int64)] = [:]
            for row in items {
                let key = Key(party: row[0], currency: row[1])
                let (documents, minor): (Int, Int64) = (row[4], row[5])
                totals[key, default: (0, 0)].documents += documents
                totals[key, default: (0, 0)].minor = Aging.add(totals[key]?.minor ?? 0, minor)
                if let aged = agingItem(row, label: label) {
                    aging.append(.init(side: side, partyKey: aged.partyKey, item: aged.item))
                }
            }
            var sideBalances = totals.map { key, total in
                let party = label[key.party] ?? (String(key.party), String(key.party))
                return StatusPageData.PartyBalance(
                    side: side, partyKey: party.key, party: party.name, currency: key.currency,
                    openDocuments: total.documents, openMinor: total.minor)
            }
            sideBalances.sort {
                $0.party != $1.party ? NameOrder.precedes($0.party, $1.party) : $0.currency < $1.currency
            }
            balances += sideBalances
        }

        let activity = try AuditEntry.fetchAll(db, Self.newestAuditEntries(limit: activityLimit))
        return StatusPageData(
            documentCounts: counts, documentTotal: total,
            duplicateDropCount: try Int.fetchOne(db.cachedStatement(sql: "SELECT COUNT(*) FROM duplicate_drops")) ?? 0,
            recent: recent, openRejections: rejections,
            openRejectionCount: rejectionCount, openRejectionsByCode: byCode, duplicates: duplicates,
            duplicateCount: duplicateCount,
            balances: balances, aging: aging, activity: activity,
            postingNotes: try postingNotes(db, limit: problemLimit))
    }

    /// An item to age, and its party's key, from a row of (party id, currency, issue date, due
    /// date, documents, signed open minor units); nil for a currency or day that cannot be read.
    static func agingItem(_ row: Row, label: [Int64: (key: String, name: String)]) -> (
        partyKey: String, item: AgingItem
    )? {
        let id: Int64 = row[0]
        let code: String = row[1]
        let issue: String = row[2]
        let due: String? = row[3]
        guard let currency = Currency(code), let issueDate = Day(iso: issue) else { return nil }
        let item = AgingItem(
            party: label[id]?.name ?? String(id), currency: currency, openMinor: row[5], issueDate: issueDate,
            dueDate: due.flatMap { Day(iso: $0) }, documents: row[4])
        return (label[id]?.key ?? String(id), item)
    }

    /// The key and the name shown of each party of a side with a document that meets
    /// `condition` (on `i`, the invoice table). Names shared by two parties get their key
    /// appended, so rows never merge.
    static func partyLabels(
        _ db: Database, parties: String, invoices: String, column: String, of condition: String,
        arguments: StatementArguments = []
    ) throws -> [Int64: (key: String, name: String)] {
        let names = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT p.id, p.key, p.name, (SELECT COUNT(*) FROM \(parties) q WHERE q.name = p.name)
                    FROM \(parties) p WHERE EXISTS (
                        SELECT 1 FROM \(invoices) i WHERE i.\(column) = p.id AND \(condition))
                    """), arguments: arguments)
        var label: [Int64: (key: String, name: String)] = [:]
        for row in names {
            let key: String = row[1]
            let name: String = row[2]
            let shared: Int = row[3]
            label[row[0]] = (key, shared > 1 ? "\(name) (\(key))" : name)
        }
        return label
    }

    /// Documents and files dropped again whose name holds `text`, newest first, at most
    /// `limit`, each posted one with what it was posted as; and how many there are in all. What
    /// a bookkeeper asks of a file dropped some time ago. Names are compared as `nameKey` makes
    /// them (any letter in either case, "é" however it is written); a rejected file is found by
    /// the name it lies under too (`x (2).xml`).
    public func findDocuments(nameContaining text: String, limit: Int = 50) throws -> (
        total: Int, items: [StatusPageData.Document]
    ) {
        let needle = Self.nameKey(text)
        let matches =
            "instr(ledgerd_name_key(d.original_name), ?1) > 0 OR instr(ledgerd_name_key(d.rejected_path), ?1) > 0"
        return try pool.read { db in
            let documents = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT \(Self.documentColumns) FROM documents d LEFT JOIN documents o ON o.id = d.duplicate_of
                        WHERE \(matches) ORDER BY d.processed_at DESC, d.id DESC LIMIT ?2
                        """),
                arguments: [needle, limit]
            ).map(Self.document)
            let total =
                try Int.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT (SELECT COUNT(*) FROM documents d WHERE \(matches))
                                + (SELECT COUNT(*) FROM duplicate_drops WHERE instr(ledgerd_name_key(original_name), ?1) > 0)
                            """), arguments: [needle]) ?? 0
            return (total, try Self.withDuplicateDrops(db, documents, limit: limit, nameHolding: needle))
        }
    }

    /// A name as a search compares it: its last path component, in Unicode's composed form
    /// (an "é" typed as one character or stored as "e" and an accent, as some systems write
    /// names, is one), in lower case (Æ, Ø and Å too, not only ASCII as SQLite's LIKE).
    public static func nameKey(_ text: String) -> String {
        let last = text.lastIndex(of: "/").map { text[text.index(after: $0)...] } ?? text[...]
        // Most names are ASCII, already in composed form, whose letters lower-case alone: a
        // search makes the key of every name in the books, and Foundation's normalisation took
        // half its time (0.19 s of a search through 30,000 documents; 0.09 s without).
        if last.utf8.allSatisfy({ $0 < 0x80 }) {
            return String(decoding: last.utf8.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        }
        return String(last).precomposedStringWithCanonicalMapping.lowercased()
    }

    /// `nameKey` for SQL, on every connection of the pool (`ledgerd_name_key(name)`).
    static let nameKeyFunction = DatabaseFunction("ledgerd_name_key", argumentCount: 1, pure: true) { values in
        String.fromDatabaseValue(values[0]).map(nameKey)
    }

    /// `documents` merged with the newest files dropped again (`duplicate_drops`), newest
    /// first, at most `limit`; each posted one (and each drop of one) with what it was posted as.
    /// `nameHolding`: only the drops whose name's `nameKey` holds this.
    static func withDuplicateDrops(
        _ db: Database, _ documents: [StatusPageData.Document], limit: Int, nameHolding: String? = nil
    ) throws -> [StatusPageData.Document] {
        let drops = try Row.fetchAll(
            db.cachedStatement(
                sql: """
                    SELECT x.document_id, x.original_name, x.inbox, o.kind, x.received_at, x.processed_at,
                        x.archived_path, o.original_name, o.archived_path, o.processed_at
                    FROM duplicate_drops x JOIN documents o ON o.id = x.document_id
                    \(nameHolding == nil ? "" : "WHERE instr(ledgerd_name_key(x.original_name), ?) > 0")
                    ORDER BY x.id DESC LIMIT ?
                    """),
            arguments: StatementArguments(nameHolding.map { [$0, limit] } ?? [limit])
        ).map { row in
            StatusPageData.Document(
                id: row[0], name: row[1], inbox: row[2], kind: row[3], state: "duplicate", reasonCode: nil, reason: nil,
                receivedAt: row[4], processedAt: row[5], archivedPath: row[6], duplicateOf: row[0],
                duplicateOfName: row[7], duplicateOfArchivedPath: row[8], duplicateOfProcessedAt: row[9])
        }
        // Newest first. Of one second, the drops first: a drop is recorded after its batch's
        // documents, and always after the document it repeats.
        var merged: [StatusPageData.Document] = []
        merged.reserveCapacity(min(limit, documents.count + drops.count))
        var d = documents.startIndex
        var x = drops.startIndex
        while merged.count < limit, d < documents.endIndex || x < drops.endIndex {
            if x == drops.endIndex || (d < documents.endIndex && documents[d].processedAt > drops[x].processedAt) {
                merged.append(documents[d])
                d += 1
            } else {
                merged.append(drops[x])
                x += 1
            }
        }
        let postedAs = try postings(db)
        for index in merged.indices where merged[index].state == "posted" || merged[index].state == "duplicate" {
            merged[index].postedAs = try postedAs(merged[index].id)
        }
        return merged
    }

    /// What a document was posted as, found through indexes alone: its journal entry (by
    /// document), the sub-ledger entry of that journal entry, its invoice and party. No index
    /// of invoices by document is kept: one more B-tree to write at every posting, for lists of
    /// fifty.
    static func postings(_ db: Database) throws -> (Int64) throws -> StatusPageData.PostedAs? {
        let statement = try db.cachedStatement(
            sql: sides.map { side in
                """
                SELECT '\(side.direction)', i.document_type, i.number, p.name, i.payable_minor, i.currency, i.due_date
                FROM journal_entries e
                JOIN \(side.ledger) l ON l.journal_entry_id = e.id AND l.entry_type IN ('invoice', 'credit_note')
                JOIN \(side.invoices) i ON i.id = l.invoice_id
                JOIN \(side.parties) p ON p.id = i.\(side.party)
                WHERE e.document_id = ?
                """
            }.joined(separator: " UNION ALL ") + " LIMIT 1")
        return { id in
            try Row.fetchOne(statement, arguments: [id, id]).map { row in
                StatusPageData.PostedAs(
                    type: row[1], direction: row[0], number: row[2], party: row[3], payableMinor: row[4],
                    currency: row[5], dueDate: row[6])
            }
        }
    }
}

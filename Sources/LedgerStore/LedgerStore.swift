import Foundation
public import GRDB
import LedgerCore

/// The single SQLite file: WAL mode, numbered migrations, and every posting in one
/// transaction with its document row.
public final class LedgerStore: Sendable {
    public let pool: DatabasePool
    public let path: String

    public enum Durability: Sendable {
        /// `synchronous = FULL`: a commit survives power loss once it returns.
        case full
        /// `synchronous = NORMAL`: survives a process crash, not a power cut (tests only).
        case normal
    }

    public init(path: String, durability: Durability = .full, readonly: Bool = false) throws {
        var configuration = Configuration()
        configuration.readonly = readonly
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(10)
        configuration.label = "ledgerd"
        configuration.prepareDatabase { db in
            try db.execute(sql: durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            // A group commit touches index pages all over the file (SHA-256 keys are random);
            // with SQLite's default 2 MB cache those pages spill to the WAL again and again
            // inside one transaction. 16 MB keeps a batch's pages in memory until the commit.
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Each document's savepoint keeps a statement journal of the pages it changes;
            // in memory, not in a temporary file written page by page.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
        }
        self.path = path
        self.pool = try DatabasePool(path: path, configuration: configuration)
        if !readonly {
            try Schema.migrator.migrate(pool)
        }
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Schema.migrator.appliedMigrations(db) }
    }

    // MARK: - Writing

    /// Writes a batch of prepared documents in ONE transaction (group commit: one durable
    /// sync for the whole batch). Each document is written inside its own savepoint, so a
    /// document is either wholly written or not at all, and one document's failure does not
    /// undo the others. Throws only for failures of the database itself (disk full, I/O),
    /// in which case nothing of the batch was committed.
    public func write(_ batch: [IncomingDocument], now: String) throws -> [WriteOutcome] {
        try pool.write { db in
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for item in batch {
                var outcome: WriteOutcome?
                try db.inSavepoint {
                    outcome = try Self.write(item, now: now, db: db)
                    return .commit
                }
                outcomes.append(outcome!)
            }
            return outcomes
        }
    }

    static func write(_ item: IncomingDocument, now: String, db: Database) throws -> WriteOutcome {
        // Same bytes before?
        var previousID: Int64?
        if let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT id, state, archived_path FROM documents WHERE sha256 = ?"),
            arguments: [item.sha256])
        {
            let id: Int64 = row["id"]
            let state: String = row["state"]
            if state == "posted" {
                return .alreadyPosted(documentID: id, archivedPath: row["archived_path"])
            }
            // A file rejected or flagged before is looked at again: the configuration (or the
            // books) may have changed since.
            previousID = id
        }

        switch item.content {
        case .rejected(let rejection):
            let id = try upsertDocument(
                item, previousID: previousID, state: "rejected", reason: rejection, archivedPath: nil, duplicateOf: nil, now: now, db: db)
            return .rejected(documentID: id, rejection)

        case .invoice(let prepared):
            let invoice = prepared.invoice
            let party = invoice.counterparty(prepared.direction)
            let purchase = prepared.direction == .purchase
            // Same document number again with other bytes: flag, do not post.
            let existing: Row?
            if purchase {
                existing = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT i.document_id, d.original_name FROM vendor_invoices i
                            JOIN suppliers s ON s.id = i.supplier_id
                            LEFT JOIN documents d ON d.id = i.document_id
                            WHERE s.key = ? AND i.document_type = ? AND i.number = ?
                            """),
                    arguments: [party.key, invoice.type.rawValue, invoice.number])
            } else {
                existing = try Row.fetchOne(
                    db.cachedStatement(
                        sql: """
                            SELECT i.document_id, d.original_name FROM customer_invoices i
                            LEFT JOIN documents d ON d.id = i.document_id
                            WHERE i.document_type = ? AND i.number = ?
                            """),
                    arguments: [invoice.type.rawValue, invoice.number])
            }
            if let existing {
                let existingID: Int64? = existing[0]
                let existingName: String? = existing[1]
                let kind = invoice.type == .invoice ? "invoice" : "credit note"
                let from = purchase ? " from \(party.name)" : ""
                let earlier = existingName.map { " (file \($0))" } ?? ""
                let rejection = Rejection(
                    "DUPLICATE-NUMBER",
                    "\(kind.prefix(1).uppercased() + kind.dropFirst()) \(invoice.number)\(from) was already posted\(earlier); this file has different contents and was not posted — check which one is right and post a credit note if needed."
                )
                let id = try upsertDocument(
                    item, previousID: previousID, state: "duplicate_number", reason: rejection, archivedPath: nil,
                    duplicateOf: existingID, now: now, db: db)
                return .duplicateNumber(documentID: id, existingDocumentID: existingID, existingName: existingName)
            }

            let documentID = try upsertDocument(
                item, previousID: previousID, state: "posted", reason: nil, archivedPath: item.archivePath, duplicateOf: nil,
                now: now, db: db)
            let partyID = try upsertParty(party, table: purchase ? "suppliers" : "customers", now: now, db: db)
            let entryID = try insertEntry(prepared.entry, documentID: documentID, now: now, db: db)
            let invoiceID = try insertInvoice(prepared, partyID: partyID, documentID: documentID, entryID: entryID, now: now, db: db)

            let open = PostingRules.openAmount(for: invoice)
            try db.cachedStatement(
                sql: purchase
                    ? "INSERT INTO supplier_ledger (supplier_id, invoice_id, journal_entry_id, entry_type, date, amount_minor, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                    : "INSERT INTO customer_ledger (customer_id, invoice_id, journal_entry_id, entry_type, date, amount_minor, currency, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
            ).execute(arguments: [
                partyID, invoiceID, entryID, invoice.type.rawValue, invoice.issueDate.description, open.minor,
                open.currency.code, now,
            ])

            for (index, attachment) in invoice.attachments.enumerated() {
                try db.cachedStatement(
                    sql: """
                        INSERT INTO attachments (document_id, vendor_invoice_id, customer_invoice_id, reference, filename,
                            mime_code, description, sha256, size_bytes, content)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        """
                ).execute(arguments: [
                    documentID, purchase ? invoiceID : nil, purchase ? nil : invoiceID, attachment.id, attachment.filename,
                    attachment.mimeCode, attachment.description, prepared.attachmentHashes[index], attachment.bytes.count,
                    Data(attachment.bytes),
                ])
            }
            return .posted(documentID: documentID)
        }
    }

    static func upsertDocument(
        _ item: IncomingDocument, previousID: Int64?, state: String, reason: Rejection?, archivedPath: String?,
        duplicateOf: Int64?, now: String, db: Database
    ) throws -> Int64 {
        if let previousID {
            try db.cachedStatement(
                sql: """
                    UPDATE documents SET original_name = ?, inbox = ?, kind = ?, state = ?, reason_code = ?, reason = ?,
                        received_at = ?, processed_at = ?, archived_path = ?, duplicate_of = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [
                item.originalName, item.inbox, item.kind, state, reason?.code, reason?.message, item.receivedAt, now,
                archivedPath, duplicateOf, previousID,
            ])
            return previousID
        }
        try db.cachedStatement(
            sql: """
                INSERT INTO documents (sha256, original_name, inbox, kind, state, reason_code, reason, size_bytes,
                    received_at, processed_at, archived_path, duplicate_of)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            item.sha256, item.originalName, item.inbox, item.kind, state, reason?.code, reason?.message, item.sizeBytes,
            item.receivedAt, now, archivedPath, duplicateOf,
        ])
        return db.lastInsertedRowID
    }

    static func upsertParty(_ party: Party, table: String, now: String, db: Database) throws -> Int64 {
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (key, name, org_number, vat_number, endpoint_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT(key) DO UPDATE SET key = excluded.key
                RETURNING id
                """)
        return try Int64.fetchOne(
            statement,
            arguments: [party.key, party.name, party.legalCompanyID, party.vatNumber, party.endpointID, now])!
    }

    static func insertEntry(_ entry: JournalEntry, documentID: Int64?, now: String, db: Database) throws -> Int64 {
        try db.cachedStatement(
            sql: "INSERT INTO journal_entries (date, source, document_id, description, created_at) VALUES (?, ?, ?, ?, ?)"
        ).execute(arguments: [entry.date.description, entry.source.rawValue, documentID, entry.description, now])
        let entryID = db.lastInsertedRowID
        let line = try db.cachedStatement(
            sql: """
                INSERT INTO journal_lines (entry_id, line_no, account, debit_minor, credit_minor, currency, memo)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """)
        for (index, l) in entry.lines.enumerated() {
            try line.execute(arguments: [entryID, index + 1, l.account.number, l.debitMinor, l.creditMinor, l.currency.code, l.memo])
        }
        return entryID
    }

    static func insertInvoice(
        _ prepared: PreparedInvoice, partyID: Int64, documentID: Int64, entryID: Int64, now: String, db: Database
    ) throws -> Int64 {
        let invoice = prepared.invoice
        let purchase = prepared.direction == .purchase
        let table = purchase ? "vendor_invoices" : "customer_invoices"
        let partyColumn = purchase ? "supplier_id" : "customer_id"
        try db.cachedStatement(
            sql: """
                INSERT INTO \(table) (\(partyColumn), document_id, journal_entry_id, number, document_type, type_code,
                    issue_date, due_date, currency, net_minor, tax_minor, total_minor, prepaid_minor, rounding_minor,
                    payable_minor, amount_paid_minor, status, origin, payment_id, payee_account, billing_reference, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 'open', 'ehf', ?, ?, ?, ?)
                """
        ).execute(arguments: [
            partyID, documentID, entryID, invoice.number, invoice.type.rawValue, invoice.typeCode,
            invoice.issueDate.description, invoice.dueDate?.description, invoice.currency.code,
            invoice.totals.taxExclusive.minor, invoice.taxTotal.minor, invoice.totals.taxInclusive.minor,
            invoice.totals.prepaid.minor, invoice.totals.rounding.minor, invoice.totals.payable.minor,
            invoice.payment?.paymentID, invoice.payment?.account, invoice.billingReferences.first, now,
        ])
        let invoiceID = db.lastInsertedRowID
        let line = try db.cachedStatement(
            sql: """
                INSERT INTO invoice_lines (\(purchase ? "vendor_invoice_id" : "customer_invoice_id"), line_no, item_name,
                    quantity, unit_code, net_minor, currency, tax_category, tax_percent, account)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for l in invoice.lines {
            try line.execute(arguments: [
                invoiceID, l.id, l.itemName, l.quantity?.description, l.unitCode, l.lineExtension.minor,
                l.lineExtension.currency.code, l.taxCategory, l.taxPercent?.description, prepared.netAccount.number,
            ])
        }
        return invoiceID
    }

    /// Records an event in the audit log (its own small transaction).
    public func audit(action: String, documentID: Int64?, detail: String?, actor: String = "ledgerd", now: String) throws {
        try pool.write { db in
            try db.execute(
                sql: "INSERT INTO audit_log (at, actor, action, document_id, detail) VALUES (?, ?, ?, ?, ?)",
                arguments: [now, actor, action, documentID, detail])
        }
    }
}

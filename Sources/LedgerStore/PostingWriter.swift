import GRDB
import GRDBSQLite
import LedgerCore

/// The hot path of a group commit: every statement a posting needs, prepared once per
/// connection and bound through SQLite's C API.
///
/// GRDB's `execute(arguments:)` boxes each argument as an existential and looks the cached
/// statement up by its SQL text; on a posting of ~15 statements that came to ~170 µs a
/// document, most of the pipeline's time. Binding integers and text directly is ~10× less.
/// Statements still come from GRDB (so its connection, transaction and error handling stay
/// in charge); only binding and stepping are done here.
final class PostingWriter {
    let db: Database
    let findDocument: Bound
    let insertDocument: Bound
    let updateDocument: Bound
    let findVendorNumber: Bound
    let findCustomerNumber: Bound
    let findSupplier: Bound
    let findCustomer: Bound
    let insertSupplier: Bound
    let insertCustomer: Bound
    let insertEntry: Bound
    let insertLines: RowsInsert
    let insertVendorInvoice: Bound
    let insertCustomerInvoice: Bound
    let insertVendorLines: RowsInsert
    let insertCustomerLines: RowsInsert
    let insertVendorTaxSubtotals: RowsInsert
    let insertCustomerTaxSubtotals: RowsInsert
    let insertSupplierLedger: Bound
    let insertCustomerLedger: Bound
    let insertAttachment: Bound
    let vendorCredits: CreditStatements
    let customerCredits: CreditStatements
    let savepoint: Bound
    let release: Bound
    let rollback: Bound
    /// Counterparty keys already upserted in this transaction, with their ids.
    var suppliers: [String: Int64] = [:]
    var customers: [String: Int64] = [:]
    /// The parties with open credit notes that name an invoice (per side), read once per
    /// transaction: only an invoice from one of them is looked up for credit notes that came
    /// first, so the other postings (nearly all) run no statement for it.
    var suppliersAwaitingInvoices: Set<Int64>?
    var customersAwaitingInvoices: Set<Int64>?

    init(_ db: Database) throws {
        self.db = db
        // Compiled once per connection and kept by GRDB, not once per transaction: compiling
        // the statements came to about 3 % of the writer's time with 256 documents a batch.
        func prepare(_ sql: String) throws -> Bound { Bound(try db.cachedStatement(sql: sql), db: db) }
        findDocument = try prepare("SELECT id, state, archived_path FROM documents WHERE sha256 = ?")
        insertDocument = try prepare(
            """
            INSERT INTO documents (sha256, original_name, inbox, kind, state, reason_code, reason, size_bytes,
                received_at, processed_at, archived_path, duplicate_of, note)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        updateDocument = try prepare(
            """
            UPDATE documents SET original_name = ?, inbox = ?, kind = ?, state = ?, reason_code = ?, reason = ?,
                size_bytes = ?, received_at = ?, processed_at = ?, archived_path = ?, duplicate_of = ?, note = ?,
                note_done_at = NULL, resolved_at = NULL, rejected_path = NULL
            WHERE id = ?
            """)
        findVendorNumber = try prepare(
            """
            SELECT i.document_id, d.original_name FROM vendor_invoices i
            LEFT JOIN documents d ON d.id = i.document_id
            WHERE i.supplier_id = ? AND i.document_type = ? AND i.number = ?
            """)
        findCustomerNumber = try prepare(
            """
            SELECT i.document_id, d.original_name FROM customer_invoices i
            LEFT JOIN documents d ON d.id = i.document_id
            WHERE i.document_type = ? AND i.number = ?
            """)
        // Looked up first, inserted only when new: nearly every posting is from a party the
        // books know. One upsert (`ON CONFLICT(key) DO UPDATE ... RETURNING id`) rewrote the
        // party's row to return its id, ~29,000 instructions against ~5,000 for the lookup.
        findSupplier = try prepare("SELECT id FROM suppliers WHERE key = ?")
        findCustomer = try prepare("SELECT id FROM customers WHERE key = ?")
        func insertParty(_ table: String) throws -> Bound {
            try prepare(
                """
                INSERT INTO \(table) (key, name, org_number, vat_number, endpoint_id, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """)
        }
        insertSupplier = try insertParty("suppliers")
        insertCustomer = try insertParty("customers")
        insertEntry = try prepare(
            "INSERT INTO journal_entries (date, source, document_id, description, created_at) VALUES (?, ?, ?, ?, ?)")
        insertLines = try RowsInsert(
            into: "journal_lines",
            columns: ["entry_id", "line_no", "account", "debit_minor", "credit_minor", "currency", "memo"], db: db)
        // Nothing to pay (paid in advance in full, or an invoice of 0): paid from the start.
        func insertInvoice(_ table: String, _ party: String) throws -> Bound {
            try prepare(
                """
                INSERT INTO \(table) (\(party), document_id, journal_entry_id, number, document_type, type_code,
                    issue_date, due_date, currency, net_minor, tax_minor, total_minor, prepaid_minor, rounding_minor,
                    payable_minor, amount_paid_minor, status, origin, payment_id, payee_account, billing_reference,
                    accounting_tax_currency, accounting_tax_hundredths, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, CASE WHEN ?15 = 0 THEN 'paid' ELSE 'open' END, 'ehf', ?, ?, ?,
                    ?, ?, ?)
                """)
        }
        insertVendorInvoice = try insertInvoice("vendor_invoices", "supplier_id")
        insertCustomerInvoice = try insertInvoice("customer_invoices", "customer_id")
        func insertInvoiceLines(_ column: String) throws -> RowsInsert {
            try RowsInsert(
                into: "invoice_lines",
                columns: [
                    column, "line_no", "item_name", "quantity", "unit_code", "net_minor", "currency", "tax_category",
                    "tax_percent", "account",
                ], db: db)
        }
        insertVendorLines = try insertInvoiceLines("vendor_invoice_id")
        insertCustomerLines = try insertInvoiceLines("customer_invoice_id")
        func insertTaxSubtotals(_ table: String) throws -> RowsInsert {
            try RowsInsert(
                into: table,
                columns: [
                    "invoice_id", "position", "category", "percent", "taxable_minor", "tax_minor", "currency",
                    "exemption_reason",
                ], db: db)
        }
        insertVendorTaxSubtotals = try insertTaxSubtotals("vendor_invoice_tax_subtotals")
        insertCustomerTaxSubtotals = try insertTaxSubtotals("customer_invoice_tax_subtotals")
        func insertLedger(_ table: String, _ party: String) throws -> Bound {
            try prepare(
                """
                INSERT INTO \(table) (\(party), invoice_id, journal_entry_id, entry_type, date, amount_minor, currency,
                    created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """)
        }
        insertSupplierLedger = try insertLedger("supplier_ledger", "supplier_id")
        insertCustomerLedger = try insertLedger("customer_ledger", "customer_id")
        insertAttachment = try prepare(
            """
            INSERT INTO attachments (document_id, vendor_invoice_id, customer_invoice_id, reference, filename,
                mime_code, description, sha256, size_bytes, content)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
        vendorCredits = try CreditStatements(
            invoices: "vendor_invoices", party: "supplier_id", references: "vendor_credit_references",
            applications: "vendor_credit_applications", prepare)
        customerCredits = try CreditStatements(
            invoices: "customer_invoices", party: "customer_id", references: "customer_credit_references",
            applications: "customer_credit_applications", prepare)
        savepoint = try prepare("SAVEPOINT document")
        release = try prepare("RELEASE SAVEPOINT document")
        rollback = try prepare("ROLLBACK TO SAVEPOINT document")
    }

    /// Every statement a posting may run. Found by reflection, so one added later is checked
    /// (recompiled, or scanning a table) without a list to keep in step.
    var statements: [Bound] {
        func statements(of value: Any) -> [Bound] {
            Mirror(reflecting: value).children.flatMap { child -> [Bound] in
                if let bound = child.value as? Bound { return [bound] }
                if let rows = child.value as? RowsInsert { return rows.prepared }
                if let credits = child.value as? CreditStatements { return statements(of: credits) }
                return []
            }
        }
        return statements(of: self)
    }

    /// How often SQLite compiled one of the posting statements again since it was prepared
    /// (`SQLITE_STMTSTATUS_REPREPARE`): zero, unless a schema change or an index condition
    /// that hangs on a bound value makes it (see `Schema.v6`).
    var recompilations: Int32 {
        statements.reduce(0) { $0 + sqlite3_stmt_status($1.handle, SQLITE_STMTSTATUS_REPREPARE, 0) }
    }

    /// Runs `body` inside a savepoint: on error everything it wrote is undone (and the
    /// error rethrown), so a document is written whole or not at all. Prepared once rather
    /// than through GRDB's `inSavepoint`, which parses and tracks each savepoint anew (about
    /// 100 µs a document, as much as the posting itself).
    func inSavepoint<T>(_ body: () throws -> T) throws -> T {
        try savepoint.bind().run()
        do {
            let value = try body()
            try release.bind().run()
            return value
        } catch {
            try rollback.bind().run()
            try release.bind().run()
            throw error
        }
    }

    func write(_ item: IncomingDocument, now: String) throws -> WriteOutcome {
        // Same bytes before?
        var previousID: Int64?
        let found = findDocument.bind(item.sha256)
        if try found.step() {
            let id = found.int64(0)
            if found.text(1) == "posted" {
                let archived = found.text(2)
                try found.finish()
                return .alreadyPosted(documentID: id, archivedPath: archived)
            }
            // A file rejected or flagged before is looked at again: the configuration (or the
            // books) may have changed since.
            previousID = id
        }
        try found.finish()

        switch item.content {
        case .rejected(let rejection):
            let id = try saveDocument(
                item, previousID: previousID, state: "rejected", reason: rejection, archivedPath: nil, duplicateOf: nil,
                now: now)
            return .rejected(documentID: id, rejection)

        case .invoice(let prepared):
            let invoice = prepared.invoice
            let purchase = prepared.direction == .purchase
            let key = invoice.counterpartyKey(prepared.direction)
            let knownParty = try known(key, purchase: purchase)
            // Same document number again with other bytes: flag, do not post. (A supplier the
            // books do not know yet has sent none before.)
            let existing =
                purchase
                ? knownParty.map { findVendorNumber.bind($0, invoice.type.rawValue, invoice.number) }
                : findCustomerNumber.bind(invoice.type.rawValue, invoice.number)
            if let existing, try existing.step() {
                let existingID = existing.optionalInt64(0)
                let existingName = existing.text(1)
                try existing.finish()
                let rejection = Rejection.duplicateNumber(
                    invoice, direction: prepared.direction, existingDocumentID: existingID, existingName: existingName)
                let id = try saveDocument(
                    item, previousID: previousID, state: "duplicate_number", reason: rejection, archivedPath: nil,
                    duplicateOf: existingID, now: now)
                return .duplicateNumber(documentID: id, existingDocumentID: existingID, existingName: existingName)
            }
            try existing?.finish()

            let documentID = try saveDocument(
                item, previousID: previousID, state: "posted", reason: nil, archivedPath: item.archivePath,
                duplicateOf: nil, note: prepared.note, now: now)
            let partyID =
                try knownParty ?? add(invoice.counterparty(prepared.direction), key: key, purchase: purchase, now: now)
            let entryID = try insert(prepared.entry, documentID: documentID, now: now)
            let invoiceID = try insertInvoice(
                prepared, partyID: partyID, documentID: documentID, entryID: entryID, now: now)
            let open = PostingRules.openAmount(for: invoice)
            try (purchase ? insertSupplierLedger : insertCustomerLedger).binding { bind in
                bind(partyID)
                bind(invoiceID)
                bind(entryID)
                bind(invoice.type.rawValue)
                bind(invoice.issueDate.description)
                bind(open.minor)
                bind(open.currency.code)
                bind(now)
            }.run()
            try applyCredits(invoice, id: invoiceID, partyID: partyID, purchase: purchase, now: now)
            for (index, attachment) in invoice.attachments.enumerated() {
                let statement = insertAttachment.bind(
                    documentID, purchase ? invoiceID : nil, purchase ? nil : invoiceID, attachment.id,
                    attachment.filename,
                    attachment.mimeCode, attachment.description, prepared.attachmentHashes[index],
                    Int64(attachment.bytes.count))
                try statement.run(blob: attachment.bytes)
            }
            return .posted(documentID: documentID, rejectedBefore: previousID != nil)
        }
    }

    func saveDocument(
        _ item: IncomingDocument, previousID: Int64?, state: String, reason: Rejection?, archivedPath: String?,
        duplicateOf: Int64?, note: String? = nil, now: String
    ) throws -> Int64 {
        if let previousID {
            try updateDocument.bind(
                item.originalName, item.inbox, item.kind, state, reason?.code, reason?.message, item.sizeBytes,
                item.receivedAt, now, archivedPath, duplicateOf, note, previousID
            ).run()
            return previousID
        }
        try insertDocument.binding { bind in
            bind(item.sha256)
            bind(item.originalName)
            bind(item.inbox)
            bind(item.kind)
            bind(state)
            bind(reason?.code)
            bind(reason?.message)
            bind(item.sizeBytes)
            bind(item.receivedAt)
            bind(now)
            bind(archivedPath)
            bind(duplicateOf)
            bind(note)
        }.run()
        return db.lastInsertedRowID
    }

    /// The id of the party with `key` (`Party.key`), nil if the books do not know it yet.
    func known(_ key: String, purchase: Bool) throws -> Int64? {
        if let id = purchase ? suppliers[key] : customers[key] { return id }
        let found = (purchase ? findSupplier : findCustomer).bind(key)
        defer { try? found.finish() }
        guard try found.step() else { return nil }
        let id = found.int64(0)
        if purchase { suppliers[key] = id } else { customers[key] = id }
        return id
    }

    /// Adds a party the books do not know yet (`known` found none with its `key`); its id.
    func add(_ party: Party, key: String, purchase: Bool, now: String) throws -> Int64 {
        try (purchase ? insertSupplier : insertCustomer).bind(
            key, party.name, party.legalCompanyID, party.vatNumber, party.endpointID, now
        ).run()
        let id = db.lastInsertedRowID
        if purchase { suppliers[key] = id } else { customers[key] = id }
        return id
    }

    func insert(_ entry: JournalEntry, documentID: Int64?, now: String) throws -> Int64 {
        try insertEntry.binding { bind in
            bind(entry.date.description)
            bind(entry.source.rawValue)
            bind(documentID)
            bind(entry.description)
            bind(now)
        }.run()
        let entryID = db.lastInsertedRowID
        try insertLines.insert(entry.lines) { bind, index, l in
            bind(entryID)
            bind(Int64(index + 1))
            bind(l.account.number)
            bind(l.debitMinor)
            bind(l.creditMinor)
            bind(l.currency.code)
            bind(l.memo)
        }
        return entryID
    }

    func insertInvoice(_ prepared: PreparedInvoice, partyID: Int64, documentID: Int64, entryID: Int64, now: String)
        throws -> Int64
    {
        let invoice = prepared.invoice
        let purchase = prepared.direction == .purchase
        try (purchase ? insertVendorInvoice : insertCustomerInvoice).binding { bind in
            bind(partyID)
            bind(documentID)
            bind(entryID)
            bind(invoice.number)
            bind(invoice.type.rawValue)
            bind(invoice.typeCode)
            bind(invoice.issueDate.description)
            bind(invoice.dueDate?.description)
            bind(invoice.currency.code)
            bind(invoice.totals.taxExclusive.minor)
            bind(invoice.taxTotal.minor)
            bind(invoice.totals.taxInclusive.minor)
            bind(invoice.totals.prepaid.minor)
            bind(invoice.totals.rounding.minor)
            bind(invoice.totals.payable.minor)
            bind(invoice.payment?.paymentID)
            bind(invoice.payment?.account)
            bind(invoice.billingReferences.first)
            bind(invoice.accountingTaxTotal?.currency.code)
            bind(invoice.accountingTaxTotal?.hundredths)
            bind(now)
        }.run()
        let invoiceID = db.lastInsertedRowID
        let account = prepared.netAccount.number
        try (purchase ? insertVendorLines : insertCustomerLines).insert(invoice.lines) { bind, _, l in
            bind(invoiceID)
            bind(l.id)
            bind(l.itemName)
            bind(l.quantity?.description)
            bind(l.unitCode)
            bind(l.lineExtension.minor)
            bind(l.lineExtension.currency.code)
            bind(l.taxCategory)
            bind(l.taxPercent?.description)
            bind(account)
        }
        try (purchase ? insertVendorTaxSubtotals : insertCustomerTaxSubtotals).insert(invoice.taxSubtotals) {
            bind, index, s in
            bind(invoiceID)
            bind(Int64(index + 1))
            bind(s.category)
            bind(s.percent?.description)
            bind(s.taxable.minor)
            bind(s.tax.minor)
            bind(s.taxable.currency.code)
            bind(s.exemptionReason)
        }
        return invoiceID
    }
}

extension PostingWriter {
    /// The statements that apply credits (credit notes, negative invoices) to invoices on one
    /// side (suppliers' or customers').
    /// A class, as `Bound` is: a posting picks one side's at each use, and a copy of a struct
    /// of statements counted each statement's references again.
    final class CreditStatements {
        /// The open invoice a credit names: id and what is still open.
        let findInvoice: Bound
        /// The parties with open credits that name an invoice.
        let partiesAwaiting: Bound
        /// Open credits that name an invoice posted after them, in the order they were posted:
        /// id, what is left to apply, and whether the credit is a negative invoice.
        let findCredits: Bound
        /// Remembers an invoice a credit names.
        let recordReference: Bound
        let settle: Bound
        let record: Bound

        init(
            invoices: String, party: String, references: String, applications: String,
            _ prepare: (String) throws -> Bound
        )
            throws
        {
            findInvoice = try prepare(
                """
                SELECT id, payable_minor - amount_paid_minor FROM \(invoices)
                WHERE \(party) = ? AND document_type = 'invoice' AND number = ? AND currency = ? AND status != 'paid'
                """)
            // Read once a transaction. CROSS JOIN makes SQLite go through the references (only
            // credits that name an invoice) and look each credit up, where it otherwise chose
            // to go through every invoice of the books: in the daemon, which commits a few
            // files at a time, that was about 20 ms a transaction with 40,000 invoices.
            partiesAwaiting = try prepare(
                """
                SELECT DISTINCT i.\(party) FROM \(references) r CROSS JOIN \(invoices) i ON i.id = r.credit_id
                WHERE i.status != 'paid'
                """)
            findCredits = try prepare(
                """
                SELECT i.id, abs(i.payable_minor - i.amount_paid_minor), i.payable_minor < 0
                FROM \(references) r JOIN \(invoices) i ON i.id = r.credit_id
                WHERE r.reference = ? AND i.\(party) = ? AND i.currency = ? AND i.status != 'paid'
                ORDER BY i.id
                """)
            recordReference = try prepare(
                "INSERT OR IGNORE INTO \(references) (credit_id, reference) VALUES (?, ?)")
            // A negative invoice is settled by negative amounts: its open amount, payable less
            // paid, goes towards zero from below, as a positive one's from above.
            settle = try prepare(
                """
                UPDATE \(invoices) SET amount_paid_minor = amount_paid_minor + ?1,
                    status = CASE WHEN abs(amount_paid_minor + ?1) >= abs(payable_minor) THEN 'paid' ELSE 'partial' END
                WHERE id = ?2
                """)
            record = try prepare(
                """
                INSERT INTO \(applications) (credit_note_id, invoice_id, amount_minor, currency, created_at)
                VALUES (?, ?, ?, ?, ?)
                """)
        }
    }

    /// A credit (a credit note, or a negative invoice correcting an earlier one; see
    /// `PostingRules.creditToApply`) settles the invoices it names (its BillingReferences), of
    /// the same party and currency, in the order it names them; an invoice posted after
    /// credits that name it is settled by them. Each pair is settled by the smaller of what
    /// the two still have open (`PostingRules.creditApplied`), and the application is
    /// recorded. The sub-ledger keeps both entries as they are: only what each document
    /// leaves open, and so its status and aging, change.
    func applyCredits(_ invoice: InvoiceDocument, id: Int64, partyID: Int64, purchase: Bool, now: String) throws {
        let s = purchase ? vendorCredits : customerCredits
        var awaiting: Set<Int64>
        if let known = purchase ? suppliersAwaitingInvoices : customersAwaitingInvoices {
            awaiting = known
        } else {
            awaiting = []
            let found = s.partiesAwaiting.bind()
            while try found.step() { awaiting.insert(found.int64(0)) }
            try found.finish()
        }
        defer { if purchase { suppliersAwaitingInvoices = awaiting } else { customersAwaitingInvoices = awaiting } }
        /// Settles `amount` of the invoice by the credit; `negative` when the credit is a
        /// negative invoice.
        func apply(credit: Int64, negative: Bool, invoice invoiceID: Int64, _ amount: Int64) throws {
            try s.settle.bind(negative ? -amount : amount, credit).run()
            try s.settle.bind(amount, invoiceID).run()
            try s.record.bind(credit, invoiceID, amount, invoice.currency.code, now).run()
        }
        var credit = PostingRules.creditToApply(invoice)
        if credit > 0 {
            for reference in invoice.billingReferences {
                try s.recordReference.bind(id, reference).run()
                guard credit > 0 else { continue }
                let found = s.findInvoice.bind(partyID, reference, invoice.currency.code)
                guard try found.step() else {
                    try found.finish()
                    continue
                }
                let (invoiceID, invoiceOpen) = (found.int64(0), found.int64(1))
                try found.finish()
                let amount = PostingRules.creditApplied(creditOpen: credit, invoiceOpen: invoiceOpen)
                guard amount > 0 else { continue }
                try apply(credit: id, negative: invoice.type == .invoice, invoice: invoiceID, amount)
                credit -= amount
            }
            // Left open, it may settle an invoice that comes later.
            if credit > 0 { awaiting.insert(partyID) }
        } else if invoice.type == .invoice, awaiting.contains(partyID) {
            var open = invoice.totals.payable.minor
            guard open > 0 else { return }
            let found = s.findCredits.bind(invoice.number, partyID, invoice.currency.code)
            var credits: [(id: Int64, open: Int64, negative: Bool)] = []
            while try found.step() { credits.append((found.int64(0), found.int64(1), found.int64(2) != 0)) }
            try found.finish()
            for credit in credits where open > 0 {
                let amount = PostingRules.creditApplied(creditOpen: credit.open, invoiceOpen: open)
                guard amount > 0 else { continue }
                try apply(credit: credit.id, negative: credit.negative, invoice: id, amount)
                open -= amount
            }
        }
    }
}

/// A prepared statement with positional binding of the few types postings use.
///
/// A class: binding returns the statement for `run()` or `step()`, and a posting hands its
/// statements around; as a struct each copy counted its three references again (~30 a
/// posting).
final class Bound {
    let statement: Statement
    let handle: OpaquePointer
    let db: Database
    /// Where the text of the current binding is kept while the statement runs.
    let texts: BoundTexts

    init(_ statement: Statement, db: Database) {
        self.statement = statement
        self.handle = statement.sqliteStatement
        self.db = db
        self.texts = BoundTexts(statement)
    }

    /// Binds `values` to the statement's parameters in order. A parameter pack rather than a
    /// variadic `Any` list: each call binds its values directly, with no array of boxed
    /// existentials built per statement (the writer binds a dozen statements a document).
    /// The pack is expanded as one call a value, each binding itself (`BindableValue`): a
    /// `for … in repeat each` loop, with each value turned into an enum first, went through
    /// the values' generic copy and destroy functions, ~300 instructions a parameter.
    ///
    /// Each call binds every parameter (an attachment's content last, by `run(blob:)`), so
    /// earlier values are overwritten rather than cleared first.
    @discardableResult
    func bind<each V: BindableValue>(_ values: repeat each V) -> Bound {
        reset()
        var index: Int32 = 0
        repeat (each values).bind(to: self, at: next(&index))
        assert(index <= sqlite3_bind_parameter_count(handle), "more values than parameters")
        return self
    }

    /// Binds every parameter, one value a call of `body`'s `bind`, in order: for the
    /// statements every posting runs. A pack of values (`bind(_:)`) is made of copies of
    /// them, each string among them counted again and released after, where a call a value
    /// passes it as it is: a posting binds ~75 values, ~70 of those copies (callgrind).
    @discardableResult
    func binding(_ body: (inout Binder) -> Void) -> Bound {
        reset()
        var binder = Binder(statement: self, index: 0)
        body(&binder)
        assert(binder.index <= sqlite3_bind_parameter_count(handle), "more values than parameters")
        return self
    }

    /// Binds the values it is called with to a statement's parameters in order, from the one
    /// after `index`.
    struct Binder {
        let statement: Bound
        var index: Int32

        @inline(__always) mutating func callAsFunction<V: BindableValue>(_ value: V) {
            index += 1
            value.bind(to: statement, at: index)
        }
    }

    /// Makes the statement ready to be bound again (`RowsInsert` binds a row at a time).
    func reset() {
        sqlite3_reset(handle)
        texts.empty()
    }

    @inline(__always) private func next(_ index: inout Int32) -> Int32 {
        index += 1
        return index
    }

    func bindInt(_ n: Int64, at index: Int32) { sqlite3_bind_int64(handle, index, n) }

    func bindNull(at index: Int32) { sqlite3_bind_null(handle, index) }

    func bindText(_ text: String, at index: Int32) {
        // Through the string's own UTF-8 storage, with its length: passing a String where
        // C wants a `char *` makes a temporary NUL-terminated copy on the heap first. Read in
        // place (a native string always has its UTF-8 at hand); `withUTF8`, which may make it
        // contiguous first, needs a mutable copy of the string, retained and released each time.
        func bind(_ utf8: UnsafeBufferPointer<UInt8>) {
            // SQLITE_STATIC (no destructor): SQLite reads the kept copy in place.
            sqlite3_bind_text(handle, index, texts.keep(utf8), Int32(utf8.count), nil)
        }
        if text.utf8.withContiguousStorageIfAvailable(bind) == nil {
            var text = text
            text.withUTF8(bind)
        }
    }

    /// Binds `bytes` as the last parameter, runs the statement and unbinds them: bound in
    /// place rather than copied (an attachment may be tens of megabytes), and not left with
    /// the statement, which is kept for the next transaction.
    func run(blob bytes: [UInt8]) throws {
        let index = sqlite3_bind_parameter_count(handle)
        defer { sqlite3_clear_bindings(handle) }
        try bytes.withUnsafeBytes { buffer in
            if let base = buffer.baseAddress, buffer.count > 0 {
                // No destructor (SQLITE_STATIC): SQLite reads the bytes in place until unbound.
                sqlite3_bind_blob64(handle, index, base, sqlite3_uint64(buffer.count), nil)
            } else {
                sqlite3_bind_zeroblob(handle, index, 0)
            }
            try run()
        }
    }

    /// Steps once: true for a row, false when done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(code)
        }
    }

    /// Runs a statement that returns no rows.
    func run() throws {
        let code = sqlite3_step(handle)
        guard code == SQLITE_DONE || code == SQLITE_ROW else { throw error(code) }
        sqlite3_reset(handle)
    }

    /// Ends a query early (after reading the row needed).
    func finish() throws {
        sqlite3_reset(handle)
    }

    func int64(_ column: Int32) -> Int64 { sqlite3_column_int64(handle, column) }

    func optionalInt64(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(handle, column) else { return nil }
        return String(cString: pointer)
    }

    func error(_ code: Int32) -> DatabaseError {
        let message = String(cString: sqlite3_errmsg(sqlite3_db_handle(handle)))
        sqlite3_reset(handle)
        return DatabaseError(resultCode: ResultCode(rawValue: code), message: message, sql: statement.sql)
    }
}

/// An INSERT of rows of the same columns, up to `mostRows` rows a statement rather than one.
///
/// Each statement SQLite runs costs ~3,000 instructions besides the rows it writes: opening and
/// closing a cursor on the table and each of its indexes, its statement transaction, halting
/// and resetting. A posting writes ~10 rows this way (its journal lines, invoice lines and VAT
/// breakdown), which were ~10 statements.
///
/// `INSERT OR FAIL`: a statement of several rows that may stop part way (a constraint) makes
/// SQLite copy each page it changes into a statement journal first, so that the rows already
/// written can be taken back (for 3,000 invoices, 58,000 page copies: more than the statements
/// saved). With FAIL those rows stay until the posting's savepoint is rolled back, as it is for
/// any error (`inSavepoint`): the document is still written whole or not at all.
///
/// The statement for each number of rows is prepared once per connection (GRDB keeps it),
/// when first needed.
final class RowsInsert {
    static let mostRows = 8

    /// `INSERT OR FAIL INTO table (columns)`, without VALUES.
    let head: String
    let columns: Int32
    let db: Database
    /// By number of rows less one; nil until first used in this transaction.
    private var statements: [Bound?]

    init(into table: String, columns: [String], db: Database) throws {
        head = "INSERT OR FAIL INTO \(table) (\(columns.joined(separator: ", ")))"
        self.columns = Int32(columns.count)
        self.db = db
        statements = Array(repeating: nil, count: Self.mostRows)
        // The one-row statement at once: the writer's statements are checked by what they
        // plan (each number of rows plans alike), and a mistake in the SQL shows at once.
        _ = try statement(rows: 1)
    }

    /// The statements prepared so far.
    var prepared: [Bound] { statements.compactMap { $0 } }

    func statement(rows: Int) throws -> Bound {
        if let statement = statements[rows - 1] { return statement }
        let row = "(" + Array(repeating: "?", count: Int(columns)).joined(separator: ", ") + ")"
        let sql = head + " VALUES " + Array(repeating: row, count: rows).joined(separator: ", ")
        let statement = Bound(try db.cachedStatement(sql: sql), db: db)
        statements[rows - 1] = statement
        return statement
    }

    /// Inserts a row for each item, `bindRow` binding its values in order with the binder it
    /// is given (`Bound.Binder`); its other arguments are the item's position and the item.
    func insert<Items: RandomAccessCollection>(
        _ items: Items, _ bindRow: (inout Bound.Binder, Int, Items.Element) -> Void
    ) throws where Items.Index == Int {
        var start = items.startIndex
        while start < items.endIndex {
            let count = min(Self.mostRows, items.endIndex - start)
            let statement = try statement(rows: count)
            statement.reset()
            var binder = Bound.Binder(statement: statement, index: 0)
            for row in 0..<count {
                bindRow(&binder, start + row - items.startIndex, items[start + row])
            }
            assert(binder.index == Int32(count) * columns, "a row's values do not match its columns")
            try statement.run()
            start += count
        }
    }
}

/// The text bound to one statement, kept in a buffer of its own until the statement is
/// bound again, and bound in place (`SQLITE_STATIC`).
///
/// Text bound with `SQLITE_TRANSIENT` is copied by SQLite into memory it allocates, and the
/// copy freed when the parameter is bound again: an allocation and a free for each of the
/// ~75 texts a posting binds, about 330 of the ~480 instructions each binding cost
/// (callgrind). Here the bytes are copied into a buffer that lasts as long as the writer.
///
/// SQLite keeps a pointer into the buffer after `bind` returns. So a buffer too small for a
/// binding is not moved: it is put aside while the binding goes on in a larger one, and
/// freed at the next binding, after the statement is reset and before any of its parameters
/// is bound again. The bindings are cleared before the last buffer goes.
final class BoundTexts {
    private let statement: Statement
    private var base: UnsafeMutablePointer<CChar>
    private var capacity: Int
    private var used = 0
    private var setAside: [UnsafeMutablePointer<CChar>] = []

    init(_ statement: Statement) {
        self.statement = statement
        capacity = 512
        base = .allocate(capacity: capacity)
    }

    deinit {
        // No binding may point here once the buffers are gone; the statement stays cached.
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
        empty()
        base.deallocate()
    }

    /// Makes the buffer ready for a new binding: none of the statement's parameters may
    /// point into it any more (the statement is reset, and each of them is about to be bound).
    func empty() {
        used = 0
        guard !setAside.isEmpty else { return }
        for buffer in setAside { buffer.deallocate() }
        setAside.removeAll()
    }

    /// A copy of `utf8`, which stays where it is until the next `empty()`.
    func keep(_ utf8: UnsafeBufferPointer<UInt8>) -> UnsafePointer<CChar> {
        if used + utf8.count > capacity {
            setAside.append(base)
            capacity = max(utf8.count, 2 * capacity)
            base = .allocate(capacity: capacity)
            used = 0
        }
        let place = base + used
        if let source = utf8.baseAddress, utf8.count > 0 {
            UnsafeMutableRawPointer(place).copyMemory(from: source, byteCount: utf8.count)
        }
        used += utf8.count
        return UnsafePointer(place)
    }
}

/// The Swift types a posting binds: integers, text, or either of them or NULL.
protocol BindableValue {
    func bind(to statement: Bound, at index: Int32)
    /// Binds `value`, or NULL. Each type unwraps its own optional: unwrapped in the optional's
    /// generic conformance, each value went through the generic copy of an optional, ~100
    /// instructions a parameter.
    static func bind(_ value: Self?, to statement: Bound, at index: Int32)
}

extension Int64: BindableValue {
    @inline(__always) func bind(to statement: Bound, at index: Int32) { statement.bindInt(self, at: index) }

    static func bind(_ value: Int64?, to statement: Bound, at index: Int32) {
        if let value { statement.bindInt(value, at: index) } else { statement.bindNull(at: index) }
    }
}

extension String: BindableValue {
    @inline(__always) func bind(to statement: Bound, at index: Int32) { statement.bindText(self, at: index) }

    static func bind(_ value: String?, to statement: Bound, at index: Int32) {
        if let value { statement.bindText(value, at: index) } else { statement.bindNull(at: index) }
    }
}

extension Optional: BindableValue where Wrapped: BindableValue {
    @inline(__always) func bind(to statement: Bound, at index: Int32) { Wrapped.bind(self, to: statement, at: index) }

    static func bind(_ value: Wrapped??, to statement: Bound, at index: Int32) {
        if let value { value.bind(to: statement, at: index) } else { statement.bindNull(at: index) }
    }
}

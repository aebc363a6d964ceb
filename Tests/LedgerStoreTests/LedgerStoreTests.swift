import Foundation
import GRDB
import LedgerCore
import LedgerStore
import Synchronization
import Testing

/// A throwaway folder for one test's database.
struct TemporaryDirectory: ~Copyable {
    let path: String
    init() {
        path = NSTemporaryDirectory() + "ledgerd-store-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }
}

let nok = Currency.nok
func nokMoney(_ minor: Int64) -> Money { Money(minor: minor, currency: nok) }

let us = Party(name: "Nordlys Helse AS", endpointID: "987654325", endpointScheme: "0192", legalCompanyID: "987654325")
let supplier = Party(
    name: "Leverandør AS", endpointID: "942992343", endpointScheme: "0192", legalCompanyID: "942992343")

/// A consistent invoice: lines at 25 %, VAT, totals.
func sampleInvoice(
    number: String, seller: Party = supplier, buyer: Party = us, type: DocumentType = .invoice,
    net: [Int64] = [10_000, 5_000]
)
    -> InvoiceDocument
{
    let lineTotal = net.reduce(0, +)
    let tax = lineTotal / 4
    let lines = net.enumerated().map { i, amount in
        InvoiceLine(
            id: "\(i + 1)", quantity: ExactDecimal(1), unitCode: "EA", lineExtension: nokMoney(amount),
            itemName: "Item \(i + 1)",
            taxCategory: "S", taxPercent: ExactDecimal(25))
    }
    return InvoiceDocument(
        type: type, typeCode: type == .invoice ? "380" : "381", customizationID: "urn:cen.eu:en16931:2017",
        profileID: nil,
        number: number, issueDate: Day(iso: "2026-10-01")!, dueDate: Day(iso: "2026-10-31")!, currency: nok,
        seller: seller,
        buyer: buyer, lines: lines, taxTotal: nokMoney(tax),
        taxSubtotals: [
            TaxSubtotal(taxable: nokMoney(lineTotal), tax: nokMoney(tax), category: "S", percent: ExactDecimal(25))
        ],
        totals: MonetaryTotals(
            lineExtension: nokMoney(lineTotal), taxExclusive: nokMoney(lineTotal),
            taxInclusive: nokMoney(lineTotal + tax),
            payable: nokMoney(lineTotal + tax)),
        attachments: [
            Attachment(
                id: "a1", filename: "invoice.pdf", mimeCode: "application/pdf", description: nil,
                bytes: Array("%PDF-1.4 x".utf8))
        ]
    )
}

func incoming(_ invoice: InvoiceDocument, sha: String, direction: Direction = .purchase) throws -> IncomingDocument {
    let plan = AccountPlan()
    let entry = try PostingRules.entry(for: invoice, direction: direction, accounts: plan)
    return IncomingDocument(
        sha256: sha, originalName: "\(invoice.number).xml", inbox: "ehf", kind: "ehf_invoice", sizeBytes: 100,
        receivedAt: "2026-11-21T10:00:00Z", archivePath: "/archive/\(sha).xml",
        content: .invoice(
            PreparedInvoice(
                invoice: invoice, direction: direction, entry: entry,
                netAccount: PostingRules.netAccount(for: invoice, direction: direction, accounts: plan),
                attachmentHashes: invoice.attachments.map { _ in "hash" })))
}

/// Records that a file named `name` with the bytes of `documentID` was dropped again at `at`.
func dropAgain(documentID: Int64, as name: String, at: String, into store: LedgerStore) throws {
    try store.recordMoves(
        drops: [
            DuplicateDrop(
                documentID: documentID, name: name, inbox: "ehf", archivedPath: "/archive/duplicates/\(name)",
                receivedAt: at)
        ], rejected: [], now: at)
}

@Suite struct LedgerStoreTests {
    /// A name as a search compares it: its last path component, composed, in lower case. The
    /// shortcut for ASCII names gives what the general way gives, for every ASCII character.
    @Test func nameKeysAreTheLastComponentComposedInLowerCase() {
        #expect(LedgerStore.nameKey("Inbox/rejected/Faktura MAI (2).XML") == "faktura mai (2).xml")
        #expect(LedgerStore.nameKey("ÆØÅ-Faktura.xml") == "æøå-faktura.xml")
        #expect(LedgerStore.nameKey("cafe\u{301}.xml") == LedgerStore.nameKey("CAFÉ.xml"))
        #expect(LedgerStore.nameKey("folder/") == "")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let bytes = (0..<Int.random(in: 0...24, using: &generator)).map { _ in
                UInt8.random(in: 0...0x7F, using: &generator)
            }
            let name = String(decoding: bytes, as: UTF8.self)
            let last = name.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? name
            #expect(LedgerStore.nameKey(name) == last.precomposedStringWithCanonicalMapping.lowercased(), "\(bytes)")
        }
    }

    @Test func migrationsCreateTheContractTablesInWALMode() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite")
        #expect(
            try store.appliedMigrations() == [
                "001_documents_invoices_journal", "002_daemon_state", "003_partial_invoice_line_indexes",
                "004_value_checks_as_comparisons", "005_party_keys_by_org_number", "006_credit_note_applications",
                "007_resolved_problems", "008_credit_references", "009_vat_breakdown", "010_duplicate_drops",
                "011_rejected_path",
                "012_posting_notes",
                "013_posting_notes_done",
                "014_documents_by_time",
            ])
        let tables = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        for name in [
            "documents", "customers", "suppliers", "customer_invoices", "vendor_invoices", "invoice_lines",
            "journal_entries",
            "journal_lines", "customer_ledger", "supplier_ledger", "settings", "audit_log", "attachments",
            "duplicate_drops",
        ] {
            #expect(tables.contains(name), "missing table \(name)")
        }
        let mode = try store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(mode == "wal")
        // Opening again applies nothing twice.
        let again = try LedgerStore(path: dir.path + "/ledger.sqlite")
        #expect(try again.appliedMigrations().count == 14)
    }

    /// Processes opening new books at the same moment (the daemon and an `ingest`) each find
    /// the migrations to apply: every one starts, none fails on what another has made.
    @Test func newBooksOpenedAtOnceByManyAllStart() throws {
        for _ in 0..<5 {
            let dir = TemporaryDirectory()
            let errors = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { _ in
                do {
                    _ = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
                } catch {
                    errors.withLock { $0.append("\(error)") }
                }
            }
            #expect(errors.withLock { $0 } == [])
            #expect(try LedgerStore(path: dir.path + "/ledger.sqlite").appliedMigrations().count == 14)
        }
    }

    /// The connection that commits postings syncs the WAL at every commit (FULL) unless
    /// told otherwise: before a batch's files are moved to the archive, the batch is on disk.
    /// GRDB turns its writer to NORMAL when it enables WAL, after the connection's own setup,
    /// so this is checked on the writer itself, before and after a write, and again when the
    /// file is opened a second time.
    @Test func commitsAreSyncedToDiskAsAsked() throws {
        let dir = TemporaryDirectory()
        func writerSynchronous(_ store: LedgerStore) throws -> Int? {
            try store.pool.writeWithoutTransaction { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        }
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite")
        #expect(try writerSynchronous(store) == 2)  // FULL
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "aa")], now: "2026-11-21T10:00:00Z")
        #expect(try writerSynchronous(store) == 2)
        #expect(try writerSynchronous(try LedgerStore(path: dir.path + "/ledger.sqlite")) == 2)
        #expect(try writerSynchronous(try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)) == 1)
    }

    @Test func invoiceLinesAreFoundByInvoiceThroughTheirPartialIndexes() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        _ = try store.write(
            [
                try incoming(sampleInvoice(number: "F-1"), sha: "aa"),
                try incoming(sampleInvoice(number: "S-1"), sha: "bb", direction: .sale),
            ], now: "2026-11-21T10:00:00Z")
        try store.pool.read { db in
            for (column, table) in [
                ("vendor_invoice_id", "vendor_invoices"), ("customer_invoice_id", "customer_invoices"),
            ] {
                let id = try #require(try Int64.fetchOne(db, sql: "SELECT id FROM \(table)"))
                let sql = "SELECT COUNT(*) FROM invoice_lines WHERE \(column) = ?"
                #expect(try Int.fetchOne(db, sql: sql, arguments: [id]) ?? 0 > 0)
                let plan = try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN " + sql, arguments: [id])
                    .map { $0["detail"] as String }.joined(separator: "; ")
                #expect(plan.contains("USING COVERING INDEX invoice_lines_"), "\(plan)")
                // Only the rows that name an invoice of that kind are in its index.
                let indexed = try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM invoice_lines INDEXED BY invoice_lines_\(column == "vendor_invoice_id" ? "vendor" : "customer") WHERE \(column) IS NOT NULL"
                )
                #expect(
                    indexed
                        == (try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoice_lines WHERE \(column) IS NOT NULL"))
                )
            }
        }
    }

    @Test func postingWritesDocumentInvoiceLinesEntryAndSubLedgerTogether() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        // With a VAT breakdown of two rates, and its VAT total in a VAT accounting currency.
        var document = sampleInvoice(number: "F-1")
        document.taxSubtotals.append(
            TaxSubtotal(
                taxable: nokMoney(0), tax: nokMoney(0), category: "E", percent: ExactDecimal(0),
                exemptionReason: "Health services"))
        document.accountingTaxTotal = AccountingTaxTotal(currency: Currency("EUR")!, hundredths: 32_156)
        let outcomes = try store.write([try incoming(document, sha: "aa")], now: "2026-11-21T10:00:00Z")
        guard case .posted(let documentID, _) = outcomes.first else {
            Issue.record("expected posted, got \(outcomes)")
            return
        }
        try store.pool.read { (db: Database) throws in
            let invoice = try Row.fetchOne(
                db, sql: "SELECT * FROM vendor_invoices WHERE document_id = ?", arguments: [documentID])!
            #expect(invoice["payable_minor"] as Int64 == 18_750)
            #expect(invoice["status"] as String == "open")
            #expect(invoice["origin"] as String == "ehf")
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoice_lines") == 2)
            #expect(invoice["accounting_tax_currency"] as String? == "EUR")
            #expect(invoice["accounting_tax_hundredths"] as Int64? == 32_156)
            #expect(
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT category, percent, taxable_minor, tax_minor, currency, exemption_reason
                        FROM vendor_invoice_tax_subtotals WHERE invoice_id = ? ORDER BY position
                        """, arguments: [invoice["id"] as Int64]
                ).map {
                    "\($0[0] as String) \($0[1] as String) \($0[2] as Int64) \($0[3] as Int64) \($0[4] as String) \(($0[5] as String?) ?? "-")"
                }
                    == ["S 25 15000 3750 NOK -", "E 0 0 0 NOK Health services"])
            #expect(try Int64.fetchOne(db, sql: "SELECT SUM(amount_minor) FROM supplier_ledger") == 18_750)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attachments WHERE length(content) = 10") == 1)
            let lines = try Row.fetchAll(
                db, sql: "SELECT account, debit_minor, credit_minor FROM journal_lines ORDER BY line_no")
            #expect(lines.map { $0["account"] as String } == ["4000", "2710", "2400"])
            #expect(lines.map { $0["debit_minor"] as Int64 } == [15_000, 3_750, 0])
            #expect(lines.map { $0["credit_minor"] as Int64 } == [0, 0, 18_750])
        }
        let reconciliation = try store.reconcile(accounts: AccountPlan())
        #expect(reconciliation.agrees)
        #expect(reconciliation.lines.first { $0.account == "2400" }?.generalLedgerMinor == 18_750)
        #expect(try store.checkBalances().unbalanced.isEmpty)
    }

    @Test func sameBytesTwiceIsANoOp() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        let doc = try incoming(sampleInvoice(number: "F-1"), sha: "aa")
        _ = try store.write([doc], now: "t1")
        let second = try store.write([doc], now: "t2")
        #expect(second == [.alreadyPosted(documentID: 1, archivedPath: "/archive/aa.xml")])
        let count = try store.pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal_entries") }
        #expect(count == 1)
    }

    /// The status page's recent documents: files dropped again among the documents by time,
    /// each posted one (and each drop of one) with what it was posted as.
    @Test func recentDocumentsListFilesDroppedAgainWithWhatTheyRepeat() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "aa")], now: "2026-11-21T10:00:01Z")
        _ = try store.write(
            [try incoming(sampleInvoice(number: "S-1", seller: us, buyer: supplier), sha: "bb", direction: .sale)],
            now: "2026-11-21T10:00:03Z")
        try dropAgain(documentID: 1, as: "again.xml", at: "2026-11-21T10:00:02Z", into: store)

        let recent = try store.statusPageData(asOf: Day(iso: "2026-11-23")!).recent
        #expect(recent.map(\.name) == ["S-1.xml", "again.xml", "F-1.xml"])
        #expect(recent.map(\.state) == ["posted", "duplicate", "posted"])
        let dropped = recent[1]
        #expect(dropped.id == 1 && dropped.duplicateOf == 1 && dropped.duplicateOfName == "F-1.xml")
        #expect(dropped.archivedPath == "/archive/duplicates/again.xml")
        #expect(dropped.postedAs == recent[2].postedAs)
        let posted = try #require(recent[2].postedAs)
        #expect(
            [posted.type, posted.direction, posted.number, posted.party, posted.currency, posted.dueDate]
                == ["invoice", "purchase", "F-1", "Leverandør AS", "NOK", "2026-10-31"])
        #expect(posted.payableMinor == 18_750)
        #expect(recent[0].postedAs?.direction == "sale")
        #expect(recent[0].postedAs?.party == "Leverandør AS")
        // Bounded by the limit, drops included.
        #expect(
            try store.statusPageData(asOf: Day(iso: "2026-11-23")!, recentLimit: 2).recent.map(\.name) == [
                "S-1.xml", "again.xml",
            ])
    }

    /// A file dropped again long after its document was posted (sixty postings since) is still
    /// shown with what that document was posted as.
    @Test func aFileDroppedAgainLongAfterItsPostingSaysWhatItWasPostedAs() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        let batch = try (0..<61).map { try incoming(sampleInvoice(number: "F-\($0)"), sha: "s\($0)") }
        _ = try store.write(batch, now: "2026-11-21T10:00:00Z")
        try dropAgain(documentID: 1, as: "old.xml", at: "2026-11-22T10:00:00Z", into: store)
        let recent = try store.statusPageData(asOf: Day(iso: "2026-11-23")!).recent
        #expect(recent.count == 50)
        let drop = try #require(recent.first)
        #expect(drop.state == "duplicate" && drop.name == "old.xml")
        #expect(drop.postedAs?.number == "F-0")
        #expect(drop.postedAs?.party == "Leverandør AS")
        #expect(recent.dropFirst().allSatisfy { $0.postedAs != nil })
    }

    @Test func sameNumberFromSameSupplierWithOtherBytesIsFlaggedNotPosted() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        // Both in one batch: the second sees the first inside the same transaction.
        let outcomes = try store.write(
            [
                try incoming(sampleInvoice(number: "F-1"), sha: "aa"),
                try incoming(sampleInvoice(number: "F-1", net: [1]), sha: "bb"),
            ],
            now: "t")
        #expect(outcomes[0] == .posted(documentID: 1))
        #expect(outcomes[1] == .duplicateNumber(documentID: 2, existingDocumentID: 1, existingName: "F-1.xml"))
        try store.pool.read { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vendor_invoices") == 1)
            #expect(try String.fetchOne(db, sql: "SELECT state FROM documents WHERE id = 2") == "duplicate_number")
            #expect(try Int64.fetchOne(db, sql: "SELECT duplicate_of FROM documents WHERE id = 2") == 1)
        }
        // The same number from another supplier, or as a credit note, is a different document.
        let other = Party(name: "Annen AS", legalCompanyID: "923609016")
        let more = try store.write(
            [
                try incoming(sampleInvoice(number: "F-1", seller: other), sha: "cc"),
                try incoming(sampleInvoice(number: "F-1", type: .creditNote), sha: "dd"),
            ], now: "t")
        #expect(more == [.posted(documentID: 3), .posted(documentID: 4)])
        #expect(try store.reconcile(accounts: AccountPlan()).agrees)
    }

    /// One supplier, its org number on one invoice and only its VAT number and a GLN endpoint on
    /// the next: one supplier, and a document number it uses twice is flagged (DESIGN §2 keys
    /// duplicates by the supplier's org number).
    @Test func aSupplierKnownByItsVATNumberAloneIsTheSameSupplier() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        let registered = Party(
            name: "Salescompany ltd.", endpointID: "123456785", endpointScheme: "0192", legalCompanyID: "123456785",
            taxCompanyIDs: ["NO123456785MVA"], vatIDs: ["NO123456785MVA"])
        let byGLN = Party(
            name: "Salescompany ltd.", endpointID: "1238764941386", endpointScheme: "0088",
            taxCompanyIDs: ["NO123456785MVA", "Foretaksregisteret"], vatIDs: ["NO123456785MVA"])
        #expect(byGLN.key == "123456785")
        #expect(
            try store.write([try incoming(sampleInvoice(number: "TOSL108", seller: registered), sha: "aa")], now: "t")
                == [.posted(documentID: 1)])
        #expect(
            try store.write(
                [try incoming(sampleInvoice(number: "TOSL108", seller: byGLN, net: [9]), sha: "bb")], now: "t")
                == [.duplicateNumber(documentID: 2, existingDocumentID: 1, existingName: "TOSL108.xml")])
        #expect(
            try store.write([try incoming(sampleInvoice(number: "TOSL109", seller: byGLN), sha: "cc")], now: "t")
                == [.posted(documentID: 3)])
        try store.pool.read { (db: Database) throws in
            #expect(try String.fetchAll(db, sql: "SELECT key FROM suppliers") == ["123456785"])
        }
    }

    /// A credit note settles the invoice it names, by what both have open; one posted before
    /// its invoice settles it once the invoice comes. Another supplier's, or another
    /// currency's, settles nothing. The sub-ledger and the reconciliation are unchanged.
    @Test func aCreditNoteSettlesTheInvoiceItNames() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        func creditNote(_ number: String, naming reference: String, net: Int64, seller: Party = supplier)
            -> InvoiceDocument
        {
            var document = sampleInvoice(number: number, seller: seller, type: .creditNote, net: [net])
            document.billingReferences = [reference]
            return document
        }
        func state(_ number: String, _ type: String = "invoice") throws -> String {
            try store.pool.read { db in
                try Row.fetchOne(
                    db,
                    sql: """
                        SELECT status || ' ' || (payable_minor - amount_paid_minor) FROM vendor_invoices
                        WHERE number = ? AND document_type = ?
                        """,
                    arguments: [number, type]
                ).map { $0[0] as String } ?? "none"
            }
        }
        // F-7: 15,000 net + 25 % = 18,750 owed. K-7 credits 5,000 of it.
        _ = try store.write([try incoming(sampleInvoice(number: "F-7"), sha: "a1")], now: "t")
        _ = try store.write([try incoming(creditNote("K-7", naming: "F-7", net: 4_000), sha: "a2")], now: "t")
        #expect(try state("F-7") == "partial 13750")
        #expect(try state("K-7", "credit_note") == "paid 0")
        // K-8 credits more than is left: F-7 is settled, K-8 keeps the rest open.
        _ = try store.write([try incoming(creditNote("K-8", naming: "F-7", net: 20_000), sha: "a3")], now: "t")
        #expect(try state("F-7") == "paid 0")
        #expect(try state("K-8", "credit_note") == "partial 11250")
        // Before its invoice: open until the invoice comes, then both settled.
        _ = try store.write([try incoming(creditNote("K-9", naming: "F-9", net: 15_000), sha: "a4")], now: "t")
        #expect(try state("K-9", "credit_note") == "open 18750")
        _ = try store.write([try incoming(sampleInvoice(number: "F-9"), sha: "a5")], now: "t")
        #expect(try state("F-9") == "paid 0")
        #expect(try state("K-9", "credit_note") == "paid 0")
        // Another supplier's credit note naming F-10 settles nothing of ours.
        _ = try store.write([try incoming(sampleInvoice(number: "F-10"), sha: "a6")], now: "t")
        let other = Party(name: "Annen AS", legalCompanyID: "923609016")
        _ = try store.write(
            [try incoming(creditNote("K-10", naming: "F-10", net: 1_000, seller: other), sha: "a7")], now: "t")
        #expect(try state("F-10") == "open 18750")

        try store.pool.read { (db: Database) throws in
            #expect(
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT c.number, i.number, a.amount_minor FROM vendor_credit_applications a
                        JOIN vendor_invoices c ON c.id = a.credit_note_id JOIN vendor_invoices i ON i.id = a.invoice_id
                        ORDER BY a.id
                        """
                ).map { "\($0[0] as String)>\($0[1] as String) \($0[2] as Int64)" } == [
                    "K-7>F-7 5000", "K-8>F-7 13750", "K-9>F-9 18750",
                ])
        }
        // A credit note naming two invoices, both after it: each settled as it comes.
        var both = creditNote("K-20", naming: "F-20", net: 30_000)
        both.billingReferences = ["F-20", "F-21"]
        _ = try store.write([try incoming(both, sha: "c1")], now: "t")
        _ = try store.write([try incoming(sampleInvoice(number: "F-20"), sha: "c2")], now: "t")
        #expect(try state("F-20") == "paid 0")
        #expect(try state("K-20", "credit_note") == "partial 18750")
        _ = try store.write([try incoming(sampleInvoice(number: "F-21"), sha: "c3")], now: "t")
        #expect(try state("F-21") == "paid 0")
        #expect(try state("K-20", "credit_note") == "paid 0")
        // A correction sent as a negative invoice settles the invoice it names, after it or
        // before it, as a credit note does: both leave nothing open.
        func correction(_ number: String, naming reference: String) -> InvoiceDocument {
            var document = sampleInvoice(number: number, net: [-15_000])
            document.billingReferences = [reference]
            return document
        }
        _ = try store.write([try incoming(sampleInvoice(number: "F-30"), sha: "d1")], now: "t")
        _ = try store.write([try incoming(correction("N-30", naming: "F-30"), sha: "d2")], now: "t")
        #expect(try state("F-30") == "paid 0")
        #expect(try state("N-30") == "paid 0")
        _ = try store.write([try incoming(correction("N-31", naming: "F-31"), sha: "d3")], now: "t")
        #expect(try state("N-31") == "open -18750")
        _ = try store.write([try incoming(sampleInvoice(number: "F-31"), sha: "d4")], now: "t")
        #expect(try state("F-31") == "paid 0")
        #expect(try state("N-31") == "paid 0")
        // An invoice that names another (not a correction) settles nothing.
        var plain = sampleInvoice(number: "F-32")
        plain.billingReferences = ["F-10"]
        _ = try store.write([try incoming(plain, sha: "d5")], now: "t")
        #expect(try state("F-10") == "open 18750")
        #expect(try state("F-32") == "open 18750")
        // Sales the same way: our credit note to a customer settles our invoice to it.
        var saleCredit = sampleInvoice(number: "SK-1", seller: us, buyer: supplier, type: .creditNote, net: [4_000])
        saleCredit.billingReferences = ["S-1"]
        _ = try store.write(
            [
                try incoming(sampleInvoice(number: "S-1", seller: us, buyer: supplier), sha: "b1", direction: .sale),
                try incoming(saleCredit, sha: "b2", direction: .sale),
            ], now: "t")
        try store.pool.read { (db: Database) throws in
            #expect(
                try String.fetchAll(
                    db, sql: "SELECT number || ' ' || status FROM customer_invoices ORDER BY id")
                    == ["S-1 partial", "SK-1 paid"])
            #expect(try Int64.fetchOne(db, sql: "SELECT amount_minor FROM customer_credit_applications") == 5_000)
        }
        // What is open per supplier: F-10 18,750 + F-32 18,750 − K-8's 11,250 left − K-10 1,250
        // = 25,000; per customer, S-1 18,750 − 5,000.
        let totals = try store.outstandingTotals()
        #expect(totals.map(\.side) == ["receivable", "payable"])
        #expect(totals.map(\.openMinor) == [13_750, 25_000])
        #expect(totals.map(\.documents) == [1, 4])
        #expect(try store.reconcile(accounts: AccountPlan()).agrees)
        #expect(try store.checkBalances().unbalanced.isEmpty)
    }

    /// Aged as of a day gone by, a document is open by what it had open that day: a credit
    /// issued after the day has not settled anything yet, one issued by then has. As of a day
    /// after everything, the open amounts are today's.
    @Test func agingAsOfADayCountsOnlyTheCreditsIssuedByThen() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        func document(
            _ number: String, issued: String, type: DocumentType = .invoice, net: Int64 = 15_000,
            naming reference: String? = nil, seller: Party = supplier, buyer: Party = us
        ) -> InvoiceDocument {
            var document = sampleInvoice(number: number, seller: seller, buyer: buyer, type: type, net: [net])
            document.issueDate = Day(iso: issued)!
            document.dueDate = Day(iso: issued)!.adding(days: 30)
            document.billingReferences = reference.map { [$0] } ?? []
            return document
        }
        // F-1 (18,750) is credited 5,000 by K-1 in February; F-2 (18,750) corrected in full by
        // the negative invoice N-2 in March; K-3, before its invoice F-3 in April, settles
        // 12,500 of it. A sale, S-1 (18,750), is credited 6,250 by SK-1 in February.
        let documents: [(InvoiceDocument, Direction)] = [
            (document("F-1", issued: "2026-01-10"), .purchase),
            (document("F-2", issued: "2026-01-20"), .purchase),
            (document("K-1", issued: "2026-02-15", type: .creditNote, net: 4_000, naming: "F-1"), .purchase),
            (document("N-2", issued: "2026-03-01", net: -15_000, naming: "F-2"), .purchase),
            (document("K-3", issued: "2026-03-10", type: .creditNote, net: 10_000, naming: "F-3"), .purchase),
            (document("F-3", issued: "2026-04-01"), .purchase),
            (document("S-1", issued: "2026-01-05", seller: us, buyer: supplier), .sale),
            (
                document(
                    "SK-1", issued: "2026-02-01", type: .creditNote, net: 5_000, naming: "S-1", seller: us,
                    buyer: supplier), .sale
            ),
        ]
        for (i, (invoice, direction)) in documents.enumerated() {
            #expect(
                try store.write([try incoming(invoice, sha: "s\(i)", direction: direction)], now: "t")
                    == [.posted(documentID: Int64(i + 1))])
        }
        /// Side, issue date and signed open amount of each item, in a stable order.
        func aged(_ day: String) throws -> [String] {
            try store.aging(asOf: Day(iso: day)!).map { "\($0.side) \($0.item.issueDate) \($0.item.openMinor)" }
                .sorted()
        }
        #expect(
            try aged("2026-01-31") == [
                "payable 2026-01-10 18750", "payable 2026-01-20 18750", "receivable 2026-01-05 18750",
            ])
        #expect(
            try aged("2026-02-20") == [
                "payable 2026-01-10 13750", "payable 2026-01-20 18750", "receivable 2026-01-05 12500",
            ])
        // N-2 settles F-2 and is settled; K-3 waits for F-3, open as a credit.
        #expect(
            try aged("2026-03-15") == [
                "payable 2026-01-10 13750", "payable 2026-03-10 -12500", "receivable 2026-01-05 12500",
            ])
        #expect(
            try aged("2026-04-01") == [
                "payable 2026-01-10 13750", "payable 2026-04-01 6250", "receivable 2026-01-05 12500",
            ])
        // Later still, what is open today, as the status page groups it (by bucket): it ages
        // as these documents one by one do, on any day.
        let open = try store.aging(asOf: Day(iso: "2099-01-01")!)
        for day in stride(from: 0, through: 240, by: 15).map({ Day(iso: "2026-01-01")!.adding(days: $0) }) {
            let page = try store.statusPageData(asOf: day).aging
            for side in ["payable", "receivable"] {
                let grouped = page.filter { $0.side == side }.map(\.item)
                let single = open.filter { $0.side == side }.map(\.item)
                #expect(Aging.rows(grouped, asOf: day) == Aging.rows(single, asOf: day), "\(side) on \(day)")
                #expect(Aging.oldestDue(grouped) == Aging.oldestDue(single), "\(side) on \(day)")
            }
        }
        // Parties are named as on the status page.
        #expect(
            Set(try store.aging(asOf: Day(iso: "2026-01-31")!).map(\.item.party))
                == Set(try store.statusPageData(asOf: Day(iso: "2026-11-23")!).aging.map(\.item.party)))
    }

    /// Two suppliers of one name are two rows, each shown with its key and carrying it, in the
    /// aging as of a day and in the status page's; so a script reading `outstanding --json`
    /// tells them apart by `party_key` as well as by name.
    @Test func partiesSharingANameAreAgedApartWithTheirKeys() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        let twin = Party(name: supplier.name, legalCompanyID: "923609016")
        let other = Party(name: "Annen AS", legalCompanyID: "984661185")
        for (i, seller) in [supplier, twin, other].enumerated() {
            #expect(
                try store.write([try incoming(sampleInvoice(number: "S-\(i)", seller: seller), sha: "s\(i)")], now: "t")
                    == [.posted(documentID: Int64(i + 1))])
        }
        let expected = [
            "Annen AS": "984661185", "Leverandør AS (923609016)": "923609016",
            "Leverandør AS (942992343)": "942992343",
        ]
        for entries in [
            try store.aging(asOf: Day(iso: "2026-11-23")!),
            try store.statusPageData(asOf: Day(iso: "2026-11-23")!).aging,
        ] {
            #expect(
                Dictionary(entries.map { ($0.item.party, $0.partyKey) }, uniquingKeysWith: { a, _ in a }) == expected)
            #expect(Aging.rows(entries.map(\.item), asOf: Day(iso: "2026-11-23")!).count == 3)
        }
    }

    /// The status page hands over its open documents grouped by aging bucket, however many
    /// there are: one item per party, currency, bucket, known due date or not, and what is
    /// owed or credited. Documents on either side of each bucket's edge land where `Aging`
    /// puts them, a document without a due date by its issue date.
    @Test func theStatusPageGroupsOpenDocumentsByAgingBucket() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        let today = Day(iso: "2026-03-01")!
        var documents: [InvoiceDocument] = []
        // Due 0, 1, 30, 31, 60, 61, 90, 91 and 400 days ago, and in a week.
        for (i, days) in [0, 1, 30, 31, 60, 61, 90, 91, 400, -7].enumerated() {
            var document = sampleInvoice(number: "D-\(i)", net: [Int64(100 * (i + 1))])
            document.issueDate = today.adding(days: -days - 20)
            document.dueDate = today.adding(days: -days)
            documents.append(document)
        }
        // Without a due date: due 30 days after issue.
        for (i, days) in [30, 31, 60, 61, 120].enumerated() {
            var document = sampleInvoice(number: "N-\(i)", net: [Int64(7 * (i + 1))])
            document.issueDate = today.adding(days: -days)
            document.dueDate = nil
            documents.append(document)
        }
        var credit = sampleInvoice(number: "K-1", type: .creditNote, net: [50])
        credit.issueDate = today.adding(days: -45)
        credit.dueDate = nil
        documents.append(credit)
        for (i, document) in documents.enumerated() {
            #expect(
                try store.write([try incoming(document, sha: "g\(i)")], now: "t") == [.posted(documentID: Int64(i + 1))]
            )
        }
        let page = try store.statusPageData(asOf: today).aging.map(\.item)
        let single = try store.aging(asOf: Day(iso: "2099-01-01")!).map(\.item)
        #expect(single.count == documents.count)
        #expect(Aging.rows(page, asOf: today) == Aging.rows(single, asOf: today))
        #expect(Aging.oldestDue(page) == Aging.oldestDue(single))
        let row = try #require(Aging.rows(page, asOf: today).first)
        #expect(row.documents == documents.count)
        #expect(row.withoutDueDate == 5)
        // Due-dated: current 1+10 (×125 = gross), 1–30: 2+3, 31–60: 4+5, 61–90: 6+7, 90+: 8+9.
        // Without: issued 30 ago → current; 31 and 60 → 1–30; 61 → 31–60; 120 → 61–90.
        // Credit issued 45 days ago, due 15 days ago → 1–30.
        // What each document owes: its net and a quarter of it in VAT (`sampleInvoice`).
        func owed(_ nets: Int64...) -> Int64 { nets.reduce(0) { $0 + $1 + $1 / 4 } }
        #expect(
            row.buckets == [
                owed(100, 1_000, 7), owed(200, 300, 14, 21) - owed(50), owed(400, 500, 28), owed(600, 700, 35),
                owed(800, 900),
            ])
        // Grouped: one item per bucket and kind, not one per document.
        #expect(page.count == 5 + 4 + 1)
    }

    @Test func longTextsAreStoredWholeWithTheOtherTextsOfTheirRow() throws {
        // The writer binds text from a buffer of its own that grows by setting a full one
        // aside mid-row: every text bound before and after a long one must still be whole.
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        // Over the 512 bytes the buffer starts with, under the 1,000 characters a reason keeps.
        let longReason = String(repeating: "Beløpet stemmer ikke — ", count: 40)
        let longItem = String(repeating: "Konsulenttime æøå ", count: 60)
        var rejected = try incoming(sampleInvoice(number: "R-1"), sha: String(repeating: "a", count: 64))
        rejected.originalName = String(repeating: "faktura-", count: 80) + ".xml"
        rejected.content = .rejected(Rejection("BR-CO-15", longReason))
        var invoice = sampleInvoice(number: "P-1")
        invoice.lines[0].itemName = longItem
        let posted = try incoming(invoice, sha: String(repeating: "b", count: 64))
        let short = try incoming(sampleInvoice(number: "S-1"), sha: String(repeating: "c", count: 64))
        _ = try store.write([rejected, posted, short], now: "2026-11-24T10:00:00Z")
        let documents = try store.pool.read { db in
            try Row.fetchAll(db, sql: "SELECT sha256, original_name, reason, processed_at FROM documents ORDER BY id")
        }
        #expect(documents.map { $0["sha256"] as String } == [rejected.sha256, posted.sha256, short.sha256])
        #expect(documents.map { $0["original_name"] as String } == [rejected.originalName, "P-1.xml", "S-1.xml"])
        #expect(documents.first?["reason"] == longReason)
        #expect(documents.allSatisfy { $0["processed_at"] == "2026-11-24T10:00:00Z" })
        let items = try store.pool.read { db in
            try String.fetchAll(db, sql: "SELECT item_name FROM invoice_lines ORDER BY id")
        }
        #expect(items == [longItem, "Item 2", "Item 1", "Item 2"])
    }

    @Test func aRejectedDocumentIsStoredAndCanBePostedWhenTriedAgain() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        var doc = try incoming(sampleInvoice(number: "F-9"), sha: "ee")
        let posting = doc.content
        doc.content = .rejected(Rejection("NOT-OUR-INVOICE", "neither party is us"))
        #expect(
            try store.write([doc], now: "t") == [
                .rejected(documentID: 1, Rejection("NOT-OUR-INVOICE", "neither party is us"))
            ])
        // Posted now, with what its posting leaves to do by hand.
        guard case .invoice(let prepared) = posting else { return }
        let note = PostingNote.prepaid(posted: nokMoney(-100), account: "1480", direction: .purchase)
        doc.content = .invoice(
            PreparedInvoice(
                invoice: prepared.invoice, direction: prepared.direction, entry: prepared.entry,
                netAccount: prepared.netAccount, attachmentHashes: prepared.attachmentHashes, notes: [note]))
        #expect(try store.write([doc], now: "t") == [.posted(documentID: 1, rejectedBefore: true)])
        let row = try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT state, note FROM documents WHERE id = 1")
        }
        #expect(row?["state"] == "posted")
        #expect(row?["note"] == note.text)
        #expect(try store.status().postingNotes.items.map(\.note) == [note.text])

        // Said to be done: off the lists, kept with the document, who said so in the audit log.
        let done = try store.markNoteDone(documentID: 1, actor: "alice (ledgerd done)", now: "t2")
        #expect(done?.note == note.text)
        #expect(try store.markNoteDone(documentID: 1, actor: "alice (ledgerd done)", now: "t3") == nil)
        #expect(try store.markNoteDone(documentID: 99, actor: "alice (ledgerd done)", now: "t3") == nil)
        let notes = try store.status().postingNotes
        #expect(notes.total == 0 && notes.items.isEmpty)
        #expect(try store.statusPageData(asOf: Day(iso: "2026-11-23")!).postingNotes.total == 0)
        let kept = try store.pool.read { db in
            try Row.fetchOne(db, sql: "SELECT note, note_done_at FROM documents WHERE id = 1")
        }
        #expect(kept?["note"] == note.text)
        #expect(kept?["note_done_at"] == "t2")
        let audit = try store.auditEntries(limit: 5)
        #expect(audit.count == 1)
        #expect(audit.first?.action == "note_done")
        #expect(audit.first?.actor == "alice (ledgerd done)")
        #expect(audit.first?.documentID == 1)
    }

    @Test func customerInvoicesAndCreditNotesReconcileAgainstReceivables() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        let customer = Party(name: "Kunde AS", legalCompanyID: "923609016")
        let outcomes = try store.write(
            [
                try incoming(sampleInvoice(number: "1001", seller: us, buyer: customer), sha: "s1", direction: .sale),
                try incoming(
                    sampleInvoice(number: "1001", seller: us, buyer: customer, type: .creditNote, net: [4_000]),
                    sha: "s2", direction: .sale),
            ], now: "t")
        #expect(outcomes == [.posted(documentID: 1), .posted(documentID: 2)])
        let line = try #require(try store.reconcile(accounts: AccountPlan()).lines.first { $0.account == "1500" })
        #expect(line.generalLedgerMinor == 18_750 - 5_000)
        #expect(line.subLedgerMinor == 18_750 - 5_000)
        #expect(line.agrees)
        let status = try store.status()
        let receivable = try #require(status.open.first { $0.side == "receivable" })
        #expect(receivable.openMinor == 13_750)
        #expect(receivable.documents == 2)
    }

    @Test func manualEntriesOnAControlAccountExplainTheDifference() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "aa")], now: "t")
        try store.pool.write { db in
            try db.execute(
                sql:
                    "INSERT INTO journal_entries (date, source, description, created_at) VALUES ('2026-11-01', 'manual', 'correction', 't')"
            )
            let id = db.lastInsertedRowID
            try db.execute(
                sql:
                    "INSERT INTO journal_lines (entry_id, line_no, account, debit_minor, credit_minor, currency) VALUES (?, 1, '2400', 0, 500, 'NOK')",
                arguments: [id])
            try db.execute(
                sql:
                    "INSERT INTO journal_lines (entry_id, line_no, account, debit_minor, credit_minor, currency) VALUES (?, 2, '4000', 500, 0, 'NOK')",
                arguments: [id])
        }
        let line = try #require(try store.reconcile(accounts: AccountPlan()).lines.first { $0.account == "2400" })
        #expect(line.differenceMinor == 500)
        #expect(line.entriesWithoutSubLedger.map(\.amountMinor) == [500])
        #expect(line.unexplainedMinor == 0)
        // A sub-ledger entry without its GL side is not explained by anything.
        try store.pool.write { db in
            try db.execute(sql: "UPDATE supplier_ledger SET amount_minor = amount_minor + 1")
        }
        let broken = try #require(try store.reconcile(accounts: AccountPlan()).lines.first { $0.account == "2400" })
        #expect(broken.unexplainedMinor == -1)
        #expect(!broken.agrees)
        #expect(broken.discrepancies.count == 1)
        #expect(broken.discrepancies.first.map { $0.subLedgerMinor! - $0.generalLedgerMinor! } == 1)
        #expect(broken.entriesWithoutSubLedger.map(\.source) == ["manual"])

        // An invoice's sub-ledger entry deleted: its entry no longer has a sub-ledger side,
        // and, not being a manual correction, explains nothing.
        try store.pool.write { db in try db.execute(sql: "DELETE FROM supplier_ledger") }
        let missing = try #require(try store.reconcile(accounts: AccountPlan()).lines.first { $0.account == "2400" })
        #expect(!missing.agrees)
        #expect(missing.subLedgerMinor == 0)
        #expect(missing.entriesWithoutSubLedger.map(\.source) == ["manual"])
        #expect(missing.discrepancies.map(\.source) == ["ehf"])
        #expect(missing.discrepancies.first?.subLedgerMinor == nil)
        #expect(missing.unexplainedMinor == missing.discrepancies.first?.generalLedgerMinor)
    }

    /// Paid in advance in full (PrepaidAmount = the total, PayableAmount 0, BR-CO-16), and an
    /// invoice of 0: each is paid from the start, its sub-ledger entry of 0 and the absent 2400
    /// line agree, and no discrepancy is reported.
    @Test func invoicesWithNothingToPayArePaidAndReconcile() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        var prepaid = sampleInvoice(number: "F-PAID")
        prepaid.totals.prepaid = prepaid.totals.taxInclusive
        prepaid.totals.payable = nokMoney(0)
        let free = sampleInvoice(number: "F-ZERO", net: [0])
        _ = try store.write([try incoming(prepaid, sha: "pp"), try incoming(free, sha: "zz")], now: "t")
        let (statuses, ledger, lines) = try store.pool.read { db in
            (
                try String.fetchAll(db, sql: "SELECT status FROM vendor_invoices ORDER BY number"),
                try Int64.fetchAll(db, sql: "SELECT amount_minor FROM supplier_ledger"),
                try Int.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*) FROM journal_lines l JOIN vendor_invoices v ON v.journal_entry_id = l.entry_id WHERE v.number = 'F-ZERO'"
                )
            )
        }
        #expect(statuses == ["paid", "paid"])
        #expect(ledger == [0, 0])
        #expect(lines == 0)
        #expect(try store.checkBalances().unbalanced.isEmpty)
        let line = try #require(try store.reconcile(accounts: AccountPlan()).lines.first { $0.account == "2400" })
        #expect(line.agrees)
        #expect(line.discrepancies.isEmpty, "\(line.discrepancies)")
    }

    @Test func theDatabaseRefusesALineWithBothSides() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO journal_entries (date, source, description, created_at) VALUES ('2026-11-01', 'manual', 'x', 't')"
                )
                try db.execute(
                    sql:
                        "INSERT INTO journal_lines (entry_id, line_no, account, debit_minor, credit_minor, currency) VALUES (1, 1, '1920', 5, 5, 'NOK')"
                )
            }
        }
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO journal_entries (date, source, description, created_at) VALUES ('2026-11-01', 'bogus', 'x', 't')"
                )
            }
        }
    }

    @Test func checkBalancesFindsAnUnbalancedEntry() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "aa")], now: "t")
        #expect(try store.checkBalances().unbalanced.isEmpty)
        try store.pool.write { db in
            try db.execute(sql: "UPDATE journal_lines SET debit_minor = debit_minor + 1 WHERE line_no = 1")
        }
        let check = try store.checkBalances()
        #expect(check.unbalanced.map(\.entryID) == [1])
    }
}

/// Posting runs without SQLite's foreign-key enforcement (`postingTransaction`): what it
/// writes must hold every reference by itself, and the connection must enforce them again after.
@Suite struct PostingReferencesTests {
    static func brokenReferences(_ store: LedgerStore) throws -> [String] {
        try store.pool.read { db in
            try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").map { "\($0[0] as String) row \($0[1] as Int64?)" }
        }
    }

    static func writerEnforcesReferences(_ store: LedgerStore) throws -> Bool {
        try store.pool.writeWithoutTransaction { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") ?? false }
    }

    @Test func everyKindOfPostingLeavesEveryReferenceWhole() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        var purchaseCredit = sampleInvoice(number: "K-1", type: .creditNote, net: [4_000])
        purchaseCredit.billingReferences = ["F-1"]
        var saleCredit = sampleInvoice(number: "SK-1", seller: us, buyer: supplier, type: .creditNote, net: [4_000])
        saleCredit.billingReferences = ["S-1"]
        var refused = try incoming(sampleInvoice(number: "F-9"), sha: "r1")
        let refusedPosting = refused.content
        refused.content = .rejected(Rejection("NOT-OUR-INVOICE", "neither party is us"))
        let outcomes = try store.write(
            [
                try incoming(sampleInvoice(number: "F-1"), sha: "a1"),
                try incoming(sampleInvoice(number: "F-1", net: [1]), sha: "a2"),
                try incoming(purchaseCredit, sha: "a3"),
                try incoming(sampleInvoice(number: "S-1", seller: us, buyer: supplier), sha: "b1", direction: .sale),
                try incoming(saleCredit, sha: "b2", direction: .sale),
                refused,
            ], now: "t")
        #expect(
            outcomes == [
                .posted(documentID: 1),
                .duplicateNumber(documentID: 2, existingDocumentID: 1, existingName: "F-1.xml"),
                .posted(documentID: 3), .posted(documentID: 4), .posted(documentID: 5),
                .rejected(documentID: 6, Rejection("NOT-OUR-INVOICE", "neither party is us")),
            ])
        // Rejected first, posted when tried again.
        refused.content = refusedPosting
        #expect(try store.write([refused], now: "t") == [.posted(documentID: 6, rejectedBefore: true)])
        try store.pool.read { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vendor_credit_applications") == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM customer_credit_applications") == 1)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attachments") ?? 0 > 0)
            #expect(try Int64.fetchOne(db, sql: "SELECT duplicate_of FROM documents WHERE id = 2") == 1)
        }
        #expect(try Self.brokenReferences(store) == [])
        #expect(try Self.writerEnforcesReferences(store))
    }

    /// The check is the database's again after a posting, whether it committed or not: a
    /// reference to nothing written by anything else is refused.
    @Test func theWriterEnforcesReferencesAgainAfterAPosting() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        #expect(try Self.writerEnforcesReferences(store))
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "a1")], now: "t")
        #expect(try Self.writerEnforcesReferences(store))
        // A batch the database refuses a document of: rolled back, then written document by document.
        try refuseInvoicesNumberedBAD(store)
        let outcomes = try store.write(
            [
                try incoming(sampleInvoice(number: "BAD"), sha: "a2"),
                try incoming(sampleInvoice(number: "F-2"), sha: "a3"),
            ],
            now: "t")
        #expect(outcomes[1] == .posted(documentID: 3))
        #expect(try Self.writerEnforcesReferences(store))
        #expect(throws: DatabaseError.self) {
            try store.pool.write { db in
                try db.execute(
                    sql:
                        "INSERT INTO journal_lines (entry_id, line_no, account, debit_minor, credit_minor, currency) VALUES (999, 1, '1920', 1, 0, 'NOK')"
                )
            }
        }
        #expect(try Self.brokenReferences(store) == [])
    }
}

/// Makes the database refuse (a trigger) any vendor invoice numbered `BAD`.
func refuseInvoicesNumberedBAD(_ store: LedgerStore) throws {
    try store.pool.write { db in
        try db.execute(
            sql: """
                CREATE TRIGGER refuse_bad BEFORE INSERT ON vendor_invoices WHEN NEW.number = 'BAD'
                BEGIN SELECT RAISE(ABORT, 'refused by a test trigger'); END
                """)
    }
}

@Suite struct BatchIsolationTests {
    /// A document the database refuses is recorded as rejected; the rest of its batch posts.
    @Test func aDocumentTheDatabaseRefusesDoesNotTakeItsBatchWithIt() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        try refuseInvoicesNumberedBAD(store)
        let outcomes = try store.write(
            [
                try incoming(sampleInvoice(number: "OK-1"), sha: "a1"),
                try incoming(sampleInvoice(number: "BAD"), sha: "a2"),
                try incoming(sampleInvoice(number: "OK-2"), sha: "a3"),
            ], now: "t")
        #expect(outcomes[0] == .posted(documentID: 1))
        guard case .rejected(_, let rejection) = outcomes[1] else {
            Issue.record("expected the refused document to be rejected, got \(outcomes[1])")
            return
        }
        #expect(rejection.code == "STORE")
        #expect(rejection.message.contains("refused by a test trigger"))
        #expect(outcomes[2] == .posted(documentID: 3))
        try store.pool.read { (db: Database) throws in
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vendor_invoices") == 2)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal_entries") == 2)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM supplier_ledger") == 2)
        }
        #expect(try store.checkBalances().unbalanced.isEmpty)
        #expect(try store.reconcile(accounts: AccountPlan()).agrees)
    }
}

extension BatchIsolationTests {
    /// Lines and VAT breakdowns are written several rows a statement (`RowsInsert`): each row
    /// is stored, in order, however many there are; and a row refused part way through a
    /// statement, after some of its rows were written, takes the whole document back with it
    /// and nothing else.
    @Test func manyLinesAreWrittenInOrderAndARefusedOneTakesBackItsWholeDocument() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        try store.pool.write { db in
            try db.execute(
                sql: """
                    CREATE TRIGGER refuse_line BEFORE INSERT ON invoice_lines WHEN NEW.item_name = 'Refused'
                    BEGIN SELECT RAISE(FAIL, 'refused by a test trigger'); END
                    """)
        }
        func invoice(_ number: String, lines: Int, subtotals: Int) -> InvoiceDocument {
            var document = sampleInvoice(number: number, net: (1...lines).map { Int64($0) * 100 })
            for i in 1..<subtotals {
                document.taxSubtotals.append(
                    TaxSubtotal(
                        taxable: nokMoney(0), tax: nokMoney(0), category: "E", percent: ExactDecimal(0),
                        exemptionReason: "Reason \(i)"))
            }
            return document
        }
        var refused = invoice("MANY-2", lines: 12, subtotals: 1)
        refused.lines[10].itemName = "Refused"  // the 3rd row of the second statement
        let outcomes = try store.write(
            [
                try incoming(invoice("MANY-1", lines: 20, subtotals: 10), sha: "a1"),
                try incoming(refused, sha: "a2"),
                try incoming(invoice("MANY-3", lines: 9, subtotals: 9), sha: "a3"),
            ], now: "t")
        #expect(outcomes[0] == .posted(documentID: 1))
        guard case .rejected(_, let rejection) = outcomes[1] else {
            Issue.record("expected the refused document to be rejected, got \(outcomes[1])")
            return
        }
        #expect(rejection.message.contains("refused by a test trigger"))
        #expect(outcomes[2] == .posted(documentID: 3))
        try store.pool.read { (db: Database) throws in
            for (number, lines, subtotals) in [("MANY-1", 20, 10), ("MANY-2", 0, 0), ("MANY-3", 9, 9)] {
                let stored = try String.fetchAll(
                    db,
                    sql: """
                        SELECT l.line_no || ' ' || l.item_name || ' ' || l.net_minor FROM invoice_lines l
                        JOIN vendor_invoices i ON i.id = l.vendor_invoice_id WHERE i.number = ? ORDER BY l.id
                        """, arguments: [number])
                #expect(stored == (0..<lines).map { "\($0 + 1) Item \($0 + 1) \(($0 + 1) * 100)" }, "\(number)")
                let breakdown = try String.fetchAll(
                    db,
                    sql: """
                        SELECT s.position || ' ' || coalesce(s.exemption_reason, '-')
                        FROM vendor_invoice_tax_subtotals s JOIN vendor_invoices i ON i.id = s.invoice_id
                        WHERE i.number = ? ORDER BY s.position
                        """, arguments: [number])
                #expect(
                    breakdown == (0..<subtotals).map { "\($0 + 1) \($0 == 0 ? "-" : "Reason \($0)")" }, "\(number)")
            }
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoice_lines") == 29)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM journal_entries") == 2)
            #expect(
                try String.fetchAll(db, sql: "SELECT line_no || account FROM journal_lines ORDER BY id")
                    == ["14000", "22710", "32400", "14000", "22710", "32400"])
        }
        #expect(try store.checkBalances().unbalanced.isEmpty)
        #expect(try store.reconcile(accounts: AccountPlan()).agrees)
    }
}

@Suite struct WriteFailureWordsTests {
    /// Each way the books can refuse a write is said as what to do about it, with SQLite's
    /// words after, not its statement; other failures are said as they are.
    @Test func eachRefusalSaysWhatToDo() {
        let path = "/srv/ledgerd/ledger.sqlite"
        func words(_ code: ResultCode, _ message: String) -> String? {
            LedgerStore.writeFailureCause(
                DatabaseError(resultCode: code, message: message, sql: "COMMIT TRANSACTION"), path: path)
        }
        #expect(
            words(.SQLITE_FULL, "database or disk is full")
                == "the disk that holds the ledger database \(path) is full: free space on it (SQLite error 13: "
                + "database or disk is full)")
        // An I/O error on a disk with room (the root folder's, here) is not called full.
        #expect(
            words(.SQLITE_IOERR, "disk I/O error")
                == "the disk that holds the ledger database \(path) failed to read or write: the system log says why "
                + "(SQLite error 10: disk I/O error)")
        #expect(
            words(.SQLITE_READONLY, "attempt to write a readonly database")?.hasPrefix(
                "the ledger database \(path) may not be written: its disk is mounted read-only") == true)
        #expect(
            words(.SQLITE_BUSY, "database is locked")?.hasPrefix("another program held the ledger database \(path) ")
                == true)
        #expect(
            words(.SQLITE_CORRUPT, "database disk image is malformed")?.contains("restore the books from a backup")
                == true)
        // Without a path, the books are named without one.
        #expect(
            LedgerStore.writeFailureCause(
                DatabaseError(resultCode: .SQLITE_FULL, message: "database or disk is full"), path: nil)?
                .hasPrefix("the disk that holds the ledger database is full") == true)
        // A constraint failed, or not the database at all: nothing better to say than what it is.
        #expect(words(.SQLITE_CONSTRAINT, "UNIQUE constraint failed") == nil)
        #expect(LedgerStore.writeFailure(CocoaError(.fileNoSuchFile), path: path) == "\(CocoaError(.fileNoSuchFile))")
        #expect(
            !LedgerStore.writeFailure(DatabaseError(resultCode: .SQLITE_FULL, sql: "COMMIT"), path: path).contains(
                "COMMIT"))
    }
}

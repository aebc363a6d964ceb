import Formats
import Foundation
import GRDB
import Ingest
import LedgerCore
import LedgerStore
import Testing

@Suite struct CorpusIngestTests {
    static let validFiles = corpusFiles("valid")
    static let invalidFiles = corpusFiles("invalid")

    @Test func theCorpusIsThere() {
        #expect(Self.validFiles.count == 10)
        #expect(Self.invalidFiles.count == 15)
    }

    /// Each valid file, as a vendor invoice (company = buyer) and as a customer invoice
    /// (company = seller): posted, sub-ledger open amount = PayableAmount, entries balance,
    /// control accounts agree with their sub-ledgers, the original archived.
    @Test(arguments: validFiles, [Direction.purchase, .sale])
    func validFileIsPosted(path: String, direction: Direction) throws {
        let sandbox = try Sandbox()
        let dropped = try sandbox.drop(path)
        let results = sandbox.pipeline(identifiers: try identifiers(of: path, side: direction)).ingest(sandbox.scan())
        #expect(results.count == 1)
        let result = try #require(results.first)
        #expect(result.outcome == .posted, "\(result.logLine)")
        #expect(!FileManager.default.fileExists(atPath: dropped))
        let destination = try #require(result.destination)
        #expect(FileManager.default.contentsEqual(atPath: destination, andPath: path))

        let invoice = try EHF.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        let expectedOpen = PostingRules.openAmount(for: invoice)
        let ledger = direction == .purchase ? "supplier_ledger" : "customer_ledger"
        let table = direction == .purchase ? "vendor_invoices" : "customer_invoices"
        try sandbox.store.pool.read { (db: Database) throws in
            let row = try #require(
                try Row.fetchOne(db, sql: "SELECT SUM(amount_minor) AS open, MIN(currency) AS currency FROM \(ledger)"))
            #expect(row["open"] as Int64 == expectedOpen.minor)
            #expect(row["currency"] as String == invoice.currency.code)
            #expect(try Int64.fetchOne(db, sql: "SELECT payable_minor FROM \(table)") == invoice.totals.payable.minor)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM invoice_lines") == invoice.lines.count)
            #expect(try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM attachments") == invoice.attachments.count)
            // The VAT breakdown kept adds up to the document's VAT-exclusive total and its VAT,
            // as the rules it passed say it must.
            let breakdown = try #require(
                try Row.fetchOne(
                    db,
                    sql:
                        "SELECT COUNT(*), SUM(taxable_minor), SUM(tax_minor) FROM \(direction == .purchase ? "vendor" : "customer")_invoice_tax_subtotals"
                ))
            #expect(breakdown[0] as Int == invoice.taxSubtotals.count)
            #expect(breakdown[1] as Int64? == invoice.totals.taxExclusive.minor)
            #expect(breakdown[2] as Int64? == invoice.taxTotal.minor)
        }
        #expect(try sandbox.store.checkBalances().unbalanced.isEmpty)
        #expect(try sandbox.store.checkBalances().entries == 1)
        #expect(try sandbox.store.reconcile(accounts: AccountPlan()).agrees)
    }

    @Test func embeddedPDFIsStoredByteExact() throws {
        let path = try #require(Self.validFiles.first { $0.contains("cef_IT_G2G") })
        let sandbox = try Sandbox()
        try sandbox.drop(path)
        let results = sandbox.pipeline(identifiers: try identifiers(of: path, side: .purchase)).ingest(sandbox.scan())
        #expect(results.map(\.outcome) == [.posted])
        // An independent decode: Foundation's base64 over the raw element text.
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let open = try #require(text.range(of: "EmbeddedDocumentBinaryObject", options: []))
        let start = try #require(text[open.upperBound...].firstIndex(of: ">"))
        let end = try #require(text.range(of: "</cbc:EmbeddedDocumentBinaryObject>", range: start..<text.endIndex))
        let expected = try #require(
            Data(
                base64Encoded: String(text[text.index(after: start)..<end.lowerBound]),
                options: .ignoreUnknownCharacters))
        let stored = try sandbox.store.pool.read { db in
            try Data.fetchOne(db, sql: "SELECT content FROM attachments ORDER BY size_bytes DESC")
        }
        #expect(stored == expected)
        #expect(stored?.prefix(4) == Data("%PDF".utf8))
        #expect(expected.count > 2_000_000)
    }

    /// The whole corpus dropped at once (as vendor invoices of the EHF 3 example's buyer):
    /// the valid ones posted or flagged, the invalid ones rejected with an error file, nothing lost.
    /// Dropping the same files again posts nothing.
    @Test func wholeCorpusTwice() throws {
        let sandbox = try Sandbox()
        for path in Self.validFiles + Self.invalidFiles { try sandbox.drop(path) }
        // Every buyer in the valid set counts as us, so each valid file is a vendor invoice.
        var ours: [String] = []
        for path in Self.validFiles { ours += try identifiers(of: path, side: .purchase) }
        let pipeline = sandbox.pipeline(identifiers: ours)
        let first = pipeline.ingest(sandbox.scan())
        #expect(first.count == 25)
        let byName = Dictionary(uniqueKeysWithValues: first.map { ($0.file.name, $0) })
        for path in Self.invalidFiles {
            let name = (path as NSString).lastPathComponent
            let result = try #require(byName[name])
            // Files that fail only national rules of other countries are ledgerd's call; they
            // may post. Everything else must be rejected.
            if !Self.postsDespiteForeignNationalRules.contains(name) {
                #expect(result.outcome == .rejected, "\(name): \(result.logLine)")
                #expect(FileManager.default.fileExists(atPath: sandbox.rejected + "/" + name))
                let errorText = try String(
                    contentsOfFile: sandbox.rejected + "/" + name + ".error.txt", encoding: .utf8)
                #expect(errorText.hasPrefix("\(name) was not posted."))
                #expect(errorText.contains(result.reason!.code))
                // The error file lists every problem itself rather than pointing to itself.
                #expect(!errorText.contains("listed in the error file"))
                // What mends it, once: a corrected file (the same bytes fail again), or, for an
                // invoice addressed to another company, the configuration and a retry; a file
                // that is no invoice at all is deleted, or asked for again as one.
                let ending =
                    switch result.reason!.code {
                    case "NOT-OUR-INVOICE": "To try again after fixing the cause, move the file back into the ehf inbox"
                    case "NOT-AN-INVOICE": "If the file was put here by mistake, move it where it belongs"
                    default:
                        "The same file is rejected again however often it is tried: drop the corrected file into the ehf inbox"
                    }
                #expect(errorText.contains(ending), "\(name): \(errorText)")
                #expect(result.reason!.code != "NOT-AN-INVOICE" || !errorText.contains("corrected file"), "\(name)")
                if result.reason!.message.contains("listed in the error file") {
                    #expect(errorText.contains("problems found:\n"))
                }
            }
        }
        // vat-category-E and vat-category-Z are two different files from the same seller with
        // the same invoice number ("Vat-Z"): the second is flagged, not posted.
        let flagged = first.filter { $0.outcome == .duplicateNumber }
        #expect(flagged.map(\.file.name) == ["peppol_vat-category-Z.xml"])
        #expect(flagged.first?.reason?.message.contains("peppol_vat-category-E.xml") == true)
        let posted = first.filter { $0.outcome == .posted }.count
        #expect(posted >= 9)
        #expect(try sandbox.store.checkBalances().unbalanced.isEmpty)
        #expect(try sandbox.store.reconcile(accounts: AccountPlan()).agrees)
        // Posted without SQLite's foreign-key enforcement: every reference holds all the same.
        #expect(try sandbox.store.pool.read { db in try Row.fetchAll(db, sql: "PRAGMA foreign_key_check") }.isEmpty)
        #expect(sandbox.scan().isEmpty, "nothing left in the inbox")
        let entriesAfterFirst = try sandbox.count("SELECT COUNT(*) FROM journal_entries")
        #expect(entriesAfterFirst == posted)

        // Again: every valid file's bytes are known, nothing new is posted.
        for path in Self.validFiles { try sandbox.drop(path) }
        let second = pipeline.ingest(sandbox.scan())
        #expect(second.filter { $0.outcome == .posted }.isEmpty)
        #expect(second.filter { $0.outcome == .duplicate }.count == 9)
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == entriesAfterFirst)
        // Nothing deleted: every dropped file is somewhere under the archive or rejected folder.
        let kept =
            sandbox.files(under: sandbox.archive).count
            + sandbox.files(under: sandbox.rejected).filter { !$0.hasSuffix(".error.txt") }.count
        #expect(kept == 25 + 10)
    }

    /// Invalid-folder files that fail only another country's national rules (Dutch NL-R-*,
    /// Swedish SE-R-*): ledgerd checks the EN 16931 arithmetic and Norwegian rules, so these
    /// are read as the valid documents they otherwise are — but none is addressed to the
    /// company in `wholeCorpusTwice`, so there they are rejected as not ours.
    static let postsDespiteForeignNationalRules: Set<String> = []
}

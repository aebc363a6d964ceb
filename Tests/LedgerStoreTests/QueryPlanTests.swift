import GRDB
import Testing

@testable import LedgerStore

/// What SQLite plans for the statements a posting runs. Without statistics (ledgerd runs no
/// ANALYZE) a plan does not depend on how many rows a table holds, so the plans of empty books
/// are the plans of books with a million documents.
@Suite struct QueryPlanTests {
    /// The plan of `sql`, one step a line, its parameters left NULL.
    static func plan(_ sql: String, in db: Database) throws -> [String] {
        let statement = try db.makeStatement(sql: "EXPLAIN QUERY PLAN " + sql)
        statement.setUncheckedArguments([])
        return try Row.fetchAll(statement).map { $0["detail"] as String }
    }

    /// A posting costs the same however large the books grow: no statement it runs goes
    /// through a whole table of them. The one exception is the credit references, which hold
    /// only credits that name an invoice and are read once a transaction, to learn which
    /// parties have credits waiting for an invoice.
    @Test func noPostingStatementGoesThroughAWholeTableOfTheBooks() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        try store.pool.write { (db: Database) throws in
            let statements = try PostingWriter(db).statements
            #expect(statements.count >= 20, "every statement is found")
            var scanned: [String] = []
            for bound in statements {
                let sql = bound.statement.sql
                for step in try Self.plan(sql, in: db) where step.hasPrefix("SCAN ") {
                    if !step.hasSuffix("_credit_references_reference") {
                        scanned.append("\(step) in: \(sql)")
                    }
                }
            }
            #expect(scanned.isEmpty, "\(scanned.joined(separator: "\n"))")
        }
    }

    /// The status page's lists of documents (the newest, the open rejections, the numbers
    /// flagged as duplicates) read the newest first through an index and stop at their limit:
    /// none sorts every document of the books to find the newest.
    @Test func theStatusPageListsReadTheNewestDocumentsWithoutSortingThemAll() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        try store.pool.read { (db: Database) throws in
            for condition in [nil, LedgerStore.openRejection, LedgerStore.openDuplicateNumber] {
                let plan = try Self.plan(LedgerStore.newestDocuments(where: condition), in: db)
                #expect(plan.first?.contains("USING INDEX") == true, "\(condition ?? "newest"): \(plan)")
                #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "\(condition ?? "newest"): \(plan)")
            }
        }
    }
}

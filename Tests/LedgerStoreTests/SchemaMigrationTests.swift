import GRDB
import LedgerCore
import Testing

@testable import LedgerStore

@Suite struct SchemaMigrationTests {
    /// Books in `dir`, migrated up to `migration` only, as an older version left them.
    static func olderBooks(in dir: borrowing TemporaryDirectory, upTo migration: String) throws -> (
        path: String, queue: DatabaseQueue
    ) {
        let path = dir.path + "/ledger.sqlite"
        let queue = try DatabaseQueue(path: path)
        try Schema.migrator.migrate(queue, upTo: migration)
        return (path, queue)
    }

    /// Books an older version left, opened read-only (by a user who may not write them), are
    /// not brought up to date: the store says so, for the command to say it in words; opened
    /// to write, they are migrated and no longer older.
    @Test func olderBooksOpenedReadOnlyAreKnownAsOlder() throws {
        let dir = TemporaryDirectory()
        let (path, queue) = try Self.olderBooks(in: dir, upTo: "009_vat_breakdown")
        try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA journal_mode = WAL") }
        try queue.close()
        #expect(try LedgerStore(path: path, readonly: true).isOlderThanThisVersion())
        #expect(try !LedgerStore(path: path).isOlderThanThisVersion())
        #expect(try !LedgerStore(path: path, readonly: true).isOlderThanThisVersion())
    }

    /// Books with a migration this version does not have were written by a newer one: opened
    /// to write or to read, the store refuses them, naming what it does not know, and writes
    /// nothing.
    @Test func booksANewerVersionWroteAreRefused() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/ledger.sqlite"
        _ = try LedgerStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('999_newer'), ('998_newer')") }
        let applied = try queue.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") }
        try queue.close()
        for readonly in [false, true] {
            #expect(throws: LedgerStore.WrittenByNewerVersion.self) { try LedgerStore(path: path, readonly: readonly) }
            do {
                _ = try LedgerStore(path: path, readonly: readonly)
            } catch let error as LedgerStore.WrittenByNewerVersion {
                #expect(error.unknownMigrations == ["998_newer", "999_newer"])
            }
        }
        let after = try DatabaseQueue(path: path)
        #expect(try after.read { try String.fetchAll($0, sql: "SELECT identifier FROM grdb_migrations") } == applied)
    }

    /// Books a newer ledgerd migrated while this store had them open (the service running on
    /// after a package replaced its binary, and the newer `ledgerd status` run): nothing more
    /// is written to them, the first write and every one after it refused whole; the daemon's
    /// own state is still saved, and the heartbeat that saves it finds them too.
    @Test func booksANewerVersionMigratesWhileOpenAreNotWrittenTo() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/ledger.sqlite"
        let store = try LedgerStore(path: path)
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "a1")], now: "t")
        try store.saveDaemonState(pid: 1, json: "{}", now: "t")
        #expect(store.writtenByNewerVersion == nil)
        let newer = try DatabaseQueue(path: path)
        try newer.write { db in
            try db.execute(sql: "ALTER TABLE vendor_invoices ADD COLUMN newer_detail TEXT")
            try db.execute(sql: "INSERT INTO grdb_migrations VALUES ('999_newer_detail')")
        }
        try store.saveDaemonState(pid: 1, json: "{\"later\":1}", now: "t2")
        #expect(store.writtenByNewerVersion?.unknownMigrations == ["999_newer_detail"])
        for (number, sha) in [("F-2", "a2"), ("F-3", "a3")] {
            #expect(throws: LedgerStore.WrittenByNewerVersion.self) {
                try store.write([try incoming(sampleInvoice(number: number), sha: sha)], now: "t")
            }
        }
        #expect(try newer.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM documents") } == 1)
        #expect(try newer.read { try String.fetchOne($0, sql: "SELECT snapshot FROM daemon_state") } == "{\"later\":1}")

        // Found by the first write when no heartbeat came first.
        let other = TemporaryDirectory()
        let otherPath = other.path + "/ledger.sqlite"
        let writer = try LedgerStore(path: otherPath)
        try DatabaseQueue(path: otherPath).write { try $0.execute(sql: "INSERT INTO grdb_migrations VALUES ('999_x')") }
        do {
            _ = try writer.write([try incoming(sampleInvoice(number: "F-1"), sha: "b1")], now: "t")
            Issue.record("written into books a newer version migrated")
        } catch let error as LedgerStore.WrittenByNewerVersion {
            #expect(error.unknownMigrations == ["999_x"])
        }
        #expect(writer.writtenByNewerVersion?.unknownMigrations == ["999_x"])
        #expect(try writer.pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM documents") } == 0)
    }

    /// What a table looks like from outside: its rows, its indexes, its foreign keys.
    struct TableShape: Equatable {
        var rows: [Row]
        var indexes: [String]
        var foreignKeys: [String]
    }

    func shape(_ db: Database, _ table: String) throws -> TableShape {
        TableShape(
            rows: try Row.fetchAll(db, sql: "SELECT * FROM \(table) ORDER BY id"),
            indexes: try String.fetchAll(
                db,
                sql:
                    "SELECT name || ': ' || ifnull(sql, '') FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name",
                arguments: [table]),
            foreignKeys: try Row.fetchAll(
                db, sql: "SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list(?)",
                arguments: [table]
            ).map { "\($0[0] as String).\($0[2] as String? ?? "") <- \($0[1] as String)" }.sorted())
    }

    @Test func rewritingTheValueChecksKeepsEveryRowIndexAndReference() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/ledger.sqlite"
        let tables = Schema.valueChecks.map(\.table)
        // Books written before migration 004: posted, flagged and rejected documents, both
        // directions, a credit note.
        let before: [String: TableShape] = try {
            // Written by today's writer into today's schema, then copied, column by column, into
            // books at migration 003: today's writer needs tables and columns later migrations
            // add.
            let today = try LedgerStore(path: dir.path + "/today.sqlite", durability: .normal)
            try today.pool.write { db in
                let writer = try PostingWriter(db)
                for item in [
                    try incoming(sampleInvoice(number: "F-1"), sha: "a1"),
                    try incoming(sampleInvoice(number: "F-1", net: [7]), sha: "a2"),
                    try incoming(sampleInvoice(number: "K-1", type: .creditNote), sha: "a3"),
                    try incoming(
                        sampleInvoice(number: "S-1", seller: us, buyer: supplier), sha: "a4", direction: .sale),
                ] {
                    _ = try writer.write(item, now: "2026-11-21T10:00:00Z")
                }
                var rejected = try incoming(sampleInvoice(number: "X"), sha: "a5")
                rejected.content = .rejected(Rejection("BR-CO-10", "sums differ"))
                _ = try writer.write(rejected, now: "2026-11-21T10:00:00Z")
            }
            try today.pool.close()
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "003_partial_invoice_line_indexes")
            try queue.writeWithoutTransaction { db in
                try db.execute(sql: "ATTACH DATABASE ? AS today", arguments: [dir.path + "/today.sqlite"])
                try db.inTransaction {
                    try db.execute(sql: "PRAGMA defer_foreign_keys = ON")
                    let names = try String.fetchAll(
                        db,
                        sql: """
                            SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                            AND name NOT LIKE 'grdb_%'
                            """)
                    for table in names {
                        let columns = try db.columns(in: table, in: "main").map(\.name).map { "\"\($0)\"" }
                            .joined(separator: ", ")
                        try db.execute(
                            sql: "INSERT INTO main.\(table) (\(columns)) SELECT \(columns) FROM today.\(table)")
                    }
                    return .commit
                }
                try db.execute(sql: "DETACH DATABASE today")
            }
            return try queue.read { (db: Database) throws in
                try Dictionary(uniqueKeysWithValues: tables.map { ($0, try shape(db, $0)) })
            }
        }()
        #expect(before["documents"]?.rows.count == 5)
        #expect(before["customer_ledger"]?.rows.count == 1)

        // Migration 004 alone: later ones add indexes of their own.
        do {
            let queue = try DatabaseQueue(path: path)
            try Schema.migrator.migrate(queue, upTo: "004_value_checks_as_comparisons")
            try queue.read { (db: Database) throws in
                for table in tables {
                    #expect(try shape(db, table) == before[table], "\(table) changed")
                }
            }
            try queue.close()
        }
        let store = try LedgerStore(path: path)
        #expect(try store.appliedMigrations().last == "014_documents_by_time")
        try store.pool.read { (db: Database) throws in
            #expect(try String.fetchAll(db, sql: "PRAGMA integrity_check") == ["ok"])
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
        }
        #expect(try store.checkBalances().unbalanced.isEmpty)
        #expect(try store.reconcile(accounts: AccountPlan()).agrees)
    }

    /// No posting statement is compiled again as documents of every kind are written one after
    /// another: a partial index whose condition hangs on a bound value would make SQLite do so
    /// at every new binding.
    @Test func writingPostingsCompilesNoStatementAgain() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        try store.pool.write { (db: Database) throws in
            let writer = try PostingWriter(db)
            var credit = sampleInvoice(number: "K-1", type: .creditNote, net: [100])
            credit.billingReferences = ["F-1"]
            var early = sampleInvoice(number: "K-2", type: .creditNote, net: [100])
            early.billingReferences = ["F-3", "F-4"]
            var correction = sampleInvoice(number: "N-1", net: [-100])
            correction.billingReferences = ["F-4"]
            for (index, item) in [
                try incoming(sampleInvoice(number: "F-1"), sha: "b1"),
                try incoming(credit, sha: "b2"),
                try incoming(sampleInvoice(number: "F-2"), sha: "b3"),
                try incoming(early, sha: "b4"),
                try incoming(sampleInvoice(number: "F-3"), sha: "b5"),
                try incoming(sampleInvoice(number: "S-1", seller: us, buyer: supplier), sha: "b6", direction: .sale),
                try incoming(sampleInvoice(number: "F-1", net: [3]), sha: "b7"),
                try incoming(sampleInvoice(number: "S-2", seller: us, buyer: supplier), sha: "b8", direction: .sale),
                try incoming(correction, sha: "b9"),
                try incoming(sampleInvoice(number: "F-4"), sha: "b10"),
            ].enumerated() {
                _ = try writer.write(item, now: "t\(index)")
            }
            #expect(
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM vendor_credit_applications") == 3,
                "both credit notes and the correction applied")
            #expect(writer.recompilations == 0)
        }
    }

    @Test func writingAPostingBuildsNoTemporaryTable() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite")
        try store.pool.write { (db: Database) throws in
            for (table, _) in Schema.valueChecks {
                let columns = try db.columns(in: table).map(\.name).filter { $0 != "id" }
                let sql =
                    "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES (\(columns.map { _ in "?" }.joined(separator: ", ")))"
                let opcodes = try Row.fetchAll(
                    db, sql: "EXPLAIN " + sql,
                    arguments: StatementArguments(columns.map { _ in DatabaseValue.null })
                ).map { $0["opcode"] as String }
                #expect(!opcodes.isEmpty)
                let temporaryTables = opcodes.filter { $0 == "OpenEphemeral" }.count
                #expect(temporaryTables == 0, "\(table): \(sql)")
            }
        }
    }

    @Test func theRewrittenChecksStillRefuseOtherValues() throws {
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        _ = try store.write(
            [
                try incoming(sampleInvoice(number: "F-1"), sha: "a1"),
                try incoming(sampleInvoice(number: "S-1", seller: us, buyer: supplier), sha: "a2", direction: .sale),
            ], now: "t")
        try store.pool.write { (db: Database) throws in
            for (table, checks) in Schema.valueChecks {
                for check in checks {
                    // Every allowed value passes the CHECK, anything else is refused.
                    let values = check.values + ["Posted", "", "unknown"]
                    for value in values {
                        let allowed = check.values.contains(value)
                        do {
                            try db.inSavepoint {
                                try db.execute(
                                    sql:
                                        "UPDATE \(table) SET \(check.column) = ? WHERE id = (SELECT MIN(id) FROM \(table))",
                                    arguments: [value])
                                return .rollback
                            }
                            #expect(allowed, "\(table).\(check.column) took \(value)")
                        } catch let error as DatabaseError {
                            #expect(!allowed, "\(table).\(check.column) refused \(value): \(error)")
                            #expect(error.extendedResultCode == .SQLITE_CONSTRAINT_CHECK)
                        }
                    }
                }
            }
        }
    }

    /// Books written before migration 005 keyed a supplier without a legal registration by its
    /// endpoint; the migration keys it by the org number in its VAT number. A row split off
    /// that way joins the row under the org number, with its invoices and sub-ledger entries,
    /// unless both hold the same document number.
    @Test func partiesAreKeyedAgainByTheirOrgNumber() throws {
        let dir = TemporaryDirectory()
        let (path, queue) = try Self.olderBooks(in: dir, upTo: "004_value_checks_as_comparisons")
        try queue.write { db in
            let insert = """
                INSERT INTO suppliers (key, name, org_number, vat_number, endpoint_id, created_at)
                VALUES (?, ?, ?, ?, ?, 't')
                """
            func invoice(_ supplier: Int64, _ number: String) throws {
                try db.execute(
                    sql: """
                        INSERT INTO vendor_invoices (supplier_id, number, document_type, issue_date, currency, net_minor,
                            tax_minor, total_minor, payable_minor, status, origin, created_at)
                        VALUES (?, ?, 'invoice', '2026-01-01', 'NOK', 100, 25, 125, 125, 'open', 'ehf', 't')
                        """, arguments: [supplier, number])
                let invoiceID = db.lastInsertedRowID
                try db.execute(
                    sql:
                        "INSERT INTO journal_entries (date, source, description, created_at) VALUES ('2026-01-01', 'ehf', 'x', 't')"
                )
                try db.execute(
                    sql: """
                        INSERT INTO supplier_ledger (supplier_id, invoice_id, journal_entry_id, entry_type, date,
                            amount_minor, currency, created_at)
                        VALUES (?, ?, ?, 'invoice', '2026-01-01', 125, 'NOK', 't')
                        """, arguments: [supplier, invoiceID, db.lastInsertedRowID])
            }
            // 1: keyed by its GLN; its VAT number holds org number 123456785.
            try db.execute(sql: insert, arguments: ["1238764941386", "Sales", nil, "NO123456785MVA", "1238764941386"])
            // 2: keyed by its org number already.
            try db.execute(sql: insert, arguments: ["942992343", "Leverandør", "942992343", nil, "942992343"])
            // 3 and 4: one party split by the old key, with different invoices: they join.
            try db.execute(sql: insert, arguments: ["923609016", "Annen", "923609016", nil, nil])
            try db.execute(sql: insert, arguments: ["7080001234567", "Annen", nil, "NO923609016MVA", "7080001234567"])
            try invoice(3, "A-1")
            try invoice(4, "A-2")
            // 5 and 6: split, both holding number B-1: they stay apart.
            try db.execute(sql: insert, arguments: ["974760673", "Tredje", "974760673", nil, nil])
            try db.execute(sql: insert, arguments: ["7080007777777", "Tredje", nil, "NO974760673MVA", "7080007777777"])
            try invoice(5, "B-1")
            try invoice(6, "B-1")
            // 7: a foreign VAT number stays behind the endpoint.
            try db.execute(sql: insert, arguments: ["5567321707", "Dem AB", nil, "SE556732170701", "5567321707"])
            try db.execute(
                sql:
                    "INSERT INTO customers (key, name, org_number, vat_number, endpoint_id, created_at) VALUES (?, ?, ?, ?, ?, 't')",
                arguments: ["7080009999999", "Kunde", nil, "NO974760673MVA", "7080009999999"])
        }
        try queue.close()
        let store = try LedgerStore(path: path)
        try store.pool.read { (db: Database) throws in
            #expect(
                try String.fetchAll(db, sql: "SELECT key FROM suppliers ORDER BY id") == [
                    "123456785", "942992343", "923609016", "974760673", "7080007777777", "5567321707",
                ])
            #expect(
                try String.fetchAll(
                    db, sql: "SELECT number || '@' || supplier_id FROM vendor_invoices ORDER BY id")
                    == ["A-1@3", "A-2@3", "B-1@5", "B-1@6"])
            #expect(
                try Int64.fetchAll(db, sql: "SELECT supplier_id FROM supplier_ledger ORDER BY id") == [3, 3, 5, 6])
            #expect(try String.fetchAll(db, sql: "SELECT key FROM customers") == ["974760673"])
            #expect(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check").isEmpty)
        }
    }

    /// Rejections the rule before migration 007 counted as settled (a file of the same name
    /// posted later) stay settled; the others stay open.
    @Test func rejectionsSettledBeforeStaySettled() throws {
        let dir = TemporaryDirectory()
        let (path, queue) = try Self.olderBooks(in: dir, upTo: "006_credit_note_applications")
        try queue.write { db in
            let insert = """
                INSERT INTO documents (sha256, original_name, inbox, kind, state, size_bytes, received_at, processed_at)
                VALUES (?, ?, 'ehf', 'ehf_invoice', ?, 1, 't', ?)
                """
            try db.execute(sql: insert, arguments: ["s1", "a.xml", "rejected", "2026-11-01T10:00:00Z"])
            try db.execute(sql: insert, arguments: ["s2", "a.xml", "posted", "2026-11-02T10:00:00Z"])
            try db.execute(sql: insert, arguments: ["s3", "b.xml", "rejected", "2026-11-03T10:00:00Z"])
            try db.execute(sql: insert, arguments: ["s4", "b.xml", "posted", "2026-11-01T10:00:00Z"])
        }
        try queue.close()
        let store = try LedgerStore(path: path)
        try store.pool.read { (db: Database) throws in
            #expect(
                try Row.fetchAll(db, sql: "SELECT sha256, resolved_at FROM documents WHERE state = 'rejected'")
                    .map { "\($0[0] as String) \(($0[1] as String?) ?? "open")" } == [
                        "s1 2026-11-02T10:00:00Z", "s3 open",
                    ])
        }
        #expect(try store.statusPageData(asOf: Day(iso: "2026-11-23")!).openRejections.map(\.name) == ["b.xml"])
    }

    /// Credits posted before migration 008 kept the first invoice they named in
    /// `billing_reference` alone: 008 keeps it where credits are looked up, so that invoice,
    /// when it comes, is still settled. A negative invoice posted after the invoice it names,
    /// which settled nothing then, settles it now. An invoice that names another but owes more
    /// is no credit.
    @Test func creditsPostedBeforeTheReferenceTablesStillSettleTheirInvoice() throws {
        let dir = TemporaryDirectory()
        let (path, queue) = try Self.olderBooks(in: dir, upTo: "007_resolved_problems")
        try queue.write { db in
            try db.execute(
                sql: "INSERT INTO suppliers (id, key, name, created_at) VALUES (1, ?, 'Leverandør AS', 't')",
                arguments: [supplier.key])
            let insert = """
                INSERT INTO vendor_invoices (supplier_id, number, document_type, issue_date, currency, net_minor,
                    tax_minor, total_minor, payable_minor, status, origin, billing_reference, created_at)
                VALUES (1, ?, ?, '2026-10-01', 'NOK', 0, 0, 0, ?, 'open', 'ehf', ?, 't')
                """
            try db.execute(sql: insert, arguments: ["K-1", "credit_note", 5_000, "F-1"])
            try db.execute(sql: insert, arguments: ["N-1", "invoice", -2_000, "F-1"])
            try db.execute(sql: insert, arguments: ["F-9", "invoice", 7_000, "F-1"])
            // A correction sent as a negative invoice after the invoice it names: it settled
            // nothing when posted.
            try db.execute(sql: insert, arguments: ["F-2", "invoice", 7_000, nil])
            try db.execute(sql: insert, arguments: ["N-2", "invoice", -3_000, "F-2"])
        }
        try queue.close()
        let store = try LedgerStore(path: path, durability: .normal)
        #expect(try store.appliedMigrations().contains("008_credit_references"))
        try store.pool.read { (db: Database) throws in
            #expect(
                try Row.fetchAll(db, sql: "SELECT credit_id, reference FROM vendor_credit_references ORDER BY 1")
                    .map { "\($0[0] as Int64) \($0[1] as String)" } == ["1 F-1", "2 F-1", "5 F-2"])
            #expect(
                try Row.fetchAll(
                    db, sql: "SELECT credit_note_id, invoice_id, amount_minor FROM vendor_credit_applications"
                )
                .map { "\($0[0] as Int64)>\($0[1] as Int64) \($0[2] as Int64)" } == ["5>4 3000"])
        }
        _ = try store.write([try incoming(sampleInvoice(number: "F-1"), sha: "f1")], now: "t")
        try store.pool.read { (db: Database) throws in
            #expect(
                try String.fetchAll(
                    db,
                    sql:
                        "SELECT number || ' ' || status || ' ' || (payable_minor - amount_paid_minor) FROM vendor_invoices ORDER BY id"
                )
                    == [
                        "K-1 paid 0", "N-1 paid 0", "F-9 open 7000", "F-2 partial 4000", "N-2 paid 0",
                        "F-1 partial 11750",
                    ])
        }
    }
}

internal import CSQLiteSettings
import Foundation
public import GRDB
import LedgerCore
import Synchronization

/// Process-wide SQLite settings, made once before the first connection opens (Swift globals
/// are initialised lazily and exactly once).
private let sqliteConfigured: Bool = {
    ledgerd_sqlite_disable_memory_statistics() == SQLITE_OK
}()

/// The single SQLite file: WAL mode, numbered migrations, and every posting in one
/// transaction with its document row.
public final class LedgerStore: Sendable {
    public let pool: DatabasePool
    private let lockWait: LockWait
    private let damaged = Mutex<String?>(nil)
    /// Set once a write finds migrations this version does not know, applied since the books
    /// were opened (`refuseNewerMigrations`).
    private let newerVersion = Mutex<WrittenByNewerVersion?>(nil)

    /// How long a connection waits for a lock another program holds, read at each try.
    final class LockWait: Sendable {
        static let stepMilliseconds = 10
        let limitMilliseconds = Atomic<Int>(10_000)
    }
    public let path: String
    /// The database file's device and inode when it was opened.
    private let opened: FileIdentity?

    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
    }

    static func identity(of path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
    }

    /// Whether the file at `path` is still the one opened. Deleted (or replaced, as a restore
    /// done while ledgerd runs would), the open connections go on writing into a file no one
    /// will read again: what they post is lost.
    public var isStillTheOpenedFile: Bool {
        guard let opened else { return true }
        return Self.identity(of: path) == opened
    }

    /// What changes whenever anything is committed to the books, by any process: the size and
    /// modification time of the database file and of its write-ahead log, where every commit
    /// lands first. Equal values taken before and after a read say that the read still holds.
    public struct ChangeMark: Sendable, Equatable {
        var database: [Int64]
        var log: [Int64]
    }

    public func changeMark() -> ChangeMark {
        func mark(_ path: String) -> [Int64] {
            var st = stat()
            guard stat(path, &st) == 0 else { return [] }
            return [Int64(st.st_size), Int64(st.st_mtim.tv_sec), Int64(st.st_mtim.tv_nsec), Int64(st.st_ino)]
        }
        return ChangeMark(database: mark(path), log: mark(path + "-wal"))
    }

    public enum Durability: Sendable {
        /// `synchronous = FULL`: a commit survives power loss once it returns.
        case full
        /// `synchronous = NORMAL`: survives a process crash, not a power cut (tests only).
        case normal
    }

    public init(path: String, durability: Durability = .full, readonly: Bool = false) throws {
        _ = sqliteConfigured
        var configuration = Configuration()
        configuration.readonly = readonly
        configuration.foreignKeysEnabled = true
        let lockWait = LockWait()
        self.lockWait = lockWait
        // Waits up to ten seconds for a lock another program holds, as SQLite's own timeout
        // would; written as a callback because that timeout cannot be shortened while a
        // transaction waits on it, and a stopping daemon must shorten it (`shortenLockWaits`).
        configuration.busyMode = .callback { tries in
            guard tries * LockWait.stepMilliseconds < lockWait.limitMilliseconds.load(ordering: .relaxed) else {
                return false
            }
            usleep(UInt32(LockWait.stepMilliseconds * 1_000))
            return true
        }
        configuration.label = "ledgerd"
        configuration.prepareDatabase { db in
            // A group commit touches index pages all over the file (SHA-256 keys are random);
            // with SQLite's default 2 MB cache those pages spill to the WAL again and again
            // inside one transaction. 8 MB keeps a batch's pages in memory until the commit:
            // ingesting 10,000 invoices into a database of 40,000 writes the same 62,590 WAL
            // pages with 4, 8 or 16 MB, and reads 2 % more pages than 16 MB (4 MB: 28 % more),
            // while peak memory stays at 54–56 MiB instead of 64–66 MiB.
            try db.execute(sql: "PRAGMA cache_size = -8192")
            // Each document's savepoint keeps a statement journal of the pages it changes;
            // in memory, not in a temporary file written page by page.
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            // How a search for a file compares names (`findDocuments`).
            db.add(function: Self.nameKeyFunction)
        }
        self.path = path
        // New books opened by two processes at once: the one that does not turn the file to
        // WAL first may find it busy doing so.
        self.pool = try Self.retryingWhenBusy { try DatabasePool(path: path, configuration: configuration) }
        opened = Self.identity(of: path)
        // Books a newer ledgerd wrote (one installed, run, then rolled back) hold tables and
        // columns this version does not keep up: posting into them would leave out what the
        // newer one keeps for every document, and reading them may misread what changed.
        // Asked of the writer connection when there is one, open already (see `migrate`).
        let unknown =
            try readonly ? pool.read(Self.unknownMigrations) : pool.writeWithoutTransaction(Self.unknownMigrations)
        if !unknown.isEmpty { throw WrittenByNewerVersion(unknownMigrations: unknown) }
        if !readonly {
            // Every commit is made by the pool's one writer connection. GRDB sets that
            // connection to `synchronous = NORMAL` when it turns WAL on, after
            // `prepareDatabase` has run, and NORMAL syncs the WAL only at checkpoints: a commit
            // would return, and its files be moved to the archive, before it was on disk. So
            // the durability asked for is set on the writer here, after GRDB's own setup.
            try pool.writeWithoutTransaction { db in
                try db.execute(sql: durability == .full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
            }
            try Self.migrate(pool)
        }
    }

    /// Opens new books, made by two processes at once (the daemon and an `ingest`): the one
    /// that does not turn the file to WAL first may find it busy doing so, and tries again.
    static func retryingWhenBusy<T>(_ body: () throws -> T) throws -> T {
        var attempt = 0
        while true {
            do {
                return try body()
            } catch let error as DatabaseError where attempt < 4 && isBusy(error) {
                attempt += 1
                usleep(UInt32(attempt) * 100_000)
            }
        }
    }

    /// How many migrations this version has (`Schema.migrator` is made anew at each use).
    static let knownMigrationCount = Schema.migrator.migrations.count

    static func unknownMigrations(_ db: Database) throws -> [String] {
        try Schema.migrator.appliedIdentifiers(db).subtracting(Schema.migrator.migrations).sorted()
    }

    /// Throws, before anything is written, when migrations this version does not know were
    /// applied since the books were opened: a newer ledgerd, installed while this one runs,
    /// migrated them (`ledgerd status` run by the service's user does). Posting on would
    /// leave out of every document what the newer version keeps, as books opened after a
    /// rollback would (refused at opening).
    func refuseNewerMigrations(_ db: Database) throws {
        if let refused = try newerMigrations(db) { throw refused }
    }

    /// The migrations this version does not know, applied since the books were opened, if
    /// there are: remembered (`writtenByNewerVersion`) once found. One count of a table of a
    /// few rows while there are none.
    func newerMigrations(_ db: Database) throws -> WrittenByNewerVersion? {
        if let found = newerVersion.withLock({ $0 }) { return found }
        let applied = try Int.fetchOne(db, sql: "SELECT count(*) FROM grdb_migrations") ?? 0
        guard applied != Self.knownMigrationCount else { return nil }
        let unknown = try Self.unknownMigrations(db)
        guard !unknown.isEmpty else { return nil }
        let found = WrittenByNewerVersion(unknownMigrations: unknown)
        newerVersion.withLock { $0 = $0 ?? found }
        return found
    }

    /// The migrations of a newer ledgerd, applied to the books while this one had them open,
    /// once a write has found them; nil while none has. Nothing more is posted: the newer
    /// version must run instead (a restart of the service starts it).
    public var writtenByNewerVersion: WrittenByNewerVersion? { newerVersion.withLock { $0 } }

    static func isBusy(_ error: DatabaseError) -> Bool { [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) }

    /// Applies the migrations not applied yet. Another process may be applying them at the
    /// same moment (the daemon and an `ingest` on new books, or both after an upgrade): this
    /// one then fails on what the other made, its transaction rolled back, or finds the file
    /// busy, and tries again once migrations were applied meanwhile. A failure with no
    /// progress made by anyone (a full disk, a damaged file) is thrown.
    static func migrate(_ pool: DatabasePool) throws {
        // Asked of the writer connection, which is open already: a read would open a reader
        // connection at every start, for nothing.
        func applied() -> Set<String>? {
            try? pool.writeWithoutTransaction { try Schema.migrator.appliedIdentifiers($0) }
        }
        var attempt = 0
        while true {
            let before = applied()
            do {
                try Schema.migrator.migrate(pool)
                return
            } catch let error as DatabaseError where attempt < 4 && (isBusy(error) || applied() != before) {
                attempt += 1
                usleep(UInt32(attempt) * 100_000)
            }
        }
    }

    /// Copies all the WAL holds into the database file and empties the WAL. SQLite does so
    /// itself only when the last connection closes, which a daemon stopping does not wait
    /// for: run when it stops, so the database file alone (copied after `systemctl stop`)
    /// holds the whole books. Waits for a reader in another process (`ledgerd status`) up to
    /// the busy timeout; throws when one is still reading.
    public func checkpointIntoDatabaseFile() throws {
        try pool.writeWithoutTransaction { db in
            let (walFrames, copied) = try db.checkpoint(.truncate)
            if walFrames > 0, copied < walFrames {
                throw DatabaseError(
                    resultCode: .SQLITE_BUSY, message: "\(walFrames - copied) pages are still in the WAL")
            }
        }
    }

    /// Waits at most `milliseconds` for a lock another program holds on the database, from
    /// now on and in the waits under way, instead of the ten seconds a posting may wait. For
    /// a daemon that is stopping: the batch in hand, and the state and audit lines it writes
    /// last, must not hold up the stop for ten seconds each, one after another.
    public func shortenLockWaits(milliseconds: Int) {
        lockWait.limitMilliseconds.store(milliseconds, ordering: .relaxed)
    }

    /// What SQLite's quick check (`PRAGMA quick_check`: every page and record well formed,
    /// without comparing indexes with their tables) finds wrong with the file, at most
    /// `limit` lines; empty when nothing is. About 30 ms for 10,000 documents.
    /// A check that cannot read the file for its damage says so.
    public func damageFound(limit: Int = 3) throws -> [String] {
        do {
            return try pool.read { db in
                // A row may hold several lines, the heading ("*** in database main ***", which
                // says nothing to whoever reads it) and what was found beneath it.
                let lines = try String.fetchAll(db, sql: "PRAGMA quick_check(\(limit))")
                    .flatMap { $0.split(separator: "\n").map(String.init) }
                    .filter { !$0.hasPrefix("*** ") }
                return lines == ["ok"] ? [] : Array(lines.prefix(limit))
            }
        } catch let error as DatabaseError where error.meansDamagedFile {
            return [error.message ?? "\(error.resultCode)"]
        }
    }

    /// The books hold migrations this version does not have: a newer ledgerd wrote them.
    public struct WrittenByNewerVersion: Error, CustomStringConvertible, Sendable {
        public let unknownMigrations: [String]
        public var description: String {
            "the books were written by a newer ledgerd (changes unknown here: \(unknownMigrations.joined(separator: ", ")))"
        }
    }

    /// Names of the applied migrations, oldest first.
    public func appliedMigrations() throws -> [String] {
        try pool.read { db in try Schema.migrator.appliedMigrations(db) }
    }

    /// Whether these books lack migrations this version has: opened read-only, they are read
    /// as an older version left them, and queries of what came since fail.
    public func isOlderThanThisVersion() throws -> Bool {
        try pool.read { db in try !Schema.migrator.hasCompletedMigrations(db) }
    }

    // MARK: - Writing

    /// Writes a batch of prepared documents in ONE transaction (group commit: one durable
    /// sync for the whole batch). A document is wholly written or not at all: if one cannot
    /// be stored, the transaction is rolled back and the batch written again with a
    /// savepoint per document, so that document is recorded as rejected and the others are
    /// posted. Throws only for failures of the database itself (disk full, I/O), in which
    /// case nothing of the batch was committed.
    public func write(_ batch: [IncomingDocument], now: String) throws -> [WriteOutcome] {
        do {
            do {
                // The common case: every document stores cleanly, and no savepoints are needed.
                return try postingTransaction { db in
                    try refuseNewerMigrations(db)
                    let writer = try PostingWriter(db)
                    return try batch.map { try writer.write($0, now: now) }
                }
            } catch let error as DatabaseError where !Self.isTransient(error) {
                // Some document cannot be stored; nothing was committed. Again, each document in
                // its own savepoint, so that one is recorded as rejected and the others are posted.
                return try writeIsolated(batch, now: now)
            }
        } catch let error as DatabaseError where error.meansDamagedFile {
            damaged.withLock { $0 = $0 ?? (error.message ?? "\(error.resultCode)") }
            throw error
        }
    }

    /// SQLite's words when a write found the database file damaged (a file copied over it
    /// while it was open, most often, mixed with the write-ahead log of the one it replaced);
    /// nil while none has. Trying again cannot mend it: whoever keeps the books must restore it.
    public var damage: String? { damaged.withLock { $0 } }

    func writeIsolated(_ batch: [IncomingDocument], now: String) throws -> [WriteOutcome] {
        try postingTransaction { db in
            try refuseNewerMigrations(db)
            let writer = try PostingWriter(db)
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(batch.count)
            for item in batch {
                // Party ids cached by a rolled-back document are forgotten with it.
                let suppliers = writer.suppliers
                let customers = writer.customers
                do {
                    outcomes.append(try writer.inSavepoint { try writer.write(item, now: now) })
                } catch let error as DatabaseError where !Self.isTransient(error) {
                    writer.suppliers = suppliers
                    writer.customers = customers
                    var rejected = item
                    rejected.content = .rejected(
                        Rejection(
                            "STORE", "The document could not be stored: \(error.message ?? "\(error.resultCode)")."))
                    outcomes.append(try writer.inSavepoint { try writer.write(rejected, now: now) })
                }
            }
            return outcomes
        }
    }

    /// One transaction of the writer connection for posting documents, with SQLite's
    /// foreign-key enforcement off while it runs and on again after it.
    ///
    /// Why off: every reference a posting writes is to a row the same transaction has just
    /// written or found (its document, entry, invoice, party, the invoice a credit note
    /// settles), so the check can never fail there, and it is not free: SQLite looks up the
    /// parent row of each of the fifteen or so references a document writes, about 23,000
    /// instructions a document, 8 % of what the writer does (callgrind). Every other write
    /// keeps the check. The tests that post the corpus, and the benchmark's books, run
    /// `PRAGMA foreign_key_check` over the whole database afterwards.
    func postingTransaction<T>(_ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA foreign_keys = OFF")
            let result = Result<T, any Error> {
                var value: T?
                try db.inTransaction {
                    value = try body(db)
                    return .commit
                }
                return value!
            }
            // Outside any transaction (committed or rolled back above), where the pragma applies.
            try db.execute(sql: "PRAGMA foreign_keys = ON")
            return try result.get()
        }
    }

    /// Failures of the database itself rather than of one document's content.
    static func isTransient(_ error: DatabaseError) -> Bool {
        switch error.resultCode {
        case .SQLITE_FULL, .SQLITE_IOERR, .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_NOMEM, .SQLITE_CANTOPEN,
            .SQLITE_READONLY,
            .SQLITE_PROTOCOL, .SQLITE_INTERRUPT, .SQLITE_CORRUPT, .SQLITE_NOTADB:
            return true
        default:
            return false
        }
    }
}

extension LedgerStore {
    /// Why the books at `path` could not be written, in words whoever runs ledgerd can act
    /// on, with SQLite's own words after them (without the statement, which says nothing to
    /// that reader); nil for failures SQLite has no better words for than its own.
    public static func writeFailureCause(_ error: any Error, path: String?) -> String? {
        guard let error = error as? DatabaseError else { return nil }
        let database = path.map { "the ledger database \($0)" } ?? "the ledger database"
        // SQLite says "disk I/O error" when a full disk refuses its -wal or -shm file room.
        let full =
            error.resultCode == .SQLITE_FULL
            || (error.resultCode == .SQLITE_IOERR && path.map(diskIsFull(holding:)) == true)
        let cause: String
        switch error.resultCode {
        case _ where full:
            cause = "the disk that holds \(database) is full: free space on it"
        case .SQLITE_IOERR:
            cause = "the disk that holds \(database) failed to read or write: the system log says why"
        case .SQLITE_READONLY:
            cause =
                "\(database) may not be written: its disk is mounted read-only, or the file or its folder no longer "
                + "belongs to the user ledgerd runs as"
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            cause =
                "another program held \(database) for longer than ledgerd waits for it (a backup tool, or a "
                + "report left open)"
        case .SQLITE_CORRUPT, .SQLITE_NOTADB:
            cause = "\(database) is damaged: restore the books from a backup (README, Back up and restore)"
        default:
            return nil
        }
        return "\(cause) \(sqliteWords(error))"
    }

    /// `writeFailureCause`, or the failure as it is said where there is no better word for it.
    public static func writeFailure(_ error: any Error, path: String?) -> String {
        writeFailureCause(error, path: path) ?? "\(error)"
    }

    /// SQLite's own words for `error`, in parentheses.
    public static func sqliteWords(_ error: DatabaseError) -> String {
        "(SQLite error \(error.resultCode.rawValue): \(error.message ?? "no message"))"
    }

    /// `writeFailure` for these books.
    public func writeFailure(_ error: any Error) -> String { Self.writeFailure(error, path: path) }

    /// Whether the file system that holds `path` has no room left for this user (root may
    /// write into the blocks reserved for it).
    public static func diskIsFull(holding path: String) -> Bool {
        let folder = (path as NSString).deletingLastPathComponent
        var disk = statvfs()
        guard statvfs(folder.isEmpty ? "." : folder, &disk) == 0 else { return false }
        return geteuid() == 0 ? disk.f_bfree == 0 : disk.f_bavail == 0
    }
}

extension DatabaseError {
    /// Whether SQLite found the database file damaged (or not a database at all): trying again
    /// cannot mend it; the books must be restored.
    public var meansDamagedFile: Bool { resultCode == .SQLITE_CORRUPT || resultCode == .SQLITE_NOTADB }
}

import ArgumentParser
import Foundation
import Ingest
import LedgerConfig
import LedgerCore
import LedgerStore
import Logging

import struct GRDB.DatabaseError

/// Standard error, written with `write(2)`.
///
/// `FileHandle.write` traps when the write fails: with SIGPIPE ignored, as systemd ignores it
/// for services, a log line written after the reading end closed (journald restarted, a
/// `| head` that has read enough) would kill the daemon mid-batch. A line that cannot be
/// written is dropped instead; nothing else depends on it.
enum StandardError {
    /// Whether standard error goes to the journal: systemd sets `JOURNAL_STREAM` to the
    /// device and inode of the stream it connects, and a process that inherited the variable
    /// but writes elsewhere (a shell started from a service) does not match them. Lines to the
    /// journal carry a syslog priority (`<3>`) and no time, which journald adds.
    static let isJournal: Bool = {
        guard let stream = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] else { return false }
        let parts = stream.split(separator: ":")
        guard parts.count == 2, let device = UInt64(parts[0]), let inode = UInt64(parts[1]) else { return false }
        var info = stat()
        guard fstat(2, &info) == 0 else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }()

    /// `text` as an error: to the journal with the priority of one, so that
    /// `journalctl -p err` shows why a start was refused.
    static func writeError(_ text: String) {
        guard isJournal else { return write(text) }
        write(
            text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.isEmpty ? "" : "<3>" + $0 }
                .joined(separator: "\n"))
    }

    static func write(_ text: String) {
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = Glibc.write(2, bytes.baseAddress! + offset, bytes.count - offset)
                if n > 0 {
                    offset += n
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

/// A failure the user can act on: printed as one line on stderr, non-zero exit.
struct UserFacingError: Error, CustomStringConvertible {
    var description: String
    var exitCode: Int32 = 2
    init(_ description: String, exitCode: Int32 = 2) {
        self.description = description
        self.exitCode = exitCode
    }
}

extension CommonOptions {
    func loadConfiguration() throws -> Configuration {
        do {
            return try Configuration.load(path: config)
        } catch {
            throw UserFacingError("ledgerd: \(error)")
        }
    }

    /// As root on books another user keeps (the service's), what a writing command made would
    /// be root's: the rejected folder, an archive month's folder, the lock file, the database's
    /// -wal and -shm. The daemon, running as that user, could then not move files there or
    /// start at all. Called before anything is made.
    func refuseRootOnAnotherUsersBooks(_ configuration: Configuration) throws {
        guard geteuid() == 0 else { return }
        let path = configuration.paths.database
        var st = stat()
        guard stat(path, &st) == 0, st.st_uid != 0 else { return }
        let name = getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(st.st_uid)"
        throw UserFacingError(
            "ledgerd: the ledger database \(path) belongs to \(name); run ledgerd as that user "
                + "(sudo -u \(name) ledgerd …): as root, the folders and files it made would be root's, and "
                + "ledgerd running as \(name) could not use them.",
            exitCode: 1)
    }

    /// Opens the books. `reading` (status, reconcile): where this user cannot write the file or
    /// its folder (an owner looking at the books the service keeps), they are opened read-only.
    func openStore(_ configuration: Configuration, create: Bool = true, reading: Bool = false) throws -> LedgerStore {
        let path = configuration.paths.database
        var found = stat()
        if stat(path, &found) != 0 {
            // Not there, or not reachable: a folder on the way this user may not enter says
            // "permission denied", which is not the same as no books.
            if errno != ENOENT {
                throw UserFacingError(
                    "ledgerd: cannot reach the ledger database \(path): \(String(cString: strerror(errno))). A folder on "
                        + "the way may be closed to this user; run this as the user ledgerd runs as "
                        + "(sudo -u ledgerd ledgerd …).", exitCode: 1)
            }
            if !create {
                throw UserFacingError(
                    "ledgerd: there is no ledger database at \(path): nothing has been posted there yet, or [paths] "
                        + "database points elsewhere. `ledgerd run` and `ledgerd ingest` create it.", exitCode: 1)
            }
            // New books beside an archive of files posted before: a database moved, deleted,
            // or a [paths] database mistyped. Posting into new books then splits the ledger.
            if let archived = ArchiveLayout.firstArchivedFile(in: configuration.paths.archive) {
                throw UserFacingError(
                    "ledgerd: there are no books at \(path), but the archive \(configuration.paths.archive) holds files "
                        + "posted into books before (\(archived)). If the database was moved or deleted, restore it "
                        + "(ledgerd backup makes copies) or point [paths] database at it. To start new books on purpose, "
                        + "move the old archive aside or set [paths] archive to a new folder.", exitCode: 1)
            }
        }
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw UserFacingError(
                "ledgerd: cannot create the folder of the ledger database \(path): \(error)", exitCode: 1)
        }
        // Why this user may not write the books (the file, or its folder where SQLite keeps the
        // -wal and -shm files); 0 when it may. A file not there yet is created in the folder.
        var denied: Int32 = 0
        if access(path, W_OK) != 0, errno != ENOENT {
            denied = errno
        } else if access(folder.isEmpty ? "." : folder, W_OK) != 0 {
            denied = errno
        }
        // SQLite opens a file it may not write read-only without a word, and stays so even once
        // the permission is fixed: posting would fail file after file until a restart.
        if create, denied != 0 {
            throw UserFacingError(
                "ledgerd: the ledger database \(path) cannot be written by this user (\(String(cString: strerror(denied)))); "
                    + "posting needs write access to the file and to its folder, where SQLite keeps its -wal and -shm files.",
                exitCode: 1)
        }
        if create { try refuseRootOnAnotherUsersBooks(configuration) }
        let readOnly = reading && denied != 0
        do {
            let store = try LedgerStore(path: path, readonly: readOnly)
            // Opened read-only, older books are not brought up to date: said as such, rather than
            // as a column missing from what looks like a damaged file.
            if readOnly, try store.isOlderThanThisVersion() {
                throw UserFacingError(
                    "ledgerd: the ledger database \(path) was made by an older ledgerd, and this user may not write "
                        + "it to bring it up to date. ledgerd does so when it next starts (restart the service) or "
                        + "runs `ledgerd ingest` as the user it runs as; then run this again.", exitCode: 1)
            }
            if create { try Self.refuseMissingArchive(configuration, store: store) }
            return store
        } catch let error as UserFacingError {
            throw error
        } catch let error as LedgerStore.WrittenByNewerVersion {
            throw UserFacingError(
                "ledgerd: the ledger database \(path) was written by a newer ledgerd than this one "
                    + "(\(Ledgerd.configuration.version)): it holds changes to the books' layout this version does not "
                    + "know (\(error.unknownMigrations.joined(separator: ", "))). Install that newer ledgerd again, or "
                    + "restore books backed up before it first ran (README, Back up and restore): this one would post "
                    + "into the books without keeping what the newer one keeps. Nothing was changed.",
                exitCode: 1)
        } catch {
            // A WAL database needs its -shm file beside it, which SQLite cannot create in a
            // folder this user may not write: it is there while ledgerd (or another reader) runs.
            if access(path, R_OK) != 0, errno == EACCES {
                throw UserFacingError(
                    "ledgerd: cannot read the ledger database \(path): this user may not read it. Run this as the user "
                        + "ledgerd runs as (sudo -u ledgerd ledgerd …).", exitCode: 1)
            }
            if let error = error as? DatabaseError, error.meansDamagedFile {
                throw UserFacingError(
                    "ledgerd: the database file \(path) is damaged (SQLite: \(error.message ?? "\(error.resultCode)")). "
                        + "Restore the books from a backup (README, Back up and restore).", exitCode: 1)
            }
            // Opening writes too (the -shm file, a migration, the checkpoint of an earlier run's
            // log); SQLite says "disk I/O error" for a disk with no room for its -wal and -shm.
            if (error as? DatabaseError)?.resultCode == .SQLITE_FULL || LedgerStore.diskIsFull(holding: path) {
                throw UserFacingError(
                    "ledgerd: cannot open the ledger database \(path): the disk that holds it is full. Free space on "
                        + "it, then start ledgerd again; files wait in the inbox meanwhile. "
                        + ((error as? DatabaseError).map(LedgerStore.sqliteWords) ?? "(\(error))"), exitCode: 1)
            }
            guard denied != 0 else {
                throw UserFacingError("ledgerd: cannot open the ledger database \(path): \(error)", exitCode: 1)
            }
            if denied == EROFS {
                throw UserFacingError(
                    "ledgerd: cannot read the ledger database \(path): it is on a read-only file system, and SQLite "
                        + "must write a file beside it (its -shm) to read it. Mount it read-write, or copy the database "
                        + "with its -wal file elsewhere and read the copy. (\(error))", exitCode: 1)
            }
            throw UserFacingError(
                "ledgerd: cannot read the ledger database \(path) as this user: SQLite must write a file beside it "
                    + "(its -shm), in a folder this user may not write. Run this while ledgerd runs, or as the user "
                    + "ledgerd runs as (sudo -u ledgerd ledgerd …). (\(error))", exitCode: 1)
        }
    }
}

extension CommonOptions {
    /// The books say files were archived in the configured archive, but there is no such
    /// folder: its disk is not mounted, or it was moved. Posting on would create an empty one
    /// in its place, on whatever disk lies beneath, and nobody would know the originals are
    /// elsewhere (the mirror of the refusal to start new books beside an archive).
    /// An empty folder where the archive was is refused too: it is what a disk's mount point
    /// holds while the disk is not mounted.
    static func refuseMissingArchive(_ configuration: Configuration, store: LedgerStore) throws {
        let archive = configuration.paths.archive
        let state: String
        var st = stat()
        if stat(archive, &st) != 0 {
            guard errno == ENOENT else { return }
            state = "does not exist"
        } else if (try? FileSystem.listDirectory(archive))?.isEmpty == true {
            state = "is empty"
        } else {
            return
        }
        guard let last = try store.lastArchivedPath(inside: archive) else { return }
        throw UserFacingError(
            "ledgerd: the archive \(archive) \(state), but the books have files archived there (the latest "
                + "\(last)). If its disk is not mounted, mount it; if it was moved, point [paths] archive at it. "
                + (state == "is empty"
                    ? "To go on without its files on purpose, make a folder in it (mkdir \(archive)/ehf)."
                    : "To go on without it on purpose, create the folder (mkdir -p \(archive))."),
            exitCode: 1)
    }
}

enum Output {
    /// "1 document", "2 documents"; `many` where the plural is not the word and an s.
    static func count(_ n: Int, _ one: String, _ many: String? = nil) -> String {
        "\(n) " + (n == 1 ? one : many ?? one + "s")
    }

    static func json<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    static func amount(_ minor: Int64, _ currency: String) -> String {
        guard let c = Currency(currency) else { return "\(minor) \(currency) (minor units)" }
        return Money(minor: minor, currency: c).grouped
    }

    /// A time the books keep in UTC (`2026-11-22T18:58:33Z`), as a person here reads it:
    /// `2026-11-22 19:58` in the local time zone. Anything else is shown as it is.
    static func localTime(_ iso: String) -> String {
        guard let date = isoFormatter.date(from: iso) else { return iso }
        return localFormatter.string(from: date)
    }

    // Made once: `status --all` over thousands of problems spent most of its time making them.
    // The command line uses them from one thread.
    nonisolated(unsafe) private static let isoFormatter = ISO8601DateFormatter()
    private static let localFormatter: DateFormatter = {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = .current
        formatter.dateFormat = "yyyy-MM-dd HH:mm"
        return formatter
    }()

    /// A table with two spaces between columns, left-aligned but for the columns in
    /// `rightAligned` (amounts, whose digits then line up).
    static func table(_ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        guard let width = rows.map(\.count).max() else { return "" }
        var widths = [Int](repeating: 0, count: width)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                if rightAligned.contains(i) { return pad + cell }
                return i == row.count - 1 ? cell : cell + pad
            }
            .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}

/// Runs a command's body; a `UserFacingError` becomes one line on stderr and its exit status.
/// With `--json` the same reason is also printed on stdout as a JSON object (`error`,
/// `exit_status`, and `valid: false` where the command reports validity), so a script reading
/// stdout always gets JSON.
func runReportingErrors(
    json: Bool, reportsValidity: Bool = false, unexpectedExitCode: Int32 = 1, _ body: () async throws -> Void
)
    async throws
{
    do {
        do {
            try await body()
        } catch let error as UserFacingError {
            throw error
        } catch let exit as ExitCode {
            throw exit
        } catch let error as DatabaseError {
            // A disk full or read-only, the books held by another program: said as it is.
            if let cause = LedgerStore.writeFailureCause(error, path: nil), !error.meansDamagedFile {
                throw UserFacingError("ledgerd: could not use the books: \(cause)", exitCode: unexpectedExitCode)
            }
            // Its description carries the statement, which says nothing to whoever reads this.
            throw UserFacingError(
                "ledgerd: the ledger database could not be read: SQLite error \(error.resultCode.rawValue): "
                    + "\(error.message ?? "unknown"); is the file damaged, or made by a newer ledgerd?",
                exitCode: unexpectedExitCode)
        } catch {
            // Anything not foreseen (the books damaged, a table missing): said the same way, so
            // a script reading --json still gets JSON, with a status of its own where the
            // command has one for books it cannot read.
            throw UserFacingError("ledgerd: \(error)", exitCode: unexpectedExitCode)
        }
    } catch let error as UserFacingError {
        StandardError.writeError(error.description + "\n")
        if json {
            struct Failure: Encodable {
                var error: String
                var exitStatus: Int32
                var valid: Bool?
            }
            let message =
                error.description.hasPrefix("ledgerd: ")
                ? String(error.description.dropFirst("ledgerd: ".count)) : error.description
            print(
                try Output.json(
                    Failure(error: message, exitStatus: error.exitCode, valid: reportsValidity ? false : nil)))
        }
        throw ExitCode(error.exitCode)
    }
}

func makeLogger(verbose: Bool) -> Logger {
    LoggingSystem.bootstrap { label in
        var handler = OneLineLogHandler(StreamLogHandler.standardError(label: label))
        handler.logLevel = verbose ? .info : .warning
        return handler
    }
    return Logger(label: "ledgerd")
}

/// A log handler whose entries stay one line each, whatever names and values they carry: a
/// file named "a⏎posted: b.xml" must not add a line that looks like ledgerd's own, nor an
/// escape sequence reach the terminal of whoever reads the log (`OneLine`).
struct OneLineLogHandler<Inner: LogHandler>: LogHandler {
    var inner: Inner

    init(_ inner: Inner) { self.inner = inner }

    var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        event.message = "\(OneLine.escaped(event.message.description))"
        event.metadata = event.metadata?.mapValues { .string(OneLine.escaped($0.description)) }
        inner.log(event: event)
    }
}

/// Who ran a command, as the audit log names them: the user (and who became them through sudo)
/// and the command, e.g. `alice as root (ledgerd backup)`.
func commandLineActor(_ command: String) -> String {
    var user = "uid \(geteuid())"
    if let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name {
        user = String(cString: name)
    }
    if let invoker = ProcessInfo.processInfo.environment["SUDO_USER"], !invoker.isEmpty, invoker != user {
        user = "\(invoker) as \(user)"
    }
    return "\(user) (ledgerd \(command))"
}

extension LedgerStore {
    /// Writes `action` to the audit log for a command-line run; a failure to write it is said on
    /// stderr and does not fail the command, whose work is done.
    func recordCommand(_ action: AuditAction, command: String, detail: String) {
        do {
            try audit(action, actor: commandLineActor(command), detail: detail, now: Timestamp.now())
        } catch {
            StandardError.write("ledgerd: could not write to the audit log: \(writeFailure(error))\n")
        }
    }
}

extension PipelineSettings {
    /// Sets aside the file ledgerd last died of a fault reading (`CrashWitness`), and from now
    /// on names the file in hand should it fault again. The name is kept beside the books.
    mutating func witnessFaults(database: String, logger: Logger) {
        let marker = database + ".fault"
        if let culprit = CrashWitness.lastFault(marker: marker) {
            setAside[PathKey(culprit)] = Pipeline.setAsideAfterFault()
            logger.error(
                """
                ledgerd stopped with a fault while reading \(culprit) when it last ran; that file is set aside \
                (rejected, \(Pipeline.faultCode)) so that it cannot stop ledgerd again
                """)
        }
        CrashWitness.install(marker: marker)
    }
}

import ArgumentParser
import Foundation
import GRDB
import Ingest
import LedgerConfig
import LedgerCore
import LedgerStore

extension Ledgerd {
    struct Config: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "config",
            abstract: "Checks a configuration file, or prints a documented example.",
            subcommands: [Check.self, Example.self])

        /// `ledgerd config` alone is a usage error (exit 2), as a missing argument is.
        func run() async throws {
            throw ValidationError("say which: 'ledgerd config check' or 'ledgerd config example'.")
        }

        struct Check: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "check",
                abstract: "Validates the configuration without starting anything (exit 0 valid, 2 not).")

            @OptionGroup var options: CommonOptions

            /// Paths that name the wrong kind of thing, which `ledgerd run` would only find at
            /// start (install.sh gates the service on this check): an inbox, archive or rejected
            /// folder that is a file, a database that is a folder or lies under a file, a token
            /// file that is a folder or empty. What does not exist yet is fine: ledgerd makes
            /// it. Permissions are not judged here: this check often runs as another user than
            /// the service.
            static func checkPathKinds(_ configuration: LedgerConfig.Configuration, source: String) throws {
                let paths = configuration.paths
                for (key, path) in [
                    ("paths.inbox", paths.inbox), ("paths.archive", paths.archive), ("paths.rejected", paths.rejected),
                ] {
                    if let found = FileSystem.followedType(path), found != .directory {
                        throw UserFacingError("ledgerd: \(source): \(key): \(path) is not a folder")
                    }
                }
                if FileSystem.followedType(paths.database) == .directory {
                    throw UserFacingError(
                        "ledgerd: \(source): paths.database: \(paths.database) is a folder; name the database file "
                            + "(such as \(paths.database)/ledger.sqlite)")
                }
                // The nearest folder above the database that exists must be a folder.
                var above = FileSystem.parentDirectory(paths.database)
                while !above.isEmpty, above != "/", FileSystem.followedType(above) == nil {
                    if FileSystem.lstatType(above) == .symlink {
                        throw UserFacingError(
                            "ledgerd: \(source): paths.database: \(above) is a link to something that is not there, "
                                + "so \(paths.database) cannot be made")
                    }
                    above = FileSystem.parentDirectory(above)
                }
                if let found = FileSystem.followedType(above), found != .directory {
                    throw UserFacingError(
                        "ledgerd: \(source): paths.database: \(above) is not a folder, so \(paths.database) cannot be made"
                    )
                }
                // The token file as `ledgerd run` reads it, where this user can: one that is not
                // there or cannot be read here may be the service's systemd credential.
                if let file = configuration.server.tokenFile,
                    FileManager.default.isReadableFile(atPath: file) || FileSystem.followedType(file) == .directory
                {
                    do {
                        _ = try Run.token(configuration)
                    } catch let error as UserFacingError {
                        throw UserFacingError(
                            "ledgerd: \(source): " + error.description.dropFirst("ledgerd: ".count))
                    }
                }
            }

            /// The check runs as root (`sudo ledgerd config check`, install.sh), the service as
            /// the user `ledgerd` (`LEDGERD_SERVICE_USER` names another): a file root may read and
            /// that user may not passes here and stops the service at start. Said when that user
            /// exists and may not read `file`.
            static func serviceUserCannotRead(_ file: String, user name: String = "ledgerd") -> String? {
                guard geteuid() == 0, let entry = getpwnam(name) else { return nil }
                let uid = entry.pointee.pw_uid
                var groups = [gid_t](repeating: 0, count: 64)
                var count = Int32(groups.count)
                if getgrouplist(name, entry.pointee.pw_gid, &groups, &count) < 0 { count = 0 }
                let member = Set(groups.prefix(Int(max(count, 0)))).union([entry.pointee.pw_gid])
                // Its own group, by name, for the advice: `ledgerd`'s is ledgerd, nobody's nogroup.
                let group = getgrgid(entry.pointee.pw_gid).map { String(cString: $0.pointee.gr_name) } ?? name
                func allowed(_ path: String, _ user: mode_t, _ group: mode_t, _ other: mode_t) -> Bool? {
                    var st = stat()
                    guard stat(path, &st) == 0 else { return nil }
                    if st.st_uid == uid { return st.st_mode & user != 0 }
                    if member.contains(st.st_gid) { return st.st_mode & group != 0 }
                    return st.st_mode & other != 0
                }
                let file = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
                var folder = FileSystem.parentDirectory(file)
                while folder.hasPrefix("/") {
                    if allowed(folder, S_IXUSR, S_IXGRP, S_IXOTH) == false {
                        return
                            "the user \(name), whom the service runs as, may not enter \(folder), so it cannot read \(file)"
                    }
                    if folder == "/" { break }
                    folder = FileSystem.parentDirectory(folder)
                }
                guard allowed(file, S_IRUSR, S_IRGRP, S_IROTH) == false else { return nil }
                return "the user \(name), whom the service runs as, may not read \(file): `ledgerd run` would stop at "
                    + "start (try: chgrp \(group) \(file); chmod 0640 \(file))"
            }

            static let noIdentifiers =
                "no identifiers: every invoice will be rejected until [company] org_number (or identifiers) is set"

            static func unreadableToken(_ file: String) -> String {
                "\(file) cannot be read here; fine if it is the service's systemd credential, but `ledgerd run` "
                    + "started by hand needs a file it can read"
            }

            func run() async throws {
                try await runReportingErrors(json: options.json, reportsValidity: true) {
                    let configuration = try options.loadConfiguration()
                    let source = options.config ?? "built-in defaults"
                    try Self.checkPathKinds(configuration, source: source)
                    let serviceUser = ProcessInfo.processInfo.environment["LEDGERD_SERVICE_USER"] ?? "ledgerd"
                    let warnings =
                        options.config.flatMap { Self.serviceUserCannotRead($0, user: serviceUser) }.map { [$0] } ?? []
                    for warning in warnings { StandardError.write("ledgerd: warning: \(warning)\n") }
                    if options.json {
                        // What the text says beside its lines, a script reads here.
                        var noted = warnings
                        if configuration.companyIdentity.identifiers.isEmpty {
                            noted.append(Self.noIdentifiers)
                        }
                        if let file = configuration.server.tokenFile, !FileManager.default.isReadableFile(atPath: file)
                        {
                            noted.append(Self.unreadableToken(file))
                        }
                        struct Result: Encodable {
                            var valid = true
                            var source: String
                            var inbox, database, archive, rejected, listen: String
                            var identifiers: [String]
                            var warnings: [String]
                        }
                        print(
                            try Output.json(
                                Result(
                                    source: source, inbox: configuration.paths.inbox,
                                    database: configuration.paths.database, archive: configuration.paths.archive,
                                    rejected: configuration.paths.rejected, listen: configuration.server.listen,
                                    identifiers: configuration.companyIdentity.identifiers, warnings: noted)))
                        return
                    }
                    let identifiers = configuration.companyIdentity.identifiers
                    print("\(source): valid")
                    print(
                        "  company   \(configuration.company.name.isEmpty ? "(no name)" : configuration.company.name)"
                            + (identifiers.isEmpty
                                ? " — \(Self.noIdentifiers)"
                                : " (\(identifiers.joined(separator: ", ")))"))
                    print("  inbox     \(configuration.paths.inbox)")
                    print("  database  \(configuration.paths.database)")
                    print("  archive   \(configuration.paths.archive)")
                    print("  rejected  \(configuration.paths.rejected)")
                    print("  listen    \(configuration.server.listen)")
                    print("  watch     \(configuration.watch.mode.rawValue)")
                    if let file = configuration.server.tokenFile, !FileManager.default.isReadableFile(atPath: file) {
                        // Not an error: a systemd credential exists only inside the running service.
                        print("  token     \(Self.unreadableToken(file))")
                    }
                }
            }
        }

        struct Example: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "example",
                abstract: "Prints an example configuration with every key documented.")

            func run() async throws {
                let text = LedgerConfig.Configuration.exampleTOML
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
            }
        }
    }

    struct Backup: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "backup",
            abstract: "Copies the ledger database to FILE while ledgerd keeps running (SQLite online backup).",
            discussion: """
                The copy is consistent (one moment in time, even during a burst), written under a temporary \
                name, synced, checked (integrity and balanced entries), and only then given its name. An \
                existing FILE is never overwritten.
                """)

        @OptionGroup var options: CommonOptions

        @Argument(help: ArgumentHelp("Where to write the copy.", valueName: "FILE"))
        var file: String

        func run() async throws {
            try await runReportingErrors(json: options.json) {
                let configuration = try options.loadConfiguration()
                let store = try options.openStore(configuration, create: false)
                let target = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
                if FileManager.default.fileExists(atPath: target) {
                    throw UserFacingError(
                        "ledgerd: \(target) already exists; choose a new name (backups never overwrite).", exitCode: 1)
                }
                var isFolder: ObjCBool = false
                let folder = (target as NSString).deletingLastPathComponent
                guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder), isFolder.boolValue else {
                    throw UserFacingError(
                        "ledgerd: the folder \(folder) does not exist; create it, or name a file in a folder that does.",
                        exitCode: 1)
                }
                let temporary = target + ".partial"
                try? FileManager.default.removeItem(atPath: temporary)
                // The books are no one else's to read, whoever makes the copy: it is made 0600 from
                // the start (SQLite keeps the mode of a file it is given, and gives it its journal).
                let made = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                guard made >= 0 else {
                    throw UserFacingError(
                        "ledgerd: cannot write \(temporary): \(String(cString: strerror(errno)))", exitCode: 1)
                }
                close(made)
                /// A copy that failed is not left behind (a nightly backup would pile them up).
                func discardPartial() {
                    for suffix in ["", "-journal", "-wal", "-shm"] {
                        try? FileManager.default.removeItem(atPath: temporary + suffix)
                    }
                }
                do {
                    let copy = try DatabaseQueue(path: temporary)
                    try store.pool.backup(to: copy)
                    let integrity = try copy.read { db in try String.fetchOne(db, sql: "PRAGMA integrity_check") }
                    guard integrity == "ok" else {
                        throw UserFacingError(
                            "ledgerd: the copy failed its integrity check: \(integrity ?? "?")", exitCode: 1)
                    }
                    // A standalone file: no -wal/-shm beside it.
                    try copy.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
                    try copy.close()
                    let fd = open(temporary, O_RDONLY)
                    if fd >= 0 {
                        fsync(fd)
                        close(fd)
                    }
                    guard rename(temporary, target) == 0 else {
                        throw UserFacingError(
                            "ledgerd: cannot name the copy \(target): \(String(cString: strerror(errno)))", exitCode: 1)
                    }
                } catch let error as UserFacingError {
                    discardPartial()
                    throw error
                } catch let error as DatabaseError where error.resultCode == .SQLITE_FULL {
                    discardPartial()
                    throw UserFacingError(
                        "ledgerd: backup failed: the disk holding \(folder) is full; no copy was written. Free some space "
                            + "there, or name a file on another disk.", exitCode: 1)
                } catch {
                    discardPartial()
                    throw UserFacingError("ledgerd: backup failed: \(error)", exitCode: 1)
                }
                let check = try LedgerStore(path: target, readonly: true)
                let balances = try check.checkBalances()
                let documents = try check.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM documents") ?? 0
                }
                store.recordCommand(
                    .backup, command: "backup",
                    detail: "copy written to \(target): \(Output.count(documents, "document")), "
                        + Output.count(balances.entries, "journal entry", "journal entries")
                        + (balances.unbalanced.isEmpty ? ", all balanced" : ", \(balances.unbalanced.count) unbalanced")
                )
                if options.json {
                    struct Result: Encodable {
                        var file: String
                        var documents: Int
                        var entries: Int
                        var unbalanced: Int
                    }
                    print(
                        try Output.json(
                            Result(
                                file: target, documents: documents, entries: balances.entries,
                                unbalanced: balances.unbalanced.count)))
                } else {
                    print(
                        "Backed up to \(target): \(Output.count(documents, "document")), "
                            + Output.count(balances.entries, "journal entry", "journal entries")
                            + (balances.unbalanced.isEmpty
                                ? ", all balanced." : ", \(balances.unbalanced.count) UNBALANCED."))
                }
                // The copy is made and kept; exit 1 says that the books it holds need looking at.
                if !balances.unbalanced.isEmpty { throw ExitCode(1) }
            }
        }
    }

    struct Done: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "done",
            abstract: "Marks what postings left to do by hand as done, so the lists of notes leave them out.",
            discussion: """
                DOCUMENT is the number `ledgerd status` and the status page show before the file's name \
                (#12, or 12). Who said so and when is kept in the audit log; the note itself stays with the \
                document. Exits 0, or 1 when a DOCUMENT has no note still open.
                """)

        @OptionGroup var options: CommonOptions

        @Argument(help: ArgumentHelp("The documents whose notes were acted on.", valueName: "DOCUMENT"))
        var documents: [String]

        /// `#12` or `12` as a document number.
        static func number(_ text: String) -> Int64? { Int64(text.hasPrefix("#") ? text.dropFirst() : text[...]) }

        func validate() throws {
            for document in documents where Self.number(document) == nil {
                throw ValidationError("\(document) is not a document number (as #12 or 12).")
            }
        }

        func run() async throws {
            try await runReportingErrors(json: options.json) {
                let configuration = try options.loadConfiguration()
                let store = try options.openStore(configuration, create: false)
                var done: [StatusReport.NotedDocument] = []
                var notOpen: [Int64] = []
                // Each is a number: `validate` said so before `run`.
                for id in documents.compactMap(Self.number) {
                    if let marked = try store.markNoteDone(
                        documentID: id, actor: commandLineActor("done"), now: Timestamp.now())
                    {
                        done.append(marked)
                    } else {
                        notOpen.append(id)
                    }
                }
                if options.json {
                    struct Result: Encodable {
                        var done: [StatusReport.NotedDocument]
                        var notOpen: [Int64]
                    }
                    print(try Output.json(Result(done: done, notOpen: notOpen)))
                } else {
                    for document in done { print(OneLine.escaped("done: #\(document.id) \(document.name)")) }
                    for id in notOpen {
                        print("#\(id) has no note still open (no such document, none left to do, or done already)")
                    }
                }
                if !notOpen.isEmpty { throw ExitCode(1) }
            }
        }
    }
}

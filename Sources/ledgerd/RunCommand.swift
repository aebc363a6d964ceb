import ArgumentParser
import Daemon
import Foundation
import Ingest
import LedgerConfig
import LedgerCore
import LedgerStore
import Logging
import ServiceLifecycle
import StatusServer
import Synchronization

extension Ledgerd {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "run",
            abstract: "Runs the daemon: watches the inbox folders and posts what lands there.",
            discussion: """
                Runs in the foreground (systemd supervises it) and logs one line per file to stderr. \
                SIGTERM or SIGINT finishes the batch in hand, commits it, and exits 0. Files already in \
                the inbox are taken at start; the inbox is rescanned every [watch] rescan_interval, and \
                in [watch] mode = "poll" it is only scanned, every poll_interval.
                """)

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "Log at debug level.")
        var debug = false

        func run() async throws {
            // A SIGHUP (a rescan, once running) during the start, before the daemon listens
            // for it, would end the process the way systemd's Restart=on-failure does not
            // restart. The start scans the inboxes anyway.
            signal(SIGHUP, SIG_IGN)
            try await runReportingErrors(json: options.json) {
                let configuration = try options.loadConfiguration()
                // Before anything is created or written: without its token, the page's files,
                // or with a daemon on the same books already, ledgerd stops here.
                let token = try Self.token(configuration)
                guard let webRoot = StatusServerSettings.locateWebRoot() else {
                    throw UserFacingError(
                        "ledgerd: the status page's files (Web/ with index.html) are in none of: "
                            + StatusServerSettings.webRootCandidates().joined(separator: ", ")
                            + ". Install them (scripts/install.sh) or start ledgerd in its source folder.",
                        exitCode: 1)
                }
                try options.refuseRootOnAnotherUsersBooks(configuration)
                let lock: DaemonLock
                do {
                    try FileManager.default.createDirectory(
                        atPath: FileSystem.parentDirectory(configuration.paths.database),
                        withIntermediateDirectories: true)
                    lock = try DaemonLock(database: configuration.paths.database)
                } catch {
                    throw UserFacingError("ledgerd: \(error)", exitCode: 1)
                }
                defer { withExtendedLifetime(lock) {} }
                let logger = makeDaemonLogger(debug: debug)
                // What a sysadmin reading the log first wants: which ledgerd, with which files.
                let cwd = FileManager.default.currentDirectoryPath
                let file: String =
                    options.config.map { $0.hasPrefix("/") ? $0 : cwd + "/" + $0 } ?? "none (built-in defaults)"
                let version: String = Ledgerd.configuration.version
                logger.info(
                    "ledgerd \(version) starting: configuration \(file), books \(configuration.paths.database), archive \(configuration.paths.archive)"
                )
                if configuration.companyIdentity.identifiers.isEmpty {
                    logger.warning(
                        "no [company] org_number or identifiers configured: ledgerd cannot tell purchases from sales, so every invoice will be rejected (COMPANY-NOT-CONFIGURED) until they are set"
                    )
                }
                _ = LedgerMetrics.bootstrap()
                for inbox in InboxScanner.inboxes {
                    try? FileManager.default.createDirectory(
                        atPath: configuration.paths.inbox + "/" + inbox, withIntermediateDirectories: true)
                }
                let inboxLock: InboxLock?
                do {
                    inboxLock = try InboxLock(inbox: configuration.paths.inbox)
                } catch {
                    throw UserFacingError("ledgerd: \(error)", exitCode: 1)
                }
                defer { withExtendedLifetime(inboxLock) {} }
                let store = try options.openStore(configuration)
                // Books damaged (a file copied over them while they were open, mixed with the
                // other's write-ahead log) are not posted into: each posting could make it worse.
                let damage = try store.damageFound()
                if !damage.isEmpty {
                    throw UserFacingError(
                        "ledgerd: the database file \(configuration.paths.database) is damaged (SQLite's check: "
                            + damage.joined(separator: "; ")
                            + "). Restore the books from a backup (README, Back up and "
                            + "restore); nothing was posted.", exitCode: 1)
                }
                var pipelineSettings = PipelineSettings(configuration)
                pipelineSettings.incompleteGrace = configuration.watch.settle * 2
                pipelineSettings.witnessFaults(database: configuration.paths.database, logger: logger)
                let pipeline = Pipeline(settings: pipelineSettings, store: store, logger: logger)
                // No file is taken before the status page listens: a start that fails on its port
                // posts nothing.
                let listening = StartGate()
                let daemon = Daemon(
                    settings: Daemon.Settings(configuration), pipeline: pipeline, store: store, logger: logger,
                    startGate: listening)
                let serverUp = Atomic<Bool>(false)
                let server = StatusServer(
                    settings: StatusServerSettings(
                        host: configuration.server.host, port: configuration.server.port,
                        webRoot: webRoot, token: token, companyName: configuration.company.name,
                        companyConfigured: !configuration.companyIdentity.identifiers.isEmpty,
                        onListening: { host, port in
                            serverUp.store(true, ordering: .releasing)
                            listening.open()
                        }),
                    store: store, accounts: configuration.accounts, runtime: { daemon.runtimeSnapshot() },
                    actions: DaemonActions(daemon: daemon, configuration: configuration), logger: logger)
                var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                    .init(service: daemon), .init(service: server),
                ]
                if let notifier = SystemdNotifier() {
                    services.append(
                        .init(
                            service: SystemdService(
                                notifier: notifier, daemon: daemon, isServerUp: { serverUp.load(ordering: .acquiring) },
                                logger: logger)))
                }
                let group = ServiceGroup(
                    configuration: .init(
                        services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                do {
                    try await group.run()
                } catch let error as StatusServerError {
                    throw UserFacingError("ledgerd: \(error)", exitCode: 1)
                }
                do {
                    try store.checkpointIntoDatabaseFile()
                } catch {
                    logger.warning(
                        "the latest postings are still in \(configuration.paths.database)-wal as ledgerd stops (\(error)); copy that file with the database, or use ledgerd backup"
                    )
                }
            }
        }

        /// The API token for the status page's actions: `[server] token`, or the first line of
        /// `[server] token_file` (a systemd credential). None configured: actions are off.
        static func token(_ configuration: LedgerConfig.Configuration) throws -> String? {
            if let token = configuration.server.token { return token }
            guard let file = configuration.server.tokenFile else { return nil }
            // Said in plain words: Foundation's own errors read "The operation could not be
            // completed" or name an NSCocoaErrorDomain code.
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: file, isDirectory: &isFolder) else {
                throw UserFacingError(
                    "ledgerd: [server] token_file \(file) does not exist (under systemd it is the service's "
                        + "credential, which only the running service sees).")
            }
            guard !isFolder.boolValue else {
                throw UserFacingError(
                    "ledgerd: [server] token_file \(file) is a folder; name the file that holds the token.")
            }
            guard let data = FileManager.default.contents(atPath: file) else {
                throw UserFacingError(
                    "ledgerd: cannot read [server] token_file \(file): permission denied or unreadable.")
            }
            let text = String(decoding: data, as: UTF8.self)
            let token = text.split(whereSeparator: \.isNewline).first.map(String.init)?.trimmingCharacters(
                in: .whitespaces)
            guard let token, !token.isEmpty else {
                throw UserFacingError("ledgerd: [server] token_file \(file) is empty.")
            }
            return token
        }
    }
}

extension Daemon {
    /// The daemon's state in the status page's terms.
    func runtimeSnapshot() -> RuntimeSnapshot {
        let s = snapshot()
        return RuntimeSnapshot(
            startedAt: s.startedAt, watchMode: s.watchMode, lastRescan: s.lastRescan,
            inboxes: s.inboxes.map {
                RuntimeSnapshot.Inbox(
                    name: $0.inbox, waiting: $0.waiting + $0.retrying, settling: $0.settling, processing: $0.processing,
                    burstDone: $0.burstDone, burstTotal: $0.burstTotal, notRead: $0.notRead,
                    notReadNames: $0.notReadNames)
            },
            recentErrors: s.recentErrors, watcherAlive: s.watcherAlive || s.watchMode == "poll",
            schedulerAlive: isHealthy || s.schedulerAlive, databaseProblem: s.databaseProblem,
            processingProblem: s.processingProblem, oldestWaitingSeconds: s.oldestWaitingSeconds,
            archiveNotInBooks: s.archiveNotInBooks ?? 0, archiveNotInBooksExample: s.archiveNotInBooksExample)
    }
}

/// The status page's actions, carried out by the daemon.
struct DaemonActions: StatusActions {
    let daemon: Daemon
    let configuration: LedgerConfig.Configuration

    /// Retries run one at a time, on a thread of their own: finding a copy by its bytes reads
    /// files, which must not hold up the threads the status page and the daemon share, and two
    /// at once (a double click) must not read the folder side by side: the second waits for
    /// the first, then finds the file gone.
    static let retries = DispatchQueue(label: "ledgerd.retry")

    func retryRejected(name: String?, documentID: Int64?) async throws -> String {
        try await withCheckedThrowingContinuation { continuation in
            Self.retries.async {
                continuation.resume(with: Result { try self.retryNow(name: name, documentID: documentID) })
            }
        }
    }

    func retryNow(name: String?, documentID: Int64?) throws -> String {
        let folder = configuration.paths.rejected
        var document: LedgerStore.UnpostedDocument?
        let fileName: String
        if let documentID {
            guard let found = try daemon.store.unpostedDocument(id: documentID) else {
                throw StatusActionError.notFound("Document \(documentID) is not a rejected document (any more).")
            }
            document = found
            // Found by its bytes, which its error file names: two rejected files of one name
            // are "a.xml" and "a (2).xml", and a long name was shortened.
            guard let copy = Self.rejectedCopy(of: found, in: folder, limit: configuration.limits.maxFileBytes) else {
                throw StatusActionError.notFound(
                    OneLine.escaped("The rejected copy of \(found.originalName) is no longer in the rejected folder."))
            }
            fileName = copy
        } else {
            fileName = name ?? ""
            // Only a rejected file itself: not its error file, nor a name ledgerd ignores.
            guard !fileName.hasSuffix(".error.txt"), !InboxScanner.isTemporaryName(fileName) else {
                throw StatusActionError.notFound(OneLine.escaped("\(fileName) is not a rejected file."))
            }
            document = try? daemon.store.unpostedDocument(originalName: fileName)
        }
        let rejected = folder + "/" + fileName
        guard !fileName.isEmpty, !fileName.contains("/"), fileName != ".", fileName != "..",
            FileSystem.exists(rejected)
        else {
            throw StatusActionError.notFound(OneLine.escaped("There is no \(fileName) in the rejected folder."))
        }
        // Only a file: not a folder or a pipe someone put there, nor a link (refused unread as
        // NOT-A-FILE, which the page offers no Retry for: the same link would be refused again).
        guard FileSystem.lstatType(rejected) == .regular else {
            throw StatusActionError.notFound(OneLine.escaped("\(fileName) in the rejected folder is not a file."))
        }
        // Rejected for the configuration since this daemon started: it would be rejected
        // again at once, by the configuration it still runs with (the page offers no Retry).
        if let document, let code = document.reasonCode, Rejection.mendedByRestart(code: code),
            document.processedAt > daemon.startedAt
        {
            throw StatusActionError.conflict(
                OneLine.escaped(
                    "\(fileName) was rejected (\(code)) by the configuration ledgerd runs with now, and would be "
                        + "rejected again. Mend the configuration and restart ledgerd, then retry it."))
        }
        // Back to the inbox it came from; by its type only when that is not known.
        let inbox =
            document.map(\.inbox).flatMap { InboxScanner.inboxes.contains($0) ? $0 : nil }
            ?? InboxScanner.inbox(forName: fileName) ?? "ehf"
        let target = configuration.paths.inbox + "/" + inbox
        // Under the name it came with (a second file of that name was kept as "a (2).xml"),
        // so that the document keeps its name when it is read again.
        let returnName = FileSystem.freeName(
            in: target, for: document.map { FileSystem.shortened($0.originalName, maxBytes: 200) } ?? fileName)
        let destination = target + "/" + returnName
        let renamed = returnName == fileName ? "" : " as \(returnName)"
        // The explanation belonged to the rejected copy (the database keeps the reason). It
        // goes first: once the file is back in the inbox the daemon may reject it again at
        // once and write a new one under the same name, which must not be the one removed.
        // Its own error file only: a file (unlink), never a folder of that name and what it holds.
        if FileSystem.lstatType(rejected + ".error.txt") == .regular {
            try? FileSystem.removeFile(rejected + ".error.txt")
        }
        // Where the file lay goes first too: the place a new rejection records must stay. Put
        // back if the file stays where it is.
        if let document { try? daemon.store.setRejectedPath(nil, documentID: document.id) }
        do {
            try FileSystem.move(from: rejected, to: destination)
        } catch {
            if let document { try? daemon.store.setRejectedPath(document.rejectedPath, documentID: document.id) }
            throw error
        }
        daemon.record(
            .retry,
            OneLine.escaped("\(fileName) moved from the rejected folder back to the \(inbox) inbox\(renamed)"),
            actor: Self.actor, documentID: document?.id)
        daemon.requestRescan()
        return OneLine.escaped("\(fileName) is back in the \(inbox) inbox\(renamed) and will be tried again.")
    }

    /// The name of `document`'s copy in the rejected folder: the file whose bytes hash to the
    /// document's, the name it was put under tried first, then its own. A file refused unread
    /// (too large, not a file) has no hash of its bytes and is found by the name it was put
    /// under (`x (2).xml` beside another `x.xml`), or, rejected before that was recorded, by
    /// its own name.
    static func rejectedCopy(of document: LedgerStore.UnpostedDocument, in folder: String, limit: Int64) -> String? {
        let own = FileSystem.shortened(document.originalName, maxBytes: 200)
        let kept = document.rejectedPath.flatMap { path in
            FileSystem.parentDirectory(path) == folder ? FileSystem.lastComponent(path) : nil
        }
        if document.sha256.hasPrefix("unread:") {
            if let kept { return FileSystem.exists(folder + "/" + kept) ? kept : nil }
            return FileSystem.exists(folder + "/" + own) ? own : nil
        }
        /// A file of the size the document had, hashed only then: a folder of large other
        /// files is not read through.
        func holds(_ candidate: String) -> Bool {
            let path = folder + "/" + candidate
            guard let found = FileSystem.lstatSizeAndTime(path), found.type == .regular,
                found.size == document.sizeBytes
            else { return false }
            return Pipeline.sha256(ofFile: path, limit: limit) == document.sha256
        }
        if let kept, holds(kept) { return kept }
        if holds(own) { return own }
        let entries = (try? FileSystem.listDirectory(folder)) ?? []
        return entries.filter { $0.type == .regular }.map(\.name).sorted().first {
            !$0.hasSuffix(".error.txt") && $0 != own && $0 != kept && holds($0)
        }
    }

    func rescan() async {
        daemon.record(.rescan, "full rescan of \(configuration.paths.inbox)", actor: Self.actor)
        daemon.requestRescan()
    }

    /// Who the audit log says asked: actions need the configured API token, so whoever holds it.
    static let actor = "status page (API token)"
}

extension Daemon.Settings {
    init(_ configuration: Configuration) {
        let pipeline = PipelineSettings(configuration)
        self.init(
            inbox: configuration.paths.inbox,
            excluding: [configuration.paths.rejected, configuration.paths.archive],
            mode: configuration.watch.mode == .poll ? .poll : .inotify,
            pollInterval: configuration.watch.pollInterval, settle: configuration.watch.settle,
            rescanInterval: configuration.watch.rescanInterval, batchSize: configuration.ingest.batchSize,
            isIgnored: pipeline.isIgnored)
    }
}

/// Log lines for the journal: under systemd (`StandardError.isJournal`) a syslog priority
/// prefix and no timestamp, since journald adds its own; on a terminal, a timestamp first.
func makeDaemonLogger(debug: Bool) -> Logger {
    let journal = StandardError.isJournal
    LoggingSystem.bootstrap { label in
        var handler = OneLineLogHandler(JournalLogHandler(label: label, journal: journal))
        handler.logLevel = debug ? .debug : .info
        return handler
    }
    return Logger(label: "ledgerd")
}

struct JournalLogHandler: LogHandler {
    let label: String
    let journal: Bool
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let details =
            all.isEmpty
            ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // syslog-style priority prefix: journald reads it as the entry's level.
        let priority: Int
        switch event.level {
        case .trace, .debug: priority = 7
        case .info: priority = 6
        case .notice: priority = 5
        case .warning: priority = 4
        case .error: priority = 3
        case .critical: priority = 2
        }
        let prefix = journal ? "<\(priority)>" : Timestamp.now() + " "
        let line = "\(prefix)\(event.level): \(event.message)\(details)\n"
        StandardError.write(line)
    }
}

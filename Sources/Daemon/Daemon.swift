import Dispatch
import Foundation
public import Ingest
import LedgerConfig
import LedgerCore
public import LedgerStore
public import Logging
import Metrics
public import ServiceLifecycle
import Synchronization
import UnixSignals
import Watcher

/// `ledgerd run`: finds files (inotify, a startup scan, periodic rescans, or polling only),
/// waits until each is complete, and hands them to the pipeline one batch at a time. On
/// graceful shutdown (SIGTERM/SIGINT) the batch in hand is finished and committed first.
public final class Daemon: Service, Sendable {
    public struct Settings: Sendable {
        public var inbox: String
        /// Folders inside the inbox that are not inboxes (the rejected folder, an archive).
        public var excluding: Set<String>
        public var mode: Mode
        public var pollInterval: Duration
        public var settle: Duration
        public var rescanInterval: Duration
        public var batchSize: Int
        public var isIgnored: @Sendable (String) -> Bool

        public enum Mode: String, Sendable, Codable {
            case inotify
            case poll
        }

        public init(
            inbox: String, excluding: Set<String>, mode: Mode, pollInterval: Duration, settle: Duration,
            rescanInterval: Duration, batchSize: Int, isIgnored: @escaping @Sendable (String) -> Bool
        ) {
            self.inbox = inbox
            self.excluding = excluding
            self.mode = mode
            self.pollInterval = pollInterval
            self.settle = settle
            self.rescanInterval = rescanInterval
            self.batchSize = max(1, batchSize)
            self.isIgnored = isIgnored
        }
    }

    /// What the daemon publishes about itself (for `ledgerd status`, the status page, systemd).
    public struct Snapshot: Sendable, Codable, Equatable {
        public struct PendingFile: Sendable, Codable, Equatable {
            public var name: String
            public var inbox: String
            public var state: String
            public var attempts: Int
            public var lastError: String?
        }
        public var pid: Int32
        public var startedAt: String
        public var watchMode: String
        public var watcherAlive: Bool
        public var schedulerAlive: Bool
        public var lastRescan: String?
        public var inboxes: [FileTracker.InboxCounts]
        public var pending: [PendingFile]
        public var recentErrors: [String]
        public var processed: Int
        /// Why the daemon cannot write to the database now; nil while it can.
        public var databaseProblem: String?
        /// Why files do not get through although the database takes writes: the inbox folder
        /// missing, the batch in hand stuck on a read, or posted files that cannot be moved out
        /// of the inbox (the archive or rejected folder full or not writable); nil while they do.
        public var processingProblem: String?
        /// How long the file waiting longest has waited, in seconds; nil when none waits.
        public var oldestWaitingSeconds: Int?
        /// Files in the archive whose bytes the books do not know, and one of them.
        public var archiveNotInBooks: Int?
        public var archiveNotInBooksExample: String?
        public var backlog: Int { inboxes.reduce(0) { $0 + $1.backlog } }
    }

    struct Status {
        var watchMode: Settings.Mode
        var watcherAlive = false
        var schedulerAlive = false
        var ready = false
        var lastTick: UInt64 = 0
        var lastRescan: String?
        var recentErrors: [String] = []
        /// For each line of `recentErrors` about files that will be tried again, those not
        /// taken in since.
        var unsettledErrors: [String: Set<PathKey>] = [:]
        var processed = 0
        var rescanRequested = false
        /// Files in inboxes this version does not read, left where they are: path → inbox.
        var notRead: [PathKey: String] = [:]
        /// Set for good when the database file was deleted or replaced while the daemon ran.
        var databaseGone: String?
        /// The last write's failure (disk full, read-only), until a write succeeds again.
        var writeFailure: String?
        /// Files posted but not moved out of the inbox (archive or rejected folder full or not
        /// writable): said on /healthz until a file moves again.
        var moveFailure: String?
        /// When the batch in the pipeline was handed to it, and how many files it holds.
        var batchStarted: (at: UInt64, files: Int)?
        /// The inbox folder is gone (deleted, moved away, unmounted) or not a folder: what it is.
        var inboxMissing: String?
        /// Files in the archive whose bytes the books do not know (`checkArchiveAgainstBooks`),
        /// below the archive folder, in order.
        var archiveNotInBooks: [String] = []
        /// When the rejected folder was last looked at for files the bookkeeper removed.
        var lastSweep: UInt64?
    }

    /// How often the daemon publishes its state when nothing changed (`daemon_state.updated_at`).
    public static let heartbeat = Duration.seconds(60)

    /// How long one batch may take before the daemon counts as stuck: normally well under a
    /// second; this long means a read that does not return (a hung network share).
    public static let stuckAfterNanos: UInt64 = 120_000_000_000

    /// What is wrong when the batch in hand has taken longer than `stuckAfterNanos`.
    public static func stuckProblem(_ started: (at: UInt64, files: Int)?, now: UInt64) -> String? {
        guard let started, now &- started.at > stuckAfterNanos else { return nil }
        return
            "one batch of \(started.files) file(s) has been in the pipeline for \((now &- started.at) / 1_000_000_000) s "
            + "(a file that cannot be read, such as one on a network share that does not answer); nothing else is "
            + "posted meanwhile"
    }

    let settings: Settings
    let pipeline: Pipeline
    public let store: LedgerStore
    let logger: Logger
    public let tracker: FileTracker
    public let startedAt = Timestamp.now()
    let status: Mutex<Status>
    /// Set when a stop is asked for: the pipeline finishes the batch it is writing and starts
    /// no other, so a stop takes about one transaction, not the whole backlog taken.
    let stopping = Atomic<Bool>(false)
    /// Set while the daemon state cannot be written (its failure is logged once).
    let publishFailing = Atomic<Bool>(false)
    /// Set while the rejected folder is being looked at (`scan`).
    let sweeping = Atomic<Bool>(false)
    /// Whether archived files the books did not know are being looked up again.
    let lookingAtArchive = Atomic<Bool>(false)
    let wake: AsyncStream<Void>.Continuation
    let wakeups: AsyncStream<Void>
    let rescans: AsyncStream<Void>.Continuation
    let rescanRequests: AsyncStream<Void>
    /// One serial queue runs the pipeline: files are processed one batch at a time, off the
    /// cooperative thread pool (the pipeline blocks on disk I/O).
    let queue = DispatchQueue(label: "ledgerd.pipeline")
    /// What the daemon waits for before it takes any file (the status page listening), so
    /// that a start that fails has posted nothing.
    let startGate: StartGate?

    public init(
        settings: Settings, pipeline: Pipeline, store: LedgerStore, logger: Logger, startGate: StartGate? = nil
    ) {
        self.settings = settings
        self.pipeline = pipeline
        self.store = store
        self.logger = logger
        self.startGate = startGate
        self.tracker = FileTracker(settle: settings.settle)
        self.status = Mutex(Status(watchMode: settings.mode))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        (rescanRequests, rescans) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// True once watching has started and the startup scan is done.
    public var isReady: Bool { status.withLock { $0.ready } }

    /// The scheduler ticked within the last ten seconds, the watcher (in inotify mode) runs,
    /// and the pipeline is not stuck on one batch: what systemd's watchdog hears.
    public var isHealthy: Bool {
        let s = status.withLock { $0 }
        let now = DispatchTime.now().uptimeNanoseconds
        return s.schedulerAlive && now &- s.lastTick < 10_000_000_000 && (s.watchMode == .poll || s.watcherAlive)
            && Self.stuckProblem(s.batchStarted, now: now) == nil
    }

    /// Asks for a full rescan soon (status page action, systemd reload).
    public func requestRescan() { rescans.yield() }

    public func snapshot() -> Snapshot {
        let s = status.withLock { $0 }
        var (inboxes, entries) = tracker.countsAndEntries(inboxes: InboxScanner.inboxes, limit: 200)
        for (inbox, paths) in Dictionary(grouping: s.notRead.keys, by: { s.notRead[$0] ?? "" }) {
            var i = inboxes.firstIndex { $0.inbox == inbox }
            if i == nil, inbox == InboxScanner.otherFiles {
                inboxes.append(.init(inbox: inbox))
                i = inboxes.count - 1
            }
            guard let i else { continue }
            inboxes[i].notRead = paths.count
            inboxes[i].notReadNames = paths.map(\.path).sorted().prefix(Self.leftInPlaceNamed).map(place)
        }
        let pending = entries.map {
            Snapshot.PendingFile(
                name: FileSystem.lastComponent($0.path), inbox: $0.inbox, state: $0.state.rawValue,
                attempts: $0.attempts,
                lastError: $0.lastError)
        }
        return Snapshot(
            pid: getpid(), startedAt: startedAt, watchMode: s.watchMode.rawValue, watcherAlive: s.watcherAlive,
            schedulerAlive: s.schedulerAlive, lastRescan: s.lastRescan, inboxes: inboxes, pending: pending,
            recentErrors: s.recentErrors, processed: s.processed,
            databaseProblem: s.databaseGone ?? s.writeFailure,
            processingProblem: s.inboxMissing
                ?? Self.stuckProblem(s.batchStarted, now: DispatchTime.now().uptimeNanoseconds) ?? s.moveFailure,
            oldestWaitingSeconds: tracker.oldestFirstSeen().map {
                Int((DispatchTime.now().uptimeNanoseconds &- $0) / 1_000_000_000)
            }, archiveNotInBooks: s.archiveNotInBooks.count, archiveNotInBooksExample: s.archiveNotInBooks.last)
    }

    public func run() async throws {
        if let startGate {
            // False when a stop is asked for meanwhile, or when the start failed elsewhere (the
            // service group then cancels this task).
            guard await cancelWhenGracefulShutdown({ await startGate.wait() }) else {
                logger.debug("the daemon stopped before it started taking files")
                return
            }
        }
        let every = DurationParser.format(settings.mode == .poll ? settings.pollInterval : settings.rescanInterval)
        logger.info(
            "ledgerd watching \(settings.inbox) (\(settings.mode.rawValue); settle \(DurationParser.format(settings.settle)), scan every \(every))"
        )
        status.withLock { $0.schedulerAlive = true }
        defer { status.withLock { $0.schedulerAlive = false } }
        var started = "pid \(getpid()); watching \(settings.inbox) (\(settings.mode.rawValue))"
        if let last = try? store.lastDaemonStartOrStop(), last.action == AuditAction.daemonStarted.rawValue {
            // Said here, so the activity list shows a kill -9 or a crash between two starts.
            started += "; no stop was recorded for the run started \(last.at) (killed, crashed, or the books restored)"
            let message =
                "no stop was recorded for the run started \(last.at): it was killed or crashed, or these books were "
                + "restored from a backup taken while it ran"
            logger.warning("\(message)")
        }
        record(.daemonStarted, started)

        let watcher = startWatcher()
        defer { watcher?.stop() }

        // Off the tick loop, which the watchdog listens to: an archive of years is read whole.
        DispatchQueue.global(qos: .utility).async { self.checkArchiveAgainstBooks() }

        // Startup scan: everything already waiting is taken before anything new.
        scan()
        status.withLock {
            $0.ready = true
            $0.lastTick = DispatchTime.now().uptimeNanoseconds
        }

        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.processLoop() }
            group.addTask { await self.tickLoop() }
            group.addTask { await self.hangupLoop() }
            if let watcher {
                group.addTask { await self.watchLoop(watcher) }
            }
            group.addTask {
                await self.waitForShutdown()
                // Stop taking new work; the batch in hand finishes in processLoop.
                self.stopping.store(true, ordering: .relaxed)
                // With another program holding the database, the batch in hand and each last
                // write (the state, the audit line, the checkpoint) would wait ten seconds, one
                // after another, past systemd's stop timeout.
                self.store.shortenLockWaits(milliseconds: 1_000)
                self.logger.notice("stopping: finishing the batch in hand; files not started stay in the inbox")
                watcher?.stop()
                self.wake.finish()
                self.rescans.finish()
            }
            await group.next()
            group.cancelAll()
        }
        publish()
        let detail: String
        if let (left, parked) = countLeftInInbox(within: .seconds(2)) {
            detail =
                "\(left) file(s) left for next time"
                + (parked > 0 ? ", and \(parked) of kinds this version does not read left in place" : "")
        } else {
            let noticed = tracker.counts(inboxes: InboxScanner.inboxes).reduce(0) { $0 + $1.backlog }
            detail = "at least \(noticed) file(s) left for next time (the inbox could not be counted in time)"
        }
        record(.daemonStopped, "pid \(getpid()); \(detail)")
        logger.info("ledgerd stopped; \(detail)")
    }

    /// The files in the inbox at a stop, counted afresh (what the daemon had noticed of a burst
    /// under way may be a part of it): those it reads, and those of kinds it leaves in place.
    /// nil when the count takes longer than `limit`: a share that hangs must not hold the stop,
    /// its record and the checkpoint after it, past systemd's patience.
    func countLeftInInbox(within limit: Duration) -> (left: Int, parked: Int)? {
        final class Count: Sendable {
            let value = Mutex<(left: Int, parked: Int)?>(nil)
            let done = DispatchSemaphore(value: 0)
        }
        let count = Count()
        let (settings, logger) = (self.settings, self.logger)
        DispatchQueue.global().async {
            let found = InboxScanner.scan(
                root: settings.inbox, excluding: settings.excluding, isIgnored: settings.isIgnored, logger: logger)
            let left = found.count { InboxScanner.readInboxes.contains($0.inbox) }
            count.value.withLock { $0 = (left, found.count - left) }
            count.done.signal()
        }
        guard count.done.wait(timeout: .now() + limit.seconds) == .success else { return nil }
        return count.value.withLock { $0 }
    }

    /// Writes `action` to the audit log, as the daemon's own unless `actor` says who asked. A
    /// failure to write it is logged and does not stop the daemon: the books do not depend on it.
    public func record(_ action: AuditAction, _ detail: String, actor: String = "ledgerd run", documentID: Int64? = nil)
    {
        do {
            try store.audit(action, actor: actor, documentID: documentID, detail: detail, now: Timestamp.now())
        } catch {
            logger.warning(
                "could not write to the audit log: \(store.writeFailure(error))",
                metadata: ["action": "\(action.rawValue)"])
        }
    }

    func startWatcher() -> InotifyWatcher? {
        guard settings.mode == .inotify else { return nil }
        do {
            let watcher = try InotifyWatcher(
                roots: [settings.inbox],
                excluding: Array(settings.excluding), logger: logger)
            status.withLock { $0.watcherAlive = true }
            return watcher
        } catch {
            // Polling finds every file, only later: the daemon stays healthy, and says why.
            fallBackToPolling("inotify could not start (\(error))")
            return nil
        }
    }

    /// SIGHUP, which would otherwise end the process (and under systemd's Restart=on-failure
    /// leave it stopped, a hangup counting as a clean exit), rescans the inboxes instead. The
    /// configuration is read once at start; a changed one needs a restart, as the log says.
    func hangupLoop() async {
        for await _ in await UnixSignalsSequence(trapping: .sighup) {
            logger.notice(
                "SIGHUP: rescanning the inboxes now; the configuration is read at start, so restart ledgerd to apply a changed one"
            )
            record(.rescan, "full rescan of \(settings.inbox)", actor: "SIGHUP")
            requestRescan()
        }
    }

    func waitForShutdown() async {
        // Returns on graceful shutdown (or cancellation).
        try? await gracefulShutdown()
    }

    // MARK: - Processing

    func processLoop() async {
        for await _ in wakeups {
            // A wakeup still queued when the stop began starts no new batch.
            while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
                // Posting into a deleted database would lose what is posted: files wait.
                guard checkDatabaseFile() else { break }
                // Several transactions' worth at once, so the pipeline parses the next batch
                // while it commits this one.
                let batch = tracker.takeWaiting(limit: settings.batchSize * 4)
                if batch.isEmpty { break }
                status.withLock { $0.batchStarted = (DispatchTime.now().uptimeNanoseconds, batch.count) }
                defer { status.withLock { $0.batchStarted = nil } }
                let results = await withCheckedContinuation {
                    (continuation: CheckedContinuation<[FileResult], Never>) in
                    queue.async {
                        continuation.resume(
                            returning: self.pipeline.ingest(
                                batch, shouldStop: { self.stopping.load(ordering: .relaxed) }))
                    }
                }
                record(batch: batch, results: results)
                if isShuttingDown { break }
            }
            if isShuttingDown { break }
        }
    }

    var isShuttingDown: Bool { Task.isShuttingDownGracefully || Task.isCancelled }

    /// False, for good, once the database file is no longer the one opened (deleted, or
    /// replaced by a restore while ledgerd ran), is damaged, or was migrated by a newer
    /// ledgerd: nothing more is posted, /healthz says why, and the files wait in the inbox
    /// for a restart.
    @discardableResult
    func checkDatabaseFile() -> Bool {
        if status.withLock({ $0.databaseGone != nil }) { return false }
        let problem: String
        if let damage = store.damage {
            problem =
                "the database file \(store.path) is damaged (\(damage)): was a file copied over it while ledgerd ran? "
                + "Nothing more is posted (files wait in the inbox); stop ledgerd and restore the books from a backup "
                + "(README, Back up and restore)"
        } else if let newer = store.writtenByNewerVersion {
            problem =
                "the books were changed by a newer ledgerd while this one ran (changes unknown here: "
                + newer.unknownMigrations.joined(separator: ", ")
                + "); nothing more is posted by this one (files wait in the inbox): restart ledgerd so the newer "
                + "version runs (`systemctl restart ledgerd`)"
        } else if !store.isStillTheOpenedFile {
            problem =
                "the database file \(store.path) was deleted or replaced while ledgerd ran; nothing more is posted "
                + "until ledgerd is restarted (files wait in the inbox)"
        } else {
            return true
        }
        status.withLock { $0.databaseGone = problem }
        noteError(problem)
        return false
    }

    /// Whether the inbox folder is there and a folder, checked every second. Deleted, moved
    /// away or unmounted (a share that dropped), it takes no files, and nothing else says so:
    /// the watcher waits for it to come back, polling finds nothing. It is not made again
    /// here: on a mount point that would hide the share when it returns.
    func checkInboxFolder() {
        var problem: String?
        switch FileSystem.followedType(settings.inbox) {
        case nil:
            problem =
                "the inbox folder \(settings.inbox) is missing (deleted, moved away or unmounted): files dropped "
                + "there are not seen until it is back"
        case .directory?:
            // Its folders (ehf/, wise/, checks/) are made again when deleted: inside a folder
            // that is there, unlike the inbox itself, which may be a share's mount point.
            for name in InboxScanner.inboxes {
                let path = settings.inbox + "/" + name
                switch FileSystem.followedType(path) {
                case nil:
                    if mkdir(path, 0o777) == 0 {
                        logger.notice("the \(name) inbox folder \(path) was missing: made again")
                    } else if errno == EEXIST, FileSystem.lstatType(path) == .symlink {
                        // A link to something that is not there (a share not mounted).
                        problem =
                            "the \(name) inbox \(path) is a link to something that is not there: files dropped there are not seen until it is"
                    } else if errno == EROFS {
                        // Under the unit, the inbox is writable through a mount made at start:
                        // an inbox deleted and made again since is not that one.
                        problem =
                            "the \(name) inbox folder \(path) is missing and cannot be made again (read-only here); "
                            + "if the inbox was deleted and made anew, restart ledgerd (`systemctl restart ledgerd`): "
                            + "the service may write only to the inbox there was when it started"
                    } else if errno != EEXIST {
                        problem =
                            "the \(name) inbox folder \(path) is missing and cannot be made again (\(String(cString: strerror(errno))))"
                    }
                case .directory?:
                    break
                default:
                    problem =
                        "the \(name) inbox \(path) is not a folder: files dropped there are not seen until it is one again"
                }
            }
        default:
            problem =
                "the inbox \(settings.inbox) is not a folder: files dropped there are not seen until it is one again"
        }
        let before = status.withLock { s in
            defer { s.inboxMissing = problem }
            return s.inboxMissing
        }
        if let problem, before == nil {
            noteError(problem)
        } else if problem == nil, before != nil {
            logger.notice("the inbox folder \(settings.inbox) is there again, with its folders")
        } else if let problem, let before, problem != before {
            noteError(problem)
        }
    }

    func record(batch: [InboxFile], results: [FileResult]) {
        let now = DispatchTime.now().uptimeNanoseconds
        let latencies = tracker.finished(results, now: now)
        let unreported = Pipeline.unreported(batch, results: results)
        // Left untouched by a stop: still waiting, and counted as left for next time.
        if stopping.load(ordering: .relaxed) {
            tracker.putBack(unreported)
        } else {
            // Vanished ones are let go; ones still there were in another run's hands.
            let present = unreported.filter { FileSystem.identity(of: $0.path) != nil }
            for file in tracker.settleAgain(present, now: now) {
                logger.notice(
                    "\(OneLine.escaped(file.name)) is in another ledgerd run's hands (a ledgerd ingest?) or locked by another program; it is left to that run, and taken here if it is still there once let go"
                )
            }
            tracker.release(unreported, now: now)
        }
        for (result, nanos) in latencies {
            Counter(label: "ledgerd_files_total", dimensions: [("result", result.outcome.rawValue)]).increment()
            Metrics.Timer(label: "ledgerd_ingest_duration_seconds").recordNanoseconds(Int64(nanos))
        }
        settleErrors(taken: results.filter { $0.outcome != .failed }.map(\.file.path))
        var failures: [(message: String, code: String?, files: [String], paths: [String])] = []
        for result in results where result.outcome == .failed {
            if result.reason?.code == Pipeline.incompleteCode {
                // A copy still in progress: waited out, not an error (FileTracker.finished).
                logger.debug(
                    "still being written; taken again once it settles", metadata: ["file": "\(result.file.path)"])
                continue
            }
            Counter(label: "ledgerd_files_total", dimensions: [("result", "failed")]).increment()
            // One line per distinct failure: a full disk fails every file of a batch alike (a
            // failed move names its file, so those are one line together).
            let message = result.reason?.message ?? "failed"
            if let i = failures.firstIndex(where: {
                $0.message == message || (result.reason?.code == "MOVE" && $0.code == "MOVE")
            }) {
                failures[i].files.append(result.file.name)
                failures[i].paths.append(result.file.path)
            } else {
                failures.append((message, result.reason?.code, [result.file.name], [result.file.path]))
            }
        }
        for failure in failures {
            if failure.files.count == 1 {
                noteError("\(failure.files[0]): \(failure.message) — will try again", files: failure.paths)
            } else if failure.code == "MOVE" {
                // Their messages differ (each names its document): the first one's, as its own.
                noteError(
                    "\(failure.files.count) files could not be moved after they were taken in; the first, "
                        + "\(failure.files[0]): \(failure.message) — will try again", files: failure.paths)
            } else {
                noteError(
                    "\(failure.files.count) files (\(failure.files[0]), …): \(failure.message) — will try again",
                    files: failure.paths)
            }
        }
        // The database refused the batch (disk full, read-only): said on /healthz until a
        // write succeeds again.
        let writeFailure = results.first { $0.reason?.code == "DATABASE" }?.reason?.message
        let wrote = results.contains { $0.outcome != .failed }
        let moveFailure = results.first { $0.reason?.code == "MOVE" }?.reason?.message
        let moved = results.contains { $0.destination != nil }
        status.withLock { s in
            if let moveFailure {
                s.moveFailure =
                    "ledgerd cannot move files out of the inbox (\(moveFailure)); they wait and are tried again"
            } else if moved {
                s.moveFailure = nil
            }
            if let writeFailure {
                s.writeFailure =
                    "ledgerd cannot write to its database: \(writeFailure); files wait and are tried again"
            } else if wrote {
                s.writeFailure = nil
            }
        }
        status.withLock { $0.processed += latencies.count }
        Gauge(label: "ledgerd_backlog_files").record(
            tracker.counts(inboxes: InboxScanner.inboxes).reduce(0) { $0 + $1.backlog })
    }

    /// Logs `message` and keeps it among the recent errors; `files`, when it is about files
    /// that will be tried again, until all of them are taken in (`settleErrors`).
    func noteError(_ message: String, files: [String] = []) {
        logger.error("\(message)")
        status.withLock { s in
            let line = "\(Timestamp.now()) \(OneLine.escaped(message))"
            s.recentErrors.insert(line, at: 0)
            if !files.isEmpty { s.unsettledErrors[line] = Set(files.map(PathKey.init)) }
            if s.recentErrors.count > 50 { s.unsettledErrors[s.recentErrors.removeLast()] = nil }
        }
    }

    /// The files of `taken` were taken in (posted, or rejected for what they hold): a recent
    /// error about files that are all taken in since is marked as passed.
    func settleErrors(taken: [String]) {
        guard !taken.isEmpty else { return }
        let paths = Set(taken.map(PathKey.init))
        status.withLock { s in
            guard !s.unsettledErrors.isEmpty else { return }
            for (line, files) in s.unsettledErrors {
                let left = files.subtracting(paths)
                guard left.isEmpty else {
                    s.unsettledErrors[line] = left
                    continue
                }
                s.unsettledErrors[line] = nil
                if let i = s.recentErrors.firstIndex(of: line) { s.recentErrors[i] += RecentError.passedMark }
            }
        }
    }

    // MARK: - Finding files

    func tickLoop() async {
        let tick = Duration.milliseconds(100)
        // Read at each tick: a watcher that stops turns the daemon to polling.
        var scanEvery: Duration {
            status.withLock { $0.watchMode } == .poll ? settings.pollInterval : settings.rescanInterval
        }
        var sinceScan = Duration.zero
        var sincePublish = Duration.seconds(1)
        var lastPublished: Snapshot?
        var sinceHeartbeat = Duration.zero
        var sinceNotReadCheck = Duration.zero
        let requested = Mutex(false)
        let rescanRequests = self.rescanRequests
        let listener = Task {
            for await _ in rescanRequests { requested.withLock { $0 = true } }
        }
        defer { listener.cancel() }
        while !isShuttingDown {
            try? await Task.sleep(for: tick)
            status.withLock { $0.lastTick = DispatchTime.now().uptimeNanoseconds }
            sinceScan += tick
            sincePublish += tick
            let forced = requested.withLock { r in
                defer { r = false }
                return r
            }
            if sinceScan >= scanEvery || forced {
                sinceScan = .zero
                scan()
            } else {
                recheckSettling()
            }
            if tracker.releaseRetries(now: DispatchTime.now().uptimeNanoseconds) > 0 { wake.yield() }
            if sincePublish >= .seconds(1) {
                sincePublish = .zero
                checkDatabaseFile()
                checkInboxFolder()
                sweepRejectedFolderWhenDue()
                sinceNotReadCheck += .seconds(1)
                if sinceNotReadCheck >= Self.notReadCheckInterval {
                    sinceNotReadCheck = .zero
                    forgetNotReadFilesThatWent()
                    lookAgainAtArchivedFilesNotInBooksSoon()
                }
                let snapshot = snapshot()
                sinceHeartbeat += .seconds(1)
                // Also once a minute unchanged: `ledgerd status` tells a report that stopped
                // coming (the books cannot be written) from a daemon with nothing new to say.
                if snapshot != lastPublished || sinceHeartbeat >= Self.heartbeat {
                    publish(snapshot)
                    lastPublished = snapshot
                    sinceHeartbeat = .zero
                }
            }
        }
    }

    func watchLoop(_ watcher: InotifyWatcher) async {
        for await event in watcher.events {
            switch event {
            case .fileReady(let path):
                observe(path: path, complete: true)
            case .folderAdded(let path):
                // Files written right after mkdir may have no event of their own.
                var found: [InboxFile] = []
                InboxScanner.walk(
                    path, inbox: InboxScanner.inbox(ofPath: path + "/x", inboxRoot: settings.inbox),
                    excluding: settings.excluding, isIgnored: settings.isIgnored, logger: logger, into: &found)
                for file in found { observe(path: file.path, complete: false) }
            case .overflow:
                // The watcher has said why (its queue overflowed, or a watched folder was lost).
                logger.warning("the watcher may have missed changes; rescanning the inbox")
                scan()
            }
        }
        guard !isShuttingDown else { return }
        status.withLock { $0.watcherAlive = false }
        fallBackToPolling("the inotify watcher stopped")
        // Returning would end the daemon (the first task to return stops the others).
        while !isShuttingDown, !Task.isCancelled { try? await Task.sleep(for: .milliseconds(200)) }
    }

    /// Scans every `poll_interval` from now on, as in `[watch] mode = "poll"`: every file is
    /// still found, only later.
    func fallBackToPolling(_ why: String) {
        status.withLock { $0.watchMode = .poll }
        noteError("\(why); polling the inbox every \(DurationParser.format(settings.pollInterval)) instead")
    }

    /// A full scan of the inbox folders.
    func scan() {
        let files = InboxScanner.scan(
            root: settings.inbox, excluding: settings.excluding, isIgnored: settings.isIgnored, logger: logger)
        let seen = Set(files.map(\.path))
        var ready = false
        var leftInPlace: [InboxFile] = []
        for file in files {
            if InboxScanner.readInboxes.contains(file.inbox) {
                ready = observe(file, complete: false) || ready
            } else {
                leftInPlace.append(file)
            }
        }
        noteLeftInPlace(leftInPlace)
        let present = Set(files.map { PathKey($0.path) })
        status.withLock { s in s.notRead = s.notRead.filter { present.contains($0.key) } }
        for path in tracker.settlingPaths() where !seen.contains(path) { tracker.vanished(path) }
        status.withLock { $0.lastRescan = Timestamp.now() }
        if ready { wake.yield() }
    }

    /// How often the files left in place (of inboxes this version does not read) are looked
    /// at again. The watcher reports files that arrive, not files that go.
    static let notReadCheckInterval = Duration.seconds(5)

    /// Files left in place that were deleted, or moved or renamed (their new name is reported
    /// as it arrives), since they were counted: no longer waiting, they leave the count within
    /// `notReadCheckInterval`, not at the next full scan.
    func forgetNotReadFilesThatWent() {
        let counted = status.withLock { Array($0.notRead.keys) }
        guard !counted.isEmpty else { return }
        let gone = Set(counted.filter { FileSystem.identity(of: $0.path) == nil })
        guard !gone.isEmpty else { return }
        status.withLock { s in s.notRead = s.notRead.filter { !gone.contains($0.key) } }
    }

    /// How often the rejected folder is looked through for files the bookkeeper removed (the
    /// folder is not watched): what was deleted there leaves the status page within a minute.
    static let sweepInterval: UInt64 = 60_000_000_000

    /// Resolves the problems whose files were removed from the rejected folder, every
    /// `sweepInterval`. Off the tick loop, which the watchdog listens to: a rejected folder on
    /// a slow share, or with large files to hash, must not make the daemon look hung.
    func sweepRejectedFolderWhenDue() {
        let now = DispatchTime.now().uptimeNanoseconds
        let due = status.withLock { s in
            guard s.lastSweep.map({ now &- $0 >= Self.sweepInterval }) ?? true else { return false }
            s.lastSweep = now
            return true
        }
        if due, !sweeping.exchange(true, ordering: .acquiring) {
            DispatchQueue.global(qos: .utility).async {
                self.pipeline.resolveProblemsRemovedFromRejectedFolder()
                self.sweeping.store(false, ordering: .releasing)
            }
        }
    }

    /// Files in the archive whose bytes the books do not know: the books were restored from a
    /// backup taken before those files were posted, and hold none of them. Looked for once, at
    /// start; said in the log and on the page, with how to post them again.
    func checkArchiveAgainstBooks() {
        let archive = pipeline.settings.archive
        let unknown: [String]
        do {
            unknown = try store.unknownToTheBooks(ArchiveLayout.archivedFiles(in: archive))
        } catch {
            logger.warning("could not compare the archive with the books", metadata: ["error": "\(error)"])
            return
        }
        status.withLock { $0.archiveNotInBooks = unknown }
        guard let example = unknown.last else { return }
        logger.warning(
            "the archive \(archive) holds \(unknown.count) file\(unknown.count == 1 ? "" : "s") the books do not know (such as \(OneLine.escaped(example))): were the books restored from an older backup? Copy them into the inbox to post them again (README, Back up and restore)"
        )
    }

    /// The archived files the books did not know, looked up again every
    /// `notReadCheckInterval`, off the tick loop: once dropped into the inbox again and posted,
    /// they leave the count.
    func lookAgainAtArchivedFilesNotInBooksSoon() {
        guard status.withLock({ !$0.archiveNotInBooks.isEmpty }), !lookingAtArchive.exchange(true, ordering: .acquiring)
        else { return }
        DispatchQueue.global(qos: .utility).async {
            defer { self.lookingAtArchive.store(false, ordering: .releasing) }
            let counted = self.status.withLock { $0.archiveNotInBooks }
            guard let unknown = try? self.store.unknownToTheBooks(counted), unknown != counted else { return }
            // Only what was counted leaves it (the first look may have ended meanwhile).
            let gone = Set(counted).subtracting(unknown)
            self.status.withLock { $0.archiveNotInBooks.removeAll { gone.contains($0) } }
            if unknown.isEmpty { self.logger.notice("the books now know every file in the archive") }
        }
    }

    func recheckSettling() {
        var ready = false
        for path in tracker.settlingPaths() {
            if FileSystem.lstatSizeAndTime(path) == nil {
                tracker.vanished(path)
            } else {
                ready = observe(path: path, complete: false, wakeNow: false) || ready
            }
        }
        if ready { wake.yield() }
    }

    @discardableResult
    func observe(path: String, complete: Bool, wakeNow: Bool = true) -> Bool {
        let name = FileSystem.lastComponent(path)
        guard !settings.isIgnored(name), !settings.excluding.contains(where: { PathBytes.isInside(path, $0) }) else {
            return false
        }
        guard let inbox = InboxScanner.inbox(forFile: path, inboxRoot: settings.inbox, excluding: settings.excluding)
        else { return false }
        let ready = observe(InboxFile(path: path, inbox: inbox), complete: complete)
        if ready, wakeNow { wake.yield() }
        return ready
    }

    func observe(_ file: InboxFile, complete: Bool) -> Bool {
        guard let info = FileSystem.lstatSizeAndTime(file.path) else { return false }
        if info.type == .directory { return false }
        guard InboxScanner.readInboxes.contains(file.inbox) else {
            noteLeftInPlace([file])
            return false
        }
        return tracker.observe(
            .init(
                path: file.path, inbox: file.inbox, size: info.size, mtimeNanos: info.mtimeNanos,
                complete: complete || info.type != .regular, ageNanos: FileSystem.ageNanos(ofTime: info.mtimeNanos)),
            now: DispatchTime.now().uptimeNanoseconds)
    }

    /// How many files left in place are named, per inbox: by one look in the log (the rest of
    /// each inbox's are one line, so that a start beside thousands of parked files does not
    /// bury the log), and in the state (`InboxCounts.notReadNames`).
    static let leftInPlaceNamed = 3

    /// Where a file lies in the inbox: a file at its root, or in a folder someone made there,
    /// belongs to the inbox of its type, whose folder it is not in.
    func place(_ path: String) -> String {
        PathBytes.below(path, settings.inbox).map { String(decoding: $0, as: UTF8.self) } ?? path
    }

    /// Counts files of inboxes this version does not read, left where they are, and logs the
    /// ones not counted before.
    func noteLeftInPlace(_ files: [InboxFile]) {
        let new = status.withLock { s in
            files.filter { s.notRead.updateValue($0.inbox, forKey: PathKey($0.path)) == nil }
        }
        for inbox in InboxScanner.inboxes + [InboxScanner.otherFiles] {
            let ofInbox = new.filter { $0.inbox == inbox }
            for file in ofInbox.prefix(Self.leftInPlaceNamed) {
                logger.notice("left in place: \(OneLine.escaped(place(file.path))) — \(InboxScanner.notReadYet(inbox))")
            }
            if ofInbox.count > Self.leftInPlaceNamed {
                let more = ofInbox.count - Self.leftInPlaceNamed
                let whose = inbox == InboxScanner.otherFiles ? "of other kinds" : "for the \(inbox) inbox"
                logger.notice(
                    "left in place: \(more) more file\(more == 1 ? "" : "s") \(whose) — \(InboxScanner.notReadYet(inbox, files: more))"
                )
            }
        }
    }

    // MARK: - Publishing

    func publish(_ snapshot: Snapshot? = nil) {
        let snapshot = snapshot ?? self.snapshot()
        do {
            let encoder = JSONEncoder()
            encoder.keyEncodingStrategy = .convertToSnakeCase
            let json = String(decoding: try encoder.encode(snapshot), as: UTF8.self)
            try store.saveDaemonState(pid: snapshot.pid, json: json, now: Timestamp.now())
            if publishFailing.exchange(false, ordering: .relaxed) {
                logger.notice("the daemon state is published again")
            }
        } catch {
            // Said once, not at every change: while the disk is full, every retry changes it.
            if !publishFailing.exchange(true, ordering: .relaxed) {
                let why = store.writeFailure(error)
                logger.warning(
                    "could not publish the daemon state, so ledgerd status shows an older one until it can: \(why)")
            }
        }
    }
}

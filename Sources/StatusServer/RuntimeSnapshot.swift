/// What the daemon knows that the database does not (the daemon fills it in; the server asks
/// for a fresh one on every `/api/status`, `/healthz` and `/metrics` request, so it must be
/// cheap: a copy of state the daemon already holds).
public struct RuntimeSnapshot: Sendable, Codable, Equatable {
    /// One inbox folder and the work waiting in it.
    public struct Inbox: Sendable, Codable, Equatable {
        /// `ehf`, `wise`, `checks`.
        public var name: String
        /// Complete files waiting for the pipeline.
        public var waiting: Int
        /// Files still being written (not yet settled).
        public var settling: Int
        /// Files in the batch in hand.
        public var processing: Int
        /// Files of the current burst finished, and the burst's size (0/0 when idle). The page
        /// shows a progress bar while `burstTotal > 0 && burstDone < burstTotal`.
        public var burstDone: Int
        public var burstTotal: Int
        /// Files this version does not read (Wise files, scanned checks), left where they are.
        /// The entry named `other` (not an inbox) counts the files at the inbox's root, or in
        /// folders made there, of a type no inbox takes.
        public var notRead: Int
        /// The first few of those by where they lie below the inbox folder.
        public var notReadNames: [String]

        /// The files the daemon has yet to finish: waiting, settling or in hand.
        public var backlog: Int { waiting + settling + processing }

        public init(
            name: String, waiting: Int, settling: Int, processing: Int, burstDone: Int, burstTotal: Int,
            notRead: Int = 0, notReadNames: [String] = []
        ) {
            self.name = name
            self.waiting = waiting
            self.settling = settling
            self.processing = processing
            self.burstDone = burstDone
            self.burstTotal = burstTotal
            self.notRead = notRead
            self.notReadNames = notReadNames
        }
    }

    /// When the daemon started, ISO-8601 (`2026-11-21T10:00:00Z`).
    public var startedAt: String
    /// `inotify` or `poll`.
    public var watchMode: String
    /// When the last full rescan of the inboxes finished, ISO-8601.
    public var lastRescan: String?
    public var inboxes: [Inbox]
    /// Newest first, bounded by the daemon (the page shows at most 20).
    public var recentErrors: [String]
    public var watcherAlive: Bool
    public var schedulerAlive: Bool
    /// Why the daemon cannot write to the database now (disk full, read-only, the file deleted
    /// while it ran); nil while it can.
    public var databaseProblem: String?
    /// Why files do not get through although the database takes writes (a batch stuck on a
    /// read, the archive or rejected folder not taking files); nil while they do.
    public var processingProblem: String?
    /// How long the file waiting longest has waited, in seconds; nil when none waits.
    public var oldestWaitingSeconds: Int?
    /// Files in the archive whose bytes the books do not know (books restored from an older
    /// backup), and one of them, below the archive folder.
    public var archiveNotInBooks: Int
    public var archiveNotInBooksExample: String?

    public init(
        startedAt: String, watchMode: String, lastRescan: String?, inboxes: [Inbox], recentErrors: [String],
        watcherAlive: Bool, schedulerAlive: Bool, databaseProblem: String? = nil, processingProblem: String? = nil,
        oldestWaitingSeconds: Int? = nil, archiveNotInBooks: Int = 0, archiveNotInBooksExample: String? = nil
    ) {
        self.archiveNotInBooks = archiveNotInBooks
        self.archiveNotInBooksExample = archiveNotInBooksExample
        self.oldestWaitingSeconds = oldestWaitingSeconds
        self.databaseProblem = databaseProblem
        self.processingProblem = processingProblem
        self.startedAt = startedAt
        self.watchMode = watchMode
        self.lastRescan = lastRescan
        self.inboxes = inboxes
        self.recentErrors = recentErrors
        self.watcherAlive = watcherAlive
        self.schedulerAlive = schedulerAlive
    }
}

/// The state-changing actions the page can ask for (behind the bearer token).
public protocol StatusActions: Sendable {
    /// Moves a rejected file back into its inbox for another try: the rejected copy of document
    /// `documentID` when given (found by its bytes, whatever name it has in the rejected
    /// folder), else the file `name` there. Returns a sentence for the page ("invoice-17.xml is
    /// back in the ehf inbox"). Throw `StatusActionError.notFound` for an unknown one (404); any
    /// other error is reported as a 500 with its description.
    func retryRejected(name: String?, documentID: Int64?) async throws -> String
    /// Starts a rescan of every inbox now.
    func rescan() async
}

/// Errors an action can throw to choose the HTTP status.
public enum StatusActionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Nothing of that name (404).
    case notFound(String)
    /// The request cannot be carried out as asked (409).
    case conflict(String)

    public var description: String {
        switch self {
        case .notFound(let message), .conflict(let message): return message
        }
    }
}

import HeapModule
public import Ingest
import LedgerCore
import Synchronization

/// Every file the daemon knows about and has not finished with: the in-flight set (a path is
/// never queued twice), settle detection, and retry backoff. Pure bookkeeping, no I/O: the
/// caller passes in what it observed and the current time, so it is tested exhaustively.
public final class FileTracker: Sendable {
    public enum State: String, Sendable, Codable {
        /// Seen, not yet known to be complete.
        case settling
        /// Complete; waiting for the pipeline.
        case waiting
        /// In the pipeline now.
        case processing
        /// Failed for a transient reason; waiting for its next try.
        case retrying
    }

    public struct Entry: Sendable, Equatable {
        public var path: String
        public var inbox: String
        public var state: State
        public var size: Int64
        public var mtimeNanos: Int64
        /// When the file was first seen (for drop→posted latency), in monotonic nanoseconds.
        public var firstSeen: UInt64
        /// When size or mtime last changed, or the file was last reported closed.
        public var lastChange: UInt64
        public var attempts: Int
        public var retryAt: UInt64
        public var lastError: String?
        /// Seen changed, or closed after writing, while it was in the pipeline: a new file
        /// dropped under the same name as the pipeline moved the last one out. It is looked at
        /// again when the pipeline is done instead of waiting for the next rescan.
        public var changedWhileTaken = false
        public var closedWhileTaken = false
        /// Found in another ledgerd run's hands, or locked by another program, and not taken
        /// since: said once, not at every look.
        public var heldElsewhere = false

        /// Back to settling, with its size unknown so that the next look counts as a change:
        /// it is taken again once it has stayed still for the settle interval.
        mutating func settleAgain(now: UInt64) {
            state = .settling
            size = -1
            lastChange = now
        }
    }

    /// What a scan or the watcher saw of one file.
    public struct Observation: Sendable {
        public var path: String
        public var inbox: String
        public var size: Int64
        public var mtimeNanos: Int64
        /// Reported closed after writing or moved in whole (inotify): complete now.
        public var complete: Bool
        /// The file's modification time in wall-clock nanoseconds and the wall clock now, so a
        /// file untouched for longer than the settle interval is taken at once after a restart.
        public var ageNanos: Int64

        public init(path: String, inbox: String, size: Int64, mtimeNanos: Int64, complete: Bool, ageNanos: Int64) {
            self.path = path
            self.inbox = inbox
            self.size = size
            self.mtimeNanos = mtimeNanos
            self.complete = complete
            self.ageNanos = ageNanos
        }
    }

    struct Burst {
        var total = 0
        var done = 0
    }

    /// A waiting file in the order files are taken: first seen first.
    struct Queued: Comparable {
        var firstSeen: UInt64
        var path: String
        static func < (a: Queued, b: Queued) -> Bool { (a.firstSeen, a.path) < (b.firstSeen, b.path) }
    }

    struct Contents {
        /// Keyed by the path's bytes: two names that are equal as strings (canonically
        /// equivalent, as "é" and "e" + U+0301 are) are two files.
        var entries: [PathKey: Entry] = [:]
        var bursts: [String: Burst] = [:]
        /// The waiting files, so taking a batch does not sort the whole backlog each time.
        /// Items whose entry has since changed are skipped when they come up.
        var waiting = Heap<Queued>()

        /// A file just finished with (`entry`, now removed) that was seen changed or closed
        /// while it was taken: the file it was is gone (archived or rejected), and what lies
        /// at the path now is another. Closed after writing, it is taken at once; otherwise it
        /// settles (size unknown, so the next look counts as a change). A path found empty is
        /// released by the pipeline or forgotten as vanished.
        mutating func lookAgainIfChanged(_ entry: Entry, now: UInt64) {
            guard entry.changedWhileTaken else { return }
            store(
                Entry(
                    path: entry.path, inbox: entry.inbox, state: entry.closedWhileTaken ? .waiting : .settling,
                    size: -1, mtimeNanos: 0, firstSeen: now, lastChange: now, attempts: 0, retryAt: 0, lastError: nil))
            bursts[entry.inbox, default: Burst()].total += 1
        }

        /// Stores `entry`, queueing it when it has just become waiting.
        mutating func store(_ entry: Entry) {
            let wasWaiting = entries[PathKey(entry.path)]?.state == .waiting
            entries[PathKey(entry.path)] = entry
            if entry.state == .waiting, !wasWaiting {
                waiting.insert(Queued(firstSeen: entry.firstSeen, path: entry.path))
            }
        }
    }

    private let contents = Mutex(Contents())
    public let settleNanos: UInt64
    public let maxBackoffNanos: UInt64

    public init(settle: Duration, maxBackoff: Duration = .seconds(300)) {
        settleNanos = UInt64(max(0, settle.nanoseconds))
        maxBackoffNanos = UInt64(max(1, maxBackoff.nanoseconds))
    }

    /// Records what was seen. Returns true when the file became ready to process.
    @discardableResult
    public func observe(_ o: Observation, now: UInt64) -> Bool {
        var o = o
        // An empty file closed after writing is usually a copy that was created first and is
        // written next (Samba, some editors): wait for it to settle instead.
        if o.complete, o.size == 0 { o.complete = false }
        return contents.withLock { c in
            if var entry = c.entries[PathKey(o.path)] {
                switch entry.state {
                case .waiting:
                    return false
                case .processing:
                    if o.complete || o.size != entry.size || o.mtimeNanos != entry.mtimeNanos {
                        entry.changedWhileTaken = true
                        entry.closedWhileTaken = entry.closedWhileTaken || o.complete
                        c.entries[PathKey(o.path)] = entry
                    }
                    return false
                case .retrying:
                    if o.size != entry.size || o.mtimeNanos != entry.mtimeNanos {
                        // Changed since it failed (e.g. rewritten): settle again, try sooner.
                        entry.size = o.size
                        entry.mtimeNanos = o.mtimeNanos
                        entry.lastChange = now
                        entry.state = o.complete ? .waiting : .settling
                        c.store(entry)
                        return o.complete
                    }
                    return false
                case .settling:
                    if o.complete {
                        entry.state = .waiting
                    } else if o.size != entry.size || o.mtimeNanos != entry.mtimeNanos {
                        entry.size = o.size
                        entry.mtimeNanos = o.mtimeNanos
                        entry.lastChange = now
                    } else if now &- entry.lastChange >= settleNanos {
                        entry.state = .waiting
                    }
                    entry.size = o.size
                    entry.mtimeNanos = o.mtimeNanos
                    c.store(entry)
                    return entry.state == .waiting
                }
            }
            let settled = o.complete || o.ageNanos >= Int64(settleNanos)
            c.store(
                Entry(
                    path: o.path, inbox: o.inbox, state: settled ? .waiting : .settling, size: o.size,
                    mtimeNanos: o.mtimeNanos, firstSeen: now, lastChange: now, attempts: 0, retryAt: 0, lastError: nil))
            c.bursts[o.inbox, default: Burst()].total += 1
            return settled
        }
    }

    /// The files still settling: the caller looks at each again (stat) and reports what it
    /// sees through `observe`, which decides when one has been still for long enough.
    public func settlingPaths() -> [String] {
        contents.withLock { c in c.entries.values.filter { $0.state == .settling }.map(\.path) }
    }

    /// Moves retrying files whose backoff has passed back to waiting; returns how many.
    ///
    /// Once one is due, those falling due within the next second go with it: files that
    /// failed together a few batches apart (an archive that cannot take files) are then tried
    /// again as one batch, and logged as one line per try, instead of drifting apart for ever.
    @discardableResult
    public func releaseRetries(now: UInt64) -> Int {
        contents.withLock { c in
            guard c.entries.values.contains(where: { $0.state == .retrying && $0.retryAt <= now }) else { return 0 }
            let until = now &+ Self.retriesTakenTogether
            var released = 0
            for var entry in c.entries.values where entry.state == .retrying && entry.retryAt <= until {
                entry.state = .waiting
                c.store(entry)
                released += 1
            }
            return released
        }
    }

    /// How far ahead of its time a retry is brought forward to go with one that is due.
    static let retriesTakenTogether: UInt64 = 1_000_000_000

    /// Forgets a settling file that disappeared before it was taken (moved away, renamed).
    public func vanished(_ path: String) {
        contents.withLock { c in
            if let entry = c.entries[PathKey(path)], entry.state == .settling || entry.state == .retrying {
                c.entries[PathKey(path)] = nil
                c.bursts[entry.inbox, default: Burst()].total -= 1
            }
        }
    }

    /// Takes up to `limit` waiting files, oldest first, marking them processing.
    public func takeWaiting(limit: Int) -> [InboxFile] {
        contents.withLock { c in
            var taken: [InboxFile] = []
            while taken.count < limit, let next = c.waiting.popMin() {
                guard var entry = c.entries[PathKey(next.path)], entry.state == .waiting,
                    entry.firstSeen == next.firstSeen
                else { continue }
                entry.state = .processing
                c.entries[PathKey(next.path)] = entry
                taken.append(InboxFile(path: entry.path, inbox: entry.inbox))
            }
            return taken
        }
    }

    /// Records the pipeline's results. Finished files leave the tracker; transient failures
    /// wait with exponential backoff (1 s, 2 s, 4 s … up to `maxBackoff`). Returns each
    /// finished file's time since it was first seen, in nanoseconds.
    @discardableResult
    public func finished(_ results: [FileResult], now: UInt64) -> [(FileResult, UInt64)] {
        contents.withLock { c in
            var latencies: [(FileResult, UInt64)] = []
            for result in results {
                guard var entry = c.entries[PathKey(result.file.path)] else { continue }
                if result.outcome == .failed, result.reason?.code == Pipeline.incompleteCode {
                    // Still being copied (closed and reopened by the program copying it): not a
                    // failure, so no backoff; it is taken again once it has settled.
                    entry.settleAgain(now: now)
                    c.entries[PathKey(result.file.path)] = entry
                } else if result.outcome == .failed {
                    entry.attempts += 1
                    let backoff = min(maxBackoffNanos, 1_000_000_000 << UInt64(min(entry.attempts - 1, 20)))
                    entry.retryAt = now + backoff
                    entry.state = .retrying
                    entry.lastError = result.reason?.message
                    c.entries[PathKey(result.file.path)] = entry
                } else {
                    c.entries[PathKey(result.file.path)] = nil
                    c.bursts[entry.inbox, default: Burst()].done += 1
                    latencies.append((result, now &- entry.firstSeen))
                    c.lookAgainIfChanged(entry, now: now)
                }
            }
            // A burst ends when its inbox is empty again.
            for inbox in c.bursts.keys where !c.entries.values.contains(where: { $0.inbox == inbox }) {
                c.bursts[inbox] = Burst()
            }
            return latencies
        }
    }

    /// Files that were taken but never reported (the pipeline skipped them as vanished).
    public func release(_ files: [InboxFile], now: UInt64) {
        contents.withLock { c in
            for file in files {
                guard let entry = c.entries[PathKey(file.path)], entry.state == .processing else { continue }
                c.bursts[entry.inbox, default: Burst()].total -= 1
                c.entries[PathKey(file.path)] = nil
                c.lookAgainIfChanged(entry, now: now)
            }
        }
    }

    /// Files that were taken but never reported and are still there: in another ledgerd
    /// run's hands (`ledgerd ingest` beside the daemon), or locked by another program. They
    /// settle again and are taken once more, by when the other run has moved them (and they
    /// are gone) or let go of them unmoved (and they are posted here). Returns the ones found
    /// held for the first time, to be said once.
    @discardableResult
    public func settleAgain(_ files: [InboxFile], now: UInt64) -> [InboxFile] {
        contents.withLock { c in
            var first: [InboxFile] = []
            for file in files {
                guard var entry = c.entries[PathKey(file.path)], entry.state == .processing else { continue }
                if !entry.heldElsewhere { first.append(file) }
                entry.heldElsewhere = true
                entry.settleAgain(now: now)
                // Settling again looks at the file afresh: a change seen meanwhile is no news.
                entry.changedWhileTaken = false
                entry.closedWhileTaken = false
                c.entries[PathKey(file.path)] = entry
            }
            return first
        }
    }

    /// Files that were taken but not started (a stop came first): waiting again.
    public func putBack(_ files: [InboxFile]) {
        contents.withLock { c in
            for file in files {
                guard var entry = c.entries[PathKey(file.path)], entry.state == .processing else { continue }
                entry.state = .waiting
                c.store(entry)
            }
        }
    }

    public struct InboxCounts: Sendable, Equatable, Codable {
        public var inbox: String
        public var settling = 0
        public var waiting = 0
        public var processing = 0
        public var retrying = 0
        public var burstTotal = 0
        public var burstDone = 0
        /// Files in an inbox this version does not read (`InboxScanner.readInboxes`), left
        /// where they are; not part of the backlog. Filled in by the daemon, not the tracker.
        public var notRead = 0
        /// The first few of them by name, where they lie below the inbox folder
        /// (`wise/statement.csv`, `Faktura mai.pdf`), so that whoever dropped one finds it.
        public var notReadNames: [String] = []
        public var backlog: Int { settling + waiting + processing + retrying }

        public init(inbox: String) { self.inbox = inbox }

        // Written by hand so that a state saved by an earlier version, without `notRead`, still reads.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            inbox = try c.decode(String.self, forKey: .inbox)
            settling = try c.decode(Int.self, forKey: .settling)
            waiting = try c.decode(Int.self, forKey: .waiting)
            processing = try c.decode(Int.self, forKey: .processing)
            retrying = try c.decode(Int.self, forKey: .retrying)
            burstTotal = try c.decode(Int.self, forKey: .burstTotal)
            burstDone = try c.decode(Int.self, forKey: .burstDone)
            notRead = try c.decodeIfPresent(Int.self, forKey: .notRead) ?? 0
            notReadNames = try c.decodeIfPresent([String].self, forKey: .notReadNames) ?? []
        }
    }

    /// When the file waiting longest (settling, waiting, in hand or to be tried again) was
    /// first seen, in monotonic nanoseconds; nil when none waits.
    public func oldestFirstSeen() -> UInt64? {
        contents.withLock { c in c.entries.values.lazy.map(\.firstSeen).min() }
    }

    public func counts(inboxes: [String]) -> [InboxCounts] {
        contents.withLock { c in Self.counts(c, inboxes: inboxes) }
    }

    /// The counts and the first `limit` files, as of one moment: read apart, a file taken in
    /// between was counted waiting and listed as processing.
    public func countsAndEntries(inboxes: [String], limit: Int) -> (counts: [InboxCounts], entries: [Entry]) {
        contents.withLock { c in (Self.counts(c, inboxes: inboxes), Self.entries(c, limit: limit)) }
    }

    private static func counts(_ c: Contents, inboxes: [String]) -> [InboxCounts] {
        var counts = Dictionary(uniqueKeysWithValues: inboxes.map { ($0, InboxCounts(inbox: $0)) })
        for entry in c.entries.values {
            var count = counts[entry.inbox] ?? InboxCounts(inbox: entry.inbox)
            switch entry.state {
            case .settling: count.settling += 1
            case .waiting: count.waiting += 1
            case .processing: count.processing += 1
            case .retrying: count.retrying += 1
            }
            counts[entry.inbox] = count
        }
        for (inbox, burst) in c.bursts {
            counts[inbox, default: InboxCounts(inbox: inbox)].burstTotal = burst.total
            counts[inbox, default: InboxCounts(inbox: inbox)].burstDone = burst.done
        }
        return counts.values.sorted { $0.inbox < $1.inbox }
    }

    public func entries(limit: Int) -> [Entry] {
        contents.withLock { c in Self.entries(c, limit: limit) }
    }

    private static func entries(_ c: Contents, limit: Int) -> [Entry] {
        Array(c.entries.values.sorted { $0.firstSeen < $1.firstSeen }.prefix(limit))
    }

    public var isEmpty: Bool { contents.withLock { $0.entries.isEmpty } }
}

import Daemon
import Ingest
import LedgerCore
import Synchronization
import Testing

@Suite struct FileTrackerTests {
    let second: UInt64 = 1_000_000_000

    func observation(_ path: String, size: Int64 = 10, mtime: Int64 = 1, complete: Bool = false, age: Int64 = 0)
        -> FileTracker.Observation
    {
        .init(path: path, inbox: "ehf", size: size, mtimeNanos: mtime, complete: complete, ageNanos: age)
    }

    @Test func aFileClosedAfterWritingIsReadyAtOnce() {
        let tracker = FileTracker(settle: .seconds(1))
        #expect(tracker.observe(observation("/i/ehf/a.xml", complete: true), now: 0))
        #expect(tracker.takeWaiting(limit: 10).map(\.path) == ["/i/ehf/a.xml"])
    }

    @Test func anOldFileFoundByAScanIsReadyAtOnce() {
        let tracker = FileTracker(settle: .seconds(1))
        #expect(tracker.observe(observation("/i/ehf/a.xml", age: 5 * Int64(second)), now: 0))
    }

    @Test func aFreshFileSettlesOnlyAfterStayingStillForTheInterval() {
        let tracker = FileTracker(settle: .seconds(1))
        #expect(!tracker.observe(observation("/i/ehf/a.xml", size: 10, mtime: 1), now: 0))
        #expect(tracker.settlingPaths() == ["/i/ehf/a.xml"])
        // Still growing: the clock restarts.
        #expect(!tracker.observe(observation("/i/ehf/a.xml", size: 20, mtime: 2), now: 900_000_000))
        #expect(!tracker.observe(observation("/i/ehf/a.xml", size: 20, mtime: 2), now: 1_500_000_000))
        #expect(tracker.takeWaiting(limit: 10).isEmpty)
        // Unchanged for a full interval since the last change.
        #expect(tracker.observe(observation("/i/ehf/a.xml", size: 20, mtime: 2), now: 1_900_000_000))
        #expect(tracker.takeWaiting(limit: 10).count == 1)
    }

    /// A file left unreported because another run had it settles again, is said once however
    /// often it is found held, and is taken again once it has stayed still.
    @Test func aFileInAnotherRunsHandsSettlesAgainAndIsSaidOnce() {
        let tracker = FileTracker(settle: .seconds(1))
        let path = "/i/ehf/a.xml"
        #expect(tracker.observe(observation(path, complete: true), now: 0))
        var taken = tracker.takeWaiting(limit: 10)
        #expect(tracker.settleAgain(taken, now: 1).map(\.path) == [path])
        #expect(tracker.settlingPaths() == [path])
        #expect(tracker.counts(inboxes: ["ehf"]).first?.backlog == 1)
        // Looked at again a settle interval later, still held: not said again.
        #expect(!tracker.observe(observation(path), now: 2))
        #expect(tracker.observe(observation(path), now: 2 + second))
        taken = tracker.takeWaiting(limit: 10)
        #expect(taken.map(\.path) == [path])
        #expect(tracker.settleAgain(taken, now: 3 + second).isEmpty)
        // Not taken while settling; taken and finished once let go.
        #expect(tracker.takeWaiting(limit: 10).isEmpty)
        #expect(!tracker.observe(observation(path), now: 4 + second))
        #expect(tracker.observe(observation(path), now: 4 + 2 * second))
        taken = tracker.takeWaiting(limit: 10)
        tracker.finished(
            taken.map { FileResult(file: $0, outcome: .posted, documentID: 1, reason: nil, destination: nil) },
            now: 5 + 2 * second)
        #expect(tracker.counts(inboxes: ["ehf"]).first?.backlog == 0)
    }

    /// "é" precomposed and "e" + U+0301 are equal strings but different names on disk.
    @Test func namesThatAreEqualOnlyAsStringsAreTwoFiles() {
        let tracker = FileTracker(settle: .seconds(1))
        let composed = "/i/ehf/faktura-\u{E9}.xml"
        let decomposed = "/i/ehf/faktura-e\u{301}.xml"
        #expect(composed == decomposed)
        #expect(tracker.observe(observation(composed, complete: true), now: 0))
        #expect(tracker.observe(observation(decomposed, complete: true), now: 1))
        let taken = tracker.takeWaiting(limit: 10)
        #expect(taken.map { Array($0.path.utf8) } == [Array(composed.utf8), Array(decomposed.utf8)])
        #expect(Set(taken).count == 2)
        tracker.finished(
            taken.map { FileResult(file: $0, outcome: .posted, documentID: 1, reason: nil, destination: nil) }, now: 2)
        #expect(tracker.counts(inboxes: ["ehf"]).first?.processing == 0)
    }

    @Test func aFileInFlightIsNeverQueuedTwice() {
        let tracker = FileTracker(settle: .seconds(1))
        tracker.observe(observation("/i/ehf/a.xml", complete: true), now: 0)
        let taken = tracker.takeWaiting(limit: 10)
        #expect(taken.count == 1)
        // Seen again by a rescan and by inotify while it is being processed.
        #expect(!tracker.observe(observation("/i/ehf/a.xml", complete: true), now: 1))
        #expect(!tracker.observe(observation("/i/ehf/a.xml", age: 10 * Int64(second)), now: 2))
        #expect(tracker.takeWaiting(limit: 10).isEmpty)
        let counts = tracker.counts(inboxes: ["ehf"])
        #expect(counts.first?.processing == 1)
        #expect(counts.first?.burstTotal == 1)
    }

    /// A program that always writes the same name (an export, a scanner) drops its next file
    /// as the pipeline moves the last one out: the new one is taken once the pipeline is done,
    /// not left until the next rescan.
    @Test func aFileDroppedUnderTheSameNameWhileTheLastIsProcessedIsTakenNext() {
        let tracker = FileTracker(settle: .seconds(1))
        tracker.observe(observation("/i/ehf/export.xml", size: 10, mtime: 1, complete: true), now: 0)
        let firstTaken = tracker.takeWaiting(limit: 1)
        #expect(!tracker.observe(observation("/i/ehf/export.xml", size: 11, mtime: 2, complete: true), now: 1))
        #expect(tracker.takeWaiting(limit: 1).isEmpty)
        tracker.finished(
            firstTaken.map { FileResult(file: $0, outcome: .rejected, documentID: 1, reason: nil, destination: "/r") },
            now: 2)
        #expect(tracker.takeWaiting(limit: 1).map(\.path) == ["/i/ehf/export.xml"])
        #expect(tracker.counts(inboxes: ["ehf"]).first?.burstTotal == 2)

        // Seen only growing (not yet closed): it settles before it is taken.
        tracker.observe(observation("/i/ehf/b.xml", size: 10, mtime: 1, complete: true), now: 0)
        let secondTaken = tracker.takeWaiting(limit: 1)
        #expect(!tracker.observe(observation("/i/ehf/b.xml", size: 5, mtime: 3), now: 1))
        tracker.finished(
            secondTaken.map { FileResult(file: $0, outcome: .posted, documentID: 2, reason: nil, destination: "/a") },
            now: 2)
        #expect(tracker.settlingPaths() == ["/i/ehf/b.xml"])
        #expect(!tracker.observe(observation("/i/ehf/b.xml", size: 5, mtime: 3), now: 3))
        #expect(tracker.observe(observation("/i/ehf/b.xml", size: 5, mtime: 3), now: 3 + second))

        // A rescan seeing the file being processed unchanged is not a new file.
        tracker.observe(observation("/i/ehf/c.xml", complete: true), now: 0)
        let third = tracker.takeWaiting(limit: 10).filter { $0.path.hasSuffix("c.xml") }
        #expect(!tracker.observe(observation("/i/ehf/c.xml", age: 10 * Int64(second)), now: 1))
        tracker.finished(
            third.map { FileResult(file: $0, outcome: .posted, documentID: 3, reason: nil, destination: "/a") },
            now: 2)
        #expect(!tracker.entries(limit: 10).contains { $0.path.hasSuffix("c.xml") })

        // Gone when the pipeline came to read it, and a new one written since: taken next.
        tracker.observe(observation("/i/ehf/d.xml", complete: true), now: 0)
        let fourth = tracker.takeWaiting(limit: 10).filter { $0.path.hasSuffix("d.xml") }
        #expect(!tracker.observe(observation("/i/ehf/d.xml", size: 12, mtime: 4, complete: true), now: 1))
        tracker.release(fourth, now: 2)
        #expect(tracker.takeWaiting(limit: 10).map(\.path).contains("/i/ehf/d.xml"))
        // Released without a new one seen: forgotten.
        tracker.release(fourth, now: 3)
        #expect(!tracker.entries(limit: 10).contains { $0.path.hasSuffix("d.xml") })
    }

    @Test func filesTakenButNotStartedBeforeAStopAreWaitingAgain() {
        let tracker = FileTracker(settle: .seconds(1))
        tracker.observe(observation("/i/ehf/a.xml", complete: true), now: 0)
        tracker.observe(observation("/i/ehf/b.xml", complete: true), now: 1)
        let taken = tracker.takeWaiting(limit: 10)
        tracker.putBack(Array(taken.dropFirst()))
        #expect(tracker.counts(inboxes: ["ehf"]).first?.waiting == 1)
        #expect(tracker.counts(inboxes: ["ehf"]).first?.processing == 1)
        #expect(tracker.takeWaiting(limit: 10).map(\.path) == ["/i/ehf/b.xml"])
    }

    @Test func transientFailuresBackOffExponentially() {
        let tracker = FileTracker(settle: .seconds(1), maxBackoff: .seconds(3))
        tracker.observe(observation("/i/ehf/a.xml", complete: true), now: 0)
        var file = tracker.takeWaiting(limit: 1)[0]
        let failed = FileResult(
            file: file, outcome: .failed, documentID: nil, reason: Rejection("DATABASE", "disk full"), destination: nil)
        tracker.finished([failed], now: 0)
        #expect(tracker.counts(inboxes: ["ehf"]).first?.retrying == 1)
        #expect(tracker.releaseRetries(now: second - 1) == 0)
        #expect(tracker.releaseRetries(now: second) == 1)
        file = tracker.takeWaiting(limit: 1)[0]
        tracker.finished([failed], now: 10 * second)
        #expect(tracker.releaseRetries(now: 12 * second - 1) == 0)  // 2 s the second time
        #expect(tracker.releaseRetries(now: 12 * second) == 1)
        _ = tracker.takeWaiting(limit: 1)
        tracker.finished([failed], now: 20 * second)
        tracker.finished([], now: 20 * second)
        #expect(tracker.releaseRetries(now: 23 * second) == 1)  // capped at 3 s, not 4
        #expect(tracker.entries(limit: 1).first?.lastError == "disk full")
        #expect(tracker.entries(limit: 1).first?.attempts == 3)
        _ = file
    }

    /// Files that failed a few batches apart are tried again together once the first is
    /// due, so a stuck batch stays one batch (and one log line per try); nothing is tried
    /// before one of them is due, and a file due more than a second later keeps its time.
    @Test func retriesFallingDueTogetherAreReleasedTogether() {
        let tracker = FileTracker(settle: .seconds(1))
        for name in ["a", "b", "c"] {
            tracker.observe(observation("/i/ehf/\(name).xml", complete: true), now: 0)
        }
        let taken = tracker.takeWaiting(limit: 3)
        func failed(_ file: InboxFile) -> FileResult {
            FileResult(
                file: file, outcome: .failed, documentID: nil, reason: Rejection("MOVE", "not a directory"),
                destination: nil)
        }
        tracker.finished([failed(taken[0])], now: 10 * second)
        tracker.finished([failed(taken[1])], now: 10 * second + second * 3 / 10)
        tracker.finished([failed(taken[2])], now: 12 * second)
        #expect(tracker.releaseRetries(now: 11 * second - 1) == 0)
        #expect(tracker.releaseRetries(now: 11 * second) == 2)
        #expect(Set(tracker.takeWaiting(limit: 3).map(\.path)) == ["/i/ehf/a.xml", "/i/ehf/b.xml"])
        #expect(tracker.counts(inboxes: ["ehf"]).first?.retrying == 1)
    }

    /// A file found cut off while it is still being copied is not a failure: no attempt is
    /// counted and no backoff applies; it settles again and is taken once it stays still.
    @Test func aFileStillBeingCopiedSettlesAgainInsteadOfFailing() {
        let tracker = FileTracker(settle: .seconds(1))
        tracker.observe(observation("/i/ehf/a.xml", size: 10, mtime: 1, complete: true), now: 0)
        let file = tracker.takeWaiting(limit: 1)[0]
        let cutOff = FileResult(
            file: file, outcome: .failed, documentID: nil, reason: Rejection(Pipeline.incompleteCode, "cut off"),
            destination: nil)
        #expect(tracker.finished([cutOff], now: second).isEmpty)
        #expect(tracker.counts(inboxes: ["ehf"]).first?.settling == 1)
        #expect(tracker.counts(inboxes: ["ehf"]).first?.retrying == 0)
        #expect(tracker.entries(limit: 1).first?.attempts == 0)
        // The next look sees it as changed; it is taken after staying still for the interval.
        #expect(!tracker.observe(observation("/i/ehf/a.xml", size: 30, mtime: 2), now: 2 * second))
        #expect(!tracker.observe(observation("/i/ehf/a.xml", size: 30, mtime: 2), now: 2 * second + second / 2))
        #expect(tracker.observe(observation("/i/ehf/a.xml", size: 30, mtime: 2), now: 3 * second))
        #expect(tracker.takeWaiting(limit: 1).map(\.path) == ["/i/ehf/a.xml"])
    }

    @Test func finishedFilesLeaveAndReportTheirLatency() {
        let tracker = FileTracker(settle: .seconds(1))
        tracker.observe(observation("/i/ehf/a.xml", complete: true), now: 100)
        let file = tracker.takeWaiting(limit: 1)[0]
        let done = tracker.finished(
            [FileResult(file: file, outcome: .posted, documentID: 1, reason: nil, destination: "/a")], now: 350)
        #expect(done.map(\.1) == [250])
        #expect(tracker.isEmpty)
        // The burst is over once the inbox is empty.
        #expect(tracker.counts(inboxes: ["ehf"]).first?.burstTotal == 0)
    }

    @Test func aFileThatVanishesWhileSettlingIsForgotten() {
        let tracker = FileTracker(settle: .seconds(1))
        tracker.observe(observation("/i/ehf/a.xml"), now: 0)
        tracker.vanished("/i/ehf/a.xml")
        #expect(tracker.isEmpty)
    }

    @Test func takingRespectsTheLimitAndTheOrderFilesWereSeenIn() {
        let tracker = FileTracker(settle: .zero)
        for i in 0..<10 { tracker.observe(observation("/i/ehf/\(9 - i).xml", complete: true), now: UInt64(i)) }
        #expect(tracker.takeWaiting(limit: 3).map(\.path) == ["/i/ehf/9.xml", "/i/ehf/8.xml", "/i/ehf/7.xml"])
        #expect(tracker.counts(inboxes: ["ehf"]).first?.waiting == 7)
    }

    /// Random interleavings of scans, inotify events, takes and finishes: a path is never
    /// handed out while it is already being processed, and everything observed is handed out.
    @Test func neverHandsOutAPathTwiceAtOnce() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let tracker = FileTracker(settle: .nanoseconds(5))
            var processing = Set<String>()
            var everTaken = Set<String>()
            var observed = Set<String>()
            var now: UInt64 = 0
            for _ in 0..<300 {
                now += UInt64.random(in: 0...3, using: &generator)
                let path = "/i/ehf/\(Int.random(in: 0..<12, using: &generator)).xml"
                switch Int.random(in: 0..<4, using: &generator) {
                case 0, 1:
                    tracker.observe(
                        observation(path, size: 1, mtime: 1, complete: Bool.random(using: &generator)), now: now)
                    if !processing.contains(path) { observed.insert(path) }
                case 2:
                    for file in tracker.takeWaiting(limit: Int.random(in: 1...4, using: &generator)) {
                        #expect(!processing.contains(file.path))
                        processing.insert(file.path)
                        everTaken.insert(file.path)
                    }
                default:
                    if let path = processing.randomElement(using: &generator) {
                        processing.remove(path)
                        tracker.finished(
                            [
                                FileResult(
                                    file: InboxFile(path: path, inbox: "ehf"), outcome: .posted, documentID: 1,
                                    reason: nil, destination: nil)
                            ],
                            now: now)
                    }
                }
            }
            // Drain: everything observed is eventually handed out.
            for path in tracker.settlingPaths() {
                tracker.observe(observation(path, size: 1, mtime: 1), now: now + 100)
            }
            for file in tracker.takeWaiting(limit: 100) { everTaken.insert(file.path) }
            #expect(observed.isSubset(of: everTaken))
        }
    }

    /// What the status shows of the files (counts per state, and the files listed with their
    /// states) is read at one moment: while files are taken and put back meanwhile, the
    /// listed states always add up to the counts.
    @Test func countsAndListedFilesAgreeWhileFilesChangeState() async {
        let tracker = FileTracker(settle: .seconds(1))
        for i in 0..<20 { #expect(tracker.observe(observation("/i/ehf/\(i).xml", complete: true), now: 0)) }
        let done = Atomic<Bool>(false)
        let churn = Task.detached {
            while !done.load(ordering: .relaxed) { tracker.putBack(tracker.takeWaiting(limit: 7)) }
        }
        for _ in 0..<2_000 {
            let (counts, entries) = tracker.countsAndEntries(inboxes: ["ehf"], limit: 100)
            let ehf = counts.first { $0.inbox == "ehf" }
            #expect(ehf?.processing == entries.filter { $0.state == .processing }.count)
            #expect(ehf?.waiting == entries.filter { $0.state == .waiting }.count)
        }
        done.store(true, ordering: .relaxed)
        await churn.value
    }
}

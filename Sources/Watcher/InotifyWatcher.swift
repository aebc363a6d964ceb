// Recursive inotify watching of the inbox folders.
//
// Why libinotifytools, through the `CInotify` system-library target: raw inotify watches single
// folders; recursion (walk the tree, watch every folder, skip excluded ones, map each watch
// descriptor back to its path, follow renames) is exactly what libinotifytools already does and
// inotifywait has exercised for years. Swift has no inotify binding in Foundation, and a C library
// is reached through a module map, so a thin system-library target (`Sources/CInotify`: `shim.h`
// plus `link "inotifytools"`) exposes it; every C call stays inside this module (`LibInotify`).
//
// Why a dedicated thread: libinotifytools keeps all its state in C globals (one inotify
// descriptor, its watch records, a static event buffer) and `inotifytools_next_event` blocks in
// `select`. Blocking calls do not belong on the Swift concurrency pool, whose few threads run every
// task, and the global state must only ever be touched from one thread. So one `Thread` per process
// owns the library (`LibraryOwnership` refuses a second watcher), waits at most one second per call
// (the latency of `stop()`), copies each event out of the static buffer at once and hands it to the
// caller through an `AsyncStream`.

public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif
#if canImport(Foundation)
    import Foundation
#endif

/// Watches folders recursively with inotify and reports files that are ready and folders that
/// appeared. One watcher per process (see the comment at the top of this file).
///
/// The stream finishes when `stop()` was called (or the watcher was released, or the consumer
/// stopped iterating) and also if the watcher thread fails; a stream that ends without `stop()`
/// means inotify is no longer watching (the reason is logged), and `isAlive` is then false.
public final class InotifyWatcher: Sendable {
    /// How many events may wait in the stream for a slow consumer before the watcher stops
    /// buffering and reports `.overflow` instead.
    ///
    /// Why a bound and not `.unbounded`: a consumer that stalls (a long posting transaction, a huge
    /// file) while someone copies a big tree into the inbox would otherwise grow memory without
    /// limit, and the kernel's own queue already bounds at 16,384 events for the same reason. Events
    /// are never dropped silently: when the buffer is full, further events are discarded and a single
    /// `.overflow` is delivered as soon as there is room (at most a second later), after every
    /// discarded event happened, so the consumer's full rescan sees all of them. Memory: about
    /// 16,384 × (path length + 40 bytes), a few MB at most.
    static let defaultBufferLimit = 16_384

    private let control: WatcherControl
    private let stream: AsyncStream<WatchEvent>

    /// Starts watching `roots` recursively, skipping any folder in `excluding` (exact paths; e.g. the
    /// rejected folder lives inside the inbox). Throws a clear error (with errno text) if inotify
    /// cannot start or a root cannot be watched (e.g. max_user_watches reached).
    ///
    /// Paths are made absolute and lexically normalised (see `WatchEvent`); symbolic links inside the
    /// roots are not followed. If another watcher in this process was asked to stop, this waits (up
    /// to 3 s) for its thread to finish; if one is still running, this throws `alreadyRunning`.
    public convenience init(roots: [String], excluding: [String] = [], logger: Logger) throws {
        try self.init(roots: roots, excluding: excluding, logger: logger, bufferLimit: Self.defaultBufferLimit)
    }

    /// `bufferLimit`: see `defaultBufferLimit` (tests use a small one).
    init(roots: [String], excluding: [String], logger: Logger, bufferLimit: Int) throws {
        let token = LibraryOwnership.newToken()
        try LibraryOwnership.acquire(token)

        var uniqueRoots: [String] = []
        for root in roots.map(Paths.normalize) where !uniqueRoots.contains(root) {
            uniqueRoots.append(root)
        }
        let excluded = Array(Set(excluding.map(Paths.normalize))).sorted()
        let watchedRoots = uniqueRoots.filter { root in
            if excluded.contains(root) {
                logger.warning("not watching \(root): it is also in the excluded folders")
                return false
            }
            return true
        }
        do {
            for root in watchedRoots {
                let code = Paths.directoryError(root)
                if code != 0 { throw WatcherError.cannotWatch(path: root, errno: code) }
            }
            let code = LibInotify.initialize()
            if code != 0 { throw WatcherError.cannotStart(errno: code) }
            for root in watchedRoots {
                let code = LibInotify.watchTree(Array(root.utf8), excluding: excluded)
                if code != 0 {
                    LibInotify.cleanup()
                    throw WatcherError.cannotWatch(path: root, errno: code)
                }
            }
        } catch {
            LibraryOwnership.release(token)
            throw error
        }
        logger.info(
            "inotify watching \(LibInotify.watchCount) folders",
            metadata: ["roots": .array(watchedRoots.map { .string($0) }), "excluded": "\(excluded)"])

        let control = WatcherControl(token: token)
        let (stream, continuation) = AsyncStream.makeStream(
            of: WatchEvent.self, bufferingPolicy: .bufferingOldest(max(1, bufferLimit)))
        // A consumer that stops iterating (its task was cancelled) stops the watcher: nobody would
        // read what it reports.
        continuation.onTermination = { _ in control.requestStop() }
        self.control = control
        self.stream = stream

        control.alive.store(true, ordering: .releasing)
        let thread = Thread {
            let loop = WatchLoop(
                control: control, continuation: continuation, logger: logger, roots: watchedRoots,
                excluding: excluded)
            loop.run()
        }
        thread.name = "ledgerd-inotify"
        thread.start()
    }

    deinit {
        control.requestStop()
    }

    /// What the watcher saw, in order. Single consumer; keep the watcher referenced while consuming
    /// (releasing it stops it).
    public var events: AsyncStream<WatchEvent> { stream }

    /// Stops the watcher thread (within ~1 s) and finishes the stream. Idempotent.
    ///
    /// Returns at once; the stream finishes once the thread has released inotify, so a new watcher
    /// can start as soon as the stream has ended (or right away: it waits for this one).
    public func stop() {
        control.requestStop()
    }

    /// True while the watcher thread is running (for /healthz).
    public var isAlive: Bool { control.alive.load(ordering: .acquiring) }

    // MARK: - Test hooks

    /// Makes the thread stop reading inotify (so the kernel queue fills up) or resume.
    func pauseReadingForTesting(_ paused: Bool) {
        control.pauseReading.store(paused, ordering: .releasing)
    }

    /// True once the thread has noticed `pauseReadingForTesting(true)` and no longer reads.
    var readingIsPausedForTesting: Bool { control.readingPaused.load(ordering: .acquiring) }

    /// How many IN_Q_OVERFLOW events the kernel reported.
    var kernelOverflowCount: Int { control.kernelOverflows.load(ordering: .relaxed) }

    /// How many events were discarded because the stream's buffer was full.
    var bufferOverflowCount: Int { control.bufferOverflows.load(ordering: .relaxed) }
}

/// State shared by the watcher object and its thread.
final class WatcherControl: Sendable {
    let token: UInt64
    let stopRequested = Atomic<Bool>(false)
    let alive = Atomic<Bool>(false)
    let pauseReading = Atomic<Bool>(false)
    let readingPaused = Atomic<Bool>(false)
    let kernelOverflows = Atomic<Int>(0)
    let bufferOverflows = Atomic<Int>(0)

    init(token: UInt64) {
        self.token = token
    }

    func requestStop() {
        LibraryOwnership.markStopping(token)
        stopRequested.store(true, ordering: .releasing)
    }
}

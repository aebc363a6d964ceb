import Foundation
import Logging
import Synchronization
import Testing

@testable import Watcher

#if canImport(Glibc)
    import Glibc
#endif

/// A temporary folder tree, removed when released.
final class TempTree {
    let base: String

    init() throws {
        base = Paths.normalize(NSTemporaryDirectory() + "ledgerd-watch-" + UUID().uuidString)
        try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: base) }

    /// `base/relative`.
    func path(_ relative: String) -> String { base + "/" + relative }

    /// Creates `base/relative` (and its parents); returns the path.
    @discardableResult
    func makeFolder(_ relative: String) throws -> String {
        let folder = path(relative)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }
}

/// Writes `bytes` to `path` with open/write/close (one IN_CLOSE_WRITE, no temporary name).
func writeFile(_ path: String, _ text: String = "<Invoice/>\n") throws {
    let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
    guard fd >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    defer { close(fd) }
    let written = text.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) }
    guard written == text.utf8.count else { throw POSIXError(.EIO) }
}

func renameOrThrow(_ from: String, _ to: String) throws {
    guard rename(from, to) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
}

func quietLogger() -> Logger {
    var logger = Logger(label: "watcher-test")
    logger.logLevel = .critical
    return logger
}

/// Consumes a watcher's stream in a task and records what arrives.
final class EventLog: Sendable {
    private final class Box: Sendable {
        let events = Mutex<[WatchEvent]>([])
        let finished = Atomic<Bool>(false)
    }
    private let box = Box()

    init(_ stream: AsyncStream<WatchEvent>) {
        let box = box
        Task {
            for await event in stream { box.events.withLock { $0.append(event) } }
            box.finished.store(true, ordering: .releasing)
        }
    }

    var events: [WatchEvent] { box.events.withLock { $0 } }
    var finished: Bool { box.finished.load(ordering: .acquiring) }

    /// Waits until `predicate` holds for the events so far; false on timeout. The default
    /// bound says the event never came, not how fast it came: the suite's other work can hold
    /// the machine for seconds.
    func wait(for timeout: Duration = .seconds(30), until predicate: ([WatchEvent]) -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if predicate(events) { return true }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return predicate(events)
    }

    /// Waits until no event has arrived for `quiet` (false if that did not happen within
    /// `timeout`).
    func waitQuiet(for quiet: Duration, timeout: Duration = .seconds(30)) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        var count = events.count
        var since = ContinuousClock.now
        while ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
            let now = events.count
            if now != count {
                count = now
                since = ContinuousClock.now
            } else if ContinuousClock.now - since >= quiet {
                return true
            }
        }
        return false
    }

    /// Waits until `event` has arrived; false on timeout.
    func wait(for event: WatchEvent, timeout: Duration = .seconds(30)) async -> Bool {
        await wait(for: timeout) { $0.contains(event) }
    }

    /// Waits until the stream has finished; false on timeout.
    func waitFinished(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if finished { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return finished
    }

    /// Paths of all `fileReady` and `folderAdded` events so far.
    var paths: [String] {
        events.compactMap { event in
            switch event {
            case .fileReady(let path), .folderAdded(let path): return path
            case .overflow: return nil
            }
        }
    }
}

/// Starts a watcher (waiting while another test target's watcher holds the process-wide library),
/// runs `body`, and always stops it and waits for its thread to end, even when `body` throws.
func withWatcher(
    roots: [String], excluding: [String] = [], bufferLimit: Int = InotifyWatcher.defaultBufferLimit,
    _ body: (InotifyWatcher) async throws -> Void
) async throws {
    let watcher = try await startWatcher(roots: roots, excluding: excluding, bufferLimit: bufferLimit)
    do {
        try await body(watcher)
    } catch {
        await stopAndWait(watcher)
        throw error
    }
    await stopAndWait(watcher)
}

func startWatcher(
    roots: [String], excluding: [String] = [], bufferLimit: Int = InotifyWatcher.defaultBufferLimit
) async throws -> InotifyWatcher {
    let deadline = ContinuousClock.now + .seconds(30)
    while true {
        do {
            return try InotifyWatcher(
                roots: roots, excluding: excluding, logger: quietLogger(), bufferLimit: bufferLimit)
        } catch WatcherError.alreadyRunning where ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}

func stopAndWait(_ watcher: InotifyWatcher) async {
    watcher.stop()
    let deadline = ContinuousClock.now + .seconds(30)
    while watcher.isAlive && ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(10))
    }
}

import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// The watcher thread: reads libinotifytools events, keeps the library's folder records in step
/// with new, renamed, moved-out and deleted folders, and turns events into `WatchEvent`s.
/// Confined to its thread (it is created there), so it needs no locks; it owns the library until
/// `run()` returns.
final class WatchLoop {
    private let control: WatcherControl
    private let continuation: AsyncStream<WatchEvent>.Continuation
    private let logger: Logger
    private let roots: [String]
    private let excluding: [String]
    /// Root folders by their recorded name (with trailing `/`).
    private let rootsByFolder: [[UInt8]: String]
    private let excludedPaths: Set<[UInt8]>

    /// The stream's buffer was full: events are being discarded until `.overflow` gets through.
    private var overflowPending = false
    /// The library's records may be stale (events were lost): rebuild them at the next quiet second.
    private var needsReset = false
    /// Roots that vanished (deleted, moved, unmounted): watched again once they exist.
    private var lostRoots: [String] = []
    private var lastRootRetry = ContinuousClock.now
    private var reportedRootErrors: Set<String> = []
    /// Folders seen leaving by IN_MOVED_FROM, by cookie, until their IN_MOVED_TO (renamed inside the
    /// tree) or until it is clear none is coming (moved out of the tree).
    private var pendingMoves: [UInt32: PendingMove] = [:]
    private var eventCount: UInt64 = 0
    private var forgottenCount = 0
    /// How many folders ever left the tree (while none did, no watch can come back misnamed).
    private var leftTreeCount = 0

    private struct PendingMove {
        var path: [UInt8]
        var sequence: UInt64
    }

    /// A pending IN_MOVED_FROM without its IN_MOVED_TO after this many further events (or a quiet
    /// second) left the tree. The kernel queues the pair back to back; only events from other
    /// threads can come between them.
    private static let moveExpiry: UInt64 = 64

    init(
        control: WatcherControl, continuation: AsyncStream<WatchEvent>.Continuation, logger: Logger,
        roots: [String], excluding: [String]
    ) {
        self.control = control
        self.continuation = continuation
        self.logger = logger
        self.roots = roots
        self.excluding = excluding
        var rootsByFolder: [[UInt8]: String] = [:]
        for root in roots { rootsByFolder[Paths.withSlash(Array(root.utf8))] = root }
        self.rootsByFolder = rootsByFolder
        self.excludedPaths = Set(excluding.map { Array($0.utf8) })
    }

    func run() {
        defer {
            LibInotify.cleanup()
            LibraryOwnership.release(control.token)
            control.alive.store(false, ordering: .releasing)
            continuation.finish()
        }
        while !control.stopRequested.load(ordering: .acquiring) {
            if control.pauseReading.load(ordering: .acquiring) {
                control.readingPaused.store(true, ordering: .releasing)
                usleep(20_000)
                continue
            }
            control.readingPaused.store(false, ordering: .releasing)
            flushPendingOverflow()
            if let event = LibInotify.nextEvent() {
                eventCount &+= 1
                handle(event)
                expireMoves(quiet: false)
            } else {
                let code = LibInotify.lastError
                if code == EINTR { continue }
                if code != 0 {
                    logger.critical("inotify failed, the watcher stops: \(WatcherError.errnoText(code))")
                    return
                }
                // A timeout: the library's event buffer is empty and nothing happened for a second.
                expireMoves(quiet: true)
                if needsReset && !reset() { return }
            }
            if !lostRoots.isEmpty && ContinuousClock.now - lastRootRetry >= .seconds(1) {
                retryLostRoots()
            }
        }
        logger.info("inotify watcher stopped")
    }

    // MARK: - Events

    private func handle(_ event: RawEvent) {
        if event.has(IN_Q_OVERFLOW) {
            control.kernelOverflows.add(1, ordering: .relaxed)
            logger.warning(
                "the kernel's inotify queue overflowed (fs.inotify.max_queued_events): events were lost; rescan")
            // Folders created while events were lost are not watched yet: watch the roots again now;
            // rebuild the records (renames may have been lost too) at the next quiet second.
            for root in roots where !lostRoots.contains(root) {
                _ = LibInotify.watchTree(Array(root.utf8), excluding: excluding)
            }
            rebuildReason = "after lost events"
            needsReset = true
            emitOverflow()
            return
        }
        if event.has(IN_IGNORED) { return }  // The kernel dropped a watch; its -SELF event came first.

        let folder = LibInotify.folder(ofWatch: event.wd)
        if folder.first != UInt8(ascii: "/") {
            // Unknown, or a folder forgotten because it left the tree: not ours to report. Its
            // watch is removed now that it shows activity (one the kernel already dropped is not).
            if !folder.isEmpty && !event.has(IN_DELETE_SELF) && !event.has(IN_UNMOUNT) {
                LibInotify.removeWatch(event.wd)
            }
            return
        }

        if event.has(IN_DELETE_SELF) || event.has(IN_MOVE_SELF) || event.has(IN_UNMOUNT) {
            if let root = rootsByFolder[folder] {
                lose(root: root, folder: folder, wd: event.wd, moved: event.has(IN_MOVE_SELF))
            } else if !event.has(IN_MOVE_SELF) {
                forget(folder)
            }
            // IN_MOVE_SELF of a subfolder: its IN_MOVED_FROM / IN_MOVED_TO pair came first.
            return
        }

        guard !event.name.isEmpty else { return }
        let path = folder + event.name
        if event.has(IN_ISDIR) {
            folderEvent(event, path: path, parent: folder)
        } else if event.has(IN_CLOSE_WRITE) || event.has(IN_MOVED_TO)
            || (event.has(IN_CREATE) && Paths.isCreatedWhole(path))
        {
            if let text = Paths.string(path) {
                emit(.fileReady(text))
            } else {
                rescan(folder, because: path)
            }
        }
        // IN_CREATE of a file being written / IN_MOVED_FROM: nothing to report (IN_CLOSE_WRITE
        // follows a create).
    }

    private func folderEvent(_ event: RawEvent, path: [UInt8], parent: [UInt8]) {
        if event.has(IN_MOVED_FROM) {
            pendingMoves[event.cookie] = PendingMove(path: path, sequence: eventCount)
            return
        }
        guard event.has(IN_CREATE) || event.has(IN_MOVED_TO) else { return }
        let movedFrom = event.has(IN_MOVED_TO) ? pendingMoves.removeValue(forKey: event.cookie) : nil

        if excludedPaths.contains(path) {
            // Renamed to an excluded name: as good as moved out.
            if let movedFrom { leftTree(movedFrom.path) }
            return
        }
        // A folder that left this path before, its IN_MOVED_FROM still unpaired, is out of the
        // tree for good now that a folder (another, or the same one back from outside) holds
        // the path: it is forgotten first, or settling its move later would forget the newcomer.
        for (cookie, move) in pendingMoves where move.path == path {
            pendingMoves[cookie] = nil
            leftTree(move.path)
        }
        // Renamed inside the tree: the kernel keeps its watches; only the recorded paths of the
        // folder and its subfolders change. A folder renamed before it could be watched (made
        // under a scratch name, then moved into place) has none, and is watched as a new one.
        if let movedFrom, !excludedPaths.contains(movedFrom.path),
            LibInotify.watch(ofFolder: Paths.withSlash(movedFrom.path)) >= 0
        {
            LibInotify.rename(Paths.withSlash(movedFrom.path), to: Paths.withSlash(path))
        } else {
            let code = LibInotify.watchTree(path, excluding: excluding)
            if code == ENOENT, !Paths.exists(path) {
                // Made and removed again at once (a program's scratch folder): nothing to watch,
                // and nothing missed. Moved within the tree instead, its IN_MOVED_TO watches it.
                logger.debug("new folder gone before it could be watched: \(String(decoding: path, as: UTF8.self))")
            } else if code != 0 {
                let error = WatcherError.cannotWatch(path: String(decoding: path, as: UTF8.self), errno: code)
                logger.error("new folder not watched, only rescans will see it: \(error)")
            } else {
                repairRecordedNames(under: path)
            }
        }
        if let text = Paths.string(path) {
            emit(.folderAdded(text))
        } else {
            rescan(parent, because: path)
        }
    }

    /// A folder that left the tree and comes back has the same inode, so the kernel hands back the
    /// watches it still has (those not yet removed), which the library still records under their
    /// forgotten names: give them their names back. Walks the folders below `path` (parents first,
    /// so renaming a parent's prefix also fixes its children); skipped while no folder ever left.
    private func repairRecordedNames(under path: [UInt8]) {
        guard leftTreeCount > 0 else { return }
        var stack = [path]
        while let folder = stack.popLast() {
            repairRecordedName(folder)
            stack += Paths.subfolders(of: folder).filter { !excludedPaths.contains($0) }
        }
    }

    private func repairRecordedName(_ path: [UInt8]) {
        let folder = Paths.withSlash(path)
        let wd = LibInotify.watch(ofFolder: folder)
        guard wd >= 0 else { return }
        let recorded = LibInotify.folder(ofWatch: wd)
        if !recorded.isEmpty && recorded != folder {
            LibInotify.rename(recorded, to: folder)
        }
    }

    private func expireMoves(quiet: Bool) {
        guard !pendingMoves.isEmpty else { return }
        for (cookie, move) in pendingMoves where quiet || eventCount - move.sequence > Self.moveExpiry {
            pendingMoves[cookie] = nil
            leftTree(move.path)
        }
    }

    /// A folder moved out of the tree: stop watching it (its subfolders' watches are removed when
    /// they next report something) and forget its path, which may be reused by a new folder.
    private func leftTree(_ path: [UInt8]) {
        leftTreeCount += 1
        let folder = Paths.withSlash(path)
        let wd = LibInotify.watch(ofFolder: folder)
        if wd >= 0 && LibInotify.folder(ofWatch: wd) == folder {
            LibInotify.removeWatch(wd)
        }
        forget(folder)
    }

    /// Renames the library's records of `folder` and everything below it to a name that is not a
    /// path (no leading `/`): events from those watches are then dropped, and a new folder at the
    /// same path gets a record of its own.
    private func forget(_ folder: [UInt8]) {
        forgottenCount += 1
        LibInotify.rename(folder, to: Array("forgotten-\(forgottenCount)/".utf8))
        // The library keeps a record for every folder forgotten (it cannot drop one whose
        // watch the kernel already removed), and each rename walks them all: an inbox whose
        // folders come and go would grow in memory and slow down for ever. Every so many, the
        // records are rebuilt from the folders there are, at the next quiet second.
        if forgottenCount % Self.forgottenBeforeRebuild == 0 {
            rebuildReason = "to let go of \(Self.forgottenBeforeRebuild) folders that have left the inbox"
            needsReset = true
        }
    }

    static let forgottenBeforeRebuild = 2_000
    /// Why the records are rebuilt at the next quiet second (with `needsReset`).
    private var rebuildReason = "after lost events"

    // MARK: - Roots

    private func lose(root: String, folder: [UInt8], wd: Int32, moved: Bool) {
        logger.error(
            "inbox folder \(root) was \(moved ? "moved away" : "deleted or unmounted"); watching it again once it exists"
        )
        if moved {
            // It still exists elsewhere, with its subfolders' watches, and may come back.
            LibInotify.removeWatch(wd)
            leftTreeCount += 1
        }
        forget(folder)
        if !lostRoots.contains(root) { lostRoots.append(root) }
        lastRootRetry = ContinuousClock.now
        emitOverflow()
    }

    private func retryLostRoots() {
        lastRootRetry = ContinuousClock.now
        lostRoots.removeAll { root in
            guard Paths.isDirectory(root) else { return false }
            let path = Array(root.utf8)
            let code = LibInotify.watchTree(path, excluding: excluding)
            if code != 0 {
                if reportedRootErrors.insert(root).inserted {
                    logger.error("\(WatcherError.cannotWatch(path: root, errno: code)); retrying every second")
                }
                return false
            }
            repairRecordedNames(under: path)
            reportedRootErrors.remove(root)
            logger.notice("inbox folder \(root) is back and watched again")
            emit(.folderAdded(root))
            return true
        }
    }

    /// Rebuilds the library's records from scratch after events were lost. Only called when the
    /// library's static event buffer is empty (after a timeout), so no event from the old inotify
    /// descriptor can be read against the new one's watch numbers. Returns false if inotify cannot
    /// start again.
    private func reset() -> Bool {
        logger.notice("rebuilding the inotify watches \(rebuildReason)")
        needsReset = false
        rebuildReason = "after lost events"
        pendingMoves.removeAll()
        LibInotify.cleanup()
        let code = LibInotify.initialize()
        if code != 0 {
            logger.critical("\(WatcherError.cannotStart(errno: code)); the watcher stops")
            return false
        }
        lostRoots.removeAll()
        for root in roots {
            let code = LibInotify.watchTree(Array(root.utf8), excluding: excluding)
            if code != 0 {
                logger.error("\(WatcherError.cannotWatch(path: root, errno: code)); retrying every second")
                lostRoots.append(root)
            }
        }
        // Events between the old descriptor's close and the new watches were not seen.
        emitOverflow()
        return true
    }

    // MARK: - Emitting

    /// A name that is not valid UTF-8 cannot be a `String` path: ask for a rescan of its folder
    /// (where the scanner renames such files), or of everything if the folder's own path is not
    /// UTF-8 either.
    private func rescan(_ folder: [UInt8], because path: [UInt8]) {
        logger.warning("a name is not valid UTF-8: \(String(decoding: path, as: UTF8.self)); rescanning its folder")
        if let text = Paths.string(Paths.withoutSlash(folder)) {
            emit(.folderAdded(text))
        } else {
            emitOverflow()
        }
    }

    private func emit(_ event: WatchEvent) {
        flushPendingOverflow()
        // While an overflow is pending, events are covered by the rescan it will cause.
        if overflowPending { return }
        switch continuation.yield(event) {
        case .enqueued:
            break
        case .dropped:
            control.bufferOverflows.add(1, ordering: .relaxed)
            logger.warning(
                "the consumer is behind and the event buffer is full: dropping events, then asking for a rescan")
            overflowPending = true
        case .terminated:
            control.requestStop()
        @unknown default:
            break
        }
    }

    private func emitOverflow() {
        overflowPending = true
        flushPendingOverflow()
    }

    private func flushPendingOverflow() {
        guard overflowPending else { return }
        switch continuation.yield(.overflow) {
        case .enqueued:
            overflowPending = false
        case .dropped:
            break
        case .terminated:
            overflowPending = false
            control.requestStop()
        @unknown default:
            break
        }
    }
}

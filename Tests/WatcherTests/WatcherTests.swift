import Foundation
import Testing

@testable import Watcher

#if canImport(Glibc)
    import Glibc
#endif

/// Real inotify events on real temporary folders. Serialized: libinotifytools is process-global,
/// so only one watcher can run at a time.
@Suite(.serialized)
struct WatcherTests {
    @Test func rootsAreNormalisedOnTheSlashBytes() {
        #expect(Paths.normalize("/srv//Inbox/./ehf/") == "/srv/Inbox/ehf")
        #expect(Paths.normalize("/srv/\u{301}Inbox/..") == "/srv")
        #expect(Paths.normalize("/srv/\u{301}Inbox") == "/srv/\u{301}Inbox")
    }

    @Test func fileWrittenAndClosedIsReadyWithItsExactPath() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            #expect(watcher.isAlive)
            try writeFile(inbox + "/invoice.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/invoice.xml")))
            #expect(log.events == [.fileReady(inbox + "/invoice.xml")])
        }
    }

    @Test func fileWrittenInChunksIsReadyOnlyAfterClose() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let path = inbox + "/statement.csv"
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
            try #require(fd >= 0)
            var closed = false
            defer { if !closed { close(fd) } }
            for chunk in 0..<5 {
                let line = "row \(chunk);100.00\n"
                #expect(line.utf8CString.withUnsafeBufferPointer { write(fd, $0.baseAddress, $0.count - 1) } > 0)
                try await Task.sleep(for: .milliseconds(250))
            }
            // Over a second of writing and the file is still open: nothing may be reported.
            #expect(!log.events.contains(.fileReady(path)))
            #expect(log.events.isEmpty)
            close(fd)
            closed = true
            #expect(await log.wait(for: .fileReady(path)))
            try await Task.sleep(for: .milliseconds(200))
            #expect(log.events == [.fileReady(path)])
        }
    }

    @Test func fileRenamedInFromOutsideIsReady() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let outside = try tree.makeFolder("outside")
        try writeFile(outside + "/wise.csv", "date;amount\n")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            try renameOrThrow(outside + "/wise.csv", inbox + "/wise.csv")
            #expect(await log.wait(for: .fileReady(inbox + "/wise.csv")))
            #expect(!log.paths.contains { $0.hasPrefix(outside) })
        }
    }

    /// Names created whole, with no close after writing to follow: a hard link (maildir-style
    /// delivery, `cp --link`), a symbolic link and a FIFO are ready when they appear. A file
    /// still being written is not ready at its creation.
    @Test func hardLinksSymlinksAndFIFOsAreReadyWhenCreated() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let outside = try tree.makeFolder("outside")
        try writeFile(outside + "/delivered.xml")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            #expect(link(outside + "/delivered.xml", inbox + "/linked.xml") == 0)
            #expect(await log.wait(for: .fileReady(inbox + "/linked.xml")))
            #expect(symlink(outside + "/delivered.xml", inbox + "/symlink.xml") == 0)
            #expect(await log.wait(for: .fileReady(inbox + "/symlink.xml")))
            #expect(mkfifo(inbox + "/fifo.xml", 0o644) == 0)
            #expect(await log.wait(for: .fileReady(inbox + "/fifo.xml")))
            let fd = open(inbox + "/open.xml", O_CREAT | O_WRONLY, 0o644)
            try await Task.sleep(for: .milliseconds(300))
            #expect(!log.paths.contains(inbox + "/open.xml"))
            close(fd)
            #expect(await log.wait(for: .fileReady(inbox + "/open.xml")))
        }
    }

    @Test func newSubfolderIsReportedAndItsLaterFilesAreReady() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            let sub = inbox + "/2024"
            try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
            // Written right after mkdir: may be missed by inotify, hence `.folderAdded` and a rescan.
            try writeFile(sub + "/first.xml")
            #expect(await log.wait(for: .folderAdded(sub)))
            try await Task.sleep(for: .milliseconds(200))
            try writeFile(sub + "/second.xml")
            #expect(await log.wait(for: .fileReady(sub + "/second.xml")))
            // The folder itself never shows up as a file.
            #expect(!log.events.contains(.fileReady(sub)))
        }
    }

    @Test func nestedFoldersCreatedAtOnceAreAllWatched() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            let deep = inbox + "/a/b/c/d"
            try FileManager.default.createDirectory(atPath: deep, withIntermediateDirectories: true)
            #expect(await log.wait(for: .folderAdded(inbox + "/a")))
            try await Task.sleep(for: .milliseconds(200))
            for folder in [inbox + "/a", inbox + "/a/b", inbox + "/a/b/c", deep] {
                try writeFile(folder + "/late.xml")
                #expect(await log.wait(for: .fileReady(folder + "/late.xml")), "not watched: \(folder)")
            }
        }
    }

    /// Folders made under a scratch name and renamed into place at once are gone from the
    /// scratch name before the watcher can watch them there: they are watched under the name
    /// they were moved to, and the files written into them later are reported.
    @Test func foldersRenamedBeforeTheyCouldBeWatchedAreWatchedUnderTheirNewName() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            let names = (0..<50).map { "batch-\($0)" }
            for name in names {
                try FileManager.default.createDirectory(
                    atPath: inbox + "/.scratch-" + name, withIntermediateDirectories: false)
                try renameOrThrow(inbox + "/.scratch-" + name, inbox + "/" + name)
            }
            for name in names { #expect(await log.wait(for: .folderAdded(inbox + "/" + name))) }
            try await Task.sleep(for: .milliseconds(200))
            for name in names {
                try writeFile(inbox + "/" + name + "/late.xml")
                #expect(await log.wait(for: .fileReady(inbox + "/" + name + "/late.xml")), "not watched: \(name)")
            }
        }
    }

    @Test func folderMovedInWithFilesIsReportedAndWatchedRecursively() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let batch = try tree.makeFolder("outside/batch/nested")
        try writeFile(tree.path("outside/batch/one.xml"))
        try writeFile(batch + "/two.xml")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            try renameOrThrow(tree.path("outside/batch"), inbox + "/batch")
            #expect(await log.wait(for: .folderAdded(inbox + "/batch")))
            try writeFile(inbox + "/batch/nested/three.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/batch/nested/three.xml")))
            #expect(!log.paths.contains { $0.contains("/outside/") })
        }
    }

    @Test func folderRenamedInsideTheTreeReportsItsNewPaths() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try tree.makeFolder("inbox/old/deep")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            try renameOrThrow(inbox + "/old", inbox + "/new")
            #expect(await log.wait(for: .folderAdded(inbox + "/new")))
            try writeFile(inbox + "/new/x.xml")
            try writeFile(inbox + "/new/deep/y.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/new/x.xml")))
            #expect(await log.wait(for: .fileReady(inbox + "/new/deep/y.xml")))
            #expect(!log.paths.contains { $0.hasPrefix(inbox + "/old") })
        }
    }

    /// Folders that come and go (a scanner's dated folders, say) leave records behind in the
    /// library; every `forgottenBeforeRebuild` of them the records are rebuilt from the folders
    /// there are, so memory does not grow for ever, and the inbox is still watched after.
    @Test func recordsOfFoldersThatLeftAreLetGoOf() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            let count = WatchLoop.forgottenBeforeRebuild + 100
            for i in 0..<count { #expect(mkdir(inbox + "/d\(i)", 0o755) == 0) }
            // Each watched before it goes (one gone too soon is never watched at all).
            #expect(
                await log.wait(for: .seconds(30)) { events in
                    events.count { if case .folderAdded = $0 { true } else { false } } >= count
                })
            let before = LibInotify.watchCount
            #expect(before > count)
            for i in 0..<count { #expect(rmdir(inbox + "/d\(i)") == 0) }
            try writeFile(inbox + "/after.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/after.xml"), timeout: .seconds(30)))
            // The rebuild comes at a quiet second, and asks for a rescan like lost events do.
            #expect(await log.wait(for: .seconds(10)) { $0.contains(.overflow) })
            #expect(LibInotify.watchCount < 200, "\(LibInotify.watchCount) records kept")
            try writeFile(inbox + "/later.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/later.xml")))
        }
    }

    @Test func folderMovedOutIsForgottenAndItsNameAndInodeCanComeBack() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let outside = try tree.makeFolder("outside")
        try tree.makeFolder("inbox/leaving/sub")
        // Stays untouched while outside, so the kernel keeps its watch until it comes back.
        try tree.makeFolder("inbox/leaving/quiet")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            try renameOrThrow(inbox + "/leaving", outside + "/left")
            // Once the watcher has had a quiet second, the move is settled as "left the tree".
            try await Task.sleep(for: .milliseconds(1500))
            try writeFile(outside + "/left/z.xml")
            try writeFile(outside + "/left/sub/z.xml")
            try writeFile(inbox + "/control.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/control.xml")))
            try await Task.sleep(for: .milliseconds(300))
            #expect(!log.paths.contains { $0.contains("z.xml") || $0.contains("/leaving") })

            // A new folder with the old name is a folder of its own.
            try FileManager.default.createDirectory(atPath: inbox + "/leaving", withIntermediateDirectories: false)
            #expect(await log.wait(for: .folderAdded(inbox + "/leaving")))
            try writeFile(inbox + "/leaving/f.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/leaving/f.xml")))

            // The folder that left comes back under another name: same inodes, paths must be new.
            try renameOrThrow(outside + "/left", inbox + "/back")
            #expect(await log.wait(for: .folderAdded(inbox + "/back")))
            try writeFile(inbox + "/back/sub/again.xml")
            try writeFile(inbox + "/back/top.xml")
            try writeFile(inbox + "/back/quiet/q.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/back/sub/again.xml")))
            #expect(await log.wait(for: .fileReady(inbox + "/back/top.xml")))
            #expect(await log.wait(for: .fileReady(inbox + "/back/quiet/q.xml")))
        }
    }

    /// Moved out and straight back (before the watcher could settle the move out), or another
    /// folder renamed into its place: either is watched, then and later.
    @Test func folderMovedOutAndStraightBackIsStillWatched() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let outside = try tree.makeFolder("outside")
        try tree.makeFolder("inbox/sub")
        try tree.makeFolder("inbox/other")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            try renameOrThrow(inbox + "/sub", outside + "/x")
            try renameOrThrow(outside + "/x", inbox + "/sub")
            #expect(await log.wait(for: .folderAdded(inbox + "/sub")))
            // Past the quiet second that settles the move out.
            try await Task.sleep(for: .milliseconds(1500))
            try writeFile(inbox + "/sub/a.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/sub/a.xml")))

            try renameOrThrow(inbox + "/sub", outside + "/y")
            try renameOrThrow(inbox + "/other", inbox + "/sub")
            #expect(await log.wait(for: .folderAdded(inbox + "/sub")))
            try await Task.sleep(for: .milliseconds(1500))
            try writeFile(inbox + "/sub/b.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/sub/b.xml")))
            try writeFile(outside + "/y/gone.xml")
            try await Task.sleep(for: .milliseconds(300))
            #expect(!log.paths.contains { $0.contains("gone.xml") })
        }
    }

    @Test func excludedFoldersProduceNoEvents() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let rejected = try tree.makeFolder("inbox/rejected")
        let later = inbox + "/later"
        try await withWatcher(roots: [inbox], excluding: [rejected, later + "/"]) { watcher in
            let log = EventLog(watcher.events)
            try writeFile(rejected + "/bad.xml")
            try writeFile(rejected + "/bad.xml.error.txt", "Not an invoice.\n")
            try FileManager.default.createDirectory(atPath: rejected + "/sub", withIntermediateDirectories: false)
            try await Task.sleep(for: .milliseconds(200))
            try writeFile(rejected + "/sub/worse.xml")
            // An excluded path that appears only after the start.
            try FileManager.default.createDirectory(atPath: later, withIntermediateDirectories: false)
            try await Task.sleep(for: .milliseconds(200))
            try writeFile(later + "/l.xml")
            try writeFile(inbox + "/control.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/control.xml")))
            try await Task.sleep(for: .milliseconds(300))
            #expect(log.events == [.fileReady(inbox + "/control.xml")])
        }
    }

    @Test func kernelQueueOverflowIsReported() async throws {
        let maxQueued =
            Int(
                try String(contentsOfFile: "/proc/sys/fs/inotify/max_queued_events", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)) ?? 16_384
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            // The thread drains the kernel queue faster than files can be made: stop it reading.
            watcher.pauseReadingForTesting(true)
            let deadline = ContinuousClock.now + .seconds(3)
            while !watcher.readingIsPausedForTesting && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(10))
            }
            try #require(watcher.readingIsPausedForTesting)
            // Each file queues IN_CREATE and IN_CLOSE_WRITE: twice the queue's size.
            for index in 0..<maxQueued {
                try writeFile(inbox + "/f\(index).xml", "")
            }
            watcher.pauseReadingForTesting(false)
            #expect(await log.wait(for: .overflow, timeout: .seconds(30)))
            #expect(watcher.kernelOverflowCount >= 1)
            #expect(watcher.bufferOverflowCount == 0)
            // Still watching afterwards, also after the rebuild at the next quiet second (which
            // reports a second overflow: events may have been missed while it ran).
            #expect(await log.wait(for: .seconds(10)) { $0.filter { $0 == .overflow }.count >= 2 })
            try writeFile(inbox + "/after.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/after.xml"), timeout: .seconds(10)))
            #expect(watcher.isAlive)
        }
    }

    @Test func slowConsumerGetsOverflowInsteadOfUnboundedBuffering() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let limit = 50
        try await withWatcher(roots: [inbox], bufferLimit: limit) { watcher in
            // Nobody reads yet.
            for index in 0..<300 {
                try writeFile(inbox + "/f\(index).xml", "")
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while watcher.bufferOverflowCount == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(watcher.bufferOverflowCount > 0)
            #expect(watcher.kernelOverflowCount == 0)

            let log = EventLog(watcher.events)
            #expect(await log.wait(for: .overflow))
            let events = log.events
            let overflowAt = try #require(events.firstIndex(of: .overflow))
            #expect(overflowAt == limit, "the buffer held exactly its limit before the overflow")
            #expect(events[..<overflowAt].allSatisfy { if case .fileReady = $0 { true } else { false } })
            // The watcher keeps working after an overflow: a file written later reaches the
            // consumer. Under load the watcher may still be reading the burst from the kernel,
            // so the burst is let settle first; if a later overflow still swallows the new
            // file's event, that overflow, taken after the file was written, makes the consumer
            // rescan and find it, which is as good.
            _ = await log.waitQuiet(for: .milliseconds(1_500))
            let after = inbox + "/after.xml"
            try writeFile(after)
            let writtenBy = log.events.count
            #expect(
                await log.wait { events in
                    events.contains(.fileReady(after)) || events[writtenBy...].contains(.overflow)
                })
            if let ready = log.events.firstIndex(of: .fileReady(after)) { #expect(ready > overflowAt) }
        }
    }

    @Test func stopFinishesTheStreamAndIsIdempotent() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let watcher = try await startWatcher(roots: [inbox])
        let log = EventLog(watcher.events)
        #expect(watcher.isAlive)
        watcher.stop()
        // Promptly, not after some timeout inside the watcher; the bound only says "did not
        // hang", since a loaded machine may not run this task for seconds.
        #expect(await log.waitFinished(timeout: .seconds(10)))
        #expect(!watcher.isAlive)
        watcher.stop()
        #expect(!watcher.isAlive)
        // Files written after stop are not reported (the stream is over).
        try writeFile(inbox + "/late.xml")
        #expect(log.events.isEmpty)
        await stopAndWait(watcher)
    }

    @Test func secondWatcherWhileOneRunsThrowsAndLeavesTheFirstWorking() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        let other = try tree.makeFolder("other")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            #expect(throws: WatcherError.alreadyRunning) {
                _ = try InotifyWatcher(roots: [other], logger: quietLogger())
            }
            try writeFile(inbox + "/still.xml")
            try writeFile(other + "/never.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/still.xml")))
            try await Task.sleep(for: .milliseconds(200))
            #expect(log.events == [.fileReady(inbox + "/still.xml")])
        }
        // After a stop, the next watcher starts at once (it waits for the old thread if needed).
        let next = try InotifyWatcher(roots: [other], logger: quietLogger())
        #expect(next.isAlive)
        await stopAndWait(next)
    }

    @Test func missingRootThrowsWithTheErrnoText() async throws {
        let tree = try TempTree()
        let missing = tree.path("nope")
        let error = #expect(throws: WatcherError.self) {
            _ = try InotifyWatcher(roots: [missing], logger: quietLogger())
        }
        #expect(error == .cannotWatch(path: missing, errno: ENOENT))
        #expect(error?.description.contains("No such file or directory") == true)
        // The failed start released the library.
        let watcher = try InotifyWatcher(roots: [tree.base], logger: quietLogger())
        await stopAndWait(watcher)
    }

    @Test func deletedRootIsReportedAndWatchedAgainWhenItReturns() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try tree.makeFolder("inbox/sub")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            try FileManager.default.removeItem(atPath: inbox)
            #expect(await log.wait(for: .overflow))
            #expect(watcher.isAlive)
            try FileManager.default.createDirectory(atPath: inbox, withIntermediateDirectories: false)
            #expect(await log.wait(for: .folderAdded(inbox)))
            try writeFile(inbox + "/back.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/back.xml")))
        }
    }

    @Test func nameThatIsNotUTF8AsksForARescanOfItsFolder() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [inbox]) { watcher in
            let log = EventLog(watcher.events)
            let name: [UInt8] = Array(inbox.utf8) + Array("/faktura-".utf8) + [0xE6, 0xF8, 0xE5] + Array(".xml".utf8)
            let fd = (name + [0]).withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
            }
            try #require(fd >= 0)
            close(fd)
            defer {
                _ = (name + [0]).withUnsafeBufferPointer { buffer in
                    buffer.withMemoryRebound(to: CChar.self) { unlink($0.baseAddress!) }
                }
            }
            #expect(await log.wait(for: .folderAdded(inbox)))
            #expect(!log.events.contains { if case .fileReady = $0 { true } else { false } })
        }
    }

    @Test func relativeAndUnnormalisedRootsReportNormalisedPaths() async throws {
        let tree = try TempTree()
        let inbox = try tree.makeFolder("inbox")
        try await withWatcher(roots: [tree.base + "//./inbox/../inbox/"]) { watcher in
            let log = EventLog(watcher.events)
            try writeFile(inbox + "/n.xml")
            #expect(await log.wait(for: .fileReady(inbox + "/n.xml")))
        }
    }
}

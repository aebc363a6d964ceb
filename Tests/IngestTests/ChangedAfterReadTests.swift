import Foundation
import LedgerCore
import LedgerStore
import Logging
import Testing

@testable import Ingest

#if canImport(Glibc)
    import Glibc
#endif

/// A file saved again, replaced or removed under its name after the pipeline read it and
/// before it was moved: what was read is posted and archived as it was read, and the file
/// now at the name is read as the new file it is. Each test stops the pipeline between its
/// commit and its move (`prepareAll`, `write`, `settle`) to change the file there.
@Suite struct ChangedAfterReadTests {
    let template = String(
        decoding: try! Data(contentsOf: URL(fileURLWithPath: PipelineTests.example)), as: UTF8.self)

    func invoice(_ number: String) -> [UInt8] {
        let start = template.range(of: "<cbc:ID>")!
        let end = template.range(of: "</cbc:ID>", range: start.upperBound..<template.endIndex)!
        return Array(template.replacingCharacters(in: start.upperBound..<end.lowerBound, with: number).utf8)
    }

    /// Reads and commits the inbox's files, calls `change`, then moves them.
    func ingestChanging(_ sandbox: Sandbox, _ change: () throws -> Void) throws -> [FileResult] {
        let pipeline = sandbox.pipeline(identifiers: PipelineTests.buyer)
        let files = sandbox.scan()
        let written = pipeline.write(files, prepared: pipeline.prepareAll(files, receivedAt: Timestamp.now()))
        try change()
        return pipeline.settle(written)
    }

    func archived(_ sandbox: Sandbox) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: sandbox.archive).filter { $0.hasSuffix(".xml") }
    }

    /// A pipeline on a restore: books that never saw what was posted, with the archive as it is.
    func restoredPipeline(_ sandbox: Sandbox) throws -> Pipeline {
        let restored = try LedgerStore(path: sandbox.root + "/var/restored.sqlite", durability: .normal)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return Pipeline(settings: sandbox.settings(identifiers: PipelineTests.buyer), store: restored, logger: logger)
    }

    func bytes(_ path: String) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test func savedAgainInPlaceThePostedVersionIsArchivedAndTheNewOneReadNext() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(invoice("EXPORT-1"), as: "export.xml")
        let results = try ingestChanging(sandbox) {
            // Written into the same file (same inode), as `cp` onto an existing file does.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: invoice("EXPORT-22"))
            try handle.close()
        }
        #expect(results.map(\.outcome) == [.posted])
        let destination = try #require(results.first?.destination)
        #expect(try bytes(destination) == invoice("EXPORT-1"))
        #expect(try bytes(path) == invoice("EXPORT-22"))

        let next = sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan())
        #expect(next.map(\.outcome) == [.posted])
        #expect(try sandbox.count("SELECT COUNT(*) FROM vendor_invoices") == 2)
        #expect(try archived(sandbox).count == 2)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func replacedByRenameTheNewFileStaysAndTheReadOneIsArchived() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(invoice("SAVE-1"), as: "export.xml")
        let results = try ingestChanging(sandbox) {
            // An editor's or exporter's save: a new file renamed over the name, same size.
            let staged = sandbox.root + "/staged.xml"
            try Data(invoice("SAVE-2")).write(to: URL(fileURLWithPath: staged))
            #expect(rename(staged, path) == 0)
        }
        #expect(results.map(\.outcome) == [.posted])
        #expect(try bytes(try #require(results.first?.destination)) == invoice("SAVE-1"))
        #expect(try bytes(path) == invoice("SAVE-2"))
        #expect(sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan()).map(\.outcome) == [.posted])
        #expect(try sandbox.count("SELECT COUNT(*) FROM vendor_invoices WHERE number IN ('SAVE-1', 'SAVE-2')") == 2)
    }

    @Test func aRejectedFileReplacedAfterReadingLeavesItsOwnCopyBesideItsErrorFile() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Array("not an invoice".utf8), as: "scan.xml")
        let results = try ingestChanging(sandbox) {
            let staged = sandbox.root + "/staged.xml"
            try Data(invoice("AFTER-JUNK")).write(to: URL(fileURLWithPath: staged))
            #expect(rename(staged, path) == 0)
        }
        #expect(results.map(\.outcome) == [.rejected])
        #expect(try bytes(sandbox.rejected + "/scan.xml") == Array("not an invoice".utf8))
        #expect(FileManager.default.fileExists(atPath: sandbox.rejected + "/scan.xml.error.txt"))
        #expect(sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan()).map(\.outcome) == [.posted])
    }

    @Test func removedAfterReadingTheCopyReadIsArchived() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(invoice("GONE-1"), as: "gone.xml")
        let results = try ingestChanging(sandbox) { #expect(unlink(path) == 0) }
        #expect(results.map(\.outcome) == [.posted])
        #expect(try bytes(try #require(results.first?.destination)) == invoice("GONE-1"))
        #expect(try archived(sandbox).count == 1)
    }

    /// Books restored from a backup taken before a file was posted, and the file dropped again:
    /// it is posted anew, and its archived copy from before, the same bytes at the same place,
    /// stands for it; the inbox copy goes rather than failing to move for ever.
    @Test func aFileWhoseArchivedCopyIsAlreadyInPlaceFinishesItsMove() throws {
        let sandbox = try Sandbox()
        _ = try sandbox.write(invoice("RESTORED-1"), as: "restored.xml")
        let first = sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan())
        let archivedPath = try #require(first.first?.destination)
        let pipeline = try restoredPipeline(sandbox)
        _ = try sandbox.write(invoice("RESTORED-1"), as: "restored.xml")
        let again = pipeline.ingest(sandbox.scan())
        #expect(again.map(\.outcome) == [.posted])
        #expect(again.first?.destination == archivedPath)
        #expect(sandbox.scan().isEmpty)
        #expect(try bytes(archivedPath) == invoice("RESTORED-1"))
        #expect(!FileManager.default.fileExists(atPath: sandbox.archive + "/duplicates"))
        // Nothing left behind, hidden names included.
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.inbox + "/ehf").isEmpty)
    }

    /// The same after a restore, but a file is saved under the name while ledgerd checks the
    /// archived copy (hashing a large file takes a while): the inbox copy removed is only ever
    /// the one that was read. The new file stays, to be read next. A real inotify watch on
    /// the archive saves it the moment the archived copy is opened to be hashed.
    @Test func aFileSavedWhileTheArchivedCopyIsCheckedIsNotRemoved() throws {
        let sandbox = try Sandbox()
        // 16 MB of comment make the archived copy's hash take milliseconds, not microseconds.
        let large = invoice("RESTORED-2") + Array("<!--\(String(repeating: "x", count: 16 << 20))-->".utf8)
        let path = try sandbox.write(large, as: "large.xml")
        let first = sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan())
        let archivedPath = try #require(first.first?.destination)
        let pipeline = try restoredPipeline(sandbox)
        _ = try sandbox.write(large, as: "large.xml")
        let newer = invoice("NEWER-1")

        let watch = inotify_init1(Int32(IN_CLOEXEC))
        #expect(watch >= 0)
        defer { close(watch) }
        #expect(inotify_add_watch(watch, FileSystem.parentDirectory(archivedPath), UInt32(IN_OPEN)) >= 0)
        let saver = Thread {
            var buffer = [UInt8](repeating: 0, count: 4096)
            while read(watch, &buffer, buffer.count) > 0 {
                // The archived copy's name ends the event; any open of it is the hash's.
                if String(decoding: buffer, as: UTF8.self).contains(FileSystem.lastComponent(archivedPath)) { break }
            }
            // Saved as editors do: written beside, renamed over the name.
            _ = FileManager.default.createFile(atPath: path + ".new", contents: Data(newer))
            _ = rename(path + ".new", path)
        }
        saver.start()
        let again = pipeline.ingest(sandbox.scan())
        while !saver.isFinished { usleep(1_000) }
        #expect(again.map(\.outcome) == [.posted])
        #expect(again.first?.destination == archivedPath)
        #expect(try bytes(archivedPath) == large)
        // The file saved since is there, under its name, and nothing else: no copy set aside.
        #expect(try bytes(path) == newer)
        #expect(try FileManager.default.contentsOfDirectory(atPath: sandbox.inbox + "/ehf") == ["large.xml"])
    }

    /// Two runs at once: one posts a file while the other reads another with the same bytes
    /// (which the first left alone, claimed by the second). The second files it as the
    /// duplicate it is, rather than leaving it to the first as if both had read one file.
    /// The same file read by both (an NFS inbox grants no claims) is left to the run that
    /// posted it.
    @Test func anotherRunsPostingOfTheSameBytesLeavesThisRunsFileToIt() throws {
        let sandbox = try Sandbox()
        let pipeline = sandbox.pipeline(identifiers: PipelineTests.buyer)
        _ = try sandbox.write(invoice("TWIN-1"), as: "a.xml")
        let files = sandbox.scan()
        let prepared = pipeline.prepareAll(files, receivedAt: Timestamp.now())
        // Both runs read a.xml (no claims, as on NFS); the other commits first, and moves it.
        let unclaimed = prepared.map { item -> Pipeline.Prepared in
            guard case .document(let document, var copy) = item else { return item }
            copy.claim = nil
            return .document(document, copy)
        }
        let theirs = pipeline.write(files, prepared: prepared)
        let ours = pipeline.write(files, prepared: unclaimed)
        #expect(pipeline.settle(theirs).map(\.outcome) == [.posted])
        let seen = Pipeline.SettleState(lastDocumentBefore: 0)
        #expect(pipeline.settle(ours, seen: seen).isEmpty)
        // Its own twins, claimed by this run, one of them of the same name in another folder:
        // duplicates, moved out of the inbox.
        try FileManager.default.createDirectory(atPath: sandbox.inbox + "/ehf/y", withIntermediateDirectories: true)
        _ = try sandbox.write(invoice("TWIN-1"), as: "z.xml")
        _ = try sandbox.write(invoice("TWIN-1"), as: "y/a.xml")
        let twins = sandbox.scan()
        #expect(twins.count == 2)
        let written = pipeline.write(twins, prepared: pipeline.prepareAll(twins, receivedAt: Timestamp.now()))
        #expect(pipeline.settle(written, seen: seen).map(\.outcome) == [.duplicate, .duplicate])
        #expect(sandbox.scan().isEmpty)
    }

    /// A file committed but not moved (the run stopped in between), and another of the same
    /// bytes dropped beside it: the next run moves the posted file to its own archive place
    /// and files the other as a duplicate, whichever it comes to first, rather than archiving
    /// the other under the posted one's name.
    @Test func aTwinDoesNotTakeThePlaceOfAFileCommittedButNotMoved() throws {
        let sandbox = try Sandbox()
        let pipeline = sandbox.pipeline(identifiers: PipelineTests.buyer)
        let path = try sandbox.write(invoice("TWIN-2"), as: "inv.xml")
        let posted = try #require(FileSystem.identity(of: path))
        do {
            let files = sandbox.scan()
            _ = pipeline.write(files, prepared: pipeline.prepareAll(files, receivedAt: Timestamp.now()))
        }
        _ = try sandbox.write(invoice("TWIN-2"), as: "dup.xml")
        let results = pipeline.ingest(sandbox.scan().sorted { $0.name < $1.name })
        #expect(results.map(\.file.name) == ["dup.xml", "inv.xml"])
        #expect(results.map(\.outcome) == [.duplicate, .posted])
        #expect(results[0].destination?.contains("/duplicates/") == true)
        let archivedPath = try #require(results[1].destination)
        #expect(archivedPath.hasSuffix("_inv.xml"))
        #expect(FileSystem.identity(of: archivedPath)?.inode == posted.inode)
        #expect(sandbox.scan().isEmpty)
    }

    /// A move to an archive on another device copies, syncs, then removes the original; a
    /// kill in between leaves the original beside its full copy. The next run finishes the
    /// move instead of filing the original as a duplicate of itself.
    @Test func aMoveAcrossDevicesCutShortIsFinishedNotCalledADuplicate() throws {
        let sandbox = try Sandbox()
        var shm = stat()
        var tmp = stat()
        guard stat("/dev/shm", &shm) == 0, stat(sandbox.root, &tmp) == 0, shm.st_dev != tmp.st_dev else {
            Issue.record("/dev/shm is not a separate device here; the cross-device move is not exercised")
            return
        }
        let archive = "/dev/shm/ledgerd-archive-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: archive) }
        var settings = sandbox.settings(identifiers: PipelineTests.buyer)
        settings.archive = archive
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let pipeline = Pipeline(settings: settings, store: sandbox.store, logger: logger)
        _ = try sandbox.write(invoice("ACROSS-1"), as: "across.xml")
        let first = pipeline.ingest(sandbox.scan())
        let archivedPath = try #require(first.first?.destination)
        #expect(archivedPath.hasPrefix(archive))
        // The original as the cut-short move leaves it.
        _ = try sandbox.write(invoice("ACROSS-1"), as: "across.xml")
        let again = pipeline.ingest(sandbox.scan())
        #expect(again.map(\.outcome) == [.posted])
        #expect(sandbox.scan().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: archive + "/duplicates"))
        // The same bytes under another name are a duplicate, as ever.
        _ = try sandbox.write(invoice("ACROSS-1"), as: "again.xml")
        #expect(pipeline.ingest(sandbox.scan()).map(\.outcome) == [.duplicate])
    }

    /// A socket cannot be opened as a file at all: it is rejected as not a file, once, rather
    /// than failing and being tried again for ever.
    @Test func aSocketInTheInboxIsRejectedAsNotAFile() throws {
        let sandbox = try Sandbox()
        let path = sandbox.inbox + "/ehf/sock.xml"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (i, byte) in path.utf8.enumerated() { buffer[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)
        let results = sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan())
        #expect(results.map(\.outcome) == [.rejected])
        #expect(results.first?.reason?.code == "NOT-A-FILE")
        #expect(results.first?.reason?.message.hasPrefix("This is a socket; ") == true)
    }

    /// A named pipe is never read (a read would wait for a writer that may never come): it is
    /// rejected as what it is, and moved to the rejected folder as a pipe still.
    @Test(.timeLimit(.minutes(1))) func aNamedPipeInTheInboxIsRejectedAsOne() throws {
        let sandbox = try Sandbox()
        #expect(mkfifo(sandbox.inbox + "/ehf/pipe.xml", 0o640) == 0)
        let results = sandbox.pipeline(identifiers: PipelineTests.buyer).ingest(sandbox.scan())
        #expect(results.map(\.outcome) == [.rejected])
        #expect(results.first?.reason?.code == "NOT-A-FILE")
        #expect(results.first?.reason?.message.hasPrefix("This is a named pipe; ") == true)
        #expect(FileSystem.lstatType(sandbox.rejected + "/pipe.xml") == .pipe)
        #expect(sandbox.scan().isEmpty)
    }

    @Test func movingChecksTheFileIsTheOneRead() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Array("first".utf8), as: "a.xml")
        let identity = try #require(FileSystem.identity(of: path))
        // Unchanged: moved.
        #expect(try FileSystem.move(from: path, to: sandbox.root + "/moved.xml", expected: identity) == .moved)
        // Another file at the name: it is put back where it was.
        #expect(rename(sandbox.root + "/moved.xml", path) == 0)
        let staged = sandbox.root + "/staged.xml"
        try Data("second".utf8).write(to: URL(fileURLWithPath: staged))
        #expect(rename(staged, path) == 0)
        #expect(
            try FileSystem.move(from: path, to: sandbox.root + "/target.xml", expected: identity)
                == .changed(at: path, targetHasRead: false))
        #expect(try bytes(path) == Array("second".utf8))
        #expect(!FileManager.default.fileExists(atPath: sandbox.root + "/target.xml"))
    }
}

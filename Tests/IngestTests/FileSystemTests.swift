import Foundation
import Ingest
import LedgerCore
import Logging
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `FileSystem.move`, which every archived or rejected file goes through: it must never
/// replace a file, never lose the original, and create the folders it moves into.
@Suite struct FileSystemMoveTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "ledgerd-move-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func write(_ text: String, to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    }

    func read(_ path: String) -> String? {
        FileManager.default.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) }
    }

    @Test func movesIntoFoldersItCreates() throws {
        try write("invoice", to: "\(root)/in/a.xml")
        try FileSystem.move(from: "\(root)/in/a.xml", to: "\(root)/archive/ehf/2026-11/a.xml")
        #expect(read("\(root)/archive/ehf/2026-11/a.xml") == "invoice")
        #expect(!FileSystem.exists("\(root)/in/a.xml"))
    }

    @Test func neverReplacesAnExistingFile() throws {
        try write("new", to: "\(root)/in/a.xml")
        try write("old", to: "\(root)/archive/a.xml")
        let error = #expect(throws: FileSystem.Failure.self) {
            try FileSystem.move(from: "\(root)/in/a.xml", to: "\(root)/archive/a.xml")
        }
        #expect(error?.code == EEXIST)
        #expect(read("\(root)/archive/a.xml") == "old")
        #expect(read("\(root)/in/a.xml") == "new")
    }

    @Test func aMissingSourceIsAnErrorAndCreatesNothingElse() throws {
        let error = #expect(throws: FileSystem.Failure.self) {
            try FileSystem.move(from: "\(root)/in/gone.xml", to: "\(root)/archive/gone.xml")
        }
        #expect(error?.code == ENOENT)
        #expect(!FileSystem.exists("\(root)/archive/gone.xml"))
    }

    @Test func aSymlinkIsMovedAsALinkNotFollowed() throws {
        try write("secret", to: "\(root)/elsewhere/secret.txt")
        try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
        #expect(symlink("\(root)/elsewhere/secret.txt", "\(root)/in/link.xml") == 0)
        try FileSystem.move(from: "\(root)/in/link.xml", to: "\(root)/rejected/link.xml")
        #expect(FileSystem.lstatType("\(root)/rejected/link.xml") == .symlink)
        #expect(read("\(root)/elsewhere/secret.txt") == "secret")
    }

    /// Whether /dev/shm (a tmpfs) is another device than the temporary folder, as on a normal
    /// machine; recorded as an issue where it is not, since the cross-device move goes untested.
    func shmIsAnotherDevice() -> Bool {
        var shm = stat()
        var tmp = stat()
        guard stat("/dev/shm", &shm) == 0, stat(root, &tmp) == 0, shm.st_dev != tmp.st_dev else {
            Issue.record("/dev/shm is not a separate device here; the cross-device move is not exercised")
            return false
        }
        return true
    }

    /// /dev/shm is a tmpfs, another device than the temporary folder on a normal machine:
    /// the move copies, syncs, and only then removes the original.
    @Test func acrossDevicesCopiesThenRemovesTheOriginal() throws {
        guard shmIsAnotherDevice() else { return }
        let target = "/dev/shm/ledgerd-move-\(UUID().uuidString)/a.xml"
        defer { try? FileManager.default.removeItem(atPath: (target as NSString).deletingLastPathComponent) }
        try write("invoice", to: "\(root)/in/a.xml")
        try FileSystem.move(from: "\(root)/in/a.xml", to: target)
        #expect(read(target) == "invoice")
        #expect(!FileSystem.exists("\(root)/in/a.xml"))
        let leftovers = try FileManager.default.contentsOfDirectory(
            atPath: (target as NSString).deletingLastPathComponent)
        #expect(leftovers == ["a.xml"])

        // And across devices an existing target is not replaced either.
        try write("second", to: "\(root)/in/a.xml")
        #expect(throws: FileSystem.Failure.self) { try FileSystem.move(from: "\(root)/in/a.xml", to: target) }
        #expect(read(target) == "invoice")
        #expect(read("\(root)/in/a.xml") == "second")
    }

    /// Across devices, when the original cannot be removed (an inbox mounted read-only, here a
    /// folder made immutable), the copy goes again: a retry must not leave one more copy in the
    /// archive each time.
    @Test func acrossDevicesAnOriginalThatCannotBeRemovedLeavesNoCopy() throws {
        guard shmIsAnotherDevice() else { return }
        let folder = "/dev/shm/ledgerd-move-\(UUID().uuidString)"
        let target = folder + "/a.xml"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try write("invoice", to: "\(root)/in/a.xml")
        func chattr(_ flag: String) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
            process.arguments = [flag, "\(root)/in"]
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        try #require(try chattr("+i") == 0, "chattr +i failed (ledgerd's tests run as root on ext4)")
        defer { _ = try? chattr("-i") }
        #expect(throws: FileSystem.Failure.self) { try FileSystem.move(from: "\(root)/in/a.xml", to: target) }
        #expect(read("\(root)/in/a.xml") == "invoice")
        #expect(!FileSystem.exists(target))
        #expect((try? FileManager.default.contentsOfDirectory(atPath: folder)) == [])
    }

    /// A link, FIFO or socket (rejected as no file, never read) moved to another device is
    /// made again there, as `mv` does: not followed, not waited on for a FIFO's writer (which
    /// would stop every move after it), and the original gone.
    @Test(.timeLimit(.minutes(1))) func acrossDevicesLinksFIFOsAndSocketsAreMadeAgain() throws {
        guard shmIsAnotherDevice() else { return }
        let folder = "/dev/shm/ledgerd-move-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try write("secret", to: "\(root)/elsewhere/secret.txt")
        try FileManager.default.createDirectory(atPath: "\(root)/in", withIntermediateDirectories: true)
        #expect(symlink("\(root)/elsewhere/secret.txt", "\(root)/in/link.xml") == 0)
        #expect(mkfifo("\(root)/in/pipe.xml", 0o640) == 0)
        let listener = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, byte) in "\(root)/in/socket.xml".utf8.enumerated() { raw[i] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        #expect(bound == 0)

        for name in ["link.xml", "pipe.xml", "socket.xml"] {
            try FileSystem.move(from: "\(root)/in/\(name)", to: "\(folder)/\(name)")
            #expect(!FileSystem.exists("\(root)/in/\(name)"), "\(name)")
        }
        #expect(FileSystem.lstatType("\(folder)/link.xml") == .symlink)
        #expect(
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "\(folder)/link.xml"))
                == "\(root)/elsewhere/secret.txt")
        var st = stat()
        #expect(lstat("\(folder)/pipe.xml", &st) == 0 && st.st_mode & S_IFMT == S_IFIFO)
        #expect(lstat("\(folder)/socket.xml", &st) == 0 && st.st_mode & S_IFMT == S_IFSOCK)
        #expect(read("\(root)/elsewhere/secret.txt") == "secret")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        #expect(leftovers == ["link.xml", "pipe.xml", "socket.xml"])
    }
}

/// `FileSystem.readFile`, which reads every file the pipeline takes in: whole and exact, or
/// not at all.
@Suite struct FileSystemReadTests {
    let root: String

    init() throws {
        root = NSTemporaryDirectory() + "ledgerd-read-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    func bytes(_ result: FileSystem.ReadResult) -> [UInt8]? {
        if case .bytes(let b) = result { return b }
        return nil
    }

    @Test(arguments: [0, 1, 4_095, 4_096, 4_097, 1 << 20])
    func readsEveryByteOfAFile(size: Int) throws {
        let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 8) }
        let path = "\(root)/file-\(size).xml"
        try Data(content).write(to: URL(fileURLWithPath: path))
        let read = try FileSystem.readFile(path, limit: 1 << 30)
        #expect(bytes(read) == content)
    }

    @Test func aFileOverTheLimitIsNotRead() throws {
        let path = "\(root)/big.xml"
        try Data(count: 1_001).write(to: URL(fileURLWithPath: path))
        guard case .tooLarge(let size) = try FileSystem.readFile(path, limit: 1_000) else {
            Issue.record("a file over the limit was read")
            return
        }
        #expect(size == 1_001)
        #expect(bytes(try FileSystem.readFile(path, limit: 1_001))?.count == 1_001)
    }

    @Test func linksAndFoldersAreNotRead() throws {
        try Data("secret".utf8).write(to: URL(fileURLWithPath: "\(root)/secret.txt"))
        #expect(symlink("\(root)/secret.txt", "\(root)/link.xml") == 0)
        guard case .notRegular(.symlink) = try FileSystem.readFile("\(root)/link.xml", limit: 1 << 20) else {
            Issue.record("a symlink was followed")
            return
        }
        guard case .notRegular(.directory) = try FileSystem.readFile(root, limit: 1 << 20) else {
            Issue.record("a folder was read")
            return
        }
    }

    /// A listing says what each entry is, as looking at it one by one does.
    @Test func aListingTellsEachKindOfEntry() throws {
        try Data("x".utf8).write(to: URL(fileURLWithPath: "\(root)/file.xml"))
        try FileManager.default.createDirectory(atPath: "\(root)/folder", withIntermediateDirectories: false)
        #expect(symlink("\(root)/file.xml", "\(root)/link.xml") == 0)
        #expect(mkfifo("\(root)/pipe.xml", 0o640) == 0)
        let listed = Dictionary(uniqueKeysWithValues: try FileSystem.listDirectory(root).map { ($0.name, $0.type) })
        #expect(
            listed == [
                "file.xml": .regular, "folder": .directory, "link.xml": .symlink, "pipe.xml": .pipe,
            ])
        for (name, type) in listed { #expect(FileSystem.lstatType("\(root)/\(name)") == type) }
    }

    /// A file that a program still has open for writing is a copy in progress: not read while
    /// it is, however long the program pauses. Read-only opens do not count.
    @Test func aFileOpenForWritingIsNotRead() throws {
        let path = "\(root)/copying.xml"
        let start = Array("<Invoice xmlns=".utf8)
        try Data(start).write(to: URL(fileURLWithPath: path))
        func read() throws -> FileSystem.ReadResult {
            try FileSystem.readFileIdentified(path, limit: 1 << 20, waitingForWriters: true).result
        }
        let writer = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        #expect(writer >= 0)
        guard case .openForWriting = try read() else {
            Issue.record("a file open for writing was read")
            close(writer)
            return
        }
        // Not asked to wait (the excerpt in an error file), it reads what is there.
        #expect(bytes(try FileSystem.readFile(path, limit: 1 << 20)) == start)
        close(writer)
        let reader = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(reader) }
        #expect(bytes(try read()) == start)
    }

    /// A claimed file is not read by a second claimant until the first lets go, nor one that
    /// another program holds a lock on.
    @Test func aClaimedFileIsReadByNoOtherClaimant() throws {
        let path = "\(root)/claimed.xml"
        try Data("<Invoice/>".utf8).write(to: URL(fileURLWithPath: path))
        func claim() throws -> (FileSystem.ReadResult, FileSystem.FileClaim?) {
            let read = try FileSystem.readFileIdentified(path, limit: 1 << 20, claiming: true)
            return (read.result, read.claim)
        }
        var first = try claim()
        #expect(bytes(first.0) == Array("<Invoice/>".utf8))
        #expect(first.1 != nil)
        guard case .claimedElsewhere = try claim().0 else {
            Issue.record("a file claimed by another was read")
            return
        }
        // Unclaimed readers (the error file's excerpt) are not held back.
        #expect(bytes(try FileSystem.readFile(path, limit: 1 << 20)) == Array("<Invoice/>".utf8))
        first.1 = nil
        #expect(bytes(try claim().0) == Array("<Invoice/>".utf8))

        // Held by a program's own lock (here a shared one): not read until it lets go.
        let locker = open(path, O_RDONLY | O_CLOEXEC)
        defer { close(locker) }
        #expect(flock(locker, LOCK_SH) == 0)
        guard case .claimedElsewhere = try claim().0 else {
            Issue.record("a file another program holds a lock on was read")
            return
        }
        #expect(flock(locker, LOCK_UN) == 0)
        #expect(bytes(try claim().0) == Array("<Invoice/>".utf8))
    }

    /// A file with more bytes than its size said when it was opened (here a kernel file, whose
    /// size is 0 and whose content is not) is one still being written: not taken in part.
    @Test func aFileLongerThanItsSizeIsTriedAgainLater() throws {
        let error = #expect(throws: FileSystem.Failure.self) {
            try FileSystem.readFile("/proc/self/status", limit: 1 << 20)
        }
        #expect(error?.code == EAGAIN)
    }
}

/// Splitting a path into its folder and name, which names every archived and rejected file.
@Suite struct PathSplittingTests {
    @Test(arguments: [
        ("/srv/ledgerd/Inbox/ehf/faktura.xml", "/srv/ledgerd/Inbox/ehf", "faktura.xml"),
        ("faktura.xml", ".", "faktura.xml"),
        ("/faktura.xml", "/", "faktura.xml"),
        ("Inbox/ehf/", "Inbox/ehf", ""),
        ("/srv/inn/Bjørnstad & Sønn — faktura.xml", "/srv/inn", "Bjørnstad & Sønn — faktura.xml"),
        // A combining mark right after the slash: the kernel still splits there.
        ("/srv/inn/\u{301}e.xml", "/srv/inn", "\u{301}e.xml"),
    ])
    func splitsOnTheLastSlash(path: String, folder: String, name: String) {
        #expect(FileSystem.parentDirectory(path) == folder)
        #expect(FileSystem.lastComponent(path) == name)
    }

    @Test func aFileIsInTheInboxOfItsFirstFolder() {
        let root = "/srv/Inbox"
        #expect(InboxScanner.inbox(ofPath: "/srv/Inbox/ehf/a.xml", inboxRoot: root) == "ehf")
        #expect(InboxScanner.inbox(ofPath: "/srv/Inbox/ehf/\u{301}a.xml", inboxRoot: root) == "ehf")
        #expect(InboxScanner.inbox(ofPath: "/srv/Inbox/checks/\u{301}mappe/a.png", inboxRoot: root + "/") == "checks")
        #expect(InboxScanner.inbox(ofPath: "/srv/Inbox/a.xml", inboxRoot: root) == "")
        #expect(InboxScanner.inbox(ofPath: "/srv/Inbox/other/a.xml", inboxRoot: root) == "")
        #expect(InboxScanner.inbox(ofPath: "/srv/Inboxes/ehf/a.xml", inboxRoot: root) == "")
        #expect(PathBytes.isInside("/srv/Inbox/\u{301}a", "/srv/Inbox"))
        #expect(!PathBytes.isInside("/srv/Inbox", "/srv/Inbox"))
        #expect(!PathBytes.isInside("/srv/Inboxes/a", "/srv/Inbox"))
    }

    /// The inbox a file is read by: its inbox folder's; elsewhere below the root (the root
    /// itself, a folder someone made there) its type's, or `other` for a type no inbox takes;
    /// none outside.
    @Test func aFileOutsideTheInboxFoldersIsReadByItsType() {
        let root = "/srv/Inbox"
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/ehf/a.pdf", inboxRoot: root) == "ehf")
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/a.xml", inboxRoot: root) == "ehf")
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/Fakturaer/2026/a.XML", inboxRoot: root) == "ehf")
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/Fakturaer/a.pdf", inboxRoot: root + "/") == "wise")
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/EHF/scan.jpg", inboxRoot: root) == "checks")
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/Fakturaer/notes.docx", inboxRoot: root) == "other")
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox/lesmeg.txt", inboxRoot: root) == "other")
        #expect(InboxScanner.inbox(forFile: "/srv/Inboxes/a.xml", inboxRoot: root) == nil)
        #expect(InboxScanner.inbox(forFile: "/srv/Inbox", inboxRoot: root) == nil)
    }

    /// A scan takes files from folders someone made in the inbox, by their type (`other` for
    /// one no inbox takes, to be counted and left alone), and leaves the rejected folder and
    /// hidden folders alone.
    @Test func aScanTakesFilesFromFoldersMadeInTheInboxByType() throws {
        let sandbox = try Sandbox()
        for (folder, name) in [
            ("Fakturaer", "a.xml"), ("Fakturaer/2026", "b.xml"), ("Fakturaer", "c.pdf"), ("Fakturaer", "notes.docx"),
            (".hidden", "d.xml"), ("rejected", "e.xml"), ("", "f.xml"), ("ehf", "g.xml"),
        ] {
            let directory = sandbox.inbox + (folder.isEmpty ? "" : "/" + folder)
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: directory + "/" + name, contents: Data("x".utf8)))
        }
        // The rejected folder configured through a link to the inbox: the same folder, under
        // another name, and still not taken from.
        try FileManager.default.createSymbolicLink(atPath: sandbox.root + "/alias", withDestinationPath: sandbox.inbox)
        let found = InboxScanner.scan(
            root: sandbox.inbox, excluding: [sandbox.root + "/alias/rejected"], isIgnored: InboxScanner.isTemporaryName,
            logger: Logger(label: "test"))
        let inboxes = Dictionary(
            uniqueKeysWithValues: found.map { (String($0.path.dropFirst(sandbox.inbox.count + 1)), $0.inbox) })
        #expect(
            inboxes == [
                "Fakturaer/a.xml": "ehf", "Fakturaer/2026/b.xml": "ehf", "Fakturaer/c.pdf": "wise", "f.xml": "ehf",
                "ehf/g.xml": "ehf", "Fakturaer/notes.docx": "other",
            ])
    }

    /// Names are shortened for the archive and rejected folders with their extension kept;
    /// a dot far from the end is part of the name, not an extension to keep whole.
    @Test func shortenedNamesKeepShortExtensionsAndStayWithinTheLimit() {
        let long = String(repeating: "ø", count: 150) + ".xml"
        #expect(FileSystem.shortened(long, maxBytes: 200) == String(repeating: "ø", count: 98) + ".xml")
        let dotted = "Faktura nr. " + String(repeating: "x", count: 238)
        let short = FileSystem.shortened(dotted, maxBytes: 200)
        #expect(short.utf8.count == 200)
        #expect(short.hasPrefix("Faktura nr. xxx"))
        #expect(FileSystem.shortened("faktura.xml", maxBytes: 200) == "faktura.xml")
    }

    @Test func folderAndNameMakeThePathAgain() {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "ø", "Å", "\u{301}", " ", "-", "é", "😀", "..", "x.xml"]
        for _ in 0..<2_000 {
            let parts = (0..<Int.random(in: 2...5, using: &generator)).map { _ in
                (0..<Int.random(in: 1...3, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                    .joined()
            }
            let path = "/" + parts.joined(separator: "/")
            #expect(FileSystem.parentDirectory(path) + "/" + FileSystem.lastComponent(path) == path, "\(path)")
        }
    }
}

/// The table of open files made large at the start (`reserveDescriptorTable`), so that the
/// claims of a run never grow it while threads run.
@Suite struct DescriptorTableTests {
    /// The table's size, as the kernel says it (`FDSize` in /proc/self/status).
    static func tableSize() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("FDSize:") })
        return try #require(Int(line.dropFirst("FDSize:".count).trimmingCharacters(in: .whitespaces)))
    }

    @Test func theTableHoldsWhatWasAskedForAndNothingIsLeftOpen() throws {
        let before = try Self.tableSize()
        let wanted = min(before * 4, FileSystem.openFileLimit())
        try #require(wanted > before, "the open-file limit leaves room to grow the table")
        FileSystem.reserveDescriptorTable(for: wanted)
        #expect(try Self.tableSize() >= wanted)
        // The descriptor that grew it is closed again. (Counting all the process's open files
        // would race with the tests running beside this one.)
        #expect(fcntl(Int32(wanted - 1), F_GETFD) == -1)
    }
}

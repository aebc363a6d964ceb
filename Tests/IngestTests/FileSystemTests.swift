import Foundation
import Ingest
import LedgerCore
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

    /// /dev/shm is a tmpfs, another device than the temporary folder on a normal machine:
    /// the move copies, syncs, and only then removes the original.
    @Test func acrossDevicesCopiesThenRemovesTheOriginal() throws {
        var shm = stat()
        var tmp = stat()
        guard stat("/dev/shm", &shm) == 0, stat(root, &tmp) == 0, shm.st_dev != tmp.st_dev else {
            Issue.record("/dev/shm is not a separate device here; the cross-device move is not exercised")
            return
        }
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

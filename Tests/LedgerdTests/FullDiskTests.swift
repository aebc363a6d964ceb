import Foundation
import Ingest
import LedgerStore
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A small tmpfs mounted in a test's home: a real disk that a test can fill and make room
/// on. Only root may mount one; CI runs the suite as root. It keeps its home alive, so the
/// home's folder is removed only after `unmount()`.
final class SmallDisk {
    let home: Home
    let path: String
    private var filler: String { path + "/filler" }

    init(in home: Home, at folder: String, kilobytes: Int) throws {
        self.home = home
        path = home.path + "/" + folder
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let mounted = try runProgram("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", path])
        try #require(mounted.status == 0, "mount (the suite runs as root): \(mounted.stderr)")
    }

    /// Takes all the room on the disk but about `kilobytes`.
    func fill(leaving kilobytes: Int) throws {
        makeRoom()
        var disk = statvfs()
        try #require(statvfs(path, &disk) == 0)
        let free = Int(disk.f_bfree) * Int(disk.f_frsize)
        try Data(count: max(0, free - kilobytes * 1024)).write(to: URL(fileURLWithPath: filler))
        #expect(statvfs(path, &disk) == 0)
        #expect(Int(disk.f_bfree) * Int(disk.f_frsize) <= kilobytes * 1024 + 4096)
    }

    func makeRoom() { unlink(filler) }

    func unmount() { _ = try? runProgram("/bin/umount", ["-l", path]) }

    /// The files under `folder` of the disk, by name.
    func files(under folder: String) -> [String] {
        let enumerator = FileManager.default.enumerator(atPath: path + "/" + folder)
        return (enumerator?.allObjects as? [String] ?? []).filter {
            FileSystem.lstatType(path + "/" + folder + "/" + $0) == .regular
        }.map { ($0 as NSString).lastPathComponent }
    }
}

/// A full disk, really full: no file lost, none posted twice or by half, each failure said in
/// words whoever runs ledgerd can act on, and everything taken in once there is room again.
@Suite(.serialized, .enabled(if: geteuid() == 0)) struct FullDiskTests {
    static func dropInvoices(_ count: Int, into home: Home) throws -> [String] {
        try (1...count).map { i in
            let name = "full-\(i).xml"
            try invoice(number: "FULL-\(i)").write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/" + name))
            return name
        }
    }

    /// An archived file's name without the hash the archive puts before it.
    static func originalName(_ archived: String) -> String {
        String(archived.split(separator: "_", maxSplits: 1).last ?? "")
    }

    static func inbox(_ home: Home) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: home.path + "/Inbox/ehf"))
    }

    /// The books' disk full while files are posted: nothing of the batch is written, every
    /// file stays, and each line says that the disk is full, of which disk. With no room at
    /// all, the same is said, at opening or at the batch. Once there is room, one more run
    /// posts every file, once.
    @Test(.timeLimit(.minutes(3))) func theBooksDiskFullPostsNothingAndEverythingOnceThereIsRoom() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        let disk = try SmallDisk(in: home, at: "var", kilobytes: 4096)
        defer { disk.unmount() }
        let first = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(first.status == 0, "\(first.stderr)")
        let database = disk.path + "/ledger.sqlite"
        let names = try Self.dropInvoices(40, into: home)

        // Room to open the books, none for the batch's log.
        try disk.fill(leaving: 96)
        let full = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(full.status == 1)
        let failed = full.stdout.split(separator: "\n").filter { $0.hasPrefix("failed: ") }
        #expect(failed.count == names.count, "\(full.stdout)\(full.stderr)")
        let because =
            " — DATABASE: the disk that holds the ledger database \(database) is full: free space on it (SQLite "
            + "error 13: database or disk is full)"
        #expect(failed.allSatisfy { $0.hasSuffix(because) }, "\(failed.first ?? "")")
        #expect(full.stdout.contains("40 files taken in: 0 posted"), "\(full.stdout)")
        #expect(try Self.inbox(home) == Set(names))

        // No room at all: refused when the books are opened (where SQLite must make its
        // -shm file) or at the batch, as the files left beside them have it; said either way.
        try disk.fill(leaving: 0)
        let none = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(none.status == 1)
        #expect(
            none.stderr.hasPrefix(
                "ledgerd: cannot open the ledger database \(database): the disk that holds it is full. Free space on "
                    + "it, then start ledgerd again; files wait in the inbox meanwhile. (SQLite error ")
                || none.stdout.contains(because), "\(none.stdout)\(none.stderr)")
        #expect(try Self.inbox(home) == Set(names))

        disk.makeRoom()
        let again = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(again.stdout.contains("40 files taken in: 40 posted, 0 duplicate"), "\(again.stdout)")
        #expect(try Self.inbox(home).isEmpty)
        #expect(try CommandLineTests.count("documents", in: database) == 40)
        #expect(try CommandLineTests.count("journal_entries", in: database) == 40)
        #expect(Set(disk.files(under: "archive/ehf").map(Self.originalName)) == Set(names))
        let reconcile = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(reconcile.status == 0, "\(reconcile.stdout)")
        #expect(reconcile.stdout.contains("All 40 journal entries balance."), "\(reconcile.stdout)")
    }

    /// The archive's disk full (another disk than the inbox's, so each move is a copy): the
    /// files are posted and stay in the inbox, no cut-short copy is left in the archive, and
    /// the next run moves them without posting them again.
    @Test(.timeLimit(.minutes(3))) func theArchiveDiskFullLeavesPostedFilesToBeMovedOnce() async throws {
        let home = try Home()
        let disk = try SmallDisk(in: home, at: "archive-disk", kilobytes: 1024)
        defer { disk.unmount() }
        try home.writeConfig(buyerConfig + "\n[paths]\narchive = \"archive-disk/archive\"\n")
        let first = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(first.status == 0, "\(first.stderr)")
        let names = try Self.dropInvoices(20, into: home)
        try disk.fill(leaving: 0)

        let full = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(full.status == 1)
        let failed = full.stdout.split(separator: "\n").filter { $0.hasPrefix("failed: ") }
        #expect(failed.count == names.count, "\(full.stdout)\(full.stderr)")
        for line in failed {
            #expect(line.contains(" — MOVE: Posted as document "), "\(line)")
            #expect(
                line.contains(": No space left on device); it stays where it is and is moved when it is tried again."))
        }
        #expect(try Self.inbox(home) == Set(names))
        #expect(disk.files(under: "archive").isEmpty, "\(disk.files(under: "archive"))")
        let database = home.path + "/var/ledger.sqlite"
        #expect(try CommandLineTests.count("documents", in: database) == 20)

        disk.makeRoom()
        let again = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(again.status == 0, "\(again.stdout)\(again.stderr)")
        #expect(try Self.inbox(home).isEmpty)
        #expect(disk.files(under: "archive/ehf").count == 20)
        #expect(disk.files(under: "archive/duplicates").isEmpty)
        #expect(try CommandLineTests.count("documents", in: database) == 20)
        #expect(try CommandLineTests.count("journal_entries", in: database) == 20)
        let reconcile = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(reconcile.status == 0, "\(reconcile.stdout)")
    }

    /// The daemon on a full disk keeps running: `/healthz` says the disk is full and which,
    /// the files wait, and once there is room they are posted, once, without a restart.
    @Test(.timeLimit(.minutes(3))) func theDaemonWaitsOutAFullDisk() async throws {
        let home = try Home()
        let disk = try SmallDisk(in: home, at: "var", kilobytes: 8192)
        defer { disk.unmount() }
        let daemon = try await RunningDaemon(home: home)
        let port = try #require(daemon.statusPort)
        try disk.fill(leaving: 96)
        let names = try Self.dropInvoices(40, into: home)
        let because = "the disk that holds the ledger database \(disk.path)/ledger.sqlite is full: free space on it"
        var health = try await get(port, "/healthz")
        for _ in 0..<600 where !health.json["reasons"].array.contains(where: { $0.string?.contains(because) == true }) {
            try await Task.sleep(for: .milliseconds(100))
            health = try await get(port, "/healthz")
        }
        #expect(health.status == 503, "\(health.body)")
        #expect(health.json["database"].string == "down", "\(health.body)")
        #expect(daemon.process.isRunning)
        #expect(daemon.logText.contains("could not write to the ledger database: \(because)"), "\(daemon.logText)")
        // Each file is in the inbox or, posted before the disk filled, in the archive.
        let archived = Set(disk.files(under: "archive/ehf").map(Self.originalName))
        #expect(try Self.inbox(home).union(archived) == Set(names))
        #expect(daemon.count("SELECT COUNT(*) FROM documents") < names.count)

        disk.makeRoom()
        try await waitUntil(seconds: 30) { daemon.count("SELECT COUNT(*) FROM documents") == names.count }
        try await waitUntil(seconds: 30) { try Self.inbox(home).isEmpty }
        health = try await get(port, "/healthz")
        for _ in 0..<300 where health.status != 200 {
            try await Task.sleep(for: .milliseconds(100))
            health = try await get(port, "/healthz")
        }
        #expect(health.status == 200, "\(health.body)")
        #expect(daemon.count("SELECT COUNT(*) FROM journal_entries") == names.count)
        #expect(daemon.terminate() == 0)
    }
}

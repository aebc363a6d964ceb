import Foundation
import GRDB
import LedgerCore
import LedgerStore
import Logging
import Synchronization
import Testing

@testable import Ingest

#if canImport(Glibc)
    import Glibc
#endif

/// `valid` with a Latin-1 "ø" (one byte, 0xF8) inside the invoice number: not UTF-8.
func latin1(_ valid: [UInt8]) -> [UInt8] {
    let marker = Array("</cbc:ID>".utf8)
    var bytes = valid
    for i in 0..<(bytes.count - marker.count) where Array(bytes[i..<(i + marker.count)]) == marker {
        bytes.insert(0xF8, at: i)
        break
    }
    return bytes
}

@Suite struct PipelineTests {
    static let example = corpusFiles("valid").first { $0.hasSuffix("ehf3_faktura-1_NOK.xml") }!

    /// Writes `count` distinct invoices (the example, numbered `prefix`0, `prefix`1, …) into
    /// the EHF inbox as invoice-0.xml, invoice-1.xml, ….
    static func writeInvoices(_ count: Int, numbered prefix: String, into sandbox: Sandbox) throws {
        let template = String(decoding: try Data(contentsOf: URL(fileURLWithPath: example)), as: UTF8.self)
        let start = try #require(template.range(of: "<cbc:ID>"))
        let end = try #require(template.range(of: "</cbc:ID>", range: start.upperBound..<template.endIndex))
        for i in 0..<count {
            let xml = template.replacingCharacters(in: start.upperBound..<end.lowerBound, with: "\(prefix)\(i)")
            _ = try sandbox.write(Array(xml.utf8), as: "invoice-\(i).xml")
        }
    }
    static var buyer: [String] { try! identifiers(of: example, side: .purchase) }

    @Test func aSymlinkIsNeverFollowed() throws {
        let sandbox = try Sandbox()
        let secret = sandbox.root + "/secret.xml"
        try Data(try Data(contentsOf: URL(fileURLWithPath: Self.example))).write(to: URL(fileURLWithPath: secret))
        let link = sandbox.inbox + "/ehf/link.xml"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: secret)
        let results = sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan())
        #expect(results.map(\.outcome) == [.rejected])
        #expect(results.first?.reason?.code == "NOT-A-FILE")
        #expect(results.first?.reason?.message.hasPrefix("This is a symbolic link; ") == true)
        // The link itself moved; its target is untouched and nothing was posted.
        #expect(FileSystem.lstatType(sandbox.rejected + "/link.xml") == .symlink)
        #expect(FileManager.default.fileExists(atPath: secret))
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 0)
    }

    /// A copy in progress (the program copying it still has it open for writing) is left
    /// where it is, untouched and unposted, and taken whole once the copy is done.
    @Test func aFileStillOpenForWritingIsLeftForLater() throws {
        let sandbox = try Sandbox()
        let whole = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.example)))
        let path = try sandbox.write(Array(whole[..<(whole.count / 2)]), as: "copying.xml")
        let writer = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
        #expect(writer >= 0)
        let pipeline = sandbox.pipeline(identifiers: Self.buyer)
        let first = pipeline.ingest(sandbox.scan())
        #expect(first.map(\.outcome) == [.failed])
        #expect(first.first?.reason?.code == Pipeline.incompleteCode)
        #expect(first.first?.reason?.message.contains("open for writing") == true)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(sandbox.files(under: sandbox.rejected).isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == 0)

        let rest = Array(whole[(whole.count / 2)...])
        #expect(rest.withUnsafeBytes { write(writer, $0.baseAddress, $0.count) } == rest.count)
        close(writer)
        let second = pipeline.ingest(sandbox.scan())
        #expect(second.map(\.outcome) == [.posted])
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == 1)
    }

    @Test func aHugeFileIsRefusedBeforeItIsRead() throws {
        let sandbox = try Sandbox()
        // A 1 GB sparse file: refusing it must not read it.
        let path = sandbox.inbox + "/ehf/huge.xml"
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)
        #expect(ftruncate(fd, 1 << 30) == 0)
        close(fd)
        let results = sandbox.pipeline(identifiers: Self.buyer, maxFileBytes: 10 << 20).ingest(sandbox.scan())
        #expect(results.map(\.outcome) == [.rejected])
        // Recorded under a stand-in for the hash of bytes that were never read.
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents WHERE sha256 LIKE 'unread:%'") == 1)
        #expect(results.first?.reason?.code == "FILE-TOO-LARGE")
        #expect(
            results.first?.reason?.message
                == "The file is 1073741824 bytes (1 GiB), larger than the 10485760 bytes (10 MiB) limit ([limits] max_file_bytes), so it was not read."
        )
        #expect(Pipeline.humanBytes(1_904_914) == "1904914 bytes (1.8 MiB)")
        #expect(Pipeline.humanBytes(1_536_000) == "1536000 bytes (1.4 MiB)")
        #expect(Pipeline.humanBytes(1023) == "1023 bytes")
        #expect(FileManager.default.fileExists(atPath: sandbox.rejected + "/huge.xml.error.txt"))
    }

    @Test func junkTruncatedAndHostileFilesAreRejectedWithReasons() throws {
        let sandbox = try Sandbox()
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.example)))
        var random = SystemRandomNumberGenerator()
        let files: [(String, [UInt8])] = [
            ("junk.xml", (0..<4096).map { _ in UInt8.random(in: 0...255, using: &random) }),
            ("truncated.xml", Array(valid.prefix(valid.count / 2))),
            ("empty.xml", []),
            (
                "xxe.xml",
                Array(
                    """
                    <?xml version="1.0"?><!DOCTYPE Invoice [<!ENTITY x SYSTEM "file:///etc/passwd">]>
                    <Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2">&x;</Invoice>
                    """.utf8)
            ),
            ("latin1.xml", latin1(valid)),
        ]
        for (name, bytes) in files { _ = try sandbox.write(bytes, as: name) }
        let results = sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan())
        #expect(results.count == files.count)
        for result in results {
            #expect(result.outcome == .rejected, "\(result.logLine)")
            let reason = try #require(result.reason)
            #expect(!reason.message.isEmpty)
            #expect(FileManager.default.fileExists(atPath: sandbox.rejected + "/" + result.file.name + ".error.txt"))
        }
        #expect(results.first { $0.file.name == "xxe.xml" }?.reason?.code == "XML-DOCTYPE")
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 0)
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents WHERE state = 'rejected'") == files.count)
    }

    @Test func oddNamesAreKeptAndProcessed() throws {
        let sandbox = try Sandbox()
        let names = [
            "-leading dash.xml", "faktura æøå 😀.xml", "line\nbreak.xml", "quote'\"semi;colon.xml",
            String(repeating: "long", count: 60) + ".xml",
            // As long as a name may be: 255 bytes, with or without an extension to keep.
            String(repeating: "y", count: 251) + ".xml", "Faktura nr. " + String(repeating: "x", count: 243),
        ]
        for (i, name) in names.enumerated() {
            // Different bytes per file (a comment), so none is a duplicate of another.
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.example)))
            bytes += Array("<!-- \(i) -->".utf8)
            _ = try sandbox.write(bytes, as: name)
        }
        // A name that is not valid UTF-8, written with the raw system call.
        let raw: [UInt8] = Array((sandbox.inbox + "/ehf/latin1-").utf8) + [0xE6, 0xF8, 0xE5] + Array(".xml".utf8) + [0]
        let fd = raw.withUnsafeBufferPointer {
            $0.withMemoryRebound(to: CChar.self) { open($0.baseAddress!, O_CREAT | O_WRONLY, 0o644) }
        }
        #expect(fd >= 0)
        close(fd)

        let results = sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan())
        #expect(results.count == names.count + 1)
        // Same invoice number: the first posts, the rest are flagged duplicates — all kept.
        #expect(results.filter { $0.outcome == .posted }.count == 1)
        #expect(results.filter { $0.outcome == .duplicateNumber }.count == names.count - 1)
        #expect(results.contains { $0.file.name == "latin1-æøå.xml" && $0.outcome == .rejected })
        #expect(sandbox.scan().isEmpty)
        #expect(
            sandbox.files(under: sandbox.archive).count
                + sandbox.files(under: sandbox.rejected).filter { !$0.hasSuffix(".error.txt") }.count == names.count + 1
        )
    }

    /// Names in another encoding are read as Windows-1252, the encoding such names come in.
    @Test func namesInWindows1252AreReadAsSuch() {
        #expect(
            InboxScanner.readableName(Array("faktura-".utf8) + [0xE6, 0xF8, 0xE5, 0xC6, 0xD8, 0xC5]) == "faktura-æøåÆØÅ"
        )
        #expect(InboxScanner.readableName([0x80, 0x20, 0x81, 0x96, 0x9F]) == "€ _–Ÿ")
        #expect(InboxScanner.readableName(Array("plain.xml".utf8)) == "plain.xml")
    }

    /// Temporary and system files are told apart from documents the same way whether the
    /// name is looked at as ASCII bytes or by its characters.
    @Test func temporaryNamesAreTheSameAsBytesAndAsCharacters() {
        for name in [
            "inv.xml", ".hidden", "~$Budget.xlsx", "draft~", "a.PART", "scan.Tmp", "x.crdownload", "y.partial",
            "z.SWP", "faktura.xml.error.txt", "Thumbs.db", "DESKTOP.INI", ".DS_Store", "@eaDir", "@eaDir2",
            "thumbs.db.xml", "part", ".tmp", "tmp", "", "~", "~$", "a\r\n.tmp", "faktura-ø.tmp", "faktura-ø.xml",
        ] {
            #expect(
                InboxScanner.isTemporaryName(name) == InboxScanner.isTemporaryNameByCharacters(name),
                "\(name.debugDescription)")
        }
        #expect(InboxScanner.isTemporaryName("Scan.TMP") && !InboxScanner.isTemporaryName("scan.tmp.xml"))
        var rng = SystemRandomNumberGenerator()
        let pieces = ["a", "T", ".", "~", "$", "part", "TMP", "swp", "@", "eaDir", "thumbs", ".db", "\r\n", " ", "ø"]
        for _ in 0..<20_000 {
            let name = (0..<Int.random(in: 0...5, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            #expect(
                InboxScanner.isTemporaryName(name) == InboxScanner.isTemporaryNameByCharacters(name),
                "\(name.debugDescription)")
        }
    }

    /// A file too large for what is left of a batch's allowance to hold its bytes leaves
    /// the rest for the smaller files after it.
    @Test func aFileTooLargeToHoldLeavesTheAllowanceToTheFilesAfterIt() {
        let allowance = Pipeline.KeepAllowance()
        #expect(!allowance.take(Pipeline.KeepAllowance.perBatch + 1))
        #expect(allowance.take(Pipeline.KeepAllowance.perBatch - 10))
        #expect(!allowance.take(11))
        #expect(allowance.take(10))
        #expect(!allowance.take(1))
    }

    @Test func temporaryNamesAreLeftAlone() throws {
        let sandbox = try Sandbox()
        for name in ["upload.xml.part", ".hidden.xml", "~$faktura.xml", "Thumbs.db", "x.xml.tmp"] {
            try sandbox.drop(Self.example, as: name)
        }
        #expect(sandbox.scan().isEmpty)
    }

    @Test func aFileCommittedButNotMovedIsMovedOnRetryNotPostedTwice() throws {
        let sandbox = try Sandbox()
        let dropped = try sandbox.drop(Self.example)
        let pipeline = sandbox.pipeline(identifiers: Self.buyer)
        let first = pipeline.ingest(sandbox.scan())
        let archived = try #require(first.first?.destination)
        // As if the process died after the commit and before the move.
        try FileManager.default.moveItem(atPath: archived, toPath: dropped)
        let second = pipeline.ingest(sandbox.scan())
        #expect(second.map(\.outcome) == [.posted])
        #expect(second.first?.destination == archived)
        #expect(FileManager.default.fileExists(atPath: archived))
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 1)
    }

    /// A file named twice on the command line (or named and inside a folder named too) is
    /// taken once; and were it handed over twice, the second finds it in the first's hands
    /// (its claim) and leaves it: one result, posted, and no failure.
    @Test func aFileNamedTwiceIsTakenOnceAndNothingFails() throws {
        let sandbox = try Sandbox()
        let dropped = try sandbox.drop(Self.example)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let found = InboxScanner.files(
            for: [dropped, sandbox.inbox + "/ehf/./" + FileSystem.lastComponent(dropped), sandbox.inbox].map(
                PathBytes.normalized),
            inboxRoot: sandbox.inbox, excluding: [sandbox.rejected], isIgnored: InboxScanner.isTemporaryName,
            logger: logger)
        #expect(found.files.map(\.path) == [dropped])
        let file = try #require(found.files.first)
        let results = sandbox.pipeline(identifiers: Self.buyer).ingest([file, file])
        #expect(results.map(\.outcome) == [.posted])
        #expect(results.first?.destination?.contains("/archive/ehf/") == true)
        #expect(!FileManager.default.fileExists(atPath: dropped))
        #expect(sandbox.files(under: sandbox.archive).count == 1)
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 1)
    }

    /// A rejected file never lands in the rejected folder without its error file: when that
    /// cannot be written (the folder full, here a folder in the way of its temporary name),
    /// the file stays in the inbox and both are written when it is tried again.
    @Test func aRejectedFileWaitsInTheInboxUntilItsErrorFileCanBeWritten() throws {
        let sandbox = try Sandbox()
        let path = try sandbox.write(Array("not an invoice".utf8), as: "junk.xml")
        let blocker = sandbox.rejected + "/.ledgerd-partial-junk.xml.error.txt"
        try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: true)
        let first = sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan())
        #expect(first.map(\.outcome) == [.failed])
        #expect(first.first?.reason?.message.contains("its error file could not be written") == true)
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: sandbox.rejected + "/junk.xml"))

        try FileManager.default.removeItem(atPath: blocker)
        let again = sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan())
        #expect(again.map(\.outcome) == [.rejected])
        #expect(FileManager.default.fileExists(atPath: sandbox.rejected + "/junk.xml"))
        #expect(FileManager.default.fileExists(atPath: sandbox.rejected + "/junk.xml.error.txt"))
    }

    /// A stop asked for during a run ends it after the batch being written: that batch is
    /// posted and moved, and the files of the others stay in the inbox untouched.
    @Test func aStopEndsTheRunAfterTheBatchInHand() throws {
        let sandbox = try Sandbox()
        try Self.writeInvoices(100, numbered: "STOP-", into: sandbox)
        let results = sandbox.pipeline(identifiers: Self.buyer, batchSize: 16).ingest(sandbox.scan()) { true }
        #expect(results.count == 16)
        #expect(results.allSatisfy { $0.outcome == .posted })
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == 16)
        #expect(sandbox.scan().count == 84)
    }

    /// A run reports each batch as soon as its files are moved, batch after batch in order
    /// (`ledgerd ingest` writes its lines so, as it goes): every file once, already where its
    /// result says, and the reports together are what the run returns.
    @Test func eachBatchIsReportedOnceItsFilesAreMoved() throws {
        let sandbox = try Sandbox()
        try Self.writeInvoices(150, numbered: "REPORT-", into: sandbox)
        let reported = Mutex<[[FileResult]]>([])
        let results = sandbox.pipeline(identifiers: Self.buyer, batchSize: 32).ingest(
            sandbox.scan(),
            settled: { batch in
                // Checked here, while the run goes on: the batch's files are moved already.
                let moved = batch.allSatisfy { result in
                    result.destination.map(FileManager.default.fileExists(atPath:)) == true
                        && !FileManager.default.fileExists(atPath: result.file.path)
                }
                reported.withLock { $0.append(moved ? batch : []) }
            })
        let batches = reported.withLock { $0 }
        #expect(batches.count > 2)
        #expect(batches.allSatisfy { !$0.isEmpty })
        #expect(batches.flatMap { $0 } == results)
        #expect(results.count == 150)
        #expect(results.allSatisfy { $0.outcome == .posted })
    }

    /// Two runs over the same inbox at once (the daemon and an `ingest`, or two `ingest`s),
    /// each with its own connection to the books: every file is posted once, moved once, and
    /// neither run reports a file the other took as failed.
    @Test func twoRunsAtOnceTakeEachFileOnceAndNeitherFails() async throws {
        let sandbox = try Sandbox()
        let count = 200
        try Self.writeInvoices(count, numbered: "TWO-RUNS-", into: sandbox)
        let files = sandbox.scan()
        #expect(files.count == count)
        let otherStore = try LedgerStore(path: sandbox.database, durability: .normal)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let settings = sandbox.settings(identifiers: Self.buyer, batchSize: 16)
        let first = Pipeline(settings: settings, store: sandbox.store, logger: logger)
        let second = Pipeline(settings: settings, store: otherStore, logger: logger)
        async let a = Task.detached { first.ingest(files) }.value
        async let b = Task.detached { second.ingest(files.reversed()) }.value
        let results = await a + b
        let failed = results.filter { $0.outcome == .failed }
        #expect(failed.isEmpty, "\(failed.map(\.logLine))")
        #expect(Set(results.filter { $0.outcome == .posted }.map(\.file.name)).count == count)
        // Each file is reported once, by the run that posted it: never posted by both, nor a
        // "duplicate" of the other's.
        #expect(results.filter { $0.outcome == .posted }.count == count)
        #expect(results.filter { $0.outcome == .duplicate }.isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == count)
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == count)
        #expect(sandbox.files(under: sandbox.inbox + "/ehf").isEmpty)
        #expect(sandbox.files(under: sandbox.archive + "/ehf").count == count)
        #expect(sandbox.files(under: sandbox.rejected).isEmpty)
    }

    /// The files a run said nothing of are found by one walk over files and results, by the
    /// bytes of their paths: two names equal only as strings are two files.
    @Test func unreportedFilesAreThoseWithoutAResult() {
        let files = ["/i/ehf/a.xml", "/i/ehf/faktura-\u{E9}.xml", "/i/ehf/faktura-e\u{301}.xml", "/i/ehf/z.xml"].map {
            InboxFile(path: $0, inbox: "ehf")
        }
        func result(_ file: InboxFile) -> FileResult {
            FileResult(file: file, outcome: .posted, documentID: 1, reason: nil, destination: nil)
        }
        #expect(Pipeline.unreported(files, results: files.map(result)).isEmpty)
        let left = Pipeline.unreported(files, results: [result(files[0]), result(files[1])])
        #expect(left.map { Array($0.path.utf8) } == files[2...].map { Array($0.path.utf8) })
        #expect(
            Pipeline.unreported(files, results: [result(files[2])]).map { Array($0.path.utf8) }
                == [files[0], files[1], files[3]].map { Array($0.path.utf8) })
    }

    /// A second run that starts in the moment between another run's commit and its moves
    /// (the daemon has just committed a batch when `ledgerd ingest` is started): the files
    /// are the first run's, which still has them in hand. The second leaves them alone rather
    /// than taking them for files an earlier run posted and never moved; each is reported
    /// once, posted, by the run that posted it.
    @Test func aRunStartedBetweenAnothersCommitAndItsMovesLeavesTheFilesToIt() throws {
        let sandbox = try Sandbox()
        try Self.writeInvoices(8, numbered: "IN-HAND-", into: sandbox)
        let files = sandbox.scan()
        let first = sandbox.pipeline(identifiers: Self.buyer)
        let written = first.write(files, prepared: first.prepareAll(files, receivedAt: Timestamp.now()))
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == 8)

        let otherStore = try LedgerStore(path: sandbox.database, durability: .normal)
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let second = Pipeline(settings: sandbox.settings(identifiers: Self.buyer), store: otherStore, logger: logger)
        let meanwhile = second.ingest(sandbox.scan())
        #expect(meanwhile.isEmpty, "\(meanwhile.map(\.logLine))")
        #expect(sandbox.files(under: sandbox.inbox + "/ehf").count == 8)

        let settled = first.settle(written)
        #expect(settled.count == 8)
        #expect(settled.allSatisfy { $0.outcome == .posted && $0.destination != nil }, "\(settled.map(\.logLine))")
        #expect(sandbox.files(under: sandbox.inbox + "/ehf").isEmpty)
        #expect(sandbox.files(under: sandbox.archive + "/ehf").count == 8)
        #expect(sandbox.files(under: sandbox.archive + "/duplicates").isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 8)
    }

    /// `ledgerd ingest rejected/FILE`, as the error file suggests: rejected again, the file
    /// stays under its own name with a fresh error file; posted, it leaves with its error file.
    @Test func aRejectedFileTriedAgainWhereItLiesStaysOrLeavesWithItsErrorFile() throws {
        let sandbox = try Sandbox()
        try sandbox.drop(Self.example)
        let name = FileSystem.lastComponent(Self.example)
        let first = sandbox.pipeline(identifiers: ["0192:999999999"]).ingest(sandbox.scan())
        #expect(first.map(\.outcome) == [.rejected])
        let rejected = sandbox.rejected + "/" + name
        let note = rejected + ".error.txt"
        #expect(FileManager.default.fileExists(atPath: note))
        try "stale".write(toFile: note, atomically: true, encoding: .utf8)

        let again = sandbox.pipeline(identifiers: ["0192:999999999"]).ingest([InboxFile(path: rejected, inbox: "ehf")])
        #expect(again.map(\.outcome) == [.rejected])
        #expect(again.first?.destination == rejected)
        #expect(sandbox.files(under: sandbox.rejected) == [name, name + ".error.txt"])
        #expect(try String(contentsOfFile: note, encoding: .utf8).hasPrefix("\(name) was not posted."))

        let posted = sandbox.pipeline(identifiers: Self.buyer).ingest([InboxFile(path: rejected, inbox: "ehf")])
        #expect(posted.map(\.outcome) == [.posted])
        #expect(sandbox.files(under: sandbox.rejected).isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 1)
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == 1)
    }

    /// Moved back into the inbox by hand, as the error file says: rejected again, the file
    /// takes its old place and error file in the rejected folder instead of a second name; once
    /// posted (the configuration fixed), its error file goes.
    @Test func aRejectedFileMovedBackByHandLeavesNoStaleErrorFile() throws {
        let sandbox = try Sandbox()
        let dropped = try sandbox.drop(Self.example)
        let name = FileSystem.lastComponent(Self.example)
        let rejected = sandbox.rejected + "/" + name
        #expect(sandbox.pipeline(identifiers: ["0192:999999999"]).ingest(sandbox.scan()).map(\.outcome) == [.rejected])
        // Another file of the same name, other bytes, rejected too: its error file is not ours.
        var other = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.example)))
        other += Array("<!-- other -->".utf8)

        try FileManager.default.moveItem(atPath: rejected, toPath: dropped)
        let again = sandbox.pipeline(identifiers: ["0192:999999999"]).ingest(sandbox.scan())
        #expect(again.map(\.outcome) == [.rejected])
        #expect(again.first?.destination == rejected)
        #expect(sandbox.files(under: sandbox.rejected) == [name, name + ".error.txt"])

        try FileManager.default.moveItem(atPath: rejected, toPath: dropped)
        let posted = sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan())
        #expect(posted.map(\.outcome) == [.posted])
        #expect(sandbox.files(under: sandbox.rejected).isEmpty)

        // An error file written for other bytes stays: it is not this file's.
        _ = try sandbox.write(other, as: "x.xml")
        #expect(sandbox.pipeline(identifiers: ["0192:999999999"]).ingest(sandbox.scan()).map(\.outcome) == [.rejected])
        try FileManager.default.moveItem(atPath: sandbox.rejected + "/x.xml", toPath: sandbox.root + "/x.xml")
        _ = try sandbox.write(other + [0x0A], as: "x.xml")
        let unrelated = sandbox.pipeline(identifiers: ["0192:999999999"]).ingest(sandbox.scan())
        #expect(unrelated.first?.destination == sandbox.rejected + "/x (2).xml")
        #expect(sandbox.files(under: sandbox.rejected) == ["x (2).xml", "x (2).xml.error.txt", "x.xml.error.txt"])
    }

    /// Two rejected files of one name lie in the rejected folder as `x.xml` and `x (2).xml`:
    /// the books say which is where, for the status page.
    @Test func rejectedFilesOfOneNameSayWhereEachLies() throws {
        let sandbox = try Sandbox()
        let pipeline = sandbox.pipeline(identifiers: Self.buyer)
        _ = try sandbox.write(Array("<Invoice>cut".utf8), as: "x.xml")
        #expect(pipeline.ingest(sandbox.scan()).map(\.outcome) == [.rejected])
        _ = try sandbox.write(Array("<Invoice>cut off".utf8), as: "x.xml")
        let second = pipeline.ingest(sandbox.scan())
        #expect(second.map(\.destination) == [sandbox.rejected + "/x (2).xml"])
        let open = try sandbox.store.statusPageData(asOf: Day(iso: "2026-11-23")!).openRejections
        #expect(open.map(\.name) == ["x.xml", "x.xml"])
        #expect(Set(open.compactMap(\.rejectedPath)) == [sandbox.rejected + "/x.xml", sandbox.rejected + "/x (2).xml"])
        #expect(open.first { $0.id == second.first?.documentID }?.rejectedPath == sandbox.rejected + "/x (2).xml")
        // Its error file says to delete it, by the name it lies under, not the other x.xml.
        let note = try String(contentsOfFile: sandbox.rejected + "/x (2).xml.error.txt", encoding: .utf8)
        #expect(note.hasPrefix("x.xml was not posted."))
        #expect(note.contains("then delete x (2).xml and this error file from the rejected folder."), "\(note)")
    }

    /// A rejection stays open while its file lies in the rejected folder, whatever else of its
    /// name is posted; taken out, corrected and dropped again under its name, it is resolved
    /// and its error file goes.
    @Test func aRejectionIsResolvedByItsCorrectedFileNotByAnotherOfItsName() throws {
        let sandbox = try Sandbox()
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.example)))
        func open() throws -> [String] {
            try sandbox.store.statusPageData(asOf: Day(iso: "2026-11-23")!).openRejections.map {
                "\($0.name) \($0.reasonCode ?? "")"
            }
        }
        // invoice.xml: broken XML, rejected.
        _ = try sandbox.write(Array(valid.prefix(valid.count / 2)), as: "invoice.xml")
        #expect(sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan()).map(\.outcome) == [.rejected])
        #expect(try open() == ["invoice.xml XML-MALFORMED"])

        // Another invoice that happens to have the same name: posted, but the rejected one,
        // still in the rejected folder, still needs someone.
        _ = try sandbox.write(valid, as: "invoice.xml")
        #expect(sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan()).map(\.outcome) == [.posted])
        #expect(try open() == ["invoice.xml XML-MALFORMED"])
        #expect(sandbox.files(under: sandbox.rejected) == ["invoice.xml", "invoice.xml.error.txt"])

        // Taken out of the rejected folder, corrected, dropped again under its name.
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/invoice.xml")
        let corrected = String(decoding: valid, as: UTF8.self).replacingOccurrences(
            of: "<cbc:ID>TOSL108</cbc:ID>", with: "<cbc:ID>TOSL108-B</cbc:ID>")
        _ = try sandbox.write(Array(corrected.utf8), as: "invoice.xml")
        #expect(sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan()).map(\.outcome) == [.posted])
        #expect(try open() == [])
        #expect(sandbox.files(under: sandbox.rejected).isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents WHERE resolved_at IS NOT NULL") == 1)
    }

    /// A rejected or flagged file the bookkeeper deletes from the rejected folder needs no one
    /// any more, as soon as the folder is looked at; one still there, with or without its
    /// error file, does. One whose arrival in the folder is not recorded is left alone for ten
    /// minutes (it may be on its way there), and so is one processed again since its arrival
    /// was read.
    @Test func problemsWhoseFilesLeftTheRejectedFolderAreResolved() throws {
        let sandbox = try Sandbox()
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.example)))
        func open() throws -> [String] {
            let page = try sandbox.store.statusPageData(asOf: Day(iso: "2026-11-23")!)
            return (page.openRejections + page.duplicates).map(\.name).sorted()
        }
        _ = try sandbox.write(valid, as: "posted.xml")
        _ = try sandbox.write(valid + Array("<!-- again -->".utf8), as: "copy.xml")
        _ = try sandbox.write(Array(valid.prefix(100)), as: "deleted.xml")
        _ = try sandbox.write(Array(valid.prefix(200)), as: "kept.xml")
        _ = try sandbox.write(Array(valid.prefix(300)), as: "kept-bare.xml")
        let results = sandbox.pipeline(identifiers: Self.buyer, batchSize: 1).ingest(
            sandbox.scan().sorted { $0.name > $1.name })
        #expect(
            results.map(\.outcome).sorted { $0.rawValue < $1.rawValue }.map(\.rawValue) == [
                "duplicate_number", "posted", "rejected", "rejected", "rejected",
            ])
        #expect(try open() == ["copy.xml", "deleted.xml", "kept-bare.xml", "kept.xml"])
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/deleted.xml")
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/deleted.xml.error.txt")
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/copy.xml")
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/kept-bare.xml.error.txt")
        let pipeline = sandbox.pipeline(identifiers: Self.buyer)
        // Each file's arrival in the folder was recorded once it was moved there.
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents WHERE rejected_path IS NOT NULL") == 4)
        // deleted.xml as if its arrival were not recorded yet: left alone while it is recent.
        try sandbox.store.pool.write { db in
            try db.execute(sql: "UPDATE documents SET rejected_path = NULL WHERE original_name = 'deleted.xml'")
        }
        // What was known to be there before the look and is gone since is resolved at once.
        let known = try sandbox.store.problemsInRejectedFolder()
        #expect(known.count == 3)
        // Processed again after that was read (as another time is): not the file known there.
        let stale = known.mapValues { _ in "2025-12-31T23:59:59Z" }
        let none = try sandbox.store.resolveProblems(
            processedBefore: "2000-01-01T00:00:00Z", orKnown: stale, now: "2026-01-01T00:00:00Z"
        ) { _, _ in false }
        #expect(none == 0)
        #expect(pipeline.resolveProblemsRemovedFromRejectedFolder() == 1)
        #expect(try open() == ["deleted.xml", "kept-bare.xml", "kept.xml"])
        try sandbox.store.pool.write { db in
            try db.execute(sql: "UPDATE documents SET processed_at = '2026-01-01T00:00:00Z'")
        }
        #expect(pipeline.resolveProblemsRemovedFromRejectedFolder() == 1)
        #expect(try open() == ["kept-bare.xml", "kept.xml"])
        #expect(pipeline.resolveProblemsRemovedFromRejectedFolder() == 0)
    }

    /// Files refused before they were read (too large, a link) have no hash of their bytes:
    /// their error file names their stand-in key, by which the sweep still finds them, and
    /// they are resolved once they leave the rejected folder, or once a corrected file of
    /// their name is posted. One whose error file names no key (written by an older version)
    /// is known by its name.
    @Test func problemsOfFilesRefusedUnreadAreResolvedWhenTheyLeave() throws {
        let sandbox = try Sandbox()
        let valid = [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.example)))
        func open() throws -> [String] {
            try sandbox.store.statusPageData(asOf: Day(iso: "2026-11-23")!).openRejections.map(\.name).sorted()
        }
        let padding = Array(String(repeating: " ", count: 2_000).utf8)
        _ = try sandbox.write(valid + padding, as: "big.xml")
        _ = try sandbox.write(valid + padding + padding, as: "big-old.xml")
        _ = try sandbox.write(valid + padding + padding + padding, as: "big-kept.xml")
        try FileManager.default.createSymbolicLink(
            atPath: sandbox.inbox + "/ehf/link.xml", withDestinationPath: sandbox.root + "/elsewhere.xml")
        let limit = Int64(valid.count + 1_000)
        let results = sandbox.pipeline(identifiers: Self.buyer, maxFileBytes: limit).ingest(sandbox.scan())
        #expect(
            results.map(\.reason?.code).sorted { ($0 ?? "") < ($1 ?? "") } == [
                "FILE-TOO-LARGE", "FILE-TOO-LARGE", "FILE-TOO-LARGE", "NOT-A-FILE",
            ])
        #expect(try open() == ["big-kept.xml", "big-old.xml", "big.xml", "link.xml"])
        let report = try String(contentsOfFile: sandbox.rejected + "/big.xml.error.txt", encoding: .utf8)
        let key = try #require(ErrorReport.documentKey(describedBy: sandbox.rejected + "/big.xml.error.txt"))
        #expect(key.hasPrefix("unread:") && report.contains("Reference: \(key) (not read, so no SHA-256)\n"))
        #expect(report.contains("raise [limits] max_file_bytes and restart ledgerd.\n"))
        #expect(report.contains("To try again after fixing the cause, move the file back into the ehf inbox"))
        // A link is not tried again, nor corrected by its sender: the advice says it all.
        let linkReport = try String(contentsOfFile: sandbox.rejected + "/link.xml.error.txt", encoding: .utf8)
        #expect(linkReport.contains("then delete what was rejected from the rejected folder.\n"))
        #expect(!linkReport.contains("try again") && !linkReport.contains("corrected file"))
        #expect(ErrorReport.sha256(describedBy: sandbox.rejected + "/big.xml.error.txt") == nil)
        // As an older version wrote it: no key line.
        let oldReport = sandbox.rejected + "/big-old.xml.error.txt"
        let lines = try String(contentsOfFile: oldReport, encoding: .utf8).split(
            separator: "\n", omittingEmptySubsequences: false)
        try lines.filter { !$0.hasPrefix("Reference: ") }.joined(separator: "\n").write(
            toFile: oldReport, atomically: true, encoding: .utf8)
        #expect(ErrorReport.documentKey(describedBy: oldReport) == nil)
        try sandbox.store.pool.write { db in
            try db.execute(sql: "UPDATE documents SET processed_at = '2026-01-01T00:00:00Z'")
        }
        let pipeline = sandbox.pipeline(identifiers: Self.buyer, maxFileBytes: limit)
        // All still there, the one without its error file too.
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/big-kept.xml.error.txt")
        #expect(pipeline.resolveProblemsRemovedFromRejectedFolder() == 0)
        for name in ["big-old.xml", "link.xml"] {
            try FileManager.default.removeItem(atPath: sandbox.rejected + "/" + name)
        }
        #expect(pipeline.resolveProblemsRemovedFromRejectedFolder() == 2)
        #expect(try open() == ["big-kept.xml", "big.xml"])

        // big-kept.xml taken out and a still broken file of its name rejected in its place:
        // that one is known by its bytes, and the one refused unread no longer lies there.
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/big-kept.xml")
        _ = try sandbox.write(Array(valid.prefix(100)), as: "big-kept.xml")
        #expect(pipeline.ingest(sandbox.scan()).map(\.reason?.code) == ["XML-MALFORMED"])
        try sandbox.store.pool.write { db in
            try db.execute(sql: "UPDATE documents SET processed_at = '2026-01-01T00:00:00Z'")
        }
        #expect(pipeline.resolveProblemsRemovedFromRejectedFolder() == 1)
        #expect(try open() == ["big-kept.xml", "big.xml"])
        #expect(
            try sandbox.count(
                "SELECT COUNT(*) FROM documents WHERE original_name = 'big-kept.xml' AND resolved_at IS NULL AND sha256 NOT LIKE 'unread:%'"
            ) == 1)

        // big.xml taken out, cut down and dropped again: posted, and its problem goes with its
        // error file.
        try FileManager.default.removeItem(atPath: sandbox.rejected + "/big.xml")
        _ = try sandbox.write(valid, as: "big.xml")
        #expect(pipeline.ingest(sandbox.scan()).map(\.outcome) == [.posted])
        #expect(try open() == ["big-kept.xml"])
        #expect(!FileManager.default.fileExists(atPath: sandbox.rejected + "/big.xml.error.txt"))
    }

    /// A file taken out of the archive (as a restore asks) and dropped again is archived under
    /// its own name again, not with a second hash prefix.
    @Test func aFileFromTheArchiveKeepsOneHashPrefix() throws {
        let sandbox = try Sandbox()
        try sandbox.drop(Self.example)
        let first = try #require(sandbox.pipeline(identifiers: Self.buyer).ingest(sandbox.scan()).first?.destination)
        let archivedName = FileSystem.lastComponent(first)
        // Books restored from an older backup do not hold it: the archived file comes back in.
        let restored = try Sandbox()
        try FileManager.default.copyItem(atPath: first, toPath: restored.inbox + "/ehf/" + archivedName)
        let again = try #require(restored.pipeline(identifiers: Self.buyer).ingest(restored.scan()).first)
        #expect(again.outcome == .posted)
        #expect(again.destination.map(FileSystem.lastComponent) == archivedName)
    }

    @Test func theSameFileAgainIsADuplicateKeptInTheArchive() throws {
        let sandbox = try Sandbox()
        let pipeline = sandbox.pipeline(identifiers: Self.buyer)
        try sandbox.drop(Self.example)
        _ = pipeline.ingest(sandbox.scan())
        try sandbox.drop(Self.example)
        let again = pipeline.ingest(sandbox.scan())
        #expect(again.map(\.outcome) == [.duplicate])
        let destination = try #require(again.first?.destination)
        #expect(destination.contains("/duplicates/"))
        #expect(FileManager.default.contentsEqual(atPath: destination, andPath: Self.example))
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 1)
        #expect(
            again.first?.reason?.message.contains("already posted as \(FileSystem.lastComponent(Self.example))") == true
        )
        // Recorded for the status page, where it was put.
        #expect(try sandbox.count("SELECT COUNT(*) FROM duplicate_drops WHERE document_id = 1") == 1)
        let drop = try #require(
            try sandbox.pipeline(identifiers: Self.buyer).store.statusPageData(asOf: Day(iso: "2026-11-23")!).recent
                .first)
        #expect(drop.state == "duplicate" && drop.archivedPath == destination)
    }

    /// With one file per transaction, every file is written while the one before it is being
    /// moved: a copy in the next batch must still be seen as a duplicate of an archived file
    /// (not as "committed but never moved"), and names in the rejected folder must not clash.
    @Test func consecutiveBatchesOverlapWithoutMixingUpFiles() throws {
        let sandbox = try Sandbox()
        let names = ["a.xml", "a-copy.xml", "a-copy2.xml", "b.xml", "b-again.xml"]
        try sandbox.drop(Self.example, as: names[0])
        try sandbox.drop(Self.example, as: names[1])
        try sandbox.drop(Self.example, as: names[2])
        // Same invoice number, other bytes (twice): flagged, both kept in rejected/.
        var other = try [UInt8](Data(contentsOf: URL(fileURLWithPath: Self.example)))
        other += Array("\n<!-- resent -->\n".utf8)
        _ = try sandbox.write(other, as: names[3])
        _ = try sandbox.write(other + [0x0A], as: names[4])
        let files = sandbox.scan().sorted { names.firstIndex(of: $0.name)! < names.firstIndex(of: $1.name)! }
        let results = sandbox.pipeline(identifiers: Self.buyer, batchSize: 1).ingest(files)
        #expect(results.map(\.file.name) == names)
        #expect(
            results.map(\.outcome) == [.posted, .duplicate, .duplicate, .duplicateNumber, .duplicateNumber])
        #expect(results[0].destination?.contains("/archive/ehf/") == true)
        #expect(results[1].destination?.contains("/archive/duplicates/") == true)
        #expect(results[2].destination?.contains("/archive/duplicates/") == true)
        #expect(Set(results.compactMap(\.destination)).count == 5)
        for result in results {
            let destination = try #require(result.destination)
            #expect(FileManager.default.fileExists(atPath: destination))
        }
        #expect(sandbox.files(under: sandbox.inbox + "/ehf").isEmpty)
        #expect(try sandbox.count("SELECT COUNT(*) FROM journal_entries") == 1)
        // The error file of a flagged number does not say that trying again would post it.
        let note = try String(contentsOfFile: try #require(results[3].destination) + ".error.txt", encoding: .utf8)
        #expect(note.contains("What to do: Compare the two files"))
        #expect(note.contains("a corrected invoice needs a number of its own"))
        #expect(!note.contains("move the file back into"))
    }

    /// A database that refuses every write fails every batch of a run; the run says so once,
    /// not once a batch.
    @Test func aRunSaysOnceThatTheDatabaseRefusesWrites() throws {
        let sandbox = try Sandbox()
        try Self.writeInvoices(3, numbered: "RO", into: sandbox)
        try sandbox.store.pool.barrierWriteWithoutTransaction { db in
            try db.execute(sql: "PRAGMA query_only = ON")
        }
        let log = LogLines()
        let failed = sandbox.pipeline(identifiers: Self.buyer, batchSize: 1, log: log).ingest(sandbox.scan())
        #expect(failed.map(\.outcome) == [.failed, .failed, .failed])
        #expect(failed.allSatisfy { $0.reason?.code == "DATABASE" })
        #expect(log.all.filter { $0.contains("could not write to the ledger database") }.count == 1, "\(log.all)")
        try sandbox.store.pool.barrierWriteWithoutTransaction { db in
            try db.execute(sql: "PRAGMA query_only = OFF")
        }
    }

    @Test func aFullDatabaseLeavesFilesInPlaceAndCommitsNothing() throws {
        let sandbox = try Sandbox()
        // Three files, one with a 2.4 MB attachment that needs hundreds of new pages.
        let paths = try corpusFiles("valid").filter { $0.contains("cef_IT") || $0.contains("ehf") }.prefix(3).map {
            try sandbox.drop($0)
        }
        // Cap the database at its current size: the write fails with SQLITE_FULL, as on a full disk.
        let pages = try sandbox.store.pool.read { db in try Int.fetchOne(db, sql: "PRAGMA page_count")! }
        try sandbox.store.pool.barrierWriteWithoutTransaction { db in
            for _ in 0..<4 { _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = \(pages)") }
        }
        var ours: [String] = []
        for path in paths { ours += try identifiers(of: path, side: .purchase) }
        let failed = sandbox.pipeline(identifiers: ours).ingest(sandbox.scan())
        #expect(failed.count == 3)
        #expect(failed.allSatisfy { $0.outcome == .failed })
        let because =
            "the disk that holds the ledger database \(sandbox.store.path) is full: free space on it (SQLite error "
            + "13: database or disk is full)"
        #expect(failed.allSatisfy { $0.reason == Rejection("DATABASE", because) }, "\(failed.map(\.reason))")
        for path in paths { #expect(FileManager.default.fileExists(atPath: path)) }
        #expect(try sandbox.count("SELECT COUNT(*) FROM documents") == 0)
        // Space again: the same files post.
        try sandbox.store.pool.barrierWriteWithoutTransaction { db in
            _ = try Int.fetchOne(db, sql: "PRAGMA max_page_count = 1000000")
        }
        let retried = sandbox.pipeline(identifiers: ours).ingest(sandbox.scan())
        #expect(retried.map(\.outcome) == [.posted, .posted, .posted])
    }
}

@Suite struct UnreadableFileMessageTests {
    /// A file ledgerd's user may not read says what lets it; other failures are said as they are.
    @Test func permissionDeniedSaysWhatLetsLedgerdReadIt() {
        let denied = Pipeline.unreadableMessage(FileSystem.Failure(operation: "open", path: "/in/a.xml", code: EACCES))
        #expect(denied.hasPrefix("open /in/a.xml: Permission denied. ledgerd (running as "))
        #expect(denied.contains("chmod g+r"))
        let gone = Pipeline.unreadableMessage(FileSystem.Failure(operation: "read", path: "/in/a.xml", code: EIO))
        #expect(gone == "read /in/a.xml: Input/output error")
    }
}

import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile files through the real binary: each rejected with a clear reason, quickly, in
/// bounded memory, nothing posted, and the process exits normally.
@Suite(.serialized) struct HostileCommandLineTests {
    static let hostile: [(String, String)] = [
        (
            "xxe-file.xml",
            """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
            <Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&xxe;</ID></Invoice>
            """
        ),
        (
            "xxe-network.xml",
            """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>
            <Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&xxe;</ID></Invoice>
            """
        ),
        (
            "parameter-entity.xml",
            """
            <?xml version="1.0"?>
            <!DOCTYPE Invoice [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
            <Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"/>
            """
        ),
        (
            "billion-laughs.xml",
            """
            <?xml version="1.0"?>
            <!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
            <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
            <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
            <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
            <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
            <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
            <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
            <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">]>
            <Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"><ID>&lol9;</ID></Invoice>
            """
        ),
        (
            "truncated.xml",
            "<?xml version=\"1.0\"?><Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><cbc:ID"
        ),
        ("not-xml.xml", "%PDF-1.4\n1 0 obj << >> endobj\n"),
    ]

    /// `scripts/mutate.py`, briefly: a few hundred altered invoices (numbers, dates, elements
    /// dropped or repeated, bytes cut) each get an answer, the books balance and reconcile; a
    /// few hundred altered configurations each get "valid" or one error, never a crash.
    @Test func alteredInvoicesAndConfigurationsEachGetAnAnswer() async throws {
        let script = packageRoot + "/scripts/mutate.py"
        let invoices = try await runProgram(
            "/usr/bin/env", ["python3", script, "ehf", "--rounds", "2", "--per-round", "150", "--bin", ledgerdBinary])
        #expect(invoices.status == 0, "\(invoices.stdout)\(invoices.stderr)")
        #expect(invoices.stdout.contains("300 altered invoices"))
        #expect(invoices.stdout.contains("unexplained non-postings: 0; unbalanced entries: 0; reconcile: agrees"))
        let configurations = try await runProgram(
            "/usr/bin/env", ["python3", script, "config", "--cases", "200", "--bin", ledgerdBinary])
        #expect(configurations.status == 0, "\(configurations.stdout)\(configurations.stderr)")
        #expect(configurations.stdout.contains("200 altered configurations: 0 without a clear answer"))
    }

    @Test func hostileFilesAreRejectedQuicklyInBoundedMemory() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig + "\n[limits]\nmax_file_bytes = \"64MiB\"\n")
        let ehf = home.path + "/Inbox/ehf/"
        for (name, text) in Self.hostile { try text.write(toFile: ehf + name, atomically: true, encoding: .utf8) }
        // 1 GB (sparse): refused by size before a byte is read.
        let fd = open(ehf + "one-gigabyte.xml", O_CREAT | O_WRONLY, 0o644)
        #expect(ftruncate(fd, 1 << 30) == 0)
        close(fd)
        // 40 MB of nesting (refused by the depth limit) and a 40 MB text node (read, as an
        // attachment of that size would be, and refused as no invoice).
        let nested = Data(String(repeating: "<a>", count: 13_000_000).utf8)
        try nested.write(to: URL(fileURLWithPath: ehf + "deep.xml"))
        var giant = Data("<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\"><Note>".utf8)
        giant.append(Data(repeating: UInt8(ascii: "A"), count: 40 << 20))
        giant.append(Data("</Note></Invoice>".utf8))
        try giant.write(to: URL(fileURLWithPath: ehf + "giant-text.xml"))
        // 48 MB of empty elements (a 1.7 GB tree if built), and 200,000 attributes on one
        // element (85 seconds of libxml2's pairwise duplicate check): refused by counting.
        let root = "<Invoice xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Invoice-2\""
        try Data((root + ">" + String(repeating: "<a/>", count: 12_000_000) + "</Invoice>").utf8).write(
            to: URL(fileURLWithPath: ehf + "flat-elements.xml"))
        let attributes = (0..<200_000).map { "a\($0)=\"\"" }.joined(separator: " ")
        try Data((root + " " + attributes + "/>").utf8).write(to: URL(fileURLWithPath: ehf + "attributes.xml"))
        // Random bytes and Latin-1 text declared as UTF-8.
        try Data((0..<65_536).map { _ in UInt8.random(in: 0...255) }).write(
            to: URL(fileURLWithPath: ehf + "random.xml"))
        try Data([0x3C, 0x61, 0x3E, 0xE6, 0xF8, 0xE5, 0x3C, 0x2F, 0x61, 0x3E]).write(
            to: URL(fileURLWithPath: ehf + "latin1.xml"))

        let started = ContinuousClock.now
        let (run, peakKiB) = try await ledgerdMeasuringMemory(
            ["ingest", "--config", "ledgerd.toml", "--json"], in: home.path)
        let elapsed = ContinuousClock.now - started
        #expect(run.status == 0, "\(run.stderr)")
        let summary = try json(run.stdout)
        let files = try #require(summary["files"] as? [[String: Any]])
        #expect(files.count == Self.hostile.count + 7, "\(files.map { $0["name"] ?? "?" })")
        for file in files {
            #expect(file["outcome"] as? String == "rejected", "\(file)")
            let reason = try #require(file["reason"] as? String)
            #expect(reason.count > 20, "a reason a person can read: \(reason)")
        }
        let byName = Dictionary(uniqueKeysWithValues: files.map { ($0["name"] as! String, $0) })
        for name in ["xxe-file.xml", "xxe-network.xml", "parameter-entity.xml", "billion-laughs.xml"] {
            #expect(byName[name]?["reason_code"] as? String == "XML-DOCTYPE")
        }
        #expect(byName["one-gigabyte.xml"]?["reason_code"] as? String == "FILE-TOO-LARGE")
        for name in ["deep.xml", "flat-elements.xml", "attributes.xml"] {
            #expect(byName[name]?["reason_code"] as? String == "XML-LIMIT", "\(name)")
        }
        #expect(summary["posted"] as? Int == 0, "\(run.stdout)")
        // Seconds, not minutes, for all of it; and memory bounded by the file size limit.
        #expect(elapsed < .seconds(30), "took \(elapsed)")
        // Memory follows [limits] max_file_bytes (64 MiB here), never the size of what is dropped
        // (the 1 GB file): a file in hand is held as bytes and parsed by libxml2 into its own
        // buffers, and two parse at a time — a small multiple of the limit.
        #expect(peakKiB < 10 * 64 * 1024, "peak RSS \(peakKiB) KiB")
        // Nothing is left in the inbox; every file is kept in the rejected folder.
        let rejected = try FileManager.default.contentsOfDirectory(atPath: home.path + "/Inbox/rejected")
        #expect(rejected.filter { !$0.hasSuffix(".error.txt") }.count == files.count)
        #expect(try FileManager.default.contentsOfDirectory(atPath: ehf).isEmpty)
    }
}

/// Runs ledgerd in `directory` and returns its output and its own peak resident memory
/// (`wait4`'s `ru_maxrss`, in KiB), which `Process` does not report.
///
/// Through a small Python parent that forks ledgerd: Linux carries a process's peak
/// resident size across fork and exec, so a child spawned straight from this test process
/// (which holds hundreds of megabytes of other tests' inputs) would report this process's
/// peak instead of its own.
func ledgerdMeasuringMemory(_ arguments: [String], in directory: String) async throws -> (Run, Int) {
    let peakFile = directory + "/.peak-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: peakFile) }
    let parent = """
        import os, sys
        peak, directory, argv = sys.argv[1], sys.argv[2], sys.argv[3:]
        pid = os.fork()
        if pid == 0:
            os.chdir(directory)
            os.execv(argv[0], argv)
        _, status, usage = os.wait4(pid, 0)
        with open(peak, "w") as f:
            f.write(str(usage.ru_maxrss))
        code = os.waitstatus_to_exitcode(status)
        sys.exit(code if code >= 0 else 128 - code)
        """
    let run = try await runProgram(
        "/usr/bin/env", ["python3", "-c", parent, peakFile, directory, ledgerdBinary] + arguments)
    guard let peak = Int((try? String(contentsOfFile: peakFile, encoding: .utf8)) ?? "") else {
        throw TestFailure("ledgerd's peak memory was not reported: \(run.stderr)")
    }
    return (run, peak)
}

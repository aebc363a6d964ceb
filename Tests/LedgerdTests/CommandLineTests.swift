import Foundation
import GRDB
import TestSupport
import Testing

/// The `ledgerd` binary built beside the test bundle (or `LEDGERD_BIN`).
let ledgerdBinary: String = {
    if let path = ProcessInfo.processInfo.environment["LEDGERD_BIN"] { return path }
    let bundleDir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return bundleDir.appendingPathComponent("ledgerd").path
}()

let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

typealias Run = ProgramRun

/// Runs ledgerd in `directory` and waits for it.
func ledgerd(_ arguments: [String], in directory: String) throws -> Run {
    try runProgram(ledgerdBinary, arguments, in: directory)
}

/// The same, awaited without holding a thread of the shared pool.
func ledgerd(_ arguments: [String], in directory: String) async throws -> Run {
    try await runProgram(ledgerdBinary, arguments, in: directory)
}

func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

final class Home {
    let path = NSTemporaryDirectory() + "ledgerd-cli-" + UUID().uuidString
    init() throws {
        for folder in ["Inbox/ehf", "Inbox/wise", "Inbox/checks"] {
            try FileManager.default.createDirectory(atPath: path + "/" + folder, withIntermediateDirectories: true)
        }
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func drop(_ fixture: String) throws {
        let source = packageRoot + "/Tests/FormatsTests/Fixtures/ehf/" + fixture
        try FileManager.default.copyItem(
            atPath: source, toPath: path + "/Inbox/ehf/" + (fixture as NSString).lastPathComponent)
    }

    func writeConfig(_ text: String) throws {
        try text.write(toFile: path + "/ledgerd.toml", atomically: true, encoding: .utf8)
    }

    /// A home whose books hold `fixtures`, posted by `ledgerd ingest` under `config`.
    static func withBooks(_ fixtures: String..., config: String = buyerConfig) async throws -> Home {
        let home = try Home()
        try home.writeConfig(config)
        for fixture in fixtures { try home.drop(fixture) }
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        return home
    }
}

/// The Norwegian EHF 3 example's buyer is 987654325; configured as us, its invoice is a vendor invoice.
let buyerConfig = """
    [company]
    name = "Test kunde AS"
    org_number = "987654325"
    """

@Suite(.serialized) struct CommandLineTests {
    /// The runner every command-line test uses reads both pipes at once: a program that writes
    /// far more than a pipe holds to stderr before it writes to stdout does not hang the test.
    @Test(.timeLimit(.minutes(1))) func theProgramRunnerDrainsBothPipesAtOnce() throws {
        let run = try runProgram("/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' x >&2; echo done"])
        #expect(run.status == 0)
        #expect(run.stdout == "done\n")
        #expect(run.stderr.utf8.count == 300_000)
    }

    /// Root on the books another user keeps (the service's) is refused before anything is made:
    /// the folders and files it made would be root's, and the daemon could not use them.
    /// Only root can be root here; CI runs the suite as root.
    @Test(.enabled(if: geteuid() == 0), .timeLimit(.minutes(2))) func rootOnAnotherUsersBooksIsRefused() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        let first = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(first.status == 0, "\(first.stderr)")
        let database = home.path + "/var/ledger.sqlite"
        for path in [home.path + "/var", database] { #expect(chown(path, 65534, 65534) == 0) }
        try home.drop("invalid/ehf2_faktura-1_legacy.xml")
        for command in ["ingest", "run"] {
            let run = try await ledgerd([command, "--config", "ledgerd.toml"], in: home.path)
            #expect(run.status == 1, "\(command)")
            #expect(run.stderr.contains("ledgerd: the ledger database \(database) belongs to "), "\(run.stderr)")
            #expect(run.stderr.contains("run ledgerd as that user"), "\(run.stderr)")
        }
        // Nothing was taken in, nothing made: the file waits in the inbox, no rejected folder.
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/ehf2_faktura-1_legacy.xml"))
        #expect(!FileManager.default.fileExists(atPath: home.path + "/Inbox/rejected"))
        // Reading the books as root stays possible.
        #expect(try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path).status == 0)
    }

    /// Another user on books they may not write (root's, here) is told what the daemon needs,
    /// by `run` as by `ingest`, and nothing is made or moved.
    @Test(.enabled(if: geteuid() == 0), .timeLimit(.minutes(2))) func anotherUserOnBooksItMayNotWriteIsToldWhy()
        async throws
    {
        let home = try await Home.withBooks("valid/ehf3_faktura-1_NOK.xml")
        try home.drop("invalid/ehf2_faktura-1_legacy.xml")
        #expect(chmod(home.path, 0o755) == 0)
        for command in ["run", "ingest"] {
            let run = try await runProgram(
                "/usr/bin/setpriv",
                [
                    "--reuid=65534", "--regid=65534", "--clear-groups", ledgerdBinary, command, "--config",
                    "ledgerd.toml",
                ],
                in: home.path)
            #expect(run.status == 1, "\(command): \(run.stderr)")
            let said = command == "run" ? "run it as the user the books belong to" : "posting needs write access"
            #expect(run.stderr.contains(said), "\(command): \(run.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/ehf2_faktura-1_legacy.xml"))
    }

    /// A file whose own folder this user may read but not change is left in place with that
    /// folder named, not the archive or rejected folder it was on its way to.
    @Test(.enabled(if: geteuid() == 0), .timeLimit(.minutes(2))) func aMoveRefusedByTheFilesOwnFolderNamesThatFolder()
        async throws
    {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        try home.drop("invalid/ehf2_faktura-1_legacy.xml")
        let chown = try await runProgram("/bin/chown", ["-R", "65534:65534", home.path], in: home.path)
        #expect(chown.status == 0, "\(chown.stderr)")
        #expect(chmod(home.path + "/Inbox/ehf", 0o555) == 0)
        let run = try await runProgram(
            "/usr/bin/setpriv",
            ["--reuid=65534", "--regid=65534", "--clear-groups", ledgerdBinary, "ingest", "--config", "ledgerd.toml"],
            in: home.path)
        #expect(run.status == 1, "\(run.stdout)\(run.stderr)")
        for name in ["ehf3_faktura-1_NOK.xml", "ehf2_faktura-1_legacy.xml"] {
            let file = home.path + "/Inbox/ehf/" + name
            #expect(
                run.stdout.contains("move \(file) out of \(home.path)/Inbox/ehf: Permission denied"),
                "\(run.stdout)")
            #expect(FileManager.default.fileExists(atPath: file))
        }
        #expect(!run.stdout.contains("into \(home.path)/var/archive"), "\(run.stdout)")
        #expect(!run.stdout.contains("into \(home.path)/Inbox/rejected"), "\(run.stdout)")
    }

    @Test func ingestStatusAndReconcileEndToEnd() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        try home.drop("invalid/ehf2_faktura-1_legacy.xml")
        try home.drop("invalid/testset_NO-R-001.xml")

        let ingest = try await ledgerd(["ingest", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(ingest.status == 0, "\(ingest.stderr)")
        let summary = try json(ingest.stdout)
        #expect(summary["posted"] as? Int == 1)
        #expect(summary["rejected"] as? Int == 2)
        // How long the three files took, from the first taken to the last settled.
        let seconds = try #require(summary["seconds"] as? Double)
        #expect(seconds > 0 && seconds < 60)
        let files = try #require(summary["files"] as? [[String: Any]])
        // A posted file says what it was posted as.
        let posted = try #require(files.first { ($0["outcome"] as? String) == "posted" })
        #expect(posted["posting"] as? String == "invoice TOSL108 from Salescompany ltd., 802.00 NOK")
        // …and in fields, for a script.
        let postedAs = try #require(posted["posted_as"] as? [String: Any])
        #expect(postedAs["type"] as? String == "invoice")
        #expect(postedAs["direction"] as? String == "purchase")
        #expect(postedAs["number"] as? String == "TOSL108")
        #expect(postedAs["party"] as? String == "Salescompany ltd.")
        #expect(postedAs["issue_date"] as? String == "2013-06-30")
        #expect(postedAs["due_date"] as? String == "2013-07-20")
        let payable = try #require(postedAs["payable"] as? [String: Any])
        #expect(payable["minor"] as? Int == 80_200)
        #expect(payable["currency"] as? String == "NOK")
        #expect(payable["formatted"] as? String == "802.00 NOK")
        let legacy = try #require(files.first { ($0["name"] as? String) == "ehf2_faktura-1_legacy.xml" })
        #expect(legacy["reason_code"] as? String == "EHF-UNSUPPORTED")
        #expect(legacy["posted_as"] == nil)
        #expect(
            FileManager.default.fileExists(atPath: home.path + "/Inbox/rejected/ehf2_faktura-1_legacy.xml.error.txt"))

        let status = try await ledgerd(["status", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(status.status == 0)
        let combined = try json(status.stdout)
        let daemon = try #require(combined["daemon"] as? [String: Any])
        #expect(daemon["running"] as? Bool == false)
        let report = try #require(combined["ledger"] as? [String: Any])
        let documents = try #require(report["documents"] as? [[String: Any]])
        #expect(documents.first { $0["state"] as? String == "posted" }?["count"] as? Int == 1)
        #expect(documents.first { $0["state"] as? String == "rejected" }?["count"] as? Int == 2)
        let open = try #require(report["open"] as? [[String: Any]])
        #expect(open.first?["side"] as? String == "payable")
        #expect(open.first?["currency"] as? String == "NOK")

        let reconcile = try await ledgerd(["reconcile", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(reconcile.status == 0)
        let reconciliation = try json(reconcile.stdout)
        #expect(reconciliation["agrees"] as? Bool == true)

        let text = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(text.stdout.contains("2400 NOK"))
        #expect(text.stdout.contains("agrees"))

        // Ingesting again finds nothing to do.
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        let again = try await ledgerd(["ingest", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(try json(again.stdout)["duplicate"] as? Int == 1)
        #expect(try json(again.stdout)["posted"] as? Int == 0)

        // Its number again with other bytes: flagged, said in words.
        let changed = exampleInvoice.replacingOccurrences(of: "<cbc:Note>", with: "<cbc:Note>Sent again. ")
        #expect(changed != exampleInvoice)
        try changed.write(toFile: home.path + "/Inbox/ehf/resent.xml", atomically: true, encoding: .utf8)
        let flagged = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(flagged.stdout.contains("duplicate number: resent.xml — DUPLICATE-NUMBER: "), "\(flagged.stdout)")
        try exampleInvoice.replacingOccurrences(of: "<cbc:ID>TOSL108</cbc:ID>", with: "<cbc:ID>TOSL109</cbc:ID>")
            .write(toFile: home.path + "/Inbox/ehf/other-number.xml", atomically: true, encoding: .utf8)
        let line = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        // The example deducts a prepaid amount, which the line says is to be checked by hand.
        #expect(
            line.stdout.contains(
                "posted: other-number.xml (invoice TOSL109 from Salescompany ltd., 802.00 NOK) — to do by hand: "),
            "\(line.stdout)")
        #expect(line.stdout.contains(" → "))
    }

    @Test func builtInDefaultsWorkInTheCurrentFolder() async throws {
        let home = try Home()
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        let run = try await ledgerd(["ingest"], in: home.path)
        #expect(run.status == 0, "\(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: home.path + "/var/ledger.sqlite"))
        let summary = run.stdout.split(separator: "\n").last.map(String.init) ?? ""
        #expect(
            summary.wholeMatch(of: /1 file taken in: 0 posted, .*, 0 failed, in \d+\.\d{3} s/) != nil, "\(summary)")
        // No company configured: ledgerd cannot tell bought from sold, and says where to fix that.
        #expect(run.stdout.contains("COMPANY-NOT-CONFIGURED"))
        #expect(run.stdout.contains("[company] org_number"))
        let error = try String(
            contentsOfFile: home.path + "/Inbox/rejected/ehf3_faktura-1_NOK.xml.error.txt", encoding: .utf8)
        #expect(error.contains("987654325"))
        // Each party named with its identifiers, so that ours can be told from theirs.
        #expect(error.contains("(the seller is Salescompany ltd. ("), "\(error)")
        #expect(error.contains("; the buyer is The Buyercompany (0192:987654325, 987654325"), "\(error)")
    }

    /// A name may hold a newline or a terminal escape: each result is still one line, and the
    /// name is shown with escapes, never raw, in the output, the status and the error file.
    @Test func namesWithControlCharactersAreShownOnOneLine() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        let names = ["a\nposted: fake.xml", "b\u{1B}[2Jc.xml", "d\u{202E}lmx.xml"]
        for name in names {
            try Data("junk \(name)".utf8).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/" + name))
        }
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        let lines = run.stdout.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == names.count + 1, "\(run.stdout)")  // a line a file and the summary
        #expect(lines.filter { $0.hasPrefix("rejected: ") }.count == names.count)
        #expect(!lines.contains { $0.hasPrefix("posted") })
        #expect(run.stdout.contains("a\\nposted: fake.xml"))
        #expect(run.stdout.contains("b\\u001B[2Jc.xml"))
        #expect(run.stdout.contains("d\\u202Elmx.xml"))
        let shown = run.stdout.unicodeScalars.filter { $0 == "\u{1B}" || $0 == "\u{202E}" }
        #expect(shown.isEmpty)

        let status = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        #expect(status.stdout.contains("a\\nposted: fake.xml"), "\(status.stdout)")
        #expect(!status.stdout.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        let report = try String(
            contentsOfFile: home.path + "/Inbox/rejected/" + names[0] + ".error.txt", encoding: .utf8)
        #expect(report.hasPrefix("a\\nposted: fake.xml was not posted."))

        // A file named on the command line that ledgerd does not read is skipped on one line too.
        let odd = home.path + "/notes\nposted: fake.doc"
        try Data("notes".utf8).write(to: URL(fileURLWithPath: odd))
        let skipped = try await ledgerd(["ingest", "--config", "ledgerd.toml", odd], in: home.path)
        #expect(skipped.stdout.contains("skipped: \(home.path)/notes\\nposted: fake.doc — "), "\(skipped.stdout)")
        #expect(!skipped.stdout.split(separator: "\n").contains { $0.hasPrefix("posted") })
    }

    /// `status` lists the files that need attention as the status page counts them: not those
    /// settled since, every one counted, the newest 20 shown (all with --all), each beside
    /// another of its name saying where it lies, at local times.
    @Test func statusListsWhatNeedsAttentionAsThePageCountsIt() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        let inbox = home.path + "/Inbox/ehf/"
        func ingest() async throws { _ = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path) }
        try "<Invoice>cut".write(toFile: inbox + "x.xml", atomically: true, encoding: .utf8)
        try await ingest()
        try "<Invoice>cut off".write(toFile: inbox + "x.xml", atomically: true, encoding: .utf8)
        for i in 0..<21 { try "<Invoice>\(i)".write(toFile: inbox + "b\(i).xml", atomically: true, encoding: .utf8) }
        try await ingest()
        // The first x.xml corrected and dropped again: settled.
        try FileManager.default.removeItem(atPath: home.path + "/Inbox/rejected/x.xml")
        try FileManager.default.copyItem(
            atPath: packageRoot + "/Tests/FormatsTests/Fixtures/ehf/valid/ehf3_faktura-1_NOK.xml",
            toPath: inbox + "x.xml")
        try await ingest()

        let status = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        #expect(status.stdout.contains("Needs attention (22, newest first)"), "\(status.stdout)")
        #expect(status.stdout.contains("  …and 2 more (ledgerd status --all lists them all)"))
        #expect(status.stdout.contains("      in the rejected folder as x (2).xml"))
        #expect(status.stdout.contains("\n  rejected  23\n"))  // all-time, as on the page
        #expect(status.stdout.firstMatch(of: #/\n  \d{4}-\d\d-\d\d \d\d:\d\d  rejected  b\d+\.xml — /#) != nil)
        let all = try await ledgerd(["status", "--config", "ledgerd.toml", "--all"], in: home.path)
        #expect(all.stdout.components(separatedBy: " — The XML ends too early").count - 1 == 22)
        #expect(!all.stdout.contains("more (ledgerd status --all"))
        let report = try #require(
            try json(try await ledgerd(["status", "--config", "ledgerd.toml", "--json"], in: home.path).stdout)[
                "ledger"]
                as? [String: Any])
        let problems = try #require(report["open_problems"] as? [String: Any])
        #expect(problems["total"] as? Int == 22)
        #expect((problems["items"] as? [[String: Any]])?.count == 20)
    }

    /// A posting that leaves something to do by hand says so where the bookkeeper looks: in the
    /// line `ingest` writes for the file, in `ingest --json`, in the document's row and in
    /// `status`, newest first; an ordinary posting says nothing of the kind.
    @Test func postingsThatLeaveSomethingToDoByHandSaySo() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(
            run.stdout.contains(
                "posted: ehf3_faktura-1_NOK.xml (invoice TOSL108 from Salescompany ltd., 802.00 NOK) — to do by hand: "
                    + "1 000.00 NOK paid in advance (PrepaidAmount) was credited to 1480: check that the advance was "
                    + "debited there when it was paid"), "\(run.stdout)")
        // The same invoice sent as a prepayment invoice (type 386), under another number.
        let example = try String(
            contentsOfFile: packageRoot + "/Tests/FormatsTests/Fixtures/ehf/valid/ehf3_faktura-1_NOK.xml",
            encoding: .utf8)
        let prepayment =
            example
            .replacingOccurrences(of: "<cbc:InvoiceTypeCode>380<", with: "<cbc:InvoiceTypeCode>386<")
            .replacingOccurrences(of: "<cbc:ID>TOSL108</cbc:ID>", with: "<cbc:ID>TOSL109</cbc:ID>")
        try prepayment.write(toFile: home.path + "/Inbox/ehf/prepayment.xml", atomically: true, encoding: .utf8)
        let second = try await ledgerd(["ingest", "--config", "ledgerd.toml", "--json"], in: home.path)
        let files = try #require(try json(second.stdout)["files"] as? [[String: Any]])
        let note = try #require(files.first?["note"] as? String, "\(second.stdout)")
        #expect(
            note.hasPrefix("A prepayment invoice (type 386), booked as an ordinary invoice, net 1 436.50 NOK to 4000"))
        #expect(note.contains("1 000.00 NOK paid in advance"))

        let status = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        let section = try #require(
            status.stdout.components(separatedBy: "Posted, with something to do by hand (2, newest first)\n").last)
        let lines = section.split(separator: "\n")
        #expect(lines.count == 3, "\(status.stdout)")
        #expect(lines.first?.contains("  #2 prepayment.xml — A prepayment invoice (type 386)") == true)
        #expect(lines.dropFirst().first?.contains("  #1 ehf3_faktura-1_NOK.xml — 1 000.00 NOK paid in advance") == true)
        #expect(lines.last == "  (when one is acted on, `ledgerd done 2` takes it off this list)")
        let report = try #require(
            try json(try await ledgerd(["status", "--config", "ledgerd.toml", "--json"], in: home.path).stdout)[
                "ledger"] as? [String: Any])
        let notes = try #require(report["posting_notes"] as? [String: Any])
        #expect(notes["total"] as? Int == 2)
        #expect((notes["items"] as? [[String: Any]])?.first?["name"] as? String == "prepayment.xml")

        // Acted on: `done` takes it off the list; a number with no open note is said and exits 1.
        let done = try await ledgerd(["done", "--config", "ledgerd.toml", "#2"], in: home.path)
        #expect(done.status == 0, "\(done.stdout)\(done.stderr)")
        #expect(done.stdout == "done: #2 prepayment.xml\n")
        let again = try await ledgerd(["done", "--config", "ledgerd.toml", "2", "1"], in: home.path)
        #expect(again.status == 1)
        #expect(again.stdout.contains("done: #1 ehf3_faktura-1_NOK.xml"))
        #expect(again.stdout.contains("#2 has no note still open"))
        let unclear = try await ledgerd(["done", "--config", "ledgerd.toml", "prepayment.xml"], in: home.path)
        #expect(unclear.status == 2, "\(unclear.status)")
        #expect(unclear.stderr.contains("prepayment.xml is not a document number"), "\(unclear.stderr)")
        let after = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        #expect(!after.stdout.contains("something to do by hand"), "\(after.stdout)")

        // An ordinary invoice: no note, and no section.
        let plain = try Home()
        try plain.writeConfig(buyerConfig)
        let ordinary =
            example.replacingOccurrences(
                of: "<cbc:PrepaidAmount currencyID=\"NOK\">1000<", with: "<cbc:PrepaidAmount currencyID=\"NOK\">0<"
            )
            .replacingOccurrences(
                of: "<cbc:PayableAmount currencyID=\"NOK\">802.00<",
                with: "<cbc:PayableAmount currencyID=\"NOK\">1802.00<")
        try ordinary.write(toFile: plain.path + "/Inbox/ehf/plain.xml", atomically: true, encoding: .utf8)
        let plainRun = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: plain.path)
        #expect(plainRun.stdout.contains("posted: plain.xml"), "\(plainRun.stdout)")
        #expect(!plainRun.stdout.contains("to do by hand"))
        let plainStatus = try await ledgerd(["status", "--config", "ledgerd.toml"], in: plain.path)
        #expect(!plainStatus.stdout.contains("something to do by hand"))
    }

    /// `outstanding` ages what is owed per party as of a day, the most overdue first, with
    /// totals, in text and JSON; --overdue keeps only what is past due.
    @Test func outstandingAgesWhatIsOwedPerParty() async throws {
        let home = try await Home.withBooks(
            "valid/ehf3_faktura-1_NOK.xml",  // Salescompany ltd., 802.00 NOK due 2013-07-20
            "valid/ehf_forward-billing_invoice_consumer.xml")  // Havblikk Nett AS, 1 543.34 NOK

        let text = try await ledgerd(
            ["outstanding", "--config", "ledgerd.toml", "--as-of", "2013-08-01"], in: home.path)
        #expect(text.status == 0)
        #expect(text.stdout.contains("We owe suppliers, as of 2013-08-01"), "\(text.stdout)")
        #expect(text.stdout.contains("Customers owe us, as of 2013-08-01\n  nothing open"))
        let salescompany = try #require(text.stdout.split(separator: "\n").first { $0.contains("Salescompany ltd.") })
        // 12 days past due: in 1–30, right-aligned under its heading.
        #expect(salescompany.contains("802.00 NOK"))
        #expect(salescompany.contains("2013-07-20"))
        #expect(salescompany.hasSuffix("802.00        0.00        0.00      0.00"), "\(salescompany)")
        #expect(text.stdout.contains("  total NOK "))
        #expect(text.stdout.contains("Invoiced amounts: ledgerd records no payments yet"))

        let aged = try json(
            try await ledgerd(
                ["outstanding", "--config", "ledgerd.toml", "--as-of", "2013-08-01", "--json"], in: home.path
            ).stdout)
        let parties = try #require((aged["payables"] as? [String: Any])?["parties"] as? [[String: Any]])
        // Havblikk's invoice was issued in 2019: not owed as of 2013.
        #expect(parties.map { $0["party"] as? String } == ["Salescompany ltd."])
        // Each party by its key too (its organisation number), as /api/status gives it.
        #expect(parties.map { $0["party_key"] as? String } == ["123456785"])
        let now = try json(
            try await ledgerd(["outstanding", "--config", "ledgerd.toml", "--json"], in: home.path).stdout)
        #expect(
            ((now["payables"] as? [String: Any])?["parties"] as? [[String: Any]])?.map { $0["party"] as? String } == [
                "Havblikk Nett AS", "Salescompany ltd.",  // both over 90 days: the larger first
            ])
        #expect(
            ((now["payables"] as? [String: Any])?["totals"] as? [[String: Any]])?.allSatisfy {
                $0["party_key"] == nil && $0["party"] == nil
            } == true)
        let buckets = try #require(parties.first?["buckets"] as? [String: [String: Any]])
        #expect(buckets["1-30"]?["minor"] as? Int == 80_200)
        #expect(buckets["current"]?["minor"] as? Int == 0)

        // Before the due date nothing is past due.
        let early = try await ledgerd(
            ["outstanding", "--config", "ledgerd.toml", "--as-of", "2013-07-01", "--overdue"], in: home.path)
        #expect(early.stdout.contains("We owe suppliers, as of 2013-07-01\n  nothing past due"), "\(early.stdout)")
        let wrong = try await ledgerd(["outstanding", "--config", "ledgerd.toml", "--as-of", "1 July"], in: home.path)
        #expect(wrong.status == 2)
        #expect(wrong.stderr.contains("--as-of 1 July: not a day of the calendar, written YYYY-MM-DD"))
        // As of a day before an invoice was issued, it was not owed yet; --overdue totals only what it lists.
        let before = try await ledgerd(
            ["outstanding", "--config", "ledgerd.toml", "--as-of", "2013-06-01", "--json"], in: home.path)
        let earlier = try json(before.stdout)["payables"] as? [String: Any]
        #expect((earlier?["parties"] as? [[String: Any]])?.isEmpty == true, "\(before.stdout)")
        let late =
            try json(
                try await ledgerd(
                    ["outstanding", "--config", "ledgerd.toml", "--as-of", "2013-08-01", "--overdue", "--json"],
                    in: home.path
                ).stdout)["payables"] as? [String: Any]
        let totals = try #require(late?["totals"] as? [[String: Any]])
        #expect(totals.map { ($0["open"] as? [String: Any])?["minor"] as? Int } == [80_200])
    }

    /// As of a day before a credit note was issued, the invoice it settles was still owed in
    /// full; as of a day after, it is not.
    @Test func outstandingAsOfADayBeforeACreditNoteShowsTheInvoiceOwed() async throws {
        let home = try Home()
        try home.writeConfig(
            """
            [company]
            name = "Buyer Official Name"
            identifiers = ["0002:FR23342"]
            """)
        // Invoice Snippet1, 1 656.25 EUR issued 2017-11-13 and due 2017-12-01; the credit note
        // crediting all of it, issued on 2017-12-15 here.
        try home.drop("valid/peppol_base-example.xml")
        let credit = try String(
            contentsOfFile: packageRoot
                + "/Tests/FormatsTests/Fixtures/ehf/valid/peppol_base-creditnote-correction.xml",
            encoding: .utf8
        )
        .replacingOccurrences(
            of: "    <cbc:IssueDate>2017-11-13</cbc:IssueDate>", with: "    <cbc:IssueDate>2017-12-15</cbc:IssueDate>")
        try Data(credit.utf8).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/credit.xml"))
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.stdout.contains("2 posted"), "\(run.stdout)")
        func owed(asOf day: String) async throws -> [String] {
            let report = try json(
                try await ledgerd(["outstanding", "--config", "ledgerd.toml", "--as-of", day, "--json"], in: home.path)
                    .stdout)
            let parties = (report["payables"] as? [String: Any])?["parties"] as? [[String: Any]] ?? []
            return parties.map { "\($0["party"] as? String ?? "?") \(($0["open"] as? [String: Any])?["minor"] ?? "?")" }
        }
        #expect(try await owed(asOf: "2017-12-10") == ["SupplierTradingName Ltd. 165625"])
        #expect(try await owed(asOf: "2017-12-15") == [])
        #expect(try await owed(asOf: "2017-11-01") == [])
    }

    /// Parties equally overdue whose amounts are in different currencies are not ordered by
    /// comparing the amounts (802 EUR is not 802 NOK): the one due longest ago comes first.
    @Test func outstandingComparesAmountsInOneCurrencyOnly() async throws {
        // Salescompany ltd., 802.00 NOK due 2013-07-20.
        let home = try await Home.withBooks("valid/ehf3_faktura-1_NOK.xml")
        let euro = String(decoding: invoice(number: "EU-1"), as: UTF8.self)
            .replacingOccurrences(of: "currencyID=\"NOK\"", with: "currencyID=\"EUR\"")
            .replacingOccurrences(of: ">NOK</cbc:DocumentCurrencyCode>", with: ">EUR</cbc:DocumentCurrencyCode>")
            .replacingOccurrences(of: "123456785", with: "923609016")
            .replacingOccurrences(of: "Salescompany ltd.", with: "Auslandslieferant GmbH")
            .replacingOccurrences(
                of: "<cbc:DueDate>2013-07-20</cbc:DueDate>", with: "<cbc:DueDate>2013-07-25</cbc:DueDate>")
        try Data(euro.utf8).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/euro.xml"))
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(
            run.stdout.contains("posted: euro.xml (invoice EU-1 from Auslandslieferant GmbH, 802.00 EUR)"),
            "\(run.stdout)")
        let report = try json(
            try await ledgerd(
                ["outstanding", "--config", "ledgerd.toml", "--as-of", "2013-09-01", "--json"], in: home.path
            )
            .stdout)
        let parties = try #require((report["payables"] as? [String: Any])?["parties"] as? [[String: Any]])
        // Both 31–60 days past due, with 802.00 open: Salescompany's was due five days sooner.
        #expect(
            parties.map { "\($0["party"] as? String ?? "?") \($0["oldest_due_date"] as? String ?? "-")" } == [
                "Salescompany ltd. 2013-07-20", "Auslandslieferant GmbH 2013-07-25",
            ])
    }

    /// As of a day gone by, the oldest due date is that of what was owed that day: an invoice
    /// issued later, though due sooner, is not among it.
    @Test func outstandingAsOfADayGoneByShowsThatDaysOldestDueDate() async throws {
        // Salescompany ltd.: issued 2013-06-30, due 2013-07-20.
        let home = try await Home.withBooks("valid/ehf3_faktura-1_NOK.xml")
        // Another from the same seller, issued 2013-07-10 and due five days later.
        let later = String(decoding: invoice(number: "LATER-1"), as: UTF8.self)
            .replacingOccurrences(
                of: "<cbc:IssueDate>2013-06-30</cbc:IssueDate>", with: "<cbc:IssueDate>2013-07-10</cbc:IssueDate>"
            )
            .replacingOccurrences(
                of: "<cbc:DueDate>2013-07-20</cbc:DueDate>", with: "<cbc:DueDate>2013-07-15</cbc:DueDate>")
        try Data(later.utf8).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/later.xml"))
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.stdout.contains("posted: later.xml"), "\(run.stdout)")
        func oldest(asOf day: String) async throws -> (due: String?, documents: Int?) {
            let report = try json(
                try await ledgerd(["outstanding", "--config", "ledgerd.toml", "--as-of", day, "--json"], in: home.path)
                    .stdout)
            let party = ((report["payables"] as? [String: Any])?["parties"] as? [[String: Any]])?.first
            return (party?["oldest_due_date"] as? String, party?["documents"] as? Int)
        }
        let before = try await oldest(asOf: "2013-07-05")
        #expect(before.due == "2013-07-20" && before.documents == 1, "\(before)")
        let after = try await oldest(asOf: "2013-07-12")
        #expect(after.due == "2013-07-15" && after.documents == 2, "\(after)")
    }

    /// Amounts a person reads are grouped by threes, as on the status page; JSON keeps minor units.
    @Test func amountsAreGroupedByThousands() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try home.drop("valid/ehf_forward-billing_invoice_consumer.xml")
        let ingest = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(
            ingest.stdout.contains("(invoice 0997462625 from Havblikk Nett AS, 1 543.34 NOK) → "), "\(ingest.stdout)")
        let status = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        #expect(status.stdout.contains("  payable  NOK       1          1           1 543.34 NOK"), "\(status.stdout)")
        let reconcile = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(
            reconcile.stdout.contains(
                "2400 NOK: general ledger 1 543.34 NOK (credit balance), supplier sub-ledger 1 543.34 NOK — agrees"))
        let json = try json(try await ledgerd(["status", "--config", "ledgerd.toml", "--json"], in: home.path).stdout)
        #expect("\(json)".contains("154334"))
    }

    /// An invoice for another company says whose it is, by name, before anything about its
    /// figures: the bookkeeper sends it on rather than ask its supplier for a correction.
    @Test func anInvoiceForAnotherCompanySaysWhoseItIs() async throws {
        let home = try Home()
        try home.writeConfig("[company]\nname = \"Annen AS\"\norg_number = \"923609016\"\n")
        let source = packageRoot + "/Tests/FormatsTests/Fixtures/ehf/valid/ehf3_faktura-1_NOK.xml"
        let broken = try String(contentsOfFile: source, encoding: .utf8).replacingOccurrences(
            of: "<cbc:PayableAmount currencyID=\"NOK\">802.00", with: "<cbc:PayableAmount currencyID=\"NOK\">902.00")
        try broken.write(toFile: home.path + "/Inbox/ehf/other.xml", atomically: true, encoding: .utf8)
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(
            run.stdout.contains(
                "NOT-OUR-INVOICE: Invoice TOSL108 from Salescompany ltd. is addressed to The Buyercompany, not to Annen AS: neither the seller"
            ), "\(run.stdout)")
        let report = try String(contentsOfFile: home.path + "/Inbox/rejected/other.xml.error.txt", encoding: .utf8)
        #expect(report.contains("What to do: If it reached you by mistake, send it on to the company it is for"))
        #expect(report.contains("move the file back into the ehf inbox (the ehf folder beside the rejected one)"))
    }

    @Test func aBadConfigurationNamesTheKeyAndLine() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig + "\n\n[watch]\nsetle = \"2s\"\n")
        let run = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.status == 2)
        #expect(run.stderr.contains("watch.setle"))
        #expect(run.stderr.contains("line 6"))
        let missing = try await ledgerd(["ingest", "--config", "nope.toml"], in: home.path)
        #expect(missing.status == 2)
        #expect(missing.stderr.contains("nope.toml"))
    }

    /// Wise files and scanned checks, which this version does not read, stay where they are;
    /// the rejected folder named as a whole is not taken; each says why, and nothing fails.
    @Test func filesThisVersionDoesNotReadStayWhereTheyAre() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        let statement = home.path + "/Inbox/wise/statement_2024.csv"
        let scan = home.path + "/Inbox/checks/check-17.png"
        let outside = home.path + "/invoice-9.pdf"
        for path in [statement, scan, outside] { try Data("x".utf8).write(to: URL(fileURLWithPath: path)) }
        try FileManager.default.createDirectory(
            atPath: home.path + "/Inbox/rejected", withIntermediateDirectories: true)

        let run = try await ledgerd(
            ["ingest", "--config", "ledgerd.toml", "Inbox", outside, "Inbox/rejected"], in: home.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("skipped: \(statement) — this version of ledgerd does not read Wise statements"))
        #expect(run.stdout.contains("skipped: \(scan) — this version of ledgerd does not read scanned checks yet"))
        #expect(run.stdout.contains("skipped: \(outside) — this version of ledgerd does not read Wise"))
        #expect(run.stdout.contains("skipped: \(home.path)/Inbox/rejected — this folder holds files ledgerd has"))
        #expect(
            run.stdout.contains(
                "1 file taken in: 1 posted, 0 duplicate, 0 duplicate number, 0 rejected, 0 failed; 4 more skipped"))
        for path in [statement, scan, outside] { #expect(FileManager.default.fileExists(atPath: path)) }
        // With no daemon running, status counts them itself, and the invoices waiting too.
        let waiting = home.path + "/Inbox/ehf/waiting.xml"
        try exampleInvoice.write(toFile: waiting, atomically: true, encoding: .utf8)
        // What [watch] ignore leaves alone is not counted as waiting.
        try exampleInvoice.write(toFile: home.path + "/Inbox/ehf/old.bak", atomically: true, encoding: .utf8)
        try home.writeConfig(buyerConfig + "\n[watch]\nignore = [\"*.bak\"]\n")
        // A file at the inbox's root, or in a folder someone made there, belongs to the inbox
        // of its type, as the daemon takes it.
        let atRoot = home.path + "/Inbox/scanned check.PNG"
        try FileManager.default.createDirectory(
            atPath: home.path + "/Inbox/Fakturaer", withIntermediateDirectories: true)
        let inFolder = home.path + "/Inbox/Fakturaer/waiting too.xml"
        try Data("x".utf8).write(to: URL(fileURLWithPath: atRoot))
        try exampleInvoice.write(toFile: inFolder, atomically: true, encoding: .utf8)
        // One of a kind no inbox takes is counted as such.
        let document = home.path + "/Inbox/Fakturaer/Faktura april.docx"
        try Data("PK".utf8).write(to: URL(fileURLWithPath: document))
        let status = try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path)
        #expect(
            status.stdout.contains(
                "  1 file in the inbox of a kind ledgerd does not read; EHF invoices are .xml files"),
            "\(status.stdout)")
        #expect(status.stdout.contains("wise: 1 file left in place, which this version of ledgerd does not read"))
        #expect(status.stdout.contains("checks: 2 files left in place"))
        #expect(status.stdout.contains("ehf: 2 files waiting, taken in by `ledgerd run` or `ledgerd ingest`"))
        #expect(!status.stdout.contains("none yet"))
        let counted = try json(
            try await ledgerd(["status", "--config", "ledgerd.toml", "--json"], in: home.path).stdout)
        #expect(
            (counted["inboxes"] as? [[String: Any]])?.map {
                "\($0["inbox"]!) \($0["files"]!) \($0["read"] as? Bool == true)"
            } == [
                "ehf 2 true", "wise 1 false", "checks 2 false", "other 1 false",
            ])
        for path in [waiting, atRoot, inFolder, document] { try FileManager.default.removeItem(atPath: path) }

        #expect(
            try await ledgerd(["ingest", "--config", "ledgerd.toml", statement], in: home.path).stdout
                .hasSuffix("No file taken in; 1 skipped.\n"))
        let json = try json(
            try await ledgerd(["ingest", "--config", "ledgerd.toml", "--json", statement], in: home.path).stdout)
        let skipped = try #require(json["skipped"] as? [[String: Any]])
        #expect(skipped.first?["path"] as? String == statement)
        #expect((skipped.first?["reason"] as? String)?.hasSuffix("the file stays where it is") == true)
        #expect(FileManager.default.fileExists(atPath: statement))
    }

    /// A file another ledgerd run has in hand (its claim, a lock on the file; here taken by
    /// the test) is left to it: said as skipped, not failed, and taken once it is let go.
    @Test func aFileInAnotherRunsHandsIsSkippedNotFailed() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        let path = home.path + "/Inbox/ehf/ehf3_faktura-1_NOK.xml"
        let claim = open(path, O_RDONLY | O_CLOEXEC)
        #expect(claim >= 0)
        #expect(flock(claim, LOCK_EX) == 0)
        let held = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(held.status == 0, "\(held.stdout)\(held.stderr)")
        #expect(
            held.stdout.contains(
                "skipped: \(path) — in another ledgerd run's hands (the daemon's?), or locked by another program"))
        #expect(held.stdout.hasSuffix("No file taken in; 1 skipped.\n"))
        #expect(FileManager.default.fileExists(atPath: path))
        close(claim)
        let run = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        #expect(run.stdout.contains("1 file taken in: 1 posted"))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    /// A daemon that cannot start says why in plain words and creates nothing on the way.
    @Test func aDaemonThatCannotStartCreatesNothing() async throws {
        let home = try Home()
        try home.writeConfig(
            buyerConfig
                + "\n[paths]\ninbox = \"box\"\n\n[server]\nlisten = \"127.0.0.1:1\"\ntoken_file = \"no-token\"\n")
        let run = try await ledgerd(["run", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.status == 2)
        #expect(run.stderr.contains("[server] token_file \(home.path)/no-token does not exist"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.path + "/box"))
        #expect(!FileManager.default.fileExists(atPath: home.path + "/var"))
        let check = try await ledgerd(["config", "check", "--config", "ledgerd.toml"], in: home.path)
        #expect(check.status == 0)
        #expect(check.stdout.contains("no-token cannot be read here"))
    }

    /// `config check` finds what `run` would only find at start: an inbox that is a file, a
    /// database that is a folder or under a file, a token file that is a folder or empty.
    /// What does not exist yet passes: ledgerd makes it.
    @Test func configCheckFindsPathsOfTheWrongKind() async throws {
        let home = try Home()
        #expect(FileManager.default.createFile(atPath: home.path + "/afile", contents: Data("x".utf8)))
        try FileManager.default.createDirectory(atPath: home.path + "/adir", withIntermediateDirectories: true)
        #expect(FileManager.default.createFile(atPath: home.path + "/empty-token", contents: Data()))
        #expect(FileManager.default.createFile(atPath: home.path + "/blank-token", contents: Data("\n".utf8)))
        try FileManager.default.createSymbolicLink(
            atPath: home.path + "/dangling", withDestinationPath: home.path + "/not-mounted")
        for (paths, says) in [
            ("[paths]\ninbox = \"afile\"", "paths.inbox: \(home.path)/afile is not a folder"),
            ("[paths]\ndatabase = \"adir\"", "paths.database: \(home.path)/adir is a folder; name the database file"),
            ("[paths]\narchive = \"afile\"", "paths.archive: \(home.path)/afile is not a folder"),
            (
                "[paths]\ndatabase = \"afile/var/ledger.sqlite\"",
                "paths.database: \(home.path)/afile is not a folder, so \(home.path)/afile/var/ledger.sqlite cannot be made"
            ),
            ("[server]\ntoken_file = \"adir\"", "[server] token_file \(home.path)/adir is a folder"),
            ("[server]\ntoken_file = \"empty-token\"", "[server] token_file \(home.path)/empty-token is empty"),
            ("[server]\ntoken_file = \"blank-token\"", "[server] token_file \(home.path)/blank-token is empty"),
            (
                "[paths]\ndatabase = \"dangling/ledger.sqlite\"",
                "paths.database: \(home.path)/dangling is a link to something that is not there"
            ),
        ] {
            try home.writeConfig(buyerConfig + "\n" + paths + "\n")
            let check = try await ledgerd(["config", "check", "--config", "ledgerd.toml"], in: home.path)
            #expect(check.status == 2, "\(paths)")
            #expect(check.stderr.contains(says), "\(check.stderr)")
        }
        try home.writeConfig(buyerConfig + "\n[paths]\ninbox = \"not/yet\"\ndatabase = \"not/yet.sqlite\"\n")
        let fine = try await ledgerd(["config", "check", "--config", "ledgerd.toml"], in: home.path)
        #expect(fine.status == 0, "\(fine.stderr)")
    }

    /// Books that cannot be read as ledgerd wrote them (a table gone) are an error said in
    /// words and, with --json, as JSON; `reconcile` exits 3 for them, not 1 ("they disagree").
    @Test func booksThatCannotBeReadAreSaidAsSuchAndAsJSON() async throws {
        let home = try await Home.withBooks("valid/ehf3_faktura-1_NOK.xml")
        var plain = Configuration()
        plain.foreignKeysEnabled = false
        let books = try DatabaseQueue(path: home.path + "/var/ledger.sqlite", configuration: plain)
        try await books.write { try $0.execute(sql: "DROP TABLE supplier_ledger") }
        try books.close()

        let reconcile = try await ledgerd(["reconcile", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(reconcile.status == 3)
        let failure = try json(reconcile.stdout)
        #expect(failure["exit_status"] as? Int == 3)
        let message = try #require(failure["error"] as? String)
        #expect(message.hasPrefix("the ledger database could not be read: SQLite error 1: no such table"), "\(message)")
        #expect(!message.contains("SELECT"))
        let text = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(text.status == 3)
        #expect(text.stderr.contains("ledgerd: the ledger database could not be read"))
    }

    /// `reconcile` says what makes a difference: corrections, which explain it, and entries
    /// whose two sides disagree, which are errors; in words, not table names.
    @Test func reconcileSaysWhatMakesTheDifference() async throws {
        let home = try await Home.withBooks("valid/ehf3_faktura-1_NOK.xml")
        let books = try DatabaseQueue(path: home.path + "/var/ledger.sqlite")
        // A manual correction on 2400: no sub-ledger entry, and the difference it makes is explained.
        try await books.write { db in
            try db.execute(
                sql: """
                    INSERT INTO journal_entries (id, date, source, description, created_at)
                    VALUES (99, '2026-11-01', 'manual', 'Correction', '2026-11-01T00:00:00Z');
                    INSERT INTO journal_lines (entry_id, line_no, account, debit_minor, credit_minor, currency)
                    VALUES (99, 1, '4000', 50000, 0, 'NOK'), (99, 2, '2400', 0, 50000, 'NOK');
                    """)
        }
        let agrees = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(agrees.status == 0)
        #expect(
            agrees.stdout.contains(
                "2400 NOK: general ledger 1 302.00 NOK (credit balance), supplier sub-ledger 802.00 NOK — agrees: the "
                    + "difference of "
                    + "500.00 NOK is the correction below"), "\(agrees.stdout)")
        // The invoice's sub-ledger entry changed by 1.00: an error, listed, and the part it makes said.
        try await books.write { try $0.execute(sql: "UPDATE supplier_ledger SET amount_minor = amount_minor + 100") }
        try books.close()
        let differs = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(differs.status == 1)
        #expect(
            differs.stdout.contains("general ledger 802.00 NOK, supplier sub-ledger 803.00 NOK\n"), "\(differs.stdout)")
        #expect(
            differs.stdout.contains(
                "    difference 499.00 NOK: 500.00 NOK from corrections, -1.00 NOK where no correction explains it "
                    + "(the entries listed: an error in the books)"))
        #expect(!differs.stdout.contains("supplier_ledger"))
    }

    /// What `config check` says beside its lines, a script reads among the JSON's warnings.
    @Test func configurationWarningsAreInTheJSON() async throws {
        let home = try Home()
        try home.writeConfig("[company]\nname = \"Nordlys Helse AS\"\n")
        let check = try await ledgerd(["config", "check", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(check.status == 0)
        let warnings = try json(check.stdout)["warnings"] as? [String] ?? []
        #expect(warnings.contains { $0.hasPrefix("no identifiers: every invoice will be rejected") }, "\(warnings)")
        let text = try await ledgerd(["config", "check", "--config", "ledgerd.toml"], in: home.path)
        #expect(text.stdout.contains("no identifiers: every invoice will be rejected"))
    }

    /// With --json, stdout is JSON whether the command succeeds or not.
    @Test func errorsAreJSONWithJSON() async throws {
        let home = try Home()
        try home.writeConfig("[company]\norg_numbr = \"987654325\"\n")
        let check = try await ledgerd(["config", "check", "--config", "ledgerd.toml", "--json"], in: home.path)
        #expect(check.status == 2)
        let invalid = try json(check.stdout)
        #expect(invalid["valid"] as? Bool == false)
        #expect(invalid["exit_status"] as? Int == 2)
        #expect((invalid["error"] as? String)?.contains("company.org_numbr") == true)
        #expect(check.stderr.contains("company.org_numbr"))
        let status = try await ledgerd(["status", "--json"], in: home.path)
        #expect(status.status == 1)
        let noBooks = try json(status.stdout)
        #expect((noBooks["error"] as? String)?.hasPrefix("there is no ledger database") == true)
        #expect(noBooks["exit_status"] as? Int == 1)
        #expect(noBooks["valid"] == nil)
    }

    /// Books gone (moved, deleted, a mistyped [paths] database) while the archive holds what
    /// was posted into them: neither ingest nor run starts new books beside it, and reconcile
    /// says it has no books to check (3) rather than that they disagree (1).
    @Test func newBooksAreNotStartedBesideAnOldArchive() async throws {
        let home = try await Home.withBooks(
            "valid/ehf3_faktura-1_NOK.xml", config: buyerConfig + "\n[server]\nlisten = \"127.0.0.1:\(freePort())\"\n")
        for suffix in ["", "-wal", "-shm"] {
            try? FileManager.default.removeItem(atPath: home.path + "/var/ledger.sqlite" + suffix)
        }
        let reconcile = try await ledgerd(["reconcile", "--config", "ledgerd.toml"], in: home.path)
        #expect(reconcile.status == 3)
        #expect(reconcile.stderr.contains("no ledger database"))

        try writeInvoices(count: 1, into: home.path + "/Inbox/ehf")
        for command in ["ingest", "run"] {
            let refused = try await ledgerd([command, "--config", "ledgerd.toml"], in: home.path)
            #expect(refused.status == 1, "\(command)")
            #expect(refused.stderr.contains("there are no books at \(home.path)/var/ledger.sqlite, but the archive"))
            #expect(refused.stderr.contains("ehf3_faktura-1_NOK.xml"))
        }
        #expect(!FileManager.default.fileExists(atPath: home.path + "/var/ledger.sqlite"))
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/INV-0.xml"))

        // Only what ledgerd archived counts: notes, a lock file or a README there start new books.
        let fresh = try Home()
        try fresh.writeConfig(buyerConfig + "\n[paths]\narchive = \"var\"\n")
        try FileManager.default.createDirectory(
            atPath: fresh.path + "/var/ehf/2026-11", withIntermediateDirectories: true)
        try Data("notes".utf8).write(to: URL(fileURLWithPath: fresh.path + "/var/README.txt"))
        try Data("notes".utf8).write(to: URL(fileURLWithPath: fresh.path + "/var/ehf/2026-11/notes.txt"))
        try Data("lock".utf8).write(to: URL(fileURLWithPath: fresh.path + "/var/ledger.sqlite.lock"))
        let first = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: fresh.path)
        #expect(first.status == 0, "\(first.stderr)")

        // New books on purpose: the old archive moved aside.
        try FileManager.default.moveItem(atPath: home.path + "/var/archive", toPath: home.path + "/var/archive-old")
        #expect(try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path).status == 0)
    }

    /// Damaged books (here: pages overwritten, as a backup copied over the open file leaves
    /// them) are not posted into: the daemon refuses to start, saying what SQLite's check
    /// found and to restore them.
    @Test func theDaemonDoesNotStartOnDamagedBooks() async throws {
        let home = try await Home.withBooks(
            "valid/ehf3_faktura-1_NOK.xml", config: buyerConfig + "\n[server]\nlisten = \"127.0.0.1:\(freePort())\"\n")
        let database = home.path + "/var/ledger.sqlite"
        let size = try #require(try FileManager.default.attributesOfItem(atPath: database)[.size] as? Int)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: database))
        // The journal's page, not those SQLite reads as it opens the file.
        let books = try GRDB.DatabaseQueue(path: database)
        let page = try #require(
            try await books.read { db in
                try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'journal_lines'")
            })
        try books.close()
        try handle.seek(toOffset: UInt64((page - 1) * 4096))
        handle.write(Data(repeating: 0xA5, count: 4096))
        try handle.close()
        try writeInvoices(count: 1, into: home.path + "/Inbox/ehf")
        let run = try await ledgerd(["run", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.status == 1)
        #expect(
            run.stderr.contains("ledgerd: the database file \(database) is damaged (SQLite's check: "), "\(run.stderr)")
        #expect(run.stderr.contains("Restore the books from a backup"))
        #expect(!run.stderr.contains("***"))
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/INV-0.xml"))
        // Damaged where SQLite reads as it opens the file: said the same way, by every command.
        let whole = try FileHandle(forWritingTo: URL(fileURLWithPath: database))
        try whole.seek(toOffset: 100)
        whole.write(Data(repeating: 0xA5, count: size - 100))
        try whole.close()
        for command in ["run", "ingest", "status"] {
            let refused = try await ledgerd([command, "--config", "ledgerd.toml"], in: home.path)
            #expect(refused.status == 1, "\(command)")
            #expect(
                refused.stderr.contains("ledgerd: the database file \(database) is damaged (SQLite: "),
                "\(command): \(refused.stderr)")
        }
    }

    /// Books a newer ledgerd wrote (one installed, run, then rolled back) are neither posted
    /// into nor read: every command says so and changes nothing; the files wait.
    @Test func booksWrittenByANewerLedgerdAreRefused() async throws {
        let home = try await Home.withBooks(
            "valid/ehf3_faktura-1_NOK.xml", config: buyerConfig + "\n[server]\nlisten = \"127.0.0.1:\(freePort())\"\n")
        let database = home.path + "/var/ledger.sqlite"
        let books = try GRDB.DatabaseQueue(path: database)
        try await books.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('999_from_a_newer_version')")
        }
        try books.close()
        try writeInvoices(count: 1, into: home.path + "/Inbox/ehf")
        let documentsBefore = try Self.count("documents", in: database)
        for command in ["run", "ingest", "status", "outstanding", "reconcile"] {
            let refused = try await ledgerd([command, "--config", "ledgerd.toml"], in: home.path)
            #expect(refused.status == (command == "reconcile" ? 3 : 1), "\(command): \(refused.status)")
            #expect(
                refused.stderr.contains(
                    "ledgerd: the ledger database \(database) was written by a newer ledgerd than this one"),
                "\(command): \(refused.stderr)")
            #expect(refused.stderr.contains("(999_from_a_newer_version)"), "\(command)")
        }
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/INV-0.xml"))
        #expect(try Self.count("documents", in: database) == documentsBefore)
    }

    static func count(_ table: String, in database: String) throws -> Int {
        let books = try GRDB.DatabaseQueue(path: database)
        defer { try? books.close() }
        return try books.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") ?? -1 }
    }

    /// Damage SQLite's check reports as rows rather than as an error (a leaf page's cell
    /// pointers overwritten, as a copy taken while the books were written leaves them): the
    /// daemon does not start on it either.
    @Test(.timeLimit(.minutes(2))) func theDaemonDoesNotStartOnBooksWhoseCheckFindsDamage() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig + "\n[server]\nlisten = \"127.0.0.1:\(freePort())\"\n")
        try writeInvoices(count: 100, into: home.path + "/Inbox/ehf")
        #expect(try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path).status == 0)
        let database = home.path + "/var/ledger.sqlite"
        // A leaf of the journal lines' tree: the rightmost child of its root.
        let books = try GRDB.DatabaseQueue(path: database)
        let root = try #require(
            try await books.read { db in
                try Int.fetchOne(db, sql: "SELECT rootpage FROM sqlite_master WHERE name = 'journal_lines'")
            })
        try books.close()
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: database))
        try handle.seek(toOffset: UInt64((root - 1) * 4096))
        let rootPage = try #require(try handle.read(upToCount: 12))
        #expect(rootPage[0] == 5, "the root is an interior page")
        let leaf = rootPage[8..<12].reduce(0) { $0 << 8 | Int($1) }
        try handle.seek(toOffset: UInt64((leaf - 1) * 4096 + 8))
        handle.write(Data(repeating: 0xA5, count: 8))
        try handle.close()
        try writeInvoices(count: 1, into: home.path + "/Inbox/ehf", prefix: "NEW")
        let run = try await ledgerd(["run", "--config", "ledgerd.toml"], in: home.path)
        #expect(run.status == 1, "\(run.stderr)")
        #expect(
            run.stderr.contains(
                "ledgerd: the database file \(database) is damaged (SQLite's check: On tree page \(leaf)"),
            "\(run.stderr)")
        #expect(!run.stderr.contains("***"))
    }

    /// The mirror case: books whose files were archived, and no archive folder (its disk not
    /// mounted, or moved). Neither ingest nor run creates an empty one in its place; a folder
    /// made on purpose lets them go on.
    @Test func postingDoesNotGoOnWithoutTheArchive() async throws {
        let home = try await Home.withBooks(
            "valid/ehf3_faktura-1_NOK.xml", config: buyerConfig + "\n[server]\nlisten = \"127.0.0.1:\(freePort())\"\n")
        let archive = home.path + "/var/archive"
        try FileManager.default.moveItem(atPath: archive, toPath: home.path + "/archive-elsewhere")
        try writeInvoices(count: 1, into: home.path + "/Inbox/ehf")
        for command in ["ingest", "run"] {
            let refused = try await ledgerd([command, "--config", "ledgerd.toml"], in: home.path)
            #expect(refused.status == 1, "\(command)")
            #expect(
                refused.stderr.contains(
                    "the archive \(archive) does not exist, but the books have files archived there (the latest \(archive)/ehf/"
                ), "\(refused.stderr)")
            #expect(refused.stderr.contains("ehf3_faktura-1_NOK.xml"))
        }
        #expect(!FileManager.default.fileExists(atPath: archive))
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/INV-0.xml"))
        // Reading the books needs no archive.
        #expect(try await ledgerd(["status", "--config", "ledgerd.toml"], in: home.path).status == 0)

        // An empty folder in its place is what a disk's mount point is while it is not mounted.
        try FileManager.default.createDirectory(atPath: archive, withIntermediateDirectories: false)
        for command in ["ingest", "run"] {
            let refused = try await ledgerd([command, "--config", "ledgerd.toml"], in: home.path)
            #expect(refused.status == 1, "\(command)")
            #expect(
                refused.stderr.contains(
                    "the archive \(archive) is empty, but the books have files archived there (the latest \(archive)/ehf/"
                ), "\(refused.stderr)")
            #expect(refused.stderr.contains("make a folder in it (mkdir \(archive)/ehf)"), "\(refused.stderr)")
        }
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/INV-0.xml"))

        // Going on without the old files, on purpose.
        try FileManager.default.createDirectory(atPath: archive + "/ehf", withIntermediateDirectories: false)
        #expect(try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path).status == 0)
        #expect(!FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/INV-0.xml"))
    }

    /// `sudo ledgerd config check` reads the file as root; the service reads it as its own
    /// user. A file that user may not read is valid but said to stop the service.
    @Test func configCheckAsRootSaysWhenTheServiceUserCannotRead() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        let file = home.path + "/ledgerd.toml"
        #expect(chmod(file, 0o600) == 0)
        let check = try await runProgram(
            ledgerdBinary, ["config", "check", "--config", "ledgerd.toml", "--json"], in: home.path,
            environment: ["LEDGERD_SERVICE_USER": "nobody"])
        #expect(check.status == 0)
        let warnings = try json(check.stdout)["warnings"] as? [String]
        if geteuid() == 0 {
            #expect(
                warnings?.first?.contains("the user nobody, whom the service runs as, may not read \(file)") == true)
            #expect(check.stderr.contains("warning: the user nobody"))
            // The advice names the user's own group (nobody's is nogroup on Debian).
            let group = getgrgid(getpwnam("nobody").pointee.pw_gid).map { String(cString: $0.pointee.gr_name) }
            #expect(warnings?.first?.contains("(try: chgrp \(group ?? "?") \(file); chmod 0640 \(file))") == true)
        } else {
            #expect(warnings == [])  // only root reads what the service may not
        }
        #expect(chmod(file, 0o644) == 0)
        let readable = try await runProgram(
            ledgerdBinary, ["config", "check", "--config", "ledgerd.toml", "--json"], in: home.path,
            environment: ["LEDGERD_SERVICE_USER": "nobody"])
        #expect(try json(readable.stdout)["warnings"] as? [String] == [])
    }

    @Test func usageErrorsAreClear() async throws {
        let home = try Home()
        // A usage error exits 2 as documented (not argument parser's 64), in JSON with --json.
        let mistyped = try await ledgerd(["stauts"], in: home.path)
        #expect(mistyped.status == 2)
        #expect(
            mistyped.stderr.hasPrefix("Error: unknown command 'stauts'; did you mean 'status'?"), "\(mistyped.stderr)")
        let unknown = try await ledgerd(["ingest", "--bogus", "--json"], in: home.path)
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("Unknown option '--bogus'"))
        #expect(try json(unknown.stdout)["error"] as? String == "Unknown option '--bogus'")
        let check = try await ledgerd(["config", "check", "--bogus", "--json"], in: home.path)
        #expect(check.status == 2)
        #expect(try json(check.stdout)["valid"] as? Bool == false)
        #expect(try await ledgerd(["backup"], in: home.path).status == 2)
        // A missing command is a missing argument too, said with the usage of what was typed.
        let bare = try await ledgerd([], in: home.path)
        #expect(bare.status == 2)
        #expect(bare.stderr.hasPrefix("Error: a command is needed: run, ingest, status"), "\(bare.stderr)")
        let config = try await ledgerd(["config"], in: home.path)
        #expect(config.status == 2)
        #expect(config.stderr.contains("'ledgerd config check' or 'ledgerd config example'"), "\(config.stderr)")
        #expect(config.stderr.contains("Usage: ledgerd config <subcommand>"), "\(config.stderr)")
        #expect(try await ledgerd(["config", "--help"], in: home.path).status == 0)
        #expect(try await ledgerd(["status", "--help"], in: home.path).status == 0)
        let noPath = try await ledgerd(["ingest", "does-not-exist.xml"], in: home.path)
        #expect(noPath.status == 2)
        #expect(noPath.stderr.contains("does-not-exist.xml"))
        let noDatabase = try await ledgerd(["status"], in: home.path)
        #expect(noDatabase.status == 1)
        #expect(noDatabase.stderr.contains("no ledger database"))
        try home.writeConfig("[paths]\ninbox = \"Innboks\"\n")
        let noInbox = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(noInbox.status == 2)
        #expect(noInbox.stderr.contains("the inbox folder \(home.path)/Innboks does not exist; create it"))
        let help = try await ledgerd(["--help"], in: home.path)
        #expect(help.stdout.contains("ingest"))
        #expect(help.stdout.contains("reconcile"))
    }
}

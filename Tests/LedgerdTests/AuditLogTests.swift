import Foundation
import LedgerStore
import TestSupport
import Testing

@Suite(.serialized) struct AuditLogTests {
    /// A daemon on a port of its own whose actions take the token `retry-token`.
    static func daemonWithRetryToken() async throws -> (Home, Int, RunningDaemon) {
        let home = try Home()
        let port = freePort()
        let daemon = try await RunningDaemon(
            home: home, extraConfig: "[server]\nlisten = \"127.0.0.1:\(port)\"\ntoken = \"retry-token\"\n")
        return (home, port, daemon)
    }

    /// Retry sends back only files ledgerd rejects: not a folder put in the rejected folder
    /// (with what is in it), and a rejected file's explanation is removed only when it is a
    /// file. The activity line names the file with escapes, as the page shows names.
    @Test func retrySendsBackFilesOnly() async throws {
        let (home, port, daemon) = try await Self.daemonWithRetryToken()
        let rejected = home.path + "/Inbox/rejected"
        try FileManager.default.createDirectory(atPath: rejected + "/folder/inner", withIntermediateDirectories: true)
        try invoice(number: "IN-FOLDER").write(to: URL(fileURLWithPath: rejected + "/folder/in.xml"))
        // A wrong token, and none: refused, and each logged without the token presented.
        let guessed = try await post(
            port, "/api/actions/retry", body: "{\"name\": \"folder\"}",
            headers: ["Authorization: Bearer guess-1234", "Content-Type: application/json"])
        #expect(guessed.status == 401)
        let anonymous = try await post(
            port, "/api/actions/rescan", body: "{}", headers: ["Content-Type: application/json"])
        #expect(anonymous.status == 401)
        try await waitUntil(seconds: 10) { daemon.logText.contains("refused POST /api/actions/rescan: no token") }
        #expect(daemon.logText.contains("warning: refused POST /api/actions/retry: a wrong token"), "\(daemon.logText)")
        #expect(!daemon.logText.contains("guess-1234"))
        let headers = ["Authorization: Bearer retry-token", "Content-Type: application/json"]
        let folder = try await post(port, "/api/actions/retry", body: "{\"name\": \"folder\"}", headers: headers)
        #expect(folder.status == 404, "\(folder.body)")
        #expect(FileManager.default.fileExists(atPath: rejected + "/folder/in.xml"))

        let name = "r\u{202E}lmx.xml"
        try Data("junk".utf8).write(to: URL(fileURLWithPath: rejected + "/" + name))
        try FileManager.default.createDirectory(
            atPath: rejected + "/" + name + ".error.txt/kept", withIntermediateDirectories: true)
        let file = try await post(
            port, "/api/actions/retry", body: "{\"name\": \"r\\u202Elmx.xml\"}", headers: headers)
        #expect(file.status == 200, "\(file.body)")
        #expect(FileManager.default.fileExists(atPath: rejected + "/" + name + ".error.txt/kept"))
        try await waitUntil(seconds: 30) {
            daemon.count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'retry' AND detail LIKE 'r\\u202Elmx.xml moved%'") == 1
        }
        #expect(daemon.terminate() == 0)
    }

    /// Two files of one name refused unread (too large) lie as big.xml and big (2).xml: Retry of
    /// the second sends back the second, found by where it was put, not the first by its name.
    /// Refused by a limit since raised (the daemon restarted with it), as Retry is meant for.
    @Test func retryOfAFileRefusedUnreadTakesItsOwnCopy() async throws {
        let home = try Home()
        let port = freePort()
        try home.writeConfig(buyerConfig + "\n[limits]\nmax_file_bytes = 100\n")
        let rejected = home.path + "/Inbox/rejected"
        for (size, kept) in [(200, "big.xml"), (300, "big (2).xml")] {
            try Data(repeating: 0x20, count: size).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/big.xml"))
            #expect(try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path).status == 0)
            #expect(FileManager.default.fileExists(atPath: rejected + "/\(kept).error.txt"))
        }
        let daemon = try await RunningDaemon(
            home: home,
            extraConfig:
                "[server]\nlisten = \"127.0.0.1:\(port)\"\ntoken = \"retry-token\"\n[limits]\nmax_file_bytes = 1000\n"
        )
        let second = daemon.count("SELECT MAX(id) FROM documents WHERE original_name = 'big.xml'")
        #expect(daemon.count("SELECT COUNT(*) FROM documents WHERE rejected_path LIKE '%/big (2).xml'") == 1)
        let retry = try await post(
            port, "/api/actions/retry", body: "{\"document_id\": \(second)}",
            headers: ["Authorization: Bearer retry-token", "Content-Type: application/json"])
        #expect(retry.body.contains("big (2).xml is back in the ehf inbox as big.xml"), "\(retry.body)")
        // The first stays where it was, untouched.
        #expect((try? Data(contentsOf: URL(fileURLWithPath: rejected + "/big.xml")))?.count == 200)
        #expect(daemon.terminate() == 0)
    }

    /// On a real daemon: the status page's retry sends a rejected file back to its inbox, where
    /// it is tried again; the retry, a rescan, a backup, the daemon's start and stop and a later
    /// `ledgerd ingest` run each leave one audit_log row saying who did what.
    @Test func operatorActionsAreRecordedInTheAuditLog() async throws {
        let home = try Home()
        let port = freePort()
        let daemon = try await RunningDaemon(
            home: home, extraConfig: "[server]\nlisten = \"127.0.0.1:\(port)\"\ntoken = \"audit-token\"\n")
        let name = "ehf2_faktura-1_legacy.xml"
        let rejected = home.path + "/Inbox/rejected/" + name
        try home.drop("invalid/" + name)
        try await waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: rejected + ".error.txt") }
        let documentID = Int64(daemon.count("SELECT id FROM documents WHERE state = 'rejected'"))
        #expect(documentID > 0)

        let auth = "Authorization: Bearer audit-token"
        let json = "Content-Type: application/json"
        let retry = try await post(
            port, "/api/actions/retry", body: "{\"document_id\": \(documentID)}", headers: [auth, json])
        #expect(retry.status == 200, "\(retry.body)")
        // Back in the inbox, tried again, and rejected again with a fresh explanation.
        try await waitUntil(seconds: 10) {
            FileManager.default.fileExists(atPath: rejected + ".error.txt")
                && !FileManager.default.fileExists(atPath: home.path + "/Inbox/ehf/" + name)
        }
        #expect(daemon.count("SELECT COUNT(*) FROM documents") == 1)
        let missing = try await post(
            port, "/api/actions/retry", body: "{\"name\": \"not-there.xml\"}", headers: [auth, json])
        #expect(missing.status == 404)
        // The error file is not a rejected file to send back.
        let note = try await post(
            port, "/api/actions/retry", body: "{\"name\": \"\(name).error.txt\"}", headers: [auth, json])
        #expect(note.status == 404)
        #expect(FileManager.default.fileExists(atPath: rejected + ".error.txt"))
        #expect(try await post(port, "/api/actions/rescan", body: "{}", headers: [auth, json]).status == 202)

        let backup = try await ledgerd(["backup", "copy.sqlite", "--config", "ledgerd.toml"], in: home.path)
        #expect(backup.status == 0, "\(backup.stderr)")
        #expect(daemon.terminate() == 0)

        // An ingest run that handles a file is recorded; one that finds nothing is not.
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        #expect(try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path).status == 0)
        #expect(try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path).status == 0)

        let entries = try LedgerStore(path: home.path + "/var/ledger.sqlite", readonly: true).auditEntries()
            .reversed()
        #expect(
            entries.map(\.action) == [
                "daemon_started", "retry", "rescan", "backup", "daemon_stopped", "ingest",
            ])
        let byAction = Dictionary(entries.map { ($0.action, $0) }, uniquingKeysWith: { first, _ in first })
        let pid = "pid \(daemon.process.processIdentifier)"
        #expect(byAction["daemon_started"]?.actor == "ledgerd run")
        #expect(byAction["daemon_started"]?.detail?.hasPrefix(pid + "; watching ") == true)
        #expect(byAction["daemon_stopped"]?.detail == pid + "; 0 file(s) left for next time")
        #expect(byAction["retry"]?.actor == "status page (API token)")
        #expect(byAction["retry"]?.documentID == documentID)
        #expect(byAction["retry"]?.detail == "\(name) moved from the rejected folder back to the ehf inbox")
        #expect(byAction["rescan"]?.actor == "status page (API token)")
        #expect(byAction["backup"]?.actor.hasSuffix("(ledgerd backup)") == true)
        #expect(
            byAction["backup"]?.detail?.contains("/copy.sqlite: 1 document, 0 journal entries, all balanced") == true)
        #expect(
            byAction["ingest"]?.detail
                == "1 file taken in: 1 posted, 0 duplicate, 0 duplicate number, 0 rejected, 0 failed")
        #expect(entries.allSatisfy { $0.at.hasSuffix("Z") && $0.at.count == 20 })
    }

    /// Retry finds a document's rejected copy by its bytes: of two rejected files named alike
    /// (kept as "dup.xml" and "dup (2).xml") the one asked for goes back, and to the inbox it
    /// came from, not the one its type suggests.
    @Test func retryTakesTheDocumentsOwnCopyBackToItsOwnInbox() async throws {
        let (home, port, daemon) = try await Self.daemonWithRetryToken()
        let rejected = home.path + "/Inbox/rejected"
        for (content, kept) in [("first junk", "dup.xml"), ("second junk", "dup (2).xml")] {
            try Data(content.utf8).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/dup.xml"))
            try await waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: rejected + "/\(kept).error.txt") }
        }
        try Data("%PDF-1.4 not an EHF".utf8).write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/note.pdf"))
        try await waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: rejected + "/note.pdf.error.txt") }
        let second = daemon.count("SELECT MAX(id) FROM documents WHERE original_name = 'dup.xml'")
        let pdf = daemon.count("SELECT id FROM documents WHERE original_name = 'note.pdf'")

        let auth = "Authorization: Bearer retry-token"
        let json = "Content-Type: application/json"
        // The two rejected copies swapped by hand: Retry goes by the bytes, not by the names.
        let a = rejected + "/dup.xml"
        let b = rejected + "/dup (2).xml"
        try FileManager.default.moveItem(atPath: a, toPath: rejected + "/swap")
        try FileManager.default.moveItem(atPath: b, toPath: a)
        try FileManager.default.moveItem(atPath: rejected + "/swap", toPath: b)
        let retry = try await post(
            port, "/api/actions/retry", body: "{\"document_id\": \(second)}", headers: [auth, json])
        #expect(retry.status == 200, "\(retry.body)")
        #expect(retry.body.contains("dup.xml is back in the ehf inbox and will be tried again"), "\(retry.body)")
        #expect(try String(contentsOfFile: b, encoding: .utf8) == "first junk")
        #expect(
            daemon.count(
                "SELECT COUNT(*) FROM audit_log WHERE action = 'retry' AND document_id = \(second) "
                    + "AND detail = 'dup.xml moved from the rejected folder back to the ehf inbox'") == 1)
        // Rejected again, it is "dup.xml" in the rejected folder once more. The first document's
        // copy, "dup (2).xml" there, goes back under the name it came with, which it keeps.
        try await waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: a + ".error.txt") }
        let first = daemon.count("SELECT MIN(id) FROM documents WHERE original_name = 'dup.xml'")
        let again = try await post(
            port, "/api/actions/retry", body: "{\"document_id\": \(first)}", headers: [auth, json])
        #expect(again.body.contains("dup (2).xml is back in the ehf inbox as dup"), "\(again.body)")
        try await waitUntil(seconds: 10) { FileManager.default.fileExists(atPath: b + ".error.txt") }
        #expect(daemon.count("SELECT COUNT(*) FROM documents WHERE original_name = 'dup.xml'") == 2)

        let back = try await post(port, "/api/actions/retry", body: "{\"document_id\": \(pdf)}", headers: [auth, json])
        #expect(back.body.contains("note.pdf is back in the ehf inbox"), "\(back.body)")
        // The PDF went to the EHF inbox, where the daemon reads it again, not to the Wise
        // inbox, where it would be left for good.
        #expect(!FileManager.default.fileExists(atPath: home.path + "/Inbox/wise/note.pdf"))
        #expect(daemon.terminate() == 0)
    }
}

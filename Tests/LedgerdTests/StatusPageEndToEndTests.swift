import Foundation
import GRDB
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// "134575.19" → "134 575.19 NOK", as the page writes amounts.
func pageAmount(minor: Int64, currency: String) -> String {
    let units = String(minor / 100)
    var grouped = ""
    for (i, c) in units.reversed().enumerated() {
        if i > 0, i % 3 == 0 { grouped.append(" ") }
        grouped.append(c)
    }
    return String(grouped.reversed()) + "." + String(format: "%02d", Int(minor % 100)) + " " + currency
}

@Suite(.serialized) struct StatusPageEndToEndTests {
    /// `ledgerd run` with real data; the page in headless Chromium shows the right figures.
    @Test func thePageOfARunningDaemonShowsItsFigures() async throws {
        let home = try Home()
        let port = freePort()
        let daemon = try await RunningDaemon(home: home, extraConfig: "[server]\nlisten = \"127.0.0.1:\(port)\"\n")
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        try home.drop("invalid/ehf2_faktura-1_legacy.xml")
        try await waitUntil(seconds: 10) { daemon.count("SELECT COUNT(*) FROM documents") == 2 }
        let payable = try await daemon.store().pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT payable_minor FROM vendor_invoices") ?? 0
        }

        let profile = home.path + "/chromium"
        let url = "http://127.0.0.1:\(port)/"
        let dom = try await Chromium.run(["--virtual-time-budget=5000", "--dump-dom", url], profile: profile)
        let artifacts = packageRoot + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        _ = try await Chromium.run(
            [
                "--virtual-time-budget=5000", "--window-size=1280,1800",
                "--screenshot=\(artifacts)/ledgerd-run-status-page.png", url,
            ],
            profile: profile)
        try dom.write(toFile: artifacts + "/ledgerd-run-status-page.html", atomically: true, encoding: .utf8)

        #expect(figure(dom, "documents-posted") == "1")
        #expect(figure(dom, "documents-rejected") == "1")
        #expect(figure(dom, "rejected-name") == "ehf2_faktura-1_legacy.xml")
        #expect(
            figure(dom, "outstanding-total-payable-NOK")?.replacingOccurrences(of: "\u{A0}", with: " ")
                == pageAmount(minor: payable, currency: "NOK"))
        #expect(figure(dom, "reconciliation-verdict") == "agrees")
        #expect(figure(dom, "watch-mode") == "inotify")
        #expect(figure(dom, "health") == "ok")
        #expect(FileManager.default.fileExists(atPath: artifacts + "/ledgerd-run-status-page.png"))
        #expect(daemon.terminate() == 0)
    }

    /// A file rejected because the company's identifiers did not name it is posted once they
    /// do: its Retry button on the page, clicked in Chromium and given the password in the
    /// page's dialog, sends it back to the inbox, the daemon posts it, and the page says so
    /// where it gave the Retry's answer. A file that is still not the company's is said to
    /// be rejected again.
    @Test func retryOnThePageSendsARejectedFileBackAndSaysWhatBecameOfIt() async throws {
        let home = try Home()
        try home.writeConfig("[company]\nname = \"Andre AS\"\norg_number = \"974760673\"\n")
        try invoice(number: "RETRY-1").write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/retry-me.xml"))
        try home.drop("valid/peppol_base-example.xml")  // addressed to neither company
        let first = try await ledgerd(["ingest", "--config", "ledgerd.toml"], in: home.path)
        #expect(first.stdout.contains("0 posted"), "\(first.stdout)")
        #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/rejected/retry-me.xml"))

        // The company's own identifiers now (`RunningDaemon` writes them).
        let port = freePort()
        let daemon = try await RunningDaemon(
            home: home, extraConfig: "[server]\nlisten = \"127.0.0.1:\(port)\"\ntoken = \"page-password\"\n")
        func id(_ name: String) -> Int { daemon.count("SELECT id FROM documents WHERE original_name = '\(name)'") }
        let (ours, theirs) = (id("retry-me.xml"), id("peppol_base-example.xml"))
        #expect(ours > 0 && theirs > 0)
        // Times have whole seconds: what the daemon rejects below comes in a later second than
        // its start, as it would for a person.
        let started = Int(Date().timeIntervalSince1970)
        while Int(Date().timeIntervalSince1970) <= started { try await Task.sleep(for: .milliseconds(50)) }
        do {
            let page = try BrowserPage(url: "http://127.0.0.1:\(port)/", profile: home.path + "/chromium")
            defer { page.close() }
            let result = "document.getElementById('action-result').textContent"
            try page.waitFor("document.querySelector('[data-key=retry-\(theirs)]')")
            try page.click("[data-key=retry-\(theirs)]")
            try page.waitFor("document.getElementById('password').open")
            try page.type("page-password")
            try page.press("Enter")
            // The Retry's answer ("… is back in the ehf inbox and will be tried again.") may give
            // way to what became of the file before it is looked at: that is waited for.
            try page.waitFor(
                "\(result).startsWith('peppol_base-example.xml was not posted this time either: NOT-OUR-INVOICE: ')")
            // Rejected again by this daemon, whose configuration has not changed: no Retry until
            // it is restarted.
            try page.waitFor("document.querySelector('[data-rejected=\"peppol_base-example.xml\"] [data-retry-waits]')")
            #expect(
                try page.evaluate("Boolean(document.querySelector('[data-key=retry-\(theirs)]'))") as? Bool == false)
            // Nor through the API, which says why.
            let again = try await post(
                port, "/api/actions/retry", body: "{\"document_id\": \(theirs)}",
                headers: ["Authorization: Bearer page-password", "Content-Type: application/json"])
            #expect(again.status == 409, "\(again.body)")
            #expect(again.body.contains("would be rejected again. Mend the configuration and restart ledgerd"))
            #expect(FileManager.default.fileExists(atPath: home.path + "/Inbox/rejected/peppol_base-example.xml"))

            try page.click("[data-key=retry-\(ours)]")
            try await waitUntil(seconds: 20) {
                daemon.count("SELECT COUNT(*) FROM documents WHERE state = 'posted'") == 1
            }
            try page.waitFor(
                "\(result).startsWith('retry-me.xml was posted: Invoice RETRY-1 from Salescompany ltd. · ')")
            // Nothing of it is left to retry.
            #expect(try page.evaluate("Boolean(document.querySelector('[data-key=retry-\(ours)]'))") as? Bool == false)
        }
        #expect(daemon.count("SELECT COUNT(*) FROM documents") == 2)
        #expect(daemon.count("SELECT COUNT(*) FROM vendor_invoices WHERE number = 'RETRY-1'") == 1)
        #expect(!FileManager.default.fileExists(atPath: home.path + "/Inbox/rejected/retry-me.xml"))
        #expect(daemon.terminate() == 0)
    }

    /// A file dropped again with the bytes of a posted invoice posts nothing; the page lists it
    /// beside the documents, saying which file it repeats, and says what each posted one became.
    @Test func aFileDroppedAgainIsListedWithWhatItRepeats() async throws {
        let home = try Home()
        let port = freePort()
        let daemon = try await RunningDaemon(home: home, extraConfig: "[server]\nlisten = \"127.0.0.1:\(port)\"\n")
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        try await waitUntil(seconds: 10) { daemon.count("SELECT COUNT(*) FROM documents WHERE state = 'posted'") == 1 }
        try FileManager.default.copyItem(
            atPath: packageRoot + "/Tests/FormatsTests/Fixtures/ehf/valid/ehf3_faktura-1_NOK.xml",
            toPath: home.path + "/Inbox/ehf/sent-again.xml")
        try await waitUntil(seconds: 10) { daemon.count("SELECT COUNT(*) FROM duplicate_drops") == 1 }
        #expect(daemon.count("SELECT COUNT(*) FROM documents") == 1)
        #expect(daemon.count("SELECT COUNT(*) FROM journal_entries") == 1)
        let (number, supplier) = try await daemon.store().pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT v.number, s.name FROM vendor_invoices v JOIN suppliers s ON s.id = v.supplier_id")!
            return (row[0] as String, row[1] as String)
        }

        let dom = try await Chromium.run(
            ["--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/"], profile: home.path + "/chromium")
        let recent = try #require(dom.range(of: "Recent documents").map { String(dom[$0.upperBound...]) })
        let dropped = try #require(row(in: recent, named: "sent-again.xml"))
        #expect(dropped.contains("data-state=\"duplicate\""))
        #expect(dropped.contains("The same file was already posted as ehf3_faktura-1_NOK.xml"))
        #expect(dropped.contains("nothing was posted again"))
        let posted = try #require(row(in: recent, named: "ehf3_faktura-1_NOK.xml"))
        #expect(posted.contains("data-state=\"posted\""))
        #expect(posted.contains("Invoice \(number) from \(supplier)"))
        #expect(FileManager.default.fileExists(atPath: home.path + "/var/archive/duplicates"))
        // Without a token the buttons are off, said in words a bookkeeper reads, with what to do instead.
        let actions = figure(dom, "actions") ?? ""
        #expect(actions.contains("buttons (Retry, Rescan) are off until whoever runs ledgerd sets an API token"))
        #expect(actions.contains("moving it back into its inbox"))
        #expect(daemon.terminate() == 0)
    }

    /// The `<tr>` of the recent-documents row for `name`.
    func row(in html: String, named name: String) -> String? {
        guard let start = html.range(of: "<tr data-document=\"\(name)\"") else { return nil }
        let rest = html[start.lowerBound...]
        guard let end = rest.range(of: "</tr>") else { return nil }
        return String(rest[..<end.upperBound])
    }
}

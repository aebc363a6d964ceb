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
}

import Foundation
import GRDB
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A free TCP port on loopback (bound, read, released).
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs headless Chromium and returns what it prints.
func chromium(_ arguments: [String], profile: String) throws -> String {
    let binary = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    guard let binary else {
        throw TestFailure("chromium is not installed: apt-get install -y chromium (scripts/install-deps.sh)")
    }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments =
        [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--hide-scrollbars", "--user-data-dir=\(profile)",
        ] + arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The text of the element carrying `data-figure="key"`.
func figure(_ dom: String, _ key: String) -> String? {
    guard let hit = dom.range(of: "data-figure=\"\(key)\""),
        let close = dom.range(of: ">", range: hit.upperBound..<dom.endIndex)
    else { return nil }
    let end = dom.range(of: "<", range: close.upperBound..<dom.endIndex)?.lowerBound ?? dom.endIndex
    return String(dom[close.upperBound..<end]).replacingOccurrences(of: "&nbsp;", with: "\u{A0}")
        .replacingOccurrences(of: "&amp;", with: "&")
}

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
    @Test func thePageOfARunningDaemonShowsItsFigures() throws {
        let home = try Home()
        let port = freePort()
        let daemon = try RunningDaemon(home: home, extraConfig: "[server]\nlisten = \"127.0.0.1:\(port)\"\n")
        try home.drop("valid/ehf3_faktura-1_NOK.xml")
        try home.drop("invalid/ehf2_faktura-1_legacy.xml")
        try waitUntil(seconds: 10) { daemon.count("SELECT COUNT(*) FROM documents") == 2 }
        let payable = try daemon.store().pool.read { db in
            try Int64.fetchOne(db, sql: "SELECT payable_minor FROM vendor_invoices") ?? 0
        }

        let profile = home.path + "/chromium"
        let url = "http://127.0.0.1:\(port)/"
        let dom = try chromium(["--virtual-time-budget=5000", "--dump-dom", url], profile: profile)
        let artifacts = packageRoot + "/.build/test-artifacts"
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
        _ = try chromium(
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

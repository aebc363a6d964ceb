import Foundation
import LedgerCore
import LedgerStore
import TestSupport
import Testing

@testable import StatusServer

/// `wrk` against `/api/status` on a database of 10,000 invoices while a burst is being written.
/// Off by default; run with
///
///     LEDGERD_WEB_BENCH=1 swift test --filter StatusServerTests.LoadBenchmark
///
/// (`LEDGERD_WEB_BENCH_SECONDS`, default 20; `LEDGERD_WEB_BENCH_TTL_MS`, the status cache
/// period, default 1000; 0 recomputes every request). The wrk report is printed and kept in
/// `.build/test-artifacts/wrk-api-status.txt`.
@Suite struct LoadBenchmark {
    static let environment = ProcessInfo.processInfo.environment

    static func invoices(from start: Int, count: Int) throws -> [IncomingDocument] {
        let suppliers = (0..<40).map { Party(name: "Supplier \($0) AS", legalCompanyID: String(900_000_000 + $0)) }
        let customers = (0..<20).map { Party(name: "Customer \($0) AS", legalCompanyID: String(800_000_000 + $0)) }
        return try (start..<start + count).map { i in
            let sale = i % 10 < 3
            let net = Int64((i * 7_919) % 90_000 + 1_000) * 100
            let due = day(30 - (i * 13) % 150)
            let document = invoice(
                "B-\(i)", seller: sale ? us : suppliers[i % 40], buyer: sale ? customers[i % 20] : us,
                type: i % 50 == 0 ? .creditNote : .invoice, net: [net], issued: due.adding(days: -30),
                due: i % 17 == 0 ? nil : due)
            return try incoming(document, name: "B-\(i).xml", sha: "bench-\(i)", direction: sale ? .sale : .purchase)
        }
    }

    @Test(.enabled(if: environment["LEDGERD_WEB_BENCH"] != nil))
    func apiStatusUnderABurst() async throws {
        let seconds = Int(Self.environment["LEDGERD_WEB_BENCH_SECONDS"] ?? "") ?? 20
        let ttl = Int(Self.environment["LEDGERD_WEB_BENCH_TTL_MS"] ?? "") ?? 1000
        let dir = TemporaryDirectory()
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite")
        for batch in stride(from: 0, to: 10_000, by: 500) {
            _ = try store.write(try Self.invoices(from: batch, count: 500), now: StatusBuilder.iso(Date()))
        }
        _ = try store.write(
            [rejected(name: "broken.xml", sha: "broken", code: "BR-CO-10", message: "Sums differ.")],
            now: StatusBuilder.iso(Date()))
        let runtime = FakeRuntime()
        let stop = Locked(false)
        let written = Locked(0)

        try await withServer(
            store: store, runtime: runtime, statusCacheTTL: .milliseconds(ttl)
        ) { port in
            // The burst: 20 invoices per transaction every 40 ms (about 500 a second, on its own
            // thread) for as long as wrk runs.
            let burst = 500 * (seconds + 5)
            runtime.update {
                $0.inboxes[0] = .init(
                    name: "ehf", waiting: burst, settling: 0, processing: 0, burstDone: 0, burstTotal: burst)
            }
            async let writer: Void = onThread {
                var next = 10_000
                while !stop.withLock({ $0 }) && next < 10_000 + burst {
                    _ = try store.write(try Self.invoices(from: next, count: 20), now: StatusBuilder.iso(Date()))
                    next += 20
                    usleep(40_000)
                    let done = next - 10_000
                    written.withLock { $0 = done }
                    runtime.update {
                        $0.inboxes[0].burstDone = done
                        $0.inboxes[0].waiting = burst - done
                    }
                }
            }
            let report = try await onThread {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: "/usr/bin/wrk")
                process.arguments = [
                    "-t2", "-c32", "-d\(seconds)s", "--latency", "-H", "Host: 127.0.0.1:\(port)",
                    "http://127.0.0.1:\(port)/api/status",
                ]
                let pipe = Pipe()
                process.standardOutput = pipe
                try process.run()
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return String(decoding: data, as: UTF8.self)
            }
            stop.withLock { $0 = true }
            try await writer
            let invoicesWritten = written.withLock { $0 }
            let size = try await get(port, "/api/status").body.utf8.count
            let summary =
                "wrk /api/status, 10,000 invoices + a burst (\(invoicesWritten) invoices written during the run, "
                + "20 per transaction every 40 ms), cache \(ttl) ms, response \(size) bytes\n" + report
            print(summary)
            try FileManager.default.createDirectory(atPath: BrowserTests.artifacts, withIntermediateDirectories: true)
            try summary.write(
                toFile: BrowserTests.artifacts + "/wrk-api-status\(ttl == 1000 ? "" : "-ttl\(ttl)").txt",
                atomically: true,
                encoding: .utf8)
            #expect(report.contains("Requests/sec"))
            #expect(!report.contains("Non-2xx"))
        }
        _ = dir
    }
}

import Foundation
import GRDB
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A file that crashes ledgerd does not crash it again at every restart: the file it died
/// reading is named beside the books, and the next start sets it aside, rejected with a
/// reason, and posts the rest. No input found by fuzzing crashes ledgerd, so a debug build
/// faults on the file named in `LEDGERD_TEST_FAULT_ON`; the fault is a real one (a Swift
/// runtime trap, the process killed by its signal), and the variable stays set for the
/// restart, so the file would fault again if it were read as an invoice.
@Suite(.serialized) struct FaultTests {
    static let environment = ["LEDGERD_TEST_FAULT_ON": "fault.xml", "SWIFT_BACKTRACE": "enable=no"]

    static func drop(into home: Home) throws {
        try invoice(number: "FAULT-1").write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/fault.xml"))
        try invoice(number: "FINE-1").write(to: URL(fileURLWithPath: home.path + "/Inbox/ehf/fine.xml"))
    }

    /// What the books and the rejected folder hold once the file is set aside.
    static func expectSetAside(in home: Home) throws {
        let books = try DatabaseQueue(path: home.path + "/var/ledger.sqlite")
        defer { try? books.close() }
        let rows = try books.read { db in
            try Row.fetchAll(db, sql: "SELECT original_name, state, reason_code FROM documents ORDER BY original_name")
        }
        #expect(
            rows.map { [$0[0], $0[1], $0[2]] as [String?] } == [
                ["fault.xml", "rejected", "LEDGERD-FAULT"], ["fine.xml", "posted", nil],
            ])
        let error = try String(contentsOfFile: home.path + "/Inbox/rejected/fault.xml.error.txt", encoding: .utf8)
        #expect(error.contains("ledgerd stopped with a fault while reading this file"), "\(error)")
        #expect(error.contains("report it to whoever runs ledgerd"), "\(error)")
        #expect(!FileManager.default.fileExists(atPath: home.path + "/var/ledger.sqlite.fault"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: home.path + "/Inbox/ehf").isEmpty)
    }

    @Test(.timeLimit(.minutes(3))) func aFileIngestDiedReadingIsSetAsideByTheNextRun() async throws {
        let home = try Home()
        try home.writeConfig(buyerConfig)
        try Self.drop(into: home)
        let crashed = try await runProgram(
            ledgerdBinary, ["ingest", "--config", "ledgerd.toml"], in: home.path, environment: Self.environment)
        // Killed by the trap's signal, which the runner reports as the status.
        #expect([SIGILL, SIGTRAP].contains(crashed.status), "\(crashed.status): \(crashed.stderr)")
        #expect(crashed.stderr.contains("a fault, as the test asked"), "\(crashed.stderr)")
        let marker = try String(contentsOfFile: home.path + "/var/ledger.sqlite.fault", encoding: .utf8)
        #expect(marker == home.path + "/Inbox/ehf/fault.xml")

        let next = try await runProgram(
            ledgerdBinary, ["ingest", "--config", "ledgerd.toml"], in: home.path, environment: Self.environment)
        #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
        #expect(
            next.stderr.contains(
                "ledgerd stopped with a fault while reading \(home.path)/Inbox/ehf/fault.xml when it last ran; that "
                    + "file is set aside (rejected, LEDGERD-FAULT)"), "\(next.stderr)")
        #expect(
            next.stdout.contains("rejected: fault.xml — LEDGERD-FAULT: ledgerd stopped with a fault while reading"),
            "\(next.stdout)")
        #expect(next.stdout.contains("posted: fine.xml"), "\(next.stdout)")
        try Self.expectSetAside(in: home)
    }

    /// The daemon dies of the fault; started again, as systemd does, it sets the file aside,
    /// posts the other and stays up.
    @Test(.timeLimit(.minutes(3))) func aFileTheDaemonDiedReadingIsSetAsideWhenItStartsAgain() async throws {
        let home = try Home()
        let first = try await RunningDaemon(home: home, environment: Self.environment)
        try Self.drop(into: home)
        try await waitUntil(seconds: 30) { !first.process.isRunning }
        #expect(first.process.terminationReason == .uncaughtSignal)
        #expect(first.logText.contains("a fault, as the test asked"), "\(first.logText)")

        let again = try await RunningDaemon(home: home, environment: Self.environment)
        try await waitUntil(seconds: 30) { again.count("SELECT COUNT(*) FROM documents") == 2 }
        try await waitUntil(seconds: 30) {
            (try? FileManager.default.contentsOfDirectory(atPath: home.path + "/Inbox/ehf").isEmpty) == true
        }
        #expect(again.process.isRunning)
        #expect(again.logText.contains("that file is set aside (rejected, LEDGERD-FAULT)"), "\(again.logText)")
        try Self.expectSetAside(in: home)
        #expect(again.terminate() == 0)
    }
}

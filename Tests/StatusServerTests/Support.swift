import Foundation
import LedgerCore
import LedgerStore
import Logging
import ServiceLifecycle
import Synchronization
import TestSupport
import Testing

@testable import StatusServer

#if canImport(Glibc)
    import Glibc
#endif

// MARK: - Folders

/// A throwaway folder for one test.
final class TemporaryDirectory: Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "ledgerd-web-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }
}

/// The repository root (…/Tests/StatusServerTests/Support.swift → …).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

let webRoot = repositoryRoot + "/Web"

// MARK: - Invoices

let nok = Currency.nok
let eur = Currency.eur

let us = Party(name: "Nordlys Helse AS", endpointID: "987654325", endpointScheme: "0192", legalCompanyID: "987654325")
let leverandor = Party(
    name: "Leverandør AS", endpointID: "942992343", endpointScheme: "0192", legalCompanyID: "942992343")
let kontor = Party(name: "Kontorrekvisita AS", legalCompanyID: "923609016")
let kunde = Party(name: "Kunde AS", legalCompanyID: "914778271")

/// The local calendar day `offset` days from today (what the server ages against).
func day(_ offset: Int) -> Day {
    StatusBuilder.localDay(Date()).adding(days: offset)
}

/// A consistent invoice at 25 % VAT: `net` in minor units per line.
func invoice(
    _ number: String, seller: Party = leverandor, buyer: Party = us, type: DocumentType = .invoice,
    currency: Currency = nok, net: [Int64], issued: Day, due: Day?
) -> InvoiceDocument {
    func money(_ minor: Int64) -> Money { Money(minor: minor, currency: currency) }
    let lineTotal = net.reduce(0, +)
    let tax = lineTotal / 4
    let lines = net.enumerated().map { i, amount in
        InvoiceLine(
            id: "\(i + 1)", quantity: ExactDecimal(1), unitCode: "EA", lineExtension: money(amount),
            itemName: "Item \(i + 1)", taxCategory: "S", taxPercent: ExactDecimal(25))
    }
    return InvoiceDocument(
        type: type, typeCode: type == .invoice ? "380" : "381", customizationID: "urn:cen.eu:en16931:2017",
        profileID: nil, number: number, issueDate: issued, dueDate: due, currency: currency, seller: seller,
        buyer: buyer, lines: lines, taxTotal: money(tax),
        taxSubtotals: [
            TaxSubtotal(taxable: money(lineTotal), tax: money(tax), category: "S", percent: ExactDecimal(25))
        ],
        totals: MonetaryTotals(
            lineExtension: money(lineTotal), taxExclusive: money(lineTotal), taxInclusive: money(lineTotal + tax),
            payable: money(lineTotal + tax)))
}

/// `noting`: with the notes the pipeline gives it (`PostingRules.notes`).
func incoming(
    _ invoice: InvoiceDocument, name: String, sha: String, direction: Direction = .purchase, noting: Bool = false
) throws
    -> IncomingDocument
{
    let plan = AccountPlan()
    let entry = try PostingRules.entry(for: invoice, direction: direction, accounts: plan)
    return IncomingDocument(
        sha256: sha, originalName: name, inbox: "ehf", kind: "ehf_invoice", sizeBytes: 100,
        receivedAt: "2026-11-21T10:00:00Z", archivePath: "/archive/\(sha).xml",
        content: .invoice(
            PreparedInvoice(
                invoice: invoice, direction: direction, entry: entry,
                netAccount: PostingRules.netAccount(for: invoice, direction: direction, accounts: plan),
                attachmentHashes: [],
                notes: noting ? PostingRules.notes(for: invoice, direction: direction, accounts: plan) : [])))
}

func rejected(name: String, sha: String, code: String, message: String) -> IncomingDocument {
    IncomingDocument(
        sha256: sha, originalName: name, inbox: "ehf", kind: "ehf_invoice", sizeBytes: 10,
        receivedAt: "2026-11-21T10:00:00Z", archivePath: "", content: .rejected(Rejection(code, message)))
}

/// The fixture books every test reads. Figures (NOK unless said otherwise):
///
/// Payables (we owe):
/// - Leverandør AS: P-1 18 750.00 due 10 days ago (1–30), P-2 2 500.00 due 45 days ago (31–60),
///   credit note CN-1 −1 250.00 due 5 days ago (1–30) → 20 000.00 open; 1–30 17 500.00, 31–60 2 500.00
/// - Kontorrekvisita AS: K-1 1 000.00 due in 10 days (current), K-2 500.00 without due date issued 130
///   days ago (due 30 days after: 90+) → 1 500.00
/// - total 21 500.00: current 1 000.00, 1–30 17 500.00, 31–60 2 500.00, 61–90 0.00, 90+ 500.00
///
/// Receivables (customers owe): Kunde AS 5 000.00 NOK due 75 days ago (61–90) and 125.00 EUR due
/// 2 days ago (1–30).
///
/// Problems: `broken-invoice.xml` rejected (BR-CO-10); `P-1-again.xml` flagged as a duplicate of
/// `P-1.xml`.
enum Fixture {
    static let brokenReason = "The sum of the line amounts (150.00) does not equal the line extension total (160.00)."

    static func fill(_ store: LedgerStore) throws {
        let documents: [IncomingDocument] = [
            try incoming(
                invoice("P-1", net: [1_000_000, 500_000], issued: day(-40), due: day(-10)), name: "P-1.xml", sha: "p1"),
            try incoming(invoice("P-2", net: [200_000], issued: day(-75), due: day(-45)), name: "P-2.xml", sha: "p2"),
            try incoming(
                invoice("CN-1", type: .creditNote, net: [100_000], issued: day(-20), due: day(-5)), name: "CN-1.xml",
                sha: "cn1"),
            try incoming(
                invoice("K-1", seller: kontor, net: [80_000], issued: day(-20), due: day(10)), name: "K-1.xml",
                sha: "k1"),
            try incoming(
                invoice("K-2", seller: kontor, net: [40_000], issued: day(-130), due: nil), name: "K-2.xml", sha: "k2"),
            try incoming(
                invoice("1001", seller: us, buyer: kunde, net: [400_000], issued: day(-105), due: day(-75)),
                name: "sale-1001.xml", sha: "s1", direction: .sale),
            try incoming(
                invoice("1002", seller: us, buyer: kunde, currency: eur, net: [10_000], issued: day(-32), due: day(-2)),
                name: "sale-1002.xml", sha: "s2", direction: .sale),
            rejected(name: "broken-invoice.xml", sha: "bad", code: "BR-CO-10", message: brokenReason),
            try incoming(
                invoice("P-1", net: [999], issued: day(-40), due: day(-10)), name: "P-1-again.xml", sha: "p1b"),
        ]
        let outcomes = try store.write(documents, now: "2026-11-21T10:00:00Z")
        precondition(outcomes.count == documents.count)
        try store.audit(
            .daemonStarted, actor: "ledgerd run", detail: "pid 4242; watching /srv/ledgerd/inbox (inotify)",
            now: "2026-11-21T09:00:00Z")
        try store.audit(
            .retry, actor: "status page (API token)",
            detail: "broken-invoice.xml moved from the rejected folder back to the ehf inbox",
            now: "2026-11-21T10:05:00Z")
    }

    static func store(in dir: TemporaryDirectory, filled: Bool = true) throws -> LedgerStore {
        let store = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        if filled { try fill(store) }
        return store
    }
}

// MARK: - The daemon's side, faked

final class FakeRuntime: Sendable {
    let snapshot: Locked<RuntimeSnapshot>

    init() {
        snapshot = Locked(
            RuntimeSnapshot(
                startedAt: StatusBuilder.iso(Date().addingTimeInterval(-3 * 3600 - 120)), watchMode: "inotify",
                lastRescan: StatusBuilder.iso(Date().addingTimeInterval(-60)),
                inboxes: [
                    .init(name: "ehf", waiting: 5, settling: 1, processing: 1, burstDone: 12, burstTotal: 40),
                    .init(
                        name: "wise", waiting: 0, settling: 0, processing: 0, burstDone: 0, burstTotal: 0, notRead: 2,
                        notReadNames: ["Faktura mai.pdf", "wise/statement.csv"]),
                    .init(
                        name: "other", waiting: 0, settling: 0, processing: 0, burstDone: 0, burstTotal: 0, notRead: 4,
                        notReadNames: ["Faktura april.docx", "lesmeg.txt", "notater/a.odt"]),
                ], recentErrors: [], watcherAlive: true, schedulerAlive: true))
    }

    func update(_ change: @Sendable (inout RuntimeSnapshot) -> Void) {
        snapshot.withLock { change(&$0) }
    }

    var provider: @Sendable () async -> RuntimeSnapshot {
        { self.snapshot.withLock { $0 } }
    }
}

final class FakeActions: StatusActions {
    let calls = Locked<[String]>([])
    let rejectedFiles: Set<String>

    init(rejectedFiles: Set<String> = ["broken-invoice.xml"]) {
        self.rejectedFiles = rejectedFiles
    }

    func retryRejected(name: String?, documentID: Int64?) async throws -> String {
        let name = documentID.map { "document \($0)" } ?? name ?? ""
        calls.withLock { $0.append("retry " + name) }
        guard rejectedFiles.contains(name) else {
            throw StatusActionError.notFound("\(name) is not in the rejected folder")
        }
        return "\(name) is back in the ehf inbox"
    }

    func rescan() async {
        calls.withLock { $0.append("rescan") }
    }
}

// MARK: - A real server on loopback

struct RunningServer {
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>
}

/// Starts a `StatusServer` on 127.0.0.1 with a free port, runs `body`, then shuts it down
/// gracefully and checks that it stopped without an error.
/// Where a test server's tasks run: a thread of its own, not Swift's shared pool. That pool
/// has as many threads as the machine has cores, two here, and the suites beside these
/// tests hold its threads for seconds at a time (parsing, property tests); a server waiting
/// for a turn answered a plain request in 4–7 s. The daemon's own server has no such
/// neighbours: its pipeline runs on threads of its own. The server's tasks inherit the
/// preference (they are child tasks of the service group's run); one thread is plenty.
final class ServerThread: TaskExecutor {
    let queue = DispatchQueue(label: "status-server-test")

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        queue.async { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}

func withServer<T>(
    store: LedgerStore, token: String? = "s3cret-token", root: String = webRoot, runtime: FakeRuntime = FakeRuntime(),
    actions: any StatusActions = FakeActions(), idleTimeout: Duration = .seconds(10), maxBodyBytes: Int = 16 * 1024,
    allowedHosts: [String]? = nil, statusCacheTTL: Duration = .seconds(1), maxConnections: Int = 128,
    companyConfigured: Bool = true, _ body: (Int) async throws -> T
) async throws -> T {
    let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
    var logger = Logger(label: "status-server-test")
    logger.logLevel = .warning
    let settings = StatusServerSettings(
        host: "127.0.0.1", port: 0, webRoot: root, token: token, companyName: "Nordlys Helse AS",
        companyConfigured: companyConfigured, maxBodyBytes: maxBodyBytes, idleTimeout: idleTimeout,
        statusCacheTTL: statusCacheTTL, allowedHosts: allowedHosts, maxConnections: maxConnections,
        onListening: { _, port in portContinuation.yield(port) })
    let server = StatusServer(
        settings: settings, store: store, accounts: AccountPlan(), runtime: runtime.provider, actions: actions,
        logger: logger)
    let group = ServiceGroup(services: [server], gracefulShutdownSignals: [], logger: logger)
    let task = Task(executorPreference: ServerThread()) {
        defer { portContinuation.finish() }
        try await group.run()
    }
    var iterator = ports.makeAsyncIterator()
    guard let port = await iterator.next() else {
        _ = try await task.value
        throw TestFailure("the server stopped before listening")
    }
    do {
        let result = try await body(port)
        await group.triggerGracefulShutdown()
        try await task.value
        return result
    } catch {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
        throw error
    }
}

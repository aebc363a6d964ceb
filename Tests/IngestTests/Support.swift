import Formats
import Foundation
import GRDB
import Ingest
import LedgerCore
import LedgerStore
import Logging
import Synchronization

/// The package root, for fixtures shared between test targets.
let packageRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

let corpus = packageRoot + "/Tests/FormatsTests/Fixtures/ehf"

func corpusFiles(_ folder: String) -> [String] {
    let dir = corpus + "/" + folder
    return ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasSuffix(".xml") }.sorted()
        .map { dir + "/" + $0 }
}

/// A temporary ledgerd home: inbox folders, archive, rejected folder and database.
final class Sandbox {
    let root: String
    var inbox: String { root + "/Inbox" }
    var archive: String { root + "/var/archive" }
    var rejected: String { root + "/Inbox/rejected" }
    var database: String { root + "/var/ledger.sqlite" }
    let store: LedgerStore

    init() throws {
        root = NSTemporaryDirectory() + "ledgerd-ingest-" + UUID().uuidString
        for folder in ["Inbox/ehf", "Inbox/wise", "Inbox/checks", "var"] {
            try FileManager.default.createDirectory(atPath: root + "/" + folder, withIntermediateDirectories: true)
        }
        store = try LedgerStore(path: root + "/var/ledger.sqlite", durability: .normal)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func settings(identifiers: [String], maxFileBytes: Int64 = 50 << 20, batchSize: Int = 256) -> PipelineSettings {
        PipelineSettings(
            inbox: inbox, archive: archive, rejected: rejected, maxFileBytes: maxFileBytes,
            company: CompanyIdentity(name: "Test AS", identifiers: identifiers), accounts: AccountPlan(),
            batchSize: batchSize, workers: 2)
    }

    func pipeline(
        identifiers: [String], maxFileBytes: Int64 = 50 << 20, batchSize: Int = 256, log: LogLines? = nil
    ) -> Pipeline {
        var logger =
            log.map { lines in Logger(label: "test") { _ in LogLines.Handler(lines: lines) } } ?? Logger(label: "test")
        logger.logLevel = log == nil ? .critical : .info
        return Pipeline(
            settings: settings(identifiers: identifiers, maxFileBytes: maxFileBytes, batchSize: batchSize),
            store: store, logger: logger)
    }

    /// Copies `source` into the EHF inbox (optionally under another name) and returns its path.
    @discardableResult
    func drop(_ source: String, as name: String? = nil, inbox folder: String = "ehf") throws -> String {
        let target = inbox + "/" + folder + "/" + (name ?? (source as NSString).lastPathComponent)
        try FileManager.default.copyItem(atPath: source, toPath: target)
        return target
    }

    func write(_ bytes: [UInt8], as name: String) throws -> String {
        let target = inbox + "/ehf/" + name
        try Data(bytes).write(to: URL(fileURLWithPath: target))
        return target
    }

    func scan() -> [InboxFile] {
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        return InboxScanner.scan(
            root: inbox, excluding: [rejected], isIgnored: InboxScanner.isTemporaryName, logger: logger)
    }

    func count(_ sql: String) throws -> Int {
        try store.pool.read { db in try Int.fetchOne(db, sql: sql) ?? 0 }
    }

    /// Every file under `folder`, relative paths.
    func files(under folder: String) -> [String] {
        guard let enumerator = FileManager.default.enumerator(atPath: folder) else { return [] }
        return enumerator.compactMap { $0 as? String }.filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: folder + "/" + $0, isDirectory: &isDir) && !isDir.boolValue
        }.sorted()
    }
}

/// The identifiers of the buyer (to ingest as a vendor invoice) or seller (as a customer invoice).
func identifiers(of path: String, side: Direction) throws -> [String] {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    let invoice = try EHF.parse(bytes)
    let party = side == .purchase ? invoice.buyer : invoice.seller
    return [party.allIdentifiers.first!]
}

/// The lines a pipeline logged, at info and above, as "level: message".
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    struct Handler: LogHandler {
        let lines: LogLines
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            lines.lines.withLock { $0.append("\(event.level): \(event.message)") }
        }
    }
}

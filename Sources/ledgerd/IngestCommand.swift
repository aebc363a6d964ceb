import ArgumentParser
import Daemon
import Foundation
import Ingest
import LedgerConfig
import LedgerCore
import LedgerStore
import StatusServer
import Synchronization

extension Ledgerd {
    struct Ingest: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ingest",
            abstract: "Runs the pipeline once over files or folders, then exits.",
            discussion: """
                Each file is read once, checked, and posted in one transaction with its document record; \
                posted files move to the archive, rejected ones to the rejected folder beside a .error.txt \
                that says why. The same file twice posts nothing the second time. With no PATH, the \
                configured inbox is processed.

                Exit status: 0 when every file taken in was handled (posted, duplicate or rejected), 1 when \
                a file could not be handled now and was left in place (e.g. the disk is full), 2 for usage or \
                configuration errors. Files not taken in do not change it; they are listed as skipped \
                ("skipped" in --json): those of an inbox this version does not read, and those another \
                ledgerd run has in hand (the daemon, which posts them) or another program holds locked, \
                which stay where they are for the next run. A file named as PATH outside the inbox is \
                moved like one in it: to the archive, or to the rejected folder.
                """)

        @OptionGroup var options: CommonOptions

        static let inOtherHands =
            "in another ledgerd run's hands (the daemon's?), or locked by another program; left where it is, "
            + "for that run or the next"

        @Flag(name: .shortAndLong, help: "Log each step to stderr.")
        var verbose = false

        @Argument(help: ArgumentHelp("Files or folders to take in.", valueName: "PATH"))
        var paths: [String] = []

        func run() async throws {
            try await runReportingErrors(json: options.json) {
                let configuration = try options.loadConfiguration()
                let logger = makeLogger(verbose: verbose)
                let cwd = FileManager.default.currentDirectoryPath
                let absolute = (paths.isEmpty ? [configuration.paths.inbox] : paths).map { path in
                    path.hasPrefix("/") ? path : cwd + "/" + path
                }
                for path in absolute
                where !FileManager.default.fileExists(atPath: path) && FileSystem.lstatType(path) != .symlink {
                    if paths.isEmpty {
                        throw UserFacingError(
                            "ledgerd: the inbox folder \(path) does not exist; create it (with ehf/ inside for EHF "
                                + "invoices), set [paths] inbox in the configuration, or name the files to take in.")
                    }
                    throw UserFacingError("ledgerd: \(path): no such file or folder")
                }
                // A daemon on other books takes what is dropped in this inbox: taking files from
                // it here too would post part of them into these books, part into those.
                // (Without /proc/locks to say which daemon keeps these books, nothing is refused.)
                let inbox = configuration.paths.inbox
                if absolute.contains(where: { PathBytes.isWithin($0, inbox) }),
                    let daemon = InboxLock.holder(of: inbox), access("/proc/locks", R_OK) == 0,
                    case let ours = DaemonLock.holder(database: configuration.paths.database),
                    ours == nil || (daemon.pid != nil && daemon.pid != ours)
                {
                    throw UserFacingError(
                        "ledgerd: a ledgerd daemon\(daemon.pid.map { " (pid \($0))" } ?? "") takes the files dropped in \(inbox), into other "
                            + "books than \(configuration.paths.database); ingest into the books that daemon keeps "
                            + "(its configuration), or name files outside the inbox.",
                        exitCode: 1)
                }
                let store = try options.openStore(configuration)
                var settings = PipelineSettings(configuration)
                settings.witnessFaults(database: configuration.paths.database, logger: logger)
                let pipeline = Pipeline(settings: settings, store: store, logger: logger)
                let found = InboxScanner.files(
                    for: absolute.map(PathBytes.normalized), inboxRoot: configuration.paths.inbox,
                    excluding: [configuration.paths.rejected, configuration.paths.archive],
                    isIgnored: settings.isIgnored, logger: logger)
                var files: [InboxFile] = []
                var skipped: [InboxScanner.Skipped] = []
                for file in found.files {
                    if InboxScanner.readInboxes.contains(file.inbox) {
                        files.append(file)
                    } else {
                        skipped.append(.init(path: file.path, reason: InboxScanner.notReadYet(file.inbox)))
                    }
                }
                skipped += found.skipped
                // From the first file taken to the last one settled (moved and its folder
                // synced): what the files cost, apart from starting up and closing the books.
                let started = ContinuousClock.now
                // On the terminal, each batch's lines as soon as its files are moved: a long
                // run shows how far it is, and its report is not all written at the end.
                let report = options.json ? nil : LineReport()
                let results = pipeline.ingest(files, settled: { results in report?.add(results.map(\.logLine)) })
                // A file with no result that is still there was in another run's hands (the
                // daemon's, most often), which posts and reports it.
                for file in Pipeline.unreported(files, results: results) where FileSystem.identity(of: file.path) != nil
                {
                    skipped.append(.init(path: file.path, reason: Self.inOtherHands))
                }
                var summary = IngestSummary(results: results, skipped: skipped, listingFiles: options.json)
                summary.seconds = (ContinuousClock.now - started).seconds
                if !results.isEmpty {
                    store.recordCommand(.ingest, command: "ingest", detail: summary.line)
                }
                if let report {
                    report.add(skipped.map { OneLine.escaped("skipped: \($0.path) — \($0.reason)") })
                    report.finish(summary.line + (results.isEmpty ? "" : summary.timing))
                } else {
                    print(try Output.json(summary))
                }
                if summary.failed > 0 { throw ExitCode(1) }
            }
        }
    }
}

/// The text report of `ledgerd ingest`, written to stdout 64 KiB at a time: not a locked
/// print per file, nor the whole report built at once (for 10,000 files that string alone
/// took megabytes, and was the run's peak memory).
final class LineReport: Sendable {
    private let pending = Mutex("")

    func add(_ lines: [String]) {
        pending.withLock { text in
            for line in lines {
                text += line
                text += "\n"
                if text.utf8.count >= 64 << 10 {
                    print(text, terminator: "")
                    text.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    /// Writes what is left and `last`, the report's closing line.
    func finish(_ last: String) {
        pending.withLock { text in
            print(text + last)
            text = ""
        }
    }
}

struct IngestSummary: Encodable {
    struct File: Encodable {
        var path: String
        var name: String
        var inbox: String
        var outcome: String
        var documentId: Int64?
        var reasonCode: String?
        var reason: String?
        var destination: String?
        /// What a posted file was posted as, in words.
        var posting: String?
        /// The same, for scripts.
        var postedAs: PostedAs?
        /// What the posting leaves for the bookkeeper to do by hand.
        var note: String?
    }

    var files: [File]
    /// How many files were taken in (`files` lists them only for `--json`).
    var taken: Int
    var skipped: [InboxScanner.Skipped]
    var posted: Int
    var duplicate: Int
    var duplicateNumber: Int
    var rejected: Int
    var failed: Int
    /// How long the files took, from the first taken to the last settled.
    var seconds: Double = 0

    /// `listingFiles`: whether `files` lists each file (for `--json`); the text report writes
    /// their lines itself, and a list of 10,000 would only add to the run's peak memory.
    init(results: [FileResult], skipped: [InboxScanner.Skipped], listingFiles: Bool = true) {
        taken = results.count
        files =
            !listingFiles
            ? []
            : results.map {
                File(
                    path: $0.file.path, name: $0.file.name, inbox: $0.file.inbox, outcome: $0.outcome.rawValue,
                    documentId: $0.documentID,
                    reasonCode: $0.reason?.code, reason: $0.reason?.message, destination: $0.destination,
                    posting: $0.posting,
                    postedAs: $0.postedAs.map {
                        PostedAs(
                            type: $0.type.rawValue, direction: $0.direction.rawValue, number: $0.number,
                            party: $0.party, issueDate: $0.issueDate, dueDate: $0.dueDate, payable: Amount($0.payable))
                    }, note: $0.note)
            }
        self.skipped = skipped
        var counts: [FileResult.Outcome: Int] = [:]
        // Read in place: a loop over the results would copy each (a dozen strings counted).
        for index in results.indices { counts[results[index].outcome, default: 0] += 1 }
        posted = counts[.posted] ?? 0
        duplicate = counts[.duplicate] ?? 0
        duplicateNumber = counts[.duplicateNumber] ?? 0
        rejected = counts[.rejected] ?? 0
        failed = counts[.failed] ?? 0
    }

    var line: String {
        if taken == 0, !skipped.isEmpty { return "No file taken in; \(skipped.count) skipped." }
        // The skipped files are not among the files counted: they were listed, not taken in.
        return "\(taken) file\(taken == 1 ? "" : "s") taken in: \(posted) posted, \(duplicate) duplicate, "
            + "\(duplicateNumber) duplicate number, \(rejected) rejected, \(failed) failed"
            + (skipped.isEmpty ? "" : "; \(skipped.count) more skipped")
    }

    /// ", in 1.020 s (9804 files/s)" after the summary on the terminal.
    var timing: String {
        // Written out by hand: String(format:) brings in Foundation's locale machinery, 4 MB
        // of resident memory for one number.
        let milliseconds = Int((seconds * 1000).rounded())
        let fraction = String(milliseconds % 1000)
        var text = ", in \(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction) s"
        if seconds > 0, taken > 1 { text += " (\(Int((Double(taken) / seconds).rounded())) files/s)" }
        return text
    }
}

extension PipelineSettings {
    init(_ configuration: Configuration) {
        self.init(
            inbox: configuration.paths.inbox, archive: configuration.paths.archive,
            rejected: configuration.paths.rejected,
            maxFileBytes: configuration.limits.maxFileBytes, company: configuration.companyIdentity,
            accounts: configuration.accounts, batchSize: configuration.ingest.batchSize,
            workers: configuration.ingest.workers,
            isIgnored: { InboxScanner.isTemporaryName($0) || configuration.watch.isIgnored(name: $0) })
    }
}

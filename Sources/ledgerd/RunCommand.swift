import ArgumentParser
import Daemon
import Foundation
import Ingest
import LedgerConfig
import LedgerStore
import Logging
import ServiceLifecycle

extension Ledgerd {
    struct Run: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Runs the daemon: watches the inbox folders and posts what lands there.",
            discussion: """
                Runs in the foreground (systemd supervises it) and logs one line per file to stderr. \
                SIGTERM or SIGINT finishes the batch in hand, commits it, and exits 0. Files already in \
                the inbox are taken at start; the inbox is rescanned every [watch] rescan_interval, and \
                in [watch] mode = "poll" it is only scanned, every poll_interval.
                """)

        @OptionGroup var options: CommonOptions

        @Flag(name: .long, help: "Log at debug level.")
        var debug = false

        func run() async throws {
            try await runReportingErrors {
                let configuration = try options.loadConfiguration()
                let logger = makeDaemonLogger(debug: debug)
                for inbox in InboxScanner.inboxes {
                    try? FileManager.default.createDirectory(
                        atPath: configuration.paths.inbox + "/" + inbox, withIntermediateDirectories: true)
                }
                let store = try options.openStore(configuration)
                var pipelineSettings = PipelineSettings(configuration)
                pipelineSettings.incompleteGrace = configuration.watch.settle * 2
                let pipeline = Pipeline(settings: pipelineSettings, store: store, logger: logger)
                let daemon = Daemon(settings: Daemon.Settings(configuration), pipeline: pipeline, store: store, logger: logger)
                var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: daemon)]
                if let notifier = SystemdNotifier() {
                    services.append(.init(service: SystemdService(notifier: notifier, daemon: daemon, isServerUp: { true }, logger: logger)))
                }
                let group = ServiceGroup(
                    configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
                try await group.run()
            }
        }
    }
}

extension Daemon.Settings {
    init(_ configuration: Configuration) {
        let pipeline = PipelineSettings(configuration)
        self.init(
            inbox: configuration.paths.inbox,
            excluding: [configuration.paths.rejected, configuration.paths.archive],
            mode: configuration.watch.mode == .poll ? .poll : .inotify,
            pollInterval: configuration.watch.pollInterval, settle: configuration.watch.settle,
            rescanInterval: configuration.watch.rescanInterval, batchSize: configuration.ingest.batchSize,
            isIgnored: pipeline.isIgnored)
    }
}

/// Log lines for the journal: under systemd (`JOURNAL_STREAM` set) a syslog priority prefix
/// and no timestamp, since journald adds its own; on a terminal, a timestamp first.
func makeDaemonLogger(debug: Bool) -> Logger {
    let journal = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil
    LoggingSystem.bootstrap { label in
        var handler = JournalLogHandler(label: label, journal: journal)
        handler.logLevel = debug ? .debug : .info
        return handler
    }
    return Logger(label: "ledgerd")
}

struct JournalLogHandler: LogHandler {
    let label: String
    let journal: Bool
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { $1 } }
        let details = all.isEmpty ? "" : " " + all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        // syslog-style priority prefix: journald reads it as the entry's level.
        let priority: Int
        switch event.level {
        case .trace, .debug: priority = 7
        case .info: priority = 6
        case .notice: priority = 5
        case .warning: priority = 4
        case .error: priority = 3
        case .critical: priority = 2
        }
        let prefix = journal ? "<\(priority)>" : Timestamp.now() + " "
        let line = "\(prefix)\(event.level): \(event.message)\(details)\n"
        FileHandle.standardError.write(Data(line.utf8))
    }
}

import CoreMetrics
import Metrics
public import Prometheus

/// The metrics ledgerd exports on `/metrics` (Prometheus text format).
///
/// The daemon records through swift-metrics (`Counter`, `Timer`, `Gauge` with these labels —
/// or the helpers below, which get the dimensions right); `bootstrap()` points swift-metrics
/// at a Prometheus registry that `/metrics` renders. Label sets are fixed per name (the
/// Prometheus client refuses to mix a labelled and an unlabelled series under one name):
/// - `ledgerd_files_total{result="posted|duplicate|duplicate_number|rejected|failed"}` counter;
///   `failed` counts attempts (a file tried three times before it posts counts three failed
///   and one posted), the others count files
/// - `ledgerd_ingest_duration_seconds` histogram, no labels (swift-metrics `Timer`)
/// - `ledgerd_backlog_files` gauge, no labels: files waiting, settling or in hand in all inboxes —
///   refreshed from `RuntimeSnapshot.inboxes` on every scrape (the daemon may set it too)
/// - `ledgerd_inbox_backlog_files{inbox="ehf"}` — the same per inbox, from the snapshot at scrape
///   time (not swift-metrics)
/// - `ledgerd_invoices_outstanding{side,currency}` and
///   `ledgerd_invoices_outstanding_minor_units{side,currency}` — read from the database at
///   scrape time (not swift-metrics)
/// - `ledgerd_up`, `ledgerd_watcher_up`, `ledgerd_scheduler_up`, `ledgerd_database_up`,
///   `ledgerd_uptime_seconds`, `ledgerd_oldest_waiting_file_seconds` — from the runtime
///   snapshot at scrape time
/// - `ledgerd_last_posted_timestamp_seconds` — read from the database at scrape time
public enum LedgerMetrics {
    public static let filesProcessed = "ledgerd_files_total"
    public static let ingestSeconds = "ledgerd_ingest_duration_seconds"
    public static let backlog = "ledgerd_backlog_files"
    public static let inboxBacklog = "ledgerd_inbox_backlog_files"
    public static let outstanding = "ledgerd_invoices_outstanding"
    public static let outstandingMinor = "ledgerd_invoices_outstanding_minor_units"

    /// The `# HELP` text of each series recorded through swift-metrics.
    static let help: [String: String] = [
        filesProcessed: "Files taken in since the daemon started, by result (failed counts attempts).",
        ingestSeconds: "Seconds from a file's pickup to its commit or rejection.",
        backlog: "Files waiting, settling or in hand in all inboxes.",
    ]

    /// `text`, as the registry renders it, with a `# HELP` line before each `# TYPE` line of
    /// a series recorded through swift-metrics. Written by hand because swift-metrics gives
    /// the Prometheus factory no help text, so the registry renders those series with none
    /// (and `promtool check metrics` flags them), and registering them with help text is no
    /// way out: the registry refuses a second help text for a name the factory made.
    static func addingHelp(to text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count + 512)
        var previous: Substring = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("# TYPE "), !previous.hasPrefix("# HELP ") {
                let name = line.dropFirst("# TYPE ".count).prefix { $0 != " " }
                if let help = help[String(name)] { out += "# HELP \(name) \(help)\n" }
            }
            out += line + "\n"
            previous = line
        }
        out.removeLast()  // the newline after the last line, which `text` did not have
        return out
    }

    /// The `result` label values of `filesProcessed`.
    public static let fileResults = ["posted", "duplicate", "duplicate_number", "rejected", "failed"]

    private static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[ingestSeconds] = [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        // Every series exists from the first scrape on, at zero.
        for result in fileResults {
            Counter(label: filesProcessed, dimensions: [("result", result)]).increment(by: 0)
        }
        _ = CoreMetrics.Timer(label: ingestSeconds)
        return registry
    }()

    /// Bootstraps swift-metrics with the Prometheus registry `/metrics` renders and returns it.
    /// Call it once per process before anything records a metric; later calls return the same
    /// registry (idempotent). It must be the only `MetricsSystem.bootstrap` of the process.
    @discardableResult
    public static func bootstrap() -> PrometheusCollectorRegistry { shared }

    /// Counts one file by its result (`posted`, `duplicate`, `duplicate_number`, `rejected`,
    /// `failed`).
    public static func fileProcessed(result: String) {
        Counter(label: filesProcessed, dimensions: [("result", result)]).increment()
    }

    /// Records how long one file took from pickup to commit (or rejection).
    public static func ingestDuration(_ duration: Duration) {
        CoreMetrics.Timer(label: ingestSeconds).record(duration: duration)
    }

    /// Sets the total backlog (the server also does this from the runtime snapshot at each scrape).
    public static func setBacklog(files: Int) {
        Gauge(label: backlog).record(files)
    }
}

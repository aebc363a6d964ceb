public import Logging
public import ServiceLifecycle

/// Tells systemd how ledgerd is doing: `READY=1` once the daemon has started watching and
/// taken in its startup scan (and the status server listens), `WATCHDOG=1` at half the
/// watchdog interval while the scheduler is alive, `STATUS=` with the backlog, and
/// `STOPPING=1` when shutdown begins.
public struct SystemdService: Service {
    let notifier: SystemdNotifier
    let daemon: Daemon
    let isServerUp: @Sendable () -> Bool
    let logger: Logger

    public init(notifier: SystemdNotifier, daemon: Daemon, isServerUp: @escaping @Sendable () -> Bool, logger: Logger) {
        self.notifier = notifier
        self.daemon = daemon
        self.isServerUp = isServerUp
        self.logger = logger
    }

    public func run() async throws {
        // A stop ends the loop's sleep at once: systemd hears STOPPING=1 as the stop begins, and
        // the services after this one (stopped in turn) are not held up to two seconds first.
        await cancelWhenGracefulShutdown { await self.report() }
        notifier.notify("STOPPING=1\nSTATUS=finishing the batch in hand")
    }

    /// READY once, then WATCHDOG and STATUS as they are due, until a stop (or cancellation).
    func report() async {
        // Ready: the watcher runs (or polling was chosen), the startup scan is done, and the
        // status page answers.
        while !(daemon.isReady && isServerUp()) {
            if Task.isShuttingDownGracefully || Task.isCancelled { return }
            try? await Task.sleep(for: .milliseconds(20))
        }
        if !Task.isShuttingDownGracefully {
            notifier.notify("READY=1\nSTATUS=\(statusLine())")
            logger.info("told systemd ledgerd is ready")
        }
        let interval = notifier.watchdogInterval ?? .seconds(2)
        var lastStatus = ""
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let status = statusLine()
            var message: [String] = []
            // A stuck scheduler stops the pings, and systemd restarts the service.
            if notifier.watchdogInterval != nil, daemon.isHealthy { message.append("WATCHDOG=1") }
            if status != lastStatus {
                message.append("STATUS=\(status)")
                lastStatus = status
            }
            if !message.isEmpty { notifier.notify(message.joined(separator: "\n")) }
            try? await Task.sleep(for: min(interval, .seconds(2)))
        }
    }

    func statusLine() -> String {
        let snapshot = daemon.snapshot()
        let backlog = snapshot.backlog
        let mode = snapshot.watchMode + (snapshot.watcherAlive || snapshot.watchMode == "poll" ? "" : ", watcher down")
        return backlog == 0
            ? "idle; \(snapshot.processed) file(s) processed (\(mode))"
            : "working through \(backlog) file(s); \(snapshot.processed) processed (\(mode))"
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The systemd notification protocol (`sd_notify(3)`): datagrams such as `READY=1` to the
/// socket named by `$NOTIFY_SOCKET`. It is a few lines over a Unix datagram socket, so
/// ledgerd speaks it directly rather than linking libsystemd.
public final class SystemdNotifier: Sendable {
    let socketPath: String
    /// Half of `$WATCHDOG_USEC` (when the watchdog is meant for this process): how often to
    /// send `WATCHDOG=1`.
    public let watchdogInterval: Duration?

    /// From this process's environment; nil when not started by systemd with `Type=notify`.
    public convenience init?() {
        self.init(environment: ProcessInfo.processInfo.environment)
    }

    /// Nil when `environment` has no `NOTIFY_SOCKET`.
    public init?(environment: [String: String]) {
        guard let path = environment["NOTIFY_SOCKET"], !path.isEmpty else { return nil }
        socketPath = path
        if let usec = environment["WATCHDOG_USEC"].flatMap(Int64.init), usec > 0,
            environment["WATCHDOG_PID"].flatMap(Int32.init).map({ $0 == getpid() }) ?? true
        {
            watchdogInterval = .microseconds(usec / 2)
        } else {
            watchdogInterval = nil
        }
    }

    /// Sends one notification (several `KEY=value` lines may be joined with newlines).
    /// Failures are returned, not thrown: systemd going away must not stop the daemon.
    @discardableResult
    public func notify(_ state: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var path = Array(socketPath.utf8)
        // A leading "@" names an abstract socket: a NUL byte in the kernel's terms.
        if path.first == UInt8(ascii: "@") { path[0] = 0 }
        let message = Array(state.utf8)
        let sent = withUnixSocketAddress(path) { address, length in
            message.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, 0, address, length) }
        }
        return sent == message.count
    }
}

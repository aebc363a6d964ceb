/// A door that opens once. The daemon waits at it before taking any file, and `ledgerd run`
/// opens it when the status page listens: a start that fails (the port taken) then exits
/// having posted nothing, rather than posting what waits in the inbox on every restart
/// systemd makes.
public final class StartGate: Sendable {
    let opened: AsyncStream<Void>
    let continuation: AsyncStream<Void>.Continuation

    public init() {
        (opened, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Opens the door; later calls change nothing.
    public func open() {
        continuation.yield()
        continuation.finish()
    }

    /// True once the door is open; false if the waiting task is cancelled first. One task
    /// waits (the daemon's run).
    func wait() async -> Bool {
        for await _ in opened { return true }
        return false
    }
}

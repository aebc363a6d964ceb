import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Who owns libinotifytools in this process. The library keeps its descriptor, its watch records
/// and its event buffer in C globals, so two watchers would corrupt each other: one owner at a time.
/// A watcher that was asked to stop still owns the library until its thread has cleaned up (at most
/// about a second), and a new watcher waits for that instead of failing.
enum LibraryOwnership {
    private struct State {
        var owner: UInt64?
        var stopping = false
    }

    private static let state = Mutex(State())
    private static let tokens = Atomic<UInt64>(1)

    static func newToken() -> UInt64 {
        tokens.wrappingAdd(1, ordering: .relaxed).oldValue
    }

    /// Takes the library for `token`. Waits up to `patience` seconds for an owner that is stopping;
    /// throws `alreadyRunning` if the owner is running (or does not finish stopping in time).
    static func acquire(_ token: UInt64, patience: Double = 3) throws(WatcherError) {
        let deadline = ContinuousClock.now + .milliseconds(Int(patience * 1000))
        while true {
            let outcome: Bool? = state.withLock { state in
                if state.owner == nil {
                    state.owner = token
                    state.stopping = false
                    return true
                }
                return state.stopping ? nil : false
            }
            switch outcome {
            case true?: return
            case false?: throw .alreadyRunning
            case nil:
                if ContinuousClock.now >= deadline { throw .alreadyRunning }
                usleep(10_000)
            }
        }
    }

    /// Marks the owner `token` as stopping (no effect if `token` no longer owns the library).
    static func markStopping(_ token: UInt64) {
        state.withLock { state in
            if state.owner == token { state.stopping = true }
        }
    }

    /// Gives the library back (after `inotifytools_cleanup`).
    static func release(_ token: UInt64) {
        state.withLock { state in
            if state.owner == token {
                state.owner = nil
                state.stopping = false
            }
        }
    }
}

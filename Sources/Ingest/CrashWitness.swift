import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Names the file a thread was reading when ledgerd died of a fault on that thread, so that
/// the restart sets that file aside instead of reading it again.
///
/// Without it, a file that crashes ledgerd (a fault in libxml2, or in ledgerd, that no test or
/// fuzzing found) would crash it again at every restart: systemd starts it every 10 s, and
/// nothing else is posted, since the file is read with the rest of its batch each time. The
/// file is still never lost (it stays in the inbox), but the daemon does not keep running.
///
/// How: while a file is read, hashed, parsed and checked, its path sits in a slot owned by the
/// thread doing it. Handlers for the signals a fault raises on the faulting thread (a Swift
/// runtime trap is SIGILL or SIGTRAP, a bad memory access SIGSEGV or SIGBUS, `abort()` SIGABRT)
/// find the slot of the thread they run on and write its path to a small file beside the
/// books, with only async-signal-safe calls (open, write, close), then restore the handler
/// that was there before (Swift's backtracer, or the default) and let the signal take its
/// course. Written by hand because no library does this: it is a few calls to the C library.
///
/// A kill (SIGKILL, a power cut, the watchdog's SIGABRT sent to the process) names no file:
/// it says nothing about the file in hand, which is read again as usual.
public enum CrashWitness {
    private static let slotCount = 256
    /// Each slot: the thread that owns it (0: free) and the path it is reading, as a C string.
    /// Never freed; the handler reads them without a lock, which is safe for the slot of the
    /// faulting thread, since only that thread writes it.
    nonisolated(unsafe) private static let threads: UnsafeMutablePointer<pthread_t> = {
        let slots = UnsafeMutablePointer<pthread_t>.allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        return slots
    }()
    nonisolated(unsafe) private static let paths: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?> = {
        let slots = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: slotCount)
        slots.initialize(repeating: nil, count: slotCount)
        return slots
    }()
    private static let claiming = Mutex<Void>(())
    private static let installed = Atomic<Bool>(false)
    /// The marker file's path, and the handlers there were before, by signal number.
    nonisolated(unsafe) private static var marker: UnsafeMutablePointer<CChar>?
    nonisolated(unsafe) private static let previous: UnsafeMutablePointer<sigaction> = .allocate(capacity: 65)
    static let signals: [Int32] = [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT]

    /// Starts witnessing: a fault from now on while a file is read writes its path to `marker`.
    /// Called once, at the start of `ledgerd run` and `ledgerd ingest`.
    public static func install(marker path: String) {
        guard !installed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        marker = strdup(path)
        for signal in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_sigaction = { signal, info, _ in CrashWitness.handle(signal, info) }
            action.sa_flags = SA_SIGINFO | SA_ONSTACK
            sigemptyset(&action.sa_mask)
            sigaction(signal, &action, previous + Int(signal))
        }
    }

    /// Runs `body` with `path` named as the file this thread reads, should it fault.
    static func reading<T>(_ path: String, _ body: () -> T) -> T {
        guard installed.load(ordering: .relaxed) else { return body() }
        let me = pthread_self()
        let copy = path.withCString { strdup($0) }
        var slot = -1
        claiming.withLock { _ in
            for i in 0..<slotCount where threads[i] == 0 {
                paths[i] = copy
                threads[i] = me
                slot = i
                break
            }
        }
        defer {
            if slot >= 0 {
                claiming.withLock { _ in
                    threads[slot] = 0
                    paths[slot] = nil
                }
            }
            free(copy)
        }
        return body()
    }

    /// The signal handler: only async-signal-safe calls from here on.
    private static func handle(_ signal: Int32, _ info: UnsafeMutablePointer<siginfo_t>?) {
        let me = pthread_self()
        // Raised by the fault itself, or by this process (abort); not sent by another (the
        // watchdog's SIGABRT comes from systemd, and lands on any thread).
        let raisedHere = info.map { $0.pointee.si_code > 0 || $0.pointee._sifields._kill.si_pid == getpid() } ?? false
        if raisedHere, let marker {
            for i in 0..<slotCount where threads[i] == me {
                guard let path = paths[i] else { break }
                let fd = open(marker, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
                if fd >= 0 {
                    _ = write(fd, path, strlen(path))
                    close(fd)
                }
                break
            }
        }
        // The handler before ours takes over. A fault raised by an instruction happens again
        // as this returns; a signal raised by a call (abort, raise) is raised again.
        sigaction(signal, previous + Int(signal), nil)
        if (info?.pointee.si_code ?? 0) <= 0 { raise(signal) }
    }

    /// The file ledgerd was reading when it last died of a fault, read from `marker`, which
    /// is removed: once set aside, that file cannot stop ledgerd again. Nil when there is none.
    public static func lastFault(marker path: String) -> String? {
        guard let read = try? FileSystem.readFile(path, limit: 1 << 16) else { return nil }
        unlink(path)
        guard case .bytes(let bytes) = read, !bytes.isEmpty else { return nil }
        return String(decoding: bytes, as: UTF8.self)
    }
}

#if canImport(Glibc)
    import Glibc
#endif

/// One daemon per set of books. Two `ledgerd run` on one database would race each other for
/// every file, and the second one's start and stop would overwrite the running one's state,
/// so that `ledgerd status` and the page said no daemon runs. The lock is `flock(2)` on
/// `<database>.lock`, held for the life of the process and released by the kernel however it
/// ends, `kill -9` included, so a stale lock file never keeps the next start out. (`ledgerd
/// ingest` does not take it: it may run beside the daemon, each file still taken once.)
///
/// Written against `flock` directly: Foundation offers no advisory file lock, and SQLite's
/// own locks cover transactions, not a process's lifetime.
public final class DaemonLock: Sendable {
    public let path: String
    private let descriptor: Int32

    public enum Failure: Error, CustomStringConvertible {
        /// Another process holds the lock; its pid, when it wrote one.
        case held(path: String, pid: Int32?)
        case cannotOpen(path: String, code: Int32)

        public var description: String {
            switch self {
            case .held(let path, let pid):
                let who = pid.map { "another ledgerd daemon (pid \($0))" } ?? "another ledgerd daemon"
                let database = path.hasSuffix(".lock") ? String(path.dropLast(5)) : path
                return "\(who) already keeps the books at \(database); stop it first "
                    + "(`systemctl stop ledgerd`), or give this one its own [paths] database"
            case .cannotOpen(let path, let code) where [EACCES, EPERM, EROFS].contains(code):
                return "cannot open the lock file \(path): \(String(cString: strerror(code))); the daemon needs "
                    + "write access to the folder of the ledger database and to the database itself: run it as the "
                    + "user the books belong to (the service's, `sudo -u ledgerd`), or give this one its own [paths] database"
            case .cannotOpen(let path, let code):
                return "cannot open the lock file \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Takes the lock for `database`, or throws at once if another process holds it.
    public init(database: String) throws(Failure) {
        path = database + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o640)
        guard fd >= 0 else { throw .cannotOpen(path: path, code: errno) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = Self.pid(in: fd)
            close(fd)
            throw .held(path: path, pid: holder)
        }
        descriptor = fd
        // The holder's pid, for the message another start gives.
        let text = Array("\(getpid())\n".utf8)
        if ftruncate(fd, 0) == 0 {
            _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
    }

    deinit { close(descriptor) }

    private static func pid(in fd: Int32) -> Int32? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard n > 0 else { return nil }
        return Int32(String(decoding: buffer[..<n], as: UTF8.self).trimmingNewline)
    }
}

extension String {
    fileprivate var trimmingNewline: String {
        var s = self
        while s.last?.isNewline == true || s.last == " " { s.removeLast() }
        return s
    }
}

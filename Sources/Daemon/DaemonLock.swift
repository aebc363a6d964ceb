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

/// One daemon per inbox. Two daemons with different books over one inbox would each post
/// part of what is dropped there: one set of books missing the other's invoices, with no
/// error anywhere. The lock is `flock(2)` on the inbox folder itself, so nothing is written
/// into the folder people drop files in, held for the life of the process. (A daemon on the
/// same books is kept out by `DaemonLock` first; `ledgerd ingest` on those books may run
/// beside the daemon.)
///
/// Where the folder does not exist when the daemon starts, or its file system grants no
/// such lock (NFS turns `flock` into a byte-range lock, which a folder cannot take), there
/// is no lock: the daemon runs as before.
public final class InboxLock: Sendable {
    private let descriptor: Int32

    public enum Failure: Error, CustomStringConvertible {
        case held(inbox: String, pid: Int32?)

        public var description: String {
            switch self {
            case .held(let inbox, let pid):
                let who = pid.map { "another ledgerd daemon (pid \($0))" } ?? "another ledgerd daemon"
                return "\(who) already takes the files dropped in \(inbox), into other books than these; "
                    + "two daemons would each post part of them. Stop it first, or give this one its own [paths] inbox"
            }
        }
    }

    /// Takes the lock on `inbox`; nil when there is no lock to take (see above). Throws at
    /// once if another process holds it.
    public init?(inbox: String) throws(Failure) {
        let fd = open(inbox, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            let holder = code == EWOULDBLOCK ? Self.holder(of: fd) : nil
            close(fd)
            if code == EWOULDBLOCK { throw .held(inbox: inbox, pid: holder) }
            return nil
        }
        descriptor = fd
    }

    deinit { close(descriptor) }

    static func holder(of fd: Int32) -> Int32? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileLocks.holder(st)
    }
}

/// Who holds the locks the daemon takes, asked of the kernel without taking one: a probe
/// that took a lock, however briefly, could make a daemon starting in that moment refuse.
public enum FileLocks {
    /// The pid of the process holding an exclusive `flock` on `path` (a daemon's lock file or
    /// inbox), or nil when none does or it cannot be told.
    public static func holder(of path: String) -> Int32? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return holder(st)
    }

    /// From /proc/locks, whose lines read `1: FLOCK  ADVISORY  WRITE <pid>
    /// <major>:<minor>:<inode> 0 EOF` (major and minor in hexadecimal).
    static func holder(_ st: stat) -> Int32? {
        guard let file = fopen("/proc/locks", "r") else { return nil }
        defer { fclose(file) }
        let dev = UInt64(st.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line {
            let fields = String(cString: line).split(separator: " ")
            // Waiters are listed as "1: -> FLOCK …"; only the holder is wanted.
            guard fields.count >= 6, fields[1] == "FLOCK", fields[3] == "WRITE" else { continue }
            let id = fields[5].split(separator: ":")
            guard id.count == 3, UInt64(id[0], radix: 16) == major, UInt64(id[1], radix: 16) == minor,
                UInt64(id[2]) == UInt64(st.st_ino)
            else { continue }
            return Int32(fields[4])
        }
        return nil
    }
}

import Dispatch

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
                    + "(\(DaemonLock.howToStop(pid))), or give this one its own [paths] database"
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

    /// How the daemon `pid` is stopped: by its systemd service when it runs as ledgerd's
    /// (its control group, `/system.slice/ledgerd.service`, names the unit), else as a process
    /// started by hand (from a terminal, or by another program's service).
    static func howToStop(_ pid: Int32?) -> String {
        guard let pid else { return "`systemctl stop ledgerd` for the service; Ctrl-C where it was started by hand" }
        if let unit = serviceUnit(of: pid) { return "`systemctl stop \(unit)`" }
        return "Ctrl-C where it was started, or `kill \(pid)`"
    }

    /// The system service `pid` runs in, from its control group; nil for a process started
    /// from a terminal (a session scope) or when it cannot be told.
    static func serviceUnit(of pid: Int32) -> String? {
        lines(of: "/proc/\(pid)/cgroup").flatMap(serviceUnit(inControlGroups:))
    }

    /// The lines of a small file the kernel writes (under /proc); nil when it cannot be read.
    static func lines(of path: String) -> [String]? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var lines: [String] = []
        var line: UnsafeMutablePointer<CChar>?
        var capacity = 0
        defer { free(line) }
        while getline(&line, &capacity, file) > 0, let line { lines.append(String(cString: line)) }
        return lines
    }

    /// The ledgerd system service named by lines of `/proc/<pid>/cgroup`:
    /// `0::/system.slice/ledgerd.service` (cgroup v2), or `1:name=systemd:/system.slice/…`
    /// among v1's controllers. Another service's (a CI runner's, say, that started ledgerd by
    /// hand) is not ledgerd's to stop.
    static func serviceUnit(inControlGroups lines: [String]) -> String? {
        for line in lines {
            let path = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).last ?? ""
            let parts = path.split(whereSeparator: { $0 == "/" || $0 == "\n" })
            if parts.count == 2, parts[0] == "system.slice", parts[1].hasPrefix("ledgerd"),
                parts[1].hasSuffix(".service")
            {
                return String(parts[1])
            }
        }
        return nil
    }

    /// The pid of the daemon keeping the books at `database` now, or nil when none does or it
    /// cannot be told. Asked of the kernel (/proc/locks, whose lines read `1: FLOCK  ADVISORY
    /// WRITE <pid> <major>:<minor>:<inode> 0 EOF`, major and minor in hexadecimal) without
    /// taking the lock: a probe that took it, however briefly, could make a daemon starting
    /// in that moment refuse.
    public static func holder(database: String) -> Int32? {
        var st = stat()
        guard stat(database + ".lock", &st) == 0, let locks = lines(of: "/proc/locks") else { return nil }
        let dev = UInt64(st.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~0xfff)
        let minor = (dev & 0xff) | ((dev >> 12) & ~0xff)
        for line in locks {
            let fields = line.split(separator: " ")
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
/// error anywhere. The lock is an abstract Unix socket named after the inbox's path (links
/// resolved), bound for the life of the process and released by the kernel however it ends.
/// Nothing is written into the folder people drop files in, and nothing holds it open: a
/// share mounted there can still be unmounted. It covers daemons on this machine (and in
/// its network namespace). (A daemon on the same books is kept out by `DaemonLock` first;
/// `ledgerd ingest` on those books may run beside the daemon.)
///
/// Written against the socket calls directly: Foundation offers no abstract socket, and
/// NIO's would be a server's worth of machinery for a name held and never read.
public final class InboxLock {
    private let descriptor: Int32
    /// Takes each connection `holder(of:)` makes and lets it go at once, so that asking never
    /// fills the socket's queue.
    private let answering: any DispatchSourceRead

    public enum Failure: Error, CustomStringConvertible {
        case held(inbox: String, pid: Int32?)

        public var description: String {
            switch self {
            case .held(let inbox, let pid):
                let who = pid.map { "another ledgerd daemon (pid \($0))" } ?? "another ledgerd daemon"
                return "\(who) already takes the files dropped in \(inbox), into other books than these; "
                    + "two daemons would each post part of them. Stop it first (\(DaemonLock.howToStop(pid))), or give "
                    + "this one its own [paths] inbox"
            }
        }
    }

    /// Takes the lock on `inbox`; nil when no socket can be made (the daemon then runs as
    /// before). Throws at once if another process holds it.
    public init?(inbox: String) throws(Failure) {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        let bound = Self.withAddress(of: inbox) { bind(fd, $0, $1) }
        guard bound == 0 else {
            let code = errno
            close(fd)
            if code == EADDRINUSE { throw .held(inbox: inbox, pid: Self.holder(of: inbox)?.pid) }
            return nil
        }
        // Listening lets another start ask who holds it (`holder(of:)`).
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = listen(fd, 16)
        descriptor = fd
        answering = DispatchSource.makeReadSource(fileDescriptor: fd, queue: .global(qos: .utility))
        answering.setEventHandler {
            while case let connection = accept(fd, nil, nil), connection >= 0 {
                close(connection)
            }
        }
        answering.setCancelHandler { close(fd) }
        answering.resume()
    }

    deinit { answering.cancel() }

    public struct Holder: Sendable {
        public var pid: Int32?
    }

    /// The daemon that holds the lock on `inbox`, with its pid when the kernel says; nil when
    /// none does. Asked by connecting to its socket, without waiting: the kernel gives the
    /// listener's credentials to whoever connects.
    public static func holder(of inbox: String) -> Holder? {
        let fd = socket(
            AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard withAddress(of: inbox, { connect(fd, $0, $1) }) == 0 else {
            // A queue full of others asking: held, by whom unsaid.
            return errno == EAGAIN ? Holder(pid: nil) : nil
        }
        // `struct ucred` (pid, uid, gid), which Glibc's module map leaves out (_GNU_SOURCE).
        var credentials: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: credentials))
        let told = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 && credentials.pid > 0
        return Holder(pid: told ? credentials.pid : nil)
    }

    /// The socket address for `inbox`: an abstract name (a NUL byte first) made of a hash of
    /// its path with links resolved, since two spellings of one folder are one inbox and a
    /// path may be longer than an address holds.
    static func withAddress(of inbox: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        let resolved = realpath(inbox, nil)
        let path = resolved.map { String(cString: $0) } ?? inbox
        free(resolved)
        // FNV-1a, 64 bits: a name, not a secret; two inboxes sharing one would only make the
        // second daemon refuse, saying why.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in path.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        // Always short enough: a NUL and 30 bytes at most.
        return withUnixSocketAddress([0] + Array("ledgerd-inbox-\(String(hash, radix: 16))".utf8), body) ?? -1
    }
}

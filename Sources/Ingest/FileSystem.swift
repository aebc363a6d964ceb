#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The few file-system operations the pipeline needs, done with the system calls directly
/// because their exact semantics are the guarantees: `O_NOFOLLOW` so a symlink is never
/// followed, `fstat` on the open descriptor so the size limit is checked before a byte is
/// read, `rename(2)` plus `fsync` on both directories so a move survives power loss, and a
/// copy-fsync-rename-unlink fallback when the archive is on another device. Foundation's
/// FileManager offers none of these guarantees explicitly.
public enum FileSystem {
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var operation: String
        public var path: String
        public var code: Int32
        public var description: String { "\(operation) \(path): \(String(cString: strerror(code)))" }
        /// Out of space or quota: worth retrying later, never a reason to reject a file.
        public var isTransient: Bool {
            code == ENOSPC || code == EDQUOT || code == EAGAIN || code == EINTR || code == EIO || code == ENOMEM
        }
    }

    public enum EntryType: Sendable, Equatable {
        case regular
        case directory
        case symlink
        /// A named pipe (FIFO).
        case pipe
        case socket
        /// A character or block device node.
        case device
        /// Of a type not known, or not looked at (it could not be).
        case other

        init(_ st: stat) {
            self.init(mode: st.st_mode)
        }

        init(mode: mode_t) {
            switch mode & S_IFMT {
            case S_IFREG: self = .regular
            case S_IFDIR: self = .directory
            case S_IFLNK: self = .symlink
            case S_IFIFO: self = .pipe
            case S_IFSOCK: self = .socket
            case S_IFCHR, S_IFBLK: self = .device
            default: self = .other
            }
        }

        /// What it is, in a bookkeeper's words: "a folder", "a named pipe".
        public var description: String {
            switch self {
            case .regular: "a file"
            case .directory: "a folder"
            case .symlink: "a symbolic link"
            case .pipe: "a named pipe"
            case .socket: "a socket"
            case .device: "a device"
            case .other: "not a regular file"
            }
        }
    }

    public struct Entry: Sendable, Equatable {
        public var name: String
        public var type: EntryType
        /// False when the name was not valid UTF-8 on disk (see `listDirectory`).
        public var nameWasValid: Bool
        /// The name exactly as the directory stores it.
        public var rawName: [UInt8]
    }

    /// Lists a directory without following symlinks. Names that are not valid UTF-8 (written by
    /// another system with another encoding) are reported with `nameWasValid == false` and
    /// their raw bytes, so the caller can rename them to a readable name instead of losing
    /// track of them.
    public static func listDirectory(_ path: String) throws(Failure) -> [Entry] {
        guard let dir = opendir(path) else { throw Failure(operation: "open folder", path: path, code: errno) }
        defer { closedir(dir) }
        var result: [Entry] = []
        while let entry = readdir(dir) {
            let raw: [UInt8] = withUnsafeBytes(of: entry.pointee.d_name) { buffer in
                let bytes = buffer.bindMemory(to: UInt8.self)
                let length = bytes.firstIndex(of: 0) ?? bytes.count
                return Array(bytes[0..<length])
            }
            if raw == [0x2E] || raw == [0x2E, 0x2E] { continue }
            let name = String(validating: raw, as: UTF8.self)
            // A listing's type is the file mode's type shifted down (glibc's `DTTOIF`, a macro
            // Swift cannot call), so both are read by one mapping. Some file systems give none.
            let type =
                Int32(entry.pointee.d_type) == Int32(DT_UNKNOWN)
                ? lstatType(path + "/" + (name ?? String(decoding: raw, as: UTF8.self)))
                : EntryType(mode: mode_t(entry.pointee.d_type) << 12)
            result.append(
                Entry(
                    name: name ?? String(decoding: raw, as: UTF8.self), type: type, nameWasValid: name != nil,
                    rawName: raw))
        }
        return result
    }

    public static func lstatType(_ path: String) -> EntryType {
        var st = stat()
        guard lstat(path, &st) == 0 else { return .other }
        return EntryType(st)
    }

    /// What `path` names once symlinks are followed (a configured folder may be a link to
    /// one); nil when nothing is there.
    public static func followedType(_ path: String) -> EntryType? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return EntryType(st)
    }

    /// Size and modification time without following symlinks; nil if it is gone.
    public static func lstatSizeAndTime(_ path: String) -> (size: Int64, mtimeNanos: Int64, type: EntryType)? {
        var st = stat()
        guard path.withCString({ lstat($0, &st) }) == 0 else { return nil }
        return (Int64(st.st_size), nanoseconds(st.st_mtim), EntryType(st))
    }

    /// How long ago a file time (`nanoseconds`) was by the wall clock: negative for a time
    /// ahead of it, and held at the ends of the range rather than trapping.
    public static func ageNanos(ofTime nanos: Int64) -> Int64 {
        let (age, overflow) = wallClockNanos().subtractingReportingOverflow(nanos)
        guard !overflow else { return nanos < 0 ? .max : .min }
        return age
    }

    /// A file time in nanoseconds since 1970. Anyone may set a file's time (`touch -d 2300-01-01`,
    /// an archive unpacked, a network share's client), and past 2262 it no longer fits: such
    /// times are held at the largest (or, before 1678, the smallest) that does, never trapping.
    static func nanoseconds(_ time: timespec) -> Int64 {
        let (scaled, overflow) = Int64(time.tv_sec).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return time.tv_sec < 0 ? .min : .max }
        let (sum, past) = scaled.addingReportingOverflow(Int64(time.tv_nsec))
        return past ? .max : sum
    }

    /// The wall clock in nanoseconds since 1970, the scale of `lstatSizeAndTime`'s mtime.
    public static func wallClockNanos() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }

    /// Renames a file whose name is not valid UTF-8 to `newName` in the same folder.
    public static func renameRaw(directory: String, rawName: [UInt8], newName: String) throws(Failure) {
        let from = Array(directory.utf8) + [UInt8(ascii: "/")] + rawName + [0]
        let to = directory + "/" + newName
        let rc = from.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { rename($0.baseAddress!, to) }
        }
        guard rc == 0 else { throw Failure(operation: "rename", path: to, code: errno) }
    }

    public enum ReadResult: Sendable {
        case bytes([UInt8])
        case tooLarge(size: Int64)
        case notRegular(EntryType)
        /// Another program has the file open for writing: a copy still in progress.
        case openForWriting
        /// Another ledgerd run has the file in hand (`FileClaim`), or another program holds a
        /// lock on it: it is theirs until they let go.
        case claimedElsewhere
    }

    /// A file this process has in hand, from its reading until it has been moved: an
    /// exclusive `flock(2)` on it, held while this object lives and released when it goes.
    /// Two ledgerd runs over one inbox (the daemon and a `ledgerd ingest`) each claim a file
    /// before reading it, so only one of them posts and moves it; without a claim, a run
    /// could not tell a file that another run has just committed and is about to move from
    /// one whose run stopped between its commit and its move, which it must move itself. The
    /// kernel lets go of a claim when its process ends, however it ends, so a run that died
    /// leaves nothing held.
    public final class FileClaim: Sendable {
        let fd: Int32
        init(fd: Int32) { self.fd = fd }
        deinit { close(fd) }
    }

    /// How many files may be open at once (the soft RLIMIT_NOFILE), which bounds how many a
    /// run can hold claims on.
    public static func openFileLimit() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur == rlim_t.max ? Int.max : Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit on open files to the hard one. The kernel's soft default, 1024, is
    /// kept for programs that use `select(2)`; ledgerd does not, and holds a claim on each
    /// file of the batches in flight.
    public static func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }

    /// Makes the process's table of open files hold `count` descriptors now, while the
    /// process has one thread; called first thing in `main`. The kernel grows the table as
    /// files are opened, doubling it each time, and once the process has more than one thread
    /// each growth first waits out an RCU grace period (`synchronize_rcu` in
    /// `expand_fdtable`), with every other thread that opens a file meanwhile waiting too. A
    /// run's first thousands of claims (`FileClaim`) grew it from 64 entries to 4,096 that way:
    /// 10 – 20 ms a step, some 60 ms early in a run in which both cores stood mostly idle.
    /// Grown once before any thread starts, it waits for nothing. The table never shrinks:
    /// 4,096 entries take 32 KiB.
    public static func reserveDescriptorTable(for count: Int) {
        let highest = min(count, openFileLimit()) - 1
        guard highest >= 64 else { return }
        let fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        // The lowest free descriptor at or above `highest`: the table grows to hold it.
        let high = fcntl(fd, F_DUPFD_CLOEXEC, Int32(highest))
        if high >= 0 { close(high) }
        close(fd)
    }

    /// Which file a path named, and in what state: two looks that agree saw the same file,
    /// unchanged. Kernels since 6.13 give a change made after a `stat` a new modification
    /// time even within the same clock tick (multigrain timestamps on ext4, XFS, Btrfs and
    /// tmpfs), so a rewrite that keeps the size still shows; on older kernels one within the
    /// same few milliseconds may not.
    public struct FileIdentity: Sendable, Equatable {
        public var device: UInt64
        public var inode: UInt64
        public var size: Int64
        public var mtimeNanos: Int64

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int64(st.st_size)
            mtimeNanos = FileSystem.nanoseconds(st.st_mtim)
        }
    }

    /// Which folder `path` is once links are followed (device and inode): two paths to one
    /// folder give the same. nil when nothing is there.
    public static func folder(_ path: String) -> [UInt64]? {
        var st = stat()
        return stat(path, &st) == 0 ? [UInt64(st.st_dev), UInt64(st.st_ino)] : nil
    }

    /// The identity of what `path` names now, without following a symlink; nil if nothing.
    public static func identity(of path: String) -> FileIdentity? {
        var st = stat()
        return path.withCString({ lstat($0, &st) }) == 0 ? FileIdentity(st) : nil
    }

    /// Reads a whole regular file, never following a symlink, refusing it before reading when
    /// it is larger than `limit`.
    public static func readFile(_ path: String, limit: Int64) throws(Failure) -> ReadResult {
        try readFileIdentified(path, limit: limit).result
    }

    /// `readFile`, and the identity of the file the bytes came from, so that what is later
    /// moved can be checked to be that same file, unchanged. A file changed while it was
    /// read fails (EAGAIN) and is read again later.
    ///
    /// With `waitingForWriters`, a file that another program has open for writing is not read
    /// (`.openForWriting`), when the kernel can say so (`isOpenForWriting`).
    ///
    /// With `claiming`, a regular file is claimed before anything else is done with it, and
    /// the claim is returned to be kept until the file has been moved. A file another claim
    /// holds is not read (`.claimedElsewhere`); one moved away by the run that held it, in the
    /// moment before this claim was granted, is gone (ENOENT). Where the file system grants
    /// no claim, files are read unclaimed: NFS turns `flock` into a byte-range lock, whose
    /// exclusive kind needs the file open for writing (EBADF here).
    public static func readFileIdentified(
        _ path: String, limit: Int64, waitingForWriters: Bool = false, claiming: Bool = false
    ) throws(Failure) -> (result: ReadResult, identity: FileIdentity?, claim: FileClaim?) {
        // Paths are passed through `withCString` in what runs for every file: passed as a
        // String, each was first copied into a new array with its NUL (~350 instructions).
        let fd = path.withCString { open($0, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC) }
        if fd < 0 {
            let code = errno
            if code == ELOOP { return (.notRegular(.symlink), nil, nil) }
            // A socket, or a device without its driver: it cannot be opened as a file at all.
            if code == ENXIO {
                let type = lstatType(path)
                if type == .socket || type == .device { return (.notRegular(type), nil, nil) }
            }
            throw Failure(operation: "open", path: path, code: code)
        }
        // Closed on return, unless a claim has taken it over.
        var claim: FileClaim?
        defer { if claim == nil { close(fd) } }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw Failure(operation: "stat", path: path, code: errno) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            return (.notRegular(EntryType(st)), nil, nil)
        }
        if claiming {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 {
                claim = FileClaim(fd: fd)
                // The run that held it may have moved it and let go between the open and
                // the claim: then the path names another file, or none.
                var now = stat()
                guard path.withCString({ lstat($0, &now) }) == 0, now.st_dev == st.st_dev, now.st_ino == st.st_ino
                else {
                    throw Failure(operation: "open", path: path, code: ENOENT)
                }
            } else if errno == EWOULDBLOCK {
                return (.claimedElsewhere, FileIdentity(st), nil)
            }
        }
        let size = Int64(st.st_size)
        if size > limit { return (.tooLarge(size: size), FileIdentity(st), claim) }
        if waitingForWriters, isOpenForWriting(fd) == true { return (.openForWriting, FileIdentity(st), claim) }
        // One byte more than the size is asked for, so the same read that reaches the end says
        // whether the file grew meanwhile: a regular file's read comes back short only at its
        // end. Such a file is read again later, whole. The buffer is not zeroed first.
        let capacity = Int(size) + 1
        var failure: Int32 = 0
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < capacity {
                let wanted = capacity - offset
                let n = read(fd, base + offset, wanted)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    break
                }
                offset += n
                // Nothing more (the file shrank while we read it), or a short read past the size.
                if n == 0 || (n < wanted && offset >= Int(size)) { break }
            }
            count = offset
        }
        if failure != 0 { throw Failure(operation: "read", path: path, code: failure) }
        if bytes.count == capacity { throw Failure(operation: "read (file still growing)", path: path, code: EAGAIN) }
        let before = FileIdentity(st)
        guard fstat(fd, &st) == 0 else { throw Failure(operation: "stat", path: path, code: errno) }
        // Rewritten while it was read (same size or not): the bytes may be a mix of two.
        guard FileIdentity(st) == before, Int64(bytes.count) == before.size else {
            throw Failure(operation: "read (file changed while it was read)", path: path, code: EAGAIN)
        }
        return (.bytes(bytes), before, claim)
    }

    /// Whether any program has the file behind `fd` (opened read-only) open for writing, asked
    /// of the kernel: a read lease (`F_SETLEASE`, fcntl(2)) is granted only on a file that
    /// nobody has open for writing. It is released at once; it only asks. This tells a copy
    /// in progress that pauses longer than the settle interval (a slow share, a stalled
    /// upload) from a file that is complete, which no amount of waiting for quiet can.
    ///
    /// nil when the kernel cannot say: leases are granted only on files the process owns,
    /// unless it has CAP_LEASE (EACCES), and not on every file system (EINVAL on some
    /// network shares). Those files are judged by settling alone, as before.
    static func isOpenForWriting(_ fd: Int32) -> Bool? {
        _ = leaseBreakSignalIgnored
        if fcntl(fd, setLease, F_RDLCK) == 0 {
            _ = fcntl(fd, setLease, F_UNLCK)
            return false
        }
        return errno == EAGAIN ? true : nil
    }

    /// F_SETLEASE from <linux/fcntl.h> (F_LINUX_SPECIFIC_BASE + 0), which Glibc's module map
    /// does not export.
    static let setLease: Int32 = 1024

    /// A program that opens the file for writing in the moment the lease is held makes the
    /// kernel send the lease holder SIGIO, whose default action ends the process. Its open
    /// waits the microseconds until the lease is released; the signal is of no use.
    static let leaseBreakSignalIgnored: Void = { _ = signal(SIGIO, SIG_IGN) }()

    /// Creates `path` and its missing parents (mode 0750 by default).
    public static func makeDirectories(_ path: String, mode: UInt32 = 0o750) throws(Failure) {
        var st = stat()
        if stat(path, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw Failure(operation: "create folder", path: path, code: ENOTDIR)
            }
            return
        }
        let parent = parentDirectory(path)
        if !parent.isEmpty, parent != path { try makeDirectories(parent, mode: mode) }
        if mkdir(path, mode_t(mode)) != 0, errno != EEXIST {
            throw Failure(operation: "create folder", path: path, code: errno)
        }
    }

    // Both split on the last "/" byte of the UTF-8 path, as the kernel does. Searching the
    // string's characters instead is slower (a file's name is taken several times on its
    // way through the pipeline) and misses a "/" that a combining mark follows in a name.

    public static func parentDirectory(_ path: String) -> String {
        guard let slash = lastSlash(path) else { return "." }
        if slash == 0 { return "/" }
        return String(decoding: path.utf8.prefix(slash), as: UTF8.self)
    }

    public static func lastComponent(_ path: String) -> String {
        guard let slash = lastSlash(path) else { return path }
        return String(decoding: path.utf8.dropFirst(slash + 1), as: UTF8.self)
    }

    /// The byte offset of the last "/" in `path`. Searched in the string's own UTF-8 bytes
    /// when it has them in one piece (a native string always does): `lastIndex(of:)` on the
    /// UTF-8 view steps back through its generic index, ~550 instructions a path.
    static func lastSlash(_ path: String) -> Int? {
        let slash = UInt8(ascii: "/")
        if let searched: Int? = path.utf8.withContiguousStorageIfAvailable({ $0.lastIndex(of: slash) }) {
            return searched
        }
        return path.utf8.lastIndex(of: slash).map { path.utf8.distance(from: path.utf8.startIndex, to: $0) }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Removes a file ledgerd wrote itself (an error file that no longer applies); never a
    /// document.
    public static func removeFile(_ path: String) throws(Failure) {
        guard unlink(path) == 0 else { throw Failure(operation: "remove", path: path, code: errno) }
    }

    /// Makes a folder's entries (a rename into or out of it) durable.
    public static func syncDirectory(_ path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(operation: "open folder", path: path, code: errno) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw Failure(operation: "sync folder", path: path, code: errno) }
    }

    /// Moves a file, refusing to overwrite anything. Same device: `renameat2` with
    /// `RENAME_NOREPLACE`, which refuses an existing target atomically (where the file system
    /// cannot, a check then `rename`). Another device: copy into a temporary name beside the
    /// target, `fsync`, rename into place, sync the folder, and only then remove the original.
    /// The target's folder is created when missing. The caller syncs the folders of
    /// same-device renames (once per batch rather than once per file).
    public static func move(from source: String, to target: String) throws(Failure) {
        _ = try move(from: source, to: target, expected: nil)
    }

    /// What a checked move did.
    public enum Moved: Sendable, Equatable {
        /// The file that was read is at the target.
        case moved
        /// The name held another file, or the same one rewritten (a program saving again
        /// under the same name), when it was moved. That file is not kept at the target: it is
        /// at `at`, where it was or put back beside it (under a free name if a newer file took
        /// its own), to be read as the new file it is. `targetHasRead` says whether the
        /// target holds what was read (copied to another device before the change).
        case changed(at: String, targetHasRead: Bool)
    }

    /// `move`, checking that what is moved is the file `expected` describes (the one that was
    /// read); see `Moved`.
    public static func move(from source: String, to target: String, expected: FileIdentity?) throws(Failure)
        -> Moved
    {
        // Looked at before and after the rename: before, so a file changed well before its
        // move stays where it is, its name never free for a moment for a writer to take;
        // after, for a change in between.
        if let expected, let now = identity(of: source), now != expected {
            return .changed(at: source, targetHasRead: false)
        }
        var code = renameNoReplace(from: source, to: target)
        if code == ENOENT, exists(source) {
            try makeDirectories(parentDirectory(target))
            code = renameNoReplace(from: source, to: target)
        }
        switch code {
        case 0:
            guard let expected, let moved = identity(of: target), moved != expected else { return .moved }
            // Renaming changes only the status-change time, which the identity leaves out.
            var back = source
            var code = renameNoReplace(from: target, to: back)
            if code == EEXIST {
                back = parentDirectory(source) + "/" + freeName(in: parentDirectory(source), for: lastComponent(source))
                code = renameNoReplace(from: target, to: back)
            }
            guard code == 0 else {
                throw Failure(operation: "put back a file changed after it was read", path: target, code: code)
            }
            return .changed(at: back, targetHasRead: false)
        case EEXIST:
            throw Failure(operation: "move to", path: target, code: EEXIST)
        case EXDEV:
            if exists(target) { throw Failure(operation: "move to", path: target, code: EEXIST) }
            if lstatType(source) != .regular {
                // A file read was a regular one: something else has taken its name since.
                if expected != nil { return .changed(at: source, targetHasRead: false) }
                // A link, FIFO or socket (rejected, never read) is made again at the target,
                // as `mv` does: copying it would follow the link, or wait for a FIFO's writer.
                try recreateSpecial(from: source, to: target)
            } else {
                guard try copyDurably(from: source, to: target, expected: expected) else {
                    return .changed(at: source, targetHasRead: false)
                }
                // Replaced since it was copied: the copy is what was read; the new file stays.
                if let expected, identity(of: source) != expected { return .changed(at: source, targetHasRead: true) }
            }
            guard unlink(source) == 0 else {
                let code = errno
                // Gone already (moved or deleted by someone after the copy): the copy is the
                // only one left, so it stays.
                if code == ENOENT { return .moved }
                // The original stays (a read-only inbox, say): the copy, ours alone, goes, so a
                // retry starts over rather than leaving one more copy each time.
                _ = unlink(target)
                throw Failure(operation: "remove original", path: source, code: code)
            }
            return .moved
        case EACCES, EPERM, EROFS:
            // The file's own folder may be the one that refuses (a share mounted read-only, an
            // inbox the service's user may read but not change): then it is named, not the
            // folder the file was going to.
            if !mayChangeEntries(of: parentDirectory(source)) {
                throw Failure(operation: "move \(source) out of", path: parentDirectory(source), code: code)
            }
            throw Failure(operation: "move \(source) into", path: parentDirectory(target), code: code)
        default:
            throw Failure(operation: "move \(source) into", path: parentDirectory(target), code: code)
        }
    }

    /// Whether this process may add and remove names in `folder` (as its effective user, and
    /// on a file system mounted for writing).
    static func mayChangeEntries(of folder: String) -> Bool {
        faccessat(AT_FDCWD, folder, W_OK | X_OK, AT_EACCESS) == 0
    }

    /// `renameat2(RENAME_NOREPLACE)`, falling back to a check and `rename(2)` where the file
    /// system or kernel does not support the flag (EINVAL, ENOSYS), or a sandbox's system-call
    /// filter refuses the call (EPERM; a real permission problem fails again in `rename`).
    /// Returns 0 or the error number.
    static func renameNoReplace(from source: String, to target: String) -> Int32 {
        if let renameat2 = Self.renameat2,
            source.withCString({ from in
                target.withCString { to in renameat2(AT_FDCWD, from, AT_FDCWD, to, renameNoReplaceFlag) }
            }) == 0
        {
            return 0
        }
        let code = Self.renameat2 == nil ? ENOSYS : errno
        guard code == EINVAL || code == ENOSYS || code == EPERM else { return code }
        if exists(target) { return EEXIST }
        return rename(source, target) == 0 ? 0 : errno
    }

    /// glibc's `renameat2` (2.28 and later). Swift's Glibc module does not declare it (glibc
    /// only does under `_GNU_SOURCE`), so it is looked up once by name; nil where the C library
    /// lacks it, and then moves check and `rename`.
    static let renameat2: RenameAt2? = {
        guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "renameat2") else { return nil }
        return unsafeBitCast(symbol, to: RenameAt2.self)
    }()
    typealias RenameAt2 = @convention(c) (Int32, UnsafePointer<CChar>, Int32, UnsafePointer<CChar>, UInt32) -> Int32
    /// `RENAME_NOREPLACE` from <linux/fs.h>.
    static let renameNoReplaceFlag: UInt32 = 1

    /// Copies `source` to `target` durably. False, with nothing left at `target`, when the
    /// file is not the one `expected` describes, or changes while it is copied.
    static func copyDurably(from source: String, to target: String, expected: FileIdentity? = nil) throws(Failure)
        -> Bool
    {
        let input = open(source, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard input >= 0 else { throw Failure(operation: "open", path: source, code: errno) }
        defer { close(input) }
        func isExpected() -> Bool {
            var st = stat()
            return expected == nil || (fstat(input, &st) == 0 && FileIdentity(st) == expected)
        }
        guard isExpected() else { return false }
        let temporary = temporaryName(for: target)
        let output = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard output >= 0 else { throw Failure(operation: "create", path: temporary, code: errno) }
        // A copy cut short (the archive full, say) is removed: it would hold space on a disk
        // already short of it, under a name nothing looks at again.
        func abandon(_ operation: String, _ path: String, _ code: Int32) -> Failure {
            close(output)
            _ = unlink(temporary)
            return Failure(operation: operation, path: path, code: code)
        }
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw abandon("read", source, errno)
            }
            if n == 0 { break }
            var written = 0
            while written < n {
                let w = buffer.withUnsafeBytes { write(output, $0.baseAddress! + written, n - written) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw abandon("write", temporary, errno)
                }
                written += w
            }
        }
        guard isExpected() else {
            close(output)
            _ = unlink(temporary)
            return false
        }
        guard fsync(output) == 0 else { throw abandon("sync", temporary, errno) }
        close(output)
        try moveIntoPlace(temporary, at: target)
        return true
    }

    /// Makes a symbolic link, FIFO or socket like `source` at `target`, durably.
    static func recreateSpecial(from source: String, to target: String) throws(Failure) {
        var st = stat()
        guard lstat(source, &st) == 0 else { throw Failure(operation: "look at", path: source, code: errno) }
        let temporary = temporaryName(for: target)
        _ = unlink(temporary)
        let made: Int32
        switch st.st_mode & S_IFMT {
        case S_IFLNK:
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(source, &buffer, buffer.count - 1)
            guard n >= 0 else { throw Failure(operation: "read the link", path: source, code: errno) }
            buffer[n] = 0
            made = symlink(buffer, temporary)
        case S_IFIFO:
            made = mkfifo(temporary, st.st_mode & 0o7777)
        default:
            // Sockets, and devices where this user may make them.
            made = mknod(temporary, st.st_mode, st.st_rdev)
        }
        guard made == 0 else { throw Failure(operation: "make", path: temporary, code: errno) }
        try moveIntoPlace(temporary, at: target)
    }

    /// Where a file bound for `path` is made before it is renamed there whole.
    static func temporaryName(for path: String) -> String {
        parentDirectory(path) + "/.ledgerd-partial-" + lastComponent(path)
    }

    /// Renames a finished temporary file to `target` and syncs the folder; on failure the
    /// temporary file goes.
    static func moveIntoPlace(_ temporary: String, at target: String) throws(Failure) {
        guard rename(temporary, target) == 0 else {
            let code = errno
            _ = unlink(temporary)
            throw Failure(operation: "rename", path: target, code: code)
        }
        try syncDirectory(parentDirectory(target))
    }

    /// Writes a small text file durably (temporary name, fsync, rename).
    public static func writeText(_ text: String, to path: String) throws(Failure) {
        try writeFile(Array(text.utf8), to: path, replacing: true)
    }

    /// Writes `bytes` durably as a new file at `path` (temporary name, fsync, rename), and,
    /// unless `replacing`, never over a file already there (EEXIST). The caller syncs the
    /// folder.
    public static func writeFile(_ bytes: [UInt8], to path: String, replacing: Bool) throws(Failure) {
        try makeDirectories(parentDirectory(path))
        let temporary = temporaryName(for: path)
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw Failure(operation: "create", path: temporary, code: errno) }
        var written = 0
        while written < bytes.count {
            let w = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, bytes.count - written) }
            if w < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                _ = unlink(temporary)
                throw Failure(operation: "write", path: temporary, code: code)
            }
            written += w
        }
        let synced = fsync(fd) == 0
        let code = errno
        close(fd)
        guard synced else {
            _ = unlink(temporary)
            throw Failure(operation: "sync", path: temporary, code: code)
        }
        let renamed =
            replacing ? (rename(temporary, path) == 0 ? 0 : errno) : renameNoReplace(from: temporary, to: path)
        guard renamed == 0 else {
            _ = unlink(temporary)
            throw Failure(operation: "write", path: path, code: renamed)
        }
    }

    /// A name in `directory` that does not exist yet: `name`, else `stem (2).ext`, `stem (3).ext`…
    public static func freeName(in directory: String, for name: String, reserved: Set<String> = []) -> String {
        func taken(_ candidate: String) -> Bool {
            reserved.contains(candidate) || exists(directory + "/" + candidate)
                || exists(directory + "/" + candidate + ".error.txt")
        }
        if !taken(name) { return name }
        let (stem, ext) = splitExtension(name)
        var n = 2
        while true {
            let candidate = "\(stem) (\(n))\(ext)"
            if !taken(candidate) { return candidate }
            n += 1
        }
    }

    /// `("invoice", ".xml")` for `invoice.xml`; a leading dot is not an extension.
    public static func splitExtension(_ name: String) -> (String, String) {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return (name, "") }
        return (String(name[..<dot]), String(name[dot...]))
    }

    /// Shortens a name to at most `maxBytes` UTF-8 bytes, keeping its extension. What follows
    /// the last dot counts as one only when it is short: in "Faktura nr. 12 for …" it is part
    /// of the name, and keeping it whole would leave no name at all, or too long a one.
    public static func shortened(_ name: String, maxBytes: Int) -> String {
        guard name.utf8.count > maxBytes else { return name }
        var (stem, ext) = splitExtension(name)
        if ext.utf8.count > 16 { (stem, ext) = (name, "") }
        var result = ""
        for character in stem {
            if result.utf8.count + String(character).utf8.count + ext.utf8.count > maxBytes { break }
            result.append(character)
        }
        return result + ext
    }
}

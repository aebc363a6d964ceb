import LedgerCore

#if canImport(Glibc)
    import Glibc
#endif

/// Paths as bytes: Linux names are bytes, and a name that is not UTF-8 must still reach the C calls
/// unchanged, so the watcher keeps bytes and makes `String`s only for the events it emits.
enum Paths {
    /// An absolute, lexically normalised path: relative paths are taken from the current directory;
    /// `.` and empty components are dropped, `..` removes the previous component. Symbolic links are
    /// not resolved (the caller's spelling is what events report).
    static func normalize(_ path: String) -> String {
        var full = path
        if !full.hasPrefix("/") {
            full = currentDirectory() + "/" + full
        }
        return PathBytes.normalized(full)
    }

    static func currentDirectory() -> String {
        guard let pointer = getcwd(nil, 0) else { return "/" }
        defer { free(pointer) }
        return String(cString: pointer)
    }

    /// `path` with one trailing `/`, as libinotifytools names folders.
    static func withSlash(_ path: [UInt8]) -> [UInt8] {
        path.last == UInt8(ascii: "/") ? path : path + [UInt8(ascii: "/")]
    }

    /// `path` without its trailing `/` (except for `/` itself).
    static func withoutSlash(_ path: [UInt8]) -> [UInt8] {
        path.count > 1 && path.last == UInt8(ascii: "/") ? Array(path.dropLast()) : path
    }

    /// The bytes of a NUL-terminated C string.
    static func bytes(_ cString: UnsafePointer<CChar>) -> [UInt8] {
        let length = strlen(cString)
        return cString.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// Calls `body` with `path` as a NUL-terminated C string.
    static func withCString<R>(_ path: [UInt8], _ body: (UnsafePointer<CChar>) -> R) -> R {
        (path + [0]).withUnsafeBufferPointer { buffer in
            buffer.baseAddress!.withMemoryRebound(to: CChar.self, capacity: buffer.count) { body($0) }
        }
    }

    /// The path as a `String`, or nil when it is not valid UTF-8.
    static func string(_ path: [UInt8]) -> String? {
        String(validating: path, as: UTF8.self)
    }

    /// True when `path` names an existing folder (following a symbolic link, as `opendir` does).
    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    /// Whether anything is at `path` (not following a symbolic link).
    static func exists(_ path: [UInt8]) -> Bool {
        var info = stat()
        return withCString(path) { lstat($0, &info) } == 0
    }

    /// Whether a name just created is there whole, with no close after writing to come: a
    /// hard link to an existing file (`link`, `cp --link`, maildir-style delivery), a symbolic
    /// link, or anything else that is neither a regular file nor a folder (FIFO, socket).
    static func isCreatedWhole(_ path: [UInt8]) -> Bool {
        var info = stat()
        guard withCString(path, { lstat($0, &info) }) == 0 else { return false }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return info.st_nlink > 1
        case S_IFDIR: return false
        default: return true
        }
    }

    /// 0 when `path` is an existing folder, else the errno that says why not.
    static func directoryError(_ path: String) -> Int32 {
        var info = stat()
        if stat(path, &info) != 0 { return errno }
        return (info.st_mode & S_IFMT) == S_IFDIR ? 0 : ENOTDIR
    }

    /// The subfolders of `folder` (symbolic links excluded), as full paths.
    static func subfolders(of folder: [UInt8]) -> [[UInt8]] {
        guard let dir = withCString(folder, { opendir($0) }) else { return [] }
        defer { closedir(dir) }
        let prefix = withSlash(folder)
        var result: [[UInt8]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: &entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            if name == [UInt8(ascii: ".")] || name == [UInt8(ascii: "."), UInt8(ascii: ".")] { continue }
            let path = prefix + name
            switch Int32(entry.pointee.d_type) {
            case Int32(DT_DIR):
                result.append(path)
            case Int32(DT_UNKNOWN):
                var info = stat()
                if withCString(path, { lstat($0, &info) }) == 0 && (info.st_mode & S_IFMT) == S_IFDIR {
                    result.append(path)
                }
            default:
                continue
            }
        }
        return result
    }
}

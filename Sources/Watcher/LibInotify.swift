import CInotify

#if canImport(Glibc)
    import Glibc
#endif

/// The few libinotifytools calls the watcher uses, with bytes in and out. Every call touches the
/// library's process-global state: only the owner of `LibraryOwnership` may call these, from one
/// thread at a time (the starting thread during `init`, then the watcher thread).
enum LibInotify {
    /// What each watched folder reports. Beyond the events the pipeline needs (IN_CLOSE_WRITE,
    /// IN_MOVED_TO, IN_CREATE for new folders, IN_DELETE_SELF / IN_MOVE_SELF for lost watches):
    /// - IN_MOVED_FROM, to pair a folder renamed inside the tree with its IN_MOVED_TO (same cookie)
    ///   and rename the library's record of it and its subfolders; without it, files in a renamed
    ///   folder would be reported under the old path, and a folder moved out of the tree would keep
    ///   reporting from wherever it went under its old inbox path.
    /// - IN_EXCL_UNLINK: no events for a file after it was unlinked (a deleted temporary file that
    ///   is closed later must not become `fileReady` for a name that no longer exists).
    /// IN_Q_OVERFLOW, IN_IGNORED and IN_UNMOUNT are always reported.
    static let mask: Int32 =
        IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_EXCL_UNLINK

    /// Starts the library (a new inotify descriptor). Returns 0 or the errno.
    static func initialize() -> Int32 {
        if inotifytools_initialize() != 0 { return 0 }
        let code = inotifytools_error()
        return code == 0 ? EIO : code
    }

    /// Closes the inotify descriptor (the kernel drops every watch) and frees the library's records.
    static func cleanup() {
        inotifytools_cleanup()
    }

    /// Watches `path` and every folder below it, skipping folders whose path is exactly one of
    /// `excluding` (the library compares each subfolder's path with each entry). Returns 0 or the
    /// errno; unreadable or vanished subfolders (EACCES, ENOENT, ELOOP) are skipped by the library.
    ///
    /// The library lists a folder, watches its subfolders, and only then watches the folder itself:
    /// a subfolder created in between is neither listed nor reported. A second pass closes that
    /// window (every folder from the first pass is watched by then, so anything newer is reported
    /// as IN_CREATE). It costs a small allocation per folder that libinotifytools does not free
    /// when the same folder is watched twice.
    static func watchTree(_ path: [UInt8], excluding: [String]) -> Int32 {
        for _ in 0..<2 {
            let status = withExcludeList(excluding) { list in
                Paths.withCString(path) { inotifytools_watch_recursively_with_exclude($0, mask, list) }
            }
            if status == 0 {
                let code = inotifytools_error()
                return code == 0 ? EIO : code
            }
        }
        return 0
    }

    /// Reads the next event, waiting at most one second. `nil` on timeout or error (see
    /// `lastError`); the event's fields and name are copied out at once, because the library reuses
    /// a static buffer.
    static func nextEvent() -> RawEvent? {
        guard let event = inotifytools_next_event(1) else { return nil }
        let header = event.pointee
        var name: [UInt8] = []
        if header.len > 0 {
            // `inotify_event.name` is a flexible array member that Swift does not import.
            let start = UnsafeRawPointer(event) + MemoryLayout<inotify_event>.size
            let padded = UnsafeRawBufferPointer(start: start, count: Int(header.len))
            name = Array(padded.prefix { $0 != 0 })
        }
        return RawEvent(wd: header.wd, mask: header.mask, cookie: header.cookie, name: name)
    }

    /// The errno of the last failed call (0 when `nextEvent` only timed out).
    static var lastError: Int32 { inotifytools_error() }

    /// The folder a watch descriptor stands for, with its trailing `/`; empty when unknown.
    static func folder(ofWatch wd: Int32) -> [UInt8] {
        guard let name = inotifytools_filename_from_wd(wd) else { return [] }
        return Paths.bytes(name)
    }

    /// The watch descriptor recorded for `folder` (with trailing `/`), or -1.
    static func watch(ofFolder folder: [UInt8]) -> Int32 {
        Paths.withCString(folder) { inotifytools_wd_from_filename($0) }
    }

    /// Renames, in the library's records, `old` and every folder below it to start with `new`
    /// (both with trailing `/`).
    static func rename(_ old: [UInt8], to new: [UInt8]) {
        Paths.withCString(old) { oldName in
            Paths.withCString(new) { newName in inotifytools_replace_filename(oldName, newName) }
        }
    }

    /// Removes a watch the kernel still has. (For a watch the kernel already dropped, the library
    /// prints an error and keeps its record: do not call it then.)
    static func removeWatch(_ wd: Int32) {
        _ = inotifytools_remove_watch_by_wd(wd)
    }

    /// The number of watches the library has recorded.
    static var watchCount: Int { Int(inotifytools_get_num_watches()) }

    private static func withExcludeList<R>(
        _ excluding: [String], _ body: (UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> R
    ) -> R {
        if excluding.isEmpty { return body(nil) }
        let copies = excluding.map { strdup($0) }
        defer {
            for copy in copies { free(copy) }
        }
        var list: [UnsafePointer<CChar>?] = copies.map { $0.map { UnsafePointer($0) } }
        list.append(nil)
        return list.withUnsafeMutableBufferPointer { body($0.baseAddress) }
    }
}

/// One inotify event, copied out of the library's buffer.
struct RawEvent {
    var wd: Int32
    var mask: UInt32
    var cookie: UInt32
    /// The entry's name inside the watched folder (empty for events about the folder itself).
    var name: [UInt8]

    func has(_ flag: Int32) -> Bool { mask & UInt32(bitPattern: flag) != 0 }
}

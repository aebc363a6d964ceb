/// What the watcher reports. Paths are absolute and lexically normalised (no `.`/`..`, no `//`,
/// no trailing `/`), built from the roots as given, so symbolic links in a root are kept.
public enum WatchEvent: Sendable, Equatable {
    /// A file was closed after writing (IN_CLOSE_WRITE), moved in (IN_MOVED_TO), or created
    /// whole (IN_CREATE of a hard link, symbolic link, FIFO or socket): full path.
    case fileReady(String)
    /// A folder appeared (created or moved in): it is now watched recursively, and the caller
    /// must rescan it, because files written right after mkdir can be missed.
    ///
    /// Also sent for the folder holding an entry whose name is not valid UTF-8 (no `String` path can
    /// name it; a rescan of the folder lets the scanner deal with it), and for a root that was lost
    /// and is watched again.
    case folderAdded(String)
    /// The kernel queue overflowed (IN_Q_OVERFLOW), this watcher's own buffer was full, or a watch
    /// was lost: rescan everything.
    case overflow
}

#if canImport(Glibc)
    import Glibc
#endif

/// Why the watcher could not start.
public enum WatcherError: Error, Equatable, CustomStringConvertible {
    /// libinotifytools keeps its state process-global: only one watcher may run per process.
    case alreadyRunning
    /// inotify itself could not start (`errno` from `inotify_init`).
    case cannotStart(errno: Int32)
    /// A root could not be watched (`errno` from `opendir` / `inotify_add_watch`).
    case cannotWatch(path: String, errno: Int32)

    public var description: String {
        switch self {
        case .alreadyRunning:
            return "an inotify watcher is already running in this process (libinotifytools allows only one)"
        case .cannotStart(let code):
            var text = "inotify could not start: \(Self.errnoText(code))"
            if code == EMFILE {
                text += " (the per-user limit fs.inotify.max_user_instances is reached)"
            }
            return text
        case .cannotWatch(let path, let code):
            var text = "cannot watch \(path): \(Self.errnoText(code))"
            if code == ENOSPC {
                text +=
                    " (the per-user limit fs.inotify.max_user_watches is reached; raise it with sysctl, or use"
                    + " polling)"
            }
            return text
        }
    }

    static func errnoText(_ code: Int32) -> String {
        code == 0 ? "unknown error" : String(cString: strerror(code)) + " (errno \(code))"
    }
}

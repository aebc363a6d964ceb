#if canImport(Glibc)
    import Glibc
#endif

/// UTC timestamps in ISO 8601 (`2026-11-21T09:52:03Z`), as stored in the database.
public enum Timestamp {
    public static func now() -> String { format(secondsSinceEpoch: Int(time(nil))) }

    public static func format(secondsSinceEpoch seconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ n: Int32, _ width: Int) -> String {
            let s = String(n)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))Z"
    }
}

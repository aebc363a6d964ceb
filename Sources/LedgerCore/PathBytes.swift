/// Paths as the kernel compares them: byte strings split on the "/" byte.
///
/// Swift's `String` works on characters, and compares canonically. A name that begins with a
/// combining mark joins the "/" before it into one character, so character-wise `split`,
/// `hasPrefix` or `firstIndex(of: "/")` miss that slash; and "é" written precomposed and
/// decomposed (as macOS writes it) are equal strings but two files side by side. Every place
/// that decides where a file is, or which file it is, goes through these instead.
public enum PathBytes {
    /// Whether `path` lies below `folder`.
    public static func isInside(_ path: String, _ folder: String) -> Bool { below(path, folder) != nil }

    /// Whether `path` is `folder` itself or lies below it.
    public static func isWithin(_ path: String, _ folder: String) -> Bool {
        PathKey(path) == PathKey(folder) || isInside(path, folder)
    }

    /// What follows `folder` and its "/" in `path`; nil when `path` does not lie below it.
    public static func below(_ path: String, _ folder: String) -> Substring.UTF8View? {
        let prefix = folder.utf8.last == UInt8(ascii: "/") ? folder : folder + "/"
        guard path.utf8.count > prefix.utf8.count, startsWith(path, prefix) else { return nil }
        return Substring(path).utf8.dropFirst(prefix.utf8.count)
    }

    /// Whether `path`'s bytes begin with `prefix`'s. Compared in place where both are stored
    /// contiguously, as native strings are: `starts(with:)` on their UTF-8 views steps through
    /// a generic index, ~50 instructions a byte, and every file settled is asked whether it
    /// lies in the rejected folder, whose path it shares most of.
    public static func startsWith(_ path: String, _ prefix: String) -> Bool {
        let same = path.utf8.withContiguousStorageIfAvailable { p in
            prefix.utf8.withContiguousStorageIfAvailable { q in q.count <= p.count && sameBytes(p, q, count: q.count) }
        }
        return (same ?? nil) ?? path.utf8.starts(with: prefix.utf8)
    }

    /// Whether the first `count` bytes of `a` and `b` are the same. A plain loop:
    /// `elementsEqual` on the buffers costs ~20 instructions a byte.
    @inline(__always) static func sameBytes(
        _ a: UnsafeBufferPointer<UInt8>, _ b: UnsafeBufferPointer<UInt8>, count: Int
    ) -> Bool {
        for i in 0..<count where a[i] != b[i] { return false }
        return true
    }

    /// An absolute path with `.`, `..` (above the root stays at the root) and empty parts
    /// removed, lexically: no file system access, no symbolic link resolved.
    public static func normalized(_ absolutePath: String) -> String {
        var parts: [Substring] = []
        for part in absolutePath.utf8.split(separator: UInt8(ascii: "/")).map(Substring.init) {
            switch part {
            case ".": continue
            case "..": _ = parts.popLast()
            default: parts.append(part)
            }
        }
        return "/" + parts.joined(separator: "/")
    }
}

/// A path that equals another only byte for byte (see `PathBytes`), for sets and dictionaries
/// of files.
public struct PathKey: Hashable, Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    public static func == (a: PathKey, b: PathKey) -> Bool {
        guard a.path.utf8.count == b.path.utf8.count else { return false }
        // Compared in place where both are stored contiguously, as native strings are: each
        // file settled looks its folders up among those its batch changed, which all share
        // their start.
        let same = a.path.utf8.withContiguousStorageIfAvailable { x in
            b.path.utf8.withContiguousStorageIfAvailable { y in PathBytes.sameBytes(x, y, count: x.count) }
        }
        return (same ?? nil) ?? a.path.utf8.elementsEqual(b.path.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        let hashed: Void? = path.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if hashed == nil { for byte in path.utf8 { hasher.combine(byte) } }
        hasher.combine(path.utf8.count)
    }
}

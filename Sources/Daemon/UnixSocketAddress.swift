#if canImport(Glibc)
    import Glibc
#endif

/// Calls `body` with a Unix socket address for `path` (its bytes as the kernel takes them; a
/// NUL byte first names an abstract socket) and the address's length; nil when the path is
/// longer than an address holds. Shared by the systemd notifier and the inbox lock.
func withUnixSocketAddress<T>(_ path: [UInt8], _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T? {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    guard path.count < MemoryLayout.size(ofValue: address.sun_path) else { return nil }
    withUnsafeMutableBytes(of: &address.sun_path) { buffer in
        for (i, byte) in path.enumerated() { buffer[i] = byte }
    }
    let length = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
    }
}

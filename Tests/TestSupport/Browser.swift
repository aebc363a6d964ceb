public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A test's failure to set up or to get an answer, with the reason.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// A free TCP port on loopback (bound, read, released).
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Headless Chromium (Debian's `chromium`), the real browser the status page is checked in.
public enum Chromium {
    public static var binary: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// Runs headless Chromium with `arguments` and a profile folder of its own, and returns what
    /// it prints on standard output. A run over `timeout` seconds is stopped and is an error.
    public static func run(_ arguments: [String], profile: String, timeout: TimeInterval = 90) throws -> String {
        guard let binary else {
            throw TestFailure("chromium is not installed: apt-get install -y chromium (scripts/install-deps.sh)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--no-default-browser-check", "--hide-scrollbars", "--user-data-dir=\(profile)",
            ] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read on another thread so the limit holds even while Chromium keeps its output open.
        let read = BackgroundRead(output.fileHandleForReading)
        guard let data = read.wait(timeout: .now() + timeout) else {
            process.terminate()
            _ = read.wait(timeout: .now() + 10)
            throw TestFailure("chromium did not finish in \(Int(timeout)) s")
        }
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// The same, on a thread of its own, so the cooperative pool stays free for a server in the
    /// same process.
    public static func run(_ arguments: [String], profile: String, timeout: TimeInterval = 90) async throws -> String {
        try await onThread { try run(arguments, profile: profile, timeout: timeout) }
    }
}

/// The text of the element carrying `data-figure="key"` in a rendered DOM (entities decoded).
public func figure(_ dom: String, _ key: String) -> String? {
    let attribute = "data-figure=\"" + escapeAttribute(key) + "\""
    guard let hit = dom.range(of: attribute),
        let close = dom.range(of: ">", range: hit.upperBound..<dom.endIndex)
    else { return nil }
    // Its text content: the text of the elements inside it too (an amount's number and
    // currency are spans of their own), up to its own end tag.
    var text = ""
    var depth = 0
    var index = close.upperBound
    while index < dom.endIndex {
        guard dom[index] == "<" else {
            text.append(dom[index])
            index = dom.index(after: index)
            continue
        }
        let tagEnd = dom.range(of: ">", range: index..<dom.endIndex)?.upperBound ?? dom.endIndex
        let tag = dom[index..<tagEnd]
        if tag.hasPrefix("</") {
            if depth == 0 { break }
            depth -= 1
        } else if !tag.hasSuffix("/>") {
            depth += 1
        }
        index = tagEnd
    }
    return unescapeHTML(text)
}

public func escapeAttribute(_ text: String) -> String {
    text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
}

public func unescapeHTML(_ text: String) -> String {
    text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
        .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
        .replacingOccurrences(of: "&nbsp;", with: "\u{A0}").replacingOccurrences(of: "&amp;", with: "&")
}

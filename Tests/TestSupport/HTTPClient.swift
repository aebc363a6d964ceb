import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A raw HTTP/1.1 client on POSIX sockets, for tests that talk to a real server on loopback.
/// Hand-written on purpose: every HTTP client library normalises paths, headers and framing,
/// and the security tests need to send exactly the bytes they mean (`/../`, `%2e%2e`,
/// oversized or chunked bodies, slow clients).

public struct HTTPReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: String
    /// From connecting to the last byte, timed on the thread that did it: the server's time,
    /// without the wait for the awaiting test to be scheduled again.
    public var elapsed: Duration = .zero

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    public var json: JSONValue {
        (try? JSONDecoder().decode(JSONValue.self, from: Data(body.utf8))) ?? .null
    }
}

/// Runs blocking socket work on its own thread so the cooperative pool stays free for the server.
public func onThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try work() }) }
        thread.start()
    }
}

/// A connected blocking TCP socket to 127.0.0.1:port with a receive timeout. The default, a
/// minute, says "the server hung", not how fast it was: with the rest of the suite running
/// beside it on a loaded machine, a reply has taken over 10 s to be scheduled.
public final class RawConnection: @unchecked Sendable {
    public let fd: Int32

    public init(port: Int, timeout: Int = 60) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestFailure("socket() failed") }
        var tv = timeval(tv_sec: timeout, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw TestFailure("connect() to port \(port) failed: errno \(errno)")
        }
    }

    deinit { close(fd) }

    @discardableResult
    public func send(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Reads until the peer closes (or the timeout): returns the bytes and whether EOF was seen.
    /// Reads one response to a request on a connection kept open: its head, then as many
    /// bytes of body as its Content-Length says. Empty when none comes before the timeout.
    public func readResponse() -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let end = Array("\r\n\r\n".utf8)
        var bodyStart: Int?
        var length = 0
        while bodyStart.map({ result.count < $0 + length }) ?? true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return result }
            result += buffer[0..<n]
            if bodyStart == nil,
                let i = (0...max(0, result.count - 4)).first(where: { result[$0..<($0 + 4)].elementsEqual(end) })
            {
                bodyStart = i + 4
                let head = String(decoding: result[..<i], as: UTF8.self).lowercased()
                length =
                    head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }
                    .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            }
        }
        return result
    }

    public func readToEnd() -> (bytes: [UInt8], closed: Bool) {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (result, true) }
            if n < 0 { return (result, errno == ECONNRESET) }
            result += buffer[0..<n]
        }
    }
}

/// Sends one raw request (`Connection: close` is the caller's business) and parses the reply.
public func rawRequest(port: Int, _ request: String) async throws -> HTTPReply {
    try await rawRequest(port: port, bytes: Array(request.utf8))
}

public func rawRequest(port: Int, bytes: [UInt8]) async throws -> HTTPReply {
    try await onThread {
        let start = ContinuousClock.now
        let connection = try RawConnection(port: port)
        connection.send(bytes)
        shutdown(connection.fd, Int32(SHUT_WR))
        let (reply, _) = connection.readToEnd()
        var parsed = try parseReply(reply)
        parsed.elapsed = ContinuousClock.now - start
        return parsed
    }
}

public func parseReply(_ bytes: [UInt8]) throws -> HTTPReply {
    let text = String(decoding: bytes, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n") else { throw TestFailure("no complete reply: \(text.prefix(200))") }
    let head = text[..<split.lowerBound].components(separatedBy: "\r\n")
    let statusParts = head[0].split(separator: " ")
    guard statusParts.count >= 2, let status = Int(statusParts[1]) else {
        throw TestFailure("bad status line \(head[0])")
    }
    var headers: [(String, String)] = []
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers.append(
            (String(line[..<colon]), String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
    }
    var body = String(text[split.upperBound...])
    if headers.contains(where: { $0.0.lowercased() == "transfer-encoding" && $0.1.lowercased() == "chunked" }) {
        body = dechunk(body)
    }
    return HTTPReply(status: status, headers: headers, body: body)
}

public func dechunk(_ body: String) -> String {
    var bytes = Substring(body)
    var out = ""
    while let lineEnd = bytes.range(of: "\r\n") {
        guard let size = Int(bytes[..<lineEnd.lowerBound], radix: 16), size > 0 else { break }
        let start = lineEnd.upperBound
        let utf8 = bytes.utf8
        let end = utf8.index(start, offsetBy: size)
        out += String(bytes[start..<end])
        bytes = bytes[end...].dropFirst(2)
    }
    return out
}

/// `GET path` with `Connection: close`.
public func get(_ port: Int, _ path: String, headers: [String] = []) async throws -> HTTPReply {
    let extra = headers.map { $0 + "\r\n" }.joined()
    return try await rawRequest(
        port: port, "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extra)Connection: close\r\n\r\n")
}

/// `POST path` with a body and `Connection: close`.
public func post(_ port: Int, _ path: String, body: String, headers: [String]) async throws -> HTTPReply {
    let extra = headers.map { $0 + "\r\n" }.joined()
    return try await rawRequest(
        port: port,
        "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\(extra)Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
    )
}

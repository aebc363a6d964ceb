import Foundation
import LedgerStore
import TestSupport
import Testing

@testable import StatusServer

#if canImport(Glibc)
    import Glibc
#endif

/// Hostile requests against a real server: each is refused and the server keeps answering.
@Suite struct SecurityTests {
    @Test func insideTheWebRootIsDecidedOnBytes() {
        #expect(ConfinedFileSystem.isInside("/srv/web/index.html", root: "/srv/web"))
        #expect(ConfinedFileSystem.isInside("/srv/web", root: "/srv/web"))
        #expect(ConfinedFileSystem.isInside("/srv/web/\u{301}a.css", root: "/srv/web"))
        #expect(!ConfinedFileSystem.isInside("/srv/website/index.html", root: "/srv/web"))
        #expect(!ConfinedFileSystem.isInside("/srv/we\u{301}b/index.html", root: "/srv/we"))
        // Canonically equal is not the same folder: "é" and "e" + U+0301 are different names.
        #expect(!ConfinedFileSystem.isInside("/srv/\u{E9}/index.html", root: "/srv/e\u{301}"))
    }

    /// A web root with the real page plus traps: a symlink to a file outside, a symlinked folder
    /// outside, a dot-file, and a harmless symlink inside.
    func trappedWebRoot(_ dir: TemporaryDirectory) throws -> String {
        let fm = FileManager.default
        let root = dir.path + "/web"
        let outside = dir.path + "/outside"
        try fm.createDirectory(atPath: root, withIntermediateDirectories: true)
        try fm.createDirectory(atPath: outside, withIntermediateDirectories: true)
        for name in ["index.html", "app.js", "style.css"] {
            try fm.copyItem(atPath: webRoot + "/" + name, toPath: root + "/" + name)
        }
        try "TOP-SECRET-MARKER".write(toFile: outside + "/secret.txt", atomically: true, encoding: .utf8)
        try "TOP-SECRET-MARKER".write(toFile: root + "/.hidden", atomically: true, encoding: .utf8)
        try fm.createSymbolicLink(atPath: root + "/secret-link.txt", withDestinationPath: outside + "/secret.txt")
        try fm.createSymbolicLink(atPath: root + "/relative-link.txt", withDestinationPath: "../outside/secret.txt")
        try fm.createSymbolicLink(atPath: root + "/outside-dir", withDestinationPath: outside)
        try fm.createSymbolicLink(atPath: root + "/passwd", withDestinationPath: "/etc/passwd")
        try fm.createSymbolicLink(atPath: root + "/home.html", withDestinationPath: "index.html")
        return root
    }

    @Test func traversalAndSymlinksOutOfTheWebRootAreRefused() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let root = try trappedWebRoot(dir)
        try await withServer(store: store, root: root) { port in
            let attempts = [
                "/../etc/passwd", "/../../../../../../etc/passwd", "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                "/%2E%2E%2F%2E%2E%2F%2E%2E%2Fetc%2Fpasswd", "/%252e%252e/%252e%252e/etc/passwd",
                "/%252e%252e%252f%252e%252e%252fetc%252fpasswd", "/..%2f..%2f..%2fetc%2fpasswd",
                "/app.js/../../../etc/passwd", "/./../outside/secret.txt", "/..%5c..%5coutside%5csecret.txt",
                "/%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd", "/..;/outside/secret.txt", "/%00../etc/passwd",
                "/index.html%00.txt", "/secret-link.txt", "/relative-link.txt", "/outside-dir/secret.txt",
                "/outside-dir/", "/passwd", "/.hidden", "/%2ehidden", "/./.hidden", "//etc/passwd",
                "http://127.0.0.1/../etc/passwd",
            ]
            for path in attempts {
                let reply = try await get(port, path)
                #expect([400, 404].contains(reply.status), "\(path) answered \(reply.status)")
                #expect(!reply.body.contains("TOP-SECRET-MARKER"), "\(path) leaked the secret")
                #expect(!reply.body.contains("root:x:0:0"), "\(path) leaked /etc/passwd")
                #expect(reply.header("X-Content-Type-Options") == "nosniff", "\(path)")
            }
            // A symlink that stays inside the root is fine.
            let inside = try await get(port, "/home.html")
            #expect(inside.status == 200)
            #expect(inside.body.contains("<title>ledgerd</title>"))
            // Still alive.
            #expect(try await get(port, "/healthz").status == 200)
            #expect(try await get(port, "/").status == 200)
        }
        _ = dir
    }

    /// Range requests get the whole file (the file middleware answered some wrongly), and the
    /// API answers HEAD as monitors send it.
    @Test func rangesGetTheWholeFileAndTheAPIAnswersHEAD() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        try await withServer(store: store) { port in
            let whole = try await get(port, "/index.html")
            #expect(whole.status == 200)
            for range in ["bytes=999999-", "bytes=-5", "bytes=0-10", "bytes=-0", "bytes=abc"] {
                let reply = try await get(port, "/index.html", headers: ["Range: \(range)"])
                #expect(reply.status == 200, "\(range) answered \(reply.status)")
                #expect(reply.header("Content-Range") == nil, "\(range)")
                #expect(reply.body == whole.body, "\(range)")
            }
            for path in ["/healthz", "/metrics", "/api/status"] {
                let reply = try await rawRequest(
                    port: port, "HEAD \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
                #expect(reply.status == 200, "HEAD \(path) answered \(reply.status)")
                #expect(reply.body.isEmpty, "HEAD \(path)")
                // The length the GET's body would have, not 0.
                let length = Int(reply.header("Content-Length") ?? "") ?? 0
                #expect(length > 0, "HEAD \(path): Content-Length \(reply.header("Content-Length") ?? "none")")
                if path == "/healthz" { #expect(length == (try await get(port, path)).body.utf8.count) }
            }
            // On a connection kept open, the next request on it is answered as usual.
            let twice = try await rawRequest(
                port: port,
                "HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\n\r\n"
                    + "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n")
            // No body bytes after the HEAD's headers: the GET's answer follows at once.
            #expect(twice.body.hasPrefix("HTTP/1.1 200"), "\(twice.body)")
        }
        _ = dir
    }

    @Test func actionsNeedTheBearerTokenAndJSON() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let actions = FakeActions()
        let body = #"{"name": "broken-invoice.xml"}"#
        try await withServer(store: store, actions: actions) { port in
            let json = "Content-Type: application/json"
            let refused: [(String, [String])] = [
                ("no token", [json]),
                ("wrong token", ["Authorization: Bearer wrong-token", json]),
                ("prefix of the token", ["Authorization: Bearer s3cret", json]),
                ("token plus more", ["Authorization: Bearer s3cret-tokenX", json]),
                ("empty bearer", ["Authorization: Bearer ", json]),
                ("basic auth", ["Authorization: Basic czNjcmV0LXRva2Vu", json]),
                ("token without scheme", ["Authorization: s3cret-token", json]),
                ("token in a cookie", ["Cookie: token=s3cret-token", json]),
            ]
            for (what, headers) in refused {
                for path in ["/api/actions/retry", "/api/actions/rescan", "/api/actions/done"] {
                    let reply = try await post(port, path, body: body, headers: headers)
                    #expect(reply.status == 401, "\(what) on \(path): \(reply.status)")
                    #expect(reply.header("WWW-Authenticate") == "Bearer realm=\"ledgerd\"")
                }
            }
            let query = try await post(port, "/api/actions/rescan?token=s3cret-token", body: "{}", headers: [json])
            #expect(query.status == 401)

            // The right token but not JSON: a form post from another site cannot get through.
            for type in ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"] {
                let reply = try await post(
                    port, "/api/actions/retry", body: body,
                    headers: ["Authorization: Bearer s3cret-token", "Content-Type: \(type)"])
                #expect(reply.status == 415, "\(type)")
            }
            let untyped = try await post(
                port, "/api/actions/rescan", body: "{}", headers: ["Authorization: Bearer s3cret-token"])
            #expect(untyped.status == 415)
            // GET does not act.
            #expect(try await get(port, "/api/actions/rescan").status == 404)
            #expect(try await get(port, "/healthz").status == 200)
        }
        #expect(actions.calls.withLock { $0 }.isEmpty)
        _ = dir
    }

    @Test func withoutAConfiguredTokenActionsAreOff() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let actions = FakeActions()
        for token in [nil, ""] as [String?] {
            try await withServer(store: store, token: token, actions: actions) { port in
                for headers in [
                    ["Content-Type: application/json"], ["Authorization: Bearer ", "Content-Type: application/json"],
                ] {
                    let reply = try await post(port, "/api/actions/rescan", body: "{}", headers: headers)
                    #expect(reply.status == 403)
                    #expect(reply.json["error"].string == "actions are off: no token is configured")
                }
            }
        }
        #expect(actions.calls.withLock { $0 }.isEmpty)
        _ = dir
    }

    @Test func oversizedBodiesAreRefusedWith413() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let actions = FakeActions()
        try await withServer(store: store, actions: actions) { port in
            let auth = "Authorization: Bearer s3cret-token\r\nContent-Type: application/json\r\n"
            let big = #"{"name": ""# + String(repeating: "a", count: 16 * 1024) + #""}"#
            // Declared too large: refused before the body is read.
            let declared = try await post(
                port, "/api/actions/retry", body: big,
                headers: ["Authorization: Bearer s3cret-token", "Content-Type: application/json"])
            #expect(declared.status == 413)
            let lying = try await rawRequest(
                port: port,
                "POST /api/actions/retry HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Content-Length: 10000000000\r\n\r\n{")
            #expect(lying.status == 413)
            let onGet = try await rawRequest(
                port: port, "GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\nxx")
            #expect(onGet.status == 413)
            // Chunked, so no length up front: refused while reading.
            var chunked =
                "POST /api/actions/retry HTTP/1.1\r\nHost: 127.0.0.1\r\n\(auth)Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            for _ in 0..<20 { chunked += "400\r\n" + String(repeating: "b", count: 1024) + "\r\n" }
            chunked += "0\r\n\r\n"
            let streamed = try await rawRequest(port: port, chunked)
            #expect(streamed.status == 413)
            // A body just under the limit is read (and is a bad name, not a 413).
            let fits = #"{"name": ""# + String(repeating: "c", count: 200) + #""}"#
            let small = try await post(
                port, "/api/actions/retry", body: fits,
                headers: ["Authorization: Bearer s3cret-token", "Content-Type: application/json"])
            #expect(small.status == 404)
            #expect(try await get(port, "/healthz").status == 200)
        }
        #expect(actions.calls.withLock { $0 }.count == 1)
        _ = dir
    }

    @Test func slowAndSilentClientsAreCutOffWhileOthersAreServed() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        try await withServer(store: store, idleTimeout: .seconds(1)) { port in
            // 1. Headers dripped one byte every 100 ms, never finished.
            async let dripped: Duration = onThread {
                let connection = try RawConnection(port: port, timeout: 1)
                let start = ContinuousClock.now
                let head =
                    Array("GET /api/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".utf8)
                    + Array(repeating: UInt8(ascii: "a"), count: 1000)
                for byte in head {
                    if ContinuousClock.now - start > .seconds(15) { break }
                    if !connection.send([byte]) { break }
                    var probe: UInt8 = 0
                    let n = recv(connection.fd, &probe, 1, Int32(MSG_DONTWAIT))
                    if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { break }
                    usleep(100_000)
                }
                return ContinuousClock.now - start
            }
            // 2. Connected and silent.
            async let silent: (Duration, Bool) = onThread {
                let connection = try RawConnection(port: port, timeout: 15)
                let start = ContinuousClock.now
                let (_, closed) = connection.readToEnd()
                return (ContinuousClock.now - start, closed)
            }
            // 3. A body promised and never sent.
            async let stalledBody: (Duration, Bool) = onThread {
                let connection = try RawConnection(port: port, timeout: 15)
                let start = ContinuousClock.now
                _ = connection.send(
                    "POST /api/actions/rescan HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret-token\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"a\":"
                )
                let (_, closed) = connection.readToEnd()
                return (ContinuousClock.now - start, closed)
            }
            // Meanwhile everyone else is served — each request well before the slow clients are
            // cut off (6 s), so none of them waited for those. (Not a speed target: the suite runs
            // beside others on two cores.)
            try await Task.sleep(for: .milliseconds(300))
            for _ in 0..<15 {
                let reply = try await get(port, "/api/status")
                #expect(reply.status == 200)
                #expect(reply.elapsed < .seconds(5))
            }
            let drippedFor = try await dripped
            #expect(drippedFor < .seconds(6), "the dripping client was kept for \(drippedFor)")
            let (silentFor, silentClosed) = try await silent
            #expect(silentClosed)
            #expect(silentFor < .seconds(6), "the silent client was kept for \(silentFor)")
            let (stalledFor, stalledClosed) = try await stalledBody
            #expect(stalledClosed)
            #expect(stalledFor < .seconds(6), "the stalled body was kept for \(stalledFor)")
            #expect(try await get(port, "/healthz").status == 200)
        }
        _ = dir
    }

    /// Connections beyond the bound wait until one closes: a client holding many open cannot use
    /// up the files the daemon needs, and the server answers again as soon as they go.
    @Test func connectionsBeyondTheBoundWait() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        // The held connections are not cut off by the idle timeout meanwhile, however slow the machine.
        try await withServer(store: store, idleTimeout: .seconds(300), maxConnections: 4) { port in
            var held: [RawConnection] = []
            for _ in 0..<4 {
                // Each answered once and kept open: taken by the server and holding its place
                // (opened all at once, a slow server may take five in one go before it counts).
                let connection = try RawConnection(port: port, timeout: 30)
                _ = connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                let answer = try await onThread { String(decoding: connection.readResponse(), as: UTF8.self) }
                try #require(answer.hasPrefix("HTTP/1.1 200"), "\(answer)")
                held.append(connection)
            }
            let waiting = try RawConnection(port: port, timeout: 2)
            _ = waiting.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            var probe = [UInt8](repeating: 0, count: 64)
            let early = probe.withUnsafeMutableBytes { recv(waiting.fd, $0.baseAddress, $0.count, 0) }
            #expect(early < 0, "answered while four connections were held")
            held.removeAll()  // closes them
            let reply = try await onThread { () -> String in
                var tv = timeval(tv_sec: 60, tv_usec: 0)
                setsockopt(waiting.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                return String(decoding: waiting.readToEnd().bytes, as: UTF8.self)
            }
            #expect(reply.hasPrefix("HTTP/1.1 200"), "\(reply)")
        }
        _ = dir
    }

    @Test func foreignHostNamesAreRefused() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        try await withServer(store: store) { port in
            for host in ["evil.example", "evil.example:\(port)", "127.0.0.1.nip.io:\(port)", "localhost.evil.example"] {
                let reply = try await rawRequest(
                    port: port, "GET /api/status HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
                #expect(reply.status == 421, "\(host)")
                #expect(!reply.body.contains("recent_documents"))
            }
            for host in ["localhost:\(port)", "127.0.0.1:\(port)", "LOCALHOST", "[::1]:\(port)", "localhost."] {
                let reply = try await rawRequest(
                    port: port, "GET /healthz HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n\r\n")
                #expect(reply.status == 200, "\(host)")
            }
        }
        try await withServer(store: store, allowedHosts: ["ledger.lan"]) { port in
            let configured = try await rawRequest(
                port: port, "GET /healthz HTTP/1.1\r\nHost: ledger.lan:\(port)\r\nConnection: close\r\n\r\n")
            #expect(configured.status == 200)
            let other = try await rawRequest(
                port: port, "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            #expect(other.status == 421)
        }
        _ = dir
    }

    @Test func tokenComparisonAndHelpers() {
        #expect(Security.tokensMatch(presented: "abc", expected: "abc"))
        #expect(!Security.tokensMatch(presented: "abd", expected: "abc"))
        #expect(!Security.tokensMatch(presented: "ab", expected: "abc"))
        #expect(!Security.tokensMatch(presented: "abcd", expected: "abc"))
        #expect(!Security.tokensMatch(presented: "", expected: ""))
        #expect(Security.bearerToken("Bearer  abc ") == "abc")
        #expect(Security.bearerToken("bearer abc") == "abc")
        #expect(Security.bearerToken("Basic abc") == nil)
        #expect(Security.hostName("[::1]:8080") == "::1")
        #expect(Security.hostName("Example.COM:80") == "example.com")
        #expect(Security.hostName("localhost.") == "localhost")
    }
}

@Suite struct SharedReadTests {
    /// Requests within the TTL share one read, however many come at once (a flood of /metrics).
    @Test func requestsWithinTheTTLShareOneRead() async {
        let reads = Locked(0)
        let shared = SharedRead<Int>(ttl: .seconds(600))
        let values = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    await shared.value {
                        try? await Task.sleep(for: .milliseconds(50))
                        return reads.withLock { count in
                            count += 1
                            return count
                        }
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(reads.withLock { $0 } == 1)
        #expect(values == Array(repeating: 1, count: 50))
    }

    /// A read slower than the TTL (a slow disk) is still the only one: requests that come
    /// while it runs wait for it rather than start another beside it.
    @Test func aSlowReadIsNeverDoubled() async throws {
        let running = Locked(0)
        let most = Locked(0)
        let shared = SharedRead<Int>(ttl: .milliseconds(20))
        await withTaskGroup(of: Void.self) { group in
            for i in 0..<20 {
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(30 * i))
                    _ = await shared.value {
                        let now = running.withLock { count in
                            count += 1
                            return count
                        }
                        most.withLock { $0 = max($0, now) }
                        try? await Task.sleep(for: .milliseconds(200))
                        running.withLock { $0 -= 1 }
                        return 0
                    }
                }
            }
        }
        #expect(most.withLock { $0 } == 1)
    }

    @Test func anAnswerOlderThanTheTTLIsReadAgain() async {
        let reads = Locked(0)
        let shared = SharedRead<Int>(ttl: .zero)
        for expected in 1...3 {
            let value = await shared.value {
                reads.withLock { count in
                    count += 1
                    return count
                }
            }
            #expect(value == expected)
        }
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A page in headless Chromium, used as a person uses it: real mouse clicks and typed text,
/// and what the page then shows, read back.
///
/// Driven over the DevTools protocol through `--remote-debugging-pipe`: each message is JSON
/// ending in a NUL byte, written to the browser's file descriptor 3 and read from its 4.
/// Written here because no Swift package for it is in the mirror, and a pipe needs no
/// WebSocket client; `--dump-dom` (`Chromium.run`) only renders a page, it cannot act on it.
public final class BrowserPage {
    private let pid: pid_t
    /// The browser's process.
    public var processID: Int32 { pid }
    /// Ours to write the browser's commands to (its descriptor 3).
    private let commands: Int32
    /// Ours to read its replies and events from (its descriptor 4).
    private let replies: Int32
    private var pending: [UInt8] = []
    /// Events that came while a reply was awaited, for `nextEvent`.
    private var events: [[String: Any]] = []
    private var lastID = 0
    private var session = ""
    private var closed = false

    /// Starts Chromium with a profile of its own in `profile` and opens `url` in a window of
    /// `width` by `height` CSS pixels.
    public init(url: String, profile: String, width: Int = 1280, height: Int = 1600) throws {
        guard let binary = Chromium.binary else {
            throw TestFailure("chromium is not installed: apt-get install -y chromium (scripts/install-deps.sh)")
        }
        // Close-on-exec, so no other program the tests start holds an end open; the two
        // descriptors the browser is given are duplicated without it.
        var toBrowser: [Int32] = [0, 0]
        var fromBrowser: [Int32] = [0, 0]
        guard pipe(&toBrowser) == 0, pipe(&fromBrowser) == 0 else {
            throw TestFailure("cannot make pipes for chromium: \(String(cString: strerror(errno)))")
        }
        for fd in toBrowser + fromBrowser { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // Ends numbered 3 or 4 would be overwritten by the other's duplication: moved higher.
        func above4(_ fd: Int32) -> Int32 {
            guard fd <= 4 else { return fd }
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 10)
            Glibc.close(fd)
            return moved
        }
        let browserReads = above4(toBrowser[0])
        let browserWrites = above4(fromBrowser[1])
        commands = toBrowser[1]
        replies = fromBrowser[0]

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, browserReads, 3)
        posix_spawn_file_actions_adddup2(&actions, browserWrites, 4)
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing else of this process goes with it: tests beside this one write files, and a
        // browser holding one open for writing (inherited while it was written) makes ledgerd
        // take that file for a copy in progress. Foundation's Process closes them the same way.
        Self.closeTheRest(&actions, from: 5)
        let arguments = [
            binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--hide-scrollbars", "--user-data-dir=\(profile)",
            "--remote-debugging-pipe", "--window-size=\(width),\(height)", "about:blank",
        ]
        var argv = arguments.map { strdup($0) } + [nil]
        defer { for arg in argv { free(arg) } }
        var child: pid_t = 0
        let spawned = posix_spawn(&child, binary, &actions, nil, &argv, environ)
        Glibc.close(browserReads)
        Glibc.close(browserWrites)
        guard spawned == 0 else {
            Glibc.close(commands)
            Glibc.close(replies)
            throw TestFailure("cannot start chromium: \(String(cString: strerror(spawned)))")
        }
        pid = child
        do {
            let target = try send("Target.createTarget", ["url": url])
            guard let id = target["targetId"] as? String else { throw TestFailure("chromium opened no page") }
            let attached = try send("Target.attachToTarget", ["targetId": id, "flatten": true])
            guard let session = attached["sessionId"] as? String else { throw TestFailure("cannot attach to the page") }
            self.session = session
            // A new page is about:blank, complete, before it is at `url`: waited for there.
            let away = url == "about:blank" ? "true" : "location.href !== 'about:blank'"
            try waitFor("\(away) && document.readyState === 'complete'")
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34), which Swift's Glibc module
    /// does not show: found at run time. Without it, each descriptor open now is closed, and
    /// one opened meanwhile by another thread may still be inherited.
    private static func closeTheRest(_ actions: inout posix_spawn_file_actions_t, from lowest: Int32) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, lowest)
            return
        }
        for fd in lowest..<Int32(min(sysconf(Int32(_SC_OPEN_MAX)), 65536)) where fcntl(fd, F_GETFD) >= 0 {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }

    /// Ends the browser (politely, then for sure).
    public func close() {
        guard !closed else { return }
        closed = true
        _ = try? send("Browser.close", [:], session: nil, timeout: 5)
        Glibc.close(commands)
        Glibc.close(replies)
        for _ in 0..<50 {
            if waitpid(pid, nil, WNOHANG) == pid { return }
            usleep(100_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, nil, 0)
    }

    /// The value of a JavaScript expression in the page (awaited if it is a promise), as JSON
    /// gives it: String, NSNumber, Bool, array, dictionary, or nil for null and undefined.
    @discardableResult
    public func evaluate(_ expression: String) throws -> Any? {
        let answer = try send(
            "Runtime.evaluate", ["expression": expression, "awaitPromise": true, "returnByValue": true])
        if let exception = answer["exceptionDetails"] as? [String: Any] {
            let text = (exception["exception"] as? [String: Any])?["description"] ?? exception["text"] ?? exception
            throw TestFailure("the page threw on \(expression): \(text)")
        }
        let value = (answer["result"] as? [String: Any])?["value"]
        return value is NSNull ? nil : value
    }

    /// The expression's value as text; nil when it is not a string.
    public func text(_ expression: String) throws -> String? { try evaluate(expression) as? String }

    /// Waits until `expression` is true in the page; an error naming it after `seconds`, with
    /// what the page showed then: its focus, any dialog open, and the line actions answer on.
    public func waitFor(_ expression: String, seconds: Double = 20) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if try evaluate("Boolean(\(expression))") as? Bool == true { return }
            guard Date() < deadline else {
                throw TestFailure("waited \(seconds) s in vain for: \(expression); the page: \(state)")
            }
            usleep(50_000)
        }
    }

    /// Clicks the middle of the first element matching `selector` with the mouse, after
    /// scrolling it into view: what the page does then is what a click there does, nothing
    /// it would not do for a person (a hidden or covered element gets no click).
    public func click(_ selector: String) throws {
        let quoted = try quote(selector)
        let box = try evaluate(
            """
            (() => { const e = document.querySelector(\(quoted)); if (!e) return null;
              e.scrollIntoView({block: "center"}); const r = e.getBoundingClientRect();
              return [r.left + r.width / 2, r.top + r.height / 2]; })()
            """)
        guard let point = box as? [NSNumber], point.count == 2 else {
            throw TestFailure("nothing on the page matches \(selector)")
        }
        for type in ["mousePressed", "mouseReleased"] {
            try send(
                "Input.dispatchMouseEvent",
                ["type": type, "x": point[0].doubleValue, "y": point[1].doubleValue, "button": "left", "clickCount": 1])
        }
    }

    /// Types `text` into whatever has the focus, as a keyboard would.
    public func type(_ text: String) throws {
        try send("Input.insertText", ["text": text])
    }

    /// Presses a key that acts rather than types (`Enter`, `Escape`) on the element in focus.
    public func press(_ key: String) throws {
        let codes = ["Enter": 13, "Escape": 27, "Tab": 9]
        guard let code = codes[key] else { throw TestFailure("no key code for \(key)") }
        var down: [String: Any] = ["type": "keyDown", "key": key, "code": key, "windowsVirtualKeyCode": code]
        if key == "Enter" { down["text"] = "\r" }
        try send("Input.dispatchKeyEvent", down)
        try send("Input.dispatchKeyEvent", ["type": "keyUp", "key": key, "code": key, "windowsVirtualKeyCode": code])
    }

    /// From now on, holds each request whose URL matches `pattern` (`*` for any characters)
    /// before it is sent, until `resume` lets it go: answers can then be made to come in
    /// another order than they were asked for.
    public func holdRequests(matching pattern: String) throws {
        try send("Fetch.enable", ["patterns": [["urlPattern": pattern, "requestStage": "Request"]]])
    }

    /// What the page shows, for a test that waited in vain: its focus, any dialog open, and
    /// the line actions answer on.
    var state: String {
        (try? text(
            """
            JSON.stringify({ focus: document.activeElement && (document.activeElement.id || document.activeElement.tagName),
              dialogs: [...document.querySelectorAll('dialog[open]')].map((d) => d.id),
              result: (document.getElementById('action-result') || {}).textContent })
            """)) ?? "?"
    }

    /// The next request held (`holdRequests`): its id for `resume`, and its URL.
    public func heldRequest(seconds: Double = 20) throws -> (id: String, url: String) {
        let event: [String: Any]
        do {
            event = try nextEvent("Fetch.requestPaused", seconds: seconds)
        } catch {
            throw TestFailure("no request was held in \(seconds) s (\(error)); the page: \(state)")
        }
        let parameters = event["params"] as? [String: Any] ?? [:]
        let request = parameters["request"] as? [String: Any] ?? [:]
        return (parameters["requestId"] as? String ?? "", request["url"] as? String ?? "")
    }

    /// Sends a held request on.
    public func resume(_ id: String) throws {
        try send("Fetch.continueRequest", ["requestId": id])
    }

    /// `text` as a JavaScript string literal.
    public func quote(_ text: String) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: [text]), as: UTF8.self).dropFirst().dropLast()
            .description
    }

    // MARK: - The protocol

    @discardableResult
    private func send(_ method: String, _ parameters: [String: Any]) throws -> [String: Any] {
        try send(method, parameters, session: session.isEmpty ? nil : session, timeout: 30)
    }

    /// Sends one command and returns its result, passing over the events that come first.
    private func send(_ method: String, _ parameters: [String: Any], session: String?, timeout: Double) throws
        -> [String: Any]
    {
        lastID += 1
        let id = lastID
        var message: [String: Any] = ["id": id, "method": method, "params": parameters]
        if let session { message["sessionId"] = session }
        var bytes = [UInt8](try JSONSerialization.data(withJSONObject: message))
        bytes.append(0)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(commands, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestFailure("chromium stopped reading (\(method))") }
            written += n
        }
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let reply = try nextMessage(until: deadline, waitingFor: method)
            guard reply["id"] as? Int == id else {
                if reply["method"] != nil { events.append(reply) }
                continue
            }
            if let error = reply["error"] as? [String: Any] {
                throw TestFailure("chromium refused \(method): \(error["message"] ?? error)")
            }
            return reply["result"] as? [String: Any] ?? [:]
        }
    }

    /// The next event named `method` from the page, kept or still to come; the others before
    /// it are passed over.
    private func nextEvent(_ method: String, seconds: Double) throws -> [String: Any] {
        if let index = events.firstIndex(where: { $0["method"] as? String == method }) {
            let event = events[index]
            events.removeSubrange(...index)
            return event
        }
        events.removeAll()
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let message = try nextMessage(until: deadline, waitingFor: method)
            if message["method"] as? String == method { return message }
        }
    }

    private func nextMessage(until deadline: Date, waitingFor method: String) throws -> [String: Any] {
        while true {
            if let end = pending.firstIndex(of: 0) {
                let message = Array(pending[..<end])
                pending.removeSubrange(...end)
                return try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] ?? [:]
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { throw TestFailure("chromium did not answer \(method) in time") }
            var poller = pollfd(fd: replies, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, Int32(min(left, 1) * 1000)) >= 0 || errno == EINTR else {
                throw TestFailure("cannot wait for chromium: \(String(cString: strerror(errno)))")
            }
            guard poller.revents != 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { read(replies, $0.baseAddress, $0.count) }
            guard n > 0 else { throw TestFailure("chromium closed its end while asked for \(method)") }
            pending += chunk[..<n]
        }
    }
}

import Foundation
import Hummingbird
import HummingbirdCore
public import LedgerCore
public import LedgerStore
public import Logging
import NIOCore
import Prometheus
public import ServiceLifecycle
import Synchronization

/// Why the server could not start.
public enum StatusServerError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The socket could not be bound (port in use, address not local, no permission).
    case bindFailed(host: String, port: Int, reason: String)
    /// The web root does not exist.
    case webRootMissing(String)

    public var description: String {
        switch self {
        case .bindFailed(let host, let port, let reason):
            return
                "the status page cannot listen on \(host):\(port): \(reason). Is another ledgerd (or another program) "
                + "using that port? Choose another with [server] listen in the configuration."
        case .webRootMissing(let path):
            return "the status page's web folder \(path) does not exist (it should hold index.html, app.js, style.css)"
        }
    }
}

/// The status page, its JSON API, `/healthz` and `/metrics`, as a swift-service-lifecycle
/// service. Routes:
/// - `GET /` and static files from `settings.webRoot`
/// - `GET /api/status` — everything the page shows (see `StatusDocument`)
/// - `GET /healthz` — 200 when the watcher, the database and the scheduler are alive, else 503
///   with the reasons
/// - `GET /metrics` — Prometheus text
/// - `POST /api/actions/retry` `{"name": "…"}`, `POST /api/actions/rescan` and
///   `POST /api/actions/done` `{"document_id": 12}` — bearer token
public struct StatusServer: Service, CustomStringConvertible {
    let settings: StatusServerSettings
    let store: LedgerStore
    let accounts: AccountPlan
    let runtime: @Sendable () async -> RuntimeSnapshot
    let actions: any StatusActions
    let logger: Logger
    let registry: PrometheusCollectorRegistry
    let cache: FactsCache
    /// The open totals `/metrics` reports, read once for every request within the status TTL:
    /// a scraper (or anyone) sending hundreds of requests at once makes one read, not hundreds.
    let outstandingRead:
        SharedRead<(totals: [(side: String, currency: String, documents: Int, openMinor: Int64)], lastPosted: String?)?>

    /// What service-lifecycle's log lines name it by: the settings (no token), not every
    /// field, which would print the configuration the actions hold, token and all.
    public var description: String { "StatusServer(\(settings))" }

    public init(
        settings: StatusServerSettings, store: LedgerStore, accounts: AccountPlan,
        runtime: @escaping @Sendable () async -> RuntimeSnapshot, actions: any StatusActions, logger: Logger
    ) {
        self.settings = settings
        self.store = store
        self.accounts = accounts
        self.runtime = runtime
        self.actions = actions
        self.logger = logger
        self.registry = LedgerMetrics.bootstrap()
        self.cache = FactsCache(
            store: store,
            builder: StatusBuilder(
                accounts: accounts, actionsEnabled: settings.actionsEnabled, companyName: settings.companyName,
                companyConfigured: settings.companyConfigured),
            ttl: settings.statusCacheTTL, auditInterval: settings.auditInterval)
        self.outstandingRead = SharedRead(ttl: settings.statusCacheTTL)
    }

    /// The GET's answer without its body: its Content-Length still says how long the body
    /// would be (an empty body would set it to 0).
    static func headOnly(_ response: Response) -> Response {
        var response = response
        response.body = ResponseBody(contentLength: response.body.contentLength) { writer in
            try await writer.finish(nil)
        }
        return response
    }

    /// Serves until graceful shutdown (or cancellation). Throws `StatusServerError.bindFailed`
    /// when the address cannot be bound, and `.webRootMissing` when there is nothing to serve.
    public func run() async throws {
        let files = try ConfinedFileSystem(root: settings.webRoot, logger: logger)
        let router = Router(context: BasicRequestContext.self)
        router.add(
            middleware: GuardMiddleware(maxBodyBytes: settings.maxBodyBytes, acceptedHosts: settings.acceptedHostNames))
        router.add(middleware: FileMiddleware(fileProvider: files, searchForIndexHtml: true))
        router.get("/api/status") { _, _ in await self.statusResponse() }
        router.get("/healthz") { _, _ in await self.healthResponse() }
        router.get("/metrics") { _, _ in await self.metricsResponse() }
        router.get("/api/documents") { request, _ in await self.findResponse(request) }
        // HEAD as well, for monitors that probe with it: the same status and headers, no body.
        router.head("/api/status") { _, _ in Self.headOnly(await self.statusResponse()) }
        router.head("/healthz") { _, _ in Self.headOnly(await self.healthResponse()) }
        router.head("/metrics") { _, _ in Self.headOnly(await self.metricsResponse()) }
        router.head("/api/documents") { request, _ in Self.headOnly(await self.findResponse(request)) }
        router.post("/api/actions/retry") { request, _ in await self.retry(request) }
        router.post("/api/actions/rescan") { request, _ in await self.rescan(request) }
        router.post("/api/actions/done") { request, _ in await self.done(request) }

        let listening = Locked(false)
        let settings = self.settings
        let logger = self.logger
        let idle = TimeAmount.nanoseconds(settings.idleTimeout.nanoseconds)
        // Hummingbird's own "Server started and listening on …" would repeat the line below;
        // its warnings and errors still come through, and all of it with --debug.
        var serverLogger = logger
        if serverLogger.logLevel > .debug { serverLogger.logLevel = max(serverLogger.logLevel, .notice) }
        let application = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: idle)),
            configuration: .init(
                address: .hostname(settings.host, port: settings.port), serverName: nil, backlog: 256,
                reuseAddress: true,
                // Past this many open connections, new ones wait in the backlog: a client opening
                // thousands cannot use up the files the daemon needs (it crashed at the limit).
                availableConnectionsDelegate: MaximumAvailableConnections(settings.maxConnections, logger: logger)),
            onServerRunning: { channel in
                listening.withLock { $0 = true }
                let port = channel.localAddress?.port ?? settings.port
                logger.info("status page listening", metadata: ["url": "http://\(settings.host):\(port)/"])
                if !settings.isLoopback {
                    logger.warning(
                        "the status page listens on \(settings.host):\(port), beyond this machine: anyone who can reach that port reads the books (reading needs no token, only the actions do); listen on 127.0.0.1 behind a proxy that asks who is there, or keep the port firewalled"
                    )
                }
                await settings.onListening?(settings.host, port)
            },
            logger: serverLogger)
        do {
            try await application.run()
        } catch {
            if !listening.withLock({ $0 }) && !(error is CancellationError) && !Task.isCancelled {
                throw StatusServerError.bindFailed(
                    host: settings.host, port: settings.port, reason: Self.describe(error))
            }
            throw error
        }
    }

    /// The value of `key` in a query string as HTML forms, `URLSearchParams` and
    /// `curl --data-urlencode` write it: `+` for a space, `%2B` for a plus. Hummingbird's
    /// `queryParameters` decodes the `%` escapes only, so `?name=two+words` would look for a
    /// plus. A value that is not valid percent-encoding (`100%_`) is taken as written, as
    /// Hummingbird takes it. Nil when the key is not there.
    static func formValue(_ key: String, in query: String?) -> String? {
        guard let query else { return nil }
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts[0] == key else { continue }
            let spaced = (parts.count > 1 ? parts[1] : "").replacingOccurrences(of: "+", with: " ")
            return spaced.removingPercentEncoding ?? spaced
        }
        return nil
    }

    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError {
            return String(cString: strerror(io.errnoCode)) + " (errno \(io.errnoCode))"
        }
        return "\(error)"
    }

    // MARK: - Handlers

    func statusResponse() async -> Response {
        let now = Date()
        let today = StatusBuilder.localDay(now)
        let snapshot = await runtime()
        // Idle, the daemon has nothing in hand: what it took in is in the books, and the page
        // must not say idle beside figures from before (the end of a burst).
        let idle = snapshot.inboxes.allSatisfy { $0.backlog == 0 }
        let cached = await cache.sections(today: today, current: idle)
        let sections: EncodedSections
        var databaseError: String?
        switch cached {
        case .success(let encoded):
            sections = encoded
        case .failure(let error):
            databaseError = error.message
            guard let empty = try? EncodedSections(StatusBuilder.unreadable(today: today)) else {
                return JSONResponse.error(.internalServerError, "could not encode the answer")
            }
            sections = empty
        }
        let live = cache.builder.live(
            sections: databaseError == nil ? sections.sections : nil, databaseError: databaseError,
            runtime: snapshot, now: now, today: today)
        do {
            return JSONResponse.response(
                .ok, json: StatusJSON.join(try JSONResponse.encoder().encode(live), sections.json))
        } catch {
            return JSONResponse.error(.internalServerError, "could not encode the answer: \(error)")
        }
    }

    /// `GET /api/documents?name=TEXT`: the documents and files dropped again whose name holds
    /// TEXT, newest first (at most 50), with the total; what became of a file dropped some time
    /// ago, which the recent documents no longer show.
    func findResponse(_ request: Request) async -> Response {
        let name = Self.formValue("name", in: request.uri.query) ?? ""
        guard !name.isEmpty else {
            return JSONResponse.error(.badRequest, "Type part of a file's name to look for (?name=…).")
        }
        guard name.count <= 200 else {
            return JSONResponse.error(.badRequest, "That is longer than any file name: at most 200 characters.")
        }
        struct Found: Encodable {
            var name: String
            var total: Int
            var items: [DocumentItem]
        }
        let store = self.store
        do {
            let found = try await Offload.run(timeout: .seconds(10)) {
                try store.findDocuments(nameContaining: name, limit: 50)
            }
            let builder = cache.builder
            let items = found.items.map { document in
                builder.item(
                    of: document,
                    open: (document.state == "rejected" || document.state == "duplicate_number")
                        && document.resolvedAt == nil)
            }
            return JSONResponse.response(.ok, Found(name: name, total: found.total, items: items))
        } catch {
            logger.warning("a search of the books failed", metadata: ["error": "\(error)"])
            return JSONResponse.error(.serviceUnavailable, "The books could not be read just now; try again.")
        }
    }

    struct HealthAnswer: Encodable {
        var status: String
        var watcher: String
        var database: String
        var scheduler: String
        var reasons: [String]
    }

    func databaseError() async -> String? {
        let store = self.store
        do {
            try await Offload.run(timeout: .seconds(3)) { try store.ping() }
            return nil
        } catch {
            return "\(error)"
        }
    }

    func healthResponse() async -> Response {
        async let snapshot = runtime()
        let databaseError = await databaseError()
        let health = StatusBuilder.health(runtime: await snapshot, databaseError: databaseError, now: Date())
        let answer = HealthAnswer(
            status: health.ok ? "ok" : "unavailable", watcher: health.watcher ? "ok" : "down",
            database: health.database ? "ok" : "down", scheduler: health.scheduler ? "ok" : "down",
            reasons: health.reasons)
        return JSONResponse.response(health.ok ? .ok : .serviceUnavailable, answer)
    }

    func metricsResponse() async -> Response {
        async let snapshot = runtime()
        let store = self.store
        let read = await outstandingRead.value {
            try? await Offload.run(timeout: .seconds(3)) { (try store.outstandingTotals(), try store.lastPostedAt()) }
        }
        let outstanding = read?.totals
        let databaseError = read == nil ? "unreadable" : nil
        let runtime = await snapshot
        // The total backlog, unlabelled, as the daemon records it too (help text "" like the
        // swift-metrics factory's: the registry refuses two help texts for one name; its
        // `# HELP` line is added to the text by `LedgerMetrics.addingHelp`).
        registry.makeGauge(
            descriptor: MetricNameDescriptor(metricName: "ledgerd_backlog", unitName: "files", helpText: "")
        )
        .set(Double(runtime.inboxes.reduce(0) { $0 + $1.backlog }))
        var text = LedgerMetrics.addingHelp(to: registry.emitToString())
        let health = StatusBuilder.health(runtime: runtime, databaseError: databaseError, now: Date())
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for sample in samples { text += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        gauge(
            LedgerMetrics.inboxBacklog, "Files waiting, settling or in hand per inbox.",
            runtime.inboxes.map {
                ("{inbox=\"\(Self.escape($0.name))\"}", String($0.backlog))
            })
        if let outstanding {
            func labels(_ row: (side: String, currency: String, documents: Int, openMinor: Int64)) -> String {
                "{side=\"\(Self.escape(row.side))\",currency=\"\(Self.escape(row.currency))\"}"
            }
            gauge(
                LedgerMetrics.outstanding, "Open invoices and credit notes by side and currency.",
                outstanding.map { (labels($0), String($0.documents)) })
            gauge(
                LedgerMetrics.outstandingMinor,
                "Signed open amount in minor units of the currency (credit notes negative).",
                outstanding.map { (labels($0), String($0.openMinor)) })
        }
        gauge(
            "ledgerd_up", "1 when the watcher, the database and the scheduler are alive.", [("", health.ok ? "1" : "0")]
        )
        gauge("ledgerd_watcher_up", "1 when the inbox watcher runs.", [("", health.watcher ? "1" : "0")])
        gauge("ledgerd_scheduler_up", "1 when the scheduler runs.", [("", health.scheduler ? "1" : "0")])
        gauge("ledgerd_database_up", "1 when the database answers.", [("", health.database ? "1" : "0")])
        if let uptime = health.uptimeSeconds {
            gauge("ledgerd_uptime_seconds", "Seconds since the daemon started.", [("", String(uptime))])
        }
        // For alerts on files that do not get through, whatever the cause: one waiting for
        // long, or nothing posted for longer than files usually come.
        gauge(
            "ledgerd_oldest_waiting_file_seconds", "Seconds the file waiting longest has waited (0 when none waits).",
            [("", String(runtime.oldestWaitingSeconds ?? 0))])
        if let posted = read?.lastPosted.flatMap(StatusBuilder.parseISO) {
            gauge(
                "ledgerd_last_posted_timestamp_seconds", "When the latest document was posted (Unix time).",
                [("", String(Int(posted.timeIntervalSince1970)))])
        }
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }

    // MARK: - Actions

    /// Token and content-type checks shared by the actions; nil when the request may proceed.
    func refusal(_ request: Request) -> Response? {
        guard let expected = settings.token, !expected.isEmpty else {
            return JSONResponse.error(.forbidden, "actions are off: no token is configured")
        }
        guard let presented = Security.bearerToken(request.headers[.authorization]),
            Security.tokensMatch(presented: presented, expected: expected)
        else {
            // A sysadmin wants to hear of these: a mistyped password on the page, a script with
            // an old token, or someone guessing. The token presented is never logged.
            logger.warning(
                "refused \(request.method) \(request.uri.path): \(request.headers[.authorization] == nil ? "no" : "a wrong") token"
            )
            var response = JSONResponse.error(.unauthorized, "a valid bearer token is required")
            response.headers[.wwwAuthenticate] = "Bearer realm=\"ledgerd\""
            return response
        }
        let type = request.headers[.contentType]?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased()
        guard type == "application/json" else {
            return JSONResponse.error(.unsupportedMediaType, "send the request as application/json")
        }
        return nil
    }

    enum ActionBody {
        case body(ByteBuffer)
        /// What to answer instead: the token or content type refused, or the body too large.
        case refused(Response)
    }

    /// An action's request body, once its token and content type pass (`refusal`) and its
    /// size is within the limit.
    func actionBody(_ request: Request) async -> ActionBody {
        if let refusal = refusal(request) { return .refused(refusal) }
        do {
            return .body(try await request.body.collect(upTo: settings.maxBodyBytes))
        } catch {
            var response = JSONResponse.error(
                .contentTooLarge, "request body over the limit of \(settings.maxBodyBytes) bytes")
            response.headers[.connection] = "close"
            return .refused(response)
        }
    }

    struct RetryRequest: Decodable {
        var name: String?
        var documentId: Int64?
        enum CodingKeys: String, CodingKey {
            case name
            case documentId = "document_id"
        }
    }

    func retry(_ request: Request) async -> Response {
        let body: ByteBuffer
        switch await actionBody(request) {
        case .refused(let response): return response
        case .body(let read): body = read
        }
        guard let parsed = try? JSONDecoder().decode(RetryRequest.self, from: Data(buffer: body)),
            parsed.name != nil || parsed.documentId != nil
        else {
            return JSONResponse.error(
                .badRequest, "expected {\"document_id\": <id>} or {\"name\": \"<file name in the rejected folder>\"}")
        }
        if let name = parsed.name, !Security.isPlainFileName(name) {
            return JSONResponse.error(.badRequest, "name must be a plain file name, without a folder")
        }
        let what = parsed.documentId.map { "document \($0)" } ?? parsed.name ?? ""
        logger.notice("retry requested through the status page", metadata: ["file": "\(what)"])
        do {
            let message = try await actions.retryRejected(name: parsed.name, documentID: parsed.documentId)
            await cache.invalidate()
            return JSONResponse.ok(.ok, message)
        } catch let error as StatusActionError {
            switch error {
            case .notFound(let message): return JSONResponse.error(.notFound, message)
            case .conflict(let message): return JSONResponse.error(.conflict, message)
            }
        } catch {
            logger.error("retry failed", metadata: ["file": "\(what)", "error": "\(error)"])
            return JSONResponse.error(.internalServerError, "\(error)")
        }
    }

    struct DoneRequest: Decodable {
        var documentId: Int64
        enum CodingKeys: String, CodingKey {
            case documentId = "document_id"
        }
    }

    /// Marks what a posting left to do by hand as done (as `ledgerd done` does).
    func done(_ request: Request) async -> Response {
        let body: ByteBuffer
        switch await actionBody(request) {
        case .refused(let response): return response
        case .body(let read): body = read
        }
        guard let parsed = try? JSONDecoder().decode(DoneRequest.self, from: Data(buffer: body)) else {
            return JSONResponse.error(.badRequest, "expected {\"document_id\": <id>}")
        }
        let store = self.store
        let id = parsed.documentId
        do {
            let done = try await Offload.run(timeout: .seconds(15)) {
                try store.markNoteDone(documentID: id, actor: "status page (API token)", now: StatusBuilder.iso(Date()))
            }
            guard let done else {
                return JSONResponse.error(.notFound, "Document \(id) has no note still open: done already?")
            }
            logger.notice("a posting's note marked done through the status page", metadata: ["document": "\(id)"])
            await cache.invalidate()
            return JSONResponse.ok(.ok, "\(OneLine.escaped(done.name)): marked done, off the list.")
        } catch {
            logger.error("marking a note done failed", metadata: ["document": "\(id)", "error": "\(error)"])
            return JSONResponse.error(.internalServerError, "\(error)")
        }
    }

    func rescan(_ request: Request) async -> Response {
        let body: ByteBuffer
        switch await actionBody(request) {
        case .refused(let response): return response
        case .body(let read): body = read
        }
        // The rescan takes no parameters: its body is empty or a JSON object (`{}`).
        let text = Data(buffer: body)
        guard
            text.allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) })
                || (try? JSONSerialization.jsonObject(with: text)) is [String: Any]
        else {
            return JSONResponse.error(.badRequest, "expected an empty body or {}")
        }
        logger.notice("rescan requested through the status page")
        await actions.rescan()
        await cache.invalidate()
        return JSONResponse.ok(.accepted, "rescan started")
    }
}

/// The database part of `/api/status`, read, shaped and encoded off the cooperative pool, shared
/// by concurrent requests and reused for `ttl`.
actor FactsCache {
    struct Failure: Error {
        var message: String
    }

    let store: LedgerStore
    nonisolated let builder: StatusBuilder
    let ttl: Duration
    /// Older than this, cached sections are not given before a fresh read is waited for.
    let quietSpell: Duration
    var cached:
        (
            at: ContinuousClock.Instant, today: Day, mark: LedgerStore.ChangeMark,
            result: Result<EncodedSections, Failure>
        )?
    var inflight: Task<Result<EncodedSections, Failure>, Never>?
    /// How many times the books have been read.
    private(set) var reads = 0
    /// The checks of the whole books last read, when and on what books (`DatabaseFacts.Audit`).
    var audit: (at: ContinuousClock.Instant, mark: LedgerStore.ChangeMark, value: DatabaseFacts.Audit)?
    /// How often at most the checks are read again while the books change. A fresh read of the
    /// rest within it gives the checks read before, as does one on books unchanged since they
    /// were checked (for up to `unchangedLifetime`, as the sections); any other reads them too.
    let auditInterval: Duration

    /// How long a request waits for fresh sections before it is given older ones.
    let patience: Duration

    init(
        store: LedgerStore, builder: StatusBuilder, ttl: Duration, auditInterval: Duration = .seconds(30),
        quietSpell: Duration = .seconds(10), patience: Duration = .seconds(2)
    ) {
        self.store = store
        self.builder = builder
        self.ttl = ttl
        self.auditInterval = auditInterval
        self.quietSpell = quietSpell
        self.patience = patience
    }

    /// How long sections read from books that have not changed since are given as they are.
    /// Not for ever: a file's modification time is kept to the kernel's clock tick, so two
    /// commits in one tick that leave the log's size alone cannot be told apart.
    static let unchangedLifetime: Duration = .seconds(60)

    /// The cached sections while they are younger than `ttl`. Older, on books nothing was
    /// committed to since they were read (most of the time, for a page left open), they are
    /// still given, and read again only after `unchangedLifetime`, in the background. On books
    /// that changed, a refresh starts; read under `quietSpell` ago, the cached ones are given
    /// at once (the page refreshing every few seconds during a burst gets what the refresh
    /// before started), and read longer ago (a monitor polling once a minute, the page opened
    /// again after a while) the request waits for the fresh ones, up to `patience`, after
    /// which it is given the old ones rather than held up by a slow query. The first request
    /// of a day waits for the database. `current`: the books have stopped changing for now (the
    /// daemon has nothing in hand), so sections read before their last change are not given
    /// however young: the request waits for fresh ones as after a quiet spell.
    func sections(today: Day, current: Bool = false) async -> Result<EncodedSections, Failure> {
        guard let cached, cached.today == today else {
            if inflight == nil { refresh(today: today) }
            return await inflight!.value
        }
        let age = ContinuousClock.now - cached.at
        if age < ttl && !current {
            refreshAuditWhenDue(today: today)
            return cached.result
        }
        let unchanged: Bool
        if case .success = cached.result { unchanged = store.changeMark() == cached.mark } else { unchanged = false }
        if unchanged && age < Self.unchangedLifetime {
            refreshAuditWhenDue(today: today)
            return cached.result
        }
        if inflight == nil { refresh(today: today) }
        if unchanged || (age < quietSpell && !current) { return cached.result }
        return await Self.value(of: inflight!, within: patience) ?? cached.result
    }

    /// What `task` gives, or nil once `limit` has passed first (the task goes on, and its
    /// result is cached when it comes).
    static func value<T: Sendable>(of task: Task<T, Never>, within limit: Duration) async -> T? {
        await Offload.first(within: limit, otherwise: nil) { finish in
            Task { finish(await task.value) }
        }
    }

    /// Sections given from the cache still hold the checks of books that have changed since:
    /// once those are `auditInterval` old, they are read again in the background, so the next
    /// request has them without a change to the books to prompt it.
    private func refreshAuditWhenDue(today: Day) {
        guard inflight == nil, let audit, !isRecent(audit, mark: store.changeMark()) else { return }
        refresh(today: today)
    }

    /// Whether the checks read at `audit.at` on books marked `audit.mark` may be given for books
    /// marked `mark`: within `auditInterval` of their reading, or of books unchanged since
    /// within `unchangedLifetime`.
    private func isRecent(
        _ audit: (at: ContinuousClock.Instant, mark: LedgerStore.ChangeMark, value: DatabaseFacts.Audit),
        mark: LedgerStore.ChangeMark
    ) -> Bool {
        let age = ContinuousClock.now - audit.at
        return age < auditInterval || (audit.mark == mark && age < Self.unchangedLifetime)
    }

    private func refresh(today: Day) {
        let store = self.store
        let builder = self.builder
        // Marked before the read: a commit during it makes the next request read again.
        let mark = store.changeMark()
        let recentAudit = audit.flatMap { isRecent($0, mark: mark) ? $0.value : nil }
        reads += 1
        inflight = Task {
            let result: Result<EncodedSections, Failure>
            var checked: DatabaseFacts.Audit?
            do {
                let (sections, audit) = try await Offload.run(timeout: .seconds(30)) {
                    let facts = try DatabaseFacts.read(
                        store: store, accounts: builder.accounts, today: today, audit: recentAudit)
                    return (try EncodedSections(builder.sections(facts)), facts.audit)
                }
                result = .success(sections)
                if recentAudit == nil { checked = audit }
            } catch {
                result = .failure(Failure(message: "\(error)"))
            }
            self.finish(result, today: today, mark: mark, audit: checked)
            return result
        }
    }

    private func finish(
        _ result: Result<EncodedSections, Failure>, today: Day, mark: LedgerStore.ChangeMark,
        audit checked: DatabaseFacts.Audit?
    ) {
        cached = (ContinuousClock.now, today, mark, result)
        if let checked { audit = (ContinuousClock.now, mark, checked) }
        inflight = nil
    }

    func invalidate() {
        cached = nil
    }
}

/// Runs blocking work (GRDB's synchronous reads) on a Dispatch thread, never on the
/// cooperative pool that serves requests.
enum Offload {
    struct TimedOut: Error, CustomStringConvertible {
        var description: String { "no answer in time" }
    }

    static func run<T: Sendable>(timeout: Duration, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let result: Result<T, any Error> = await first(within: timeout, otherwise: .failure(TimedOut())) { finish in
            DispatchQueue.global().async { finish(Result { try work() }) }
        }
        return try result.get()
    }

    /// What `start` hands to its `finish`, or `otherwise` once `limit` has passed first; the
    /// one that comes second is dropped (the work goes on, unwaited for).
    static func first<T: Sendable>(
        within limit: Duration, otherwise: T, _ start: (@escaping @Sendable (T) -> Void) -> Void
    ) async -> T {
        let waiting = Locked<CheckedContinuation<T, Never>?>(nil)
        return await withCheckedContinuation { (continuation: CheckedContinuation<T, Never>) in
            waiting.withLock { $0 = continuation }
            let finish: @Sendable (T) -> Void = { value in waiting.withLock { $0.take() }?.resume(returning: value) }
            start(finish)
            DispatchQueue.global().asyncAfter(deadline: .now() + limit.seconds) { finish(otherwise) }
        }
    }
}

/// The last answer of a read, shared for `ttl` after it was read: every request within it
/// gets that answer, and requests that come while it is being read wait for that one read,
/// however long it takes (a slow disk adds no reads, one behind another).
final class SharedRead<Value: Sendable>: Sendable {
    let ttl: Duration
    private struct State: Sendable {
        var done: (at: ContinuousClock.Instant, value: Value)?
        var reading: Task<Value, Never>?
    }
    private enum Next: Sendable {
        case ready(Value)
        case wait(Task<Value, Never>)
    }
    private let state = Locked(State())

    init(ttl: Duration) { self.ttl = ttl }

    func value(_ read: @escaping @Sendable () async -> Value) async -> Value {
        let now = ContinuousClock.now
        let ttl = self.ttl
        let next = state.withLock { state -> Next in
            if let done = state.done, now - done.at < ttl { return .ready(done.value) }
            if let reading = state.reading { return .wait(reading) }
            let task = Task { [state = self.state] in
                let value = await read()
                state.withLock {
                    $0.done = (ContinuousClock.now, value)
                    $0.reading = nil
                }
                return value
            }
            state.reading = task
            return .wait(task)
        }
        switch next {
        case .ready(let value): return value
        case .wait(let task): return await task.value
        }
    }
}

/// A value behind a lock that closures can share.
final class Locked<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>

    init(_ value: Value) { mutex = Mutex(value) }

    func withLock<R: Sendable>(_ body: (inout sending Value) throws -> sending R) rethrows -> R {
        try mutex.withLock(body)
    }
}

public import Foundation

/// How the status server listens and what it serves.
public struct StatusServerSettings: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    /// Address to bind; `127.0.0.1` by default (DESIGN §5).
    public var host: String
    /// Port to bind; 0 picks a free one (tests), reported through `onListening`.
    public var port: Int
    /// Folder with `index.html`, `app.js`, `style.css`. Nothing outside it is served: `..`
    /// is refused and so is any path whose real location (symlinks resolved) leaves it.
    public var webRoot: String
    /// Bearer token for the POST actions. nil or empty: actions are off (403).
    public var token: String?
    /// The company whose books these are, shown at the top of the page; empty: not shown.
    public var companyName: String
    /// Whether the configuration names the company (`[company]` org_number or identifiers):
    /// without, every invoice is rejected, which the page says before the first one comes.
    public var companyConfigured: Bool
    /// Largest request body accepted (413 beyond it).
    public var maxBodyBytes: Int
    /// A connection that has not sent a complete request head within this time after it
    /// opened (or after its last response) is closed: slow or silent clients cannot pin it.
    public var idleTimeout: Duration
    /// Connections served at once; more wait in the listen backlog until one closes. A status
    /// page and a monitor need a few; the bound keeps a flood from using up the process's files.
    public var maxConnections: Int
    /// How long the database part of `/api/status` is reused (single-flight: concurrent
    /// requests share one computation). The runtime part is always fresh.
    public var statusCacheTTL: Duration
    /// While the books change, how often at most the checks of the whole books (reconciliation,
    /// every entry balancing) are read again for `/api/status`; the rest is read at every change.
    public var auditInterval: Duration
    /// Host names (without port) the `Host` header may carry; anything else gets 421, which
    /// defeats DNS rebinding against a loopback-bound server. nil: `localhost`, `127.0.0.1`,
    /// `::1` and `host` — and any name at all when `host` is a wildcard (`0.0.0.0`, `::`).
    public var allowedHosts: [String]?
    /// Called once the socket is bound, with the host and the actual port (readiness
    /// notification, tests using port 0).
    public var onListening: (@Sendable (_ host: String, _ port: Int) async -> Void)?

    public init(
        host: String = "127.0.0.1", port: Int = 8080, webRoot: String = "Web", token: String? = nil,
        companyName: String = "", companyConfigured: Bool = true,
        maxBodyBytes: Int = 16 * 1024, idleTimeout: Duration = .seconds(10), statusCacheTTL: Duration = .seconds(1),
        auditInterval: Duration = .seconds(30), allowedHosts: [String]? = nil, maxConnections: Int = 128,
        onListening: (@Sendable (_ host: String, _ port: Int) async -> Void)? = nil
    ) {
        self.host = host
        self.port = port
        self.webRoot = webRoot
        self.token = token
        self.companyName = companyName
        self.companyConfigured = companyConfigured
        self.maxBodyBytes = maxBodyBytes
        self.idleTimeout = idleTimeout
        self.statusCacheTTL = statusCacheTTL
        self.auditInterval = auditInterval
        self.allowedHosts = allowedHosts
        self.maxConnections = maxConnections
        self.onListening = onListening
    }

    /// Whether only this machine can reach the server: it listens on a loopback address.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// Whether the POST actions are on.
    public var actionsEnabled: Bool { !(token ?? "").isEmpty }

    /// Shown without the token: service-lifecycle logs each service at debug level.
    public var description: String {
        "StatusServerSettings(listen: \(host):\(port), web root: \(webRoot), actions: \(actionsEnabled ? "on (token not shown)" : "off"))"
    }
    public var debugDescription: String { description }

    /// The first of the usual places that holds an `index.html`: `./Web` (run from the source
    /// tree), `<prefix>/share/ledgerd/Web` next to the executable (`<prefix>/bin/ledgerd`),
    /// `/usr/local/share/ledgerd/Web`, `/usr/share/ledgerd/Web`. nil when none does. The
    /// executable's symlinks are resolved (`/usr/local/bin/ledgerd` → `/opt/ledgerd/bin/ledgerd`
    /// looks in `/opt/ledgerd/share/ledgerd/Web`).
    public static func locateWebRoot(
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        executablePath: String? = Bundle.main.executablePath
    ) -> String? {
        webRootCandidates(currentDirectory: currentDirectory, executablePath: executablePath).first {
            FileManager.default.fileExists(atPath: $0 + "/index.html")
        }
    }

    /// Where the page's files are looked for, in order (for `locateWebRoot`, and for the
    /// message when none holds them).
    public static func webRootCandidates(
        currentDirectory: String = FileManager.default.currentDirectoryPath,
        executablePath: String? = Bundle.main.executablePath
    ) -> [String] {
        var candidates = [currentDirectory + "/Web"]
        if let executablePath {
            let executable = URL(fileURLWithPath: executablePath).resolvingSymlinksInPath()
            let prefix = executable.deletingLastPathComponent().deletingLastPathComponent()
            candidates.append(prefix.appendingPathComponent("share/ledgerd/Web").path)
            // Built but not installed: <source tree>/.build/<triple>/<configuration>/ledgerd.
            var tree = executable.deletingLastPathComponent()
            for _ in 0..<3 {
                tree.deleteLastPathComponent()
                candidates.append(tree.appendingPathComponent("Web").path)
            }
        }
        candidates += ["/usr/local/share/ledgerd/Web", "/usr/share/ledgerd/Web"]
        var seen = Set<String>()
        return candidates.filter { seen.insert($0).inserted }
    }

    /// The host names accepted in the `Host` header; nil means any.
    var acceptedHostNames: Set<String>? {
        if let allowedHosts { return Set(allowedHosts.map { $0.lowercased() }) }
        if ["0.0.0.0", "::", "[::]", "*"].contains(host) { return nil }
        return ["localhost", "127.0.0.1", "::1", "[::1]", host.lowercased()]
    }
}

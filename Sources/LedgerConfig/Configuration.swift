import Foundation
public import LedgerCore

/// Everything ledgerd reads from `ledgerd.toml` (DESIGN §3, §4, §6), with its built-in
/// defaults. Every key in the file is optional; unknown keys are errors, so a typo never
/// passes silently. `Configuration.exampleTOML` documents each key.
public struct Configuration: Sendable, Equatable {
    public var company: Company
    public var paths: Paths
    public var accounts: AccountPlan
    public var limits: Limits
    public var server: Server
    public var watch: Watch
    public var ingest: Ingest

    public init(
        company: Company, paths: Paths, accounts: AccountPlan = AccountPlan(), limits: Limits = Limits(),
        server: Server = Server(), watch: Watch = Watch(), ingest: Ingest = Ingest()
    ) {
        self.company = company
        self.paths = paths
        self.accounts = accounts
        self.limits = limits
        self.server = server
        self.watch = watch
        self.ingest = ingest
    }

    /// The company whose books these are.
    public struct Company: Sendable, Equatable {
        public var name: String
        /// Organisation number without spaces (`987654325`).
        public var orgNumber: String?
        /// VAT number without spaces, upper case (`NO987654325MVA`).
        public var vatNumber: String?
        /// Further identifiers that mean "us" on an invoice (`0192:987654325`).
        public var identifiers: [String]
        public var baseCurrency: Currency
        /// Whether the company deducts the input VAT on what it buys. False for one that may
        /// not (not VAT registered, or with only exempt turnover, as health care): that VAT is
        /// then part of the cost.
        public var deductsInputVAT: Bool

        public init(
            name: String = "", orgNumber: String? = nil, vatNumber: String? = nil, identifiers: [String] = [],
            baseCurrency: Currency = .nok, deductsInputVAT: Bool = true
        ) {
            self.name = name
            self.orgNumber = orgNumber
            self.vatNumber = vatNumber
            self.identifiers = identifiers
            self.baseCurrency = baseCurrency
            self.deductsInputVAT = deductsInputVAT
        }

        /// A Norwegian company: its VAT number is Norwegian, or (without one) it keeps its
        /// books in NOK. Its org number must then pass the Brønnøysund check digit.
        public var isNorwegian: Bool {
            if let vatNumber { return vatNumber.hasPrefix("NO") }
            return baseCurrency == .nok
        }
    }

    /// Where files and the database live. Absolute once loaded.
    public struct Paths: Sendable, Equatable {
        /// The folder people drop files into (with `ehf/`, `wise/`, `checks/` inside).
        public var inbox: String
        /// The SQLite file.
        public var database: String
        /// Where originals go after they are posted.
        public var archive: String
        /// Where rejected files go, each beside a `.error.txt`.
        public var rejected: String

        public init(inbox: String, database: String, archive: String, rejected: String) {
            self.inbox = inbox
            self.database = database
            self.archive = archive
            self.rejected = rejected
        }

        /// `./Inbox`, `./var/ledger.sqlite`, `./var/archive`, `./Inbox/rejected` under `directory`.
        public static func defaults(relativeTo directory: String) -> Paths {
            let inbox = PathResolver.absolute("Inbox", relativeTo: directory)
            return Paths(
                inbox: inbox,
                database: PathResolver.absolute("var/ledger.sqlite", relativeTo: directory),
                archive: PathResolver.absolute("var/archive", relativeTo: directory),
                rejected: PathResolver.absolute("rejected", relativeTo: inbox))
        }
    }

    public struct Limits: Sendable, Equatable {
        /// Files larger than this are rejected unread (hostile or mistaken input).
        public var maxFileBytes: Int64

        public static let defaultMaxFileBytes: Int64 = 50 << 20  // 50 MiB

        public init(maxFileBytes: Int64 = Limits.defaultMaxFileBytes) {
            self.maxFileBytes = maxFileBytes
        }
    }

    /// The status page and API.
    public struct Server: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
        /// Address to bind, without brackets (`127.0.0.1`, `::1`, `localhost`).
        public var host: String
        /// Port to bind; 0 lets the system pick a free one.
        public var port: Int
        /// The bearer token for state-changing requests, written inline (discouraged).
        public var token: String?
        /// A file holding that token (absolute once loaded), e.g. a systemd credential.
        public var tokenFile: String?

        public init(host: String = "127.0.0.1", port: Int = 8080, token: String? = nil, tokenFile: String? = nil) {
            self.host = host
            self.port = port
            self.token = token
            self.tokenFile = tokenFile
        }

        /// Shown without the token, wherever the configuration is printed (debug logs).
        public var description: String {
            "Server(listen: \(listen), token: \(token == nil ? "none" : "(set, not shown)"), token_file: \(tokenFile ?? "none"))"
        }
        public var debugDescription: String { description }

        /// `host:port` as written in the file: `127.0.0.1:8080`, `[::1]:8080`.
        public var listen: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    /// How the inbox is watched (DESIGN §4, steps 1 and 2).
    public struct Watch: Sendable, Equatable {
        public enum Mode: String, Sendable, Equatable, CaseIterable {
            /// inotify, plus the startup scan and periodic rescans.
            case inotify
            /// Scans only, every `pollInterval` (for shares inotify cannot see into).
            case poll
        }

        public var mode: Mode
        /// How often the folders are scanned in `poll` mode.
        public var pollInterval: Duration
        /// How long size and modification time must stay unchanged before a file that was
        /// not seen closed after writing is taken as complete.
        public var settle: Duration
        /// How often the whole inbox is rescanned in `inotify` mode (overflow, NFS/SMB).
        public var rescanInterval: Duration
        /// File-name patterns never picked up; see `isIgnored(name:)`.
        public var ignore: [String] {
            didSet { asciiIgnore = ignore.map(Self.asciiLowercased) }
        }
        /// `ignore` lowered to ASCII bytes (nil for a pattern that is not ASCII), once rather
        /// than for every file a scan finds.
        private(set) var asciiIgnore: [[UInt8]?]

        public static let defaultIgnore = ["*.part", "*.tmp", "~$*", ".*", "Thumbs.db", "desktop.ini", "@eaDir"]

        public init(
            mode: Mode = .inotify, pollInterval: Duration = .seconds(2), settle: Duration = .seconds(1),
            rescanInterval: Duration = .seconds(300), ignore: [String] = Watch.defaultIgnore
        ) {
            self.mode = mode
            self.pollInterval = pollInterval
            self.settle = settle
            self.rescanInterval = rescanInterval
            self.ignore = ignore
            self.asciiIgnore = ignore.map(Self.asciiLowercased)
        }
    }

    /// How files are worked through.
    public struct Ingest: Sendable, Equatable {
        /// Files per group commit.
        public var batchSize: Int
        /// Threads parsing files in parallel.
        public var workers: Int

        public static let defaultBatchSize = 512
        public static var defaultWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

        public init(batchSize: Int = Ingest.defaultBatchSize, workers: Int = Ingest.defaultWorkers) {
            self.batchSize = batchSize
            self.workers = workers
        }
    }

    /// The built-in configuration, with paths under `directory`.
    public static func defaults(relativeTo directory: String) -> Configuration {
        Configuration(company: Company(), paths: .defaults(relativeTo: directory))
    }

    @usableFromInline
    static var currentDirectory: String { FileManager.default.currentDirectoryPath }

    /// Reads the configuration file at `path` (relative to `workingDirectory`); `nil` means
    /// the built-in defaults relative to `workingDirectory`. A file named but missing is an
    /// error: running on defaults instead would post into the wrong books.
    public static func load(
        path: String?, workingDirectory: String = Configuration.currentDirectory
    ) throws(ConfigurationError) -> Configuration {
        let workingDirectory = PathResolver.absolute(workingDirectory, relativeTo: currentDirectory)
        guard let path else { return defaults(relativeTo: workingDirectory) }
        let absolutePath = PathResolver.absolute(path, relativeTo: workingDirectory)
        let text = try ConfigurationFile.read(absolutePath, source: path)
        return try parse(text, source: path, baseDirectory: PathResolver.directory(of: absolutePath))
    }

    /// Parses configuration `text`; `source` names it in errors, relative paths in it are
    /// taken from `baseDirectory` (the file's folder).
    public static func parse(
        _ text: String, source: String, baseDirectory: String
    ) throws(ConfigurationError) -> Configuration {
        try ConfigurationParser(text: text, source: source, baseDirectory: baseDirectory).parse()
    }

    /// Who "we" are on an invoice: the configured identifiers, the org number bare and as a
    /// PEPPOL `0192:` endpoint, and the VAT number — each once, however it was spelled. A
    /// Norwegian VAT number (`NO` + org number + `MVA`) brings its org number with it, so a
    /// configuration naming only the VAT number still knows an invoice addressed to the
    /// org number.
    public var companyIdentity: CompanyIdentity {
        var all = company.identifiers
        var orgNumbers = company.orgNumber.map { [$0] } ?? []
        if let vat = company.vatNumber, let org = NorwegianOrgNumber.inVATNumber(vat) { orgNumbers.append(org) }
        for org in orgNumbers {
            all.append(org)
            if NorwegianOrgNumber.isValid(org) { all.append("0192:\(org)") }
        }
        if let vat = company.vatNumber { all.append(vat) }
        var seen = Set<String>()
        let unique = all.filter { seen.insert(PartyIdentifier.canonical($0)).inserted }
        return CompanyIdentity(name: company.name, identifiers: unique)
    }
}

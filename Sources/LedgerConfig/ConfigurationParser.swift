import LedgerCore
import TOMLKit

/// Turns the text of `ledgerd.toml` into a `Configuration`: TOMLKit (toml++) parses the
/// syntax, this checks every key against the layout below and every value for what it means.
struct ConfigurationParser {
    let text: String
    let source: String
    let baseDirectory: String

    /// Every section and the keys it takes, in the order the example file documents them.
    static let layout: [(section: String, keys: [String])] = [
        ("company", ["name", "org_number", "vat_number", "identifiers", "base_currency", "deducts_input_vat"]),
        ("paths", ["inbox", "database", "archive", "rejected"]),
        (
            "accounts",
            [
                "receivables", "bank", "payables", "sales", "purchases", "output_vat", "input_vat", "output_vat_other",
                "input_vat_other", "foreign_vat", "customer_prepayments", "supplier_prepayments", "rounding",
                "suppliers", "customers",
            ]
        ),
        ("limits", ["max_file_bytes"]),
        ("server", ["listen", "token", "token_file"]),
        ("watch", ["mode", "poll_interval", "settle", "rescan_interval", "ignore"]),
        ("ingest", ["batch_size", "workers"]),
    ]

    static func keys(of section: String) -> [String] {
        layout.first { $0.section == section }?.keys ?? []
    }

    /// Key → its section, for settings written above any header.
    static let homeOfKey: [String: String] = {
        var homes: [String: String] = [:]
        for (section, keys) in layout {
            for key in keys where homes[key] == nil { homes[key] = section }
        }
        return homes
    }()

    func parse() throws(ConfigurationError) -> Configuration {
        let lines = KeyLines(scanning: text)
        if let nul = text.utf8.firstIndex(of: 0) {
            let line = text.utf8[..<nul].count { $0 == UInt8(ascii: "\n") } + 1
            throw ConfigurationError(
                source: source, line: line, message: "the file contains a NUL byte; it must be plain UTF-8 text.")
        }
        if let hazard = lines.hazard {
            throw ConfigurationError(
                source: source, key: hazard.path.map(dottedKey), line: hazard.line, message: hazard.reason + ".")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw syntaxError(error, lines: lines)
        } catch {
            throw ConfigurationError(source: source, message: "the file is not valid TOML (\(error)).")
        }
        let context = ErrorContext(source: source, lines: lines)
        guard case .table(let entries) = TOMLNode(table) else {
            throw ConfigurationError(source: source, message: "the file is not a TOML table.")
        }
        let root = TableReader(path: [], entries: entries, context: context)
        try root.rejectUnknown(known: Self.layout.map(\.section), elsewhere: Self.homeOfKey)

        var configuration = Configuration.defaults(relativeTo: baseDirectory)
        configuration.company = try company(root.table("company"))
        configuration.paths = try paths(root.table("paths"), defaults: configuration.paths)
        configuration.accounts = try accounts(root.table("accounts"))
        configuration.accounts.deductsInputVAT = configuration.company.deductsInputVAT
        // The Norwegian VAT return is made in NOK, whatever currency the books are kept in.
        configuration.accounts.vatReturnCurrency =
            configuration.company.isNorwegian ? .nok : configuration.company.baseCurrency
        configuration.limits = try limits(root.table("limits"))
        configuration.server = try server(root.table("server"))
        configuration.watch = try watch(root.table("watch"))
        configuration.ingest = try ingest(root.table("ingest"))
        return configuration
    }

    /// TOMLKit's description, one sentence, with its line and the key written there if the
    /// scanner can still tell.
    func syntaxError(_ error: TOMLParseError, lines: KeyLines) -> ConfigurationError {
        let line = error.source.begin.line
        var reason = error.description
        while reason.last == "." || reason.last == " " { reason.removeLast() }
        return ConfigurationError(
            source: source, key: lines.keyOnLine[line].map(dottedKey), line: line > 0 ? line : nil,
            message: "this is not valid TOML (\(reason)).")
    }

    // MARK: - [company]

    func company(_ table: TableReader?) throws(ConfigurationError) -> Configuration.Company {
        var company = Configuration.Company()
        guard let table else { return company }
        try table.rejectUnknown(known: Self.keys(of: "company"))

        company.name = try table.string("name", expected: "the company's name in quotes") ?? ""
        company.deductsInputVAT = try table.bool("deducts_input_vat", expected: "true or false") ?? true

        if let code = try table.string("base_currency", expected: "a currency code in quotes, like \"NOK\"") {
            guard let currency = Currency(code) else {
                throw table.error(
                    "base_currency",
                    "\(quoted(code)) is not an ISO 4217 currency code; write three letters, like \"NOK\".")
            }
            company.baseCurrency = currency
        }

        if let vat = try table.string("vat_number", expected: "a VAT number in quotes, like \"NO987654325MVA\"") {
            let bare = PartyIdentifier.canonical(vat)
            guard bare.count >= 4, bare.prefix(2).allSatisfy({ $0.isASCII && $0.isLetter }),
                bare.dropFirst(2).allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) })
            else {
                throw table.error(
                    "vat_number",
                    "\(quoted(vat)) is not a VAT number; write the country code and the number, like \"NO987654325MVA\"."
                )
            }
            if bare.hasPrefix("NO") {
                guard NorwegianOrgNumber.inVATNumber(bare) != nil else {
                    throw table.error(
                        "vat_number",
                        "\(quoted(vat)) is not a Norwegian VAT number; write NO, the organisation number and MVA, like \"NO987654325MVA\"."
                    )
                }
            }
            company.vatNumber = bare
        }

        if let org = try table.string("org_number", expected: "the organisation number in quotes, like \"987654325\"") {
            let bare = org.filter { !$0.isWhitespace }
            if company.isNorwegian {
                guard NorwegianOrgNumber.isValid(bare) else {
                    throw table.error(
                        "org_number",
                        "\(quoted(org)) is not a valid Norwegian organisation number (nine digits, the last a check digit); copy it from the Brønnøysund Register."
                    )
                }
                if let vat = company.vatNumber, vat.hasPrefix("NO"), vat.dropFirst(2).prefix(9) != bare {
                    throw table.error(
                        "vat_number",
                        "\(quoted(vat)) does not contain the organisation number \(bare) given in company.org_number.")
                }
            } else {
                guard !bare.isEmpty, bare.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }) else {
                    throw table.error(
                        "org_number", "\(quoted(org)) is not an organisation number; write its letters and digits.")
                }
            }
            company.orgNumber = bare
        }

        if let identifiers = try table.strings(
            "identifiers", expected: "a list of identifiers in quotes, like [\"0192:987654325\"]")
        {
            for identifier in identifiers where identifier.allSatisfy(\.isWhitespace) {
                throw table.error("identifiers", "\(quoted(identifier)) is empty; remove it or write the identifier.")
            }
            // Words that invoices carry where a number may stand ("Foretaksregisteret", the
            // Swedish "Godkänd för F-skatt") would make every invoice that names them ours.
            // An endpoint written `scheme:value` may be anything its scheme allows (an e-mail
            // address has no digits).
            for identifier in identifiers {
                if let reason = Self.emptyEndpoint(identifier) { throw table.error("identifiers", reason) }
            }
            for identifier in identifiers
            where !identifier.contains(where: \.isNumber) && !identifier.contains(":") {
                throw table.error(
                    "identifiers",
                    "\(quoted(identifier)) has no digits, so it is not an organisation, VAT, GLN or endpoint number; "
                        + "write the number, or an endpoint as \"scheme:value\".")
            }
            company.identifiers = identifiers
        }
        return company
    }

    // MARK: - [paths]

    func paths(_ table: TableReader?, defaults: Configuration.Paths) throws(ConfigurationError) -> Configuration.Paths {
        guard let table else { return defaults }
        try table.rejectUnknown(known: Self.keys(of: "paths"))
        func path(_ key: String) throws(ConfigurationError) -> String? {
            guard let text = try table.string(key, expected: "a path in quotes, like \"/srv/ledgerd/Inbox\"") else {
                return nil
            }
            guard !text.isEmpty else { throw table.error(key, "the path is empty; write a folder or file path.") }
            guard !text.hasPrefix("~") else {
                throw table.error(
                    key,
                    "\(quoted(text)) starts with ~, which is not expanded; write the full path, like \"/home/books/Inbox\"."
                )
            }
            return PathResolver.absolute(text, relativeTo: baseDirectory)
        }
        var paths = defaults
        if let inbox = try path("inbox") {
            paths.inbox = inbox
            paths.rejected = PathResolver.absolute("rejected", relativeTo: inbox)
        }
        if let database = try path("database") { paths.database = database }
        if let archive = try path("archive") { paths.archive = archive }
        if let rejected = try path("rejected") { paths.rejected = rejected }
        try checkOverlaps(paths, in: table)
        return paths
    }

    /// Folders that must stay apart: what lies in the inbox is taken in, so neither the archive
    /// nor the database may lie there, nor the rejected folder inside an inbox folder itself;
    /// and the inbox may not lie inside the archive. The key blamed is one the file sets.
    func checkOverlaps(_ paths: Configuration.Paths, in table: TableReader) throws(ConfigurationError) {
        func blame(_ preferred: String, _ other: String) -> String {
            table.value(preferred) != nil ? preferred : other
        }
        if PathBytes.isWithin(paths.archive, paths.inbox) || PathBytes.isWithin(paths.inbox, paths.archive) {
            throw table.error(
                blame("archive", "inbox"),
                "the archive (\(paths.archive)) and the inbox (\(paths.inbox)) overlap: archived files would be taken "
                    + "in again. Keep the archive outside the inbox.")
        }
        if PathBytes.isWithin(paths.database, paths.inbox) {
            throw table.error(
                blame("database", "inbox"),
                "the database (\(paths.database)) lies in the inbox (\(paths.inbox)), where its files would be taken "
                    + "in as documents. Keep it outside the inbox.")
        }
        for inbox in ["ehf", "wise", "checks"] where PathBytes.isWithin(paths.rejected, paths.inbox + "/" + inbox) {
            throw table.error(
                blame("rejected", "inbox"),
                "the rejected folder (\(paths.rejected)) lies in the \(inbox) inbox, where rejected files would be "
                    + "taken in again. Put it beside the inbox folders (the default is \"rejected\" in the inbox).")
        }
        if PathKey(paths.rejected) == PathKey(paths.inbox) {
            throw table.error(
                blame("rejected", "inbox"),
                "the rejected folder is the inbox itself; give it a folder of its own, like \"\(paths.inbox)/rejected\"."
            )
        }
    }

    // MARK: - [accounts]

    func accounts(_ table: TableReader?) throws(ConfigurationError) -> AccountPlan {
        var plan = AccountPlan()
        guard let table else { return plan }
        try table.rejectUnknown(known: Self.keys(of: "accounts"))
        let single: [(String, WritableKeyPath<AccountPlan, Account>)] = [
            ("receivables", \.receivables), ("bank", \.bank), ("payables", \.payables), ("sales", \.sales),
            ("purchases", \.purchases), ("output_vat_other", \.outputVATOther), ("input_vat_other", \.inputVATOther),
            ("customer_prepayments", \.customerPrepayments), ("supplier_prepayments", \.supplierPrepayments),
            ("rounding", \.rounding),
        ]
        for (key, keyPath) in single {
            if let node = table.value(key) { plan[keyPath: keyPath] = try account(node, at: [key], in: table) }
        }
        if let node = table.value("foreign_vat") { plan.foreignVAT = try account(node, at: ["foreign_vat"], in: table) }
        if let rates = try table.table("output_vat") { plan.outputVAT = try vatAccounts(rates) }
        if let rates = try table.table("input_vat") { plan.inputVAT = try vatAccounts(rates) }
        if let suppliers = try table.table("suppliers") { plan.supplierCostAccounts = try partyAccounts(suppliers) }
        if let customers = try table.table("customers") { plan.customerRevenueAccounts = try partyAccounts(customers) }
        try checkControlAccounts(plan, in: table)
        return plan
    }

    /// The control accounts (receivables, payables) hold only what the sub-ledgers hold: any
    /// other account set to one of them would make reconciliation fail with the first invoice.
    func checkControlAccounts(_ plan: AccountPlan, in table: TableReader) throws(ConfigurationError) {
        if plan.receivables == plan.payables {
            throw table.error(
                table.value("payables") != nil ? "payables" : "receivables",
                "receivables and payables are both \(quoted(plan.receivables.number)); each control account needs its own."
            )
        }
        let control = [plan.receivables: "receivables", plan.payables: "payables"]
        var others: [([String], Account)] = [
            (["bank"], plan.bank), (["sales"], plan.sales), (["purchases"], plan.purchases),
            (["output_vat_other"], plan.outputVATOther), (["input_vat_other"], plan.inputVATOther),
            (["customer_prepayments"], plan.customerPrepayments), (["supplier_prepayments"], plan.supplierPrepayments),
            (["rounding"], plan.rounding),
        ]
        if let foreign = plan.foreignVAT { others.append((["foreign_vat"], foreign)) }
        others += plan.outputVAT.map { (["output_vat", "\($0.key)"], $0.value) }
        others += plan.inputVAT.map { (["input_vat", "\($0.key)"], $0.value) }
        others += plan.supplierCostAccounts.map { (["suppliers", $0.key], $0.value) }
        others += plan.customerRevenueAccounts.map { (["customers", $0.key], $0.value) }
        for (key, account) in others {
            guard let role = control[account] else { continue }
            throw table.error(
                table.path + key,
                "\(quoted(account.number)) is the \(role) control account (accounts.\(role)), which holds only what the "
                    + "\(role == "receivables" ? "customer" : "supplier") ledger holds; choose another account.")
        }
    }

    /// An account number: a string of four to ten digits.
    func account(_ node: TOMLNode, at key: [String], in table: TableReader) throws(ConfigurationError) -> Account {
        let path = table.path + key
        guard case .string(let text) = node else {
            throw table.error(path, "expected an account number in quotes, like \"1920\", found \(node.found).")
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) else {
            throw table.error(path, "\(quoted(text)) is not an account number; write its digits only, like \"1920\".")
        }
        guard (4...10).contains(text.count) else {
            throw table.error(
                path, "\(quoted(text)) is not an account number; accounts have four to ten digits, like \"1920\".")
        }
        return Account(text)
    }

    /// `{ "25" = "2700", "12.5" = "2703" }`: VAT rate in percent → account.
    func vatAccounts(_ table: TableReader) throws(ConfigurationError) -> [ExactDecimal: Account] {
        var result: [ExactDecimal: Account] = [:]
        var spelled: [ExactDecimal: String] = [:]
        for (key, node) in table.entriesInFileOrder {
            let rate: ExactDecimal
            do {
                guard key.first?.isNumber == true, key.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }) else {
                    throw ExactDecimal.ParseError.malformed(key)
                }
                rate = try ExactDecimal(parsing: key, maxScale: 4)
            } catch {
                throw table.error(
                    key,
                    "\(quoted(key)) is not a VAT rate; write the percentage as a plain number, like \"25\" or \"12.5\"."
                )
            }
            guard rate <= ExactDecimal(100) else {
                throw table.error(key, "\(quoted(key)) is not a VAT rate; a percentage is at most 100.")
            }
            if let earlier = spelled[rate] {
                throw table.error(
                    key, "the rate \(rate.normalized) is already given as \(quoted(earlier)); give each rate once.")
            }
            spelled[rate] = key
            result[rate] = try account(node, at: [key], in: table)
        }
        return result
    }

    /// Why `identifier`, written `scheme:value`, names nothing: a scheme or a value missing.
    static func emptyEndpoint(_ identifier: String) -> String? {
        guard let colon = identifier.firstIndex(of: ":") else { return nil }
        let scheme = identifier[..<colon].filter { !$0.isWhitespace }
        let value = identifier[identifier.index(after: colon)...].filter { !$0.isWhitespace }
        guard scheme.isEmpty || value.isEmpty else { return nil }
        return "\(quoted(identifier)) is an endpoint without its \(scheme.isEmpty ? "scheme" : "number"); "
            + "write it whole, like \"0192:987654325\"."
    }

    /// `[accounts.suppliers]` / `[accounts.customers]`: party identifier (organisation number,
    /// VAT number or `scheme:endpoint`) → account, keyed in canonical form.
    func partyAccounts(_ table: TableReader) throws(ConfigurationError) -> [String: Account] {
        var result: [String: Account] = [:]
        var spelled: [String: String] = [:]
        for (key, node) in table.entriesInFileOrder {
            guard !key.allSatisfy(\.isWhitespace) else {
                throw table.error(key, "the key is empty; write the organisation number.")
            }
            guard key.contains(where: \.isNumber) || key.contains(":") else {
                throw table.error(
                    key,
                    "\(quoted(key)) has no digits, so it is not an organisation, VAT or endpoint number; write the number."
                )
            }
            if let reason = Self.emptyEndpoint(key) { throw table.error(key, reason) }
            let canonical = PartyIdentifier.canonical(key)
            if let earlier = spelled[canonical] {
                throw table.error(key, "\(quoted(key)) is \(quoted(earlier)) again, written another way; keep one.")
            }
            spelled[canonical] = key
            if key.count == 9, key.allSatisfy({ $0.isASCII && $0.isNumber }), !NorwegianOrgNumber.isValid(key) {
                throw table.error(
                    key,
                    "\(quoted(key)) is not a valid Norwegian organisation number (the check digit is wrong), so this account would never be used."
                )
            }
            result[canonical] = try account(node, at: [key], in: table)
        }
        return result
    }

    // MARK: - [limits]

    func limits(_ table: TableReader?) throws(ConfigurationError) -> Configuration.Limits {
        var limits = Configuration.Limits()
        guard let table else { return limits }
        try table.rejectUnknown(known: Self.keys(of: "limits"))
        let expected = "a number of bytes, or a size in quotes like \"50MB\" or \"64MiB\""
        switch table.value("max_file_bytes") {
        case nil: break
        case .integer(let bytes):
            guard bytes > 0 else {
                throw table.error("max_file_bytes", "\(bytes) is too small; the limit must be above zero.")
            }
            limits.maxFileBytes = Int64(bytes)
        case .string(let text):
            guard let bytes = ByteSizeParser.parse(text) else {
                throw table.error("max_file_bytes", "\(quoted(text)) is not a size; write \(expected).")
            }
            guard bytes > 0 else {
                throw table.error("max_file_bytes", "\(quoted(text)) is too small; the limit must be above zero.")
            }
            limits.maxFileBytes = bytes
        case let node?:
            throw table.error("max_file_bytes", "expected \(expected), found \(node.found).")
        }
        return limits
    }

    // MARK: - [server]

    func server(_ table: TableReader?) throws(ConfigurationError) -> Configuration.Server {
        var server = Configuration.Server()
        guard let table else { return server }
        try table.rejectUnknown(known: Self.keys(of: "server"))
        let example = "like \"127.0.0.1:8080\" or \"[::1]:8080\""
        if let listen = try table.string("listen", expected: "a host:port in quotes, \(example)") {
            guard let (host, port) = Configuration.Server.parseListen(listen) else {
                throw table.error("listen", "\(quoted(listen)) is not a listen address; write host:port, \(example).")
            }
            server.host = host
            server.port = port
        }
        if let token = try table.string("token", expected: "the API token in quotes") {
            guard !token.isEmpty, !token.contains(where: \.isWhitespace) else {
                throw table.error("token", "the token is empty or contains white space; write it without spaces.")
            }
            server.token = token
        }
        if let file = try table.string(
            "token_file", expected: "a path in quotes, like \"/run/credentials/ledgerd.service/api-token\"")
        {
            guard !file.isEmpty else {
                throw table.error("token_file", "the path is empty; write the token file's path.")
            }
            guard server.token == nil else {
                throw table.error("token_file", "both server.token and server.token_file are set; keep one of them.")
            }
            server.tokenFile = PathResolver.absolute(file, relativeTo: baseDirectory)
        }
        return server
    }

    // MARK: - [watch]

    func watch(_ table: TableReader?) throws(ConfigurationError) -> Configuration.Watch {
        var watch = Configuration.Watch()
        guard let table else { return watch }
        try table.rejectUnknown(known: Self.keys(of: "watch"))
        let modes = Configuration.Watch.Mode.allCases.map { quoted($0.rawValue) }
        if let mode = try table.string("mode", expected: "\(Suggestion.list(modes)) in quotes") {
            guard let value = Configuration.Watch.Mode(rawValue: mode) else {
                throw table.error(
                    "mode", "\(quoted(mode)) is not a watch mode; write \(modes.joined(separator: " or ")).")
            }
            watch.mode = value
        }
        func duration(_ key: String, allowZero: Bool) throws(ConfigurationError) -> Duration? {
            let hint = "write it like \"500ms\", \"2s\", \"5m\" or \"1h\""
            guard let node = table.value(key) else { return nil }
            guard case .string(let text) = node else {
                throw table.error(key, "\(node.found) is not a duration; \(hint), in quotes.")
            }
            guard let value = DurationParser.parse(text) else {
                throw table.error(key, "\(quoted(text)) is not a duration; \(hint).")
            }
            guard allowZero || value > .zero else {
                throw table.error(key, "\(quoted(text)) is too short; the interval must be longer than zero.")
            }
            return value
        }
        if let value = try duration("poll_interval", allowZero: false) { watch.pollInterval = value }
        if let value = try duration("settle", allowZero: true) { watch.settle = value }
        if let value = try duration("rescan_interval", allowZero: false) { watch.rescanInterval = value }
        if let patterns = try table.strings(
            "ignore", expected: "a list of file-name patterns in quotes, like [\"*.part\"]")
        {
            for pattern in patterns {
                guard !pattern.isEmpty else { throw table.error("ignore", "a pattern is empty; remove it.") }
                guard !pattern.contains("/") else {
                    throw table.error(
                        "ignore", "\(quoted(pattern)) contains a slash, but patterns match file names, not paths.")
                }
            }
            watch.ignore = patterns
        }
        return watch
    }

    // MARK: - [ingest]

    static let batchSizes = 1...100_000
    static let workerCounts = 1...1024

    func ingest(_ table: TableReader?) throws(ConfigurationError) -> Configuration.Ingest {
        var ingest = Configuration.Ingest()
        guard let table else { return ingest }
        try table.rejectUnknown(known: Self.keys(of: "ingest"))
        func count(_ key: String, in range: ClosedRange<Int>, note: String) throws(ConfigurationError) -> Int? {
            let expected = "a whole number from \(range.lowerBound) to \(range.upperBound)"
            guard let value = try table.integer(key, expected: expected) else { return nil }
            guard range.contains(value) else {
                throw table.error(key, "\(value) is out of range; write \(expected)\(note).")
            }
            return value
        }
        if let value = try count("batch_size", in: Self.batchSizes, note: "") { ingest.batchSize = value }
        if let value = try count("workers", in: Self.workerCounts, note: " (leave it out for one per processor)") {
            ingest.workers = value
        }
        return ingest
    }
}

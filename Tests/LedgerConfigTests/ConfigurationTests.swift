import Foundation
import LedgerCore
import Testing

@testable import LedgerConfig

@Suite struct ConfigurationTests {
    @Test func defaultsFollowTheDesign() {
        let configuration = Configuration.defaults(relativeTo: "/home/books")
        #expect(configuration.paths.inbox == "/home/books/Inbox")
        #expect(configuration.paths.database == "/home/books/var/ledger.sqlite")
        #expect(configuration.paths.archive == "/home/books/var/archive")
        #expect(configuration.paths.rejected == "/home/books/Inbox/rejected")
        #expect(configuration.company == Configuration.Company(name: "", baseCurrency: .nok))
        #expect(configuration.accounts == AccountPlan())
        #expect(configuration.limits.maxFileBytes == 52_428_800)
        #expect(configuration.server.listen == "127.0.0.1:8080")
        #expect(configuration.server.token == nil && configuration.server.tokenFile == nil)
        #expect(configuration.watch.mode == .inotify)
        #expect(configuration.watch.pollInterval == .seconds(2))
        #expect(configuration.watch.settle == .seconds(1))
        #expect(configuration.watch.rescanInterval == .seconds(300))
        #expect(configuration.watch.ignore == ["*.part", "*.tmp", "~$*", ".*", "Thumbs.db", "desktop.ini", "@eaDir"])
        #expect(configuration.ingest.batchSize == 512)
        #expect(configuration.ingest.workers == ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func anEmptyFileIsTheDefaults() throws {
        let parsed = try Configuration.parse("", source: "ledgerd.toml", baseDirectory: "/etc/ledgerd")
        #expect(parsed == Configuration.defaults(relativeTo: "/etc/ledgerd"))
        let onlyComments = try Configuration.parse(
            "# nothing\n\n[watch]\n# still nothing\n", source: "ledgerd.toml", baseDirectory: "/etc/ledgerd")
        #expect(onlyComments == Configuration.defaults(relativeTo: "/etc/ledgerd"))
    }

    static let fullFile = #"""
        [company]
        name = "Nordlys Helse AS"
        org_number = "987 654 325"
        vat_number = "NO 987654325 MVA"
        identifiers = ["0192:987654325", "7080000000000"]
        base_currency = "nok"
        deducts_input_vat = false   # health care: exempt turnover

        [paths]
        inbox = "/srv/ledgerd/Inbox"
        database = "/var/lib/ledgerd/ledger.sqlite"
        archive = "../lib/ledgerd/./archive"
        rejected = "/srv/ledgerd/Rejected/"

        [accounts]
        receivables = "1510"
        bank = "1921"
        payables = "2401"
        sales = "3001"
        purchases = "4001"
        output_vat = { "25" = "2700", "15" = "2701", "12.5" = "2703" }
        input_vat  = { "25" = "2710", "15" = "2711", "12" = "2712" }
        output_vat_other = "2709"
        input_vat_other = "2719"
        foreign_vat = "1579"
        customer_prepayments = "2901"
        supplier_prepayments = "1791"
        rounding = "7771"
        [accounts.suppliers]   # per-supplier cost account, keyed by org number
        "923456783" = "6300"
        [accounts.customers]
        "912345688" = "3100"

        [limits]
        max_file_bytes = 1048576

        [server]
        listen = "[::1]:9090"
        token_file = "credentials/api-token"

        [watch]
        mode = "poll"
        poll_interval = "500ms"
        settle = "1m30s"
        rescan_interval = "1h"
        ignore = [
          "*.part",   # partial uploads
          "*.crdownload",
        ]

        [ingest]
        batch_size = 64
        workers = 3
        """#

    @Test func aFullFileRoundTrips() throws {
        let c = try Configuration.parse(Self.fullFile, source: "ledgerd.toml", baseDirectory: "/etc/ledgerd")
        #expect(
            c.company
                == Configuration.Company(
                    name: "Nordlys Helse AS", orgNumber: "987654325", vatNumber: "NO987654325MVA",
                    identifiers: ["0192:987654325", "7080000000000"], baseCurrency: .nok, deductsInputVAT: false))
        #expect(
            c.paths
                == Configuration.Paths(
                    inbox: "/srv/ledgerd/Inbox", database: "/var/lib/ledgerd/ledger.sqlite",
                    archive: "/etc/lib/ledgerd/archive", rejected: "/srv/ledgerd/Rejected"))
        var plan = AccountPlan()
        plan.receivables = "1510"
        plan.bank = "1921"
        plan.payables = "2401"
        plan.sales = "3001"
        plan.purchases = "4001"
        plan.outputVAT = [
            ExactDecimal(25): "2700", ExactDecimal(15): "2701", try ExactDecimal(parsing: "12.5"): "2703",
        ]
        plan.inputVAT = [ExactDecimal(25): "2710", ExactDecimal(15): "2711", ExactDecimal(12): "2712"]
        plan.outputVATOther = "2709"
        plan.inputVATOther = "2719"
        plan.foreignVAT = "1579"
        plan.deductsInputVAT = false
        plan.customerPrepayments = "2901"
        plan.supplierPrepayments = "1791"
        plan.rounding = "7771"
        plan.supplierCostAccounts = ["923456783": "6300"]
        plan.customerRevenueAccounts = ["912345688": "3100"]
        #expect(c.accounts == plan)
        #expect(c.accounts.outputVAT[ExactDecimal(significand: 1250, scale: 2)] == "2703")
        #expect(c.limits.maxFileBytes == 1_048_576)
        #expect(
            c.server == Configuration.Server(host: "::1", port: 9090, tokenFile: "/etc/ledgerd/credentials/api-token"))
        #expect(c.server.listen == "[::1]:9090")
        #expect(
            c.watch
                == Configuration.Watch(
                    mode: .poll, pollInterval: .milliseconds(500), settle: .seconds(90), rescanInterval: .seconds(3600),
                    ignore: ["*.part", "*.crdownload"]))
        #expect(c.ingest == Configuration.Ingest(batchSize: 64, workers: 3))
    }

    @Test func rejectedFollowsTheInboxUnlessSet() throws {
        let c = try Configuration.parse("[paths]\ninbox = \"drop\"\n", source: "x.toml", baseDirectory: "/srv/books")
        #expect(c.paths.inbox == "/srv/books/drop")
        #expect(c.paths.rejected == "/srv/books/drop/rejected")
        #expect(c.paths.database == "/srv/books/var/ledger.sqlite")
    }

    @Test func dottedKeysAndInlineTablesWork() throws {
        let text = """
            company.name = "Dotted AS"
            watch = { mode = "poll", settle = "0s" }
            [accounts.output_vat]
            "25" = "2700"
            """
        let c = try Configuration.parse(text, source: "x.toml", baseDirectory: "/")
        #expect(c.company.name == "Dotted AS")
        #expect(c.watch.mode == .poll && c.watch.settle == .zero)
        #expect(c.accounts.outputVAT == [ExactDecimal(25): "2700"])
    }

    @Test func byteSizesMayBeStrings() throws {
        for (text, bytes) in [
            ("\"50MB\"", 50_000_000), ("\"64MiB\"", 64 << 20), ("\"64 mib\"", 64 << 20), ("\"1GB\"", 1_000_000_000),
            ("\"4096\"", 4096), ("\"512KiB\"", 512 << 10),
        ] {
            let c = try Configuration.parse("[limits]\nmax_file_bytes = \(text)", source: "x.toml", baseDirectory: "/")
            #expect(c.limits.maxFileBytes == Int64(bytes), "\(text)")
        }
    }

    @Test func listenAddresses() throws {
        for (text, host, port) in [
            ("127.0.0.1:8080", "127.0.0.1", 8080), ("[::1]:8080", "::1", 8080), ("localhost:80", "localhost", 80),
            ("0.0.0.0:0", "0.0.0.0", 0), ("[::]:65535", "::", 65535),
            ("books.example.com:443", "books.example.com", 443),
        ] {
            let c = try Configuration.parse("[server]\nlisten = \"\(text)\"", source: "x.toml", baseDirectory: "/")
            #expect(c.server.host == host && c.server.port == port, "\(text)")
            #expect(c.server.listen == text)
        }
    }

    @Test func companyIdentityListsEveryIdentifierOnce() throws {
        let c = try Configuration.parse(Self.fullFile, source: "ledgerd.toml", baseDirectory: "/etc/ledgerd")
        let identity = c.companyIdentity
        #expect(identity.name == "Nordlys Helse AS")
        #expect(identity.identifiers == ["0192:987654325", "7080000000000", "987654325", "NO987654325MVA"])

        var company = Configuration.Company(
            name: "X", orgNumber: "987654325", identifiers: ["no987654325mva", "0192:987654325"])
        company.vatNumber = "NO987654325MVA"
        let other = Configuration(company: company, paths: .defaults(relativeTo: "/"))
        #expect(other.companyIdentity.identifiers == ["no987654325mva", "0192:987654325", "987654325"])
        #expect(Configuration.defaults(relativeTo: "/").companyIdentity.identifiers.isEmpty)

        // Only the VAT number configured: its org number is ours too, bare and as an endpoint.
        var vatOnly = Configuration.Company(name: "X", orgNumber: nil, identifiers: [])
        vatOnly.vatNumber = "NO 987 654 325 MVA"
        #expect(
            Configuration(company: vatOnly, paths: .defaults(relativeTo: "/")).companyIdentity.identifiers == [
                "987654325", "0192:987654325", "NO 987 654 325 MVA",
            ])
        // Not a valid org number inside: nothing is made up.
        vatOnly.vatNumber = "NO987654321MVA"
        #expect(
            Configuration(company: vatOnly, paths: .defaults(relativeTo: "/")).companyIdentity.identifiers == [
                "NO987654321MVA"
            ])
    }

    @Test func aForeignCompanyKeepsItsOwnNumbers() throws {
        let text = """
            [company]
            name = "Nordlys AB"
            org_number = "556677-8899"
            vat_number = "SE556677889901"
            base_currency = "SEK"
            """
        let c = try Configuration.parse(text, source: "x.toml", baseDirectory: "/")
        #expect(c.company.orgNumber == "556677-8899")
        #expect(!c.company.isNorwegian)
        #expect(c.companyIdentity.identifiers == ["556677-8899", "SE556677889901"])
        #expect(c.accounts.vatReturnCurrency == Currency("SEK"))
    }

    /// A Norwegian company makes its VAT return in NOK, whatever currency it keeps its books in:
    /// VAT booked in EUR is what its postings note for conversion, not VAT in NOK.
    @Test func aNorwegianCompanysVATReturnIsInNOKWhateverItsBooks() throws {
        let text = """
            [company]
            name = "Nordlys Helse AS"
            org_number = "987654325"
            vat_number = "NO987654325MVA"
            base_currency = "EUR"
            """
        let c = try Configuration.parse(text, source: "x.toml", baseDirectory: "/")
        #expect(c.company.baseCurrency == .eur)
        #expect(c.accounts.vatReturnCurrency == .nok)
        #expect(try Configuration.parse("", source: "x.toml", baseDirectory: "/").accounts.vatReturnCurrency == .nok)
    }

    // MARK: - The example file

    /// Used as it is, the example changes nothing: no company that is not the reader's (an
    /// invoice to it would be booked as the reader's), no account for a party that is not the
    /// reader's, no token file that is not there. Its company, uncommented, is a valid one.
    @Test func theExampleParsesToTheDefaults() throws {
        let parsed = try Configuration.parse(
            Configuration.exampleTOML, source: "example", baseDirectory: "/etc/ledgerd")
        #expect(parsed == Configuration.defaults(relativeTo: "/etc/ledgerd"))
        #expect(parsed.companyIdentity.identifiers.isEmpty)
        let uncommented = Configuration.exampleTOML
            .replacingOccurrences(of: "# name = ", with: "name = ")
            .replacingOccurrences(of: "# org_number = ", with: "org_number = ")
            .replacingOccurrences(of: "# vat_number = ", with: "vat_number = ")
        var expected = Configuration.defaults(relativeTo: "/etc/ledgerd")
        expected.company = Configuration.Company(
            name: "Nordlys Helse AS", orgNumber: "987654325", vatNumber: "NO987654325MVA", identifiers: [],
            baseCurrency: .nok)
        #expect(try Configuration.parse(uncommented, source: "example", baseDirectory: "/etc/ledgerd") == expected)
    }

    @Test func theExampleDocumentsEveryKey() {
        let lines = KeyLines(scanning: Configuration.exampleTOML)
        for (section, keys) in ConfigurationParser.layout {
            #expect(lines.lines[[section]] != nil, "[\(section)]")
            for key in keys {
                let written = lines.lines[[section, key]] != nil
                let commentedOut = Configuration.exampleTOML.contains("# \(key) = ")
                #expect(written || commentedOut, "\(section).\(key) is not in the example")
            }
        }
    }

    // MARK: - Loading files

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "ledgerconfig-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func noPathMeansDefaultsRelativeToTheWorkingDirectory() throws {
        let c = try Configuration.load(path: nil, workingDirectory: "/srv/books/")
        #expect(c == Configuration.defaults(relativeTo: "/srv/books"))
    }

    @Test func loadResolvesPathsFromTheFilesFolder() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(atPath: directory + "/etc", withIntermediateDirectories: true)
        try Data("[paths]\ninbox = \"../Inbox\"\n".utf8).write(
            to: URL(fileURLWithPath: directory + "/etc/ledgerd.toml"))
        let c = try Configuration.load(path: "etc/ledgerd.toml", workingDirectory: directory)
        #expect(c.paths.inbox == directory + "/Inbox")
        #expect(c.paths.database == directory + "/etc/var/ledger.sqlite")
    }

    @Test func aMissingFileNamedExplicitlyIsAnError() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect {
            try Configuration.load(path: "nope.toml", workingDirectory: directory)
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.source == "nope.toml" && error?.description.contains("does not exist") == true
        }
        #expect {
            try Configuration.load(path: directory, workingDirectory: "/")
        } throws: { error in
            (error as? ConfigurationError)?.message.contains("folder") == true
        }
    }

    @Test func aFileThatIsNotUTF8IsAnErrorWithItsLine() throws {
        let directory = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let bytes: [UInt8] = Array("[company]\nname = \"Bl".utf8) + [0xE5] + Array("b\u{00E6}r AS\"\n".utf8)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/latin1.toml"))
        #expect {
            try Configuration.load(path: directory + "/latin1.toml")
        } throws: { error in
            let error = error as? ConfigurationError
            return error?.line == 2 && error?.message.contains("UTF-8") == true
        }
    }

    @Test func aByteOrderMarkIsAccepted() throws {
        let c = try Configuration.parse("\u{FEFF}[company]\nname = \"BOM AS\"\n", source: "x.toml", baseDirectory: "/")
        #expect(c.company.name == "BOM AS")
    }

    @Test func pathsAreCleanedLexically() {
        #expect(PathResolver.absolute("a/./b/../c", relativeTo: "/x/y") == "/x/y/a/c")
        #expect(PathResolver.absolute("/a//b/", relativeTo: "/x") == "/a/b")
        #expect(PathResolver.absolute("../../../..", relativeTo: "/x") == "/")
        #expect(PathResolver.directory(of: "/etc/ledgerd/ledgerd.toml") == "/etc/ledgerd")
        #expect(PathResolver.directory(of: "/ledgerd.toml") == "/")
        // A name beginning with a combining mark is still a name of its own.
        #expect(PathResolver.absolute("\u{301}x/..", relativeTo: "/srv") == "/srv")
        #expect(PathResolver.directory(of: "/srv/\u{301}ledgerd.toml") == "/srv")
    }
}

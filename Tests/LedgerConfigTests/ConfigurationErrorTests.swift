import Testing

@testable import LedgerConfig

/// Parses `text` as `ledgerd.toml`, returning the error it must raise.
func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> ConfigurationError? {
    do {
        _ = try Configuration.parse(text, source: "ledgerd.toml", baseDirectory: "/etc/ledgerd")
        Issue.record("parsed without an error:\n\(text)", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// One bad file and what its error must say.
struct BadFile: CustomTestStringConvertible, Sendable {
    let name: String
    let text: String
    let key: String?
    let line: Int
    let says: String

    var testDescription: String { name }
}

@Suite struct ConfigurationErrorTests {
    static let cases: [BadFile] = [
        // Unknown keys and tables.
        BadFile(
            name: "unknown top-level table", text: "[company]\nname = \"A\"\n\n[wathc]\nmode = \"poll\"\n",
            key: "wathc",
            line: 4, says: "unknown section; did you mean [watch]?"),
        BadFile(
            name: "unknown nested key", text: "[watch]\nmode = \"poll\"\nsetle = \"1s\"\n", key: "watch.setle", line: 3,
            says: "unknown setting; did you mean settle?"),
        BadFile(
            name: "unknown key far from any known one", text: "[server]\n\n\nfrobnicate = true\n",
            key: "server.frobnicate", line: 4, says: "[server] takes listen, token and token_file."),
        BadFile(
            name: "setting above its header", text: "# settings\nlisten = \"127.0.0.1:9000\"\n[server]\n",
            key: "listen",
            line: 2, says: "it belongs under [server]."),
        BadFile(
            name: "unknown top-level table nothing like a known one", text: "\n[database]\npath = \"x\"\n",
            key: "database", line: 2,
            says: "the sections are [company], [paths], [accounts], [limits], [server], [watch] and [ingest]."
        ),
        BadFile(
            name: "unknown key in a dotted key",
            text: "[company]\nname = \"A\"\n[watch]\nmode = \"poll\"\nignore.extra = []\n",
            key: "watch.ignore", line: 5, says: "expected a list of file-name patterns"),
        BadFile(
            name: "unknown key in a sub-table of accounts",
            text: "[accounts]\nbank = \"1920\"\n[accounts.supplier]\n\"923456783\" = \"6300\"\n",
            key: "accounts.supplier", line: 3, says: "did you mean suppliers?"),
        BadFile(
            name: "misspelt key with a dash", text: "[watch]\npoll-interval = \"2s\"\n", key: "watch.poll-interval",
            line: 2,
            says: "did you mean poll_interval?"),

        // Wrong types.
        BadFile(
            name: "a number for a duration", text: "[watch]\nsettle = 2\n", key: "watch.settle", line: 2,
            says: "the number 2 is not a duration; write it like \"500ms\", \"2s\", \"5m\" or \"1h\", in quotes."),
        BadFile(
            name: "a string for a count", text: "[ingest]\nworkers = \"2\"\n", key: "ingest.workers", line: 2,
            says: "expected a whole number from 1 to 1024, found the string \"2\"."),
        BadFile(
            name: "a value for a section", text: "company = \"Nordlys\"\n", key: "company", line: 1,
            says: "expected a [company] section, found the string \"Nordlys\"."),
        BadFile(
            name: "a string for a list", text: "[watch]\nignore = \"*.part\"\n", key: "watch.ignore", line: 2,
            says: "found the string \"*.part\""),
        BadFile(
            name: "a number inside a list",
            text: "[company]\nidentifiers = [\n  \"0192:987654325\",\n  987654325,\n]\n",
            key: "company.identifiers", line: 2, says: "item 2 of the list is the number 987654325"),
        BadFile(
            name: "a float for a size", text: "[limits]\nmax_file_bytes = 1.5\n", key: "limits.max_file_bytes", line: 2,
            says: "found the number 1.5"),
        BadFile(
            name: "a date for a name", text: "[company]\nname = 2024-01-01\n", key: "company.name", line: 2,
            says: "this is a date or time, which no setting takes; write text in quotes."),

        // Values that mean nothing.
        BadFile(
            name: "the archive in the inbox",
            text: "[paths]\ninbox = \"/srv/books/Inbox\"\narchive = \"/srv/books/Inbox/archive\"\n",
            key: "paths.archive", line: 3, says: "overlap: archived files would be taken in again"),
        BadFile(
            name: "the inbox in the archive", text: "[paths]\ninbox = \"var/archive/in\"\n", key: "paths.inbox",
            line: 2,
            says: "overlap"),
        BadFile(
            name: "the rejected folder in an inbox", text: "[paths]\nrejected = \"Inbox/ehf/rejected\"\n",
            key: "paths.rejected", line: 2, says: "lies in the ehf inbox, where rejected files would be taken in again"),
        BadFile(
            name: "the database in the inbox", text: "[paths]\n\ndatabase = \"Inbox/ledger.sqlite\"\n",
            key: "paths.database", line: 3, says: "where its files would be taken in as documents"),
        BadFile(
            name: "sales on the receivables account", text: "[accounts]\nsales = \"1500\"\n", key: "accounts.sales",
            line: 2, says: "\"1500\" is the receivables control account (accounts.receivables)"),
        BadFile(
            name: "deducts_input_vat in words", text: "[company]\ndeducts_input_vat = \"no\"\n",
            key: "company.deducts_input_vat", line: 2, says: "expected true or false, found"),
        BadFile(
            name: "foreign VAT on payables", text: "[accounts]\nforeign_vat = \"2400\"\n", key: "accounts.foreign_vat",
            line: 2, says: "\"2400\" is the payables control account (accounts.payables)"),
        BadFile(
            name: "one control account for both", text: "[accounts]\npayables = \"1500\"\n", key: "accounts.payables",
            line: 2, says: "receivables and payables are both \"1500\""),
        BadFile(
            name: "a supplier's costs on payables", text: "[accounts.suppliers]\n\"923609016\" = \"2400\"\n",
            key: "accounts.suppliers.923609016", line: 2, says: "is the payables control account"),
        BadFile(
            name: "an endpoint without its number", text: "[accounts.suppliers]\n\"0192:\" = \"6300\"\n",
            key: "accounts.suppliers.\"0192:\"", line: 2, says: "is an endpoint without its number"),
        BadFile(
            name: "an identifier without its scheme", text: "[company]\nidentifiers = [\":987654325\"]\n",
            key: "company.identifiers", line: 2, says: "is an endpoint without its scheme"),
        BadFile(
            name: "a word for a supplier", text: "[accounts.suppliers]\n\"Foretaksregisteret\" = \"6300\"\n",
            key: "accounts.suppliers.Foretaksregisteret", line: 2, says: "has no digits"),
        BadFile(
            name: "one supplier twice",
            text: "[accounts.suppliers]\n\"NO923609016MVA\" = \"6300\"\n\"no 923 609 016 mva\" = \"6400\"\n",
            key: "accounts.suppliers.\"no 923 609 016 mva\"", line: 3,
            says: "is \"NO923609016MVA\" again, written another way"),
        BadFile(
            name: "a word for an identifier", text: "[company]\nidentifiers = [\"Foretaksregisteret\"]\n",
            key: "company.identifiers", line: 2,
            says: "\"Foretaksregisteret\" has no digits, so it is not an organisation, VAT, GLN or endpoint number"),
        BadFile(
            name: "bad duration", text: "[watch]\nsettle = \"2 seconds\"\n", key: "watch.settle", line: 2,
            says: "\"2 seconds\" is not a duration; write it like \"500ms\", \"2s\", \"5m\" or \"1h\"."),
        BadFile(
            name: "zero interval", text: "[watch]\npoll_interval = \"0s\"\n", key: "watch.poll_interval", line: 2,
            says: "must be longer than zero"),
        BadFile(
            name: "bad watch mode", text: "[watch]\nmode = \"fanotify\"\n", key: "watch.mode", line: 2,
            says: "\"fanotify\" is not a watch mode; write \"inotify\" or \"poll\"."),
        BadFile(
            name: "account with letters", text: "[accounts]\nbank = \"19x0\"\n", key: "accounts.bank", line: 2,
            says: "\"19x0\" is not an account number; write its digits only, like \"1920\"."),
        BadFile(
            name: "account as a number", text: "[accounts]\n\nbank = 1920\n", key: "accounts.bank", line: 3,
            says: "expected an account number in quotes, like \"1920\", found the number 1920."),
        BadFile(
            name: "account too short", text: "[accounts]\nrounding = \"777\"\n", key: "accounts.rounding", line: 2,
            says: "four to ten digits"),
        BadFile(
            name: "bad VAT account", text: "[accounts]\ninput_vat = { \"25\" = \"2710\", \"15\" = \"27 11\" }\n",
            key: "accounts.input_vat.15", line: 2, says: "\"27 11\" is not an account number"),
        BadFile(
            name: "bad supplier account",
            text: "[accounts.suppliers]\n\"923456783\" = \"6300\"\n\"912345688\" = \"cost\"\n",
            key: "accounts.suppliers.912345688", line: 3, says: "\"cost\" is not an account number"),
        BadFile(
            name: "bad rate key", text: "[accounts]\noutput_vat = { \"25%\" = \"2700\" }\n",
            key: "accounts.output_vat.\"25%\"",
            line: 2, says: "\"25%\" is not a VAT rate; write the percentage as a plain number, like \"25\" or \"12.5\"."
        ),
        BadFile(
            name: "bad rate key in a sub-table", text: "[accounts.input_vat]\n\"25\" = \"2710\"\n\"-15\" = \"2711\"\n",
            key: "accounts.input_vat.-15", line: 3, says: "\"-15\" is not a VAT rate"),
        BadFile(
            name: "rate above 100", text: "[accounts.input_vat]\n\"250\" = \"2710\"\n", key: "accounts.input_vat.250",
            line: 2, says: "at most 100"),
        BadFile(
            name: "the same rate twice", text: "[accounts.output_vat]\n\"25\" = \"2700\"\n\"25.00\" = \"2701\"\n",
            key: "accounts.output_vat.\"25.00\"", line: 3,
            says: "the rate 25 is already given as \"25\"; give each rate once."),
        BadFile(
            name: "bad supplier org number", text: "[accounts.suppliers]\n\"923456780\" = \"6300\"\n",
            key: "accounts.suppliers.923456780", line: 2, says: "check digit is wrong"),
        BadFile(
            name: "bad currency", text: "[company]\nbase_currency = \"KRONER\"\n", key: "company.base_currency",
            line: 2,
            says: "\"KRONER\" is not an ISO 4217 currency code; write three letters, like \"NOK\"."),
        BadFile(
            name: "bad org number", text: "[company]\nname = \"Nordlys\"\norg_number = \"987654321\"\n",
            key: "company.org_number", line: 3, says: "\"987654321\" is not a valid Norwegian organisation number"),
        BadFile(
            name: "bad VAT number", text: "[company]\nvat_number = \"NO987654321MVA\"\n", key: "company.vat_number",
            line: 2,
            says: "is not a Norwegian VAT number"),
        BadFile(
            name: "VAT number of another company",
            text: "[company]\norg_number = \"987654325\"\nvat_number = \"NO923456783MVA\"\n", key: "company.vat_number",
            line: 3, says: "does not contain the organisation number 987654325"),
        BadFile(
            name: "listen without a port", text: "[server]\nlisten = \"localhost8080\"\n", key: "server.listen",
            line: 2,
            says:
                "\"localhost8080\" is not a listen address; write host:port, like \"127.0.0.1:8080\" or \"[::1]:8080\"."
        ),
        BadFile(
            name: "listen with a port too large", text: "[server]\nlisten = \"127.0.0.1:99999\"\n",
            key: "server.listen",
            line: 2, says: "is not a listen address"),
        BadFile(
            name: "listen with IPv6 unbracketed", text: "[server]\nlisten = \"::1:8080\"\n", key: "server.listen",
            line: 2,
            says: "is not a listen address"),
        BadFile(
            name: "listen with a bad IPv4 address", text: "[server]\nlisten = \"127.0.0.300:8080\"\n",
            key: "server.listen",
            line: 2, says: "is not a listen address"),
        BadFile(
            name: "token twice", text: "[server]\ntoken = \"abc\"\ntoken_file = \"/run/token\"\n",
            key: "server.token_file",
            line: 3, says: "keep one of them"),
        BadFile(
            name: "size of zero", text: "[limits]\nmax_file_bytes = 0\n", key: "limits.max_file_bytes", line: 2,
            says: "above zero"),
        BadFile(
            name: "size in words", text: "[limits]\nmax_file_bytes = \"50 megs\"\n", key: "limits.max_file_bytes",
            line: 2,
            says: "\"50 megs\" is not a size"),
        BadFile(
            name: "size too large", text: "[limits]\nmax_file_bytes = \"99999999999TB\"\n",
            key: "limits.max_file_bytes",
            line: 2, says: "is not a size"),
        BadFile(
            name: "ignore pattern with a path", text: "[watch]\nignore = [\"tmp/*\"]\n", key: "watch.ignore", line: 2,
            says: "patterns match file names, not paths"),
        BadFile(
            name: "no workers", text: "[ingest]\nworkers = 0\n", key: "ingest.workers", line: 2,
            says: "0 is out of range; write a whole number from 1 to 1024 (leave it out for one per processor)."),
        BadFile(
            name: "home-relative path", text: "[paths]\ninbox = \"~/Inbox\"\n", key: "paths.inbox", line: 2,
            says: "which is not expanded"),

        // Syntax errors: TOMLKit's line, and the key on it when the scanner can tell.
        BadFile(
            name: "syntax error: unquoted duration", text: "[watch]\nmode = \"poll\"\nsettle = 2s\n",
            key: "watch.settle",
            line: 3, says: "this is not valid TOML ("),
        BadFile(
            name: "syntax error: unclosed string", text: "[company]\n\nname = \"Nordlys\n", key: "company.name",
            line: 3,
            says: "this is not valid TOML ("),
        BadFile(
            name: "syntax error: duplicate key", text: "[watch]\nmode = \"poll\"\nmode = \"inotify\"\n",
            key: "watch.mode",
            line: 3, says: "this is not valid TOML ("),
    ]

    @Test(arguments: cases)
    func theErrorNamesTheKeyAndLine(_ bad: BadFile) throws {
        let error = try #require(parseError(bad.text))
        #expect(error.source == "ledgerd.toml")
        if let key = bad.key { #expect(error.key == key) }
        #expect(error.line == bad.line)
        #expect(error.message.contains(bad.says), "\(error.message)")
        // One sentence, with the file, the line and the key up front.
        let prefix = "ledgerd.toml line \(bad.line): " + (error.key.map { "\($0): " } ?? "")
        #expect(error.description.hasPrefix(prefix), "\(error.description)")
        #expect(error.description.hasSuffix(".") || error.description.hasSuffix("?"), "\(error.description)")
        #expect(!error.description.contains("\n"))
    }

    @Test func theDesignExampleReadsExactlySo() throws {
        let text = String(repeating: "\n", count: 10) + "[watch]\nsettle = \"2 seconds\"\n"
        let error = try #require(parseError(text))
        #expect(
            error.description
                == #"ledgerd.toml line 12: watch.settle: "2 seconds" is not a duration; write it like "500ms", "2s", "5m" or "1h"."#
        )
    }

    @Test func syntaxErrorsWithoutAKeyStillHaveTheLine() throws {
        let error = try #require(parseError("[company]\nname = \"A\"\n\n[[[\n"))
        #expect(error.line == 4)
        #expect(error.key == nil)
        #expect(error.description.hasPrefix("ledgerd.toml line 4: this is not valid TOML ("))
    }

    /// toml++ 3.4.0 fails an assertion (abort in debug, undefined behaviour in release) on
    /// these; the parser must refuse them first, with the line.
    @Test(
        arguments: [
            ("[[[1]]]", 1, nil), ("\n[[[a]]]\n", 2, nil), ("[[[]]", 1, nil), ("[[=", 1, nil), ("[=", 1, nil),
            ("[\n", 1, nil),
            ("[company]\nname = \"A\"\n[ !x]\n", 3, nil), ("[watch]\nignore = [\"a\",\n}\n", 3, "watch.ignore"),
            ("a = [1,}", 1, "a"), ("a = { b = [ } }", 1, "a.b"),
            ("[company]\nname = 1980-05-27Te7:32:00Z\n", 2, "company.name"),
            ("x = 07:3x", 1, "x"), ("x = [1979-05-27t]", 1, "x"), ("x = 9\u{19}51-03-/= 2", 1, "x"),
            ("\u{FEFF}\u{FEFF}[\u{19}", 1, nil), ("[company]\nname = \"A\\u0000B\"", 2, "company.name"),
        ] as [(String, Int, String?)])
    func textThatCrashesTOMLKitIsRefusedFirst(_ text: String, line: Int, key: String?) throws {
        let error = try #require(parseError(text))
        #expect(error.line == line)
        #expect(error.key == key)
    }

    @Test func aNULByteIsRefusedRatherThanTruncatingTheFile() throws {
        let error = try #require(parseError("[company]\nname = \"A\"\n\u{0}\n[nonsense]\n"))
        #expect(error.line == 3)
        #expect(error.message.contains("NUL"))
    }

    @Test func theFirstUnknownKeyInTheFileIsReported() throws {
        let error = try #require(parseError("[watch]\nzzz = 1\naaa = 2\nmode = \"poll\"\n"))
        #expect(error.key == "watch.zzz")
        #expect(error.line == 2)
    }

    @Test func descriptionsWithoutALineOrKey() {
        #expect(ConfigurationError(source: "a.toml", message: "gone.").description == "a.toml: gone.")
        #expect(
            ConfigurationError(source: "a.toml", key: "watch.mode", message: "bad.").description
                == "a.toml: watch.mode: bad.")
        #expect(dottedKey(["accounts", "output_vat", "12.5"]) == #"accounts.output_vat."12.5""#)
        #expect(quoted("a\"b\\c\u{1}") == #""a\"b\\c\u0001""#)
    }

    @Test func suggestions() {
        #expect(Suggestion.closest(to: "setle", among: ["mode", "settle"]) == "settle")
        #expect(Suggestion.closest(to: "Settle", among: ["settle"]) == "settle")
        #expect(Suggestion.closest(to: "frobnicate", among: ["listen", "token", "token_file"]) == nil)
        #expect(Suggestion.closest(to: "abc", among: ["xyz"]) == nil)
        #expect(Suggestion.list(["a", "b", "c"]) == "a, b and c")
        #expect(Suggestion.editDistance("kitten", "sitting") == 3)
        #expect(Suggestion.editDistance("wathc", "watch") == 1)
        #expect(Suggestion.closest(to: "wathc", among: ["paths", "watch"]) == "watch")
    }
}

/// Damaged copies of the example file: each must parse or fail with a line, and never crash
/// (toml++ aborts on some malformed input in debug builds; the parser must catch those first).
@Suite struct DamagedFileTests {
    static let example = Array(Configuration.exampleTOML.utf8)

    static func check(_ bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        do {
            _ = try Configuration.parse(text, source: "damaged.toml", baseDirectory: "/etc/ledgerd")
        } catch {
            #expect(error.line != nil, "\(error.description)\n\(text)")
            #expect(!error.description.contains("\n"))
        }
    }

    /// Where damage matters most: line starts, and around brackets, quotes and `=`.
    static let hotSpots: [Int] = example.indices.filter { index in
        index == 0 || example[index - 1] == UInt8(ascii: "\n")
            || "[]{}=\",".utf8.contains(example[index]) || "[]{}=\",".utf8.contains(example[index - 1])
    }

    @Test func aCharacterDeletedAtEveryHotSpot() {
        for index in Self.hotSpots {
            var bytes = Self.example
            bytes.remove(at: index)
            Self.check(bytes)
        }
    }

    @Test(arguments: Array("[]{}=\"',#.:-\n\\".utf8))
    func aSyntaxCharacterInsertedAtHotSpots(_ byte: UInt8) {
        // Every fifth spot, a different fifth for each character: every spot gets damaged.
        for (n, index) in Self.hotSpots.enumerated() where n % 5 == Int(byte) % 5 {
            var bytes = Self.example
            bytes.insert(byte, at: index)
            Self.check(bytes)
        }
    }
}

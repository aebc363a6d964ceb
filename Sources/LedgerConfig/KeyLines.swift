/// The line each key of a TOML document is written on.
///
/// TOMLKit reports a line only for syntax errors, not for the nodes of a parsed document, so
/// errors about a value find their line here. The scanner reads just enough of TOML to follow
/// where it is: `[table]` and `[[array]]` headers, dotted and quoted keys, inline tables,
/// arrays, strings (multi-line ones included, so their contents never look like keys) and
/// comments. It runs before TOMLKit, on any text, to find the few places toml++ must not be
/// given (`hazard`); on valid TOML it sees what toml++ sees. Every step consumes at least one
/// byte, so it ends on any input.
struct KeyLines: Sendable {
    /// The first line (1-based) on which each key path appears, or a table header names it.
    private(set) var lines: [[String]: Int] = [:]

    /// The longest key path written on each line, wherever else it also appears (a key
    /// given twice is a syntax error on its second line).
    private(set) var keyOnLine: [Int: [String]] = [:]

    /// Text toml++ 3.4.0 (inside TOMLKit 0.6.0) cannot be given: on these it fails an
    /// assertion instead of reporting an error (an abort in debug builds, undefined behaviour
    /// in release builds). The parser reports them itself before TOMLKit sees the text.
    struct Hazard: Sendable, Equatable {
        var line: Int
        /// The key whose value it is in, if any.
        var path: [String]?
        /// What is wrong, for the message.
        var reason: String
    }

    /// The first such place: a table header that does not start with a key (`[[[x]]`,
    /// `[=`, a lone `[`; toml++ PR #301 fixed it upstream), `}` where an array expects a
    /// value (`[1, }`), or an unquoted date or time (`1979-05-27Tx` asserts). No setting
    /// takes a date or time, so refusing all of them costs nothing.
    private(set) var hazard: Hazard?

    init(scanning text: String) {
        var scanner = Scanner(bytes: Array(text.utf8))
        scanner.scanDocument()
        lines = scanner.lines
        keyOnLine = scanner.keyOnLine
        hazard = scanner.hazard
    }

    /// The line of `path`, or of its nearest ancestor that has one (a value inside an array,
    /// or a table only ever named as a prefix).
    func line(of path: [String]) -> Int? {
        var path = path[...]
        while !path.isEmpty {
            if let line = lines[Array(path)] { return line }
            path = path.dropLast()
        }
        return nil
    }

    private struct Scanner {
        let bytes: [UInt8]
        var index = 0
        var line = 1
        var lines: [[String]: Int] = [:]
        var keyOnLine: [Int: [String]] = [:]
        var hazard: Hazard?

        init(bytes: [UInt8]) { self.bytes = bytes }

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        func peek(_ offset: Int) -> UInt8? {
            index + offset < bytes.count ? bytes[index + offset] : nil
        }

        mutating func advance() {
            if bytes[index] == UInt8(ascii: "\n") { line += 1 }
            index += 1
        }

        mutating func record(_ path: [String]) {
            // A key also names every table above it (`a.b = 1` creates table `a` here).
            guard !path.isEmpty else { return }
            if path.count > keyOnLine[line]?.count ?? 0 { keyOnLine[line] = path }
            for end in 1...path.count {
                let prefix = Array(path[..<end])
                if lines[prefix] == nil { lines[prefix] = line }
            }
        }

        mutating func flag(_ reason: String, at path: [String]? = nil) {
            if hazard == nil { hazard = Hazard(line: line, path: path, reason: reason) }
        }

        mutating func skipBlanks() {
            while let c = current, c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") { advance() }
        }

        /// Skips blanks, newlines and comments (inside arrays and inline tables).
        mutating func skipBlanksAndComments() {
            while let c = current {
                if c == UInt8(ascii: "#") {
                    skipToEndOfLine()
                } else if c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\n")
                    || c == UInt8(ascii: "\r")
                {
                    advance()
                } else {
                    return
                }
            }
        }

        mutating func skipToEndOfLine() {
            while let c = current, c != UInt8(ascii: "\n") { advance() }
        }

        mutating func scanDocument() {
            var table: [String] = []
            // toml++ skips one leading byte-order mark, and so must this.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { index = 3 }
            while current != nil {
                skipBlanksAndComments()
                guard let c = current else { return }
                let start = index
                if c == UInt8(ascii: "[") {
                    advance()
                    if current == UInt8(ascii: "[") { advance() }
                    skipBlanks()
                    if let b = current, !Self.isBareKeyByte(b), b != UInt8(ascii: "\""), b != UInt8(ascii: "'"),
                        b != UInt8(ascii: "]")
                    {
                        flag("this is not valid TOML (a table header must start with a name, like [watch])")
                    }
                    table = scanKey()
                    record(table)
                    skipToEndOfLine()
                } else {
                    let key = scanKey()
                    record(table + key)
                    skipBlanks()
                    if current == UInt8(ascii: "=") {
                        advance()
                        scanValue(table + key)
                    }
                    skipToEndOfLine()
                }
                if index == start { advance() }
            }
        }

        /// A dotted key: bare, "basic" or 'literal' parts separated by dots.
        mutating func scanKey() -> [String] {
            var parts: [String] = []
            while true {
                skipBlanks()
                guard let c = current else { return parts }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    parts.append(scanString())
                } else {
                    let start = index
                    while let b = current, Self.isBareKeyByte(b) { advance() }
                    guard index > start else { return parts }
                    parts.append(String(decoding: bytes[start..<index], as: UTF8.self))
                }
                skipBlanks()
                guard current == UInt8(ascii: ".") else { return parts }
                advance()
            }
        }

        /// `HH:MM…` or `YYYY-MM-DD…`: what toml++ would read as a time or a date. Values
        /// without quotes are otherwise only numbers and booleans: letters, digits, `_+-.`.
        static func looksLikeDateOrTime(_ token: ArraySlice<UInt8>) -> Bool {
            let t = Array(token)
            if t.contains(UInt8(ascii: ":")) { return true }
            return t.count >= 5 && t[0..<4].allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
                && t[4] == UInt8(ascii: "-")
        }

        static func isBareKeyByte(_ b: UInt8) -> Bool {
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
                || b == UInt8(ascii: "-")
        }

        mutating func scanValue(_ path: [String]) {
            skipBlanks()
            guard let c = current else { return }
            switch c {
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let clean = hazard == nil
                _ = scanString()
                if clean, hazard != nil { hazard?.path = path }
            case UInt8(ascii: "{"):
                advance()
                while true {
                    skipBlanksAndComments()
                    guard let b = current else { return }
                    if b == UInt8(ascii: "}") {
                        advance()
                        return
                    }
                    let start = index
                    let key = scanKey()
                    if !key.isEmpty { record(path + key) }
                    skipBlanks()
                    if current == UInt8(ascii: "=") {
                        advance()
                        scanValue(path + key)
                    }
                    skipBlanksAndComments()
                    if current == UInt8(ascii: ",") { advance() }
                    if index == start { advance() }
                }
            case UInt8(ascii: "["):
                advance()
                while true {
                    skipBlanksAndComments()
                    guard let b = current else { return }
                    if b == UInt8(ascii: "]") {
                        advance()
                        return
                    }
                    if b == UInt8(ascii: "}") {
                        flag("this is not valid TOML (a list must end with ], not })", at: path)
                    }
                    let start = index
                    scanValue(path)
                    skipBlanksAndComments()
                    if current == UInt8(ascii: ",") { advance() }
                    if index == start { advance() }
                }
            default:
                // Numbers, booleans, dates (which may hold one space): up to a delimiter.
                let start = index
                while let b = current, b != UInt8(ascii: ","), b != UInt8(ascii: "]"), b != UInt8(ascii: "}"),
                    b != UInt8(ascii: "#"), b != UInt8(ascii: "\n")
                {
                    advance()
                }
                var token = bytes[start..<index]
                while let last = token.last,
                    last == UInt8(ascii: " ") || last == UInt8(ascii: "\t")
                        || last == UInt8(ascii: "\r")
                {
                    token = token.dropLast()
                }
                if Self.looksLikeDateOrTime(token) {
                    flag("this is a date or time, which no setting takes; write text in quotes", at: path)
                } else if !token.allSatisfy({
                    Self.isBareKeyByte($0) || $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: ".")
                }) {
                    flag(
                        "this is not valid TOML (write text in quotes; only numbers, true and false go without)",
                        at: path)
                }
            }
        }

        /// A basic or literal string, single- or multi-line; returns its (key) value.
        mutating func scanString() -> String {
            let quote = bytes[index]
            let multiline = peek(1) == quote && peek(2) == quote
            let delimiter = multiline ? 3 : 1
            for _ in 0..<delimiter { advance() }
            var value: [UInt8] = []
            while let c = current {
                if c == quote, !multiline || (peek(1) == quote && peek(2) == quote) {
                    // Up to two extra quotes may close a multi-line string (`""""` ends in a quote).
                    var run = 0
                    while current == quote, run < (multiline ? 5 : 1) {
                        advance()
                        run += 1
                    }
                    if run > delimiter { value += Array(repeating: quote, count: run - delimiter) }
                    break
                }
                if c == UInt8(ascii: "\n"), !multiline { break }
                if c == UInt8(ascii: "\\"), quote == UInt8(ascii: "\"") {
                    advance()
                    guard let escaped = current else { break }
                    advance()
                    value += Self.unescape(escaped, reading: &self)
                    continue
                }
                value.append(c)
                advance()
            }
            return String(decoding: value, as: UTF8.self)
        }

        static func unescape(_ escaped: UInt8, reading scanner: inout Scanner) -> [UInt8] {
            switch escaped {
            case UInt8(ascii: "n"): return [0x0A]
            case UInt8(ascii: "t"): return [0x09]
            case UInt8(ascii: "r"): return [0x0D]
            case UInt8(ascii: "b"): return [0x08]
            case UInt8(ascii: "f"): return [0x0C]
            case UInt8(ascii: "e"): return [0x1B]
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                var hex: [UInt8] = []
                for _ in 0..<(escaped == UInt8(ascii: "u") ? 4 : 8) {
                    guard let h = scanner.current else { break }
                    hex.append(h)
                    scanner.advance()
                }
                guard let code = UInt32(String(decoding: hex, as: UTF8.self), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else { return [] }
                // TOMLKit reads strings as C strings: a NUL would silently cut the text short.
                if code == 0 { scanner.flag("text cannot contain \\u0000; remove it") }
                return Array(String(Character(scalar)).utf8)
            default:
                // `\"`, `\\`, and a line-ending backslash (whose white space carries no key).
                return escaped == UInt8(ascii: "\n") || escaped == UInt8(ascii: " ") ? [] : [escaped]
            }
        }
    }
}

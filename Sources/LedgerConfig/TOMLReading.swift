import TOMLKit

/// A parsed TOML value, copied out of TOMLKit's reference types so the rest of the parser
/// works on plain, immutable values.
indirect enum TOMLNode: Equatable {
    case table([String: TOMLNode])
    case array([TOMLNode])
    case string(String)
    case integer(Int)
    case float(Double)
    case bool(Bool)
    /// Dates and times, which no setting takes.
    case dateTime(String)

    init(_ value: any TOMLValueConvertible) {
        switch value.type {
        case .table:
            var entries: [String: TOMLNode] = [:]
            for (key, child) in value.table ?? TOMLTable() { entries[key] = TOMLNode(child) }
            self = .table(entries)
        case .array: self = .array((value.array ?? TOMLArray()).map { TOMLNode($0) })
        case .string: self = .string(value.string ?? "")
        case .int: self = .integer(value.int ?? 0)
        case .double: self = .float(value.double ?? 0)
        case .bool: self = .bool(value.bool ?? false)
        case .date, .time, .dateTime: self = .dateTime(value.debugDescription)
        }
    }

    /// How a message names what was found: `the number 2`, `the string "x"`, `a table`.
    var found: String {
        switch self {
        case .table: return "a table"
        case .array: return "a list"
        case .string(let s): return "the string \(quoted(s))"
        case .integer(let i): return "the number \(i)"
        case .float(let d): return "the number \(d)"
        case .bool(let b): return "the value \(b)"
        case .dateTime(let text): return "the date \(text)"
        }
    }
}

/// Where errors point: the file's name and the line of each key.
struct ErrorContext {
    let source: String
    let lines: KeyLines

    func error(_ path: [String], _ message: String) -> ConfigurationError {
        ConfigurationError(source: source, key: dottedKey(path), line: lines.line(of: path), message: message)
    }
}

/// One table of the file being read: typed access to its keys, each failure an error that
/// names the key.
struct TableReader {
    let path: [String]
    let entries: [String: TOMLNode]
    let context: ErrorContext

    func error(_ key: String, _ message: String) -> ConfigurationError {
        context.error(path + [key], message)
    }

    func error(_ path: [String], _ message: String) -> ConfigurationError {
        context.error(path, message)
    }

    /// Fails on the first key (by line) that is not in `known`, suggesting the key meant.
    /// `elsewhere` maps keys of other tables to where they belong, for keys written under
    /// the wrong header.
    func rejectUnknown(known: [String], elsewhere: [String: String] = [:]) throws(ConfigurationError) {
        let unknown = entries.keys.filter { !known.contains($0) }
        guard
            let key = unknown.min(by: {
                (context.lines.line(of: path + [$0]) ?? .max, $0) < (context.lines.line(of: path + [$1]) ?? .max, $1)
            })
        else { return }
        let isSection = path.isEmpty
        let noun =
            isSection && entries[key].map({ if case .table = $0 { true } else { false } }) == true
            ? "section" : "setting"
        let spelled = isSection ? known.map { "[\($0)]" } : known
        let message: String
        if let close = Suggestion.closest(to: key, among: known) {
            message = "unknown \(noun); did you mean \(isSection ? "[\(close)]" : close)?"
        } else if noun == "setting", let home = elsewhere[key] {
            message = "unknown \(noun) here; it belongs under [\(home)]."
        } else if path.isEmpty {
            message = "unknown \(noun); the sections are \(Suggestion.list(spelled))."
        } else {
            message = "unknown setting; [\(dottedKey(path))] takes \(Suggestion.list(spelled))."
        }
        throw error(key, message)
    }

    func value(_ key: String) -> TOMLNode? { entries[key] }

    func string(_ key: String, expected: String) throws(ConfigurationError) -> String? {
        guard let node = entries[key] else { return nil }
        guard case .string(let text) = node else { throw error(key, "expected \(expected), found \(node.found).") }
        return text
    }

    func bool(_ key: String, expected: String) throws(ConfigurationError) -> Bool? {
        guard let node = entries[key] else { return nil }
        guard case .bool(let value) = node else { throw error(key, "expected \(expected), found \(node.found).") }
        return value
    }

    func integer(_ key: String, expected: String) throws(ConfigurationError) -> Int? {
        guard let node = entries[key] else { return nil }
        guard case .integer(let value) = node else { throw error(key, "expected \(expected), found \(node.found).") }
        return value
    }

    func strings(_ key: String, expected: String) throws(ConfigurationError) -> [String]? {
        guard let node = entries[key] else { return nil }
        guard case .array(let items) = node else {
            throw error(key, "expected \(expected), found \(node.found).")
        }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item else {
                throw error(key, "item \(index + 1) of the list is \(item.found); expected \(expected).")
            }
            result.append(text)
        }
        return result
    }

    func table(_ key: String) throws(ConfigurationError) -> TableReader? {
        guard let node = entries[key] else { return nil }
        guard case .table(let entries) = node else {
            let hint = path.isEmpty ? "a [\(key)] section" : "a table, like \(key) = { … }"
            throw error(key, "expected \(hint), found \(node.found).")
        }
        return TableReader(path: path + [key], entries: entries, context: context)
    }

    /// The table's entries ordered by line, for tables whose keys are data (org numbers,
    /// rates) rather than setting names, so the first bad one is the first in the file.
    var entriesInFileOrder: [(key: String, value: TOMLNode)] {
        entries.map { (key: $0.key, value: $0.value) }.sorted {
            (context.lines.line(of: path + [$0.key]) ?? .max, $0.key)
                < (context.lines.line(of: path + [$1.key]) ?? .max, $1.key)
        }
    }
}

/// "Did you mean …?" for misspelt keys (and command names).
public enum Suggestion {
    /// The known key closest to `key`, when it is close enough to be the one meant: the
    /// same apart from case, `-` for `_`, or at most two edits away (one for short keys).
    public static func closest(to key: String, among known: [String]) -> String? {
        let normalized = String(key.lowercased().map { $0 == "-" ? "_" : $0 })
        if let same = known.first(where: { $0 == normalized }) { return same }
        let scored = known.map { (key: $0, distance: editDistance(normalized, $0)) }
        guard let best = scored.min(by: { $0.distance < $1.distance }) else { return nil }
        let allowed = min(key.count, best.key.count) <= 4 ? 1 : 2
        return best.distance <= allowed ? best.key : nil
    }

    /// Edit distance where swapping two neighbours counts as one edit, like inserting,
    /// deleting or replacing a character (optimal string alignment): `wathc` is one edit
    /// from `watch`.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// "a, b and c".
    public static func list(_ items: [String]) -> String {
        guard items.count > 1 else { return items.first ?? "" }
        return items.dropLast().joined(separator: ", ") + " and " + items.last!
    }
}

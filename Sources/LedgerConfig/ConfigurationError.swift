import LedgerCore

/// A configuration that cannot be used, said in one sentence that names the file, the line
/// and the key, e.g. `ledgerd.toml line 12: watch.settle: "2 seconds" is not a duration;
/// write it like "500ms", "2s", "5m" or "1h".`
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration file's path as it was given.
    public var source: String
    /// The dotted key, e.g. `watch.settle` or `accounts.input_vat.25`; nil for errors about
    /// the file as a whole (missing, unreadable, a syntax error).
    public var key: String?
    /// 1-based line of the key (or of the syntax error), when known.
    public var line: Int?
    /// The sentence after the key: what is wrong and what to write instead.
    public var message: String

    public init(source: String, key: String? = nil, line: Int? = nil, message: String) {
        self.source = source
        self.key = key
        self.line = line
        self.message = message
    }

    public var description: String {
        var text = source
        if let line { text += " line \(line)" }
        text += ": "
        if let key { text += "\(key): " }
        return text + message
    }
}

/// Spells a key path the way TOML would: bare parts as they are, other parts quoted
/// (`accounts.output_vat."12.5"`).
func dottedKey(_ path: [String]) -> String {
    path.map { part in
        let bare =
            !part.isEmpty
            && part.utf8.allSatisfy { b in
                (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                    || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "_")
                    || b == UInt8(ascii: "-")
            }
        return bare ? part : quoted(part)
    }.joined(separator: ".")
}

/// `text` in double quotes, with quotes, backslashes and control characters escaped, so a
/// value shows exactly in a one-line message.
func quoted(_ text: String) -> String { OneLine.escaped(text, quoting: true) }

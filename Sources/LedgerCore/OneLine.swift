/// Text from outside (a file's name, a value from a document) made safe to show on one line
/// of a log, a terminal or a report.
///
/// A file name may hold any byte but "/" and NUL: a newline in it would start what looks like
/// a log line of its own ("a⏎posted: other.xml"), an escape sequence would recolour or rewrite
/// the terminal of whoever reads the log, and bidirectional controls would show a name in
/// another order than it is stored. Each such character is shown as an escape instead, so
/// the text stays readable and what it holds stays visible. The stored text is not changed.
public enum OneLine {
    /// `text` with control characters (C0, DEL, C1), line and paragraph separators and
    /// bidirectional formatting characters written as `\n`, `\t`, `\r` or `\uXXXX` (all of
    /// them are below U+10000). With `quoting`, also `"` and `\` escaped and the whole in
    /// double quotes: a TOML (and JSON) string that reads back as the exact text.
    public static func escaped(_ text: String, quoting: Bool = false) -> String {
        // Nearly every text needs nothing (every file's log line comes through here): look
        // before building a copy scalar by scalar.
        if !quoting, isPlain(text) { return text }
        var result = quoting ? "\"" : ""
        result.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": result += "\\n"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case "\"" where quoting: result += "\\\""
            case "\\" where quoting: result += "\\\\"
            default:
                if needsEscape(scalar) {
                    let hex = String(scalar.value, radix: 16, uppercase: true)
                    result += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return quoting ? result + "\"" : result
    }

    /// Whether no scalar of `text` `needsEscape`, read from its UTF-8 bytes: a scalar is
    /// decoded only where its first byte can start one that does (C2 for U+0080–U+009F, D8 for
    /// U+061C, E2 for U+2000–U+2FFF); every other one is stepped over by its length.
    static func isPlain(_ text: String) -> Bool {
        let plain = text.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            var index = 0
            while index < bytes.count {
                let lead = bytes[index]
                switch lead {
                case 0x20..<0x7F:
                    index += 1
                case 0x00..<0x20, 0x7F:
                    return false
                case 0xC2, 0xD8:
                    let value = UInt32(lead & 0x1F) << 6 | UInt32(bytes[index + 1] & 0x3F)
                    if needsEscape(Unicode.Scalar(value)!) { return false }
                    index += 2
                case 0xE2:
                    let value =
                        UInt32(lead & 0x0F) << 12 | UInt32(bytes[index + 1] & 0x3F) << 6
                        | UInt32(bytes[index + 2] & 0x3F)
                    if needsEscape(Unicode.Scalar(value)!) { return false }
                    index += 3
                default:
                    index += lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4
                }
            }
            return true
        }
        return plain ?? !text.unicodeScalars.contains(where: needsEscape)
    }

    static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00..<0x20, 0x7F..<0xA0: return true  // C0, DEL, C1
        case 0x2028, 0x2029: return true  // line and paragraph separators
        case 0x200E, 0x200F, 0x061C: return true  // directional marks
        case 0x202A...0x202E, 0x2066...0x2069: return true  // embeddings, overrides, isolates
        default: return false
        }
    }
}

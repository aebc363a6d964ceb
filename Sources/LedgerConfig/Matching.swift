import LedgerCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Configuration.Watch {
    /// Whether a file named `name` (a name, not a path) is left alone by the watcher: it
    /// matches one of the `ignore` patterns. `*` stands for any run of characters (also
    /// none), `?` for exactly one; anything else matches itself, ignoring case (Windows
    /// writes `Thumbs.db` and `~$Report.XLSX` onto shares). So `.*` means every dotfile,
    /// `~$*` Office lock files, and `@eaDir` exactly that name.
    public func isIgnored(name: String) -> Bool {
        // Every file found in a scan is asked about, so ASCII names and patterns (nearly all of
        // them) are compared as bytes; lowercasing and splitting into Characters look up
        // Unicode properties for each character.
        let asciiName = Self.asciiLowercased(name)
        var unicodeName: [Character]?
        return zip(ignore, asciiIgnore).contains { pattern, asciiPattern in
            if let asciiName, let asciiPattern {
                return Self.glob(asciiPattern, matches: asciiName, star: UInt8(ascii: "*"), one: UInt8(ascii: "?"))
            }
            if unicodeName == nil { unicodeName = Array(name.lowercased()) }
            return Self.glob(Array(pattern.lowercased()), matches: unicodeName!)
        }
    }

    /// The bytes of `text` with A–Z lowered, or nil when it is not all ASCII or holds a
    /// carriage return (`\r\n` is one Character, so `?` must match it whole).
    static func asciiLowercased(_ text: String) -> [UInt8]? {
        var text = text
        // Over the string's own bytes into an array of their count: appending byte by byte
        // through the UTF-8 view came to half of what asking about a name cost.
        return text.withUTF8 { utf8 -> [UInt8]? in
            guard utf8.allSatisfy({ $0 < 0x80 && $0 != 0x0D }) else { return nil }
            return [UInt8](unsafeUninitializedCapacity: utf8.count) { lowered, count in
                for i in 0..<utf8.count { lowered[i] = ASCIIText.lowered(utf8[i]) }
                count = utf8.count
            }
        }
    }

    static func glob(_ pattern: [Character], matches name: [Character]) -> Bool {
        glob(pattern, matches: name, star: "*", one: "?")
    }

    /// Wildcard match with backtracking to the last `*` only: linear in practice, and never
    /// exponential (a pattern like `*a*a*a*b` cannot blow up).
    static func glob<Element: Equatable>(_ pattern: [Element], matches name: [Element], star any: Element, one: Element)
        -> Bool
    {
        // What a match needs at the name's end, checked first (most names fail there, and a
        // leading `*` would otherwise be tried at every position): without a `*`, the name's
        // length; with one, the part after the last `*` as the name's end.
        let lastStar = pattern.lastIndex(of: any)
        if lastStar == nil, name.count != pattern.count { return false }
        let tail = lastStar.map { pattern.count - $0 - 1 } ?? pattern.count
        guard tail <= name.count else { return false }
        for i in 0..<tail {
            let expected = pattern[pattern.count - tail + i]
            guard expected == one || expected == name[name.count - tail + i] else { return false }
        }
        var p = 0
        var n = 0
        var star: Int? = nil
        var resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == any {
                star = p
                resume = n
                p += 1
            } else if p < pattern.count, pattern[p] == one || pattern[p] == name[n] {
                p += 1
                n += 1
            } else if let star {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == any { p += 1 }
        return p == pattern.count
    }
}

extension Configuration.Server {
    /// Reads `host:port` (`127.0.0.1:8080`, `localhost:8080`, `[::1]:8080`, `0.0.0.0:0`).
    /// The host is an IPv4 or bracketed IPv6 address or a host name; the port 0...65535
    /// (0: any free port, for tests).
    static func parseListen(_ text: String) -> (host: String, port: Int)? {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.first == ":" else { return nil }
            portText = rest.dropFirst()
            guard isIPv6(String(host)) else { return nil }
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard isIPv4(String(host)) || isHostName(host) else { return nil }
        }
        guard (1...5).contains(portText.count), portText.allSatisfy({ $0.isASCII && $0.isNumber }),
            let port = Int(portText), port <= 65535
        else { return nil }
        return (String(host), port)
    }

    static func isIPv4(_ text: String) -> Bool {
        var address = in_addr()
        // inet_pton accepts only the four-part dotted decimal form, unlike inet_aton.
        return inet_pton(AF_INET, text, &address) == 1
    }

    static func isIPv6(_ text: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET6, text, &address) == 1
    }

    /// A DNS name: dot-separated labels of letters, digits and inner hyphens, not all digits
    /// (so a mistyped address such as `127.0.0.300` is not taken for a name).
    static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard !labels.allSatisfy({ $0.allSatisfy(\.isNumber) }) else { return false }
        return labels.allSatisfy { label in
            (1...63).contains(label.count) && label.first != "-" && label.last != "-"
                && label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
    }
}

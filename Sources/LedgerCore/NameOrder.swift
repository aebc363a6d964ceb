/// The order people expect party names in: letters case-insensitively, and runs of digits by
/// their value, so "Leverandør 2" comes before "Leverandør 10" (plain string order puts 10, 11
/// … between 1 and 2). Names equal in that order (differing only in case or leading zeros) are
/// ordered by their exact text, so the order is total and a sort is stable across runs.
///
/// Text is compared by its Unicode scalars, not with `String`'s `<`: that one is not a strict
/// order across normalisation forms ("e" + U+0301 and "\u{E9}b" each fail to precede the
/// other, though they differ), which a sort cannot rely on.
public enum NameOrder {
    public static func precedes(_ a: String, _ b: String) -> Bool {
        let ka = key(a)
        let kb = key(b)
        if ka != kb { return ka.lexicographicallyPrecedes(kb) }
        return a.unicodeScalars.lazy.map(\.value).lexicographicallyPrecedes(b.unicodeScalars.lazy.map(\.value))
    }

    /// One piece of a name: a run of ASCII digits (leading zeros dropped) or of anything else
    /// (lowercased, as its scalars).
    enum Piece: Comparable {
        case number(String)
        case text([UInt32])

        static func < (x: Piece, y: Piece) -> Bool {
            switch (x, y) {
            case (.number(let p), .number(let q)): return (p.utf8.count, p) < (q.utf8.count, q)
            case (.text(let p), .text(let q)): return p.lexicographicallyPrecedes(q)
            // A digit sorts before anything that is not one, as in plain string order.
            case (.number, .text): return true
            case (.text, .number): return false
            }
        }
    }

    static func key(_ name: String) -> [Piece] {
        var pieces: [Piece] = []
        var run = ""
        var inDigits = false
        func flush() {
            guard !run.isEmpty else { return }
            if inDigits {
                let value = run.drop { $0 == "0" }
                pieces.append(.number(value.isEmpty ? "0" : String(value)))
            } else {
                pieces.append(.text(run.lowercased().unicodeScalars.map(\.value)))
            }
            run = ""
        }
        for character in name {
            let digit = character.isASCII && character.isNumber
            if digit != inDigits {
                flush()
                inDigits = digit
            }
            run.append(character)
        }
        flush()
        return pieces
    }
}

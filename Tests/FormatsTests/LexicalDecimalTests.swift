import Testing

@testable import Formats

/// Decimals as the file writes them (`LexicalDecimal.parse`): gathered in 64 bits while they
/// fit, in 128 beyond. Checked against gathering every digit in 128 bits, the way it was done
/// before, on numerals of every length around the 19 digits where the two part.
@Suite struct LexicalDecimalTests {
    /// The reference: every digit in 128-bit arithmetic.
    static func reference(_ text: [UInt8], rounding: Bool) -> String {
        let trimmed = Array(
            text.drop { [0x20, 0x09, 0x0A, 0x0D].contains($0) }.reversed().drop {
                [0x20, 0x09, 0x0A, 0x0D].contains($0)
            }
            .reversed())
        guard !trimmed.isEmpty else { return "empty" }
        var i = 0
        var negative = false
        if trimmed[0] == UInt8(ascii: "-") || trimmed[0] == UInt8(ascii: "+") {
            negative = trimmed[0] == UInt8(ascii: "-")
            i = 1
        }
        var significand: Int128 = 0
        var digits = 0
        var significant = 0
        var fraction = 0
        var seenPoint = false
        var dropped: UInt8?
        while i < trimmed.count {
            let b = trimmed[i]
            i += 1
            if b == UInt8(ascii: ".") {
                if seenPoint { return "malformed" }
                seenPoint = true
                continue
            }
            guard b >= 0x30, b <= 0x39 else { return "malformed" }
            digits += 1
            if dropped != nil { continue }
            if significand == 0 && b == 0x30 {
                if seenPoint { fraction += 1 }
                continue
            }
            if significant == LexicalDecimal.maxDigits {
                guard rounding, seenPoint else { return "tooLong" }
                dropped = b - 0x30
                continue
            }
            if seenPoint { fraction += 1 }
            significant += 1
            significand = significand * 10 + Int128(b - 0x30)
        }
        guard digits > 0 else { return "malformed" }
        return "\(negative ? -significand : significand) \(fraction) \(dropped.map(String.init) ?? "-")"
    }

    static func parsed(_ text: [UInt8], rounding: Bool) -> String {
        text.withUnsafeBufferPointer { buffer in
            switch LexicalDecimal.parse(buffer, roundingLongFractions: rounding) {
            case .success(let d): "\(d.significand) \(d.fractionDigits) \(d.droppedDigit.map(String.init) ?? "-")"
            case .failure(let failure): "\(failure)"
            }
        }
    }

    @Test func agreesWithEveryDigitIn128Bits() {
        // A fixed sequence (SplitMix64), so a failure is found again.
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let pieces: [[UInt8]] = ["0", "00", "9", "1", "7", "99999", "000", ".", "-", "+", " ", "x"].map {
            Array($0.utf8)
        }
        for _ in 0..<20_000 {
            var text: [UInt8] = []
            // Mostly digits, lengths up to ~40, so 18 to 21 and 27 to 29 significant digits come often.
            for _ in 0..<Int(next() % 40) {
                let r = next() % 100
                if r < 85 {
                    text.append(UInt8(ascii: "0") + UInt8(next() % 10))
                } else {
                    text += pieces[Int(next() % UInt64(pieces.count))]
                }
            }
            if next() % 2 == 0 { text.insert(UInt8(ascii: "-"), at: 0) }
            for rounding in [false, true] {
                #expect(
                    Self.parsed(text, rounding: rounding) == Self.reference(text, rounding: rounding),
                    "\(String(decoding: text, as: UTF8.self)) rounding: \(rounding)")
            }
        }
        // The largest 19-digit value, and the first 20-digit one, at every position of the point.
        for numeral in ["9999999999999999999", "10000000000000000000", "18446744073709551615"] {
            for point in 0...numeral.count {
                var text = Array(numeral.utf8)
                text.insert(UInt8(ascii: "."), at: point)
                #expect(Self.parsed(text, rounding: false) == Self.reference(text, rounding: false))
            }
        }
    }
}

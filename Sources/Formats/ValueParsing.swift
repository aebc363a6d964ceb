// Lexical parsing of the XML Schema values EHF uses, straight from the UTF-8 bytes libxml2
// holds: decimals (amounts, quantities, prices, rates), dates, booleans and base64. No
// Foundation, no locale, no intermediate strings: each amount costs a few dozen
// instructions.

import LedgerCore

/// A decimal exactly as written: sign, digits and the count of digits after the point.
struct LexicalDecimal {
    var significand: Int128
    /// Digits written after the decimal point (trailing zeros included: `10.00` has 2), those
    /// left out (`droppedDigit`) aside.
    var fractionDigits: Int
    /// With `roundingLongFractions`, the first of the decimals left out beyond `maxDigits`
    /// (0–9), nil when none was: the value is then `significand` plus less than one in its
    /// last place, and `rounded` rounds on this digit.
    var droppedDigit: UInt8? = nil

    /// 10^19: `rounded` keeps fewer significant digits than this many, integer part aside.
    static let keptSignificand: UInt128 = 10_000_000_000_000_000_000

    /// Digits accepted at most (leading zeros aside): far beyond any invoice value, and small
    /// enough that products of two values stay inside Int128 in the checked arithmetic.
    static let maxDigits = 27

    enum Failure: Error {
        case empty
        case malformed
        case tooLong
    }

    /// Parses `[+-]digits[.digits]` (XML Schema `decimal`), surrounding white space allowed.
    ///
    /// With `roundingLongFractions`, decimals beyond `maxDigits` significant digits are left
    /// out (see `droppedDigit`) rather than refused: a quantity or price is written so by
    /// software that divides in decimal arithmetic (.NET's `decimal` gives 28 digits:
    /// `33.3333333333333333333333333333`), and EN 16931 sets no limit on their decimals. An
    /// amount is never read so.
    static func parse(_ raw: UnsafeBufferPointer<UInt8>, roundingLongFractions: Bool = false) -> Result<
        LexicalDecimal, Failure
    > {
        let text = XMLTree.trim(raw)
        guard let base = text.baseAddress, text.count > 0 else { return .failure(.empty) }
        var i = 0
        var negative = false
        if base[0] == UInt8(ascii: "-") || base[0] == UInt8(ascii: "+") {
            negative = base[0] == UInt8(ascii: "-")
            i = 1
        }
        // The first 19 significant digits are gathered in 64 bits (10^19 − 1 fits), the rest
        // in 128: 128-bit arithmetic for every digit of every amount cost a third more.
        var small: UInt64 = 0
        var significand: Int128 = 0
        var digits = 0
        var significant = 0
        var fraction = 0
        var seenPoint = false
        var dropped: UInt8?
        while i < text.count {
            let b = base[i]
            i += 1
            if b == UInt8(ascii: ".") {
                if seenPoint { return .failure(.malformed) }
                seenPoint = true
                continue
            }
            guard b >= 0x30, b <= 0x39 else { return .failure(.malformed) }
            digits += 1
            if dropped != nil { continue }
            if significant == 0 && b == 0x30 {
                // Zeros before the first significant digit.
                if seenPoint { fraction += 1 }
                continue
            }
            if significant == maxDigits {
                guard roundingLongFractions, seenPoint else { return .failure(.tooLong) }
                dropped = b - 0x30
                continue
            }
            if seenPoint { fraction += 1 }
            significant += 1
            if significant <= 19 {
                small = small &* 10 &+ UInt64(b - 0x30)
            } else {
                if significant == 20 { significand = Int128(small) }
                significand = significand * 10 + Int128(b - 0x30)
            }
        }
        guard digits > 0 else { return .failure(.malformed) }
        if significant <= 19 { significand = Int128(small) }
        return .success(
            LexicalDecimal(
                significand: negative ? -significand : significand, fractionDigits: fraction, droppedDigit: dropped))
    }

    /// The value as an `ExactDecimal`, rounded half away from zero to `ExactDecimal.maxScale`
    /// decimals and 19 significant digits when written with more (or with decimals left out,
    /// `droppedDigit`); the integer part is never rounded. The line check multiplies a
    /// quantity by a price: 19 digits each keep the product, and the sums it is compared
    /// with, inside Int128, where .NET's 28 would not.
    var rounded: ExactDecimal {
        var magnitude = significand.magnitude
        var scale = fractionDigits
        var up = (droppedDigit ?? 0) >= 5
        while scale > ExactDecimal.maxScale || (scale > 0 && magnitude >= Self.keptSignificand) {
            up = magnitude % 10 >= 5
            magnitude /= 10
            scale -= 1
        }
        if up { magnitude += 1 }
        // At most 27 digits before rounding: one more still fits.
        let value = Int128(magnitude)
        return ExactDecimal(significand: significand < 0 ? -value : value, scale: scale)
    }

    /// The value in minor units of a currency with `digits` decimals, when it has no more
    /// (non-zero) decimals than that and fits in Int64.
    func minorUnits(digits: Int) -> Int64? {
        var s = significand
        var scale = fractionDigits
        while scale > digits {
            guard s % 10 == 0 else { return nil }
            s /= 10
            scale -= 1
        }
        while scale < digits {
            let (m, overflow) = s.multipliedReportingOverflow(by: 10)
            if overflow { return nil }
            s = m
            scale += 1
        }
        return Int64(exactly: s)
    }
}

enum ValueParsing {
    /// `true`/`false` and their xs:boolean spellings `1`/`0`.
    static func boolean(_ raw: UnsafeBufferPointer<UInt8>) -> Bool? {
        let t = XMLTree.trim(raw)
        if equals(t, "true") || equals(t, "1") { return true }
        if equals(t, "false") || equals(t, "0") { return false }
        return nil
    }

    static func equals(_ buffer: UnsafeBufferPointer<UInt8>, _ s: StaticString) -> Bool {
        guard buffer.count == s.utf8CodeUnitCount else { return false }
        let p = s.utf8Start
        for i in 0..<buffer.count where buffer[i] != p[i] { return false }
        return true
    }

    /// `YYYY-MM-DD`, optionally followed by an xs:date time zone (`Z`, `+01:00`), which is
    /// ignored: an invoice date is a calendar day.
    static func day(_ text: String) -> Day? {
        // Over the string's own bytes: copied into arrays and a string again, a date cost
        // ~1,600 instructions.
        text.utf8.withContiguousStorageIfAvailable { day(utf8: $0) } ?? day(utf8: Array(text.utf8))
    }

    private static func day(utf8: some RandomAccessCollection<UInt8>) -> Day? {
        guard utf8.count >= 10 else { return nil }
        let date = utf8.prefix(10)
        let zone = utf8.dropFirst(10)
        if !zone.isEmpty {
            let z = Array(zone.prefix(6))
            let isZ = zone.count == 1 && z[0] == UInt8(ascii: "Z")
            let isOffset =
                zone.count == 6 && (z[0] == UInt8(ascii: "+") || z[0] == UInt8(ascii: "-"))
                && z[3] == UInt8(ascii: ":")
                && [z[1], z[2], z[4], z[5]].allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            guard isZ || isOffset else { return nil }
        }
        return Day(isoUTF8: date)
    }
}

/// A streaming decoder for xs:base64Binary: white space anywhere is skipped, padding is
/// optional at the very end, anything else outside the alphabet is an error. Fed chunk by
/// chunk straight from libxml2's text nodes, so a multi-megabyte attachment is decoded
/// without an intermediate copy.
struct Base64Decoder {
    private(set) var output: [UInt8] = []
    private var quad: UInt32 = 0
    private var count = 0
    private var padding = 0
    private(set) var failed = false

    init(expectedLength: Int = 0) {
        output.reserveCapacity(expectedLength / 4 * 3 + 3)
    }

    /// 0–63 for alphabet characters, 64 for white space, 65 for '=', 255 for anything else.
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        for (i, c) in alphabet.enumerated() { t[Int(c)] = UInt8(i) }
        for c in [0x20, 0x09, 0x0A, 0x0D] { t[c] = 64 }
        t[Int(UInt8(ascii: "="))] = 65
        return t
    }()

    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>) {
        guard !failed else { return }
        Self.table.withUnsafeBufferPointer { table in
            for byte in chunk {
                let v = table[Int(byte)]
                if v < 64 {
                    if padding > 0 {
                        failed = true
                        return
                    }
                    quad = quad << 6 | UInt32(v)
                    count += 1
                    if count == 4 {
                        output.append(UInt8(truncatingIfNeeded: quad >> 16))
                        output.append(UInt8(truncatingIfNeeded: quad >> 8))
                        output.append(UInt8(truncatingIfNeeded: quad))
                        quad = 0
                        count = 0
                    }
                } else if v == 64 {
                    continue
                } else if v == 65 {
                    // '=' only completes a group of two or three characters.
                    padding += 1
                    if count + padding > 4 || count < 2 {
                        failed = true
                        return
                    }
                } else {
                    failed = true
                    return
                }
            }
        }
    }

    /// The decoded bytes, or nil when the text was not base64.
    mutating func finish() -> [UInt8]? {
        guard !failed else { return nil }
        switch count {
        case 0:
            break
        case 2:
            output.append(UInt8(truncatingIfNeeded: quad >> 4))
        case 3:
            output.append(UInt8(truncatingIfNeeded: quad >> 10))
            output.append(UInt8(truncatingIfNeeded: quad >> 2))
        default:
            return nil
        }
        if padding > 0 && count + padding != 4 { return nil }
        quad = 0
        count = 0
        return output
    }
}

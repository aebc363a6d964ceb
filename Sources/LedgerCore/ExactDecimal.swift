/// An exact decimal number: `significand × 10^-scale`.
///
/// Invoice quantities, unit prices and VAT rates may carry more decimals than money does,
/// and EN 16931 checks multiply them. Foundation's `Decimal` parses with locale rules and
/// rounds silently; this type parses the plain XML/CSV decimal syntax exactly and refuses
/// anything it cannot represent, so no amount is ever approximated.
public struct ExactDecimal: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let significand: Int128
    public let scale: Int

    /// Largest scale accepted when parsing; far beyond anything an invoice carries.
    public static let maxScale = 18
    /// Largest magnitude accepted (exclusive): keeps every product of two parsed values, and
    /// every sum after aligning to `maxScale`, inside Int128 (about 1.7 · 10^38).
    static let maxSignificand: Int128 = 10_000_000_000_000_000_000  // 10^19
    /// Bound on the digits read while parsing, before trailing zeros are dropped.
    static let parseGuard: Int128 = 10_000_000_000_000_000_000_000_000_000_000_000_000  // 10^37

    public init(significand: Int128, scale: Int) {
        precondition(scale >= 0, "scale must not be negative")
        self.significand = significand
        self.scale = scale
    }

    public init(_ integer: Int) {
        self.init(significand: Int128(integer), scale: 0)
    }

    public enum ParseError: Error, Equatable, Sendable {
        case empty
        case malformed(String)
        case tooManyDecimals(String, max: Int)
        case outOfRange(String)
    }

    /// Parses `[+-]digits[.digits]` (surrounding white space allowed). No exponents, no
    /// thousands separators, no locale: exactly the XML Schema `decimal` lexical space.
    public init(parsing text: some StringProtocol, maxScale: Int = ExactDecimal.maxScale) throws(ParseError) {
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D }
        let all = Array(text.utf8)
        guard let first = all.firstIndex(where: { !isSpace($0) }), let last = all.lastIndex(where: { !isSpace($0) })
        else { throw .empty }
        var utf8 = all[first...last]
        let shown = String(decoding: utf8, as: UTF8.self)
        var negative = false
        if let sign = utf8.first, sign == UInt8(ascii: "-") || sign == UInt8(ascii: "+") {
            negative = sign == UInt8(ascii: "-")
            utf8 = utf8.dropFirst()
        }
        var significand: Int128 = 0
        var scale = 0
        var seenPoint = false
        var digits = 0
        for byte in utf8 {
            if byte == UInt8(ascii: ".") {
                if seenPoint { throw .malformed(shown) }
                seenPoint = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .malformed(shown)
            }
            digits += 1
            significand = significand * 10 + Int128(byte - UInt8(ascii: "0"))
            // Guard Int128 only here; the real limit is checked once trailing zeros are gone.
            if significand >= Self.parseGuard { throw .outOfRange(shown) }
            if seenPoint {
                scale += 1
            }
        }
        guard digits > 0 else { throw .malformed(shown) }
        if scale > maxScale {
            // Trailing zeros beyond the limit carry no value ("10.000" is 10.00).
            var s = significand
            var sc = scale
            while sc > maxScale, s % 10 == 0 {
                s /= 10
                sc -= 1
            }
            guard sc <= maxScale else { throw .tooManyDecimals(shown, max: maxScale) }
            significand = s
            scale = sc
        }
        if significand >= Self.maxSignificand {
            // Trailing fractional zeros carry no value: drop them until the number fits.
            while scale > 0, significand % 10 == 0, significand >= Self.maxSignificand {
                significand /= 10
                scale -= 1
            }
            guard significand < Self.maxSignificand else { throw .outOfRange(shown) }
        }
        self.init(significand: negative ? -significand : significand, scale: scale)
    }

    public var isZero: Bool { significand == 0 }
    public var isNegative: Bool { significand < 0 }

    /// The same value at a larger scale (exact).
    public func rescaled(to newScale: Int) -> ExactDecimal {
        precondition(newScale >= scale)
        return ExactDecimal(significand: significand * Self.power10(newScale - scale), scale: newScale)
    }

    /// The value without trailing fractional zeros.
    public var normalized: ExactDecimal {
        let (s, sc) = Self.trailingZerosRemoved(significand, scale: scale)
        return ExactDecimal(significand: s, scale: sc)
    }

    /// `significand`·10^-`scale` with as many trailing fractional zeros dropped as there are:
    /// the same value at the smallest scale (not below 0) that holds it.
    @inlinable
    public static func trailingZerosRemoved(_ significand: Int128, scale: Int) -> (Int128, Int) {
        guard scale > 0 else { return (significand, scale) }
        // An invoice's amounts, quantities and rates fit 64 bits, where dividing by ten is a
        // multiplication; a 128-bit division is a call of ~100 instructions, and the rules
        // normalize both operands of each operation (~6 divisions an invoice line).
        if let small = Int64(exactly: significand) {
            var s = small
            var sc = scale
            while sc > 0, s % 10 == 0 {
                s /= 10
                sc -= 1
            }
            return (Int128(s), sc)
        }
        var s = significand
        var sc = scale
        while sc > 0, s % 10 == 0 {
            s /= 10
            sc -= 1
        }
        return (s, sc)
    }

    static func power10(_ n: Int) -> Int128 {
        var result: Int128 = 1
        for _ in 0..<n { result *= 10 }
        return result
    }

    static func aligned(_ a: ExactDecimal, _ b: ExactDecimal) -> (Int128, Int128, Int) {
        let scale = max(a.scale, b.scale)
        return (a.rescaled(to: scale).significand, b.rescaled(to: scale).significand, scale)
    }

    public static func + (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        let (x, y, s) = aligned(a, b)
        return ExactDecimal(significand: x + y, scale: s)
    }

    public static func - (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        let (x, y, s) = aligned(a, b)
        return ExactDecimal(significand: x - y, scale: s)
    }

    public static func * (a: ExactDecimal, b: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: a.significand * b.significand, scale: a.scale + b.scale).normalized
    }

    public static prefix func - (a: ExactDecimal) -> ExactDecimal {
        ExactDecimal(significand: -a.significand, scale: a.scale)
    }

    /// -1, 0 or 1; never overflows. If scaling the coarser value up overflows Int128, its
    /// magnitude exceeds the other's, so its sign decides.
    static func compare(_ a: ExactDecimal, _ b: ExactDecimal) -> Int {
        func cmp(_ x: Int128, _ y: Int128) -> Int { x < y ? -1 : (x == y ? 0 : 1) }
        if a.scale == b.scale { return cmp(a.significand, b.significand) }
        let aIsCoarser = a.scale < b.scale
        let (coarse, fine) = aIsCoarser ? (a, b) : (b, a)
        var x = coarse.significand
        var result: Int? = nil
        for _ in 0..<(fine.scale - coarse.scale) {
            let (m, overflow) = x.multipliedReportingOverflow(by: 10)
            if overflow {
                result = coarse.significand < 0 ? -1 : 1
                break
            }
            x = m
        }
        let r = result ?? cmp(x, fine.significand)
        return aIsCoarser ? r : -r
    }

    public static func == (a: ExactDecimal, b: ExactDecimal) -> Bool { compare(a, b) == 0 }

    public func hash(into hasher: inout Hasher) {
        let n = normalized
        hasher.combine(n.significand)
        hasher.combine(n.scale)
    }

    public static func < (a: ExactDecimal, b: ExactDecimal) -> Bool { compare(a, b) < 0 }

    public var absolute: ExactDecimal { significand < 0 ? -self : self }

    /// Rounds to `places` decimals, half away from zero (the commercial rounding EN 16931
    /// and the PEPPOL rules use).
    public func rounded(toPlaces places: Int) -> ExactDecimal {
        guard scale > places else { return self }
        let divisor = Self.power10(scale - places)
        var quotient = significand / divisor
        let remainder = significand % divisor
        if (remainder < 0 ? -remainder : remainder) * 2 >= divisor {
            quotient += significand < 0 ? -1 : 1
        }
        return ExactDecimal(significand: quotient, scale: places)
    }

    /// Exact division by a power of ten (e.g. a VAT percentage into a fraction).
    public func dividedByPowerOfTen(_ n: Int) -> ExactDecimal {
        ExactDecimal(significand: significand, scale: scale + n)
    }

    /// Division rounded to `places` decimals, half away from zero. Used for unit prices
    /// quoted per base quantity (BT-149).
    public func divided(by other: ExactDecimal, places: Int) -> ExactDecimal? {
        guard !other.isZero else { return nil }
        // (a / 10^sa) / (b / 10^sb) = a * 10^(sb - sa) / b; compute at places + 1 digits.
        let extra = places + 1
        var numerator = significand
        var exponent = other.scale - scale + extra
        var denominator = other.significand
        if exponent >= 0 {
            numerator *= Self.power10(exponent)
        } else {
            denominator *= Self.power10(-exponent)
            exponent = 0
        }
        let raw = ExactDecimal(significand: numerator / denominator, scale: extra)
        return raw.rounded(toPlaces: places)
    }

    public var description: String {
        let negative = significand < 0
        let digits = String(negative ? -significand : significand)
        guard scale > 0 else { return (negative ? "-" : "") + digits }
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        let split = padded.index(padded.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + padded[..<split] + "." + padded[split...]
    }
}

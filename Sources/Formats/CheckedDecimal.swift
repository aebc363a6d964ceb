import LedgerCore

/// Exact decimal arithmetic for the validation rules that can never trap.
///
/// `ExactDecimal`'s operators multiply Int128 significands unchecked, which is right for
/// values that came out of a bounded parser but not for `validate`, which takes any
/// `InvoiceDocument` (a hostile file's quantity × price, or a hand-built model). Every
/// operation here reports overflow as nil, and a rule that cannot be computed is reported
/// as violated rather than guessed.
struct CheckedDecimal: CustomStringConvertible {
    var significand: Int128
    var scale: Int

    init(significand: Int128, scale: Int) {
        self.significand = significand
        self.scale = scale
    }

    init(_ value: ExactDecimal) { self.init(significand: value.significand, scale: value.scale) }

    init(_ money: Money) {
        self.init(significand: Int128(money.minor), scale: money.currency.minorDigits)
    }

    /// `money` when its currency's minor digits are already known (saves a table lookup).
    init(_ money: Money, digits: Int) {
        self.init(significand: Int128(money.minor), scale: digits)
    }

    init(integer: Int) { self.init(significand: Int128(integer), scale: 0) }

    static let zero = CheckedDecimal(significand: 0, scale: 0)

    /// 10^0 … 10^38 (Int128 holds up to about 1.7 × 10^38).
    private static let powers: [Int128] = {
        var p: [Int128] = [1]
        for _ in 1...38 { p.append(p.last! * 10) }
        return p
    }()

    static func power10(_ n: Int) -> Int128? {
        guard n >= 0, n < powers.count else { return nil }
        return powers[n]
    }

    var isNegative: Bool { significand < 0 }
    var isZero: Bool { significand == 0 }

    var magnitude: CheckedDecimal? {
        guard significand != Int128.min else { return nil }
        return CheckedDecimal(significand: significand < 0 ? -significand : significand, scale: scale)
    }

    var negated: CheckedDecimal? {
        guard significand != Int128.min else { return nil }
        return CheckedDecimal(significand: -significand, scale: scale)
    }

    /// Trailing fractional zeros removed (never overflows).
    var normalized: CheckedDecimal {
        let (s, sc) = ExactDecimal.trailingZerosRemoved(significand, scale: scale)
        return CheckedDecimal(significand: s, scale: sc)
    }

    func rescaled(to newScale: Int) -> CheckedDecimal? {
        guard newScale >= scale, let factor = Self.power10(newScale - scale) else { return nil }
        let (s, overflow) = significand.multipliedReportingOverflow(by: factor)
        return overflow ? nil : CheckedDecimal(significand: s, scale: newScale)
    }

    private static func aligned(_ a: CheckedDecimal, _ b: CheckedDecimal) -> (Int128, Int128, Int)? {
        let a = a.normalized
        let b = b.normalized
        let scale = max(a.scale, b.scale)
        guard let x = a.rescaled(to: scale), let y = b.rescaled(to: scale) else { return nil }
        return (x.significand, y.significand, scale)
    }

    static func + (a: CheckedDecimal, b: CheckedDecimal) -> CheckedDecimal? {
        guard let (x, y, s) = aligned(a, b) else { return nil }
        let (r, o) = x.addingReportingOverflow(y)
        return o ? nil : CheckedDecimal(significand: r, scale: s)
    }

    static func - (a: CheckedDecimal, b: CheckedDecimal) -> CheckedDecimal? {
        guard let (x, y, s) = aligned(a, b) else { return nil }
        let (r, o) = x.subtractingReportingOverflow(y)
        return o ? nil : CheckedDecimal(significand: r, scale: s)
    }

    static func * (a: CheckedDecimal, b: CheckedDecimal) -> CheckedDecimal? {
        let a = a.normalized
        let b = b.normalized
        let (r, o) = a.significand.multipliedReportingOverflow(by: b.significand)
        guard !o else { return nil }
        return CheckedDecimal(significand: r, scale: a.scale + b.scale).normalized
    }

    /// -1, 0 or 1; nil only when the two cannot be aligned (astronomically different scales).
    static func compare(_ a: CheckedDecimal, _ b: CheckedDecimal) -> Int? {
        if a.significand.signum() != b.significand.signum() {
            return a.significand.signum() < b.significand.signum() ? -1 : 1
        }
        guard let (x, y, _) = aligned(a, b) else { return nil }
        return x < y ? -1 : (x > y ? 1 : 0)
    }

    /// Value equality (`25` equals `25.0`).
    static func same(_ a: CheckedDecimal, _ b: CheckedDecimal) -> Bool {
        let a = a.normalized
        let b = b.normalized
        return a.significand == b.significand && a.scale == b.scale
    }

    /// Rounded to `places` decimals, half away from zero (never overflows when rounding to
    /// fewer places).
    func rounded(toPlaces places: Int) -> CheckedDecimal? {
        if scale <= places { return rescaled(to: places) }
        guard let divisor = Self.power10(scale - places) else {
            // More than 38 places to drop: the value is below 10^-places in magnitude... or not;
            // be exact: |significand| < 1.7e38 < 10^39 ⇒ the result rounds to zero.
            return CheckedDecimal(significand: 0, scale: places)
        }
        var q = significand / divisor
        let r = significand % divisor
        let (twice, o) = (r < 0 ? -r : r).multipliedReportingOverflow(by: 2)
        if o || twice >= divisor { q += significand < 0 ? -1 : 1 }
        return CheckedDecimal(significand: q, scale: places)
    }

    /// XPath `round()`: the nearest integer, halves rounded towards positive infinity.
    var xpathRounded: CheckedDecimal? {
        guard let half = self + CheckedDecimal(significand: 5, scale: 1) else { return nil }
        return half.floor
    }

    var floor: CheckedDecimal? {
        guard scale > 0 else { return self }
        guard let divisor = Self.power10(scale) else {
            return CheckedDecimal(significand: significand < 0 ? -1 : 0, scale: 0)
        }
        var q = significand / divisor
        if significand % divisor != 0 && significand < 0 { q -= 1 }
        return CheckedDecimal(significand: q, scale: 0)
    }

    /// `self / other`, rounded half away from zero to `places` decimals.
    func divided(by other: CheckedDecimal, places: Int) -> CheckedDecimal? {
        guard !other.isZero else { return nil }
        // a·10^-sa / (b·10^-sb) = a·10^(sb - sa) / b; computed at places + 1 digits, then rounded.
        let extra = places + 1
        var numerator = significand
        var denominator = other.significand
        let exponent = other.scale - scale + extra
        if exponent >= 0 {
            guard let f = Self.power10(exponent) else { return nil }
            let (n, o) = numerator.multipliedReportingOverflow(by: f)
            guard !o else { return nil }
            numerator = n
        } else {
            guard let f = Self.power10(-exponent) else { return nil }
            let (d, o) = denominator.multipliedReportingOverflow(by: f)
            guard !o else { return nil }
            denominator = d
        }
        return CheckedDecimal(significand: numerator / denominator, scale: extra).rounded(
            toPlaces: places)
    }

    var description: String {
        let negative = significand < 0
        let digits = negative ? String(significand).dropFirst() : Substring(String(significand))
        guard scale > 0 else { return String(significand) }
        let padded = String(repeating: "0", count: max(0, scale + 1 - digits.count)) + digits
        let split = padded.index(padded.endIndex, offsetBy: -scale)
        return (negative ? "-" : "") + padded[..<split] + "." + padded[split...]
    }

    /// For messages: at least two decimals, at most `maxPlaces` (rounded), trailing zeros trimmed
    /// past the second.
    func display(maxPlaces: Int = 4) -> String {
        var v = scale > maxPlaces ? (rounded(toPlaces: maxPlaces) ?? self) : self
        v = v.normalized
        if v.scale < 2, let r = v.rescaled(to: 2) { v = r }
        return v.description
    }

    /// For messages about quantities, prices and rates: as written, without trailing zeros.
    var plain: String { normalized.description }
}

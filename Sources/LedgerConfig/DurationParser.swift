import LedgerCore

/// Durations as written in the configuration: a number and a unit, or several of them from
/// the largest unit down (`"500ms"`, `"2s"`, `"5m"`, `"1h"`, `"1m30s"`, `"1.5s"`, `"250us"`).
///
/// Units: `h`, `m`, `s`, `ms`, and `us` (or `µs`). Each unit appears at most once and in that
/// order; a number may have decimals when the result is a whole number of nanoseconds.
/// Refused: an empty string, a number without a unit (`"2"`: seconds or minutes?), a
/// negative or signed number, spaces inside (`"2 seconds"`), unknown or upper-case units,
/// and anything longer than about 292 years (the range of Int64 nanoseconds).
public enum DurationParser {
    /// Units, largest first, with their length in nanoseconds.
    private static let units: [(name: String, nanoseconds: Int64)] = [
        ("h", 3_600_000_000_000), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000),
        ("us", 1_000), ("µs", 1_000),
    ]

    public static func parse(_ text: String) -> Duration? {
        guard let nanoseconds = nanoseconds(text) else { return nil }
        return .nanoseconds(nanoseconds)
    }

    static func nanoseconds(_ text: String) -> Int64? {
        let scalars = Array(text.unicodeScalars)
        guard !scalars.isEmpty else { return nil }
        var index = 0
        var total: Int64 = 0
        var lastUnit = -1  // index into `units` of the previous component
        while index < scalars.count {
            // Number: digits, optionally "." and more digits.
            var whole: Int64 = 0
            var fraction: [Int64] = []
            var wholeDigits = 0
            var seenPoint = false
            while index < scalars.count {
                let s = scalars[index]
                if s == "." {
                    guard !seenPoint else { return nil }
                    seenPoint = true
                } else if s.value >= 0x30, s.value <= 0x39 {
                    let digit = Int64(s.value - 0x30)
                    if seenPoint {
                        fraction.append(digit)
                    } else {
                        wholeDigits += 1
                        let (shifted, o1) = whole.multipliedReportingOverflow(by: 10)
                        let (sum, o2) = shifted.addingReportingOverflow(digit)
                        guard !o1, !o2 else { return nil }
                        whole = sum
                    }
                } else {
                    break
                }
                index += 1
            }
            // "1.5s" yes; ".5s" and "5.s" no.
            guard wholeDigits > 0, !(seenPoint && fraction.isEmpty) else { return nil }
            // Unit: the longest name that matches here ("ms" before "m").
            let rest = String(String.UnicodeScalarView(scalars[index...]))
            guard
                let unit = units.indices.filter({ rest.hasPrefix(units[$0].name) })
                    .max(by: { units[$0].name.unicodeScalars.count < units[$1].name.unicodeScalars.count })
            else { return nil }
            // "us" and "µs" are one unit: neither may follow the other.
            let rank = min(unit, units.firstIndex { $0.nanoseconds == units[unit].nanoseconds }!)
            guard rank > lastUnit else { return nil }
            lastUnit = rank
            index += units[unit].name.unicodeScalars.count

            let perUnit = units[unit].nanoseconds
            guard let part = exactProduct(whole: whole, fraction: fraction, unit: perUnit) else { return nil }
            let (sum, overflow) = total.addingReportingOverflow(part)
            guard !overflow else { return nil }
            total = sum
        }
        return total
    }

    /// `whole.fraction × unit` when it is a whole number of nanoseconds that fits in Int64.
    private static func exactProduct(whole: Int64, fraction: [Int64], unit: Int64) -> Int64? {
        let (base, overflow) = whole.multipliedReportingOverflow(by: unit)
        guard !overflow else { return nil }
        var numerator: Int128 = 0
        var denominator: Int128 = 1
        for digit in fraction {
            numerator = numerator * 10 + Int128(digit)
            denominator *= 10
            guard denominator <= 1_000_000_000_000_000_000 else { return nil }  // far finer than 1 ns
        }
        let scaled = numerator * Int128(unit)
        guard scaled % denominator == 0, let part = Int64(exactly: scaled / denominator) else { return nil }
        let (sum, o) = base.addingReportingOverflow(part)
        return o ? nil : sum
    }

    /// The shortest spelling `parse` reads back as `duration` ("1m30s", "500ms"); used in
    /// messages and the example file.
    public static func format(_ duration: Duration) -> String {
        var nanoseconds = duration.nanoseconds
        guard nanoseconds > 0 else { return "0s" }
        var text = ""
        for (name, length) in units where name != "µs" {
            let count = nanoseconds / length
            if count > 0 { text += "\(count)\(name)" }
            nanoseconds %= length
        }
        if nanoseconds > 0 { text += "\(nanoseconds)ns" }
        return text
    }
}

/// Byte counts as written in the configuration: an integer, or a string of digits and a unit:
/// `B`, `kB`/`KB`, `MB`, `GB`, `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`, `TiB` (powers of
/// 1024), with an optional space between (`"50MB"`, `"64 MiB"`). Units ignore case.
enum ByteSizeParser {
    private static let units: [String: Int64] = [
        "": 1, "b": 1,
        "kb": 1_000, "mb": 1_000_000, "gb": 1_000_000_000, "tb": 1_000_000_000_000,
        "kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40,
    ]

    static func parse(_ text: String) -> Int64? {
        let digits = text.prefix { $0.isASCII && $0.isNumber }
        guard !digits.isEmpty, let number = Int64(digits) else { return nil }
        var unit = text.dropFirst(digits.count)
        if unit.first == " " { unit = unit.dropFirst() }
        guard let multiplier = units[unit.lowercased()] else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}

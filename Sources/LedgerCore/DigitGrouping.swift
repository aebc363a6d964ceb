/// Digits in groups of three for people to read: `1234567` → `1 234 567` (amounts on the
/// status page) or `1,234,567` (lengths in messages). No locale: the separator is given.
public enum DigitGrouping {
    /// `digits` (an unsigned decimal numeral, no sign) with `separator` between each group
    /// of three, counted from the right.
    public static func group(_ digits: String, separator: Character) -> String {
        var grouped = ""
        let count = digits.count
        for (i, c) in digits.enumerated() {
            if i > 0, (count - i) % 3 == 0 { grouped.append(separator) }
            grouped.append(c)
        }
        return grouped
    }
}

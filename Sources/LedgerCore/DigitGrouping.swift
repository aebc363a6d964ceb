/// Digits in groups of three for people to read: `1234567` → `1 234 567` (amounts on the
/// status page) or `1,234,567` (lengths in messages). No locale: the separator is given.
public enum DigitGrouping {
    /// `digits` (an unsigned decimal numeral, no sign) with `separator` between each group
    /// of three, counted from the right.
    ///
    /// Written byte by byte (a numeral is ASCII): every posted file's line shows an amount.
    public static func group(_ digits: String, separator: Character) -> String {
        let source = Array(digits.utf8)
        let gap = Array(String(separator).utf8)
        var grouped: [UInt8] = []
        grouped.reserveCapacity(source.count + source.count / 3 * gap.count)
        for (i, byte) in source.enumerated() {
            if i > 0, (source.count - i) % 3 == 0 { grouped += gap }
            grouped.append(byte)
        }
        return String(decoding: grouped, as: UTF8.self)
    }
}

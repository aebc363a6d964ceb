/// File names and patterns compared as bytes where they are ASCII, as nearly all are:
/// `lowercased()` and Character-wise comparison look up Unicode properties for every
/// character, and every name in an inbox is compared several times before its file is read.
public enum ASCIIText {
    /// `byte` with A–Z lowered; any other byte as it is.
    @inlinable public static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }
}

/// File names, patterns and party identifiers compared as bytes where they are ASCII, as
/// nearly all are: `lowercased()`, `uppercased()` and Character-wise comparison look up
/// Unicode properties for every character, and every name in an inbox, and every
/// identifier of an invoice's parties, is compared before its file is posted.
public enum ASCIIText {
    /// `byte` with A–Z lowered; any other byte as it is.
    @inlinable public static func lowered(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte + 32 : byte
    }

    /// `byte` with a–z capitalized; any other byte as it is.
    @inlinable public static func capitalized(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
    }
}

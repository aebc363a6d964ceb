/// An ISO 4217 currency code with the number of decimals its minor unit has.
///
/// Held as its three letters packed in an integer, not as a `String`: every amount carries
/// its currency, so amounts are copied, compared and summed without reference counting or
/// comparing text. The packed letters order as the code does.
public struct Currency: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// The three capital letters, the first in the highest byte.
    private let letters: UInt32

    private let digits: UInt8

    /// Decimals of the minor unit (2 for NOK: 1 krone = 100 øre).
    public var minorDigits: Int { Int(digits) }

    /// A currency of ISO 4217 (EN 16931 allows no other: BR-CL-03, BR-CL-04), in any letter
    /// case; nil for anything else.
    public init?(_ code: some StringProtocol) {
        guard let letters = Self.letters(code.utf8), Self.iso4217.contains(letters) else { return nil }
        self.letters = letters
        self.digits = Self.exponents[letters] ?? 2
    }

    /// Whether `utf8` is this currency's code in any letter case (`nok` for NOK). Compared as
    /// bytes, with no string made and no list of codes searched: every amount of an invoice
    /// names its currency.
    public func isWritten(as utf8: some Sequence<UInt8>) -> Bool {
        Self.letters(utf8) == letters
    }

    /// Three ASCII letters, in capitals, packed the first in the highest byte; nil for
    /// anything else.
    private static func letters(_ utf8: some Sequence<UInt8>) -> UInt32? {
        var letters: UInt32 = 0
        var count = 0
        for byte in utf8 {
            guard count < 3, (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte) else { return nil }
            letters = letters << 8 | UInt32(byte & 0xDF)
            count += 1
        }
        return count == 3 ? letters : nil
    }

    public var code: String {
        String(unsafeUninitializedCapacity: 3) { bytes in
            for index in 0..<3 { bytes[index] = UInt8(truncatingIfNeeded: letters >> (16 - 8 * index)) }
            return 3
        }
    }

    private static func packed(_ code: some StringProtocol) -> UInt32 {
        code.utf8.reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// The currencies of ISO 4217 an invoice can be in: the list in force, and codes withdrawn
    /// recently enough to appear on invoices still being paid or loaded as history (HRK, SLL,
    /// ZWL, ANG). Without the units that are not money (precious metals, XDR, XTS, XXX…).
    /// Written out here: no library on this platform carries the list.
    private static let iso4217: Set<UInt32> = Set(
        """
        AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN
        BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
        FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS
        KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN
        MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR
        SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD
        USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL
        """.split(whereSeparator: \.isWhitespace).map(packed))

    /// ISO 4217 exponents that differ from two.
    private static let exponents: [UInt32: UInt8] = Dictionary(
        uniqueKeysWithValues: [
            "BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
            "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
            "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
            "CLF": 4, "UYW": 4,
        ].map { (packed($0.key), UInt8($0.value)) })

    public var description: String { code }
    public static func < (a: Currency, b: Currency) -> Bool { a.letters < b.letters }

    public static let nok = Currency("NOK")!
    public static let eur = Currency("EUR")!
}

/// An amount of money: an integer count of minor units and its currency. No floating point.
public struct Money: Sendable, Hashable, CustomStringConvertible {
    public let minor: Int64
    public let currency: Currency

    public init(minor: Int64, currency: Currency) {
        self.minor = minor
        self.currency = currency
    }

    public static func zero(_ currency: Currency) -> Money { Money(minor: 0, currency: currency) }

    public enum ParseError: Error, Equatable, Sendable {
        case malformed(String)
        case tooManyDecimals(String, allowed: Int)
        case outOfRange(String)
    }

    /// Parses a decimal amount exactly. More decimals than the currency's minor unit are
    /// refused (EN 16931 allows at most two on amounts), except trailing zeros.
    public init(parsing text: some StringProtocol, currency: Currency) throws(ParseError) {
        let value: ExactDecimal
        do {
            value = try ExactDecimal(parsing: text)
        } catch {
            switch error {
            case .outOfRange(let s): throw .outOfRange(s)
            case .tooManyDecimals: throw .tooManyDecimals(String(text), allowed: currency.minorDigits)
            default: throw .malformed(String(text))
            }
        }
        try self.init(exactly: value, currency: currency, text: String(text))
    }

    /// The amount `value` in `currency`, if it has no more decimals than the minor unit.
    public init(exactly value: ExactDecimal, currency: Currency, text: String? = nil) throws(ParseError) {
        let digits = currency.minorDigits
        let normalized = value.normalized
        guard normalized.scale <= digits else {
            throw .tooManyDecimals(text ?? value.description, allowed: digits)
        }
        let minor = normalized.rescaled(to: digits).significand
        guard let exact = Int64(exactly: minor) else { throw .outOfRange(text ?? value.description) }
        self.init(minor: exact, currency: currency)
    }

    /// The amount as an exact decimal in major units.
    public var decimal: ExactDecimal { ExactDecimal(significand: Int128(minor), scale: currency.minorDigits) }

    public var isZero: Bool { minor == 0 }
    public var negated: Money { Money(minor: -minor, currency: currency) }

    /// "1234.50" — the plain decimal form (no grouping, no symbol), as written in EHF.
    public var amountString: String { decimal.description }

    /// "1234.50 NOK"
    public var description: String { "\(amountString) \(currency.code)" }

    /// "1 234 567.89 NOK": for people to read (the status page, the command line's reports);
    /// the digits grouped by threes with a space, the currency's own number of decimals, an
    /// ASCII minus. Messages that quote an invoice's figures keep `description`, as the file
    /// writes them.
    public var grouped: String { Self.grouped(minor: minor, digits: currency.minorDigits, code: currency.code) }

    /// The same for a currency code as stored, which may be one this build does not know:
    /// taken then to have two decimals.
    public static func grouped(minor: Int64, currencyCode code: String) -> String {
        grouped(minor: minor, digits: Currency(code)?.minorDigits ?? 2, code: code)
    }

    /// Written digit by digit from the right into one buffer: every file posted says its
    /// amount so, and building it from numerals, groups and concatenations cost ~4,000
    /// instructions in nine allocations.
    private static func grouped(minor: Int64, digits: Int, code: String) -> String {
        var rest = minor.magnitude
        var text: [UInt8] = []
        text.reserveCapacity(32 + code.utf8.count)
        func digit() {
            text.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        }
        for _ in 0..<digits { digit() }
        if digits > 0 { text.append(UInt8(ascii: ".")) }
        var whole = 0
        repeat {
            if whole > 0, whole % 3 == 0 { text.append(UInt8(ascii: " ")) }
            digit()
            whole += 1
        } while rest > 0
        if minor < 0 { text.append(UInt8(ascii: "-")) }
        text.reverse()
        text.append(UInt8(ascii: " "))
        text.append(contentsOf: code.utf8)
        return String(decoding: text, as: UTF8.self)
    }

    /// Sum of amounts in one currency; nil when they differ or the sum overflows.
    public static func sum(_ amounts: some Sequence<Money>, currency: Currency) -> Money? {
        var total: Int128 = 0  // cannot overflow: fewer than 2^64 terms of at most 2^63
        for amount in amounts {
            guard amount.currency == currency else { return nil }
            total += Int128(amount.minor)
        }
        guard let exact = Int64(exactly: total) else { return nil }
        return Money(minor: exact, currency: currency)
    }
}

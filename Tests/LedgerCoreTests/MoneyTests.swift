import LedgerCore
import PropertyBased
import Testing

@Suite("Money and Currency")
struct MoneyTests {
    // MARK: Currency

    /// A code written in the file is this currency's exactly when it reads as this currency.
    @Test("a code compared as bytes agrees with reading it as a currency")
    func writtenAsBytes() async {
        let alphabet = [
            "N", "O", "K", "n", "o", "k", "E", "u", "R", "S", "e", "J", "P", "Y", " ", "1", "ø", "ſ", "\u{0301}",
        ]
        let gen = scenario { rng -> String in
            (0..<Int.random(in: 0...5, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
        }
        let currencies = [Currency.nok, Currency.eur, Currency("SEK")!, Currency("JPY")!]
        await forAll(count: 3000, gen) { text in
            for currency in currencies {
                #expect(currency.isWritten(as: text.utf8) == (Currency(text) == currency), "\(text) \(currency)")
            }
        }
        #expect(Currency.nok.isWritten(as: "nOk".utf8))
        #expect(!Currency.nok.isWritten(as: "NOKK".utf8))
    }

    @Test("currency codes are three ASCII letters, case-insensitive")
    func currencyCodes() {
        #expect(Currency("nok") == .nok)
        #expect(Currency("NoK")?.code == "NOK")
        for bad in ["", "NO", "NOKK", "N0K", "NO ", " NOK", "ÆØÅ", "N-K", "NÆ", "N\u{0}K", "NOK\u{0}"] {
            #expect(Currency(bad) == nil, "\(bad.debugDescription)")
        }
        // Three letters are not enough: the code must be one of ISO 4217 (BR-CL-04), and a
        // unit that is not money (gold, a test code) is no invoice currency either.
        for unknown in ["ABC", "NOX", "XAU", "XTS", "XXX"] { #expect(Currency(unknown) == nil, "\(unknown)") }
        for known in ["SEK", "CHF", "PLN", "ISK", "HRK", "XOF"] { #expect(Currency(known)?.code == known) }
    }

    /// Every three-letter code: a currency is its code in capitals whichever way it was
    /// written, and currencies order as their codes do.
    @Test("every three-letter code reads back as written, in capitals, and orders as its code")
    func everyThreeLetterCode() {
        let letters = (UInt8(ascii: "A")...UInt8(ascii: "Z")).map { String(UnicodeScalar($0)) }
        var known: [Currency] = []
        for a in letters {
            for b in letters {
                for c in letters {
                    let code = a + b + c
                    guard let currency = Currency(code) else {
                        #expect(Currency(code.lowercased()) == nil, "\(code)")
                        continue
                    }
                    #expect(currency.code == code)
                    #expect(currency.description == code)
                    #expect(Currency(code.lowercased()) == currency)
                    #expect(Currency(a.lowercased() + b + c.lowercased()) == currency)
                    known.append(currency)
                }
            }
        }
        #expect(known.count > 150, "ISO 4217 has some 180 currencies; found \(known.count)")
        #expect(known.map(\.code) == known.sorted().map(\.code))
        #expect(Set(known).count == known.count)
        for (currency, next) in zip(known, known.dropFirst()) { #expect(currency < next && !(next < currency)) }
    }

    @Test("minor unit digits follow ISO 4217")
    func minorDigits() {
        #expect(Currency.nok.minorDigits == 2)
        #expect(Currency.eur.minorDigits == 2)
        #expect(jpy.minorDigits == 0)
        #expect(Currency("ISK")!.minorDigits == 0)
        #expect(kwd.minorDigits == 3)
        #expect(Currency("BHD")!.minorDigits == 3)
        #expect(Currency("CLF")!.minorDigits == 4)
    }

    // MARK: Parsing

    @Test(
        "parsing is exact",
        arguments: [
            ("1234.56", Currency.nok, Int64(123456)), ("-0.01", .nok, -1), ("+5", .nok, 500),
            ("12.340", .nok, 1234),
            ("0", .nok, 0), ("-0.00", .nok, 0), (".5", .nok, 50), (" 12.50 ", .nok, 1250),
            ("100", jpy, 100),
            ("100.000", jpy, 100), ("-7", jpy, -7), ("1.234", kwd, 1234), ("0.001", kwd, 1),
            ("12", kwd, 12000),
            ("0.10000000000000000000000", .eur, 10),
            ("92233720368547758.07", .nok, .max), ("-92233720368547758.08", .nok, .min),
            ("9223372036854775807", jpy, .max), ("9223372036854775.807", kwd, .max),
        ])
    func parseExact(_ text: String, _ currency: Currency, _ minor: Int64) throws {
        let money = try Money(parsing: text, currency: currency)
        #expect(money.minor == minor)
        #expect(money.currency == currency)
    }

    @Test("more decimals than the minor unit are refused, not rounded")
    func tooManyDecimals() {
        #expect(throws: Money.ParseError.tooManyDecimals("12.345", allowed: 2)) {
            try Money(parsing: "12.345", currency: .nok)
        }
        #expect(throws: Money.ParseError.tooManyDecimals("100.5", allowed: 0)) {
            try Money(parsing: "100.5", currency: jpy)
        }
        #expect(throws: Money.ParseError.tooManyDecimals("1.2345", allowed: 3)) {
            try Money(parsing: "1.2345", currency: kwd)
        }
        #expect(throws: Money.ParseError.tooManyDecimals("0.001", allowed: 2)) {
            try Money(parsing: "0.001", currency: .nok)
        }
        #expect(throws: Money.ParseError.tooManyDecimals("-0.0010", allowed: 2)) {
            try Money(parsing: "-0.0010", currency: .nok)
        }
    }

    @Test("malformed and out-of-range amounts are refused")
    func refused() {
        for text in ["", " ", "1e5", "1,5", "--1", "1.2.3", "NaN", "٣", "１", "kr 5", "5 NOK"] {
            #expect(throws: Money.ParseError.malformed(text), "\(text.debugDescription)") {
                try Money(parsing: text, currency: .nok)
            }
        }
        #expect(throws: Money.ParseError.outOfRange("92233720368547758.08")) {
            try Money(parsing: "92233720368547758.08", currency: .nok)
        }
        #expect(throws: Money.ParseError.outOfRange("-92233720368547758.09")) {
            try Money(parsing: "-92233720368547758.09", currency: .nok)
        }
        #expect(throws: Money.ParseError.outOfRange("9223372036854775808")) {
            try Money(parsing: "9223372036854775808", currency: jpy)
        }
        let huge = String(repeating: "9", count: 30)
        #expect(throws: Money.ParseError.outOfRange(huge)) { try Money(parsing: huge, currency: .nok) }
    }

    @Test("Money(exactly:) takes an ExactDecimal with no hidden rounding")
    func exactly() throws {
        #expect(try Money(exactly: dec("19.90"), currency: .nok).minor == 1990)
        #expect(try Money(exactly: dec("19.9000"), currency: .nok).minor == 1990)
        #expect(throws: Money.ParseError.tooManyDecimals("19.905", allowed: 2)) {
            try Money(exactly: dec("19.905"), currency: .nok)
        }
        #expect(throws: Money.ParseError.tooManyDecimals("line 3", allowed: 2)) {
            try Money(exactly: dec("19.905"), currency: .nok, text: "line 3")
        }
    }

    // MARK: Printing

    @Test(
        "amountString is the plain decimal in major units",
        arguments: [
            (Int64(123450), Currency.nok, "1234.50"), (5, .nok, "0.05"), (-5, .nok, "-0.05"),
            (0, .nok, "0.00"),
            (-100, .nok, "-1.00"), (100, jpy, "100"), (-1, jpy, "-1"), (1234, kwd, "1.234"),
            (1, kwd, "0.001"),
            (.min, .nok, "-92233720368547758.08"), (.max, .nok, "92233720368547758.07"),
        ])
    func amountStrings(_ minor: Int64, _ currency: Currency, _ text: String) {
        let money = Money(minor: minor, currency: currency)
        #expect(money.amountString == text)
        #expect(money.description == "\(text) \(currency.code)")
    }

    @Test("amountString parses back to the same minor units for every Int64 and exponent")
    func amountStringRoundTrip() async {
        let currencies = [Currency.nok, .eur, jpy, kwd]
        let gen = zip(Gen.int64(), Gen.int(in: 0...3), Gen.int(in: 0...9))
        await forAll(count: 2000, gen) { random, c, pick in
            // Mix uniform values with the extremes and small ones.
            let minor: Int64 = [
                random, .min, .max, .min + 1, .max - 1, 0, 1, -1, random % 1000, random >> 40,
            ][pick]
            let currency = currencies[c]
            let money = Money(minor: minor, currency: currency)
            let back = try Money(parsing: money.amountString, currency: currency)
            #expect(back == money, "\(money.amountString)")
            #expect(
                money.decimal == ExactDecimal(significand: Int128(minor), scale: currency.minorDigits))
            if minor != .min { #expect(money.negated.negated == money && money.negated.minor == -minor) }
            #expect(money.isZero == (minor == 0))
        }
    }

    // MARK: Sums

    @Test("sum adds exactly; overflow and mixed currencies give nil")
    func sumExamples() {
        #expect(Money.sum([nok(100), nok(250), nok(-50)], currency: .nok) == nok(300))
        #expect(Money.sum([Money](), currency: .nok) == .zero(.nok))
        #expect(Money.sum([nok(.max), nok(1)], currency: .nok) == nil)
        #expect(Money.sum([nok(.min), nok(-1)], currency: .nok) == nil)
        #expect(Money.sum([nok(.max), nok(.max)], currency: .nok) == nil)
        #expect(Money.sum([nok(.max), nok(.min)], currency: .nok) == nok(-1))
        #expect(Money.sum([nok(.max)], currency: .nok) == nok(.max))
        #expect(Money.sum([nok(1), Money(minor: 1, currency: .eur)], currency: .nok) == nil)
        #expect(Money.sum([Money(minor: 1, currency: .eur)], currency: .nok) == nil)
    }

    @Test("sum of same-signed amounts is nil exactly when the true sum leaves Int64")
    func sumOverflowProperty() async {
        let gen = scenario { rng -> [Int64] in
            let count = Int.random(in: 1...6, using: &rng)
            let negative = Bool.random(using: &rng)
            // Magnitudes around Int64.max / count so about half the draws overflow.
            let bound = count == 1 ? Int64.max : Int64.max / Int64(count) * 2
            return (0..<count).map { _ in
                let m = Int64.random(in: 0...bound, using: &rng)
                return negative ? -m : m
            }
        }
        await forAll(count: 1000, gen) { minors in
            let exact = minors.reduce(Int128(0)) { $0 + Int128($1) }
            let sum = Money.sum(minors.map(nok), currency: .nok)
            if let fits = Int64(exactly: exact) {
                #expect(sum == nok(fits))
            } else {
                #expect(sum == nil)
            }
        }
    }

    @Test("sum of moderate mixed-sign amounts equals the Int128 sum in any order")
    func sumProperty() async {
        let gen = Gen.int64(in: -(1 << 56)...(1 << 56)).array(of: 0...20)
        await forAll(count: 1000, gen) { minors in
            let exact = minors.reduce(Int128(0)) { $0 + Int128($1) }
            #expect(Money.sum(minors.map(nok), currency: .nok).map { Int128($0.minor) } == exact)
            #expect(
                Money.sum(minors.reversed().map(nok), currency: .nok).map { Int128($0.minor) } == exact)
        }
    }
}

@Suite struct GroupedMoneyTests {
    @Test func amountsForPeopleToRead() {
        #expect(Money(minor: 123_456_789, currency: .nok).grouped == "1 234 567.89 NOK")
        #expect(Money(minor: -5, currency: .nok).grouped == "-0.05 NOK")
        #expect(Money(minor: 0, currency: .eur).grouped == "0.00 EUR")
        #expect(Money(minor: 1_234_567, currency: Currency("JPY")!).grouped == "1 234 567 JPY")
        #expect(Money(minor: 1_234_567, currency: Currency("KWD")!).grouped == "1 234.567 KWD")
        #expect(Money.grouped(minor: 100_000, currencyCode: "XTS") == "1 000.00 XTS")
        #expect(Money(minor: .min, currency: .nok).grouped == "-92 233 720 368 547 758.08 NOK")
    }

    /// Without its spaces, the grouped form is the plain one, for every amount.
    @Test func removingTheSpacesGivesThePlainForm() {
        for minor: Int64 in [0, 1, -1, 99, 100, -100_000, 123_456_789, .max, .min] {
            for currency in [Currency.nok, Currency("JPY")!, Currency("KWD")!] {
                let money = Money(minor: minor, currency: currency)
                let number = money.grouped.dropLast(4)
                #expect(number.filter { $0 != " " } + " " + currency.code == money.description)
            }
        }
    }

    /// The grouped form is the plain one with its whole part in groups of three, for any
    /// amount in a currency of any number of decimals.
    @Test func theWholePartInGroupsOfThree() async {
        let currencies = [Currency.nok, Currency("JPY")!, Currency("KWD")!, Currency("CLF")!]
        let gen = zip(Gen.int64(in: .min ... .max), Gen.int64(in: -99_999...99_999), Gen.int(in: 0...3))
        await forAll(count: 3000, gen) { large, small, c in
            for minor in [large, small] {
                let money = Money(minor: minor, currency: currencies[c])
                let plain = money.amountString
                let sign = plain.hasPrefix("-") ? "-" : ""
                let unsigned = plain.dropFirst(sign.count)
                let whole = unsigned.prefix { $0 != "." }
                let expected =
                    sign + DigitGrouping.group(String(whole), separator: " ") + unsigned.dropFirst(whole.count) + " "
                    + money.currency.code
                #expect(money.grouped == expected)
            }
        }
    }
}

@Suite struct DigitGroupingTests {
    @Test func groupsOfThreeFromTheRight() {
        #expect(DigitGrouping.group("0", separator: " ") == "0")
        #expect(DigitGrouping.group("999", separator: " ") == "999")
        #expect(DigitGrouping.group("1000", separator: " ") == "1 000")
        #expect(DigitGrouping.group("1234567", separator: ",") == "1,234,567")
        #expect(DigitGrouping.group("123456789012", separator: ",") == "123,456,789,012")
    }

    @Test func removingSeparatorsGivesTheDigitsBack() {
        for n in [0, 7, 42, 999, 1_000, 65_536, 5_242_880, 9_223_372_036_854_775_807] {
            let grouped = DigitGrouping.group(String(n), separator: ",")
            #expect(grouped.filter { $0 != "," } == String(n))
            let groups = grouped.split(separator: "," as Character)
            #expect(groups.dropFirst().allSatisfy { $0.count == 3 })
            #expect((1...3).contains(groups.first?.count ?? 0))
        }
    }
}

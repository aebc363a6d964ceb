import PropertyBased
import Testing

@testable import LedgerCore

@Suite("ExactDecimal")
struct ExactDecimalTests {
    /// Largest significand the parser accepts (10^27 − 1 today), read from the implementation
    /// so these properties follow the limit if it changes; and its number of digits.
    static let maxParsed: Int128 = ExactDecimal.maxSignificand - 1
    static let maxDigits = String(maxParsed).count

    // MARK: Parsing and printing

    @Test("print then parse gives back the same significand and scale")
    func printParseRoundTrip() async {
        let gen = zip(
            Gen.int128(in: -Self.maxParsed...Self.maxParsed), Gen.int(in: 0...ExactDecimal.maxScale))
        await forAll(count: 1000, gen) { significand, scale in
            let value = ExactDecimal(significand: significand, scale: scale)
            let text = value.description
            let parsed = try #require(try? ExactDecimal(parsing: text), "\(text) did not parse")
            #expect(parsed.significand == significand && parsed.scale == scale, "\(text)")
            // Printing shows exactly `scale` decimals and never a stray sign on zero.
            let fraction = text.split(separator: ".", omittingEmptySubsequences: false)
            #expect(fraction.count == (scale == 0 ? 1 : 2))
            if scale > 0 { #expect(fraction[1].count == scale) }
            #expect(text.hasPrefix("-") == (significand < 0))
        }
    }

    @Test("parsing generated decimal text agrees with the digits written")
    func parseGeneratedText() async {
        let gen = scenario { rng -> (text: String, significand: Int128, scale: Int) in
            let digit = { (rng: inout any SeededRandomNumberGenerator) in
                Character(String(Int.random(in: 0...9, using: &rng)))
            }
            let leadingZeros = String(repeating: "0", count: Int.random(in: 0...3, using: &rng))
            // At most maxDigits significant digits, at most maxScale of them decimals.
            var fracCount = Int.random(in: 0...min(ExactDecimal.maxScale, Self.maxDigits), using: &rng)
            let intCount = Int.random(in: 0...(Self.maxDigits - fracCount), using: &rng)
            if intCount == 0 && leadingZeros.isEmpty && fracCount == 0 { fracCount = 1 }
            let intDigits = String((0..<intCount).map { _ in digit(&rng) })
            let fracDigits = String((0..<fracCount).map { _ in digit(&rng) })
            let sign = ["", "+", "-"][Int.random(in: 0...2, using: &rng)]
            let pad = { (rng: inout any SeededRandomNumberGenerator) in
                String(
                    (0..<Int.random(in: 0...2, using: &rng)).map { _ in
                        [" ", "\t", "\n", "\r"][Int.random(in: 0...3, using: &rng)]
                    })
            }
            // XML Schema decimal: "5." and ".5" are both lexically valid.
            let point = fracCount > 0 || Bool.random(using: &rng) ? "." : ""
            let body = leadingZeros + intDigits + point + fracDigits
            let text = pad(&rng) + sign + body + pad(&rng)
            var magnitude = Int128(intDigits + fracDigits) ?? 0
            if intDigits.isEmpty && fracDigits.isEmpty { magnitude = 0 }
            return (text, sign == "-" ? -magnitude : magnitude, point.isEmpty ? 0 : fracCount)
        }
        await forAll(count: 1000, gen) { text, significand, scale in
            let parsed = try ExactDecimal(parsing: text)
            #expect(parsed.significand == significand, "\(text.debugDescription)")
            #expect(parsed.scale == scale, "\(text.debugDescription)")
        }
    }

    @Test(
        "malformed input is refused",
        arguments: [
            "1e5", "1E5", "1,5", "--1", "-+1", "+-1", "1.2.3", "NaN", "nan", "Infinity", "٣", "１",
            "1 000", "1_000", "0x10",
            "+", "-", ".", "-.", "1-", "1+", "€1", "1.5kr", "½", "1\u{00A0}", "\u{00A0}1", "1.\u{0662}",
        ])
    func malformed(_ text: String) {
        let error = #expect(throws: ExactDecimal.ParseError.self) { try ExactDecimal(parsing: text) }
        guard case .malformed = error else {
            Issue.record("expected .malformed, got \(String(describing: error))")
            return
        }
    }

    @Test("empty or blank input is .empty, white space around a number is allowed")
    func emptyAndBlank() throws {
        #expect(throws: ExactDecimal.ParseError.empty) { try ExactDecimal(parsing: "") }
        #expect(throws: ExactDecimal.ParseError.empty) { try ExactDecimal(parsing: " ") }
        #expect(throws: ExactDecimal.ParseError.empty) { try ExactDecimal(parsing: " \t\r\n ") }
        #expect(try ExactDecimal(parsing: " \n 12.50\t") == dec("12.5"))
        // The message carries the trimmed text, as the bookkeeper would see it in the file.
        #expect(throws: ExactDecimal.ParseError.malformed("1,5")) {
            try ExactDecimal(parsing: "  1,5  ")
        }
    }

    @Test("lexical edge cases of xs:decimal")
    func lexicalEdges() throws {
        let cases: [(String, Int128, Int)] = [
            ("0", 0, 0), ("-0", 0, 0), ("+0.00", 0, 2), ("007", 7, 0), ("5.", 5, 0), (".5", 5, 1),
            ("-.5", -5, 1),
            ("+5", 5, 0), ("12.340", 12340, 3), (String(Self.maxParsed), Self.maxParsed, 0),
            ("-" + String(Self.maxParsed), -Self.maxParsed, 0),
            ("-0.000000000000000001", -1, 18),
        ]
        for (text, significand, scale) in cases {
            let value = try ExactDecimal(parsing: text)
            #expect(value.significand == significand && value.scale == scale, "\(text)")
        }
    }

    @Test("scale and range limits")
    func limits() throws {
        #expect(throws: ExactDecimal.ParseError.tooManyDecimals("0.0000000000000000001", max: 18)) {
            try ExactDecimal(parsing: "0.0000000000000000001")
        }
        // Trailing zeros beyond the limit carry no value and are dropped.
        let long = try ExactDecimal(parsing: "1.00000000000000000000")
        #expect(long == ExactDecimal(1) && long.scale == 18)
        #expect(throws: ExactDecimal.ParseError.tooManyDecimals("1.234", max: 2)) {
            try ExactDecimal(parsing: "1.234", maxScale: 2)
        }
        let trimmed = try ExactDecimal(parsing: "1.2300", maxScale: 2)
        #expect(trimmed.significand == 123 && trimmed.scale == 2)
        let tooLarge = String(ExactDecimal.maxSignificand)
        #expect(throws: ExactDecimal.ParseError.outOfRange(tooLarge)) {
            try ExactDecimal(parsing: tooLarge)
        }
        #expect(
            throws: ExactDecimal.ParseError.outOfRange("-99999999999999999999999999999999999999999")
        ) {
            try ExactDecimal(parsing: "-99999999999999999999999999999999999999999")
        }
        // A thousand leading zeros are still a small number.
        #expect(
            try ExactDecimal(parsing: String(repeating: "0", count: 1000) + "42") == ExactDecimal(42))
    }

    // MARK: Arithmetic against Int128

    /// Values small enough that every aligned or multiplied significand fits in Int128.
    static let operands = zip(Gen.int128(in: -pow10(15)...pow10(15)), Gen.int(in: 0...8)).map {
        s, sc in
        ExactDecimal(significand: s, scale: sc)
    }

    @Test("+, - and * agree with Int128 arithmetic on scaled integers")
    func arithmeticAgreesWithInt128() async {
        await forAll(count: 1000, Self.operands, Self.operands) { a, b in
            let s = max(a.scale, b.scale)
            let x = a.significand * pow10(s - a.scale)
            let y = b.significand * pow10(s - b.scale)

            let sum = a + b
            #expect(sum.significand == x + y && sum.scale == s)
            let difference = a - b
            #expect(difference.significand == x - y && difference.scale == s)

            // The product is exact: compare at scale a.scale + b.scale, and it comes back normalized.
            let product = a * b
            let ps = a.scale + b.scale
            #expect(product.scale <= ps)
            #expect(product.significand * pow10(ps - product.scale) == a.significand * b.significand)
            #expect(product.scale == 0 || product.significand % 10 != 0, "\(product) is not normalized")

            #expect(a + b == b + a)
            #expect(a * b == b * a)
            #expect(a - b == a + -b)
            #expect((a + b) - b == a)
            #expect(-(-a) == a)
            #expect(a.absolute == (a.isNegative ? -a : a))
            #expect((a < b) == (x < y))
            #expect((a == b) == (x == y))
        }
    }

    @Test("addition is associative and multiplication distributes (exactly, unlike Double)")
    func algebraicLaws() async {
        await forAll(count: 500, Self.operands, Self.operands, Self.operands) { a, b, c in
            #expect((a + b) + c == a + (b + c))
            #expect(a * (b + c) == a * b + a * c)
        }
        #expect(dec("0.1") + dec("0.2") == dec("0.3"))
    }

    @Test("values of up to 19 significant digits and 18 decimals never overflow +, -, *, == or <")
    func safeDomain() async {
        // 10^19 · 10^18 (alignment) and 10^19 · 10^19 (product) both fit in Int128 (~1.7 · 10^38).
        let wide = zip(
            Gen.int128(in: -(pow10(19) - 1)...(pow10(19) - 1)), Gen.int(in: 0...ExactDecimal.maxScale)
        ).map { s, sc in
            ExactDecimal(significand: s, scale: sc)
        }
        await forAll(count: 1000, wide, wide) { a, b in
            let product = a * b
            #expect(product.normalized == product)
            #expect((a + b) - b == a)
            #expect((a < b) || (a == b) || (b < a))
            #expect(a.hashValue == a.rescaled(to: ExactDecimal.maxScale).hashValue)
        }
    }

    @Test("normalizing keeps the value and drops every trailing zero, on either side of 64 bits")
    func normalizingKeepsTheValue() async {
        // Significands built as digits × 10^zeros, so trailing zeros are common: small ones,
        // ones just inside or just beyond Int64's range once multiplied, and huge ones.
        let gen = scenario { rng -> (digits: Int128, zeros: Int, scale: Int) in
            let zeros = Int.random(in: 0...8, using: &rng)
            let edge = Int128(Int64.max) / pow10(zeros)
            let digits: Int128
            switch Int.random(in: 0..<3, using: &rng) {
            case 0: digits = Int128.random(in: -1_000_000...1_000_000, using: &rng)
            case 1: digits = edge + Int128.random(in: -3...3, using: &rng)
            default: digits = Int128.random(in: -pow10(29)...pow10(29), using: &rng)
            }
            return (digits, zeros, Int.random(in: 0...ExactDecimal.maxScale, using: &rng))
        }
        await forAll(count: 2000, gen) { digits, zeros, scale in
            let significand = digits * pow10(zeros)
            for value in [significand, -significand] {
                let (s, sc) = ExactDecimal.trailingZerosRemoved(value, scale: scale)
                #expect(sc >= 0 && sc <= scale)
                #expect(s * pow10(scale - sc) == value, "\(value)e-\(scale) became \(s)e-\(sc)")
                #expect(sc == 0 || s % 10 != 0, "\(value)e-\(scale) kept a trailing zero: \(s)e-\(sc)")
            }
        }
        #expect(ExactDecimal.trailingZerosRemoved(0, scale: 5) == (0, 0))
        #expect(ExactDecimal.trailingZerosRemoved(Int128(Int64.min) * 10, scale: 1) == (Int128(Int64.min), 0))
        #expect(ExactDecimal.trailingZerosRemoved(150, scale: 0) == (150, 0))
    }

    // MARK: Equality, hashing, ordering

    @Test("equality ignores scale; hashing agrees with equality")
    func equalityAcrossScales() async {
        #expect(dec("1.50") == dec("1.5"))
        #expect(dec("1.50").hashValue == dec("1.5").hashValue)
        #expect(dec("-0.00") == dec("0"))
        #expect(dec("-0.00").hashValue == dec("0").hashValue)
        #expect(Set([dec("1.5"), dec("1.50"), dec("1.500"), dec("+01.5")]).count == 1)
        #expect(dec("1.05") != dec("1.5"))
        let byRate: [ExactDecimal: String] = [ExactDecimal(25): "2710"]
        #expect(byRate[dec("25.000")] == "2710")

        let gen = zip(Gen.int128(in: -pow10(18)...pow10(18)), Gen.int(in: 0...9), Gen.int(in: 0...9))
        await forAll(count: 1000, gen) { significand, scale, extra in
            let a = ExactDecimal(significand: significand, scale: scale)
            let b = a.rescaled(to: scale + extra)
            #expect(a == b && b == a)
            #expect(a.hashValue == b.hashValue)
            #expect(a.normalized == a && a.normalized.hashValue == a.hashValue)
            #expect(!(a < b) && !(b < a))
            #expect(b.description.count >= a.description.count)
        }
    }

    @Test("== and < agree with comparing normalized forms, and < is a strict total order")
    func orderingIsConsistent() async {
        // Draw from a small pool so equal values at different scales meet often.
        let pool = zip(Gen.int128(in: -30...30), Gen.int(in: 0...3), Gen.int(in: 0...2)).map {
            s, sc, pad in
            ExactDecimal(significand: s * pow10(pad), scale: sc + pad)
        }
        await forAll(count: 1000, pool, pool, pool) { a, b, c in
            let na = a.normalized
            let nb = b.normalized
            let equal = na.significand == nb.significand && na.scale == nb.scale
            #expect((a == b) == equal)
            if a == b { #expect(a.hashValue == b.hashValue) }
            // Exactly one of <, ==, > holds.
            #expect([a < b, a == b, b < a].filter { $0 }.count == 1)
            if a < b && b < c { #expect(a < c) }
        }
    }

    // MARK: Rounding and division

    @Test(
        "rounded(toPlaces:) rounds half away from zero",
        arguments: [
            ("2.345", 2, "2.35"), ("-2.345", 2, "-2.35"), ("2.344", 2, "2.34"), ("-2.344", 2, "-2.34"),
            ("2.3449999", 2, "2.34"),  // no double rounding through 2.345
            ("0.005", 2, "0.01"), ("-0.005", 2, "-0.01"), ("0.0049", 2, "0.00"), ("2.5", 0, "3"),
            ("-2.5", 0, "-3"),
            ("1.5", 0, "2"), ("0.5", 0, "1"),  // not banker's rounding
            ("2.3", 5, "2.3"), ("7", 2, "7"), ("99.995", 2, "100.00"), ("-99.995", 2, "-100.00"),
        ])
    func roundingExamples(_ input: String, _ places: Int, _ expected: String) {
        let rounded = dec(input).rounded(toPlaces: places)
        #expect(rounded == dec(expected))
        #expect(rounded.description == expected)
    }

    @Test("rounded(toPlaces:) is the nearest value at that scale, ties away from zero")
    func roundingProperty() async {
        let gen = zip(Gen.int128(in: -pow10(20)...pow10(20)), Gen.int(in: 0...12), Gen.int(in: 0...12))
        await forAll(count: 1000, gen) { significand, scale, places in
            let value = ExactDecimal(significand: significand, scale: scale)
            let rounded = value.rounded(toPlaces: places)
            if scale <= places {
                #expect(rounded.significand == significand && rounded.scale == scale)
            } else {
                #expect(rounded.scale == places)
                #expect(rounded.significand == divideRoundingHalfAway(significand, pow10(scale - places)))
                // Idempotent, and symmetric about zero.
                #expect(rounded.rounded(toPlaces: places) == rounded)
                #expect((-value).rounded(toPlaces: places) == -rounded)
            }
        }
    }

    @Test(
        "divided(by:places:) examples",
        arguments: [
            ("10", "4", 2, "2.50"), ("1", "3", 4, "0.3333"), ("2", "3", 2, "0.67"),
            ("-2", "3", 2, "-0.67"),
            ("2", "-3", 2, "-0.67"), ("-2", "-3", 2, "0.67"), ("1", "8", 2, "0.13"),
            ("-1", "8", 2, "-0.13"),
            ("1", "-8", 2, "-0.13"), ("123.45", "0.5", 2, "246.90"), ("1999.00", "12", 2, "166.58"),
            ("0.000001", "1000", 2, "0.00"), ("1", "0.0000001", 0, "10000000"), ("5", "2", 0, "3"),
        ])
    func divisionExamples(_ a: String, _ b: String, _ places: Int, _ expected: String) throws {
        let q = try #require(dec(a).divided(by: dec(b), places: places))
        #expect(q.description == expected)
    }

    @Test("divided(by:places:) is the quotient rounded half away from zero; by zero is nil")
    func divisionProperty() async {
        #expect(dec("1").divided(by: dec("0.000"), places: 2) == nil)
        let num = zip(Gen.int128(in: -pow10(12)...pow10(12)), Gen.int(in: 0...6))
        let den = zip(Gen.int128(in: -pow10(8)...pow10(8)).filter { $0 != 0 }, Gen.int(in: 0...6))
        await forAll(count: 1000, num, den, Gen.int(in: 0...6)) { a, b, places in
            let (p, sa) = a
            let (q, sb) = b
            let result = ExactDecimal(significand: p, scale: sa).divided(
                by: ExactDecimal(significand: q, scale: sb), places: places)
            // (p / 10^sa) / (q / 10^sb) × 10^places = p·10^(sb+places) / (q·10^sa)
            let expected = divideRoundingHalfAway(p * pow10(sb + places), q * pow10(sa))
            #expect(result?.significand == expected)
            #expect(result?.scale == places)
        }
    }

    @Test("dividedByPowerOfTen is exact")
    func powerOfTen() {
        #expect(ExactDecimal(25).dividedByPowerOfTen(2) == dec("0.25"))
        #expect(dec("12.5").dividedByPowerOfTen(2) == dec("0.125"))
        #expect(dec("-3").dividedByPowerOfTen(0) == dec("-3"))
    }
}

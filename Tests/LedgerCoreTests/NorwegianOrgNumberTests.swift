import LedgerCore
import PropertyBased
import Testing

@Suite("NorwegianOrgNumber")
struct NorwegianOrgNumberTests {
    /// The modulus-11 check digit written out by hand: nil when the remainder gives 10.
    static func checkDigit(_ prefix: [Int]) -> Int? {
        let weights = [3, 2, 7, 6, 5, 4, 3, 2]
        var sum = 0
        for i in 0..<8 { sum += prefix[i] * weights[i] }
        switch sum % 11 {
        case 0: return 0
        case 1: return nil
        case let r: return 11 - r
        }
    }

    static let prefixes = Gen.int(in: 0...99_999_999).map { n in
        let text = String(n)
        return String(repeating: "0", count: 8 - text.count) + text
    }

    @Test("known valid numbers", arguments: ["987654325", "923609016", "974760673", "000000000"])
    func valid(_ number: String) {
        #expect(NorwegianOrgNumber.isValid(number))
        #expect(NorwegianOrgNumber.isValid(Substring(number)))
    }

    @Test(
        "invalid numbers",
        arguments: [
            "123456789",  // from the PEPPOL example VAT number NO123456789MVA: check digit should be 5
            "987654326", "98765432", "9876543250", "", "98765432A", "A87654325", "987 654 325",
            "987-654-325",
            "NO987654325MVA", "987654325MVA", " 987654325", "987654325 ", "+87654325", "٩٨٧٦٥٤٣٢٥",
            "９８７６５４３２５", "98765432/",
            "98765432:",
        ])
    func invalid(_ number: String) {
        #expect(!NorwegianOrgNumber.isValid(number))
    }

    @Test(
        "every 8-digit prefix has exactly one valid check digit, or none when the remainder gives 10")
    func oneCheckDigit() async {
        await forAll(count: 2000, Self.prefixes) { prefix in
            let valid = (0...9).filter { NorwegianOrgNumber.isValid(prefix + String($0)) }
            let expected = Self.checkDigit(prefix.map { Int(String($0))! })
            #expect(valid == (expected.map { [$0] } ?? []), "\(prefix)")
        }
        // A prefix whose remainder gives 10 has no valid number at all: 3·4 = 12, 12 % 11 = 1, 11 − 1 = 10.
        #expect(Self.checkDigit([4, 0, 0, 0, 0, 0, 0, 0]) == nil)
        #expect((0...9).allSatisfy { !NorwegianOrgNumber.isValid("40000000\($0)") })
    }

    @Test("changing any single digit of a valid number invalidates it")
    func singleDigitErrorsAreCaught() async {
        let valid = Self.prefixes.compactMap { prefix -> String? in
            Self.checkDigit(prefix.map { Int(String($0))! }).map { prefix + String($0) }
        }
        await forAll(count: 500, valid) { number in
            #expect(NorwegianOrgNumber.isValid(number))
            var digits = Array(number)
            for position in 0..<9 {
                let original = digits[position]
                for replacement in "0123456789" where replacement != original {
                    digits[position] = replacement
                    #expect(!NorwegianOrgNumber.isValid(String(digits)), "\(number) → \(String(digits))")
                }
                digits[position] = original
            }
        }
    }

    @Test("swapping two adjacent different digits invalidates it")
    func transpositions() async {
        let valid = Self.prefixes.compactMap { prefix -> String? in
            Self.checkDigit(prefix.map { Int(String($0))! }).map { prefix + String($0) }
        }
        // Weights 3 2 7 6 5 4 3 2 and the check digit's implicit 1: every adjacent pair differs,
        // so an adjacent transposition changes the weighted sum by (a−b)(w−w') ≢ 0 (mod 11).
        await forAll(count: 500, valid) { number in
            var digits = Array(number)
            for position in 0..<8 where digits[position] != digits[position + 1] {
                digits.swapAt(position, position + 1)
                #expect(!NorwegianOrgNumber.isValid(String(digits)), "\(number) → \(String(digits))")
                digits.swapAt(position, position + 1)
            }
        }
    }
}

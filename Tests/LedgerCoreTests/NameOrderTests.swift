import LedgerCore
import PropertyBased
import Testing

@Suite struct NameOrderTests {
    @Test func numbersInNamesSortByValueAndLettersIgnoreCase() {
        let names = [
            "Leverandør 10", "leverandør 2", "Leverandør 1", "Leverandør 11", "Bygg 3 AS", "bygg 20 AS", "Ø-Kafé",
            "Aker", "aker", "Leverandør 02", "2 Brødre AS", "10 Brødre AS",
        ]
        #expect(
            names.sorted(by: NameOrder.precedes) == [
                "2 Brødre AS", "10 Brødre AS", "Aker", "aker", "Bygg 3 AS", "bygg 20 AS", "Leverandør 1",
                "Leverandør 02", "leverandør 2", "Leverandør 10", "Leverandør 11", "Ø-Kafé",
            ])
    }

    /// The pair `String`'s own `<` leaves unordered both ways.
    @Test func namesInTwoNormalisationFormsAreStillOrdered() {
        let decomposed = "e\u{301}"
        let precomposed = "\u{E9}b"
        #expect(NameOrder.precedes(decomposed, precomposed) != NameOrder.precedes(precomposed, decomposed))
    }

    @Test func numbersLongerThanAnyIntegerStillCompareByValue() {
        #expect(NameOrder.precedes("Kunde 99999999999999999999", "Kunde 100000000000000000000"))
        #expect(!NameOrder.precedes("Kunde 100000000000000000000", "Kunde 99999999999999999999"))
    }

    /// Any names: the order is a strict total order (irreflexive, asymmetric, transitive,
    /// and two different names are never tied), so sorting is well defined and repeatable.
    @Test func theOrderIsStrictAndTotal() async {
        let alphabet: [Character] = ["a", "A", "b", "0", "1", "2", "9", " ", "ø", "Ø", "-", "e\u{301}", "é"]
        let gen = scenario { rng -> [String] in
            (0..<3).map { _ in
                String((0..<Int.random(in: 0..<6, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! })
            }
        }
        await forAll(count: 3000, gen) { names in
            let (a, b, c) = (names[0], names[1], names[2])
            #expect(!NameOrder.precedes(a, a))
            #expect(
                !(NameOrder.precedes(a, b) && NameOrder.precedes(b, a)), "\(a.debugDescription) \(b.debugDescription)")
            if a != b {
                #expect(
                    NameOrder.precedes(a, b) || NameOrder.precedes(b, a), "\(a.debugDescription) \(b.debugDescription)")
            }
            if NameOrder.precedes(a, b), NameOrder.precedes(b, c) {
                #expect(NameOrder.precedes(a, c), "\(a.debugDescription) \(b.debugDescription) \(c.debugDescription)")
            }
        }
    }
}

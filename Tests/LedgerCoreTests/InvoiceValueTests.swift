import Testing

@testable import LedgerCore

/// Invoices and their lines hold their fields in storage their copies share (`Shared`); they
/// must still behave as values.
@Suite("Invoices are values")
struct InvoiceValueTests {
    static let spec = InvoiceSpec(lines: [(10_000, ExactDecimal(25)), (5_000, ExactDecimal(15))])

    @Test("changing a copy of an invoice, or of one of its lines, leaves the original as it was")
    func aChangedCopyLeavesTheOriginal() {
        let original = Self.spec.document(.invoice)
        var copy = original
        #expect(copy == original)
        copy.number = "INV-2"
        copy.lines[1].itemName = "Changed"
        copy.totals.payable = Money(minor: 1, currency: .nok)
        #expect(original.number == "INV-1")
        #expect(original.lines[1].itemName == "Item 2")
        #expect(original.totals.payable.minor == Self.spec.payable)
        #expect(copy.number == "INV-2")
        #expect(copy.lines[1].itemName == "Changed")
        #expect(copy.totals.payable.minor == 1)
        #expect(copy != original)

        var line = original.lines[0]
        line.taxCategory = "Z"
        #expect(original.lines[0].taxCategory == "S")
        #expect(line.taxCategory == "Z")
        #expect(line != original.lines[0])
    }

    @Test("equal invoices are equal and hash alike whether or not they share their storage")
    func equalityIsByValue() {
        let original = Self.spec.document(.invoice)
        let rebuilt = Self.spec.document(.invoice)
        let copy = original
        #expect(rebuilt == original)
        #expect(rebuilt.hashValue == original.hashValue)
        #expect(rebuilt.lines[0] == original.lines[0])
        #expect(rebuilt.lines[0].hashValue == original.lines[0].hashValue)
        #expect(Set([original, rebuilt, copy, Self.spec.document(.creditNote)]).count == 2)
    }

    @Test("an invoice prints its fields, as any value does")
    func printedWithItsFields() {
        let invoice = Self.spec.document(.invoice)
        let text = String(describing: invoice)
        #expect(text.hasPrefix("InvoiceDocument(type: "))
        #expect(text.contains("number: \"INV-1\""))
        #expect(text.contains("InvoiceLine(id: \"1\""))
    }
}

import Testing

@testable import LedgerCore

@Suite struct PostingNotesTests {
    static func notes(_ invoice: InvoiceDocument, _ direction: Direction, _ plan: AccountPlan = AccountPlan())
        -> [PostingNote]
    {
        PostingRules.notes(for: invoice, direction: direction, accounts: plan)
    }

    /// Over generated invoices in NOK, EUR, JPY and KWD, both directions and document types:
    /// the only notes are the VAT booked in another currency than the base one, and a prepaid
    /// amount; an ordinary document in the base currency has none. A company that does not
    /// deduct input VAT books it as cost, where no conversion is asked for.
    @Test("ordinary documents get no note; VAT in another currency and prepaid amounts do")
    func generatedDocuments() async {
        await forAll(count: 300, InvoiceScenario.generate()) { scenario in
            let spec = scenario.spec
            for deducts in [true, false] {
                var plan = PostingRulesTests.plan(override: scenario.override)
                plan.deductsInputVAT = deducts
                for (direction, type) in PostingRulesTests.combinations {
                    let invoice = PostingRulesTests.document(spec, direction, type)
                    var expected: [PostingNote] = []
                    let vatBooked = direction == .sale || deducts
                    if vatBooked, spec.currency != .nok, spec.taxTotal != 0 {
                        expected.append(
                            .vatInOtherCurrency(
                                vat: Money(minor: abs(spec.taxTotal), currency: spec.currency), base: .nok,
                                accountingTotal: nil))
                    }
                    if spec.prepaid != 0 {
                        expected.append(
                            .prepaid(
                                Money(minor: abs(spec.prepaid), currency: spec.currency),
                                account: direction == .purchase ? "1480" : "2900", direction: direction))
                    }
                    #expect(Self.notes(invoice, direction, plan) == expected, "\(direction) \(type) deducts \(deducts)")
                }
            }
        }
    }

    static func reverseCharged() -> InvoiceDocument {
        let danish = Party(
            name: "Dansk Konsulent ApS", endpointID: "DK12345678", endpointScheme: "0184",
            taxCompanyIDs: ["DK12345678"], vatIDs: ["DK12345678"], countryCode: "DK")
        var invoice = InvoiceSpec(currency: .eur, lines: [(4_000_00, ExactDecimal(0)), (1_000_00, ExactDecimal(0))])
            .document(.invoice, seller: danish, buyer: us, number: "DK-7")
        invoice.taxSubtotals = [
            TaxSubtotal(
                taxable: Money(minor: 5_000_00, currency: .eur), tax: .zero(.eur), category: "AE",
                percent: ExactDecimal(0), exemptionReason: "Reverse charge")
        ]
        return invoice
    }

    /// Reverse charge leaves the buyer's VAT to calculate: no rate is on the invoice, so none
    /// is guessed; the seller of such an invoice has nothing to book.
    @Test("a purchase under reverse charge says the VAT is the buyer's to calculate")
    func reverseCharge() throws {
        let invoice = Self.reverseCharged()
        let notes = Self.notes(invoice, .purchase)
        #expect(notes == [.reverseCharge(taxable: Money(minor: 5_000_00, currency: .eur))])
        #expect(notes[0].text.hasPrefix("Reverse charge (VAT category AE) on 5 000.00 EUR: the seller charged no VAT"))
        // The entry itself books no VAT.
        let entry = try PostingRules.entry(for: invoice, direction: .purchase, accounts: AccountPlan())
        #expect(entry.signedByAccount == ["4000 EUR": 5_000_00, "2400 EUR": -5_000_00])

        var sold = invoice
        sold.seller = us
        sold.buyer = customer
        #expect(Self.notes(sold, .sale).isEmpty)
    }

    /// The figure the invoice gives in the VAT accounting currency (BT-111) is named when it is
    /// the base currency's, so the bookkeeper need not look it up.
    @Test("VAT in another currency names the invoice's own figure in the base currency")
    func vatInAnotherCurrency() {
        var invoice = InvoiceSpec(currency: .eur, lines: [(1_000_00, ExactDecimal(25))])
            .document(.invoice, seller: supplier, buyer: us, number: "EUR-1")
        invoice.accountingTaxTotal = AccountingTaxTotal(currency: .nok, hundredths: 2_937_50)
        let notes = Self.notes(invoice, .purchase)
        #expect(
            notes == [
                .vatInOtherCurrency(
                    vat: Money(minor: 250_00, currency: .eur), base: .nok,
                    accountingTotal: Money(minor: 2_937_50, currency: .nok))
            ])
        #expect(
            notes[0].text
                == "The VAT of 250.00 EUR was booked in EUR: the VAT return is in NOK, so convert it (the invoice "
                + "gives it as 2 937.50 NOK).")
        // Given in a third currency, it is not named.
        invoice.accountingTaxTotal = AccountingTaxTotal(currency: Currency("SEK")!, hundredths: 2_900_00)
        #expect(
            Self.notes(invoice, .purchase) == [
                .vatInOtherCurrency(vat: Money(minor: 250_00, currency: .eur), base: .nok, accountingTotal: nil)
            ])
        // Books kept in EUR: nothing to convert.
        var plan = AccountPlan()
        plan.baseCurrency = .eur
        #expect(Self.notes(invoice, .purchase, plan).isEmpty)
        // VAT charged abroad is cost, never input VAT: nothing to convert for the return.
        var foreign = invoice
        foreign.seller = Party(
            name: "Supplier Ltd", endpointID: "GB1232434", endpointScheme: "9932", taxCompanyIDs: ["GB1232434"],
            vatIDs: ["GB1232434"], countryCode: "GB")
        #expect(Self.notes(foreign, .purchase).isEmpty)
    }

    @Test("a corrected invoice (384) and a prepayment invoice (386) say what the books still need")
    func correctedAndPrepaymentInvoices() {
        var corrected = InvoiceSpec(lines: [(100_00, ExactDecimal(25))])
            .document(.invoice, seller: supplier, buyer: us, number: "F-2")
        corrected.typeCode = "384"
        corrected.billingReferences = ["F-1"]
        #expect(Self.notes(corrected, .purchase) == [.correctedInvoice(references: ["F-1"], direction: .purchase)])
        #expect(Self.notes(corrected, .purchase)[0].text.contains("ask the supplier for a credit note for the first"))
        #expect(Self.notes(corrected, .sale)[0].text.contains("issue a credit note for the first"))

        var prepayment = InvoiceSpec(lines: [(4_000_00, ExactDecimal(25))])
            .document(.invoice, seller: supplier, buyer: us, number: "A-7")
        prepayment.typeCode = "386"
        var plan = AccountPlan()
        plan.supplierCostAccounts[supplier.legalCompanyID!] = "6800"
        let notes = Self.notes(prepayment, .purchase, plan)
        #expect(notes == [.prepaymentInvoice(netAccount: "6800", prepayments: "1480", direction: .purchase)])
        #expect(notes[0].text.contains("move this one's net from 6800 to 1480"))
        #expect(Self.notes(prepayment, .sale)[0].text.contains("from 3000 to 2900"))

        // A final invoice that deducts a prepayment: the advance is to be there.
        let final = InvoiceSpec(lines: [(10_000_00, ExactDecimal(25))], prepaid: 5_000_00)
            .document(.invoice, seller: supplier, buyer: us, number: "A-8")
        #expect(
            Self.notes(final, .purchase).map(\.text) == [
                "5 000.00 NOK paid in advance (PrepaidAmount) was credited to 1480: check that the advance you paid "
                    + "was debited there (from the payment, not booked as cost from a prepayment invoice)."
            ])
    }

    /// Amounts at the edge of what the books keep are named without trapping.
    @Test("notes name amounts at the edges without trapping")
    func extremeAmounts() {
        var invoice = Self.reverseCharged()
        for amounts in [[Int64.max, Int64.max], [Int64.min], [Int64.min, -1]] {
            invoice.taxSubtotals = amounts.map {
                TaxSubtotal(
                    taxable: Money(minor: $0, currency: .eur), tax: .zero(.eur), category: "AE",
                    percent: ExactDecimal(0))
            }
            #expect(Self.notes(invoice, .purchase) == [.reverseCharge(taxable: Money(minor: .max, currency: .eur))])
        }
    }
}

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
                    // Signed as the document moves the books: a credit note takes back.
                    let moves: Int64 = type == .invoice ? 1 : -1
                    let vatBooked = direction == .sale || deducts
                    if vatBooked, spec.currency != .nok, spec.taxTotal != 0 {
                        expected.append(
                            .vatInOtherCurrency(
                                vat: Money(minor: moves * spec.taxTotal, currency: spec.currency), vatReturn: .nok,
                                accountingTotal: nil))
                    }
                    if spec.prepaid != 0 {
                        // On the prepayments account as the entry posts it, a debit positive.
                        let entry = try PostingRules.entry(for: invoice, direction: direction, accounts: plan)
                        let account: Account = direction == .purchase ? "1480" : "2900"
                        let posted = try #require(entry.signedByAccount["\(account.number) \(spec.currency.code)"])
                        expected.append(
                            .prepaid(
                                posted: Money(minor: posted, currency: spec.currency), account: account,
                                direction: direction))
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

        // A credit note under reverse charge takes back what was calculated.
        var credit = invoice
        credit.type = .creditNote
        credit.typeCode = "381"
        #expect(Self.notes(credit, .purchase) == [.reverseCharge(taxable: Money(minor: -5_000_00, currency: .eur))])
        #expect(
            Self.notes(credit, .purchase)[0].text
                == "Reverse charge (VAT category AE) taken back, on 5 000.00 EUR: reverse the VAT you calculated on "
                + "what it credits. Nothing was booked for it.")
        // A breakdown whose reverse-charged amounts cancel out leaves nothing to calculate.
        var even = invoice
        even.taxSubtotals = [5_000_00, -5_000_00].map {
            TaxSubtotal(
                taxable: Money(minor: $0, currency: .eur), tax: .zero(.eur), category: "AE", percent: ExactDecimal(0))
        }
        #expect(Self.notes(even, .purchase).isEmpty)

        var sold = invoice
        sold.seller = us
        sold.buyer = customer
        #expect(Self.notes(sold, .sale).isEmpty)
    }

    /// A seller abroad that charges no VAT and reverse charges none on the invoice (category O
    /// or E, say): a service bought from abroad is reverse charged all the same; goods are not.
    @Test("a purchase from abroad without VAT says a service's VAT is the buyer's")
    func boughtAbroadWithoutVAT() {
        let british = Party(
            name: "Supplier Ltd", endpointID: "GB1232434", endpointScheme: "9932", taxCompanyIDs: ["GB1232434"],
            vatIDs: ["GB1232434"], countryCode: "GB")
        var invoice = InvoiceSpec(currency: Currency("GBP")!, lines: [(800_00, nil)])
            .document(.invoice, seller: british, buyer: us, number: "UK-9")
        invoice.taxSubtotals[0].category = "O"
        let notes = Self.notes(invoice, .purchase)
        #expect(notes == [.boughtAbroadWithoutVAT(taxable: Money(minor: 800_00, currency: Currency("GBP")!))])
        #expect(notes[0].text.contains("if it is a service, the VAT on it is yours to calculate and book"))
        // With VAT charged abroad, it is cost (or foreign_vat), and no reverse charge applies.
        let charged = InvoiceSpec(currency: Currency("GBP")!, lines: [(800_00, ExactDecimal(20))])
            .document(.invoice, seller: british, buyer: us, number: "UK-10")
        #expect(Self.notes(charged, .purchase).isEmpty)
        // From a Norwegian seller, zero-rated: nothing.
        var domestic = InvoiceSpec(lines: [(800_00, nil)]).document(.invoice, seller: supplier, buyer: us)
        domestic.taxSubtotals[0].category = "Z"
        #expect(Self.notes(domestic, .purchase).isEmpty)
    }

    /// The figure the invoice gives in the VAT accounting currency (BT-111) is named when it is
    /// the base currency's, so the bookkeeper need not look it up.
    @Test("VAT in another currency names the invoice's own figure in the currency of the VAT return")
    func vatInAnotherCurrency() {
        var invoice = InvoiceSpec(currency: .eur, lines: [(1_000_00, ExactDecimal(25))])
            .document(.invoice, seller: supplier, buyer: us, number: "EUR-1")
        invoice.accountingTaxTotal = AccountingTaxTotal(currency: .nok, hundredths: 2_937_50)
        let notes = Self.notes(invoice, .purchase)
        #expect(
            notes == [
                .vatInOtherCurrency(
                    vat: Money(minor: 250_00, currency: .eur), vatReturn: .nok,
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
                .vatInOtherCurrency(vat: Money(minor: 250_00, currency: .eur), vatReturn: .nok, accountingTotal: nil)
            ])
        // A credit note's VAT is taken back.
        var credit = invoice
        credit.type = .creditNote
        credit.typeCode = "381"
        #expect(
            Self.notes(credit, .purchase).map(\.text) == [
                "The VAT taken back, 250.00 EUR, was booked in EUR: the VAT return is in NOK, so convert it."
            ])
        // A VAT return made in EUR (a company that is not Norwegian): nothing to convert.
        var plan = AccountPlan()
        plan.vatReturnCurrency = .eur
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
        // A correction with negative amounts settles what it names: it replaces nothing.
        var negative = InvoiceSpec(lines: [(-100_00, ExactDecimal(25))])
            .document(.invoice, seller: supplier, buyer: us, number: "F-3")
        negative.typeCode = "384"
        negative.billingReferences = ["F-1"]
        #expect(PostingRules.creditToApply(negative) > 0)
        #expect(Self.notes(negative, .purchase).isEmpty)

        var prepayment = InvoiceSpec(lines: [(4_000_00, ExactDecimal(25))])
            .document(.invoice, seller: supplier, buyer: us, number: "A-7")
        prepayment.typeCode = "386"
        var plan = AccountPlan()
        plan.supplierCostAccounts[supplier.legalCompanyID!] = "6800"
        let notes = Self.notes(prepayment, .purchase, plan)
        #expect(
            notes == [
                .prepaymentInvoice(
                    net: nok(4_000_00), netAccount: "6800", prepayments: "1480", direction: .purchase)
            ])
        #expect(notes[0].text.contains("net 4 000.00 NOK to 6800: the final invoice"))
        #expect(
            notes[0].text.contains("books the whole cost again and credits 1480. This invoice's net belongs on 1480"))
        #expect(Self.notes(prepayment, .sale)[0].text.contains("books the whole revenue again and debits 2900"))

        // A final invoice that deducts a prepayment: the advance is to be there.
        let final = InvoiceSpec(lines: [(10_000_00, ExactDecimal(25))], prepaid: 5_000_00)
            .document(.invoice, seller: supplier, buyer: us, number: "A-8")
        #expect(
            Self.notes(final, .purchase).map(\.text) == [
                "5 000.00 NOK paid in advance (PrepaidAmount) was credited to 1480: check that the advance was "
                    + "debited there when it was paid (not booked as cost from a prepayment invoice)."
            ])
    }

    /// The side a prepaid amount's note names is the side its journal line is on, for both
    /// directions, invoices and credit notes, positive and negative amounts.
    @Test("a prepaid amount's note names the side the entry books it on")
    func prepaidSides() throws {
        for (direction, type) in PostingRulesTests.combinations {
            for prepaid: Int64 in [250_00, -100_00] {
                let spec = InvoiceSpec(lines: [(1_000_00, ExactDecimal(25))], prepaid: prepaid)
                let invoice = PostingRulesTests.document(spec, direction, type)
                let entry = try PostingRules.entry(for: invoice, direction: direction, accounts: AccountPlan())
                let account = direction == .purchase ? "1480" : "2900"
                let line = try #require(entry.lines.first { $0.account.number == account })
                let text = try #require(Self.notes(invoice, direction).last?.text)
                let amount = Money(minor: abs(prepaid), currency: .nok).grouped
                #expect(
                    text.hasPrefix(
                        "\(amount) paid in advance (PrepaidAmount) was "
                            + (line.debitMinor > 0 ? "debited to" : "credited to") + " \(account): check that the "
                            + "advance was \(line.debitMinor > 0 ? "credited" : "debited") there"),
                    "\(direction) \(type) \(prepaid): \(text)")
            }
        }
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
            let expected = Money(minor: amounts[0] > 0 ? .max : .min, currency: .eur)
            #expect(Self.notes(invoice, .purchase) == [.reverseCharge(taxable: expected)])
            #expect(Self.notes(invoice, .purchase).first?.text.contains("92 233 720 368 547 758.07 EUR") == true)
        }
    }
}

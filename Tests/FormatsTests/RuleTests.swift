import Formats
import LedgerCore
import Testing

/// `EHF.validate` rule by rule, on hand-built documents: a consistent sample passes, and each
/// rule fires on a minimal change (with both numbers in its message), or stays quiet just
/// inside its tolerance.
@Suite("Validation rules")
struct RuleTests {
    static func nok(_ text: String) -> Money { try! Money(parsing: text, currency: .nok) }
    static func dec(_ text: String) -> ExactDecimal { try! ExactDecimal(parsing: text) }

    static func line(
        _ id: String, _ net: String, _ category: String = "S", _ percent: String? = "25",
        quantity: String? = "1",
        price: String? = nil, base: String? = nil, allowances: String? = nil, charges: String? = nil
    ) -> InvoiceLine {
        InvoiceLine(
            id: id, quantity: quantity.map(dec), unitCode: "EA", lineExtension: nok(net),
            itemName: "Item \(id)",
            taxCategory: category, taxPercent: percent.map(dec), priceAmount: dec(price ?? net),
            priceBaseQuantity: base.map(dec), allowanceTotal: allowances.map(nok),
            chargeTotal: charges.map(nok))
    }

    static func subtotal(
        _ taxable: String, _ tax: String, _ category: String = "S", _ percent: String? = "25"
    ) -> TaxSubtotal {
        TaxSubtotal(taxable: nok(taxable), tax: nok(tax), category: category, percent: percent.map(dec))
    }

    /// 1000.00 at 25 % and 200.00 at 15 %, VAT 280.00, due 1480.00; a Norwegian seller.
    static func sample() -> InvoiceDocument {
        InvoiceDocument(
            type: .invoice, typeCode: "380",
            customizationID: "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
            profileID: nil, number: "T-1", issueDate: Day(year: 2026, month: 1, day: 15)!, dueDate: nil,
            currency: .nok,
            seller: Party(
                name: "Seller AS", legalCompanyID: "811143758",
                taxCompanyIDs: ["NO811143758MVA", "Foretaksregisteret"], vatIDs: ["NO811143758MVA"],
                countryCode: "NO"),
            buyer: Party(name: "Buyer AS", legalCompanyID: "987654325"),
            lines: [
                line("1", "1000.00", quantity: "2", price: "500.00"), line("2", "200.00", "S", "15"),
            ],
            taxTotal: nok("280.00"),
            taxSubtotals: [subtotal("1000.00", "250.00"), subtotal("200.00", "30.00", "S", "15")],
            totals: MonetaryTotals(
                lineExtension: nok("1200.00"), taxExclusive: nok("1200.00"), taxInclusive: nok("1480.00"),
                payable: nok("1480.00")))
    }

    static func violations(_ d: InvoiceDocument) -> [Rejection] { EHF.validate(d) }
    static func codes(_ d: InvoiceDocument) -> [String] { violations(d).map(\.code) }
    static func message(_ d: InvoiceDocument, _ code: String) -> String? {
        violations(d).first { $0.code == code }?.message
    }

    /// Sets the VAT total to `vat` and the totals after it (with VAT, due) to agree.
    static func withVATTotal(_ d: InvoiceDocument, _ vat: String) -> InvoiceDocument {
        var d = d
        d.taxTotal = nok(vat)
        d.totals.taxInclusive = Money(minor: d.totals.taxExclusive.minor + d.taxTotal.minor, currency: .nok)
        d.totals.payable = d.totals.taxInclusive
        return d
    }

    @Test func consistentSamplePasses() {
        #expect(Self.codes(Self.sample()) == [])
    }

    @Test func creditNoteAndNegativeInvoicePass() {
        var credit = Self.sample()
        credit.type = .creditNote
        credit.typeCode = "381"
        #expect(Self.codes(credit) == [])

        var negative = Self.sample()
        negative.lines = [
            Self.line("1", "-1000.00", quantity: "-2", price: "500.00"),
            Self.line("2", "-200.00", "S", "15", quantity: "-1", price: "200.00"),
        ]
        negative.taxSubtotals = [
            Self.subtotal("-1000.00", "-250.00"), Self.subtotal("-200.00", "-30.00", "S", "15"),
        ]
        negative.taxTotal = Self.nok("-280.00")
        negative.totals = MonetaryTotals(
            lineExtension: Self.nok("-1200.00"), taxExclusive: Self.nok("-1200.00"),
            taxInclusive: Self.nok("-1480.00"),
            payable: Self.nok("-1480.00"))
        #expect(Self.codes(negative) == [])
    }

    // MARK: BR-CO-10 … 16

    @Test func brCO10LinesAgainstLineTotal() {
        var d = Self.sample()
        d.totals.lineExtension = Self.nok("1210.00")
        d.totals.taxExclusive = Self.nok("1210.00")  // keep BR-CO-13 quiet
        d.totals.taxInclusive = Self.nok("1490.00")
        d.totals.payable = Self.nok("1490.00")
        #expect(Self.codes(d) == ["BR-CO-10"])
        #expect(
            Self.message(d, "BR-CO-10")
                == "The invoice lines add up to 1200.00 NOK but the line extension total says 1210.00 NOK.")
    }

    @Test func brCO11And12AllowancesAndCharges() {
        var d = Self.sample()
        d.allowancesCharges = [
            AllowanceCharge(
                isCharge: false, amount: Self.nok("100.00"), reason: "Discount", taxCategory: "S",
                taxPercent: Self.dec("25")),
            AllowanceCharge(
                isCharge: true, amount: Self.nok("100.00"), reason: "Freight", taxCategory: "S",
                taxPercent: Self.dec("25")),
        ]
        // Totals not stated: both rules fire, and say the total is missing, not that it is 0.
        #expect(Set(Self.codes(d)) == ["BR-CO-11", "BR-CO-12"])
        #expect(
            Self.message(d, "BR-CO-11")
                == "The document-level allowances add up to 100.00 NOK but the document states no allowance total (AllowanceTotalAmount)."
        )
        #expect(
            Self.message(d, "BR-CO-12")
                == "The document-level charges add up to 100.00 NOK but the document states no charge total (ChargeTotalAmount)."
        )
        // Stated, and wrong.
        d.totals.allowanceTotal = Self.nok("0.00")
        #expect(
            Self.message(d, "BR-CO-11")
                == "The document-level allowances add up to 100.00 NOK but the allowance total says 0.00 NOK.")
        d.totals.allowanceTotal = Self.nok("100.00")
        d.totals.chargeTotal = Self.nok("100.00")
        #expect(Self.codes(d) == [])
    }

    @Test func brCO13TaxExclusive() {
        var d = Self.sample()
        d.totals.chargeTotal = Self.nok("50.00")
        d.allowancesCharges = [
            AllowanceCharge(
                isCharge: true, amount: Self.nok("50.00"), reason: "Freight", taxCategory: "Z",
                taxPercent: Self.dec("0"))
        ]
        d.taxSubtotals.append(Self.subtotal("50.00", "0.00", "Z", "0"))
        #expect(Self.codes(d) == ["BR-CO-13"])
        #expect(
            Self.message(d, "BR-CO-13")
                == "The total without VAT says 1200.00 NOK but the line total 1200.00 NOK − allowances 0.00 NOK + charges 50.00 NOK makes 1250.00 NOK."
        )
        d.totals.taxExclusive = Self.nok("1250.00")
        d.totals.taxInclusive = Self.nok("1530.00")
        d.totals.payable = Self.nok("1530.00")
        #expect(Self.codes(d) == [])
    }

    @Test func brCO14VATTotalAgainstBreakdown() {
        var d = Self.sample()
        d.taxTotal = Self.nok("281.00")
        d.totals.taxInclusive = Self.nok("1481.00")
        d.totals.payable = Self.nok("1481.00")
        #expect(Self.codes(d) == ["BR-CO-14"])
        #expect(
            Self.message(d, "BR-CO-14")
                == "The VAT breakdown adds up to 280.00 NOK but the VAT total says 281.00 NOK.")
    }

    @Test func brCO15TaxInclusive() {
        var d = Self.sample()
        d.totals.taxInclusive = Self.nok("1480.01")
        d.totals.payable = Self.nok("1480.01")
        #expect(Self.codes(d) == ["BR-CO-15"])
        #expect(
            Self.message(d, "BR-CO-15")
                == "The total with VAT says 1480.01 NOK but the total without VAT 1200.00 NOK + VAT 280.00 NOK makes 1480.00 NOK."
        )
    }

    @Test func brCO16AmountDue() {
        var d = Self.sample()
        d.totals.prepaid = Self.nok("1000.00")
        d.totals.rounding = Self.nok("0.22")
        #expect(Self.codes(d) == ["BR-CO-16"])
        #expect(
            Self.message(d, "BR-CO-16")
                == "The amount due says 1480.00 NOK but the total with VAT 1480.00 NOK − prepaid 1000.00 NOK + rounding 0.22 NOK makes 480.22 NOK."
        )
        d.totals.payable = Self.nok("480.22")
        #expect(Self.codes(d) == [])
    }

    // MARK: BR-CO-17, BR-CO-18, BR-S-08, BR-S-09

    /// The CEN schematron allows |tax − round(taxable × rate / 100, 2)| < 1 on every breakdown.
    @Test func brCO17AndBRS09Tolerance() {
        var d = Self.sample()
        d.taxSubtotals[0].tax = Self.nok("250.99")
        d.taxTotal = Self.nok("280.99")
        d.totals.taxInclusive = Self.nok("1480.99")
        d.totals.payable = Self.nok("1480.99")
        #expect(Self.codes(d) == [])

        d.taxSubtotals[0].tax = Self.nok("251.00")
        d.taxTotal = Self.nok("281.00")
        d.totals.taxInclusive = Self.nok("1481.00")
        d.totals.payable = Self.nok("1481.00")
        #expect(Set(Self.codes(d)) == ["BR-CO-17", "BR-S-09"])
        #expect(
            Self.message(d, "BR-CO-17")
                == "The VAT of category S at 25 % says 251.00 NOK but 25 % of 1000.00 NOK is 250.00 NOK.")
        #expect(
            Self.message(d, "BR-S-09")
                == "The VAT at standard rate 25 % says 251.00 NOK but 25 % of 1000.00 NOK is 250.00 NOK.")

        d.taxSubtotals[0].tax = Self.nok("249.01")
        d.taxTotal = Self.nok("279.01")
        d.totals.taxInclusive = Self.nok("1479.01")
        d.totals.payable = Self.nok("1479.01")
        #expect(Self.codes(d) == [])
    }

    @Test func brCO17RoundsHalfUp() {
        // 1460.50 × 25 % = 365.125 → 365.13 (the EHF 3 example).
        var d = Self.sample()
        d.lines = [Self.line("1", "1460.50")]
        d.taxSubtotals = [Self.subtotal("1460.50", "365.13")]
        d.taxTotal = Self.nok("365.13")
        d.totals = MonetaryTotals(
            lineExtension: Self.nok("1460.50"), taxExclusive: Self.nok("1460.50"),
            taxInclusive: Self.nok("1825.63"), payable: Self.nok("1825.63"))
        #expect(Self.codes(d) == [])
    }

    @Test func brCO17ZeroRateNeedsZeroTax() {
        var d = Self.sample()
        d.lines.append(Self.line("3", "100.00", "E", "0"))
        d.taxSubtotals.append(Self.subtotal("100.00", "0.49", "E", "0"))
        d.taxTotal = Self.nok("280.49")
        d.totals = MonetaryTotals(
            lineExtension: Self.nok("1300.00"), taxExclusive: Self.nok("1300.00"),
            taxInclusive: Self.nok("1580.49"), payable: Self.nok("1580.49"))
        // round(0.49) = 0: BR-CO-17 is satisfied; BR-E-09 (exactly 0) is not.
        #expect(Self.codes(d) == ["BR-E-09"])
        d.taxSubtotals[2].tax = Self.nok("0.50")
        d.taxTotal = Self.nok("280.50")
        d.totals.taxInclusive = Self.nok("1580.50")
        d.totals.payable = Self.nok("1580.50")
        #expect(Set(Self.codes(d)) == ["BR-CO-17", "BR-E-09"])
    }

    @Test func brCO18NeedsABreakdown() {
        var d = Self.sample()
        d.taxSubtotals = []
        #expect(Self.codes(d).contains("BR-CO-18"))
        #expect(Self.codes(d).contains("BR-S-01"))
    }

    @Test func brS08TaxablePerRate() {
        var d = Self.sample()
        d.taxSubtotals[0].taxable = Self.nok("1000.99")  // inside the tolerance of 1
        #expect(!Self.codes(d).contains("BR-S-08"))
        d.taxSubtotals[0].taxable = Self.nok("1001.00")
        d.taxSubtotals[0].tax = Self.nok("250.25")
        d.taxTotal = Self.nok("280.25")
        d.totals.taxInclusive = Self.nok("1480.25")
        d.totals.payable = Self.nok("1480.25")
        #expect(Self.codes(d) == ["BR-S-08"])
        #expect(
            Self.message(d, "BR-S-08")
                == "The taxable amount at standard rate 25 % says 1001.00 NOK but the lines, allowances and charges at that rate make 1000.00 NOK."
        )
    }

    @Test func brS08CountsDocumentAllowancesAndChargesAtTheRate() {
        var d = Self.sample()
        d.allowancesCharges = [
            AllowanceCharge(
                isCharge: false, amount: Self.nok("100.00"), reason: "Discount", taxCategory: "S",
                taxPercent: Self.dec("25.0")),
            AllowanceCharge(
                isCharge: true, amount: Self.nok("40.00"), reason: "Freight", taxCategory: "S",
                taxPercent: Self.dec("15")),
        ]
        d.totals.allowanceTotal = Self.nok("100.00")
        d.totals.chargeTotal = Self.nok("40.00")
        d.totals.taxExclusive = Self.nok("1140.00")
        d.taxSubtotals = [
            Self.subtotal("900.00", "225.00"), Self.subtotal("240.00", "36.00", "S", "15"),
        ]
        d.taxTotal = Self.nok("261.00")
        d.totals.taxInclusive = Self.nok("1401.00")
        d.totals.payable = Self.nok("1401.00")
        #expect(Self.codes(d) == [])
    }

    @Test func brS08RateWithoutLines() {
        var d = Self.sample()
        d.taxSubtotals.append(Self.subtotal("0.00", "0.00", "S", "12"))
        #expect(Self.codes(d) == ["BR-S-08"])
        #expect(Self.message(d, "BR-S-08")?.contains("12 %") == true)
    }

    @Test func brS09NeedsARate() {
        var d = Self.sample()
        d.taxSubtotals[1].percent = nil
        #expect(Self.codes(d).contains("BR-S-09"))
    }

    // MARK: Zero-VAT categories

    /// The sample with a line and a charge in `category`. Outside the scope of VAT (O), the
    /// whole invoice is (BR-O-11 … 14): every line O, one breakdown, no VAT.
    static func zeroCategoryDocument(_ category: String, percent: String?) -> InvoiceDocument {
        var d = sample()
        d.lines.append(line("3", "300.00", category, percent))
        d.allowancesCharges = [
            AllowanceCharge(
                isCharge: true, amount: nok("20.00"), reason: "Handling", taxCategory: category,
                taxPercent: percent.map(dec))
        ]
        d.totals.chargeTotal = nok("20.00")
        d.totals.lineExtension = nok("1500.00")
        d.totals.taxExclusive = nok("1520.00")
        if category == "O" {
            for i in d.lines.indices {
                d.lines[i].taxCategory = "O"
                d.lines[i].taxPercent = nil
            }
            d.taxSubtotals = [
                TaxSubtotal(
                    taxable: nok("1520.00"), tax: nok("0.00"), category: "O", percent: nil, exemptionReason: "Reason")
            ]
            d.taxTotal = nok("0.00")
            d.totals.taxInclusive = nok("1520.00")
            d.totals.payable = nok("1520.00")
            return d
        }
        d.taxSubtotals.append(
            TaxSubtotal(
                taxable: nok("320.00"), tax: nok("0.00"), category: category, percent: percent.map(dec),
                exemptionReason: "Reason"))
        d.totals.taxInclusive = nok("1800.00")
        d.totals.payable = nok("1800.00")
        return d
    }

    static let zeroCategories: [(category: String, rule: String, percent: String?)] = [
        ("Z", "BR-Z", "0"), ("E", "BR-E", "0"), ("AE", "BR-AE", "0"), ("K", "BR-IC", "0"),
        ("G", "BR-G", "0"), ("O", "BR-O", nil),
    ]

    @Test(
        "Zero-VAT categories: taxable = lines + charges − allowances (-08), VAT = 0 (-09)",
        arguments: 0..<6)
    func zeroCategory(_ i: Int) {
        let (category, rule, percent) = Self.zeroCategories[i]
        let good = Self.zeroCategoryDocument(category, percent: percent)
        #expect(Self.codes(good) == [], "\(category): \(Self.violations(good))")
        let last = good.taxSubtotals.count - 1
        let taxable = good.taxSubtotals[last].taxable

        var wrongTaxable = good
        wrongTaxable.taxSubtotals[last].taxable = Self.nok("\((taxable.minor - 2_000) / 100).00")
        #expect(Self.codes(wrongTaxable) == ["\(rule)-08"])
        #expect(
            Self.message(wrongTaxable, "\(rule)-08")?.contains(wrongTaxable.taxSubtotals[last].taxable.description)
                == true)
        #expect(Self.message(wrongTaxable, "\(rule)-08")?.contains(taxable.description) == true)

        var withTax = good
        let cent = Money(minor: 1, currency: .nok)
        withTax.taxSubtotals[last].tax = cent
        withTax.taxTotal = Money(minor: good.taxTotal.minor + 1, currency: .nok)
        withTax.totals.taxInclusive = Money(minor: good.totals.taxInclusive.minor + 1, currency: .nok)
        withTax.totals.payable = Money(minor: good.totals.payable.minor + 1, currency: .nok)
        #expect(Self.codes(withTax) == ["\(rule)-09"])

        var missing = good
        missing.taxSubtotals.removeLast()
        #expect(Self.codes(missing).contains("\(rule)-01"))
    }

    @Test func outsideScopeHasNoRate() {
        var d = Self.zeroCategoryDocument("O", percent: nil)
        d.lines[2].taxPercent = Self.dec("0")
        #expect(Self.codes(d) == ["BR-O-05"])
        d = Self.zeroCategoryDocument("O", percent: nil)
        d.allowancesCharges[0].taxPercent = Self.dec("0")
        #expect(Self.codes(d) == ["BR-O-07"])
    }

    @Test func zeroRatedHasRateZero() {
        var d = Self.zeroCategoryDocument("Z", percent: "0")
        d.lines[2].taxPercent = Self.dec("25")
        #expect(Self.codes(d) == ["BR-Z-05"])
        d.lines[2].taxPercent = nil
        #expect(Self.codes(d) == ["BR-Z-05"])
    }

    @Test func standardRateIsAboveZero() {
        var d = Self.sample()
        d.lines[1].taxPercent = Self.dec("0")
        #expect(Self.codes(d).contains("BR-S-05"))
    }

    @Test func documentAllowanceNeedsACategory() {
        var d = Self.sample()
        d.allowancesCharges = [
            AllowanceCharge(
                isCharge: false, amount: Self.nok("0.00"), reason: "Nothing", taxCategory: nil,
                taxPercent: nil)
        ]
        #expect(Self.codes(d) == ["BR-32"])
    }

    // MARK: PEPPOL-EN16931-R120 / R121

    @Test func r120LineArithmetic() {
        var d = Self.sample()
        d.lines[0] = Self.line("1", "1000.02", quantity: "2", price: "500.00")  // 0.02 off: allowed
        // no quantity: 1
        d.lines[1] = Self.line("2", "200.00", "S", "15", quantity: nil, price: "200.00")
        var codes = Self.codes(d).filter { $0 == "PEPPOL-EN16931-R120" }
        #expect(codes == [])
        d.lines[0] = Self.line("1", "1000.03", quantity: "2", price: "500.00")
        codes = Self.codes(d).filter { $0 == "PEPPOL-EN16931-R120" }
        #expect(codes == ["PEPPOL-EN16931-R120"])
        #expect(
            Self.message(d, "PEPPOL-EN16931-R120")
                == "The net amount of invoice line 1 says 1000.03 NOK but quantity 2 × price 500 makes 1000.00 NOK (more than 0.02 apart)."
        )
    }

    @Test func r120BaseQuantityChargesAndAllowances() {
        var d = Self.sample()
        // 61 days × 1024.00 per 365 days = 171.1342…: 171.13 is within 0.02.
        d.lines = [Self.line("1", "171.13", quantity: "61", price: "1024", base: "365")]
        d.taxSubtotals = [Self.subtotal("171.13", "42.78")]
        d.taxTotal = Self.nok("42.78")
        d.totals = MonetaryTotals(
            lineExtension: Self.nok("171.13"), taxExclusive: Self.nok("171.13"),
            taxInclusive: Self.nok("213.91"), payable: Self.nok("213.91"))
        #expect(Self.codes(d) == [])
        d.lines = [
            Self.line(
                "1", "90.00", quantity: "10", price: "20", base: "2", allowances: "30.00", charges: "20.00")
        ]
        d.taxSubtotals = [Self.subtotal("90.00", "22.50")]
        d.taxTotal = Self.nok("22.50")
        d.totals = MonetaryTotals(
            lineExtension: Self.nok("90.00"), taxExclusive: Self.nok("90.00"),
            taxInclusive: Self.nok("112.50"), payable: Self.nok("112.50"))
        #expect(Self.codes(d) == [])
        d.lines[0].chargeTotal = Self.nok("0.00")
        #expect(Self.codes(d) == ["PEPPOL-EN16931-R120"])
        #expect(Self.message(d, "PEPPOL-EN16931-R120")?.contains("per 2") == true)
    }

    @Test func r121BaseQuantityAboveZero() {
        var d = Self.sample()
        d.lines[1].priceBaseQuantity = Self.dec("0")
        #expect(Self.codes(d) == ["PEPPOL-EN16931-R121"])
    }

    // MARK: NO-R-001

    @Test func noR001NorwegianVATNumber() {
        var d = Self.sample()
        for good in [
            ["NO811143758MVA"], ["NO991825827MVA", "Foretaksregisteret"], ["SE556036079301"], ["GB123"],
            [],
        ] {
            d.seller.taxCompanyIDs = good
            d.seller.vatIDs = good.filter { $0 != "Foretaksregisteret" }
            #expect(Self.codes(d) == [], "\(good)")
        }
        for bad in [
            "NO123456789MVA", "NO991 825 827MVA", "NO991825827", "NO1232434", "NO000000000MVA",
            "NO99182582MVA",
        ] {
            d.seller.taxCompanyIDs = [bad, "Foretaksregisteret"]
            d.seller.vatIDs = [bad]
            #expect(Self.codes(d) == ["NO-R-001"], "\(bad)")
            #expect(Self.message(d, "NO-R-001")?.contains(bad) == true)
            // The same under another tax scheme (TAX) is no VAT number: the rule does not read it.
            d.seller.vatIDs = []
            #expect(Self.codes(d) == [], "\(bad) under TaxScheme TAX")
        }
        // The buyer's VAT number is not the rule's business.
        d.seller.taxCompanyIDs = ["NO811143758MVA"]
        d.seller.vatIDs = ["NO811143758MVA"]
        d.buyer.taxCompanyIDs = ["NO123456789MVA"]
        d.buyer.vatIDs = ["NO123456789MVA"]
        #expect(Self.codes(d) == [])
    }

    // MARK: Robustness

    @Test func mixedCurrenciesAreReportedNotAdded() {
        var d = Self.sample()
        d.lines[1].lineExtension = Money(minor: 20_000, currency: .eur)
        #expect(Self.codes(d) == ["PEPPOL-EN16931-R051"])
    }

    @Test func hugeValuesAreReportedNotTrapped() {
        var d = Self.sample()
        d.lines = [Self.line("1", "92233720368547758.07"), Self.line("2", "92233720368547758.07")]
        #expect(Self.codes(d).contains("BR-CO-10"))
        #expect(Self.message(d, "BR-CO-10") == "The invoice lines are too large to add up.")

        d = Self.sample()
        let huge = ExactDecimal(significand: 999_999_999_999_999_999_999_999_999, scale: 0)
        let tiny = ExactDecimal(significand: 1, scale: 18)
        d.lines[0].quantity = huge
        d.lines[0].priceAmount = huge
        d.lines[0].priceBaseQuantity = tiny
        d.lines[0].taxPercent = huge
        d.taxSubtotals[0].percent = huge
        let codes = Self.codes(d)
        #expect(codes.contains("PEPPOL-EN16931-R120"))
        #expect(codes.contains("BR-CO-17"))
    }
}

/// What the rules check beyond each breakdown on its own, and the codes they allow.
@Suite("Validation rules: categories and the breakdown as a whole")
struct BreakdownRuleTests {
    typealias R = RuleTests

    @Test func unknownCategoryCodesAreRefused() {
        var line = R.sample()
        line.lines[1].taxCategory = "X"
        #expect(R.codes(line) == ["BR-CL-18"])
        #expect(R.message(line, "BR-CL-18")?.contains("Invoice line 2 has VAT category \"X\"") == true)

        // Codes are case-sensitive: "s" is not standard rated, and its VAT would be tied to
        // nothing. Said once a code.
        var breakdown = R.sample()
        breakdown.taxSubtotals[1].category = "s"
        #expect(R.codes(breakdown) == ["BR-CL-17"])
        breakdown.lines[1].taxCategory = "s"
        #expect(R.codes(breakdown) == ["BR-CL-18"])

        var charge = R.zeroCategoryDocument("Z", percent: "0")
        charge.allowancesCharges[0].taxCategory = "Q"
        #expect(R.codes(charge) == ["BR-CL-17"])
    }

    /// Each unknown code is said once, however many lines carry it and however many codes
    /// there are (the first dozen are kept in a list, the rest in a set).
    @Test func eachUnknownCodeIsSaidOnce() {
        var d = R.sample()
        let template = d.lines[0]
        d.lines = (0..<60).map { i in
            var line = template
            line.id = "\(i + 1)"
            line.taxCategory = "X\(i % 20)"
            return line
        }
        let said = R.violations(d).filter { $0.code == "BR-CL-18" }.map(\.message)
        #expect(said.count == 20)
        for code in 0..<20 {
            #expect(said.filter { $0.contains("VAT category \"X\(code)\"") }.count == 1, "X\(code)")
        }
    }

    @Test func taxesThatAreNotNorwegianVATAreNotBooked() {
        for (code, tax) in [("L", "IGIC"), ("M", "IPSI")] {
            var d = R.sample()
            d.lines[1].taxCategory = code
            d.taxSubtotals[1].category = code
            #expect(R.codes(d) == ["VAT-CATEGORY-UNSUPPORTED"])  // said once a code
            #expect(R.message(d, "VAT-CATEGORY-UNSUPPORTED")?.contains(tax) == true)
        }
    }

    /// Split payment (B) has no taxable-amount rule of its own: the breakdown as a whole ties its
    /// VAT to the lines, so a breakdown ten times the lines is refused.
    @Test func aBreakdownLargerThanItsLinesIsRefused() {
        var good = R.sample()
        good.lines[1].taxCategory = "B"
        good.taxSubtotals[1].category = "B"
        #expect(R.codes(good) == [])

        var inflated = good
        inflated.taxSubtotals[1] = R.subtotal("2000.00", "300.00", "B", "15")
        inflated = R.withVATTotal(inflated, "550.00")
        #expect(R.codes(inflated) == ["VAT-BREAKDOWN"])
        #expect(
            R.message(inflated, "VAT-BREAKDOWN")
                == "The taxable amounts of the VAT breakdown add up to 3000.00 NOK but the lines, allowances and charges make 1200.00 NOK; every line must be in exactly one VAT breakdown."
        )
    }

    @Test func aBreakdownGivenTwiceIsRefused() {
        var d = R.sample()
        d.taxSubtotals.append(R.subtotal("200.00", "30.00", "S", "15.00"))
        d = R.withVATTotal(d, "310.00")
        #expect(R.codes(d) == ["VAT-BREAKDOWN"])
        #expect(R.message(d, "VAT-BREAKDOWN")?.contains("category S at 15 % 2 times") == true)
    }

    @Test func aLineInNoBreakdownIsRefused() {
        var d = R.sample()
        d.taxSubtotals.removeLast()
        d = R.withVATTotal(d, "250.00")
        #expect(R.codes(d) == ["VAT-BREAKDOWN"])
    }

    @Test func vatAgainstTheSignOfItsAmountIsRefused() {
        var d = R.sample()
        d.taxSubtotals[0].tax = R.nok("-250.00")
        d = R.withVATTotal(d, "-220.00")
        #expect(R.codes(d) == ["VAT-BREAKDOWN"])
        #expect(
            R.message(d, "VAT-BREAKDOWN")?.contains("has VAT -250.00 NOK on a taxable amount of 1000.00 NOK") == true)
    }

    /// VAT rounded line by line can leave a cent of the other sign on a breakdown whose lines
    /// nearly cancel out (+0.10, +0.10, −0.21 at 15 %): within the rules' one unit, accepted.
    @Test func aCentOfTheOtherSignIsWithinTheTolerance() {
        var d = R.sample()
        d.lines[1] = R.line("2", "-0.01", "S", "15", quantity: "-1", price: "0.01")
        d.taxSubtotals[1] = R.subtotal("-0.01", "0.01", "S", "15")
        d.taxTotal = R.nok("250.01")
        d.totals.lineExtension = R.nok("999.99")
        d.totals.taxExclusive = R.nok("999.99")
        d.totals.taxInclusive = R.nok("1250.00")
        d.totals.payable = R.nok("1250.00")
        #expect(R.codes(d) == [], "\(R.violations(d))")
    }

    @Test func outsideTheScopeOfVATIsTheWholeInvoice() {
        // One line moved to O, with its own breakdown: BR-O-11 (another breakdown) and BR-O-12
        // (a line not O).
        var d = R.sample()
        d.lines[1].taxCategory = "O"
        d.lines[1].taxPercent = nil
        d.taxSubtotals[1] = TaxSubtotal(
            taxable: R.nok("200.00"), tax: R.nok("0.00"), category: "O", percent: nil, exemptionReason: "Outside")
        d = R.withVATTotal(d, "250.00")
        #expect(R.codes(d) == ["BR-O-11", "BR-O-12"])

        var charge = R.zeroCategoryDocument("O", percent: nil)
        charge.allowancesCharges[0].taxCategory = "E"
        charge.allowancesCharges[0].taxPercent = R.dec("0")
        #expect(R.codes(charge).contains("BR-O-14"))
        charge.allowancesCharges[0].isCharge = false
        #expect(R.codes(charge).contains("BR-O-13"))
    }

    @Test func aNegativePriceIsRefused() {
        var d = R.sample()
        d.lines[0] = R.line("1", "1000.00", quantity: "-2", price: "-500.00")
        #expect(R.codes(d) == ["BR-27"])
        #expect(R.message(d, "BR-27")?.contains("The price of invoice line 1 is -500") == true, "\(R.violations(d))")
    }
}

import Formats
import Foundation
import LedgerCore
import Testing

/// The public corpus (Fixtures/README.md says where each file comes from).
@Suite("EHF corpus")
struct CorpusTests {
    static let valid = Fixture.names("valid")
    static let invalid = Fixture.names("invalid")

    @Test func fixturesAreThere() {
        #expect(Self.valid.count == 10)
        #expect(Self.invalid.count == 15)
    }

    @Test("Every valid file parses and validates with no violation", arguments: valid)
    func validFile(name: String) throws {
        let result = parseResult(try Fixture.bytes("valid", name))
        let invoice = try #require(result.document, "\(name): \(String(describing: result.rejection))")
        #expect(EHF.validate(invoice).isEmpty, "\(name): \(EHF.validate(invoice).map(\.description))")
    }

    private func parse(_ folder: String, _ name: String) throws -> InvoiceDocument {
        let result = parseResult(try Fixture.bytes(folder, name))
        return try #require(result.document, "\(name): \(String(describing: result.rejection))")
    }

    private func money(_ text: String, _ currency: Currency) -> Money {
        try! Money(parsing: text, currency: currency)
    }

    @Test func peppolBaseExample() throws {
        let d = try parse("valid", "peppol_base-example.xml")
        #expect(d.type == .invoice)
        #expect(d.typeCode == "380")
        #expect(d.number == "Snippet1")
        #expect(d.issueDate == Day(year: 2017, month: 11, day: 13))
        #expect(d.dueDate == Day(year: 2017, month: 12, day: 1))
        #expect(d.currency == .eur)
        #expect(
            d.customizationID
                == "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0")
        #expect(d.profileID == "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0")
        #expect(d.totals.payable.minor == 165_625)
        #expect(d.totals.lineExtension == money("1300", .eur))
        #expect(d.totals.taxExclusive == money("1325", .eur))
        #expect(d.totals.chargeTotal == money("25", .eur))
        #expect(d.taxTotal == money("331.25", .eur))
        #expect(d.lines.count == 2)
        #expect(d.lines[0].id == "1")
        #expect(d.lines[0].quantity == ExactDecimal(7))
        #expect(d.lines[0].unitCode == "DAY")
        #expect(d.lines[0].lineExtension == money("2800", .eur))
        #expect(d.lines[0].itemName == "item name")
        #expect(d.lines[0].taxCategory == "S")
        #expect(d.lines[0].taxPercent == ExactDecimal(25))
        #expect(d.lines[0].priceAmount == ExactDecimal(400))
        #expect(d.lines[1].quantity == ExactDecimal(-3))
        #expect(d.lines[1].lineExtension.minor == -150_000)
        #expect(
            d.allowancesCharges == [
                AllowanceCharge(
                    isCharge: true, amount: money("25", .eur), reason: "Insurance", taxCategory: "S",
                    taxPercent: ExactDecimal(25))
            ])
        #expect(
            d.taxSubtotals == [
                TaxSubtotal(
                    taxable: money("1325", .eur), tax: money("331.25", .eur), category: "S",
                    percent: ExactDecimal(25))
            ])
        #expect(d.seller.name == "SupplierTradingName Ltd.")
        #expect(d.seller.endpointID == "9482348239847239874")
        #expect(d.seller.endpointScheme == "0088")
        #expect(d.seller.identifiers == ["99887766"])
        #expect(d.seller.legalCompanyID == "GB983294")
        #expect(d.seller.taxCompanyIDs == ["GB1232434"])
        #expect(d.seller.countryCode == "GB")
        #expect(d.buyer.name == "BuyerTradingName AS")
        #expect(d.buyer.endpointID == "FR23342")
        #expect(d.buyer.endpointScheme == "0002")
        #expect(d.buyer.legalCompanyID == "39937423947")
        #expect(d.buyer.countryCode == "SE")
        #expect(
            d.payment
                == PaymentInstructions(meansCode: "30", paymentID: "Snippet1", account: "IBAN32423940"))
        #expect(d.attachments.isEmpty)
        // A British seller charging British VAT: not VAT a Norwegian buyer may deduct.
        #expect(d.taxRepresentativeVATIDs.isEmpty)
        #expect(!d.chargesNorwegianVAT)
    }

    @Test func norwegianEHF3Example() throws {
        let d = try parse("valid", "ehf3_faktura-1_NOK.xml")
        #expect(d.number == "TOSL108")
        #expect(d.issueDate == Day(year: 2013, month: 6, day: 30))
        #expect(d.dueDate == Day(year: 2013, month: 7, day: 20))
        #expect(d.currency == .nok)
        #expect(d.totals.payable.minor == 80_200)
        #expect(d.totals.prepaid.minor == 100_000)
        #expect(d.totals.rounding.minor == 22)
        #expect(d.totals.taxInclusive.minor == 180_178)
        #expect(d.totals.allowanceTotal.minor == 10_000)
        #expect(d.totals.chargeTotal.minor == 10_000)
        #expect(d.taxTotal.minor == 36_528)
        #expect(d.lines.count == 5)
        #expect(d.lines.map(\.lineExtension.minor) == [127_300, -396, 496, -2_500, 18_750])
        #expect(d.lines.map(\.taxCategory) == ["S", "S", "S", "E", "S"])
        #expect(d.lines.map(\.taxPercent) == [25, 15, 15, 0, 25].map { ExactDecimal($0) })
        #expect(d.lines[0].allowanceTotal.minor == 1_200)
        #expect(d.lines[0].chargeTotal.minor == 1_200)
        #expect(d.lines[0].priceBaseQuantity == ExactDecimal(1))
        #expect(d.lines[4].unitCode == "MTR")
        #expect(d.lines[4].priceAmount == ExactDecimal(significand: 75, scale: 2))
        #expect(d.taxSubtotals.map(\.category) == ["S", "S", "E"])
        #expect(d.taxSubtotals.map(\.taxable.minor) == [146_050, 100, -2_500])
        #expect(d.taxSubtotals.map(\.tax.minor) == [36_513, 15, 0])
        #expect(d.taxSubtotals[2].exemptionReason == "Exempt New Means of Transport")
        #expect(d.allowancesCharges.map(\.isCharge) == [true, false])
        #expect(d.allowancesCharges.map(\.reason) == ["Freight", "Promotion discount"])
        // Seller: 0192 endpoint, Foretaksregisteret, NO…MVA.
        #expect(d.seller.name == "Salescompany ltd.")
        #expect(d.seller.endpointID == "123456785")
        #expect(d.seller.endpointScheme == "0192")
        #expect(d.seller.identifiers == ["1238764941386"])
        #expect(d.seller.legalCompanyID == "123456785")
        #expect(d.seller.taxCompanyIDs == ["NO123456785MVA", "Foretaksregisteret"])
        #expect(d.seller.vatNumber == "NO123456785MVA")
        #expect(d.buyer.name == "The Buyercompany")
        #expect(d.buyer.endpointID == "987654325")
        #expect(d.buyer.legalCompanyID == "987654325")
        #expect(d.buyer.taxCompanyIDs == ["NO987654325MVA"])
        // Its tax representative (BT-63), under the VAT scheme.
        #expect(d.taxRepresentativeVATIDs == ["NO999999999MVA"])
        #expect(d.chargesNorwegianVAT)
        // KID and account.
        #expect(
            d.payment
                == PaymentInstructions(
                    meansCode: "31", paymentID: "0003434323213231", account: "86011117947"))
        // The attachment labelled PDF is a short text, kept as sent.
        #expect(d.attachments.count == 1)
        let a = try #require(d.attachments.first)
        #expect(a.id == "Doc2")
        #expect(a.filename == "Hours-spent.csv")
        #expect(a.mimeCode == "application/pdf")
        #expect(a.description == "EHF specification")
        #expect(a.bytes == Array("Test base 64 encoding".utf8))
    }

    @Test func creditNoteCorrection() throws {
        let d = try parse("valid", "peppol_base-creditnote-correction.xml")
        #expect(d.type == .creditNote)
        #expect(d.typeCode == "381")
        #expect(d.number == "Snippet1")
        #expect(d.billingReferences == ["Snippet1"])
        #expect(d.totals.payable.minor == 165_625)
        #expect(d.lines.count == 2)
        #expect(d.lines.allSatisfy { $0.quantity != nil })
    }

    @Test func negativeInvoiceCorrection() throws {
        let d = try parse("valid", "peppol_base-negative-inv-correction.xml")
        #expect(d.type == .invoice)
        #expect(d.totals.payable.minor == -165_625)
        #expect(d.taxTotal.minor == -33_125)
        #expect(d.billingReferences == ["Snippet1"])
        #expect(EHF.validate(d).isEmpty)
    }

    @Test func zeroRatedExemptAndOutsideScope() throws {
        let e = try parse("valid", "peppol_vat-category-E.xml")
        #expect(e.currency == Currency("GBP"))
        #expect(e.taxSubtotals.map(\.category) == ["E"])
        #expect(e.taxSubtotals[0].exemptionReason == "VATEX-EU-F")  // the reason code, no text given
        #expect(e.seller.name == "The Sellercompany Incorporated")  // no PartyName: the legal name
        #expect(e.dueDate == nil)  // only "Payment within 30 days" in PaymentTerms: not a date

        let z = try parse("valid", "peppol_vat-category-Z.xml")
        #expect(z.taxSubtotals.map(\.category) == ["Z"])
        #expect(z.totals.payable.minor == 120_000)

        let o = try parse("valid", "peppol_vat-category-O.xml")
        #expect(o.currency == Currency("SEK"))
        #expect(o.taxSubtotals.map(\.category) == ["O"])
        #expect(o.taxSubtotals[0].percent == nil)
        #expect(o.lines[0].taxPercent == nil)
        #expect(o.seller.taxCompanyIDs.isEmpty)
        #expect(o.totals.payable.minor == 320_000)
    }

    @Test func forwardBilling() throws {
        let invoice = try parse("valid", "ehf_forward-billing_invoice_consumer.xml")
        #expect(invoice.typeCode == "82")
        #expect(
            invoice.customizationID.hasSuffix("urn:fdc:anskaffelser.no:2019:ehf:forward-billing:3.0"))
        #expect(invoice.lines.map(\.lineExtension.minor) == [17_113, 106_358])
        #expect(invoice.lines[0].priceBaseQuantity == ExactDecimal(365))
        #expect(invoice.lines[1].priceAmount == ExactDecimal(significand: 4153, scale: 4))

        let credit = try parse("valid", "ehf_forward-billing_creditnote_corporate.xml")
        #expect(credit.type == .creditNote)
        #expect(credit.typeCode == "81")
        #expect(credit.lines[1].quantity == ExactDecimal(significand: 256_100, scale: 2))
        #expect(credit.lines[1].unitCode == "KWH")
        #expect(credit.seller.taxCompanyIDs == ["NO811143758MVA", "Foretaksregisteret"])
        #expect(credit.buyer.endpointID == "987654325")
        #expect(credit.totals.payable.minor == 154_334)
        #expect(credit.attachments.map(\.bytes) == [Array("Base64 content example".utf8)])
    }

    /// The 2.46 MB PDF comes out byte for byte: compared with Foundation's base64 decoder run
    /// over the element's raw text (an independent implementation).
    @Test func embeddedPDFIsByteExact() throws {
        let name = "cef_IT_G2G_real-embedded-pdf_split-payment.xml"
        let d = try parse("valid", name)
        #expect(d.number == "1316/85")
        #expect(d.taxSubtotals.map(\.category) == ["B"])
        #expect(d.totals.prepaid.minor == 27_412)
        let a = try #require(d.attachments.first)
        #expect(d.attachments.count == 1)
        #expect(a.filename == "mappatura_ubl_sdi.pdf")
        #expect(a.mimeCode == "application/pdf")
        #expect(a.bytes.count == 2_464_230)
        #expect(a.bytes.prefix(4) == Array("%PDF".utf8)[...])
        #expect(a.bytes.suffix(6) == Array("%%EOF\n".utf8)[...])

        let text = try Fixture.text("valid", name)
        let open = try #require(text.range(of: "<cbc:EmbeddedDocumentBinaryObject"))
        let start = try #require(text[open.upperBound...].firstIndex(of: ">"))
        let end = try #require(
            text.range(of: "</cbc:EmbeddedDocumentBinaryObject>", range: start..<text.endIndex))
        let expected = try #require(
            Data(
                base64Encoded: String(text[text.index(after: start)..<end.lowerBound]),
                options: .ignoreUnknownCharacters))
        #expect(a.bytes == [UInt8](expected))
    }

    @Test func embeddedPDFDecodesFast() throws {
        let bytes = try Fixture.bytes("valid", "cef_IT_G2G_real-embedded-pdf_split-payment.xml")
        var count = 0
        let t = seconds {
            for _ in 0..<5 { count += parseResult(bytes).document?.attachments.first?.bytes.count ?? 0 }
        }
        #expect(count == 5 * 2_464_230)
        #expect(t < 5, "5 parses of the 3.3 MB file took \(t) s")
    }

    // MARK: - Invalid files

    /// What each invalid file is rejected with (at parse time or by `validate`), or nil for the
    /// "ledgerd's call" files ledgerd reads as valid (see `ledgerdsCalls`).
    static let expectedRejection: [String: String] = [
        "vefa_ubl-invoice-empty.xml": "MISSING-FIELD",
        "ehf2_faktura-1_legacy.xml": "EHF-UNSUPPORTED",
        "ehf2_T10_real-embedded-pdf.xml": "EHF-UNSUPPORTED",
        "cef_NO_core-EN16931_NOK.xml": "NO-R-001",
        "si_SI-UBL-2.0_invoicetypecode_string.xml": "BR-CL-01",
        "si_SI-UBL-2.0_no_customizationid.xml": "EHF-UNSUPPORTED",
        "testset_NO-R-001.xml": "NOT-AN-INVOICE",
        "testset_NO-R-002.xml": "NOT-AN-INVOICE",
        "testset_PEPPOL-EN16931-R120.xml": "NOT-AN-INVOICE",
        "testset_BR-CO-15_NOK.xml": "NOT-AN-INVOICE",
    ]

    @Test(
        "Invalid files are rejected with the expected code", arguments: expectedRejection.keys.sorted())
    func invalidFile(name: String) throws {
        let expected = try #require(Self.expectedRejection[name])
        switch parseResult(try Fixture.bytes("invalid", name)) {
        case .failure(let rejection):
            #expect(rejection.code == expected, "\(name): \(rejection)")
        case .success(let invoice):
            let codes = violationCodes(invoice)
            #expect(codes.contains(expected), "\(name): \(codes)")
        }
    }

    @Test func emptyInvoiceSaysSo() throws {
        let r = try #require(
            parseResult(try Fixture.bytes("invalid", "vefa_ubl-invoice-empty.xml")).rejection)
        #expect(r.message == "The invoice is empty: <Invoice> has no content.")
    }

    @Test func ehf2IsNamedAndTheSenderToldWhatToSend() throws {
        for name in ["ehf2_faktura-1_legacy.xml", "ehf2_T10_real-embedded-pdf.xml"] {
            let bytes = try Fixture.bytes("invalid", name)
            var result: Result<InvoiceDocument, Rejection>?
            let t = seconds { result = parseResult(bytes) }
            let r = try #require(result?.rejection)
            #expect(r.code == "EHF-UNSUPPORTED")
            #expect(r.message.contains("EHF 2.0 is not supported"))
            #expect(r.message.contains("EHF 3 / PEPPOL BIS Billing 3.0"))
            #expect(t < 1, "\(name) took \(t) s")
        }
        // Which document, from whom: the sender to ask is named.
        let legacy = try #require(parseResult(try Fixture.bytes("invalid", "ehf2_faktura-1_legacy.xml")).rejection)
        #expect(legacy.message.hasSuffix(" It is number TOSL108 from Salescompany ltd."), "\(legacy.message)")
    }

    @Test func missingCustomizationIDSaysItIsMissing() throws {
        let r = try #require(
            parseResult(try Fixture.bytes("invalid", "si_SI-UBL-2.0_no_customizationid.xml")).rejection)
        #expect(r.code == "EHF-UNSUPPORTED")
        #expect(r.message.contains("has no specification identifier (cbc:CustomizationID)"))
    }

    @Test func wrongTypeCodeIsNamed() throws {
        let r = try #require(
            parseResult(try Fixture.bytes("invalid", "si_SI-UBL-2.0_invoicetypecode_string.xml"))
                .rejection)
        #expect(r.code == "BR-CL-01")
        #expect(r.message.contains("'wrong'"))
    }

    /// The EN 16931 core example with Norwegian parties: its VAT number fails mod 11, line 1
    /// says 1273.00 for 2 × 1273.00, and line 3's net price 2.48 is not its gross price 2.70
    /// less the discount 0.27 (PEPPOL-EN16931-R046). All three are reported, and nothing else.
    @Test func norwegianCoreExampleViolations() throws {
        let d = try parse("invalid", "cef_NO_core-EN16931_NOK.xml")
        let violations = EHF.validate(d)
        #expect(Set(violations.map(\.code)) == ["NO-R-001", "PEPPOL-EN16931-R120", "PEPPOL-EN16931-R046"])
        let r046 = try #require(violations.first { $0.code == "PEPPOL-EN16931-R046" })
        #expect(
            r046.message
                == "The net price of invoice line 3 is 2.48 but its gross price 2.70 less the discount 0.27 makes 2.43."
        )
        let r120 = try #require(violations.first { $0.code == "PEPPOL-EN16931-R120" })
        #expect(r120.message.contains("1273.00 NOK"))
        #expect(r120.message.contains("2546.00 NOK"))
        let no = try #require(violations.first { $0.code == "NO-R-001" })
        #expect(no.message.contains("NO123456789MVA"))
        // ChargeIndicator "0" is xs:boolean false.
        #expect(d.allowancesCharges.map(\.isCharge) == [false, true])
    }

    /// ledgerd's calls, each read as a valid document and posted:
    /// - si_SI-UBL-2.0_empty_elements.xml: its only fault is empty optional elements
    ///   (cbc:Note, cbc:BuyerReference), a warning in its own (Dutch) CIUS. An empty optional
    ///   element carries no data, so ledgerd treats it as absent; the books need nothing from
    ///   them and the arithmetic agrees.
    /// - si_PB3_NL-R-001_CreditNote_error.xml, si_PB3_NL-R-003_error.xml: they break only
    ///   Dutch national rules (NL-R-*), which are out of scope for a Norwegian ledger; as
    ///   EN 16931 / PEPPOL documents they are sound.
    /// - cef_SE_foreign-currency_USD.xml, cef_SE_Invoice-Max_content.xml: they break only
    ///   Swedish organisation-number rules (SE-R-*), also out of scope. The USD one carries a
    ///   second TaxTotal in its VAT accounting currency (SEK, BT-111), which is allowed.
    /// Whether one of them posts still depends on it being addressed to the company.
    static let ledgerdsCalls = [
        "si_SI-UBL-2.0_empty_elements.xml", "si_PB3_NL-R-001_CreditNote_error.xml",
        "si_PB3_NL-R-003_error.xml",
        "cef_SE_foreign-currency_USD.xml", "cef_SE_Invoice-Max_content.xml",
    ]

    @Test("ledgerd's calls: read as valid documents", arguments: ledgerdsCalls)
    func ledgerdsCall(name: String) throws {
        let d = try parse("invalid", name)
        #expect(EHF.validate(d).isEmpty, "\(name): \(EHF.validate(d).map(\.description))")
    }

    @Test func everyInvalidFileHasADecision() {
        #expect(Set(Self.invalid) == Set(Self.expectedRejection.keys).union(Self.ledgerdsCalls))
    }

    @Test func ledgerdsCallsReadTheirDetails() throws {
        let empty = try parse("invalid", "si_SI-UBL-2.0_empty_elements.xml")
        #expect(empty.number == "12115118")
        #expect(empty.seller.name == "SimplerInvoicing")
        #expect(empty.payment?.account == "NL11 BANK 1111111111")

        let usd = try parse("invalid", "cef_SE_foreign-currency_USD.xml")
        #expect(usd.currency == Currency("USD"))
        #expect(usd.taxTotal.minor == 2_300_000)  // the USD total, not the SEK one
        #expect(usd.totals.payable.minor == 11_500_000)

        let max = try parse("invalid", "cef_SE_Invoice-Max_content.xml")
        #expect(max.billingReferences == ["Preceding invoice no.1", "Preceding invoice no.2"])
        #expect(max.seller.identifiers == ["7350000001204", "BilateralID"])
        #expect(max.seller.taxCompanyIDs == ["SE123456789001", "Godkänd för F-skatt"])
        #expect(max.attachments.map(\.id) == ["Time report 1"])
        #expect(max.attachments.first?.bytes == [0xD3, 0x5D, 0xB7, 0xE3, 0x9E, 0xBB])  // "01234567"
        #expect(max.payment?.paymentID == "1800355")

        // prefixed root: doc:CreditNote
        let nl = try parse("invalid", "si_PB3_NL-R-001_CreditNote_error.xml")
        #expect(nl.type == .creditNote)
        #expect(nl.lines.first?.quantity == ExactDecimal(significand: 100, scale: 2))
    }
}

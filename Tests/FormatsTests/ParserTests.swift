import Formats
import LedgerCore
import Testing

/// `EHF.parse` on small synthetic documents: what it reads, from where, and how it refuses.
@Suite("EHF parser")
struct ParserTests {
    static func parse(_ t: Template) -> Result<InvoiceDocument, Rejection> { parseResult(t.xml) }

    static func rejection(_ xml: String) -> Rejection? { parseResult(xml).rejection }

    @Test func templateIsValid() throws {
        let d = try #require(Self.parse(Template()).document)
        #expect(EHF.validate(d).isEmpty)
        #expect(d.number == "INV-1")
        #expect(d.issueDate == Day(year: 2026, month: 3, day: 1))
        #expect(d.dueDate == Day(year: 2026, month: 3, day: 31))
        #expect(d.totals.payable.minor == 148_000)
        #expect(d.lines.count == 2)
        #expect(d.seller.allIdentifiers.contains("0192:811143758"))
        #expect(d.seller.vatNumber == "NO811143758MVA")
        #expect(d.buyer.legalCompanyID == "987654325")
        #expect(
            d.payment
                == PaymentInstructions(meansCode: "30", paymentID: "1234567890128", account: "15030100000"))

        var credit = Template()
        credit.root = "CreditNote"
        let c = try #require(Self.parse(credit).document)
        #expect(c.type == .creditNote)
        #expect(c.typeCode == "381")
        #expect(c.lines.map(\.quantity) == [ExactDecimal(2), ExactDecimal(1)])
        #expect(EHF.validate(c).isEmpty)
    }

    // MARK: Recognising the document

    @Test func otherRootsAreNotInvoices() {
        let r = Self.rejection(
            "<?xml version=\"1.0\"?><Order xmlns=\"urn:oasis:names:specification:ubl:schema:xsd:Order-2\"><ID>1</ID></Order>"
        )
        #expect(r?.code == "NOT-AN-INVOICE")
        #expect(
            r?.message == "This XML file is not an invoice or credit note (its root element is <Order>).")
        let unqualified = Self.rejection("<Invoice><ID>1</ID></Invoice>")
        #expect(unqualified?.code == "NOT-AN-INVOICE")
        #expect(unqualified?.message.contains("in no namespace") == true)
        // An Invoice root in the CreditNote namespace is not UBL either.
        let swapped = Template().xml.replacingOccurrences(of: "xsd:Invoice-2", with: "xsd:CreditNote-2")
        #expect(Self.rejection(swapped)?.code == "NOT-AN-INVOICE")
    }

    @Test func customizationIDs() throws {
        var t = Template()
        for accepted in [
            "urn:cen.eu:en16931:2017",
            "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
            "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0#conformant#urn:fdc:anskaffelser.no:2019:ehf:forward-billing:3.0",
        ] {
            t.customization = accepted
            #expect(Self.parse(t).document?.customizationID == accepted)
        }
        t.customization =
            "urn:www.cenbii.eu:transaction:biitrns014:ver2.0:extended:urn:www.peppol.eu:bis:peppol5a:ver2.0:extended:urn:www.difi.no:ehf:kreditnota:ver2.0"
        t.root = "CreditNote"
        let ehf2 = Self.parse(t).rejection
        #expect(ehf2?.code == "EHF-UNSUPPORTED")
        #expect(ehf2?.message.contains("EHF 2.0 is not supported") == true)
        // What to do is the advice's to say, once (`Rejection.advice`): the reason says what is wrong.
        #expect(ehf2?.message.contains("ask the sender") == false)
        t.customization =
            "urn:www.cenbii.eu:transaction:biitrns010:ver2.0:extended:urn:www.peppol.eu:bis:peppol4a:ver2.0"
        t.root = "Invoice"
        #expect(Self.parse(t).rejection?.message.contains("EHF 2.0 is not supported") == true)
        t.customization = "urn:example:proprietary"
        #expect(Self.parse(t).rejection?.code == "EHF-UNSUPPORTED")
        t.customization = nil
        #expect(Self.parse(t).rejection?.message.contains("cbc:CustomizationID") == true)
        t.customization = "   "
        #expect(Self.parse(t).rejection?.code == "EHF-UNSUPPORTED")
    }

    /// BR-CL-04: the invoice currency is one of ISO 4217, not any three letters.
    @Test func aCurrencyOutsideISO4217IsRefused() {
        var t = Template()
        t.currency = "ABC"
        let rejection = Self.parse(t).rejection
        #expect(
            rejection?.message.contains("'ABC' is not an ISO 4217 code") == true, "\(String(describing: rejection))")
        t.currency = "SEK"
        #expect(Self.parse(t).document?.currency.code == "SEK")
    }

    @Test func typeCodes() {
        var t = Template()
        for code in [
            "380", "383", "384", "386", "389", "393", "395", "326", "295", "456", "457", "527", "553",
            "575", "623", "633", "751", "780", "817", "870", "875", "876", "877", "935", "82",
        ] {
            t.typeCode = code
            #expect(Self.parse(t).document?.typeCode == code)
        }
        t.root = "CreditNote"
        for code in ["381", "396", "261", "262", "308", "420", "458", "532", "81", "83"] {
            t.typeCode = code
            #expect(Self.parse(t).document?.typeCode == code)
        }
        t.root = "Invoice"
        t.typeCode = "999"
        #expect(Self.parse(t).rejection?.code == "BR-CL-01")
        t.typeCode = ""
        #expect(Self.parse(t).rejection?.code == "MISSING-FIELD")
    }

    /// EN 16931 keeps the invoice and credit note codes apart (BR-CL-01): a credit note code on
    /// an Invoice, posted as an invoice, would raise what is owed instead of lowering it.
    @Test func aCreditNoteCodeOnAnInvoiceAndTheReverseAreRefused() {
        var t = Template()
        t.typeCode = "381"
        let credit = Self.parse(t).rejection
        #expect(credit?.code == "BR-CL-01")
        #expect(credit?.message.contains("'381' is a credit note code") == true, "\(String(describing: credit))")
        t.root = "CreditNote"
        t.typeCode = "380"
        let invoice = Self.parse(t).rejection
        #expect(invoice?.code == "BR-CL-01")
        #expect(invoice?.message.contains("'380' is an invoice code") == true, "\(String(describing: invoice))")
    }

    // MARK: Required fields

    @Test func missingFieldsAreNamed() {
        func missing(_ xml: String, _ phrase: String, sourceLocation: SourceLocation = #_sourceLocation) {
            let r = Self.rejection(xml)
            #expect(
                r?.code == "MISSING-FIELD", "\(String(describing: r))", sourceLocation: sourceLocation)
            #expect(
                r?.message.contains(phrase) == true, "\(String(describing: r))",
                sourceLocation: sourceLocation)
        }
        var t = Template()
        t.number = nil
        missing(t.xml, "The invoice has no invoice number (cbc:ID).")
        t = Template()
        t.number = "  "
        missing(t.xml, "no invoice number (cbc:ID)")
        t = Template()
        t.issueDate = nil
        missing(t.xml, "no issue date (cbc:IssueDate)")
        t = Template()
        missing(
            t.xml.replacingOccurrences(
                of: "<cbc:DocumentCurrencyCode>NOK</cbc:DocumentCurrencyCode>", with: ""),
            "no currency (cbc:DocumentCurrencyCode)")
        t = Template()
        t.supplier = ""
        missing(t.xml, "no seller (cac:AccountingSupplierParty/cac:Party)")
        t = Template()
        t.customer = ""
        missing(t.xml, "no buyer")
        t = Template()
        t.supplier =
            "<cac:AccountingSupplierParty><cac:Party><cbc:EndpointID schemeID=\"0192\">811143758</cbc:EndpointID></cac:Party></cac:AccountingSupplierParty>"
        missing(t.xml, "The seller has no name")
        t = Template()
        t.monetaryTotal = ""
        missing(t.xml, "no totals (cac:LegalMonetaryTotal)")
        t = Template()
        t.monetaryTotal = t.totals().replacingOccurrences(
            of: #"<cbc:PayableAmount currencyID="NOK">1480.00</cbc:PayableAmount>"#, with: "")
        missing(t.xml, "no amount due (cac:LegalMonetaryTotal/cbc:PayableAmount)")
        t = Template()
        t.lines = ""
        missing(t.xml, "The invoice has no invoice lines (cac:InvoiceLine).")
        t = Template()
        t.root = "CreditNote"
        t.lines = ""
        missing(t.xml, "The credit note has no credit note lines (cac:CreditNoteLine).")
        t = Template()
        t.taxTotal = ""
        missing(t.xml, "no VAT total (cac:TaxTotal) in NOK")
        t = Template()
        t.lines = t.line("1", quantity: "1", net: "1200.00", price: "1200.00").replacingOccurrences(
            of: "<cbc:ID>1</cbc:ID>", with: "")
        missing(t.xml, "Invoice line number 1 in the file has no line ID")
        t = Template()
        t.lines = t.line("7", quantity: "1", net: "1200.00", price: "1200.00").replacingOccurrences(
            of: #"<cbc:LineExtensionAmount currencyID="NOK">1200.00</cbc:LineExtensionAmount>"#, with: "")
        missing(t.xml, "Invoice line 7 has no net amount")
        t = Template()
        t.lines = t.line("7", quantity: "1", net: "1200.00", price: "1200.00").replacingOccurrences(
            of: "<cbc:ID>S</cbc:ID>", with: "")
        missing(t.xml, "Invoice line 7 has no VAT category")
    }

    // MARK: Only direct children

    @Test func readsOnlyWhereUBLPutsThings() throws {
        var t = Template()
        t.number = nil
        t.issueDate = nil
        t.references = """
            <cac:OrderReference><cbc:ID>PO-77</cbc:ID><cbc:IssueDate>2020-01-01</cbc:IssueDate></cac:OrderReference>
            <cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>PREV-9</cbc:ID><cbc:IssueDate>2020-01-02</cbc:IssueDate></cac:InvoiceDocumentReference></cac:BillingReference>
            <ext:ID xmlns:ext="urn:example:ext">EXT-1</ext:ID>
            <cbc:ID>INV-REAL</cbc:ID><cbc:IssueDate>2026-02-02</cbc:IssueDate>
            """
        let d = try #require(Self.parse(t).document)
        #expect(d.number == "INV-REAL")
        #expect(d.issueDate == Day(year: 2026, month: 2, day: 2))
        #expect(d.billingReferences == ["PREV-9"])

        // A nested ID alone is not the invoice number.
        t.references =
            "<cac:OrderReference><cbc:ID>PO-77</cbc:ID></cac:OrderReference><cbc:IssueDate>2026-02-02</cbc:IssueDate>"
        #expect(Self.parse(t).rejection?.message.contains("no invoice number") == true)
    }

    @Test func prefixesDoNotMatterNamespacesDo() throws {
        let t = Template()
        let prefixed = t.xml
            .replacingOccurrences(of: "xmlns:cbc=", with: "xmlns:b=")
            .replacingOccurrences(of: "<cbc:", with: "<b:")
            .replacingOccurrences(of: "</cbc:", with: "</b:")
        let d = try #require(parseResult(prefixed).document)
        #expect(d.number == "INV-1")
        #expect(d.totals.payable.minor == 148_000)
    }

    // MARK: Values

    @Test func textIsDecodedAndTrimmed() throws {
        var t = Template()
        t.number = "  <![CDATA[INV-]]>4<!-- x -->2 "
        t.supplier = Template.supplier(vat: "NO811143758MVA").replacingOccurrences(
            of: "<cbc:Name>Havblikk Nett AS</cbc:Name>",
            with: "<cbc:Name>Smith &amp; Sønn &#x41;S</cbc:Name>")
        let d = try #require(Self.parse(t).document)
        #expect(d.number == "INV-42")
        #expect(d.seller.name == "Smith & Sønn AS")
    }

    /// White space often comes in runs of its own (indentation, references, CDATA, around
    /// comments): what an element's text begins with is dropped as it is read, and the rest
    /// trimmed when it is used.
    @Test func whiteSpaceInRunsOfItsOwn() throws {
        var t = Template()
        t.number = "&#32;\n  <![CDATA[ ]]><!-- c -->&#9;INV-&#32;<![CDATA[ ]]>7 "
        t.monetaryTotal = t.totals(payable: " &#10; <!-- c --> 1480.00&#32;<![CDATA[ ]]>")
        let d = try #require(Self.parse(t).document)
        #expect(d.number == "INV-  7")
        #expect(d.totals.payable.minor == 148_000)
        t.monetaryTotal = t.totals(payable: " &#32;<![CDATA[\t]]> ")
        #expect(Self.parse(t).rejection?.message.contains("is empty") == true)
    }

    @Test func dates() throws {
        var t = Template()
        t.issueDate = "2026-03-01Z"
        t.dueDate = "2026-04-01+01:00"
        let d = try #require(Self.parse(t).document)
        #expect(d.issueDate == Day(year: 2026, month: 3, day: 1))
        #expect(d.dueDate == Day(year: 2026, month: 4, day: 1))
        t.issueDate = "2026-02-30"
        #expect(Self.parse(t).rejection?.code == "INVALID-VALUE")
        t.issueDate = "01.03.2026"
        #expect(Self.parse(t).rejection?.message.contains("'01.03.2026' is not a valid date") == true)
        t = Template()
        t.dueDate = nil
        #expect(Self.parse(t).document?.dueDate == nil)
    }

    @Test func creditNoteDueDateFromPaymentMeans() throws {
        var t = Template()
        t.root = "CreditNote"
        t.paymentMeans =
            "<cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cbc:PaymentDueDate>2026-05-05</cbc:PaymentDueDate></cac:PaymentMeans>"
        #expect(Self.parse(t).document?.dueDate == Day(year: 2026, month: 5, day: 5))
    }

    @Test func amountsMustBeInTheDocumentCurrency() {
        var t = Template()
        t.monetaryTotal = t.totals().replacingOccurrences(
            of: #"<cbc:PayableAmount currencyID="NOK">"#, with: #"<cbc:PayableAmount currencyID="EUR">"#)
        let r = Self.parse(t).rejection
        #expect(r?.code == "PEPPOL-EN16931-R051")
        #expect(
            r?.message
                == "The amount due (cac:LegalMonetaryTotal/cbc:PayableAmount) is in EUR but the invoice currency is NOK; every amount must be in the invoice currency."
        )
        t = Template()
        t.lines = t.line("1", quantity: "2", net: "1000.00", price: "500.00").replacingOccurrences(
            of: #"<cbc:PriceAmount currencyID="NOK">"#, with: #"<cbc:PriceAmount currencyID="SEK">"#)
        #expect(Self.parse(t).rejection?.code == "PEPPOL-EN16931-R051")
        t = Template()
        t.monetaryTotal = t.totals().replacingOccurrences(
            of: #"<cbc:PayableAmount currencyID="NOK">"#, with: "<cbc:PayableAmount>")
        #expect(Self.parse(t).rejection?.message.contains("has no currency") == true)
        t.monetaryTotal = t.totals().replacingOccurrences(
            of: #"<cbc:PayableAmount currencyID="NOK">"#, with: #"<cbc:PayableAmount currencyID=" ">"#)
        #expect(Self.parse(t).rejection?.message.contains("has no currency") == true)
        // The code in any letter case, with white space around it, or written so that it reads
        // as the currency only once capitalized the Unicode way (ſ is a long s).
        for written in ["nok", " NoK ", "NOK\n"] {
            t.monetaryTotal = t.totals().replacingOccurrences(
                of: #"<cbc:PayableAmount currencyID="NOK">"#, with: "<cbc:PayableAmount currencyID=\"\(written)\">")
            #expect(Self.parse(t).document?.totals.payable.minor == 148_000, "\(written)")
        }
        t = Template()
        t.currency = "SEK"
        t.monetaryTotal = t.totals().replacingOccurrences(
            of: #"<cbc:PayableAmount currencyID="SEK">"#, with: #"<cbc:PayableAmount currencyID="ſek">"#)
        #expect(Self.parse(t).document?.totals.payable.minor == 148_000)
    }

    /// BR-53: a VAT accounting currency named is one the VAT total is given in too; the
    /// invoice's own currency named as such needs nothing more.
    @Test func aTaxCurrencyNeedsItsVATTotal() throws {
        var t = Template()
        t.header = "<cbc:TaxCurrencyCode>EUR</cbc:TaxCurrencyCode>"
        #expect(Self.parse(t).rejection?.code == "BR-53")
        #expect(Self.parse(t).rejection?.message.contains("names EUR as its VAT accounting currency") == true)
        t.header = "<cbc:TaxCurrencyCode/>"
        #expect(Self.parse(t).rejection?.code == "BR-53")
        #expect(Self.parse(t).rejection?.message.contains("an empty VAT accounting currency") == true)
        t.header = "<cbc:TaxCurrencyCode>NOK</cbc:TaxCurrencyCode>"
        #expect(Self.parse(t).document != nil)
    }

    @Test func vatTotalInTheTaxCurrency() throws {
        var t = Template()
        t.header = "<cbc:TaxCurrencyCode>EUR</cbc:TaxCurrencyCode>"
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"EUR\">24.50</cbc:TaxAmount></cac:TaxTotal>"
        let d = try #require(Self.parse(t).document)
        #expect(d.taxTotal.minor == 28_000)
        #expect(d.accountingTaxTotal == AccountingTaxTotal(currency: Currency("EUR")!, hundredths: 2_450))
        #expect(EHF.validate(d).isEmpty)
        #expect(try #require(Self.parse(Template()).document).accountingTaxTotal == nil)
        t.taxTotal =
            t.defaultTaxTotal + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"eur\">7.5</cbc:TaxAmount></cac:TaxTotal>"
        #expect(Self.parse(t).document?.accountingTaxTotal?.hundredths == 750)
        // PEPPOL-EN16931-R054: one such total, not two.
        t.taxTotal =
            t.defaultTaxTotal + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"eur\">7.5</cbc:TaxAmount></cac:TaxTotal>"
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"EUR\">7.60</cbc:TaxAmount></cac:TaxTotal>"
        #expect(Self.parse(t).rejection?.code == "PEPPOL-EN16931-R054")
        #expect(
            Self.parse(t).rejection?.message
                == "The invoice has two VAT totals in its VAT accounting currency EUR (7.5 and 7.60); there must be exactly one."
        )
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"EUR\">24.505</cbc:TaxAmount></cac:TaxTotal>"
        #expect(Self.parse(t).rejection?.code == "BR-DEC-15")
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"USD\">24.50</cbc:TaxAmount></cac:TaxTotal>"
        #expect(Self.parse(t).rejection?.code == "PEPPOL-EN16931-R051")
        // In a currency without minor units it is still written with up to two decimals
        // (BR-DEC-15), and kept in hundredths.
        t.header = "<cbc:TaxCurrencyCode>ISK</cbc:TaxCurrencyCode>"
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"ISK\">3612.45</cbc:TaxAmount></cac:TaxTotal>"
        #expect(Self.parse(t).rejection == nil, "\(String(describing: Self.parse(t).rejection))")
        #expect(Self.parse(t).document?.accountingTaxTotal?.hundredths == 361_245)
        // One beyond any VAT total is checked but not kept.
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"ISK\">900000000000000000000</cbc:TaxAmount></cac:TaxTotal>"
        #expect(Self.parse(t).rejection == nil)
        #expect(Self.parse(t).document.map { $0.accountingTaxTotal == nil } == true)
        // PEPPOL-EN16931-R055: the two VAT totals have the same sign.
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"ISK\">-3612.45</cbc:TaxAmount></cac:TaxTotal>"
        let r055 = Self.parse(t).rejection
        #expect(r055?.code == "PEPPOL-EN16931-R055")
        #expect(
            r055?.message
                == "The VAT total is 280.00 NOK but the VAT total in the VAT accounting currency is -3612.45 ISK; the two must have the same sign."
        )
    }

    @Test func moreThanTwoDecimalsIsBRDEC() {
        var t = Template()
        t.monetaryTotal = t.totals(payable: "1480.001")
        var r = Self.parse(t).rejection
        #expect(r?.code == "BR-DEC-18")
        #expect(
            r?.message
                == "The amount due (cac:LegalMonetaryTotal/cbc:PayableAmount) is 1480.001, with more than two decimals; EN 16931 allows at most two."
        )
        t.monetaryTotal = t.totals(payable: "1480.000")  // lexical, as the schematron counts
        #expect(Self.parse(t).rejection?.code == "BR-DEC-18")
        t = Template()
        t.lines = t.line("1", quantity: "2", net: "1000.005", price: "500.00")
        r = Self.parse(t).rejection
        #expect(r?.code == "BR-DEC-23")
        #expect(r?.message.contains("invoice line 1") == true)
        t = Template()
        t.taxTotal =
            "<cac:TaxTotal><cbc:TaxAmount currencyID=\"NOK\">280.00</cbc:TaxAmount>"
            + t.subtotal(taxable: "1000.001", tax: "250.00") + "</cac:TaxTotal>"
        #expect(Self.parse(t).rejection?.code == "BR-DEC-19")
        // Prices and quantities may have more decimals.
        t = Template()
        t.lines =
            t.line("1", quantity: "2.5", net: "1000.00", price: "400.000")
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        #expect(
            Self.parse(t).document?.lines.first?.quantity == ExactDecimal(significand: 25, scale: 1))
    }

    @Test func unreadableNumbers() {
        var t = Template()
        t.monetaryTotal = t.totals(payable: "1 480,00")
        #expect(Self.parse(t).rejection?.code == "INVALID-VALUE")
        t.monetaryTotal = t.totals(payable: "1e3")
        #expect(Self.parse(t).rejection?.code == "INVALID-VALUE")
        t.monetaryTotal = t.totals(payable: "")
        #expect(Self.parse(t).rejection?.message.contains("is empty") == true)
        t = Template()
        t.lines = t.line("1", quantity: "two", net: "1000.00", price: "500.00")
        #expect(Self.parse(t).rejection?.message.contains("not a number: 'two'") == true)
        // Zero-decimal currencies: 100.50 JPY cannot be an amount.
        t = Template()
        t.currency = "JPY"
        t.monetaryTotal = t.totals(payable: "1480.50")
        let fraction = Self.parse(t).rejection
        #expect(fraction?.code == "INVALID-VALUE")
        #expect(
            fraction?.message.contains("is 1480.50, but ledgerd keeps JPY in units of one (ISO 4217: 0 decimals)")
                == true, "\(String(describing: fraction))")
        t.monetaryTotal = t.totals()
        #expect(Self.parse(t).document?.totals.payable.minor == 1480)
    }

    /// Numbers that are numbers but not amounts an invoice can have: the message says which
    /// value, where, and why ledgerd cannot take it, whichever way the sign goes.
    /// EN 16931 limits the decimals of amounts, not of quantities and prices: software that
    /// divides in decimal arithmetic writes a price of 1000.00 / 3 with 28 digits.
    @Test func quantitiesAndPricesWithMoreDecimalsThanKeptAreRounded() throws {
        var t = Template()
        let third = "333." + String(repeating: "3", count: 28)
        t.lines =
            t.line("1", quantity: "3", net: "1000.00", price: third)
            + t.line("2", quantity: "1.00000000000000000000049", net: "200.00", price: "200.00", percent: "15")
        let d = try Self.parse(t).get()
        #expect(d.lines[0].priceAmount == ExactDecimal(significand: 3_333_333_333_333_333_333, scale: 16))
        #expect(d.lines[1].quantity == ExactDecimal(significand: 1_000_000_000_000_000_000, scale: 18))
        #expect(EHF.validate(d).isEmpty, "\(EHF.validate(d).map(\.description))")
        // Half away from zero, on the first decimal left out.
        t.lines =
            t.line("1", quantity: "2", net: "1000.00", price: "500.00000000000000005")
            + t.line("2", quantity: "-0.0000000000000000015", net: "200.00", price: "200.00", percent: "15")
        let rounded = try Self.parse(t).get()
        #expect(rounded.lines[0].priceAmount == ExactDecimal(significand: 5_000_000_000_000_000_001, scale: 16))
        #expect(rounded.lines[1].quantity == ExactDecimal(significand: -2, scale: 18))
        // Beyond 27 digits too: the 28th and later are left out, rounding on the first of them.
        t.lines =
            t.line("1", quantity: "2", net: "1000.00", price: "500." + String(repeating: "0", count: 18) + "4999")
            + t.line(
                "2", quantity: "1", net: "200.00", price: "199." + String(repeating: "9", count: 30), percent: "15")
        let long = try Self.parse(t).get()
        #expect(long.lines[0].priceAmount == ExactDecimal(500))
        #expect(long.lines[1].priceAmount == ExactDecimal(200))
        t.lines = t.line(
            "1", quantity: "123456789." + String(repeating: "0", count: 18) + "7", net: "1000.00", price: "1")
        #expect(
            try Self.parse(t).get().lines[0].quantity == ExactDecimal(significand: 1_234_567_890_000_000_000, scale: 10)
        )
        // .NET's 28-digit quantity and price on one line: the line check still adds up.
        t.lines =
            t.line(
                "1", quantity: "3.3333333333333333333333333333", net: "1000.00",
                price: "300.00000000000000000000000003")
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        let dotNet = try Self.parse(t).get()
        #expect(EHF.validate(dotNet).isEmpty, "\(EHF.validate(dotNet).map(\.description))")
        // An amount is never rounded.
        t = Template()
        t.monetaryTotal = t.totals(payable: "1480." + String(repeating: "0", count: 30))
        #expect(
            Self.parse(t).rejection?.message.hasSuffix("a number with more digits than ledgerd reads (27).") == true)
    }

    /// NO-R-001 reads the VAT scheme's company IDs only: another registration of a Norwegian
    /// seller (TaxScheme TAX) is no VAT number, whatever it looks like.
    @Test func taxRegistrationsOutsideTheVATSchemeAreNoVATNumbers() throws {
        var t = Template()
        t.supplier = Template.supplier(
            vat: "NO811143758MVA",
            extra:
                "<cac:PartyTaxScheme><cbc:CompanyID>NO811143758</cbc:CompanyID><cac:TaxScheme><cbc:ID>TAX</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
        )
        let d = try Self.parse(t).get()
        #expect(d.seller.vatIDs == ["NO811143758MVA"])
        #expect(d.seller.taxCompanyIDs == ["NO811143758MVA", "Foretaksregisteret", "NO811143758"])
        #expect(EHF.validate(d).isEmpty, "\(EHF.validate(d).map(\.description))")
        // The same under the VAT scheme is a malformed VAT number.
        t.supplier = Template.supplier(vat: "NO811143758")
        #expect(try EHF.validate(Self.parse(t).get()).map(\.code) == ["NO-R-001"])
    }

    @Test func numbersBeyondWhatLedgerdKeeps() {
        var t = Template()
        for huge in ["92233720368547758.08", "-92233720368547758.09"] {
            t.monetaryTotal = t.totals(payable: huge)
            #expect(
                Self.parse(t).rejection?.message
                    == "The amount due (cac:LegalMonetaryTotal/cbc:PayableAmount) is \(huge), larger in size than any amount ledgerd can keep."
            )
        }
        let longest = String(repeating: "9", count: 28)
        t.monetaryTotal = t.totals(payable: longest)
        #expect(
            Self.parse(t).rejection?.message
                == "The amount due (cac:LegalMonetaryTotal/cbc:PayableAmount) is \(longest), a number with more digits than ledgerd reads (27)."
        )
        t = Template()
        t.lines = t.line("1", quantity: "1" + String(repeating: "0", count: 30), net: "1000.00", price: "500.00")
        #expect(
            Self.parse(t).rejection?.message.hasSuffix("a number with more digits than ledgerd reads (27).") == true)
    }

    @Test func twoVATTotalsInTheDocumentCurrency() {
        var t = Template()
        t.taxTotal =
            t.defaultTaxTotal
            + "<cac:TaxTotal><cbc:TaxAmount currencyID=\"NOK\">281.00</cbc:TaxAmount></cac:TaxTotal>"
        let r = Self.parse(t).rejection
        #expect(r?.code == "BR-CO-15")
        #expect(r?.message.contains("280.00 and 281.00") == true)
    }

    @Test func allowancesAndCharges() throws {
        var t = Template()
        t.allowanceCharges = """
            <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator><cbc:AllowanceChargeReasonCode>95</cbc:AllowanceChargeReasonCode><cbc:Amount currencyID="NOK">100.00</cbc:Amount>\
            <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:AllowanceCharge>
            <cac:AllowanceCharge><cbc:ChargeIndicator>1</cbc:ChargeIndicator><cbc:AllowanceChargeReason>Freight</cbc:AllowanceChargeReason><cbc:Amount currencyID="NOK">100.00</cbc:Amount>\
            <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:AllowanceCharge>
            """
        t.monetaryTotal = t.totals(
            extra:
                #"<cbc:AllowanceTotalAmount currencyID="NOK">100.00</cbc:AllowanceTotalAmount><cbc:ChargeTotalAmount currencyID="NOK">100.00</cbc:ChargeTotalAmount>"#
        )
        let d = try #require(Self.parse(t).document)
        #expect(d.allowancesCharges.map(\.isCharge) == [false, true])
        #expect(d.allowancesCharges.map(\.reason) == ["95", "Freight"])
        #expect(d.allowancesCharges.map(\.taxCategory) == ["S", "S"])
        #expect(EHF.validate(d).isEmpty)

        t.allowanceCharges = t.allowanceCharges.replacingOccurrences(
            of: "<cbc:ChargeIndicator>1</cbc:ChargeIndicator>",
            with: "<cbc:ChargeIndicator>yes</cbc:ChargeIndicator>")
        #expect(Self.parse(t).rejection?.code == "INVALID-VALUE")
        t.allowanceCharges = t.allowanceCharges.replacingOccurrences(
            of: "<cbc:ChargeIndicator>yes</cbc:ChargeIndicator>", with: "")
        #expect(Self.parse(t).rejection?.message.contains("no charge indicator") == true)
    }

    /// PEPPOL-EN16931-R040: a base amount and a percentage make the amount, within 0.02, on
    /// the document and on a line; R044 and R046: a price carries only a discount, and with a
    /// gross price the net price is the gross price less the discount, exactly.
    @Test func percentagesAndPriceDiscountsAddUp() throws {
        var t = Template()
        func documentAllowance(base: String, percent: String) -> String {
            """
            <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator><cbc:AllowanceChargeReasonCode>95</cbc:AllowanceChargeReasonCode>\
            <cbc:MultiplierFactorNumeric>\(percent)</cbc:MultiplierFactorNumeric><cbc:Amount currencyID="NOK">100.00</cbc:Amount>\
            <cbc:BaseAmount currencyID="NOK">\(base)</cbc:BaseAmount>\
            <cac:TaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:AllowanceCharge>
            """
        }
        t.monetaryTotal = t.totals(
            taxExclusive: "1100.00", taxInclusive: "1355.00", payable: "1355.00",
            extra: #"<cbc:AllowanceTotalAmount currencyID="NOK">100.00</cbc:AllowanceTotalAmount>"#)
        t.taxTotal =
            "<cac:TaxTotal><cbc:TaxAmount currencyID=\"NOK\">255.00</cbc:TaxAmount>"
            + t.subtotal(taxable: "900.00", tax: "225.00") + t.subtotal(taxable: "200.00", tax: "30.00", percent: "15")
            + "</cac:TaxTotal>"
        for (base, percent) in [("1000.00", "10"), ("1000.20", "10"), ("999.80", "10"), ("400", "25")] {
            t.allowanceCharges = documentAllowance(base: base, percent: percent)
            let d = try Self.parse(t).get()
            #expect(EHF.validate(d).isEmpty, "\(base) at \(percent) %: \(EHF.validate(d).map(\.description))")
        }
        t.allowanceCharges = documentAllowance(base: "1000.00", percent: "50")
        let r040 = Self.parse(t).rejection
        #expect(r040?.code == "PEPPOL-EN16931-R040")
        #expect(
            r040?.message
                == "The amount of a document-level allowance is 100.00 but its base amount 1000.00 at 50 % makes 500.00 (more than 0.02 apart)."
        )
        t.allowanceCharges = documentAllowance(base: "1000.30", percent: "10")
        #expect(Self.parse(t).rejection?.code == "PEPPOL-EN16931-R040")

        // On a line: 2 × 500.00 less 10 % of 1000.00.
        t = Template()
        let tenPercent = """
            <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator><cbc:AllowanceChargeReason>Bulk</cbc:AllowanceChargeReason>\
            <cbc:MultiplierFactorNumeric>10</cbc:MultiplierFactorNumeric><cbc:Amount currencyID="NOK">AMOUNT</cbc:Amount><cbc:BaseAmount currencyID="NOK">1000.00</cbc:BaseAmount></cac:AllowanceCharge>
            """
        t.lines =
            t.line(
                "1", quantity: "2", net: "900.00", price: "500.00",
                extra: tenPercent.replacing("AMOUNT", with: "100.00"))
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        #expect(Self.parse(t).rejection == nil)
        t.lines =
            t.line(
                "1", quantity: "2", net: "900.00", price: "500.00",
                extra: tenPercent.replacing("AMOUNT", with: "101.00"))
        #expect(Self.parse(t).rejection?.code == "PEPPOL-EN16931-R040")

        // A price discount: net 100.00 = gross 130.00 − 30.00.
        func discounted(net: String, gross: String, discount: String, charge: Bool = false) -> String {
            """
            <cac:InvoiceLine><cbc:ID>1</cbc:ID><cbc:InvoicedQuantity unitCode="EA">10</cbc:InvoicedQuantity>\
            <cbc:LineExtensionAmount currencyID="NOK">1000.00</cbc:LineExtensionAmount>\
            <cac:Item><cbc:Name>Item</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>S</cbc:ID><cbc:Percent>25</cbc:Percent><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>\
            <cac:Price><cbc:PriceAmount currencyID="NOK">\(net)</cbc:PriceAmount><cac:AllowanceCharge><cbc:ChargeIndicator>\(charge)</cbc:ChargeIndicator>\
            <cbc:Amount currencyID="NOK">\(discount)</cbc:Amount><cbc:BaseAmount currencyID="NOK">\(gross)</cbc:BaseAmount></cac:AllowanceCharge></cac:Price></cac:InvoiceLine>
            """
        }
        t.lines =
            discounted(net: "100.00", gross: "130.00", discount: "30.00")
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        let fine = try Self.parse(t).get()
        #expect(
            fine.lines[0].priceDiscounts == [
                PriceDiscount(
                    isCharge: false, amount: ExactDecimal(significand: 3000, scale: 2),
                    grossPrice: ExactDecimal(significand: 13000, scale: 2))
            ])
        #expect(EHF.validate(fine).isEmpty, "\(EHF.validate(fine).map(\.description))")
        t.lines =
            discounted(net: "100.00", gross: "200.00", discount: "30.00")
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        let r046 = EHF.validate(try Self.parse(t).get())
        #expect(r046.map(\.code) == ["PEPPOL-EN16931-R046"])
        #expect(
            r046.first?.message
                == "The net price of invoice line 1 is 100.00 but its gross price 200.00 less the discount 30.00 makes 170.00."
        )
        t.lines =
            discounted(net: "100.00", gross: "70.00", discount: "30.00", charge: true)
            + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        #expect(EHF.validate(try Self.parse(t).get()).map(\.code) == ["PEPPOL-EN16931-R044"])
    }

    @Test func lineDetails() throws {
        var t = Template()
        t.lines =
            t.line(
                "10", quantity: "3", net: "1000.00", price: "350.00",
                extra: """
                    <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator><cbc:AllowanceChargeReason>Damage</cbc:AllowanceChargeReason><cbc:Amount currencyID="NOK">60.00</cbc:Amount></cac:AllowanceCharge>
                    <cac:AllowanceCharge><cbc:ChargeIndicator>false</cbc:ChargeIndicator><cbc:AllowanceChargeReason>Bulk</cbc:AllowanceChargeReason><cbc:Amount currencyID="NOK">10.00</cbc:Amount></cac:AllowanceCharge>
                    <cac:AllowanceCharge><cbc:ChargeIndicator>true</cbc:ChargeIndicator><cbc:AllowanceChargeReason>Packing</cbc:AllowanceChargeReason><cbc:Amount currencyID="NOK">20.00</cbc:Amount></cac:AllowanceCharge>
                    """) + t.line("20", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        let d = try #require(Self.parse(t).document)
        let line = try #require(d.lines.first)
        #expect(line.id == "10")
        #expect(line.itemName == "Item 10")
        #expect(line.unitCode == "EA")
        #expect(line.allowanceTotal.minor == 7_000)
        #expect(line.chargeTotal.minor == 2_000)
        #expect(EHF.validate(d).isEmpty)  // 3 × 350 − 70 + 20 = 1000
    }

    @Test func vatCategoryIsTheVATSchemeOne() throws {
        var t = Template()
        let line = t.line("1", quantity: "2", net: "1000.00", price: "500.00").replacingOccurrences(
            of: "<cac:ClassifiedTaxCategory>",
            with:
                "<cac:ClassifiedTaxCategory><cbc:ID>X</cbc:ID><cac:TaxScheme><cbc:ID>ENV</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory><cac:ClassifiedTaxCategory>"
        )
        t.lines = line + t.line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
        let d = try #require(Self.parse(t).document)
        #expect(d.lines.first?.taxCategory == "S")
    }

    @Test func attachments() throws {
        var t = Template()
        t.references = """
            <cac:AdditionalDocumentReference><cbc:ID>A1</cbc:ID><cbc:DocumentDescription>Timesheet</cbc:DocumentDescription>\
            <cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="text/plain" filename="a.txt">
              aGVs
              bG8g d29y
              bGQ=
            </cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>
            <cac:AdditionalDocumentReference><cbc:ID>URL</cbc:ID><cac:Attachment><cac:ExternalReference><cbc:URI>http://example.com/x</cbc:URI></cac:ExternalReference></cac:Attachment></cac:AdditionalDocumentReference>
            <cac:AdditionalDocumentReference><cbc:ID>A2</cbc:ID><cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="text/plain" filename="b.txt">aGk</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>
            <cac:AdditionalDocumentReference><cbc:ID>A3</cbc:ID><cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode="text/plain" filename="c.txt"></cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>
            """
        let d = try #require(Self.parse(t).document)
        #expect(d.attachments.map(\.id) == ["A1", "A2", "A3"])
        #expect(d.attachments[0].bytes == Array("hello world".utf8))
        #expect(d.attachments[0].filename == "a.txt")
        #expect(d.attachments[0].mimeCode == "text/plain")
        #expect(d.attachments[0].description == "Timesheet")
        #expect(d.attachments[1].bytes == Array("hi".utf8))  // unpadded
        #expect(d.attachments[2].bytes == [])

        for bad in ["aGVsbG8!", "a", "aGVs=bG8=", "aG==="] {
            var b = Template()
            b.references =
                "<cac:AdditionalDocumentReference><cbc:ID>X</cbc:ID><cac:Attachment><cbc:EmbeddedDocumentBinaryObject mimeCode=\"application/pdf\" filename=\"x.pdf\">\(bad)</cbc:EmbeddedDocumentBinaryObject></cac:Attachment></cac:AdditionalDocumentReference>"
            let r = Self.parse(b).rejection
            #expect(r?.code == "INVALID-VALUE", "\(bad)")
            #expect(r?.message.contains("x.pdf") == true)
        }
    }

    @Test func paymentMeansAreMerged() throws {
        var t = Template()
        t.paymentMeans = """
            <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cac:PayeeFinancialAccount><cbc:ID>1111</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
            <cac:PaymentMeans><cbc:PaymentMeansCode>31</cbc:PaymentMeansCode><cbc:PaymentID>KID-9</cbc:PaymentID><cac:PayeeFinancialAccount><cbc:ID>2222</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
            """
        #expect(
            Self.parse(t).document?.payment
                == PaymentInstructions(meansCode: "30", paymentID: "KID-9", account: "1111"))
        t.paymentMeans = ""
        #expect(Self.parse(t).document?.payment == nil)
    }

    @Test func partyNameFallsBackToTheLegalName() throws {
        var t = Template()
        t.supplier = Template.supplier(vat: nil).replacingOccurrences(
            of: "<cac:PartyName><cbc:Name>Havblikk Nett AS</cbc:Name></cac:PartyName>", with: ""
        )
        .replacingOccurrences(
            of: "<cbc:RegistrationName>Havblikk Nett AS</cbc:RegistrationName>",
            with: "<cbc:RegistrationName>Havblikk Nett AS (legal)</cbc:RegistrationName>")
        let d = try #require(Self.parse(t).document)
        #expect(d.seller.name == "Havblikk Nett AS (legal)")
        #expect(d.seller.taxCompanyIDs == ["Foretaksregisteret"])
        #expect(d.seller.countryCode == "NO")
    }
}

import LedgerCore

/// Reads a UBL 2.1 Invoice / CreditNote tree into the LedgerCore model.
///
/// Only direct children are read, where UBL puts them: the document's own `cbc:ID` is the
/// root's `cbc:ID` child, never an `ID` nested in some reference. Elements in other
/// namespaces (extensions) are ignored. Anything the ledger cannot do without, or any value
/// it cannot read exactly, is a `Rejection` naming the field.
final class UBLReader {
    static let invoiceNamespace: StaticString =
        "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
    static let creditNoteNamespace: StaticString =
        "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
    static let cbcNamespace: StaticString =
        "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
    static let cacNamespace: StaticString =
        "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"

    /// UNTDID 1001 document type codes, in EN 16931's two lists (BR-CL-01): those an Invoice
    /// may carry in cbc:InvoiceTypeCode (EHF forward billing's 82, metered services, among
    /// them) and those a CreditNote may carry in cbc:CreditNoteTypeCode (its 81 among them).
    /// A credit note code on an Invoice would book a credit as a debt, so it is refused.
    static let invoiceTypeCodes: Set<String> = [
        "71", "80", "82", "84", "102", "130", "202", "203", "204", "211", "218", "219", "295", "325",
        "326", "331", "380", "382", "383", "384", "385", "386", "387", "388", "389", "390", "393",
        "394", "395", "456", "457", "527", "553", "575", "623", "633", "751", "780", "817", "870",
        "875", "876", "877", "935",
    ]
    static let creditNoteTypeCodes: Set<String> = [
        "81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532",
    ]

    private enum Namespace { case cbc, cac, other }

    // Namespace lookups are cached by declaration: a UBL document declares cbc/cac once, so
    // after the first element each check is a pointer comparison.
    private var cbcKey: UnsafeRawPointer?
    private var cacKey: UnsafeRawPointer?

    // Per-document wording.
    private var type: DocumentType = .invoice
    private var noun = "invoice"
    private var lineNoun = "invoice line"
    private var currency = Currency.nok
    /// `currency.minorDigits`, looked up once per document.
    private var currencyDigits = 2

    private func namespace(_ e: XMLElement) -> Namespace {
        guard let key = e.namespaceKey else { return .other }
        if key == cbcKey { return .cbc }
        if key == cacKey { return .cac }
        guard let uri = e.namespaceURI else { return .other }
        if XMLTree.equal(uri, Self.cbcNamespace) {
            cbcKey = key
            return .cbc
        }
        if XMLTree.equal(uri, Self.cacNamespace) {
            cacKey = key
            return .cac
        }
        return .other
    }

    @inline(__always) private func isCBC(_ e: XMLElement, _ name: StaticString) -> Bool {
        e.named(name) && namespace(e) == .cbc
    }

    @inline(__always) private func isCAC(_ e: XMLElement, _ name: StaticString) -> Bool {
        e.named(name) && namespace(e) == .cac
    }

    private func cbc(_ parent: XMLElement?, _ name: StaticString) -> XMLElement? {
        guard let parent else { return nil }
        for c in parent.children where isCBC(c, name) { return c }
        return nil
    }

    private func cac(_ parent: XMLElement?, _ name: StaticString) -> XMLElement? {
        guard let parent else { return nil }
        for c in parent.children where isCAC(c, name) { return c }
        return nil
    }

    private func text(_ parent: XMLElement?, _ name: StaticString) -> String? {
        cbc(parent, name)?.trimmedText
    }

    // MARK: - Document

    func document(_ root: XMLElement) throws(Rejection) -> InvoiceDocument {
        try recogniseRoot(root)

        var customization: XMLElement?
        var profile: XMLElement?
        var id: XMLElement?
        var issueDate: XMLElement?
        var dueDate: XMLElement?
        var invoiceTypeCode: XMLElement?
        var creditNoteTypeCode: XMLElement?
        var currencyCode: XMLElement?
        var taxCurrencyCode: XMLElement?
        var supplier: XMLElement?
        var customer: XMLElement?
        var taxRepresentative: XMLElement?
        var allowanceCharges: [XMLElement] = []
        var taxTotals: [XMLElement] = []
        var monetaryTotal: XMLElement?
        var lines: [XMLElement] = []
        var paymentMeans: [XMLElement] = []
        var billingReferences: [XMLElement] = []
        var documentReferences: [XMLElement] = []

        for child in root.children {
            switch namespace(child) {
            case .cbc:
                if child.named("CustomizationID") {
                    if customization == nil { customization = child }
                } else if child.named("ProfileID") {
                    if profile == nil { profile = child }
                } else if child.named("ID") {
                    if id == nil { id = child }
                } else if child.named("IssueDate") {
                    if issueDate == nil { issueDate = child }
                } else if child.named("DueDate") {
                    if dueDate == nil { dueDate = child }
                } else if child.named("InvoiceTypeCode") {
                    if invoiceTypeCode == nil { invoiceTypeCode = child }
                } else if child.named("CreditNoteTypeCode") {
                    if creditNoteTypeCode == nil { creditNoteTypeCode = child }
                } else if child.named("DocumentCurrencyCode") {
                    if currencyCode == nil { currencyCode = child }
                } else if child.named("TaxCurrencyCode") {
                    if taxCurrencyCode == nil { taxCurrencyCode = child }
                }
            case .cac:
                if child.named("InvoiceLine") || child.named("CreditNoteLine") {
                    lines.append(child)
                } else if child.named("AllowanceCharge") {
                    allowanceCharges.append(child)
                } else if child.named("TaxTotal") {
                    taxTotals.append(child)
                } else if child.named("AccountingSupplierParty") {
                    if supplier == nil { supplier = child }
                } else if child.named("AccountingCustomerParty") {
                    if customer == nil { customer = child }
                } else if child.named("TaxRepresentativeParty") {
                    if taxRepresentative == nil { taxRepresentative = child }
                } else if child.named("LegalMonetaryTotal") {
                    if monetaryTotal == nil { monetaryTotal = child }
                } else if child.named("PaymentMeans") {
                    paymentMeans.append(child)
                } else if child.named("BillingReference") {
                    billingReferences.append(child)
                } else if child.named("AdditionalDocumentReference") {
                    documentReferences.append(child)
                }
            case .other:
                continue
            }
        }

        let customizationID: String
        let typeCode: String
        do {
            customizationID = try checkCustomization(customization?.trimmedText)
            typeCode = try checkTypeCode(type == .invoice ? invoiceTypeCode : creditNoteTypeCode)
        } catch {
            // The sender is asked for another copy: whose, and of which document, is said when
            // the file tells, as an EHF 2.0 invoice does in the same places.
            let seller =
                cac(cac(supplier, "Party"), "PartyName").flatMap { text($0, "Name") }
                ?? cac(cac(supplier, "Party"), "PartyLegalEntity").flatMap { text($0, "RegistrationName") }
            guard let number = id?.trimmedText, let seller else { throw error }
            let from = clip(seller)
            throw Rejection(
                error.code,
                error.message + " It is number \(clip(number)) from \(from)\(from.hasSuffix(".") ? "" : ".")")
        }

        guard let number = id?.trimmedText else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no \(noun) number (cbc:ID).")
        }
        guard let issueText = issueDate?.trimmedText else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no issue date (cbc:IssueDate).")
        }
        let issue = try day(issueText, "the issue date (cbc:IssueDate)")
        guard let currencyText = currencyCode?.trimmedText else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no currency (cbc:DocumentCurrencyCode).")
        }
        guard let documentCurrency = Currency(currencyText) else {
            throw Rejection(
                "INVALID-VALUE",
                "The \(noun) currency (cbc:DocumentCurrencyCode) '\(clip(currencyText))' is not an ISO 4217 code."
            )
        }
        currency = documentCurrency
        currencyDigits = documentCurrency.minorDigits
        // Present but empty is not absent: BR-53 asks for a VAT total in it.
        let taxCurrency = taxCurrencyCode.map { $0.trimmedText ?? "" }

        var due: Day?
        if let dueText = dueDate?.trimmedText {
            due = try day(dueText, "the due date (cbc:DueDate)")
        }

        let seller = try party(supplier, role: "seller", element: "cac:AccountingSupplierParty")
        let buyer = try party(customer, role: "buyer", element: "cac:AccountingCustomerParty")

        guard let monetaryTotal else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no totals (cac:LegalMonetaryTotal).")
        }
        let totals = try monetaryTotals(monetaryTotal)

        guard !lines.isEmpty else {
            let element = type == .invoice ? "cac:InvoiceLine" : "cac:CreditNoteLine"
            throw Rejection("MISSING-FIELD", "The \(noun) has no \(lineNoun)s (\(element)).")
        }
        var invoiceLines: [InvoiceLine] = []
        invoiceLines.reserveCapacity(lines.count)
        for (index, element) in lines.enumerated() {
            invoiceLines.append(try line(element, position: index + 1))
        }

        var documentAllowanceCharges: [AllowanceCharge] = []
        for element in allowanceCharges {
            documentAllowanceCharges.append(try allowanceCharge(element))
        }

        let (taxTotal, subtotals, accountingTaxTotal) = try taxes(taxTotals, taxCurrency: taxCurrency)

        var payment: PaymentInstructions?
        for means in paymentMeans {
            let code = text(means, "PaymentMeansCode")
            let paymentID = text(means, "PaymentID")
            let account = text(cac(means, "PayeeFinancialAccount"), "ID")
            if let p = payment {
                payment = PaymentInstructions(
                    meansCode: p.meansCode ?? code, paymentID: p.paymentID ?? paymentID,
                    account: p.account ?? account)
            } else {
                payment = PaymentInstructions(meansCode: code, paymentID: paymentID, account: account)
            }
            // BT-9 of a credit note lives in PaymentMeans (UBL's CreditNote has no cbc:DueDate).
            if due == nil, type == .creditNote, let dueText = text(means, "PaymentDueDate") {
                due = try day(dueText, "the due date (cac:PaymentMeans/cbc:PaymentDueDate)")
            }
        }

        var references: [String] = []
        for reference in billingReferences {
            if let id = text(cac(reference, "InvoiceDocumentReference"), "ID") { references.append(id) }
        }

        var attachments: [Attachment] = []
        for reference in documentReferences {
            if let attachment = try attachment(reference) { attachments.append(attachment) }
        }

        return InvoiceDocument(
            type: type, typeCode: typeCode, customizationID: customizationID,
            profileID: profile?.trimmedText,
            number: number, issueDate: issue, dueDate: due, currency: documentCurrency, seller: seller,
            buyer: buyer,
            lines: invoiceLines, allowancesCharges: documentAllowanceCharges, taxTotal: taxTotal,
            taxSubtotals: subtotals, accountingTaxTotal: accountingTaxTotal, totals: totals, payment: payment,
            billingReferences: references,
            attachments: attachments, taxRepresentativeVATIDs: vatIDs(ofTaxRepresentative: taxRepresentative))
    }

    /// BT-63: the VAT identifiers of the seller's tax representative (`cac:PartyTaxScheme`
    /// under the VAT scheme), which decide whether its VAT is Norwegian.
    private func vatIDs(ofTaxRepresentative party: XMLElement?) -> [String] {
        guard let party else { return [] }
        var ids: [String] = []
        for c in party.children where namespace(c) == .cac && c.named("PartyTaxScheme") {
            if let id = text(c, "CompanyID"), text(cac(c, "TaxScheme"), "ID")?.uppercased() == "VAT" { ids.append(id) }
        }
        return ids
    }

    private func recogniseRoot(_ root: XMLElement) throws(Rejection) {
        let uri = root.namespaceURI
        if root.named("Invoice"), let uri, XMLTree.equal(uri, Self.invoiceNamespace) {
            type = .invoice
        } else if root.named("CreditNote"), let uri, XMLTree.equal(uri, Self.creditNoteNamespace) {
            type = .creditNote
            noun = "credit note"
            lineNoun = "credit note line"
        } else {
            let name = root.nameString
            var namespaceNote = ""
            if name == "Invoice" || name == "CreditNote" {
                namespaceNote =
                    root.namespaceString.map { " in namespace \($0), not UBL 2.1's" }
                    ?? " in no namespace, not UBL 2.1's"
            }
            throw Rejection(
                "NOT-AN-INVOICE",
                "This XML file is not an invoice or credit note (its root element is <\(name)>\(namespaceNote))."
            )
        }
        guard root.hasChildElements else {
            let element = type == .invoice ? "<Invoice>" : "<CreditNote>"
            throw Rejection("MISSING-FIELD", "The \(noun) is empty: \(element) has no content.")
        }
    }

    private func checkCustomization(_ value: String?) throws(Rejection) -> String {
        guard let value else {
            throw Rejection(
                "EHF-UNSUPPORTED",
                "The \(noun) has no specification identifier (cbc:CustomizationID), so it cannot be read as EHF 3 / PEPPOL BIS Billing 3.0."
            )
        }
        if value.hasPrefix("urn:cen.eu:en16931:2017") { return value }
        if value.hasPrefix("urn:www.cenbii.eu:") || value.contains("ehf:faktura:ver2")
            || value.contains("ehf:kreditnota:ver2")
        {
            let what =
                value.contains("difi.no:ehf")
                ? "EHF 2.0" : "CEN BII 2 / PEPPOL BIS 2 (the generation of EHF 2.0)"
            throw Rejection(
                "EHF-UNSUPPORTED",
                "This is an \(what) \(noun) (CustomizationID \(clip(value))); EHF 2.0 is not supported, only EHF 3 / PEPPOL BIS Billing 3.0."
            )
        }
        throw Rejection(
            "EHF-UNSUPPORTED",
            "The \(noun) follows a specification ledgerd does not read (CustomizationID \(clip(value))); only EN 16931-based documents such as EHF 3 / PEPPOL BIS Billing 3.0 are supported."
        )
    }

    private func checkTypeCode(_ element: XMLElement?) throws(Rejection) -> String {
        let elementName = type == .invoice ? "cbc:InvoiceTypeCode" : "cbc:CreditNoteTypeCode"
        guard let code = element?.trimmedText else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no type code (\(elementName)).")
        }
        let (own, other) =
            type == .invoice
            ? (Self.invoiceTypeCodes, Self.creditNoteTypeCodes) : (Self.creditNoteTypeCodes, Self.invoiceTypeCodes)
        guard own.contains(code) else {
            let (kind, otherKind, otherRoot) =
                type == .invoice
                ? ("an invoice", "a credit note", "a CreditNote") : ("a credit note", "an invoice", "an Invoice")
            if other.contains(code) {
                throw Rejection(
                    "BR-CL-01",
                    "The \(noun) type code (\(elementName)) '\(clip(code))' is \(otherKind) code; \(otherKind) is sent as \(otherRoot) document. It was not posted, since it would be booked the wrong way round."
                )
            }
            throw Rejection(
                "BR-CL-01",
                "The \(noun) type code (\(elementName)) '\(clip(code))' is not \(kind) code of UNTDID 1001 (such as 380 for an invoice or 381 for a credit note)."
            )
        }
        return code
    }

    private func day(_ text: String, _ what: @autoclosure () -> String) throws(Rejection) -> Day {
        guard let day = ValueParsing.day(text) else {
            throw Rejection(
                "INVALID-VALUE", "\(what().capitalisedFirst) '\(clip(text))' is not a valid date (YYYY-MM-DD).")
        }
        return day
    }

    // MARK: - Parties

    private func party(_ wrapper: XMLElement?, role: String, element: String) throws(Rejection)
        -> Party
    {
        guard let party = cac(wrapper, "Party") else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no \(role) (\(element)/cac:Party).")
        }
        var endpoint: String?
        var endpointScheme: String?
        var identifiers: [String] = []
        var tradingName: String?
        // Made a string only when there is no trading name.
        var legalEntity: XMLElement?
        var legalID: String?
        var vatIDs: [String] = []
        var otherTaxIDs: [String] = []
        var country: String?
        for c in party.children {
            switch namespace(c) {
            case .cbc:
                if c.named("EndpointID") {
                    endpoint = c.trimmedText
                    endpointScheme = c.attribute("schemeID")
                }
            case .cac:
                if c.named("PartyIdentification") {
                    if let id = text(c, "ID") { identifiers.append(id) }
                } else if c.named("PartyName") {
                    if tradingName == nil { tradingName = text(c, "Name") }
                } else if c.named("PostalAddress") {
                    country = text(cac(c, "Country"), "IdentificationCode")
                } else if c.named("PartyTaxScheme") {
                    if let id = text(c, "CompanyID") {
                        let scheme = text(cac(c, "TaxScheme"), "ID")?.uppercased()
                        if scheme == "VAT" { vatIDs.append(id) } else { otherTaxIDs.append(id) }
                    }
                } else if c.named("PartyLegalEntity") {
                    legalEntity = c
                    legalID = text(c, "CompanyID")
                }
            case .other:
                continue
            }
        }
        guard let name = tradingName ?? text(legalEntity, "RegistrationName") else {
            throw Rejection(
                "MISSING-FIELD",
                "The \(role) has no name (cac:PartyName/cbc:Name or cac:PartyLegalEntity/cbc:RegistrationName)."
            )
        }
        // VAT-scheme identifiers first, so `Party.vatNumber` finds the VAT number; the list is
        // shared with `vatIDs` when there are no others, rather than built again.
        return Party(
            name: name, endpointID: endpoint, endpointScheme: endpointScheme, identifiers: identifiers,
            legalCompanyID: legalID, taxCompanyIDs: otherTaxIDs.isEmpty ? vatIDs : vatIDs + otherTaxIDs,
            vatIDs: vatIDs, countryCode: country)
    }

    // MARK: - Amounts

    /// An amount in the document currency with at most two decimals (BR-DEC-nn), as Money.
    private func amount(
        _ e: XMLElement, _ what: @autoclosure () -> String, _ element: @autoclosure () -> String,
        decimals rule: String
    )
        throws(Rejection) -> Money
    {
        try amount(e, what(), element(), decimals: rule, in: currency, currencyRule: true)
    }

    private func amount(
        _ e: XMLElement, _ what: @autoclosure () -> String, _ element: @autoclosure () -> String,
        decimals rule: String, in currency: Currency,
        currencyRule: Bool
    ) throws(Rejection) -> Money {
        if currencyRule {
            try checkCurrency(e, what(), element())
        }
        let parsed = e.withText { LexicalDecimal.parse($0) }
        switch parsed {
        case .success(let value):
            if value.fractionDigits > 2 {
                throw Rejection(
                    rule,
                    "\(what().capitalisedFirst) (\(element())) is \(shown(e)), with more than two decimals; EN 16931 allows at most two."
                )
            }
            let digits = currency == self.currency ? currencyDigits : currency.minorDigits
            guard let minor = value.minorUnits(digits: digits) else {
                if value.fractionDigits > digits {
                    throw Rejection(
                        "INVALID-VALUE",
                        "\(what().capitalisedFirst) (\(element())) is \(shown(e)), but ledgerd keeps \(currency.code) in units of \(digits == 0 ? "one" : "0." + String(repeating: "0", count: digits - 1) + "1") (ISO 4217: \(digits) decimals), so this amount cannot be booked exactly; ask the sender for an invoice in whole \(digits == 0 ? "units" : "minor units") of \(currency.code)."
                    )
                }
                throw Rejection(
                    "INVALID-VALUE",
                    "\(what().capitalisedFirst) (\(element())) is \(shown(e)), larger in size than any amount ledgerd can keep."
                )
            }
            return Money(minor: minor, currency: currency)
        case .failure(let failure):
            throw unreadable(failure, e, what(), element())
        }
    }

    /// PEPPOL-EN16931-R051: every amount is in the document currency (BT-111 aside).
    private func checkCurrency(
        _ e: XMLElement, _ what: @autoclosure () -> String, _ element: @autoclosure () -> String
    ) throws(Rejection) {
        // The usual case first, as bytes: a string made of the code and of the currency's, for
        // some 16 amounts an invoice, cost ~500 instructions an amount.
        if e.withAttribute("currencyID", { currency.isWritten(as: $0) }) == true { return }
        guard let id = e.attribute("currencyID") else {
            throw Rejection(
                "PEPPOL-EN16931-R051",
                "\(what().capitalisedFirst) (\(element())) has no currency (currencyID); every amount must state the \(noun) currency \(currency.code)."
            )
        }
        guard id == currency.code || id.uppercased() == currency.code else {
            throw Rejection(
                "PEPPOL-EN16931-R051",
                "\(what().capitalisedFirst) (\(element())) is in \(clip(id)) but the \(noun) currency is \(currency.code); every amount must be in the \(noun) currency."
            )
        }
    }

    /// A decimal that may carry more than two decimals (quantity, price, rate). EN 16931 sets
    /// no limit on their decimals (UBL-DT-01 leaves prices out): more than 18 are rounded, half
    /// away from zero, to 18. Nothing is booked from these values; the line checks that use
    /// them (PEPPOL-EN16931-R120) allow 0.02.
    private func decimal(
        _ e: XMLElement, _ what: @autoclosure () -> String, _ element: @autoclosure () -> String
    ) throws(Rejection)
        -> ExactDecimal
    {
        let parsed = e.withText { LexicalDecimal.parse($0, roundingLongFractions: true) }
        switch parsed {
        case .success(let value):
            return value.rounded
        case .failure(let failure):
            throw unreadable(failure, e, what(), element())
        }
    }

    /// Why the text of `e` is not a number ledgerd reads, for amounts and other decimals alike.
    private func unreadable(_ failure: LexicalDecimal.Failure, _ e: XMLElement, _ what: String, _ element: String)
        -> Rejection
    {
        let subject = "\(what.capitalisedFirst) (\(element))"
        switch failure {
        case .empty:
            return Rejection("INVALID-VALUE", "\(subject) is empty.")
        case .malformed:
            return Rejection("INVALID-VALUE", "\(subject) is not a number: '\(shown(e))'.")
        case .tooLong:
            return Rejection(
                "INVALID-VALUE",
                "\(subject) is \(shown(e)), a number with more digits than ledgerd reads (\(LexicalDecimal.maxDigits))."
            )
        }
    }

    /// The element's text for a message, shortened if absurdly long.
    private func shown(_ e: XMLElement) -> String {
        clip(e.trimmedText ?? "")
    }

    /// A value quoted in a message, shortened if absurdly long.
    private func clip(_ s: String) -> String {
        s.utf8.count > 40 && s.count > 40 ? String(s.prefix(40)) + "…" : s
    }

    private func required(
        _ parent: XMLElement, _ name: StaticString, _ what: @autoclosure () -> String,
        _ element: @autoclosure () -> String, decimals rule: String
    ) throws(Rejection) -> Money {
        guard let e = cbc(parent, name) else {
            throw Rejection("MISSING-FIELD", "The \(noun) has no \(what()) (\(element())).")
        }
        return try amount(e, "the \(what())", element(), decimals: rule)
    }

    private func optional(
        _ parent: XMLElement, _ name: StaticString, _ what: @autoclosure () -> String,
        _ element: @autoclosure () -> String, decimals rule: String
    ) throws(Rejection) -> Money? {
        guard let e = cbc(parent, name) else { return nil }
        return try amount(e, "the \(what())", element(), decimals: rule)
    }

    // MARK: - Totals and VAT

    private func monetaryTotals(_ t: XMLElement) throws(Rejection) -> MonetaryTotals {
        let prefix = "cac:LegalMonetaryTotal/"
        let lineExtension = try required(
            t, "LineExtensionAmount", "sum of line net amounts", prefix + "cbc:LineExtensionAmount",
            decimals: "BR-DEC-09")
        let taxExclusive = try required(
            t, "TaxExclusiveAmount", "total without VAT", prefix + "cbc:TaxExclusiveAmount",
            decimals: "BR-DEC-12")
        let taxInclusive = try required(
            t, "TaxInclusiveAmount", "total with VAT", prefix + "cbc:TaxInclusiveAmount",
            decimals: "BR-DEC-14")
        let allowances = try optional(
            t, "AllowanceTotalAmount", "sum of allowances", prefix + "cbc:AllowanceTotalAmount",
            decimals: "BR-DEC-10")
        let charges = try optional(
            t, "ChargeTotalAmount", "sum of charges", prefix + "cbc:ChargeTotalAmount",
            decimals: "BR-DEC-11")
        let prepaid = try optional(
            t, "PrepaidAmount", "prepaid amount", prefix + "cbc:PrepaidAmount", decimals: "BR-DEC-16")
        let rounding = try optional(
            t, "PayableRoundingAmount", "rounding amount", prefix + "cbc:PayableRoundingAmount",
            decimals: "BR-DEC-17")
        let payable = try required(
            t, "PayableAmount", "amount due", prefix + "cbc:PayableAmount", decimals: "BR-DEC-18")
        return MonetaryTotals(
            lineExtension: lineExtension, taxExclusive: taxExclusive, taxInclusive: taxInclusive,
            allowanceTotal: allowances, chargeTotal: charges, prepaid: prepaid, rounding: rounding,
            payable: payable)
    }

    private func taxes(_ totals: [XMLElement], taxCurrency: String?) throws(Rejection) -> (
        Money, [TaxSubtotal], AccountingTaxTotal?
    ) {
        var documentTotal: (element: XMLElement, amount: Money)?
        var accountingTotal: (value: LexicalDecimal, element: XMLElement, currency: String)?
        for t in totals {
            guard let amountElement = cbc(t, "TaxAmount") else {
                throw Rejection(
                    "MISSING-FIELD", "A VAT total (cac:TaxTotal) has no tax amount (cbc:TaxAmount).")
            }
            let id = amountElement.attribute("currencyID")
            if id == currency.code || id?.uppercased() == currency.code {
                let amount = try amount(
                    amountElement, "the VAT total", "cac:TaxTotal/cbc:TaxAmount", decimals: "BR-DEC-13")
                if let first = documentTotal {
                    throw Rejection(
                        "BR-CO-15",
                        "The \(noun) has two VAT totals in \(currency.code) (\(first.amount.amountString) and \(amount.amountString)); there must be exactly one."
                    )
                }
                documentTotal = (t, amount)
            } else if let id, let taxCurrency,
                id == taxCurrency || id.uppercased() == taxCurrency.uppercased(),
                Currency(id) != nil
            {
                // BT-111: the VAT total in the VAT accounting currency, read as EN 16931 writes
                // it (two decimals at most, BR-DEC-15) whatever that currency's minor unit:
                // 3612.45 ISK is a valid BT-111. Kept in hundredths (`AccountingTaxTotal`).
                let what = "The VAT total in the VAT accounting currency (cac:TaxTotal/cbc:TaxAmount)"
                switch amountElement.withText({ LexicalDecimal.parse($0) }) {
                case .success(let value):
                    if value.fractionDigits > 2 {
                        throw Rejection(
                            "BR-DEC-15",
                            "\(what) is \(shown(amountElement)), with more than two decimals; EN 16931 allows at most two."
                        )
                    }
                    if let first = accountingTotal {
                        throw Rejection(
                            "PEPPOL-EN16931-R054",
                            "The \(noun) has two VAT totals in its VAT accounting currency \(id) (\(shown(first.element)) and \(shown(amountElement))); there must be exactly one."
                        )
                    }
                    accountingTotal = (value, amountElement, id)
                case .failure(let failure):
                    throw unreadable(
                        failure, amountElement, "the VAT total in the VAT accounting currency",
                        "cac:TaxTotal/cbc:TaxAmount")
                }
            } else {
                let said = id.map { "is in \($0)" } ?? "has no currency (currencyID)"
                throw Rejection(
                    "PEPPOL-EN16931-R051",
                    "A VAT total (cac:TaxTotal/cbc:TaxAmount) \(said), which is neither the \(noun) currency \(currency.code) nor its VAT accounting currency (cbc:TaxCurrencyCode)."
                )
            }
        }
        guard let documentTotal else {
            throw Rejection(
                "MISSING-FIELD", "The \(noun) has no VAT total (cac:TaxTotal) in \(currency.code).")
        }
        // BR-53: a VAT accounting currency given is one the VAT total is also given in (what a
        // Norwegian VAT return of an invoice in another currency needs).
        if let taxCurrency, taxCurrency.uppercased() != currency.code, accountingTotal == nil {
            throw Rejection(
                "BR-53",
                taxCurrency.isEmpty
                    ? "The \(noun) has an empty VAT accounting currency (cbc:TaxCurrencyCode); leave it out, or give it with a VAT total in it."
                    : "The \(noun) names \(OneLine.escaped(String(taxCurrency.prefix(20)))) as its VAT accounting currency (cbc:TaxCurrencyCode) but gives no VAT total in it (a cac:TaxTotal whose cbc:TaxAmount is in that currency)."
            )
        }
        // PEPPOL-EN16931-R055: the two VAT totals have the same sign.
        if let accountingTotal,
            (accountingTotal.value.significand < 0 && documentTotal.amount.minor > 0)
                || (accountingTotal.value.significand > 0 && documentTotal.amount.minor < 0)
        {
            throw Rejection(
                "PEPPOL-EN16931-R055",
                "The VAT total is \(documentTotal.amount.amountString) \(currency.code) but the VAT total in the VAT accounting currency is \(shown(accountingTotal.element)) \(accountingTotal.currency); the two must have the same sign."
            )
        }
        var subtotals: [TaxSubtotal] = []
        for s in documentTotal.element.children where isCAC(s, "TaxSubtotal") {
            subtotals.append(try subtotal(s))
        }
        var kept: AccountingTaxTotal?
        if let accountingTotal, let currency = Currency(accountingTotal.currency) {
            // Two decimals at most (BR-DEC-15 above). Hundredths fit an Int64 unless the figure
            // is beyond any VAT total, which is then left out rather than refused: it is not
            // what is posted.
            let scale: Int128 = [100, 10, 1][accountingTotal.value.fractionDigits]
            let (hundredths, overflow) = accountingTotal.value.significand.multipliedReportingOverflow(by: scale)
            if !overflow, let value = Int64(exactly: hundredths) {
                kept = AccountingTaxTotal(currency: currency, hundredths: value)
            }
        }
        return (documentTotal.amount, subtotals, kept)
    }

    private func subtotal(_ s: XMLElement) throws(Rejection) -> TaxSubtotal {
        let prefix = "cac:TaxSubtotal/"
        guard let taxableElement = cbc(s, "TaxableAmount") else {
            throw Rejection(
                "MISSING-FIELD",
                "A VAT breakdown (cac:TaxSubtotal) has no taxable amount (cbc:TaxableAmount).")
        }
        guard let taxElement = cbc(s, "TaxAmount") else {
            throw Rejection(
                "MISSING-FIELD", "A VAT breakdown (cac:TaxSubtotal) has no tax amount (cbc:TaxAmount).")
        }
        let category = cac(s, "TaxCategory")
        guard let id = text(category, "ID") else {
            throw Rejection(
                "MISSING-FIELD",
                "A VAT breakdown (cac:TaxSubtotal) has no VAT category (cac:TaxCategory/cbc:ID).")
        }
        let taxable = try amount(
            taxableElement, "the taxable amount of VAT category \(id)", prefix + "cbc:TaxableAmount",
            decimals: "BR-DEC-19")
        let tax = try amount(
            taxElement, "the VAT amount of VAT category \(id)", prefix + "cbc:TaxAmount",
            decimals: "BR-DEC-20")
        var percent: ExactDecimal?
        if let p = cbc(category, "Percent") {
            percent = try decimal(
                p, "the rate of VAT category \(id)", prefix + "cac:TaxCategory/cbc:Percent")
        }
        let reason = text(category, "TaxExemptionReason") ?? text(category, "TaxExemptionReasonCode")
        return TaxSubtotal(
            taxable: taxable, tax: tax, category: id, percent: percent, exemptionReason: reason)
    }

    // MARK: - Allowances and charges

    private func allowanceCharge(_ e: XMLElement) throws(Rejection) -> AllowanceCharge {
        let isCharge = try chargeIndicator(e, in: "a document-level allowance or charge")
        let what = isCharge ? "document-level charge" : "document-level allowance"
        guard let amountElement = cbc(e, "Amount") else {
            throw Rejection(
                "MISSING-FIELD", "A \(what) (cac:AllowanceCharge) has no amount (cbc:Amount).")
        }
        let amount = try amount(
            amountElement, "the amount of a \(what)", "cac:AllowanceCharge/cbc:Amount",
            decimals: isCharge ? "BR-DEC-05" : "BR-DEC-01")
        try checkPercentage(e, amount: amount, "a \(what)")
        let reason = text(e, "AllowanceChargeReason") ?? text(e, "AllowanceChargeReasonCode")
        let category = cac(e, "TaxCategory")
        var percent: ExactDecimal?
        if let p = cbc(category, "Percent") {
            percent = try decimal(
                p, "the VAT rate of a \(what)", "cac:AllowanceCharge/cac:TaxCategory/cbc:Percent")
        }
        return AllowanceCharge(
            isCharge: isCharge, amount: amount, reason: reason, taxCategory: text(category, "ID"),
            taxPercent: percent)
    }

    /// PEPPOL-EN16931-R040: an allowance or charge that gives a base amount and a percentage
    /// (cbc:BaseAmount, cbc:MultiplierFactorNumeric) has the amount they make, within 0.02.
    private func checkPercentage(_ e: XMLElement, amount: Money, _ what: @autoclosure () -> String)
        throws(Rejection)
    {
        guard let baseElement = cbc(e, "BaseAmount"), let factorElement = cbc(e, "MultiplierFactorNumeric") else {
            return
        }
        try checkCurrency(baseElement, "the base amount of \(what())", "cac:AllowanceCharge/cbc:BaseAmount")
        let base = try decimal(baseElement, "the base amount of \(what())", "cac:AllowanceCharge/cbc:BaseAmount")
        let factor = try decimal(
            factorElement, "the percentage of \(what())", "cac:AllowanceCharge/cbc:MultiplierFactorNumeric")
        let tolerance = CheckedDecimal(significand: 2, scale: 2)
        guard let product = CheckedDecimal(base) * CheckedDecimal(factor),
            let difference = CheckedDecimal(amount)
                - CheckedDecimal(significand: product.significand, scale: product.scale + 2),
            let above = CheckedDecimal.compare(difference, tolerance),
            let below = CheckedDecimal.compare(difference, CheckedDecimal(significand: -2, scale: 2))
        else {
            // Beyond what the exact arithmetic holds: not checked, rather than refuse an invoice
            // that may well be right (the totals are checked all the same).
            return
        }
        if above > 0 || below < 0 {
            throw Rejection(
                "PEPPOL-EN16931-R040",
                "The amount of \(what()) is \(amount.amountString) but its base amount \(shown(baseElement)) at \(shown(factorElement)) % makes \(CheckedDecimal(significand: product.significand, scale: product.scale + 2).display()) (more than 0.02 apart)."
            )
        }
    }

    /// A discount on an item's price (cac:Price/cac:AllowanceCharge), as written; the rules
    /// check it (PEPPOL-EN16931-R044, R046).
    private func priceDiscount(_ e: XMLElement, of label: String) throws(Rejection) -> PriceDiscount {
        let isCharge = try chargeIndicator(e, in: "the price discount of \(label)")
        var amount: ExactDecimal?
        if let a = cbc(e, "Amount") {
            amount = try decimal(a, "the price discount of \(label)", "cac:Price/cac:AllowanceCharge/cbc:Amount")
        }
        var gross: ExactDecimal?
        if let g = cbc(e, "BaseAmount") {
            gross = try decimal(g, "the gross price of \(label)", "cac:Price/cac:AllowanceCharge/cbc:BaseAmount")
        }
        return PriceDiscount(isCharge: isCharge, amount: amount, grossPrice: gross)
    }

    private func chargeIndicator(_ e: XMLElement, in place: @autoclosure () -> String)
        throws(Rejection) -> Bool
    {
        guard let indicator = cbc(e, "ChargeIndicator") else {
            throw Rejection(
                "MISSING-FIELD",
                "\(place().capitalisedFirst) has no charge indicator (cbc:ChargeIndicator).")
        }
        guard let value = indicator.withText({ ValueParsing.boolean($0) }) else {
            throw Rejection(
                "INVALID-VALUE",
                "The charge indicator (cbc:ChargeIndicator) of \(place()) is '\(shown(indicator))', not true or false."
            )
        }
        return value
    }

    // MARK: - Lines

    private func line(_ e: XMLElement, position: Int) throws(Rejection) -> InvoiceLine {
        var id: String?
        var quantityElement: XMLElement?
        var lineExtensionElement: XMLElement?
        var item: XMLElement?
        var price: XMLElement?
        var allowanceCharges: [XMLElement] = []
        for c in e.children {
            switch namespace(c) {
            case .cbc:
                if c.named("ID") {
                    if id == nil { id = c.trimmedText }
                } else if c.named("InvoicedQuantity") || c.named("CreditedQuantity") {
                    if quantityElement == nil { quantityElement = c }
                } else if c.named("LineExtensionAmount") {
                    if lineExtensionElement == nil { lineExtensionElement = c }
                }
            case .cac:
                if c.named("Item") {
                    if item == nil { item = c }
                } else if c.named("Price") {
                    if price == nil { price = c }
                } else if c.named("AllowanceCharge") {
                    allowanceCharges.append(c)
                }
            case .other:
                continue
            }
        }
        let elementName = type == .invoice ? "cac:InvoiceLine" : "cac:CreditNoteLine"
        guard let id else {
            throw Rejection(
                "MISSING-FIELD",
                "\(lineNoun.capitalisedFirst) number \(position) in the file has no line ID (\(elementName)/cbc:ID)."
            )
        }
        let lineNoun = self.lineNoun
        func label() -> String { "\(lineNoun) \(id)" }
        guard let lineExtensionElement else {
            throw Rejection(
                "MISSING-FIELD", "\(label().capitalisedFirst) has no net amount (cbc:LineExtensionAmount).")
        }
        let lineExtension = try amount(
            lineExtensionElement, "the net amount of \(label())", "cbc:LineExtensionAmount",
            decimals: "BR-DEC-23")

        var quantity: ExactDecimal?
        var unitCode: String?
        if let quantityElement {
            quantity = try decimal(
                quantityElement, "the quantity of \(label())", "cbc:\(quantityElement.nameString)")
            unitCode = quantityElement.attribute("unitCode")
        }

        // The VAT category is the item's ClassifiedTaxCategory in the VAT scheme (the first one
        // when none names its scheme).
        var firstCategory: XMLElement?
        var vatCategory: XMLElement?
        var itemName: String?
        if let item {
            for c in item.children {
                if isCBC(c, "Name") {
                    if itemName == nil { itemName = c.trimmedText }
                } else if isCAC(c, "ClassifiedTaxCategory") {
                    if firstCategory == nil { firstCategory = c }
                    if vatCategory == nil, text(cac(c, "TaxScheme"), "ID")?.uppercased() == "VAT" {
                        vatCategory = c
                    }
                }
            }
        }
        let category = vatCategory ?? firstCategory
        guard let categoryID = text(category, "ID") else {
            throw Rejection(
                "MISSING-FIELD",
                "\(label().capitalisedFirst) has no VAT category (cac:Item/cac:ClassifiedTaxCategory/cbc:ID)."
            )
        }
        var percent: ExactDecimal?
        if let p = cbc(category, "Percent") {
            percent = try decimal(
                p, "the VAT rate of \(label())", "cac:ClassifiedTaxCategory/cbc:Percent")
        }

        var priceAmount: ExactDecimal?
        var baseQuantity: ExactDecimal?
        var priceDiscounts: [PriceDiscount] = []
        if let price {
            if let p = cbc(price, "PriceAmount") {
                try checkCurrency(p, "the price of \(label())", "cac:Price/cbc:PriceAmount")
                priceAmount = try decimal(p, "the price of \(label())", "cac:Price/cbc:PriceAmount")
            }
            if let b = cbc(price, "BaseQuantity") {
                baseQuantity = try decimal(
                    b, "the price base quantity of \(label())", "cac:Price/cbc:BaseQuantity")
            }
            for discount in price.children where isCAC(discount, "AllowanceCharge") {
                priceDiscounts.append(try priceDiscount(discount, of: label()))
            }
        }

        var allowances: Int64 = 0
        var charges: Int64 = 0
        for ac in allowanceCharges {
            let isCharge = try chargeIndicator(ac, in: "an allowance or charge on \(label())")
            guard let amountElement = cbc(ac, "Amount") else {
                throw Rejection(
                    "MISSING-FIELD",
                    "\(isCharge ? "A charge" : "An allowance") on \(label()) has no amount (cbc:Amount).")
            }
            let money = try amount(
                amountElement, "the amount of \(isCharge ? "a charge" : "an allowance") on \(label())",
                "cac:AllowanceCharge/cbc:Amount", decimals: isCharge ? "BR-DEC-27" : "BR-DEC-24")
            try checkPercentage(ac, amount: money, "\(isCharge ? "a charge" : "an allowance") on \(label())")
            let (sum, overflow) = (isCharge ? charges : allowances).addingReportingOverflow(money.minor)
            guard !overflow else {
                throw Rejection(
                    "INVALID-VALUE", "The allowances and charges on \(label()) are too large to add up.")
            }
            if isCharge { charges = sum } else { allowances = sum }
        }

        return InvoiceLine(
            id: id, quantity: quantity, unitCode: unitCode, lineExtension: lineExtension,
            itemName: itemName ?? "",
            taxCategory: categoryID, taxPercent: percent, priceAmount: priceAmount,
            priceBaseQuantity: baseQuantity,
            allowanceTotal: Money(minor: allowances, currency: currency),
            chargeTotal: Money(minor: charges, currency: currency), priceDiscounts: priceDiscounts)
    }

    // MARK: - Attachments

    private func attachment(_ reference: XMLElement) throws(Rejection) -> Attachment? {
        guard let object = cbc(cac(reference, "Attachment"), "EmbeddedDocumentBinaryObject") else {
            return nil
        }
        let id = text(reference, "ID") ?? ""
        let filename = object.attribute("filename")
        var length = 0
        object.forEachTextChunk { chunk in
            length += chunk.count
            return true
        }
        var decoder = Base64Decoder(expectedLength: length)
        object.forEachTextChunk { chunk in
            decoder.feed(chunk)
            return !decoder.failed
        }
        guard let bytes = decoder.finish() else {
            let name = filename.map { " (\(clip($0)))" } ?? ""
            throw Rejection(
                "INVALID-VALUE",
                "The attached document '\(clip(id))'\(name) is not valid base64 (cac:Attachment/cbc:EmbeddedDocumentBinaryObject), so it cannot be kept byte for byte."
            )
        }
        return Attachment(
            id: id, filename: filename, mimeCode: object.attribute("mimeCode"),
            description: text(reference, "DocumentDescription"), bytes: bytes)
    }
}

extension String {
    /// The string with its first character upper-cased (messages start with a capital).
    var capitalisedFirst: String {
        guard let first else { return self }
        return first.uppercased() + dropFirst()
    }
}

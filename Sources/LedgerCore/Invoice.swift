/// Invoice or credit note (UBL `Invoice` / `CreditNote`).
public enum DocumentType: String, Sendable, Codable {
    case invoice
    case creditNote = "credit_note"
}

/// Which side of the trade the company is on for one document.
public enum Direction: String, Sendable, Codable {
    /// We are the buyer: a vendor invoice, a debt to a supplier.
    case purchase
    /// We are the seller: a customer invoice, a claim on a customer.
    case sale
}

/// A trading party as an invoice names it.
public struct Party: Sendable, Hashable {
    /// `cac:PartyName/cbc:Name`, falling back to the legal registration name.
    public var name: String
    /// `cbc:EndpointID` and its `schemeID` (e.g. `0192` for Norwegian org numbers).
    public var endpointID: String?
    public var endpointScheme: String?
    /// `cac:PartyIdentification/cbc:ID` values.
    public var identifiers: [String]
    /// `cac:PartyLegalEntity/cbc:CompanyID` (the organisation number).
    public var legalCompanyID: String?
    /// `cac:PartyTaxScheme/cbc:CompanyID` values (VAT number such as `NO999999999MVA`, and
    /// in Norway also `Foretaksregisteret`), those under the VAT tax scheme first.
    public var taxCompanyIDs: [String]
    /// The ones of `taxCompanyIDs` under the VAT tax scheme (`cac:TaxScheme/cbc:ID` = `VAT`):
    /// the VAT identifiers (BT-31, BT-48) the VAT rules speak of.
    public var vatIDs: [String]
    /// `cac:PostalAddress/cac:Country/cbc:IdentificationCode`.
    public var countryCode: String?

    public init(
        name: String, endpointID: String? = nil, endpointScheme: String? = nil, identifiers: [String] = [],
        legalCompanyID: String? = nil, taxCompanyIDs: [String] = [], vatIDs: [String] = [],
        countryCode: String? = nil
    ) {
        self.name = name
        self.endpointID = endpointID
        self.endpointScheme = endpointScheme
        self.identifiers = identifiers
        self.legalCompanyID = legalCompanyID
        self.taxCompanyIDs = taxCompanyIDs
        self.vatIDs = vatIDs
        self.countryCode = countryCode
    }

    /// Every identifier this party can be recognised by, each once: `scheme:endpoint`, the
    /// bare endpoint, party identifications, the legal company ID and the tax company IDs
    /// that are numbers (`taxIdentifiers`).
    public var allIdentifiers: [String] {
        var result: [String] = []
        if let endpointID {
            if let endpointScheme { result.append("\(endpointScheme):\(endpointID)") }
            result.append(endpointID)
        }
        result += identifiers
        if let legalCompanyID { result.append(legalCompanyID) }
        result += taxCompanyIDs.filter(Self.isNumber)
        var seen = Set<String>()
        return result.filter { !$0.isEmpty && seen.insert($0).inserted }
    }

    /// Whether a tax company ID is a number that identifies the party. Norwegian sellers
    /// write the word "Foretaksregisteret" there (registered in the Register of Business
    /// Enterprises), Swedish ones "Godkänd för F-skatt": statements every such company
    /// makes, which must not make an invoice ours.
    public static func isNumber(_ taxCompanyID: String) -> Bool {
        taxCompanyID.utf8.contains { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// The VAT number, when one of the tax company IDs looks like one (`NO…MVA`, `SE…01`).
    public var vatNumber: String? {
        taxCompanyIDs.first {
            $0.count > 2 && $0.prefix(2).allSatisfy(\.isLetter) && $0.dropFirst(2).contains(where: \.isNumber)
        }
    }

    /// A stable key for the party in the sub-ledgers: the organisation number when known,
    /// else the endpoint, else the VAT number, else the name. Identifiers are compared
    /// without white space and case ("NO 923 456 783" is "NO923456783").
    ///
    /// The organisation number is the legal registration's (`PartyLegalEntity/CompanyID`) or,
    /// without one, the one inside a Norwegian VAT number (`NO923456783MVA`): one supplier
    /// writing its org number on one invoice and only its VAT number and a GLN endpoint on
    /// the next is one supplier, and a document number it uses twice is caught as the
    /// duplicate it is (DESIGN §2: duplicates are keyed by the supplier's org number).
    public var key: String {
        if let legalCompanyID {
            let canonical = PartyIdentifier.canonical(legalCompanyID)
            if !canonical.isEmpty { return NorwegianOrgNumber.inVATNumber(canonical) ?? canonical }
        }
        for vat in taxCompanyIDs {
            if let number = NorwegianOrgNumber.inVATNumber(vat) { return number }
        }
        if let endpointID {
            let canonical = PartyIdentifier.canonical(endpointID)
            if !canonical.isEmpty { return canonical }
        }
        if let vatNumber { return PartyIdentifier.canonical(vatNumber) }
        return name
    }
}

/// One invoice line (BG-25).
public struct InvoiceLine: Sendable, Hashable, CustomReflectable {
    // Held once and shared by copies (`Shared`): the checks go through an invoice's lines
    // several times, and each pass copied each line's strings.
    @usableFromInline
    struct Fields: Sendable, Hashable {
        @usableFromInline var id: String
        @usableFromInline var quantity: ExactDecimal?
        @usableFromInline var unitCode: String?
        @usableFromInline var lineExtension: Money
        @usableFromInline var itemName: String
        @usableFromInline var taxCategory: String
        @usableFromInline var taxPercent: ExactDecimal?
        @usableFromInline var priceAmount: ExactDecimal?
        @usableFromInline var priceBaseQuantity: ExactDecimal?
        @usableFromInline var allowanceTotal: Money
        @usableFromInline var chargeTotal: Money
        @usableFromInline var priceDiscounts: [PriceDiscount]
    }

    @usableFromInline var shared: Shared<Fields>

    /// The fields; a change gives this value fields of its own.
    @usableFromInline var fields: Fields {
        _read { yield shared.value }
        _modify {
            var fields = shared.value
            defer { shared = Shared(fields) }
            yield &fields
        }
    }

    @inlinable public var id: String {
        _read { yield shared.value.id }
        _modify { yield &fields.id }
    }
    @inlinable public var quantity: ExactDecimal? {
        _read { yield shared.value.quantity }
        _modify { yield &fields.quantity }
    }
    @inlinable public var unitCode: String? {
        _read { yield shared.value.unitCode }
        _modify { yield &fields.unitCode }
    }
    @inlinable public var lineExtension: Money {
        _read { yield shared.value.lineExtension }
        _modify { yield &fields.lineExtension }
    }
    @inlinable public var itemName: String {
        _read { yield shared.value.itemName }
        _modify { yield &fields.itemName }
    }
    @inlinable public var taxCategory: String {
        _read { yield shared.value.taxCategory }
        _modify { yield &fields.taxCategory }
    }
    @inlinable public var taxPercent: ExactDecimal? {
        _read { yield shared.value.taxPercent }
        _modify { yield &fields.taxPercent }
    }
    /// Net unit price (BT-146) and its base quantity (BT-149).
    @inlinable public var priceAmount: ExactDecimal? {
        _read { yield shared.value.priceAmount }
        _modify { yield &fields.priceAmount }
    }
    @inlinable public var priceBaseQuantity: ExactDecimal? {
        _read { yield shared.value.priceBaseQuantity }
        _modify { yield &fields.priceBaseQuantity }
    }
    /// Line-level allowances and charges (BG-27/BG-28), as positive amounts.
    @inlinable public var allowanceTotal: Money {
        _read { yield shared.value.allowanceTotal }
        _modify { yield &fields.allowanceTotal }
    }
    @inlinable public var chargeTotal: Money {
        _read { yield shared.value.chargeTotal }
        _modify { yield &fields.chargeTotal }
    }
    /// What the item price says of its discount (`cac:Price/cac:AllowanceCharge`).
    @inlinable public var priceDiscounts: [PriceDiscount] {
        _read { yield shared.value.priceDiscounts }
        _modify { yield &fields.priceDiscounts }
    }

    public init(
        id: String, quantity: ExactDecimal?, unitCode: String?, lineExtension: Money, itemName: String,
        taxCategory: String, taxPercent: ExactDecimal?, priceAmount: ExactDecimal? = nil,
        priceBaseQuantity: ExactDecimal? = nil, allowanceTotal: Money? = nil, chargeTotal: Money? = nil,
        priceDiscounts: [PriceDiscount] = []
    ) {
        shared = Shared(
            Fields(
                id: id,
                quantity: quantity,
                unitCode: unitCode,
                lineExtension: lineExtension,
                itemName: itemName,
                taxCategory: taxCategory,
                taxPercent: taxPercent,
                priceAmount: priceAmount,
                priceBaseQuantity: priceBaseQuantity,
                allowanceTotal: allowanceTotal ?? .zero(lineExtension.currency),
                chargeTotal: chargeTotal ?? .zero(lineExtension.currency),
                priceDiscounts: priceDiscounts))
    }

    public static func == (a: Self, b: Self) -> Bool { a.shared === b.shared || a.shared.value == b.shared.value }

    public func hash(into hasher: inout Hasher) { shared.value.hash(into: &hasher) }

    /// Printed (in test failures, in the debugger) with its fields, not its storage.
    public var customMirror: Mirror {
        Mirror(self, children: Mirror(reflecting: shared.value).children, displayStyle: .struct)
    }
}

/// A discount on an item's price (BT-147, with the gross price BT-148): checked against the
/// net price, never booked (the line's net amount already holds it).
public struct PriceDiscount: Sendable, Hashable {
    /// Set when the file calls it a charge, which a price may not carry.
    public var isCharge: Bool
    public var amount: ExactDecimal?
    public var grossPrice: ExactDecimal?

    public init(isCharge: Bool, amount: ExactDecimal?, grossPrice: ExactDecimal?) {
        self.isCharge = isCharge
        self.amount = amount
        self.grossPrice = grossPrice
    }
}

/// VAT breakdown per category and rate (BG-23).
public struct TaxSubtotal: Sendable, Hashable {
    public var taxable: Money
    public var tax: Money
    public var category: String
    public var percent: ExactDecimal?
    public var exemptionReason: String?

    public init(taxable: Money, tax: Money, category: String, percent: ExactDecimal?, exemptionReason: String? = nil) {
        self.taxable = taxable
        self.tax = tax
        self.category = category
        self.percent = percent
        self.exemptionReason = exemptionReason
    }
}

/// The VAT total in the VAT accounting currency (BT-111, with BT-6): what the VAT return
/// needs of an invoice in another currency. EN 16931 writes it with two decimals at most
/// whatever that currency's minor unit, so it is kept in hundredths of the currency's unit
/// (for NOK, øre).
public struct AccountingTaxTotal: Sendable, Hashable {
    public var currency: Currency
    public var hundredths: Int64

    public init(currency: Currency, hundredths: Int64) {
        self.currency = currency
        self.hundredths = hundredths
    }
}

/// Document totals (BG-22).
public struct MonetaryTotals: Sendable, Hashable {
    public var lineExtension: Money
    public var taxExclusive: Money
    public var taxInclusive: Money
    /// Zero when the document does not state it; `allowanceTotalStated` tells which.
    public var allowanceTotal: Money { didSet { allowanceTotalStated = true } }
    /// Zero when the document does not state it; `chargeTotalStated` tells which.
    public var chargeTotal: Money { didSet { chargeTotalStated = true } }
    public var prepaid: Money
    public var rounding: Money
    public var payable: Money
    /// Whether the document gives the sum of allowances (BT-107) and of charges (BT-108), so
    /// a rejection can say "states no total" rather than "says 0.00".
    public private(set) var allowanceTotalStated: Bool
    public private(set) var chargeTotalStated: Bool

    public init(
        lineExtension: Money, taxExclusive: Money, taxInclusive: Money, allowanceTotal: Money? = nil,
        chargeTotal: Money? = nil, prepaid: Money? = nil, rounding: Money? = nil, payable: Money
    ) {
        let zero = Money.zero(lineExtension.currency)
        self.lineExtension = lineExtension
        self.taxExclusive = taxExclusive
        self.taxInclusive = taxInclusive
        self.allowanceTotal = allowanceTotal ?? zero
        self.chargeTotal = chargeTotal ?? zero
        allowanceTotalStated = allowanceTotal != nil
        chargeTotalStated = chargeTotal != nil
        self.prepaid = prepaid ?? zero
        self.rounding = rounding ?? zero
        self.payable = payable
    }
}

/// A document-level allowance (discount) or charge (BG-20/BG-21).
public struct AllowanceCharge: Sendable, Hashable {
    public var isCharge: Bool
    public var amount: Money
    public var reason: String?
    public var taxCategory: String?
    public var taxPercent: ExactDecimal?

    public init(isCharge: Bool, amount: Money, reason: String?, taxCategory: String?, taxPercent: ExactDecimal?) {
        self.isCharge = isCharge
        self.amount = amount
        self.reason = reason
        self.taxCategory = taxCategory
        self.taxPercent = taxPercent
    }
}

/// A file embedded in the invoice (`AdditionalDocumentReference`), bytes as decoded.
public struct Attachment: Sendable, Hashable {
    public var id: String
    public var filename: String?
    public var mimeCode: String?
    public var description: String?
    public var bytes: [UInt8]

    public init(id: String, filename: String?, mimeCode: String?, description: String?, bytes: [UInt8]) {
        self.id = id
        self.filename = filename
        self.mimeCode = mimeCode
        self.description = description
        self.bytes = bytes
    }
}

/// How the invoice asks to be paid (BG-16).
public struct PaymentInstructions: Sendable, Hashable {
    public var meansCode: String?
    /// KID or other payment reference (BT-83).
    public var paymentID: String?
    /// Payee account (BT-84).
    public var account: String?

    public init(meansCode: String?, paymentID: String?, account: String?) {
        self.meansCode = meansCode
        self.paymentID = paymentID
        self.account = account
    }
}

/// An invoice or credit note as read from an e-invoice, in its own currency.
public struct InvoiceDocument: Sendable, Hashable, CustomReflectable {
    // The fields are held once, in `Shared`, and shared by the copies of an invoice until one
    // is changed: copying them one by one cost ~30 reference counts a copy, and a posting
    // copies its invoice some five times (pipeline, report, writer).
    @usableFromInline
    struct Fields: Sendable, Hashable {
        @usableFromInline var type: DocumentType
        @usableFromInline var typeCode: String
        @usableFromInline var customizationID: String
        @usableFromInline var profileID: String?
        @usableFromInline var number: String
        @usableFromInline var issueDate: Day
        @usableFromInline var dueDate: Day?
        @usableFromInline var currency: Currency
        @usableFromInline var seller: Party
        @usableFromInline var buyer: Party
        @usableFromInline var lines: [InvoiceLine]
        @usableFromInline var allowancesCharges: [AllowanceCharge]
        @usableFromInline var taxTotal: Money
        @usableFromInline var taxSubtotals: [TaxSubtotal]
        @usableFromInline var accountingTaxTotal: AccountingTaxTotal?
        @usableFromInline var totals: MonetaryTotals
        @usableFromInline var payment: PaymentInstructions?
        @usableFromInline var billingReferences: [String]
        @usableFromInline var attachments: [Attachment]
        @usableFromInline var taxRepresentativeVATIDs: [String]
    }

    @usableFromInline var shared: Shared<Fields>

    /// The fields; a change gives this value fields of its own.
    @usableFromInline var fields: Fields {
        _read { yield shared.value }
        _modify {
            var fields = shared.value
            defer { shared = Shared(fields) }
            yield &fields
        }
    }

    @inlinable public var type: DocumentType {
        _read { yield shared.value.type }
        _modify { yield &fields.type }
    }
    @inlinable public var typeCode: String {
        _read { yield shared.value.typeCode }
        _modify { yield &fields.typeCode }
    }
    @inlinable public var customizationID: String {
        _read { yield shared.value.customizationID }
        _modify { yield &fields.customizationID }
    }
    @inlinable public var profileID: String? {
        _read { yield shared.value.profileID }
        _modify { yield &fields.profileID }
    }
    @inlinable public var number: String {
        _read { yield shared.value.number }
        _modify { yield &fields.number }
    }
    @inlinable public var issueDate: Day {
        _read { yield shared.value.issueDate }
        _modify { yield &fields.issueDate }
    }
    @inlinable public var dueDate: Day? {
        _read { yield shared.value.dueDate }
        _modify { yield &fields.dueDate }
    }
    @inlinable public var currency: Currency {
        _read { yield shared.value.currency }
        _modify { yield &fields.currency }
    }
    @inlinable public var seller: Party {
        _read { yield shared.value.seller }
        _modify { yield &fields.seller }
    }
    @inlinable public var buyer: Party {
        _read { yield shared.value.buyer }
        _modify { yield &fields.buyer }
    }
    @inlinable public var lines: [InvoiceLine] {
        _read { yield shared.value.lines }
        _modify { yield &fields.lines }
    }
    @inlinable public var allowancesCharges: [AllowanceCharge] {
        _read { yield shared.value.allowancesCharges }
        _modify { yield &fields.allowancesCharges }
    }
    /// TaxTotal/TaxAmount in the document currency (BT-110).
    @inlinable public var taxTotal: Money {
        _read { yield shared.value.taxTotal }
        _modify { yield &fields.taxTotal }
    }
    @inlinable public var taxSubtotals: [TaxSubtotal] {
        _read { yield shared.value.taxSubtotals }
        _modify { yield &fields.taxSubtotals }
    }
    /// BT-111, when the document gives its VAT in a VAT accounting currency of its own.
    @inlinable public var accountingTaxTotal: AccountingTaxTotal? {
        _read { yield shared.value.accountingTaxTotal }
        _modify { yield &fields.accountingTaxTotal }
    }
    @inlinable public var totals: MonetaryTotals {
        _read { yield shared.value.totals }
        _modify { yield &fields.totals }
    }
    @inlinable public var payment: PaymentInstructions? {
        _read { yield shared.value.payment }
        _modify { yield &fields.payment }
    }
    @inlinable public var billingReferences: [String] {
        _read { yield shared.value.billingReferences }
        _modify { yield &fields.billingReferences }
    }
    @inlinable public var attachments: [Attachment] {
        _read { yield shared.value.attachments }
        _modify { yield &fields.attachments }
    }
    /// The VAT identifiers of the seller's tax representative (BT-63), who accounts for the
    /// VAT of a seller established elsewhere.
    @inlinable public var taxRepresentativeVATIDs: [String] {
        _read { yield shared.value.taxRepresentativeVATIDs }
        _modify { yield &fields.taxRepresentativeVATIDs }
    }

    public init(
        type: DocumentType, typeCode: String, customizationID: String, profileID: String?, number: String,
        issueDate: Day, dueDate: Day?, currency: Currency, seller: Party, buyer: Party, lines: [InvoiceLine],
        allowancesCharges: [AllowanceCharge] = [], taxTotal: Money, taxSubtotals: [TaxSubtotal],
        accountingTaxTotal: AccountingTaxTotal? = nil, totals: MonetaryTotals, payment: PaymentInstructions? = nil,
        billingReferences: [String] = [], attachments: [Attachment] = [], taxRepresentativeVATIDs: [String] = []
    ) {
        shared = Shared(
            Fields(
                type: type,
                typeCode: typeCode,
                customizationID: customizationID,
                profileID: profileID,
                number: number,
                issueDate: issueDate,
                dueDate: dueDate,
                currency: currency,
                seller: seller,
                buyer: buyer,
                lines: lines,
                allowancesCharges: allowancesCharges,
                taxTotal: taxTotal,
                taxSubtotals: taxSubtotals,
                accountingTaxTotal: accountingTaxTotal,
                totals: totals,
                payment: payment,
                billingReferences: billingReferences,
                attachments: attachments,
                taxRepresentativeVATIDs: taxRepresentativeVATIDs))
    }

    public static func == (a: Self, b: Self) -> Bool { a.shared === b.shared || a.shared.value == b.shared.value }

    public func hash(into hasher: inout Hasher) { shared.value.hash(into: &hasher) }

    /// Printed (in test failures, in the debugger) with its fields, not its storage.
    public var customMirror: Mirror {
        Mirror(self, children: Mirror(reflecting: shared.value).children, displayStyle: .struct)
    }

    /// Whether the VAT the invoice charges is Norwegian VAT: the seller is in Norway, or
    /// charges it under a Norwegian VAT number (`NO…MVA`) of its own or of its tax
    /// representative. A seller that names no country is taken to be Norwegian (EN 16931
    /// requires one; nothing here guesses otherwise). VAT charged abroad is not input VAT a
    /// Norwegian company may deduct.
    public var chargesNorwegianVAT: Bool {
        // Codes in capitals, as EN 16931 writes them (BR-CL-14, BR-CO-09) and NO-R-001 reads them.
        guard let country = seller.countryCode, country != "NO" else { return true }
        return (seller.vatIDs + taxRepresentativeVATIDs).contains { $0.hasPrefix("NO") }
    }

    /// The trading partner from our point of view.
    public func counterparty(_ direction: Direction) -> Party {
        direction == .purchase ? seller : buyer
    }

    /// The trading partner's name, read in place: `counterparty(_:)` copies the whole party,
    /// each of its strings counted again, for every posting.
    public func counterpartyName(_ direction: Direction) -> String {
        direction == .purchase ? seller.name : buyer.name
    }

    /// The trading partner's `Party.key`, read in place (see `counterpartyName`).
    public func counterpartyKey(_ direction: Direction) -> String {
        direction == .purchase ? seller.key : buyer.key
    }
}

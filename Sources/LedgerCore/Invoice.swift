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
public struct InvoiceLine: Sendable, Hashable {
    public var id: String
    public var quantity: ExactDecimal?
    public var unitCode: String?
    public var lineExtension: Money
    public var itemName: String
    public var taxCategory: String
    public var taxPercent: ExactDecimal?
    /// Net unit price (BT-146) and its base quantity (BT-149).
    public var priceAmount: ExactDecimal?
    public var priceBaseQuantity: ExactDecimal?
    /// Line-level allowances and charges (BG-27/BG-28), as positive amounts.
    public var allowanceTotal: Money
    public var chargeTotal: Money
    /// What the item price says of its discount (`cac:Price/cac:AllowanceCharge`).
    public var priceDiscounts: [PriceDiscount]

    public init(
        id: String, quantity: ExactDecimal?, unitCode: String?, lineExtension: Money, itemName: String,
        taxCategory: String, taxPercent: ExactDecimal?, priceAmount: ExactDecimal? = nil,
        priceBaseQuantity: ExactDecimal? = nil, allowanceTotal: Money? = nil, chargeTotal: Money? = nil,
        priceDiscounts: [PriceDiscount] = []
    ) {
        self.id = id
        self.quantity = quantity
        self.unitCode = unitCode
        self.lineExtension = lineExtension
        self.itemName = itemName
        self.taxCategory = taxCategory
        self.taxPercent = taxPercent
        self.priceAmount = priceAmount
        self.priceBaseQuantity = priceBaseQuantity
        self.allowanceTotal = allowanceTotal ?? .zero(lineExtension.currency)
        self.chargeTotal = chargeTotal ?? .zero(lineExtension.currency)
        self.priceDiscounts = priceDiscounts
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
public struct InvoiceDocument: Sendable, Hashable {
    public var type: DocumentType
    public var typeCode: String
    public var customizationID: String
    public var profileID: String?
    public var number: String
    public var issueDate: Day
    public var dueDate: Day?
    public var currency: Currency
    public var seller: Party
    public var buyer: Party
    public var lines: [InvoiceLine]
    public var allowancesCharges: [AllowanceCharge]
    /// TaxTotal/TaxAmount in the document currency (BT-110).
    public var taxTotal: Money
    public var taxSubtotals: [TaxSubtotal]
    /// BT-111, when the document gives its VAT in a VAT accounting currency of its own.
    public var accountingTaxTotal: AccountingTaxTotal?
    public var totals: MonetaryTotals
    public var payment: PaymentInstructions?
    public var billingReferences: [String]
    public var attachments: [Attachment]
    /// The VAT identifiers of the seller's tax representative (BT-63), who accounts for the
    /// VAT of a seller established elsewhere.
    public var taxRepresentativeVATIDs: [String]

    public init(
        type: DocumentType, typeCode: String, customizationID: String, profileID: String?, number: String,
        issueDate: Day, dueDate: Day?, currency: Currency, seller: Party, buyer: Party, lines: [InvoiceLine],
        allowancesCharges: [AllowanceCharge] = [], taxTotal: Money, taxSubtotals: [TaxSubtotal],
        accountingTaxTotal: AccountingTaxTotal? = nil, totals: MonetaryTotals, payment: PaymentInstructions? = nil,
        billingReferences: [String] = [], attachments: [Attachment] = [], taxRepresentativeVATIDs: [String] = []
    ) {
        self.type = type
        self.typeCode = typeCode
        self.customizationID = customizationID
        self.profileID = profileID
        self.number = number
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.currency = currency
        self.seller = seller
        self.buyer = buyer
        self.lines = lines
        self.allowancesCharges = allowancesCharges
        self.taxTotal = taxTotal
        self.taxSubtotals = taxSubtotals
        self.accountingTaxTotal = accountingTaxTotal
        self.totals = totals
        self.payment = payment
        self.billingReferences = billingReferences
        self.attachments = attachments
        self.taxRepresentativeVATIDs = taxRepresentativeVATIDs
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
}

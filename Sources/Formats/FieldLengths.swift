import LedgerCore

/// How long a value read from an invoice may be before it is refused.
///
/// Nothing in EN 16931 bounds them, but each one is kept in the books and shown on the
/// status page and in error files: a five-megabyte invoice number would be posted, listed
/// and logged as it stands. Identifiers (numbers, codes, references, accounts) are short in
/// every real invoice; names and reasons are sentences at most.
enum FieldLengths {
    static let identifierLimit = 200
    static let textLimit = 4_000

    /// Refuses `document` naming the first value longer than its limit.
    static func check(_ document: InvoiceDocument) throws(Rejection) {
        let noun = document.type == .creditNote ? "credit note" : "invoice"
        try identifier(document.number, "the \(noun) number", "cbc:ID")
        try identifier(document.typeCode, "the type code", "cbc:InvoiceTypeCode")
        try identifier(document.customizationID, "the specification identifier", "cbc:CustomizationID")
        try identifier(document.profileID, "the profile identifier", "cbc:ProfileID")
        // Each party read where it is: a list of the two copied each, a dozen strings counted.
        try check(document.seller, "seller")
        try check(document.buyer, "buyer")
        for line in document.lines {
            // The messages capture the line's number alone: capturing the line copied it whole.
            let number = line.id
            try identifier(number, "a line's number", "cac:InvoiceLine/cbc:ID")
            try identifier(line.unitCode, "the unit of line \(number.prefix(20))", "@unitCode")
            try text(line.itemName, "the item name of line \(number.prefix(20))", "cac:Item/cbc:Name")
            try identifier(
                line.taxCategory, "the VAT category of line \(number.prefix(20))", "cac:ClassifiedTaxCategory/cbc:ID")
        }
        for subtotal in document.taxSubtotals {
            try identifier(subtotal.category, "a VAT category", "cac:TaxSubtotal/cac:TaxCategory/cbc:ID")
            try text(subtotal.exemptionReason, "a VAT exemption reason", "cbc:TaxExemptionReason")
        }
        for item in document.allowancesCharges {
            try text(item.reason, "an allowance or charge reason", "cac:AllowanceCharge/cbc:AllowanceChargeReason")
            try identifier(item.taxCategory, "an allowance or charge's VAT category", "cac:TaxCategory/cbc:ID")
        }
        if let payment = document.payment {
            try identifier(payment.meansCode, "the payment means code", "cbc:PaymentMeansCode")
            try identifier(payment.paymentID, "the payment reference (KID)", "cbc:PaymentID")
            try identifier(payment.account, "the payee account", "cac:PayeeFinancialAccount/cbc:ID")
        }
        for reference in document.billingReferences {
            try identifier(reference, "a billing reference", "cac:BillingReference")
        }
        for attachment in document.attachments {
            try identifier(attachment.id, "an attachment's identifier", "cac:AdditionalDocumentReference/cbc:ID")
            try text(attachment.filename, "an attachment's file name", "@filename")
            try identifier(attachment.mimeCode, "an attachment's type", "@mimeCode")
            try text(attachment.description, "an attachment's description", "cbc:DocumentDescription")
        }
    }

    private static func check(_ party: Party, _ role: String) throws(Rejection) {
        try text(party.name, "the \(role)'s name", "cac:PartyName/cbc:Name")
        try identifier(party.endpointID, "the \(role)'s electronic address", "cbc:EndpointID")
        try identifier(party.endpointScheme, "the \(role)'s address scheme", "cbc:EndpointID/@schemeID")
        for id in party.identifiers {
            try identifier(id, "an identifier of the \(role)", "cac:PartyIdentification/cbc:ID")
        }
        try identifier(
            party.legalCompanyID, "the \(role)'s organisation number", "cac:PartyLegalEntity/cbc:CompanyID")
        for id in party.taxCompanyIDs {
            try identifier(id, "the \(role)'s VAT identifier", "cac:PartyTaxScheme/cbc:CompanyID")
        }
        try identifier(party.countryCode, "the \(role)'s country", "cac:Country/cbc:IdentificationCode")
    }

    private static func identifier(_ value: String?, _ what: @autoclosure () -> String, _ element: String)
        throws(Rejection)
    {
        try check(value, limit: identifierLimit, kind: "identifiers and codes", what(), element)
    }

    private static func text(_ value: String?, _ what: @autoclosure () -> String, _ element: String)
        throws(Rejection)
    {
        try check(value, limit: textLimit, kind: "names and descriptions", what(), element)
    }

    private static func check(
        _ value: String?, limit: Int, kind: String, _ what: @autoclosure () -> String, _ element: String
    ) throws(Rejection) {
        // UTF-8 length first (constant time); characters are counted only for the message.
        guard let value, value.utf8.count > limit, value.count > limit else { return }
        throw Rejection(
            "INVALID-VALUE",
            "\(what().capitalisedFirst) (\(element)) is \(value.count.formatted) characters long; ledgerd keeps \(kind) of up to \(limit.formatted)."
        )
    }
}

extension Int {
    /// 5242880 → "5,242,880".
    fileprivate var formatted: String { DigitGrouping.group(String(self), separator: ",") }
}

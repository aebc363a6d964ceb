import LedgerCore

/// How long a value read from an invoice may be before it is refused.
///
/// Nothing in EN 16931 bounds them, but each one is kept in the books and shown on the
/// status page and in error files: a five-megabyte invoice number would be posted, listed
/// and logged as it stands. Identifiers (numbers, codes, references, accounts) are short in
/// every real invoice; names and reasons are sentences at most.
enum FieldLengths {
    static let identifier = 200
    static let text = 4_000

    /// Refuses `document` naming the first value longer than its limit.
    static func check(_ document: InvoiceDocument) throws(Rejection) {
        var checker = Checker()
        let noun = document.type == .creditNote ? "credit note" : "invoice"
        checker.identifier(document.number, "the \(noun) number", "cbc:ID")
        checker.identifier(document.typeCode, "the type code", "cbc:InvoiceTypeCode")
        checker.identifier(document.customizationID, "the specification identifier", "cbc:CustomizationID")
        checker.identifier(document.profileID, "the profile identifier", "cbc:ProfileID")
        for (party, role) in [(document.seller, "seller"), (document.buyer, "buyer")] {
            checker.text(party.name, "the \(role)'s name", "cac:PartyName/cbc:Name")
            checker.identifier(party.endpointID, "the \(role)'s electronic address", "cbc:EndpointID")
            checker.identifier(party.endpointScheme, "the \(role)'s address scheme", "cbc:EndpointID/@schemeID")
            for id in party.identifiers {
                checker.identifier(id, "an identifier of the \(role)", "cac:PartyIdentification/cbc:ID")
            }
            checker.identifier(
                party.legalCompanyID, "the \(role)'s organisation number", "cac:PartyLegalEntity/cbc:CompanyID")
            for id in party.taxCompanyIDs {
                checker.identifier(id, "the \(role)'s VAT identifier", "cac:PartyTaxScheme/cbc:CompanyID")
            }
            checker.identifier(party.countryCode, "the \(role)'s country", "cac:Country/cbc:IdentificationCode")
        }
        for line in document.lines {
            checker.identifier(line.id, "a line's number", "cac:InvoiceLine/cbc:ID")
            checker.identifier(line.unitCode, "the unit of line \(line.id.prefix(20))", "@unitCode")
            checker.text(line.itemName, "the item name of line \(line.id.prefix(20))", "cac:Item/cbc:Name")
            checker.identifier(
                line.taxCategory, "the VAT category of line \(line.id.prefix(20))", "cac:ClassifiedTaxCategory/cbc:ID")
        }
        for subtotal in document.taxSubtotals {
            checker.identifier(subtotal.category, "a VAT category", "cac:TaxSubtotal/cac:TaxCategory/cbc:ID")
            checker.text(subtotal.exemptionReason, "a VAT exemption reason", "cbc:TaxExemptionReason")
        }
        for item in document.allowancesCharges {
            checker.text(item.reason, "an allowance or charge reason", "cac:AllowanceCharge/cbc:AllowanceChargeReason")
            checker.identifier(item.taxCategory, "an allowance or charge's VAT category", "cac:TaxCategory/cbc:ID")
        }
        if let payment = document.payment {
            checker.identifier(payment.meansCode, "the payment means code", "cbc:PaymentMeansCode")
            checker.identifier(payment.paymentID, "the payment reference (KID)", "cbc:PaymentID")
            checker.identifier(payment.account, "the payee account", "cac:PayeeFinancialAccount/cbc:ID")
        }
        for reference in document.billingReferences {
            checker.identifier(reference, "a billing reference", "cac:BillingReference")
        }
        for attachment in document.attachments {
            checker.identifier(attachment.id, "an attachment's identifier", "cac:AdditionalDocumentReference/cbc:ID")
            checker.text(attachment.filename, "an attachment's file name", "@filename")
            checker.identifier(attachment.mimeCode, "an attachment's type", "@mimeCode")
            checker.text(attachment.description, "an attachment's description", "cbc:DocumentDescription")
        }
        if let refusal = checker.refusal { throw refusal }
    }

    private struct Checker {
        var refusal: Rejection?

        mutating func identifier(_ value: String?, _ what: @autoclosure () -> String, _ element: String) {
            check(value, limit: FieldLengths.identifier, kind: "identifiers and codes", what(), element)
        }

        mutating func text(_ value: String?, _ what: @autoclosure () -> String, _ element: String) {
            check(value, limit: FieldLengths.text, kind: "names and descriptions", what(), element)
        }

        private mutating func check(
            _ value: String?, limit: Int, kind: String, _ what: @autoclosure () -> String, _ element: String
        ) {
            // UTF-8 length first (constant time); characters are counted only for the message.
            guard refusal == nil, let value, value.utf8.count > limit, value.count > limit else { return }
            let length = value.count.formatted
            refusal = Rejection(
                "INVALID-VALUE",
                "\(what().capitalisedFirst) (\(element)) is \(length) characters long; ledgerd keeps \(kind) of up to \(limit.formatted)."
            )
        }
    }
}

extension Int {
    /// 5242880 → "5,242,880".
    fileprivate var formatted: String {
        let digits = Array(String(self))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out.append(",") }
            out.append(digit)
        }
        return out
    }
}

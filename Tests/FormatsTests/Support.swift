import Formats
import Foundation
import LedgerCore
import Testing

/// Fixture files, found beside this source file (the test target also copies them as
/// resources; reading them by path keeps the tests independent of bundle layout).
enum Fixture {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ehf")

    static func path(_ folder: String, _ name: String) -> String {
        root.appendingPathComponent(folder).appendingPathComponent(name).path
    }

    static func bytes(_ folder: String, _ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(folder, name))))
    }

    static func text(_ folder: String, _ name: String) throws -> String {
        try String(contentsOfFile: path(folder, name), encoding: .utf8)
    }

    static func names(_ folder: String) -> [String] {
        let all =
            (try? FileManager.default.contentsOfDirectory(
                atPath: root.appendingPathComponent(folder).path)) ?? []
        return all.filter { $0.hasSuffix(".xml") }.sorted()
    }
}

/// Parses, returning the rejection instead of throwing (for `#expect` on codes).
func parseResult(_ bytes: [UInt8]) -> Result<InvoiceDocument, Rejection> {
    do throws(Rejection) {
        return .success(try EHF.parse(bytes))
    } catch {
        return .failure(error)
    }
}

func parseResult(_ text: String) -> Result<InvoiceDocument, Rejection> {
    parseResult(Array(text.utf8))
}

extension Result where Failure == Rejection {
    var rejection: Rejection? {
        if case .failure(let r) = self { return r }
        return nil
    }

    var document: Success? {
        if case .success(let d) = self { return d }
        return nil
    }
}

/// The codes `validate` reports.
func violationCodes(_ invoice: InvoiceDocument) -> [String] {
    EHF.validate(invoice).map(\.code)
}

/// Seconds taken by `body` (for the "fast" bounds of hostile input).
func seconds(_ body: () -> Void) -> Double {
    let start = ContinuousClock.now
    body()
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
}

/// A small, valid EHF 3 invoice (or credit note) to vary in tests: two lines (2 × 500.00 at
/// 25 %, 1 × 200.00 at 15 %), VAT 280.00, amount due 1480.00. Every block can be replaced.
struct Template {
    var root = "Invoice"
    var currency = "NOK"
    var customization: String? =
        "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
    var typeCode: String? = nil
    var number: String? = "INV-1"
    var issueDate: String? = "2026-03-01"
    var dueDate: String? = "2026-03-31"
    /// Extra header elements after DocumentCurrencyCode (e.g. cbc:TaxCurrencyCode).
    var header = ""
    /// Blocks between the header and the parties (references, attachments).
    var references = ""
    var supplier = Template.supplier(vat: "NO811143758MVA")
    var customer = Template.customer
    var paymentMeans = """
          <cac:PaymentMeans><cbc:PaymentMeansCode>30</cbc:PaymentMeansCode><cbc:PaymentID>1234567890128</cbc:PaymentID>\
        <cac:PayeeFinancialAccount><cbc:ID>15030100000</cbc:ID></cac:PayeeFinancialAccount></cac:PaymentMeans>
        """
    var allowanceCharges = ""
    var taxTotal: String? = nil
    var monetaryTotal: String? = nil
    var lines: String? = nil

    var isCreditNote: Bool { root == "CreditNote" }
    var lineElement: String { isCreditNote ? "CreditNoteLine" : "InvoiceLine" }
    var quantityElement: String { isCreditNote ? "CreditedQuantity" : "InvoicedQuantity" }

    static func supplier(vat: String?, extra: String = "") -> String {
        let tax =
            vat.map {
                "<cac:PartyTaxScheme><cbc:CompanyID>\($0)</cbc:CompanyID><cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>"
            } ?? ""
        return """
              <cac:AccountingSupplierParty><cac:Party>
                <cbc:EndpointID schemeID="0192">811143758</cbc:EndpointID>
                <cac:PartyIdentification><cbc:ID schemeID="0088">7080001234567</cbc:ID></cac:PartyIdentification>
                <cac:PartyName><cbc:Name>Havblikk Nett AS</cbc:Name></cac:PartyName>
                <cac:PostalAddress><cbc:CityName>Oslo</cbc:CityName><cac:Country><cbc:IdentificationCode>NO</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
                \(tax)
                <cac:PartyTaxScheme><cbc:CompanyID>Foretaksregisteret</cbc:CompanyID><cac:TaxScheme><cbc:ID>TAX</cbc:ID></cac:TaxScheme></cac:PartyTaxScheme>
                <cac:PartyLegalEntity><cbc:RegistrationName>Havblikk Nett AS</cbc:RegistrationName><cbc:CompanyID schemeID="0192">811143758</cbc:CompanyID></cac:PartyLegalEntity>
                \(extra)
              </cac:Party></cac:AccountingSupplierParty>
            """
    }

    static let customer = """
          <cac:AccountingCustomerParty><cac:Party>
            <cbc:EndpointID schemeID="0192">987654325</cbc:EndpointID>
            <cac:PostalAddress><cac:Country><cbc:IdentificationCode>NO</cbc:IdentificationCode></cac:Country></cac:PostalAddress>
            <cac:PartyLegalEntity><cbc:RegistrationName>Nordlys Helse AS</cbc:RegistrationName><cbc:CompanyID>987654325</cbc:CompanyID></cac:PartyLegalEntity>
          </cac:Party></cac:AccountingCustomerParty>
        """

    func line(
        _ id: String, quantity: String, net: String, price: String, category: String = "S",
        percent: String? = "25", extra: String = ""
    ) -> String {
        let rate = percent.map { "<cbc:Percent>\($0)</cbc:Percent>" } ?? ""
        return """
              <cac:\(lineElement)><cbc:ID>\(id)</cbc:ID><cbc:\(quantityElement) unitCode="EA">\(quantity)</cbc:\(quantityElement)>
                <cbc:LineExtensionAmount currencyID="\(currency)">\(net)</cbc:LineExtensionAmount>\(extra)
                <cac:Item><cbc:Name>Item \(id)</cbc:Name><cac:ClassifiedTaxCategory><cbc:ID>\(category)</cbc:ID>\(rate)<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:ClassifiedTaxCategory></cac:Item>
                <cac:Price><cbc:PriceAmount currencyID="\(currency)">\(price)</cbc:PriceAmount></cac:Price>
              </cac:\(lineElement)>
            """
    }

    func subtotal(
        taxable: String, tax: String, category: String = "S", percent: String? = "25",
        reason: String? = nil
    ) -> String {
        let rate = percent.map { "<cbc:Percent>\($0)</cbc:Percent>" } ?? ""
        let why = reason.map { "<cbc:TaxExemptionReason>\($0)</cbc:TaxExemptionReason>" } ?? ""
        return """
            <cac:TaxSubtotal><cbc:TaxableAmount currencyID="\(currency)">\(taxable)</cbc:TaxableAmount><cbc:TaxAmount currencyID="\(currency)">\(tax)</cbc:TaxAmount>\
            <cac:TaxCategory><cbc:ID>\(category)</cbc:ID>\(rate)\(why)<cac:TaxScheme><cbc:ID>VAT</cbc:ID></cac:TaxScheme></cac:TaxCategory></cac:TaxSubtotal>
            """
    }

    func totals(
        lineExtension: String = "1200.00", taxExclusive: String = "1200.00",
        taxInclusive: String = "1480.00", payable: String = "1480.00", extra: String = ""
    ) -> String {
        """
          <cac:LegalMonetaryTotal><cbc:LineExtensionAmount currencyID="\(currency)">\(lineExtension)</cbc:LineExtensionAmount>\
        <cbc:TaxExclusiveAmount currencyID="\(currency)">\(taxExclusive)</cbc:TaxExclusiveAmount>\
        <cbc:TaxInclusiveAmount currencyID="\(currency)">\(taxInclusive)</cbc:TaxInclusiveAmount>\(extra)\
        <cbc:PayableAmount currencyID="\(currency)">\(payable)</cbc:PayableAmount></cac:LegalMonetaryTotal>
        """
    }

    var defaultLines: String {
        line("1", quantity: "2", net: "1000.00", price: "500.00")
            + line("2", quantity: "1", net: "200.00", price: "200.00", percent: "15")
    }

    var defaultTaxTotal: String {
        "<cac:TaxTotal><cbc:TaxAmount currencyID=\"\(currency)\">280.00</cbc:TaxAmount>"
            + subtotal(taxable: "1000.00", tax: "250.00")
            + subtotal(taxable: "200.00", tax: "30.00", percent: "15")
            + "</cac:TaxTotal>"
    }

    var xml: String {
        let namespace = "urn:oasis:names:specification:ubl:schema:xsd:\(root)-2"
        let typeElement = isCreditNote ? "CreditNoteTypeCode" : "InvoiceTypeCode"
        let type = typeCode ?? (isCreditNote ? "381" : "380")
        var head = ""
        if let customization { head += "<cbc:CustomizationID>\(customization)</cbc:CustomizationID>\n" }
        head += "<cbc:ProfileID>urn:fdc:peppol.eu:2017:poacc:billing:01:1.0</cbc:ProfileID>\n"
        if let number { head += "<cbc:ID>\(number)</cbc:ID>\n" }
        if let issueDate { head += "<cbc:IssueDate>\(issueDate)</cbc:IssueDate>\n" }
        if let dueDate, !isCreditNote { head += "<cbc:DueDate>\(dueDate)</cbc:DueDate>\n" }
        if !type.isEmpty { head += "<cbc:\(typeElement)>\(type)</cbc:\(typeElement)>\n" }
        return """
            <?xml version="1.0" encoding="UTF-8"?>
            <\(root) xmlns="\(namespace)" xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2" xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
            \(head)<cbc:DocumentCurrencyCode>\(currency)</cbc:DocumentCurrencyCode>
            \(header)
            <cbc:BuyerReference>ref-1</cbc:BuyerReference>
            \(references)
            \(supplier)
            \(customer)
            \(paymentMeans)
            \(allowanceCharges)
            \(taxTotal ?? defaultTaxTotal)
            \(monetaryTotal ?? totals())
            \(lines ?? defaultLines)
            </\(root)>
            """
    }
}

public import LedgerCore

/// EHF 3 / PEPPOL BIS Billing 3.0 (UBL 2.1 `Invoice` and `CreditNote`).
///
/// `parse` turns the bytes of one file into an `InvoiceDocument` or says, in one sentence a
/// bookkeeper understands, why the file is not a readable EN 16931 invoice. `validate` then
/// lists every EN 16931 / PEPPOL / Norwegian rule violation a receiver can check on its own;
/// an empty list means the document may be posted.
public enum EHF {
    /// Parse an EHF 3 / PEPPOL BIS 3 Invoice or CreditNote. Throws Rejection for anything
    /// that is not a readable, supported EN 16931 document (never crashes, never resolves
    /// entities, never touches the network or file system).
    ///
    /// Codes: `XML-MALFORMED`, `XML-DOCTYPE`, `XML-LIMIT`, `NOT-AN-INVOICE`, `EHF-UNSUPPORTED`,
    /// `MISSING-FIELD`, `INVALID-VALUE`, `BR-CL-01` (unknown type code), `BR-DEC-nn` (an
    /// amount with more than two decimals), `PEPPOL-EN16931-R051` (an amount in another
    /// currency) and `BR-CO-15` (two VAT totals in the invoice currency).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(Rejection) -> InvoiceDocument {
        let document = try XMLTree.withDocument(bytes) { (root: XMLElement) throws(Rejection) -> InvoiceDocument in
            try UBLReader().document(root)
        }
        try FieldLengths.check(document)
        return document
    }

    public static func parse(_ bytes: [UInt8]) throws(Rejection) -> InvoiceDocument {
        let result: Result<InvoiceDocument, Rejection> = bytes.withUnsafeBytes { raw in
            do throws(Rejection) {
                return .success(try parse(raw))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// All EN 16931 / PEPPOL / Norwegian rule violations a receiver can check itself;
    /// empty means the document may be posted.
    public static func validate(_ invoice: InvoiceDocument) -> [Rejection] {
        var rules = InvoiceRules(invoice)
        return rules.check()
    }
}

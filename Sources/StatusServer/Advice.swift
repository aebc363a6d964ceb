/// What to do about a document that was not posted, per reason code — the same advice the
/// `.error.txt` beside a rejected file gives (Ingest's `ErrorReport`), plus how to try again
/// from the page.
enum Advice {
    static func forRejection(code: String?) -> String {
        let fix: String
        switch code ?? "" {
        case "XML-DOCTYPE", "XML-MALFORMED":
            fix = "The file is damaged or is not a plain e-invoice; ask the sender for a new copy."
        case "NOT-AN-INVOICE":
            fix = "Only EHF / PEPPOL BIS Billing 3.0 invoices and credit notes belong in this inbox."
        case "EHF-UNSUPPORTED":
            fix = "Ask the sender to send the invoice as EHF 3 / PEPPOL BIS Billing 3.0."
        case "MISSING-FIELD", "INVALID-VALUE":
            fix = "The invoice lacks information it must carry; ask the sender for a corrected invoice."
        case "NOT-OUR-INVOICE":
            fix =
                "Check that the invoice was meant for this company; if it was, add the identifier shown to "
                + "[company] identifiers in the configuration."
        case "FILE-TOO-LARGE":
            fix = "Check what the file is; if it is a real invoice, raise [limits] max_file_bytes."
        case "NOT-A-FILE":
            fix = "Copy the real file into the inbox instead of a link."
        case "UNSUPPORTED-INBOX":
            fix = "Keep the file; a later version of ledgerd will process this inbox."
        case "POSTING":
            fix = "Check the account settings in the configuration."
        case "FILE-UNREADABLE", "MOVE", "DATABASE":
            fix = "ledgerd could not read or move the file; check the disk and the folder permissions."
        case let other where other.hasPrefix("BR-") || other.hasPrefix("PEPPOL-") || other.hasPrefix("NO-R-"):
            fix = "The invoice's own figures do not add up; ask the sender for a corrected invoice."
        default:
            fix = "Check the file and ask the sender for a corrected copy."
        }
        return fix
            + (retryHelps(code: code)
                ? " Once that is fixed, press Retry (or move the file back into its inbox)."
                : " Drop the corrected file into the inbox (or correct it in the rejected folder and press Retry).")
    }

    /// Whether trying the same bytes again can succeed (the cause lies outside the file).
    static func retryHelps(code: String?) -> Bool {
        ["NOT-OUR-INVOICE", "FILE-TOO-LARGE", "POSTING", "FILE-UNREADABLE", "MOVE", "DATABASE"].contains(code ?? "")
    }

    static let duplicateNumber =
        "Compare the two files: if this one replaces the earlier invoice, ask the sender for a credit note and a new "
        + "invoice number; if it is a copy, nothing needs posting — keep it for the record."
}

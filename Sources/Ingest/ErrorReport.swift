import LedgerCore
import LedgerStore

/// The `.error.txt` written beside a rejected file: first the reason in one sentence, then
/// what to do about it, then the details a person may need to follow up.
enum ErrorReport {
    static func text(for name: String, rejection: Rejection, details: [Rejection], document: IncomingDocument) -> String {
        var text = "\(name) was not posted.\n\n"
        text += "Reason: \(rejection.message)\n"
        text += "What to do: \(advice(for: rejection.code))\n"
        if details.count > 1 {
            text += "\nAll problems found:\n"
            for detail in details { text += "  - \(detail.code): \(detail.message)\n" }
        }
        text += "\nCode: \(rejection.code)\n"
        text += "Received: \(document.receivedAt)\n"
        if !document.sha256.hasPrefix("unread:") { text += "SHA-256: \(document.sha256)\n" }
        text += "\nTo try again after fixing the cause, move the file back into the inbox (or run `ledgerd ingest FILE`).\n"
        return text
    }

    static func advice(for code: String) -> String {
        switch code {
        case "XML-DOCTYPE", "XML-MALFORMED":
            return "The file is damaged or is not a plain e-invoice; ask the sender for a new copy."
        case "NOT-AN-INVOICE":
            return "Only EHF / PEPPOL BIS Billing 3.0 invoices and credit notes belong in this inbox."
        case "EHF-UNSUPPORTED":
            return "Ask the sender to send the invoice as EHF 3 / PEPPOL BIS Billing 3.0."
        case "MISSING-FIELD":
            return "The invoice lacks information it must carry; ask the sender for a corrected invoice."
        case "NOT-OUR-INVOICE":
            return "Check that the invoice was meant for this company; if it was, add the identifier shown to [company] identifiers in the configuration."
        case "COMPANY-NOT-CONFIGURED":
            return "Set [company] org_number (or identifiers) in the configuration, then move the file back into the inbox."
        case "DUPLICATE-NUMBER":
            return "Compare the two files: if this one replaces the earlier invoice, ask the sender for a credit note and a new invoice number."
        case "FILE-TOO-LARGE":
            return "Check what the file is; if it is a real invoice, raise [limits] max_file_bytes."
        case "NOT-A-FILE":
            return "Copy the real file into the inbox instead of a link."
        case "UNSUPPORTED-INBOX":
            return "Keep the file; a later version of ledgerd will process this inbox."
        case "POSTING":
            return "Check the account settings in the configuration."
        default:
            if code.hasPrefix("BR-") || code.hasPrefix("PEPPOL-") || code.hasPrefix("NO-R-") {
                return "The invoice's own figures do not add up; ask the sender for a corrected invoice."
            }
            return "Check the file and ask the sender for a corrected copy."
        }
    }
}

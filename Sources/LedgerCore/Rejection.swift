/// Why a document was not posted, said so a bookkeeper understands it.
///
/// `code` is a stable identifier for scripts and the status page: an EN 16931 / PEPPOL rule
/// id (`BR-CO-10`, `PEPPOL-EN16931-R120`, `NO-R-001`) or one of ledgerd's own
/// (`XML-DOCTYPE`, `EHF-UNSUPPORTED`, …). `message` is one sentence naming the numbers that
/// disagree or the field that is missing.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = Self.bounded(message)
    }

    /// Messages quote values from the document; one quoting a value of megabytes would be
    /// logged, stored and shown as it stands. Past this many characters it is cut.
    public static let maxMessageLength = 1_000

    static func bounded(_ message: String) -> String {
        // The UTF-8 length is known at once; characters are counted only when it is long.
        guard message.utf8.count > maxMessageLength, message.count > maxMessageLength else { return message }
        return message.prefix(maxMessageLength) + "… (shortened; the file itself is kept)"
    }

    public var description: String { "\(code): \(message)" }
}

extension Rejection {
    /// What a bookkeeper should do about a document rejected with `code`: the advice the
    /// `.error.txt` beside a rejected file and the status page both give.
    public static func advice(forCode code: String) -> String {
        switch code {
        case "XML-DOCTYPE", "XML-MALFORMED":
            return "The file is not a readable EHF e-invoice (the reason says what it is: cut off, damaged, or "
                + "another kind of file). Ask the sender for the invoice as EHF (an .xml file), or book it by hand."
        case "XML-LIMIT":
            return "The file is built unlike any invoice (far too many or too deeply nested parts); "
                + "ask the sender for a normal copy."
        case "NOT-AN-INVOICE":
            return "Only EHF / PEPPOL BIS Billing 3.0 invoices and credit notes belong in this inbox. If the file "
                + "was put here by mistake, move it where it belongs (the reason says where, when it can tell) or "
                + "delete it, and delete its error file from the rejected folder; if it was meant as an invoice, ask "
                + "the sender for it as EHF."
        case "EHF-UNSUPPORTED":
            return "Ask the sender to send the invoice as EHF 3 / PEPPOL BIS Billing 3.0."
        case "MISSING-FIELD":
            return "The invoice lacks information it must carry; ask the sender for a corrected invoice."
        case "INVALID-VALUE":
            return "A value in the invoice cannot be read or booked as it is written (the reason names it); ask the "
                + "sender for a corrected invoice."
        case "NOT-OUR-INVOICE":
            return "If it reached you by mistake, send it on to the company it is for (or tell the sender), then "
                + "delete it here. If that company is yours too, ask whoever runs ledgerd to add the identifier the "
                + "invoice shows to [company] identifiers and restart ledgerd."
        case "COMPANY-NOT-CONFIGURED":
            return "ledgerd was started without the company it keeps books for. Whoever runs it: write a "
                + "configuration (`ledgerd config example > ledgerd.toml`), set [company] name and org_number (or "
                + "identifiers) in it, and start ledgerd with `--config ledgerd.toml` (or restart the service)."
        case "DUPLICATE-NUMBER":
            return "Compare the two files: if this one replaces the earlier invoice, ask the sender for a credit note "
                + "and a new invoice number; if it is a copy, nothing needs posting — keep it for the record."
        case "FILE-TOO-LARGE":
            return "Check what the file is; if it is a real invoice, raise [limits] max_file_bytes and restart ledgerd."
        case "NOT-A-FILE":
            return "Copy the invoice itself into the inbox as an ordinary file (not a link, a pipe or a device), then "
                + "delete what was rejected from the rejected folder."
        case "UNSUPPORTED-INBOX":
            return "Keep the file; a later version of ledgerd will process this inbox."
        case "POSTING":
            return "The invoice's figures cannot be booked as they stand (the reason says why); ask the sender for "
                + "a corrected invoice, or report it to whoever runs ledgerd."
        case "STORE":
            return
                "The database refused the document; keep the file and report it, with the reason, to whoever runs ledgerd."
        case "FILE-UNREADABLE", "MOVE":
            return "ledgerd could not read or move the file; check the disk and the folder permissions."
        case "LEDGERD-FAULT":
            return
                "Keep the file, and report it to whoever runs ledgerd, with the file: the fault is ledgerd's to mend. "
                + "Once a ledgerd that reads it is installed, move the file back into the inbox."
        case "DATABASE":
            return "ledgerd could not write to its database (the reason says why); once that is mended, the file, "
                + "which waits where it is, is taken in when it is tried again."
        case let other where other.hasPrefix("BR-DEC-"):
            return "An amount is written with more decimals than EN 16931 allows (two); ask the sender for a "
                + "corrected invoice."
        case "BR-CL-01":
            return "The invoice's type code is not one for its kind of document (the reason says what it is); ask the "
                + "sender for a corrected invoice."
        case "VAT-CATEGORY-UNSUPPORTED":
            return "The invoice charges a tax that is not Norwegian VAT (the reason names it); ask the sender whether "
                + "the VAT category is right, or book the invoice by hand."
        case "VAT-BREAKDOWN":
            return "The invoice's VAT breakdown does not agree with its lines (the reason says how); ask the sender "
                + "for a corrected invoice."
        case "NO-R-001":
            return "The seller's VAT number is not a valid Norwegian one; ask the sender for a corrected invoice."
        case "PEPPOL-EN16931-R051":
            return "An amount is in another currency than the invoice's own; ask the sender for a corrected invoice."
        case let other
        where other.hasPrefix("BR-CO-") || other.hasSuffix("-08") || other.hasSuffix("-09")
            || other == "PEPPOL-EN16931-R120" || other == "PEPPOL-EN16931-R040" || other == "PEPPOL-EN16931-R046":
            return "The invoice's own figures do not add up; ask the sender for a corrected invoice."
        case let other where other.hasSuffix("-05") || other.hasSuffix("-06") || other.hasSuffix("-07"):
            return "A VAT rate does not fit its VAT category (the reason says which); ask the sender for a corrected "
                + "invoice."
        case let other where other.hasPrefix("BR-") || other.hasPrefix("PEPPOL-") || other.hasPrefix("NO-R-"):
            return "The invoice breaks a rule of the e-invoice standard (the reason names it); ask the sender for a "
                + "corrected invoice."
        default:
            return "Check the file and ask the sender for a corrected copy."
        }
    }
}

extension Rejection {
    /// How a document rejected for a reason comes to be posted, which decides how its advice
    /// ends, on the status page and in the error file.
    public enum Remedy: Sendable, Equatable {
        /// The cause is in the file: a corrected one from the sender posts, as a new file.
        case correctedFile
        /// The cause lies outside the file (the configuration, permissions, the disk): once it
        /// is mended, the same file posts when it is tried again.
        case tryAgain
        /// Neither: the advice says all there is to do (a number already posted, a link, a
        /// document the database refused).
        case none
    }

    /// The remedy for a document rejected with `code`: one list for the page's Retry button,
    /// its advice and the error file's last line.
    public static func remedy(forCode code: String) -> Remedy {
        switch code {
        case "NOT-OUR-INVOICE", "COMPANY-NOT-CONFIGURED", "FILE-TOO-LARGE", "FILE-UNREADABLE", "MOVE", "DATABASE":
            return .tryAgain
        // NOT-AN-INVOICE: no corrected file of it is to come; the advice says what to do.
        case "DUPLICATE-NUMBER", "NOT-A-FILE", "UNSUPPORTED-INBOX", "STORE", "NOT-AN-INVOICE", "LEDGERD-FAULT":
            return .none
        default:
            return .correctedFile
        }
    }

    /// Whether what a rejection with `code` needs mended is the configuration, which ledgerd
    /// reads when it starts: tried again before a restart, the file is rejected again.
    public static func mendedByRestart(code: String) -> Bool {
        ["NOT-OUR-INVOICE", "COMPANY-NOT-CONFIGURED", "FILE-TOO-LARGE"].contains(code)
    }
}

extension Rejection {
    /// Another file already posted this document number from the same party: the reason
    /// stored with the flagged document and written beside the file.
    public static func duplicateNumber(
        _ invoice: InvoiceDocument, direction: Direction, existingDocumentID: Int64?, existingName: String?
    ) -> Rejection {
        let kind = invoice.type == .invoice ? "Invoice" : "Credit note"
        let party = direction == .purchase ? " from \(invoice.seller.name)" : " to \(invoice.buyer.name)"
        let earlier = existingName.map { "in \($0)" } ?? "earlier"
        let id = existingDocumentID.map { " (document \($0))" } ?? ""
        return Rejection(
            "DUPLICATE-NUMBER",
            "\(kind) \(invoice.number)\(party) was already posted \(earlier)\(id); this file has different contents and was not posted."
        )
    }
}

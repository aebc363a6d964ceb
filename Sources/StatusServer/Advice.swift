import LedgerCore
import LedgerStore

/// What to do about a document that was not posted, per reason code — the same advice the
/// `.error.txt` beside a rejected file gives (`Rejection.advice(forCode:)`), plus how to try
/// again from the page.
enum Advice {
    /// `retryFromPage`: whether the page offers Retry (an API token is set); without it, the
    /// file is moved back by hand. `companyConfigured`: whether the running daemon knows the
    /// company, which a file rejected for the lack of it then only needs trying again.
    static func forRejection(code: String?, retryFromPage: Bool, companyConfigured: Bool = false) -> String {
        let fix =
            code == "COMPANY-NOT-CONFIGURED" && companyConfigured
            ? "ledgerd knows its company now: tried again, the file is posted if it is the company's (the reason "
                + "names its seller and buyer)."
            : Rejection.advice(forCode: code ?? "")
        switch Rejection.remedy(forCode: code ?? "") {
        case .tryAgain:
            return fix
                + (retryFromPage
                    ? " Then press Retry (or move the file back into its inbox)."
                    : " Then move the file back from the rejected folder into its inbox.")
        case .correctedFile:
            return fix
                + " Drop the sender's corrected file into the inbox, then delete this one from the rejected folder."
        case .none:
            return fix
        }
    }

    /// For several rejected files: one reason's advice when they share it, else how many
    /// need what, by remedy, so the banner does not send the sender's way what the
    /// configuration mends.
    static func forRejections(
        _ byCode: [StatusPageData.ReasonCount], retryFromPage: Bool, companyConfigured: Bool = false
    ) -> String {
        let how = retryFromPage ? "pressing Retry" : "moving the file back into its inbox"
        if byCode.count == 1 {
            // The page's note on the missing company says the rest.
            if byCode[0].code == "COMPANY-NOT-CONFIGURED", !companyConfigured {
                return "Once the company is configured (the note on it says how), take them in again by \(how)."
            }
            return forRejection(
                code: byCode[0].code, retryFromPage: retryFromPage, companyConfigured: companyConfigured)
        }
        // The most common reasons by what they are, the rest by what they need.
        enum Group: CaseIterable { case notOurs, notInvoices, beforeCompany, tryAgain, corrected, other }
        var counts: [Group: Int] = [:]
        for reason in byCode {
            let group: Group =
                switch reason.code {
                case "NOT-OUR-INVOICE": .notOurs
                case "NOT-AN-INVOICE": .notInvoices
                case "COMPANY-NOT-CONFIGURED": .beforeCompany
                default:
                    switch Rejection.remedy(forCode: reason.code) {
                    case .tryAgain: .tryAgain
                    case .correctedFile: .corrected
                    case .none: .other
                    }
                }
            counts[group, default: 0] += reason.count
        }
        let total = counts.values.reduce(0, +)
        var parts: [String] = []
        for group in Group.allCases {
            guard let count = counts[group], count > 0 else { continue }
            let n = count == total ? "all" : "\(count)"
            let one = n == "1"
            let (are, them, their, needs) = (
                one ? "is" : "are", one ? "it" : "them", one ? "its" : "their", one ? "needs" : "need"
            )
            let part: String =
                switch group {
                case .notOurs:
                    "\(n) \(are) for another company: send \(them) on, or add \(their) identifier to [company] if that "
                        + "company is yours too"
                case .notInvoices:
                    "\(n) \(are) not invoices: move \(them) where \(them == "it" ? "it belongs" : "they belong"), or delete \(them)"
                case .beforeCompany:
                    companyConfigured
                        ? "\(n) came before the company was configured: take \(them) in again by \(how)"
                        : "\(n) came with no company configured: take \(them) in again by \(how) once it is"
                case .tryAgain:
                    "\(n) can be taken in again, by \(how), once what \(their) reason names is mended"
                case .corrected:
                    "\(n) \(needs) a corrected invoice from the sender, dropped into the inbox, after which the "
                        + "rejected file can be deleted"
                case .other: "\(n) \(needs) what \(their) advice says"
                }
            parts.append(part)
        }
        return "Read what to do for each under Needs attention: " + parts.joined(separator: "; ") + "."
    }

    /// Whether trying the same bytes again can succeed (the cause lies outside the file). Not
    /// for POSTING: the figures cannot be booked as they stand, which a corrected file mends.
    static func retryHelps(code: String?) -> Bool {
        Rejection.remedy(forCode: code ?? "") == .tryAgain
    }

    static let duplicateNumber = Rejection.advice(forCode: "DUPLICATE-NUMBER")

    /// For a file dropped again with the bytes of a posted document.
    static let duplicateDrop =
        "Nothing: it is booked once. This copy is kept in the archive's duplicates folder."
}

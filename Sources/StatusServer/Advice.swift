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
            ? "ledgerd knows the company now, so the file posts when it is tried again."
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
        if byCode.count == 1 {
            return forRejection(
                code: byCode[0].code, retryFromPage: retryFromPage, companyConfigured: companyConfigured)
        }
        var counts: [Rejection.Remedy: Int] = [:]
        for reason in byCode { counts[Rejection.remedy(forCode: reason.code), default: 0] += reason.count }
        let total = counts.values.reduce(0, +)
        func many(_ remedy: Rejection.Remedy) -> String? {
            guard let n = counts[remedy], n > 0 else { return nil }
            return n == total ? "all" : "\(n)"
        }
        var parts: [String] = []
        if let n = many(.tryAgain) {
            let how = retryFromPage ? "pressing Retry" : "moving the file back into its inbox"
            parts.append(
                "\(n) can be taken in again, by \(how), once what \(n == "1" ? "its" : "their") reason names is "
                    + "mended")
        }
        if let n = many(.correctedFile) {
            parts.append(
                "\(n) need\(n == "1" ? "s" : "") a corrected invoice from the sender, dropped into the inbox, after "
                    + "which the rejected file can be deleted")
        }
        if let n = many(.none) { parts.append("\(n) need\(n == "1" ? "s" : "") only what their advice says") }
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

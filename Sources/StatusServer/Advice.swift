import LedgerCore

/// What to do about a document that was not posted, per reason code — the same advice the
/// `.error.txt` beside a rejected file gives (`Rejection.advice(forCode:)`), plus how to try
/// again from the page.
enum Advice {
    static func forRejection(code: String?) -> String {
        let fix = Rejection.advice(forCode: code ?? "")
        switch Rejection.remedy(forCode: code ?? "") {
        case .tryAgain:
            return fix + " Then press Retry (or move the file back into its inbox)."
        case .correctedFile:
            return fix
                + " Drop the sender's corrected file into the inbox, then delete this one from the rejected folder."
        case .none:
            return fix
        }
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

import LedgerCore
import Testing

/// The "what to do" line the status page and the error files give for each rejection code.
@Suite struct RejectionAdviceTests {
    static let doesNotAddUp = "The invoice's own figures do not add up; ask the sender for a corrected invoice."

    @Test(arguments: [
        "BR-CO-10", "BR-CO-15", "BR-CO-16", "BR-S-08", "BR-S-09", "BR-Z-08", "BR-AE-09", "PEPPOL-EN16931-R120",
        "PEPPOL-EN16931-R040", "PEPPOL-EN16931-R046",
    ])
    func arithmeticRulesSayTheFiguresDoNotAddUp(_ code: String) {
        #expect(Rejection.advice(forCode: code) == Self.doesNotAddUp)
    }

    /// Rules about something other than arithmetic, and values that cannot be read, each say
    /// what kind of fault it is, never that the figures do not add up or that something is
    /// missing.
    @Test func otherRulesSayWhatKindOfFaultItIs() {
        let said = [
            "NO-R-001": "VAT number", "BR-CL-01": "type code", "PEPPOL-EN16931-R051": "currency",
            "BR-DEC-12": "decimals", "BR-S-05": "VAT rate", "BR-E-06": "VAT rate", "INVALID-VALUE": "cannot be read",
            "BR-32": "rule of the e-invoice standard", "PEPPOL-EN16931-R121": "rule of the e-invoice standard",
        ]
        for (code, words) in said {
            let advice = Rejection.advice(forCode: code)
            #expect(advice.contains(words), "\(code): \(advice)")
            #expect(advice != Self.doesNotAddUp, "\(code)")
            #expect(!advice.contains("lacks information"), "\(code)")
        }
    }

    /// What is not a file may be a link, or a named pipe or device node: the advice fits each.
    @Test func notAFileAsksForTheInvoiceAsAnOrdinaryFile() {
        let advice = Rejection.advice(forCode: "NOT-A-FILE")
        #expect(advice.contains("as an ordinary file (not a link, a pipe or a device)"))
        #expect(!advice.contains("delete the link"))
    }
}

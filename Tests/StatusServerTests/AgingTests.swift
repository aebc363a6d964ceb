import LedgerCore
import LedgerStore
import Testing

@testable import StatusServer

@Suite struct AgingTests {
    let today = Day(iso: "2026-11-21")!

    func item(_ party: String, _ minor: Int64, issued: Int, due: Int?, currency: Currency = .nok) -> AgingItem {
        AgingItem(
            party: party, currency: currency, openMinor: minor, issueDate: today.adding(days: issued),
            dueDate: due.map { today.adding(days: $0) })
    }

    @Test func bucketBoundaries() {
        let cases: [(Int, AgingBucket)] = [
            (-30, .current), (0, .current), (1, .days1to30), (30, .days1to30), (31, .days31to60), (60, .days31to60),
            (61, .days61to90), (90, .days61to90), (91, .over90), (10_000, .over90),
        ]
        for (days, bucket) in cases {
            #expect(AgingBucket(daysPastDue: days) == bucket, "\(days) days past due")
        }
        #expect(AgingBucket.allCases.map(\.rawValue) == ["current", "1-30", "31-60", "61-90", "90+"])
        #expect(AgingBucket.allCases.map(\.index) == [0, 1, 2, 3, 4])
    }

    @Test func daysPastDueIsTodayMinusDueDateAndFallsBackToTheIssueDate() {
        #expect(
            Aging.daysPastDue(issueDate: today.adding(days: -40), dueDate: today.adding(days: -10), today: today) == 10)
        #expect(
            Aging.daysPastDue(issueDate: today.adding(days: -40), dueDate: today.adding(days: 5), today: today) == -5)
        // No due date: due 30 days after issue, so not overdue the day it arrives.
        #expect(Aging.daysPastDue(issueDate: today.adding(days: -100), dueDate: nil, today: today) == 70)
        #expect(Aging.daysPastDue(issueDate: today, dueDate: nil, today: today) == -30)
        #expect(Aging.bucket(issueDate: today.adding(days: -30), dueDate: nil, today: today) == .current)
        #expect(Aging.bucket(issueDate: today.adding(days: -31), dueDate: nil, today: today) == .days1to30)
        // Across a leap day.
        let march = Day(iso: "2028-03-01")!
        #expect(Aging.daysPastDue(issueDate: march, dueDate: Day(iso: "2028-02-28")!, today: march) == 2)
    }

    /// The oldest due date a row shows is the day its aging counts from: a document without
    /// a due date as due 30 days after its issue; a credit note, which leaves nothing owed,
    /// not at all.
    @Test func theOldestDueDateIsTheOneTheAgingCountsFrom() {
        let items = [
            item("A", 100_00, issued: -20, due: 10), item("A", 50_00, issued: -130, due: nil),
            item("A", -30_00, issued: -400, due: -370), item("B", -10_00, issued: -200, due: nil),
            item("A", 5_00, issued: -500, due: -470, currency: .eur),
        ]
        let oldest = Aging.oldestDue(items)
        #expect(oldest["A\u{0}NOK"] == today.adding(days: -100))
        #expect(oldest["A\u{0}EUR"] == today.adding(days: -470))
        #expect(oldest["B\u{0}NOK"] == nil)
        #expect(Aging.dueDate(issueDate: today, dueDate: nil) == today.adding(days: 30))
        #expect(Aging.dueDate(issueDate: today, dueDate: today.adding(days: 7)) == today.adding(days: 7))
    }

    @Test func rowsSumPerPartyAndCurrencyWithCreditNotesNegative() {
        let rows = Aging.rows(
            [
                item("Beta AS", 10_000, issued: -40, due: -10),
                item("Beta AS", -2_500, issued: -20, due: -5),  // credit note
                item("Beta AS", 7_000, issued: -80, due: -45),
                item("Beta AS", -1_000, issued: -3, due: nil),  // credit note without a due date, as most are
                item("alpha AS", 1_000, issued: -5, due: 25),
                item("alpha AS", 500, issued: -100, due: nil),
                item("alpha AS", 300, issued: -1, due: 29, currency: .eur),
            ], asOf: today)
        #expect(rows.map(\.party) == ["alpha AS", "alpha AS", "Beta AS"])
        #expect(rows.map(\.currency.code) == ["EUR", "NOK", "NOK"])
        #expect(rows[0].buckets == [300, 0, 0, 0, 0])
        // The one without a due date: due 70 days ago.
        #expect(rows[1].buckets == [1_000, 0, 0, 500, 0])
        #expect(rows[1].withoutDueDate == 1)
        #expect(rows[1].documents == 2)
        // The credit note without a due date is aged like the rest, but is no document whose
        // due date is missing: a credit is due on no day.
        #expect(rows[2].buckets == [-1_000, 7_500, 7_000, 0, 0])
        #expect(rows[2].withoutDueDate == 0)
        #expect(rows[2].documents == 4)
        #expect(rows[2].totalMinor == 13_500)
        #expect(rows[2].amount(.days1to30) == Money(minor: 7_500, currency: .nok))

        let totals = Aging.totals(rows)
        #expect(totals.map(\.currency.code) == ["EUR", "NOK"])
        #expect(totals[1].party == nil)
        #expect(totals[1].buckets == [0, 7_500, 7_000, 500, 0])
        #expect(totals[1].documents == 6)
        #expect(totals[1].withoutDueDate == 1)
        #expect(totals[1].total == Money(minor: 15_000, currency: .nok))
    }

    @Test func partiesNumberedInTheirNamesComeInNumberOrder() {
        let rows = Aging.rows(
            ["Kunde 10", "Kunde 2", "kunde 1", "Kunde 11"].map { item($0, 100, issued: -5, due: 5) }, asOf: today)
        #expect(rows.map(\.party) == ["kunde 1", "Kunde 2", "Kunde 10", "Kunde 11"])
    }

    @Test func preAggregatedItemsGiveTheSameRows() {
        let single = Aging.rows(
            [item("A", 100, issued: -3, due: -1), item("A", 200, issued: -3, due: -1)], asOf: today)
        var grouped = item("A", 300, issued: -3, due: -1)
        grouped.documents = 2
        #expect(Aging.rows([grouped], asOf: today) == single)
    }

    @Test func sumsSaturateInsteadOfTrapping() {
        let rows = Aging.rows([item("A", .max, issued: 0, due: 0), item("A", 1, issued: 0, due: 0)], asOf: today)
        #expect(rows[0].buckets[0] == .max)
        #expect(Aging.add(.min, -1) == .min)
    }

    @Test func amountsAreFormattedWithGroupingAndTheCurrencysDecimals() {
        #expect(Amount(minor: 1_875_000, currency: "NOK").formatted == "18 750.00 NOK")
        #expect(Amount(minor: -125_000, currency: "NOK").formatted == "-1 250.00 NOK")
        #expect(Amount(minor: 5, currency: "EUR").formatted == "0.05 EUR")
        #expect(Amount(minor: 0, currency: "NOK").formatted == "0.00 NOK")
        #expect(Amount(minor: 1_234_567, currency: "JPY").formatted == "1 234 567 JPY")
        #expect(Amount(minor: 1_234_567, currency: "KWD").formatted == "1 234.567 KWD")
        #expect(Amount(minor: .min, currency: "NOK").formatted == "-92 233 720 368 547 758.08 NOK")
    }
}

/// What the page tells a bookkeeper to do about a file that was not posted.
@Suite struct AdviceTests {
    @Test func retryIsOfferedOnlyWhereTheSameBytesCanPost() {
        // The cause lies outside the file: fix it, then Retry.
        let tooLarge = Advice.forRejection(code: "FILE-TOO-LARGE", retryFromPage: true)
        #expect(tooLarge.contains("raise [limits] max_file_bytes and restart ledgerd"))
        #expect(tooLarge.hasSuffix("and restart ledgerd. Then press Retry (or move the file back into its inbox)."))
        for code in ["NOT-OUR-INVOICE", "COMPANY-NOT-CONFIGURED", "FILE-UNREADABLE"] {
            #expect(Advice.retryHelps(code: code), "\(code)")
            #expect(
                Advice.forRejection(code: code, retryFromPage: true).hasSuffix(
                    " Then press Retry (or move the file back into its inbox)."))
            // Said once, in the ending.
            #expect(!Advice.forRejection(code: code, retryFromPage: true).contains("retry the file"), "\(code)")
        }
        // Without the page's buttons (no API token), the file is moved back by hand.
        #expect(
            Advice.forRejection(code: "NOT-OUR-INVOICE", retryFromPage: false).hasSuffix(
                " Then move the file back from the rejected folder into its inbox."))
        // Rejected for want of the company by a daemon that knows it now: only the retry is left.
        #expect(
            Advice.forRejection(code: "COMPANY-NOT-CONFIGURED", retryFromPage: false, companyConfigured: true)
                == "ledgerd knows its company now: tried again, the file is posted if it is the company's (the "
                + "reason names its seller and buyer). Then move the file back from the rejected folder into its "
                + "inbox.")
        #expect(
            Advice.forRejection(code: "COMPANY-NOT-CONFIGURED", retryFromPage: false).contains(
                "ledgerd config example > ledgerd.toml"))
        // Figures that cannot be booked, or a broken file: only a corrected file helps, and
        // the one rejected is then deleted; the page offers no Retry for them.
        // A file that is not an invoice at all (a test set, a stray document): no corrected
        // file of it will come; it is deleted, or asked for again as an invoice.
        let notAnInvoice = Advice.forRejection(code: "NOT-AN-INVOICE", retryFromPage: true)
        #expect(!notAnInvoice.contains("corrected file") && !Advice.retryHelps(code: "NOT-AN-INVOICE"))
        #expect(notAnInvoice.contains("If the file was put here by mistake, move it where it belongs"))
        for code in ["POSTING", "XML-MALFORMED", "BR-CO-10", "VAT-CATEGORY-UNSUPPORTED", "EHF-UNSUPPORTED"] {
            let advice = Advice.forRejection(code: code, retryFromPage: true)
            #expect(!advice.contains("press Retry"), "\(code)")
            #expect(!Advice.retryHelps(code: code))
            #expect(
                advice.hasSuffix(
                    "Drop the sender's corrected file into the inbox, then delete this one from the rejected folder."),
                "\(code)")
            // Deleting is said once.
            #expect(advice.components(separatedBy: "delete").count == 2, "\(code): \(advice)")
        }
        // Neither a corrected file nor a retry: the advice says all there is to do.
        for code in ["NOT-A-FILE", "STORE", "UNSUPPORTED-INBOX"] {
            let advice = Advice.forRejection(code: code, retryFromPage: true)
            #expect(advice == Rejection.advice(forCode: code), "\(code)")
            #expect(!Advice.retryHelps(code: code))
        }
    }

    /// Several rejected files: the banner says how many need what, not "most need a corrected
    /// invoice" of files the sender cannot mend.
    @Test func severalRejectionsAreCountedByWhatTheyNeed() {
        func reasons(_ pairs: KeyValuePairs<String, Int>) -> [StatusPageData.ReasonCount] {
            pairs.map { StatusPageData.ReasonCount(code: $0.key, count: $0.value) }
        }
        // The common reasons by what they are: another company's invoices are not mended by
        // trying them again here, nor are files that are no invoices.
        #expect(
            Advice.forRejections(
                reasons(["NOT-OUR-INVOICE": 12, "NOT-AN-INVOICE": 4, "BR-CO-10": 7, "FILE-TOO-LARGE": 1]),
                retryFromPage: false)
                == "Read what to do for each under Needs attention: 12 are for another company: send them on, or "
                + "add their identifier to [company] if that company is yours too; 4 are not invoices: move them "
                + "where they belong, or delete them; 1 can be taken in again, by moving the file back into its "
                + "inbox, once what its reason names is mended; 7 need a corrected invoice from the sender, dropped "
                + "into the inbox, after which the rejected file can be deleted.")
        #expect(
            Advice.forRejections(reasons(["BR-CO-10": 2, "NO-R-001": 1]), retryFromPage: true)
                == "Read what to do for each under Needs attention: all need a corrected invoice from the sender, "
                + "dropped into the inbox, after which the rejected file can be deleted.")
        #expect(
            Advice.forRejections(
                reasons(["COMPANY-NOT-CONFIGURED": 3, "NOT-A-FILE": 1]), retryFromPage: true, companyConfigured: true)
                == "Read what to do for each under Needs attention: 3 came before the company was configured: take "
                + "them in again by pressing Retry; 1 needs what its advice says.")
        // One reason for all: its own advice; the missing company's is the page's note on it.
        #expect(
            Advice.forRejections(reasons(["BR-CO-10": 10]), retryFromPage: false)
                == Advice.forRejection(code: "BR-CO-10", retryFromPage: false))
        #expect(
            Advice.forRejections(reasons(["COMPANY-NOT-CONFIGURED": 10]), retryFromPage: false)
                == "Once the company is configured (the note on it says how), take them in again by moving the file "
                + "back into its inbox.")
    }
}

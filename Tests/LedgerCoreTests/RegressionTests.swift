import LedgerCore
import Testing

// Regression tests for bugs the property tests found in LedgerCore (overflow traps, order-
// dependent sums, Unicode in currency codes). Traps are caught with exit tests, so a crash
// fails one test instead of the whole run.

@Suite("LedgerCore regressions")
struct RegressionTests {
    /// ExactDecimal promises "every product of two parsed values inside Int128", but the parser
    /// accepts significands up to 10^27 − 1 and Int128 ends near 1.7 · 10^38. Aligning a 27-digit
    /// integer to scale 18 (for ==, <, +, -) needs 10^45; multiplying two needs 10^54. Each traps,
    /// so one crafted amount, quantity or rate in an invoice crashes the daemon.
    @Test("ExactDecimal ==, <, +, -, * trap on values the parser accepts")
    func exactDecimalOverflowTraps() async {
        await #expect(processExitsWith: .success) {
            let texts = [
                "999999999999999999999999999", "-999999999999999999999999999", "0.000000000000000001",
                "999999999.999999999999999999", "9999999999999999999",
            ]
            let values = texts.compactMap { try? ExactDecimal(parsing: $0) }
            for a in values {
                for b in values {
                    _ = a == b
                    _ = a < b
                    _ = a + b
                    _ = a - b
                    _ = a * b
                }
            }
        }
    }

    @Test("ExactDecimal == traps comparing a large integer with a small fraction")
    func exactDecimalEqualityTraps() async {
        await #expect(processExitsWith: .success) {
            // 10^21 aligned to 18 decimals is 10^39 > Int128.max. (If a fix lowers the parse limit
            // so this is refused, nothing is left to trap on and the test passes.)
            guard let big = try? ExactDecimal(parsing: "1000000000000000000000"),
                let tiny = try? ExactDecimal(parsing: "0.000000000000000001")
            else { return }
            precondition(big != tiny && tiny < big)
        }
    }

    /// PostingRules sums line amounts with `+=` and negates with `*`; an invoice whose lines
    /// (each a valid Int64 amount) add up past Int64 traps instead of throwing `.overflow`.
    @Test("PostingRules traps on Int64 overflow instead of throwing .overflow")
    func postingRulesOverflowTraps() async {
        await #expect(processExitsWith: .success) {
            // Two lines of 50 000 000 000 000 000.00 NOK: each fits in Int64 minor units, the sum does not.
            // (The second line is appended to the document directly: the totals cannot be
            // written in Int64 either, and PostingRules must refuse before it gets that far.)
            let half = Int64.max / 2 + 1
            var invoice = InvoiceSpec(lines: [(half, ExactDecimal(0))]).document(.invoice)
            invoice.lines.append(invoice.lines[0])
            do throws(JournalEntry.BuildError) {
                _ = try PostingRules.entry(for: invoice, direction: .purchase, accounts: AccountPlan())
                preconditionFailure("an entry that cannot be represented was built")
            } catch {
                precondition(error == .overflow, "expected .overflow, got \(error)")
            }
        }
        await #expect(processExitsWith: .success) {
            // One line of Int64.min minor units on a sale: the revenue posting negates it.
            let spec = InvoiceSpec(lines: [(.min, ExactDecimal(0))])
            do throws(JournalEntry.BuildError) {
                _ = try PostingRules.entry(
                    for: spec.document(.invoice, seller: us, buyer: customer), direction: .sale,
                    accounts: AccountPlan())
                preconditionFailure("an entry that cannot be represented was built")
            } catch {
                precondition(error == .overflow, "expected .overflow, got \(error)")
            }
        }
    }

    /// Money.sum reports overflow of a running total, so the answer depends on the order.
    @Test("Money.sum gives nil for a sum that fits, depending on order")
    func moneySumOrderDependent() {
        #expect(Money.sum([nok(1), nok(-1), nok(.max)], currency: .nok) == nok(.max))
        #expect(Money.sum([nok(.max), nok(1), nok(-1)], currency: .nok) == nok(.max))
    }

    /// Currency uppercases before checking, and Unicode uppercasing can change the length:
    /// "ß" becomes "SS", "ﬀ" becomes "FF".
    @Test("Currency accepts two-character non-ASCII codes that uppercase to three letters")
    func currencyUnicodeUppercasing() {
        #expect(Currency("ßa") == nil)
        #expect(Currency("ﬀx") == nil)
    }

    /// More than 18 decimals is reported as "malformed" rather than "too many decimals".
    @Test("Money(parsing:) reports excess decimals beyond ExactDecimal.maxScale as malformed")
    func moneyTooManyDecimalsMisreported() {
        #expect(throws: Money.ParseError.tooManyDecimals("0.0000000000000000001", allowed: 2)) {
            try Money(parsing: "0.0000000000000000001", currency: .nok)
        }
    }
}

/// A message quoting a value of megabytes is cut, so it can be logged, stored and shown.
@Test func rejectionMessagesAreBounded() {
    let short = Rejection("X", "A short message with ø and ü.")
    #expect(short.message == "A short message with ø and ü.")
    let long = Rejection("X", "The value is " + String(repeating: "å", count: 2_000_000) + ".")
    #expect(long.message.count < Rejection.maxMessageLength + 60)
    #expect(long.message.hasPrefix("The value is ååå"))
    #expect(long.message.hasSuffix("(shortened; the file itself is kept)"))
    // Exactly at the bound: kept whole.
    let exact = String(repeating: "e", count: Rejection.maxMessageLength)
    #expect(Rejection("X", exact).message == exact)
}

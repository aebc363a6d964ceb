import LedgerCore
import PropertyBased
import Testing

/// A generated set of postings that balances in each of its currencies.
struct BalancedPostings: Sendable, CustomStringConvertible {
    var postings: [JournalEntry.Posting]

    var description: String {
        postings.map { "\($0.account) \($0.amount)" }.joined(separator: ", ")
    }

    /// Debits are random positive amounts; their total is cut at random points into credits
    /// (cuts may coincide, giving zero postings). One or two currencies, some zero postings
    /// sprinkled in, and the whole list shuffled.
    static func generate(maxAmount: Int64 = 1_000_000_000_000) -> Generator<Self, Shrink.None<Self>> {
        scenario { rng in
            let pool: [Currency] = [.nok, .eur, jpy, kwd]
            let currencyCount = Int.random(in: 1...2, using: &rng)
            var currencies: [Currency] = []
            while currencies.count < currencyCount {
                let c = pool[Int.random(in: 0..<pool.count, using: &rng)]
                if !currencies.contains(c) { currencies.append(c) }
            }
            var postings: [JournalEntry.Posting] = []
            for c in currencies {
                let debits = (0..<Int.random(in: 1...5, using: &rng)).map { _ in edgy(1...maxAmount, &rng) }
                let total = debits.reduce(0, +)
                var cuts = (0..<Int.random(in: 0...5, using: &rng)).map { _ in
                    Int64.random(in: 0...total, using: &rng)
                }
                cuts = [0] + cuts.sorted() + [total]
                let credits = zip(cuts.dropFirst(), cuts).map { $0 - $1 }
                for (i, d) in debits.enumerated() {
                    postings.append(
                        .debit(Account("4\(i)00"), Money(minor: d, currency: c), memo: "debit \(i)"))
                }
                for (i, k) in credits.enumerated() {
                    // Half the credits are written as .credit(positive), half as a negative posting.
                    let amount = Money(minor: k, currency: c)
                    postings.append(
                        Bool.random(using: &rng)
                            ? .credit(Account("2\(i)00"), amount, memo: nil)
                            : JournalEntry.Posting(Account("2\(i)00"), amount.negated))
                }
                for _ in 0..<Int.random(in: 0...2, using: &rng) {
                    postings.append(.debit("9999", .zero(c), memo: "zero"))
                }
            }
            postings.shuffle(using: &rng)
            return BalancedPostings(postings: postings)
        }
    }
}

@Suite("JournalEntry")
struct JournalEntryTests {
    static let date = Day(year: 2026, month: 3, day: 14)!

    func build(_ postings: [JournalEntry.Posting]) throws(JournalEntry.BuildError) -> JournalEntry {
        try JournalEntry(date: Self.date, source: .manual, description: "test", postings: postings)
    }

    @Test("any balanced set of postings builds into well-formed lines")
    func balancedBuilds() async {
        await forAll(count: 1000, BalancedPostings.generate()) { generated in
            let postings = generated.postings
            let entry = try build(postings)
            let nonZero = postings.filter { !$0.amount.isZero }

            // Zero postings are dropped, the rest kept in order, one line each.
            #expect(entry.lines.count == nonZero.count)
            for (line, posting) in zip(entry.lines, nonZero) {
                #expect(line.account == posting.account)
                #expect(line.currency == posting.amount.currency)
                #expect(line.signedMinor == posting.amount.minor)
                #expect(line.memo == posting.memo)
                #expect(line.debit.minor == line.debitMinor && line.credit.minor == line.creditMinor)
            }
            expectWellFormedLines(entry)
            expectBalanced(entry)

            // Totals per currency are the sum of the positive postings.
            var expected: [Currency: Int64] = [:]
            for p in nonZero where p.amount.minor > 0 {
                expected[p.amount.currency, default: 0] += p.amount.minor
            }
            #expect(entry.totals == expected)
            #expect(entry.date == Self.date && entry.source == .manual && entry.description == "test")
        }
    }

    @Test("changing any one amount by a non-zero delta makes the entry .unbalanced")
    func perturbationUnbalances() async {
        let gen = zip(
            BalancedPostings.generate(), Gen.int(in: 0...1000), Gen.int64(in: 1...1_000_000), Gen.bool)
        await forAll(count: 1000, gen) { generated, pick, magnitude, down in
            var postings = generated.postings
            let i = pick % postings.count
            let old = postings[i]
            let delta = down ? -magnitude : magnitude
            let currency = old.amount.currency
            postings[i] = JournalEntry.Posting(
                old.account, Money(minor: old.amount.minor + delta, currency: currency))

            // The error names the one unbalanced currency with its debit and credit totals.
            let inCurrency = postings.map(\.amount).filter { $0.currency == currency }
            let debit = inCurrency.filter { $0.minor > 0 }.reduce(0) { $0 + $1.minor }
            let credit = inCurrency.filter { $0.minor < 0 }.reduce(0) { $0 - $1.minor }
            #expect(debit != credit)
            #expect(
                throws: JournalEntry.BuildError.unbalanced(currency: currency, debit: debit, credit: credit)
            ) {
                try build(postings)
            }
        }
    }

    @Test("moving one posting to another currency makes the entry .unbalanced")
    func currencySwapUnbalances() async {
        await forAll(count: 500, BalancedPostings.generate(), Gen.int(in: 0...1000)) {
            generated, pick in
            var postings = generated.postings.filter { !$0.amount.isZero }
            let i = pick % postings.count
            let old = postings[i]
            postings[i] = JournalEntry.Posting(old.account, Money(minor: old.amount.minor, currency: sek))
            let error = #expect(throws: JournalEntry.BuildError.self) { try build(postings) }
            guard case .unbalanced = error else {
                Issue.record("expected .unbalanced, got \(String(describing: error))")
                return
            }
        }
    }

    @Test("nothing to post is .empty")
    func empty() {
        #expect(throws: JournalEntry.BuildError.empty) { try build([]) }
        #expect(throws: JournalEntry.BuildError.empty) {
            try build([
                .debit("1920", .zero(.nok)), .credit("1500", .zero(.nok)), .debit("1920", .zero(.eur)),
            ])
        }
    }

    @Test("unbalanced examples name the currency and both totals")
    func unbalancedExamples() {
        #expect(throws: JournalEntry.BuildError.unbalanced(currency: .nok, debit: 100, credit: 0)) {
            try build([.debit("1920", nok(100))])
        }
        #expect(throws: JournalEntry.BuildError.unbalanced(currency: .nok, debit: 0, credit: 100)) {
            try build([.credit("1920", nok(100))])
        }
        // Balanced in total across currencies is not balanced.
        #expect(throws: JournalEntry.BuildError.unbalanced(currency: .eur, debit: 0, credit: 100)) {
            try build([.debit("1920", nok(100)), .credit("1500", Money(minor: 100, currency: .eur))])
        }
        let error = JournalEntry.BuildError.unbalanced(currency: .nok, debit: 100, credit: 99)
        #expect(error.description == "debits 1.00 NOK do not equal credits 0.99 NOK")
    }

    @Test("a negative debit is a credit and a negative credit is a debit")
    func negativeSides() throws {
        let entry = try build([.debit("4000", nok(-500)), .credit("2400", nok(-500))])
        #expect(entry.lines.map(Row.init) == [Row("4000", credit: "5.00"), Row("2400", debit: "5.00")])
        #expect(entry.totals == [.nok: 500])
    }

    @Test("Int64 overflow is .overflow, never a crash")
    func overflow() async throws {
        let half = Int64.max / 2 + 1
        #expect(throws: JournalEntry.BuildError.overflow) {
            try build([.debit("1", nok(half)), .debit("2", nok(half)), .credit("3", nok(.max))])
        }
        #expect(throws: JournalEntry.BuildError.overflow) {
            try build([.debit("1", nok(.max)), .credit("2", nok(half)), .credit("3", nok(half))])
        }
        #expect(throws: JournalEntry.BuildError.overflow) {
            try build([JournalEntry.Posting("1", nok(.min))])
        }
        // The largest amounts that do fit are fine.
        let max = try build([.debit("1", nok(.max)), .credit("2", nok(.max))])
        #expect(max.totals == [.nok: .max])
        let split = try build([
            .debit("1", nok(.max)), .credit("2", nok(.max - 1)), .credit("3", nok(1)),
        ])
        #expect(split.lines.count == 3)

        // Property: debits whose true total exceeds Int64.max always throw .overflow.
        let gen = Gen.int64(in: Int64.max / 4...Int64.max).array(of: 2...6)
        await forAll(count: 500, gen) { debits in
            let exact = debits.reduce(Int128(0)) { $0 + Int128($1) }
            let postings =
                debits.map { JournalEntry.Posting.debit("4000", nok($0)) } + [.credit("2400", nok(.max))]
            if exact > Int128(Int64.max) {
                #expect(throws: JournalEntry.BuildError.overflow) { try build(postings) }
            }
        }
    }

    @Test("build errors read as sentences")
    func errorDescriptions() {
        #expect(JournalEntry.BuildError.empty.description == "the entry has no amounts to post")
        #expect(JournalEntry.BuildError.overflow.description == "the amounts are too large to add up")
    }
}

/// A general-ledger account number from the chart of accounts (NS 4102 by default).
public struct Account: Sendable, Hashable, Comparable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let number: String

    public init(_ number: String) { self.number = number }
    public init(stringLiteral value: String) { self.number = value }

    public var description: String { number }
    public static func < (a: Account, b: Account) -> Bool { a.number < b.number }
}

/// Where a journal entry came from. Stored as its raw value.
public enum EntrySource: String, Sendable, Codable, CaseIterable {
    case ehf
    case wiseCSV = "wise_csv"
    case check
    case manual
}

/// One side of one account in a journal entry. Exactly one of debit and credit is non-zero,
/// and neither is negative.
public struct JournalLine: Sendable, Hashable {
    public let account: Account
    public let debitMinor: Int64
    public let creditMinor: Int64
    public let currency: Currency
    public let memo: String?

    public var debit: Money { Money(minor: debitMinor, currency: currency) }
    public var credit: Money { Money(minor: creditMinor, currency: currency) }

    /// The signed effect on the account: debit positive, credit negative.
    public var signedMinor: Int64 { debitMinor - creditMinor }
}

/// A balanced double-entry journal entry. It cannot be built unbalanced: the only
/// initialiser checks that debits equal credits in every currency.
public struct JournalEntry: Sendable, Hashable {
    public let date: Day
    public let source: EntrySource
    public let description: String
    public let lines: [JournalLine]

    public enum BuildError: Error, Equatable, Sendable, CustomStringConvertible {
        case empty
        case unbalanced(currency: Currency, debit: Int64, credit: Int64)
        case overflow
        /// An amount larger than the books keep (`largest`).
        case tooLarge(Money, largest: Money)

        public var description: String {
            switch self {
            case .empty:
                return "the entry has no amounts to post"
            case .unbalanced(let currency, let debit, let credit):
                return
                    "debits \(Money(minor: debit, currency: currency)) do not equal credits \(Money(minor: credit, currency: currency))"
            case .overflow:
                return "the amounts are too large to add up"
            case .tooLarge(let amount, let largest):
                return "the amount \(amount) is larger than ledgerd keeps (at most \(largest) in one amount)"
            }
        }
    }

    /// A posting: a signed amount on an account (positive debits, negative credits).
    public struct Posting: Sendable, Hashable {
        public let account: Account
        public let amount: Money
        public let memo: String?

        public init(_ account: Account, _ amount: Money, memo: String? = nil) {
            self.account = account
            self.amount = amount
            self.memo = memo
        }

        public static func debit(_ account: Account, _ amount: Money, memo: String? = nil) -> Posting {
            Posting(account, amount, memo: memo)
        }

        public static func credit(_ account: Account, _ amount: Money, memo: String? = nil) -> Posting {
            Posting(account, amount.negated, memo: memo)
        }
    }

    /// Builds an entry from signed postings. Zero postings are dropped; a negative debit
    /// becomes a credit and vice versa (negative invoices, corrections). Throws when the
    /// postings do not balance per currency or nothing is left to post.
    public init(date: Day, source: EntrySource, description: String, postings: [Posting]) throws(BuildError) {
        var lines: [JournalLine] = []
        lines.reserveCapacity(postings.count)
        // Debits and credits per currency. An entry has one currency, rarely two: a list
        // searched in order costs less than hashing each posting's currency code.
        var totals: [(currency: Currency, debit: Int64, credit: Int64)] = []
        for posting in postings where !posting.amount.isZero {
            let minor = posting.amount.minor
            guard minor != Int64.min else { throw .overflow }
            let currency = posting.amount.currency
            let index: Int
            if let found = totals.firstIndex(where: { $0.currency == currency }) {
                index = found
            } else {
                totals.append((currency, 0, 0))
                index = totals.count - 1
            }
            if minor > 0 {
                let (sum, overflow) = totals[index].debit.addingReportingOverflow(minor)
                guard !overflow else { throw .overflow }
                totals[index].debit = sum
                lines.append(
                    JournalLine(
                        account: posting.account, debitMinor: minor, creditMinor: 0, currency: currency,
                        memo: posting.memo))
            } else {
                let (sum, overflow) = totals[index].credit.addingReportingOverflow(-minor)
                guard !overflow else { throw .overflow }
                totals[index].credit = sum
                lines.append(
                    JournalLine(
                        account: posting.account, debitMinor: 0, creditMinor: -minor, currency: currency,
                        memo: posting.memo))
            }
        }
        guard !lines.isEmpty else { throw .empty }
        // The first currency, in code order, that does not balance.
        if let unbalanced = totals.filter({ $0.debit != $0.credit }).min(by: { $0.currency < $1.currency }) {
            throw .unbalanced(currency: unbalanced.currency, debit: unbalanced.debit, credit: unbalanced.credit)
        }
        self.date = date
        self.source = source
        self.description = description
        self.lines = lines
    }

    /// An entry that moves nothing: the record of a document whose amounts are all zero (an
    /// invoice of 0, which EN 16931 allows). Only the posting rules make one.
    init(movingNothingOn date: Day, source: EntrySource, description: String) {
        self.date = date
        self.source = source
        self.description = description
        self.lines = []
    }

    /// Total debits per currency (equal to total credits by construction).
    public var totals: [Currency: Int64] {
        var result: [Currency: Int64] = [:]
        for line in lines { result[line.currency, default: 0] += line.debitMinor }
        return result
    }
}

/// Aging of open invoices: how far past their due date the open amounts are, in the five
/// buckets accountants use (current, 1–30, 31–60, 61–90, more than 90 days past due).
///
/// Rules (pure, no I/O, no clock — the caller says which day "today" is):
/// - Days past due = today − due date. Zero or negative (due today or later) is `current`.
/// - An invoice without a known due date (payment terms only in free text, or none) is taken
///   to fall due **30 days after its issue date** (`Aging.daysToPayWithoutDueDate`), the
///   default of Norwegian law when no term is agreed: it is not overdue the day it arrives,
///   nor does it hide in `current` forever. Rows count such invoices (`withoutDueDate`) so a
///   page can say so.
/// - Amounts are signed: a credit note is negative and reduces the bucket its own date
///   falls in (it is not matched against the invoice it credits).
/// - Sums are exact integers in minor units, per party and currency; currencies are never
///   mixed or converted.
public enum AgingBucket: String, CaseIterable, Sendable, Codable, Hashable {
    case current
    case days1to30 = "1-30"
    case days31to60 = "31-60"
    case days61to90 = "61-90"
    case over90 = "90+"

    /// The bucket for a number of days past due: the first that holds that many
    /// (`mostDaysPastDue`, which `Aging.bucketStarts` also reads).
    public init(daysPastDue days: Int) {
        self = .over90
        for bucket in Self.allCases {
            if let most = bucket.mostDaysPastDue, days <= most {
                self = bucket
                return
            }
        }
    }

    /// Human label: "Current", "1–30 days", …
    public var label: String {
        switch self {
        case .current: return "Current"
        case .days1to30: return "1–30 days"
        case .days31to60: return "31–60 days"
        case .days61to90: return "61–90 days"
        case .over90: return "90+ days"
        }
    }

    /// The most days past due the bucket holds; nil for `over90`, which holds any number more.
    public var mostDaysPastDue: Int? {
        switch self {
        case .current: return 0
        case .days1to30: return 30
        case .days31to60: return 60
        case .days61to90: return 90
        case .over90: return nil
        }
    }

    /// Position in `allCases` (0…4).
    public var index: Int {
        switch self {
        case .current: return 0
        case .days1to30: return 1
        case .days31to60: return 2
        case .days61to90: return 3
        case .over90: return 4
        }
    }
}

/// One open amount to age: an invoice or credit note, or several of one party that share a
/// currency and a date (the caller may pre-aggregate; the result is the same).
public struct AgingItem: Sendable, Hashable {
    public var party: String
    public var currency: Currency
    /// Signed open amount in minor units (credit notes negative).
    public var openMinor: Int64
    public var issueDate: Day
    public var dueDate: Day?
    /// How many documents this item stands for.
    public var documents: Int

    public init(party: String, currency: Currency, openMinor: Int64, issueDate: Day, dueDate: Day?, documents: Int = 1)
    {
        self.party = party
        self.currency = currency
        self.openMinor = openMinor
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.documents = documents
    }
}

/// The aged open amounts of one party (or of everyone, for a total row) in one currency.
public struct AgingRow: Sendable, Hashable {
    /// The party's name; nil for a total row.
    public var party: String?
    public var currency: Currency
    /// Minor units per bucket, in `AgingBucket.allCases` order (always five entries).
    public var buckets: [Int64]
    public var documents: Int
    /// Documents that leave money owed (not credit notes, which are due on no day) aged from
    /// their issue date because the due date is unknown.
    public var withoutDueDate: Int

    public init(
        party: String?, currency: Currency, buckets: [Int64] = [0, 0, 0, 0, 0], documents: Int = 0,
        withoutDueDate: Int = 0
    ) {
        precondition(buckets.count == AgingBucket.allCases.count)
        self.party = party
        self.currency = currency
        self.buckets = buckets
        self.documents = documents
        self.withoutDueDate = withoutDueDate
    }

    public func amount(_ bucket: AgingBucket) -> Money { Money(minor: buckets[bucket.index], currency: currency) }

    /// Sum of all buckets.
    public var totalMinor: Int64 { buckets.reduce(0, Aging.add) }
    public var total: Money { Money(minor: totalMinor, currency: currency) }

    /// Minor units more than 90 days past due.
    public var over90Minor: Int64 { buckets[AgingBucket.over90.index] }
}

public enum Aging {
    /// The days to pay given an invoice without a due date: the Late Payment Interest Act
    /// (forsinkelsesrenteloven § 2) lets interest run from 30 days after an invoice is sent
    /// when no due date was agreed.
    public static let daysToPayWithoutDueDate = 30

    /// Days `today` is past the due date (or `daysToPayWithoutDueDate` after the issue date
    /// when the due date is unknown). Negative when not yet due.
    public static func daysPastDue(issueDate: Day, dueDate: Day?, today: Day) -> Int {
        dueDate?.days(until: today) ?? issueDate.days(until: today) - daysToPayWithoutDueDate
    }

    /// The day a document is aged as due: its due date, or `daysToPayWithoutDueDate` after
    /// its issue date when it states none.
    public static func dueDate(issueDate: Day, dueDate: Day?) -> Day {
        dueDate ?? issueDate.adding(days: daysToPayWithoutDueDate)
    }

    /// The oldest day something was due on, of the documents in `items` that leave money owed
    /// (a positive open amount: not credit notes), per party and currency as `rows` keys them
    /// ("party\u{0}currency"); the same day the aging counts from, a document without a due
    /// date included.
    public static func oldestDue(_ items: [AgingItem]) -> [String: Day] {
        var oldest: [String: Day] = [:]
        for item in items where item.openMinor > 0 {
            let due = dueDate(issueDate: item.issueDate, dueDate: item.dueDate)
            let key = "\(item.party)\u{0}\(item.currency.code)"
            if oldest[key].map({ due < $0 }) ?? true { oldest[key] = due }
        }
        return oldest
    }

    /// Where the buckets begin as of `today`, for a store that groups open documents by bucket
    /// itself (one item per group gives `rows` the same result as the documents one by one, as
    /// long as each item's dates fall in its group's bucket). `dueDates`: the earliest due date
    /// of each bucket but `over90`, in `AgingBucket.allCases` order; a document due on a day
    /// falls in the first bucket it is on or after, and in `over90` when before them all.
    /// `issueDates`: the same for the issue date of a document without a due date (which falls
    /// due `daysToPayWithoutDueDate` after it).
    public static func bucketStarts(asOf today: Day) -> (dueDates: [Day], issueDates: [Day]) {
        let due = AgingBucket.allCases.compactMap { $0.mostDaysPastDue.map { today.adding(days: -$0) } }
        return (due, due.map { $0.adding(days: -daysToPayWithoutDueDate) })
    }

    public static func bucket(issueDate: Day, dueDate: Day?, today: Day) -> AgingBucket {
        AgingBucket(daysPastDue: daysPastDue(issueDate: issueDate, dueDate: dueDate, today: today))
    }

    /// Ages `items` as of `today`: one row per (party, currency), sorted by party name
    /// (`NameOrder`: case-insensitively, numbers by value), then currency. Items with a zero open amount still count as
    /// documents. Sums saturate at the Int64 range instead of trapping (2^63 minor units is
    /// far beyond any real ledger).
    public static func rows(_ items: [AgingItem], asOf today: Day) -> [AgingRow] {
        struct Key: Hashable {
            var party: String
            var currency: Currency
        }
        var rows: [Key: AgingRow] = [:]
        for item in items {
            let key = Key(party: item.party, currency: item.currency)
            var row = rows[key] ?? AgingRow(party: item.party, currency: item.currency)
            let index = bucket(issueDate: item.issueDate, dueDate: item.dueDate, today: today).index
            row.buckets[index] = add(row.buckets[index], item.openMinor)
            row.documents += item.documents
            // A credit (a negative open amount) states no due date as a rule: not worth a note.
            if item.dueDate == nil, item.openMinor > 0 { row.withoutDueDate += item.documents }
            rows[key] = row
        }
        return rows.values.sorted { a, b in
            let pa = a.party ?? ""
            let pb = b.party ?? ""
            if pa != pb { return NameOrder.precedes(pa, pb) }
            return a.currency < b.currency
        }
    }

    /// One total row per currency (party nil), sorted by currency.
    public static func totals(_ rows: [AgingRow]) -> [AgingRow] {
        var totals: [Currency: AgingRow] = [:]
        for row in rows {
            var total = totals[row.currency] ?? AgingRow(party: nil, currency: row.currency)
            for i in total.buckets.indices { total.buckets[i] = add(total.buckets[i], row.buckets[i]) }
            total.documents += row.documents
            total.withoutDueDate += row.withoutDueDate
            totals[row.currency] = total
        }
        return totals.values.sorted { $0.currency < $1.currency }
    }

    /// Adds two amounts in minor units, saturating at the Int64 range instead of trapping.
    public static func add(_ a: Int64, _ b: Int64) -> Int64 {
        let (sum, overflow) = a.addingReportingOverflow(b)
        guard overflow else { return sum }
        return b > 0 ? .max : .min
    }
}

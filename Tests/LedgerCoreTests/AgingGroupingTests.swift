import LedgerCore
import PropertyBased
import Testing

/// A store may group open documents by aging bucket before handing them to `Aging`, as the
/// status page's query does, using `Aging.bucketStarts`: the result must be what the documents
/// one by one give.
@Suite("Aging by bucket starts")
struct AgingGroupingTests {
    /// The bucket a day falls in by the starts alone: the first it is on or after, else the last.
    static func bucket(of day: Day, starts: [Day]) -> Int {
        starts.firstIndex { day >= $0 } ?? starts.count
    }

    static let today = Gen.int(in: 10_000...40_000).map { Day(daysSinceEpoch: $0) }

    @Test("a due date, or the issue date of a document without one, falls in the bucket Aging gives it")
    func startsAgreeWithTheBuckets() async {
        await forAll(count: 3000, Self.today, Gen.int(in: -200...200), Gen.bool) { today, offset, hasDueDate in
            let starts = Aging.bucketStarts(asOf: today)
            #expect(starts.dueDates.count == AgingBucket.allCases.count - 1)
            let day = today.adding(days: offset)
            let expected = Aging.bucket(issueDate: day, dueDate: hasDueDate ? day : nil, today: today).index
            let found = Self.bucket(of: day, starts: hasDueDate ? starts.dueDates : starts.issueDates)
            #expect(found == expected, "\(day) as of \(today), due date known: \(hasDueDate)")
        }
    }

    @Test("the edges: due today is current, a day later 1–30; without a due date, 30 days after issue")
    func edges() {
        let today = Day(iso: "2026-03-01")!
        let starts = Aging.bucketStarts(asOf: today)
        #expect(starts.dueDates.map(\.description) == ["2026-03-01", "2026-01-30", "2025-12-31", "2025-12-01"])
        #expect(starts.issueDates.map(\.description) == ["2026-01-30", "2025-12-31", "2025-12-01", "2025-11-01"])
    }

    struct Document: CustomStringConvertible {
        var party: String
        var currency: Currency
        var open: Int64
        var issued: Int
        var dueAfter: Int?
        var description: String {
            "\(party) \(currency.code) \(open) issued \(issued) due +\(dueAfter.map(String.init) ?? "-")"
        }
    }

    static let documents = scenario { rng -> (Day, [Document]) in
        let today = Day(daysSinceEpoch: Int.random(in: 10_000...40_000, using: &rng))
        let documents = (0..<Int.random(in: 0...40, using: &rng)).map { _ in
            Document(
                party: ["Alfa AS", "beta AS", "Gamma"].randomElement(using: &rng)!,
                currency: Bool.random(using: &rng) ? .nok : Currency("EUR")!,
                open: Int.random(in: 0..<5, using: &rng) == 0 ? 0 : Int64.random(in: -5_000...50_000, using: &rng),
                issued: Int.random(in: -300...10, using: &rng),
                dueAfter: Bool.random(using: &rng) ? nil : Int.random(in: 0...60, using: &rng))
        }
        return (today, documents)
    }

    @Test("documents grouped by party, currency, bucket, due date known and owed or not age as they do one by one")
    func groupingByBucketChangesNothing() async {
        await forAll(count: 1000, Self.documents) { today, documents in
            let single = documents.map {
                let issued = today.adding(days: $0.issued)
                return AgingItem(
                    party: $0.party, currency: $0.currency, openMinor: $0.open, issueDate: issued,
                    dueDate: $0.dueAfter.map { issued.adding(days: $0) })
            }
            let starts = Aging.bucketStarts(asOf: today)
            struct Key: Hashable {
                var party: String
                var currency: Currency
                var bucket: Int
                var dueDateKnown: Bool
                var owed: Bool
            }
            var groups: [Key: AgingItem] = [:]
            for item in single {
                let key = Key(
                    party: item.party, currency: item.currency,
                    bucket: item.dueDate.map { Self.bucket(of: $0, starts: starts.dueDates) }
                        ?? Self.bucket(of: item.issueDate, starts: starts.issueDates),
                    dueDateKnown: item.dueDate != nil, owed: item.openMinor > 0)
                guard var group = groups[key] else {
                    groups[key] = item
                    continue
                }
                group.openMinor += item.openMinor
                group.documents += 1
                group.issueDate = min(group.issueDate, item.issueDate)
                if let earliest = group.dueDate, let due = item.dueDate { group.dueDate = min(earliest, due) }
                groups[key] = group
            }
            let grouped = Array(groups.values)
            #expect(Aging.rows(grouped, asOf: today) == Aging.rows(single, asOf: today), "\(documents)")
            #expect(Aging.oldestDue(grouped) == Aging.oldestDue(single), "\(documents)")
        }
    }
}

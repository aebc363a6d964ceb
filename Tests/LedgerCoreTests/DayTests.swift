import LedgerCore
import PropertyBased
import Testing

@Suite("Day")
struct DayTests {
    /// 0001-01-01 and 9999-12-31 as days since 1970-01-01 (proleptic Gregorian).
    static let first = -719_162
    static let last = 2_932_896

    static let anyDay = Gen.int(in: first...last).map { Day(daysSinceEpoch: $0) }

    @Test("known anchors")
    func anchors() {
        #expect(Day(year: 1970, month: 1, day: 1)!.daysSinceEpoch == 0)
        #expect(Day(year: 1969, month: 12, day: 31)!.daysSinceEpoch == -1)
        #expect(Day(year: 2000, month: 3, day: 1)!.daysSinceEpoch == 11_017)
        #expect(Day(year: 1, month: 1, day: 1)!.daysSinceEpoch == Self.first)
        #expect(Day(year: 9999, month: 12, day: 31)!.daysSinceEpoch == Self.last)
        #expect(Day(daysSinceEpoch: 0).description == "1970-01-01")
        #expect(Day(daysSinceEpoch: 20_526).description == "2026-03-14")
    }

    @Test("every day from 0001-01-01 to 9999-12-31 follows the previous one, both directions agree")
    func exhaustiveCalendar() {
        // Walk the calendar with an independent successor function and compare with both
        // conversions at every step: 3.65 million days, the whole supported range.
        var (y, m, d) = (1, 1, 1)
        var mismatches = 0
        var firstMismatch: String?
        for z in Self.first...Self.last {
            let day = Day(daysSinceEpoch: z)
            let constructed = Day(year: y, month: m, day: d)
            if day.year != y || day.month != m || day.day != d || constructed?.daysSinceEpoch != z {
                mismatches += 1
                if firstMismatch == nil { firstMismatch = "z=\(z): expected \(y)-\(m)-\(d), got \(day)" }
            }
            let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
            let length = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][m - 1]
            d += 1
            if d > length {
                d = 1
                m += 1
                if m > 12 {
                    m = 1
                    y += 1
                }
            }
        }
        #expect(mismatches == 0, "\(firstMismatch ?? "")")
        #expect((y, m, d) == (10000, 1, 1))
    }

    @Test("daysSinceEpoch ↔ Day round trip, and the Day is a valid calendar date")
    func roundTrip() async {
        await forAll(count: 2000, Gen.int(in: Self.first...Self.last)) { z in
            let day = Day(daysSinceEpoch: z)
            #expect(day.daysSinceEpoch == z)
            let validated = try #require(Day(year: day.year, month: day.month, day: day.day), "\(day)")
            #expect(validated == day)
            #expect(Day(iso: day.description) == day)
            let padded = [(day.year, 4), (day.month, 2), (day.day, 2)].map { value, width in
                String(repeating: "0", count: width - String(value).count) + String(value)
            }
            #expect(day.description == padded.joined(separator: "-"))
        }
    }

    @Test("days(until:) is additive and adding(days:) inverts it")
    func daysUntil() async {
        await forAll(count: 1000, Self.anyDay, Self.anyDay, Self.anyDay) { a, b, c in
            #expect(a.days(until: b) + b.days(until: c) == a.days(until: c))
            #expect(a.days(until: b) == -b.days(until: a))
            #expect(a.days(until: a) == 0)
            #expect(a.adding(days: a.days(until: b)) == b)
            #expect((a < b) == (a.days(until: b) > 0))
            #expect((a < b) == ((a.year, a.month, a.day) < (b.year, b.month, b.day)))
            #expect((a < b) == (a.description < b.description))
        }
        let d = Day(year: 2026, month: 1, day: 31)!
        #expect(d.adding(days: 29).description == "2026-03-01")
        #expect(Day(year: 2024, month: 1, day: 31)!.adding(days: 29).description == "2024-02-29")
        #expect(d.adding(days: -31).description == "2025-12-31")
        #expect(
            Day(year: 2026, month: 3, day: 14)!.days(until: Day(year: 2026, month: 4, day: 13)!) == 30)
    }

    @Test("leap years")
    func leapYears() {
        #expect(Day.isLeap(2024) && Day.isLeap(2000) && Day.isLeap(2400) && Day.isLeap(4))
        #expect(!Day.isLeap(2026) && !Day.isLeap(1900) && !Day.isLeap(2100) && !Day.isLeap(1))
        #expect(Day.daysInMonth(year: 2024, month: 2) == 29)
        #expect(Day.daysInMonth(year: 2026, month: 2) == 28)
        #expect(Day.daysInMonth(year: 2026, month: 4) == 30)
        #expect(Day.daysInMonth(year: 2026, month: 12) == 31)
    }

    @Test(
        "accepted ISO dates",
        arguments: ["2024-02-29", "2000-02-29", "0001-01-01", "9999-12-31", "2026-04-30"])
    func accepted(_ text: String) throws {
        let day = try #require(Day(iso: text))
        #expect(day.description == text)
    }

    @Test(
        "refused ISO dates",
        arguments: [
            "2026-02-29", "1900-02-29", "2026-1-01", "2026-01-1", "26-01-01", "2026-13-01", "2026-00-10",
            "2026-01-00",
            "2026-01-32", "2026-04-31", "0000-01-01", "", "2026-01-01Z", "2026-01-01T00:00",
            " 2026-01-01", "2026-01-01 ",
            "2026/01/01", "20260101", "2026-0a-01", "+026-01-01", "-026-01-01", "２０２６-01-01",
            "2026-01-٠١", "10000-01-01",
        ])
    func refused(_ text: String) {
        #expect(Day(iso: text) == nil)
    }

    /// Parsing in place agrees with reading the three numbers one by one, on strings near
    /// the shape of a date.
    @Test("ISO dates read in place agree with their parts")
    func isoAgreesWithItsParts() async {
        let alphabet = Array("0123456789--12").map(String.init) + ["Z", "+", ":", " ", "٠"]
        let gen = scenario { rng -> String in
            (0..<Int.random(in: 8...12, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }.joined()
        }
        await forAll(count: 5000, gen) { text in
            let bytes = Array(text.utf8)
            var expected: Day?
            if bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                bytes.enumerated().allSatisfy({ $0.offset == 4 || $0.offset == 7 || (0x30...0x39).contains($0.element) }
                )
            {
                let parts = text.split(separator: "-").map { Int($0)! }
                expected = Day(year: parts[0], month: parts[1], day: parts[2])
            }
            #expect(Day(iso: text) == expected, "\(text)")
            #expect(Day(isoUTF8: bytes) == expected, "\(text)")
        }
        // Valid dates, which random strings seldom are.
        await forAll(count: 2000, Gen.int(in: Self.first...Self.last)) { z in
            let day = Day(daysSinceEpoch: z)
            #expect(Day(iso: day.description) == day)
        }
    }

    @Test("components out of range are refused")
    func components() {
        #expect(Day(year: 2026, month: 2, day: 29) == nil)
        #expect(Day(year: 2026, month: 0, day: 1) == nil)
        #expect(Day(year: 2026, month: 13, day: 1) == nil)
        #expect(Day(year: 2026, month: 1, day: 0) == nil)
        #expect(Day(year: 0, month: 1, day: 1) == nil)
        #expect(Day(year: 10000, month: 1, day: 1) == nil)
        #expect(Day(year: 2026, month: -1, day: 1) == nil)
    }
}

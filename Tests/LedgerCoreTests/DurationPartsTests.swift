import LedgerCore
import PropertyBased
import Testing

@Suite struct DurationPartsTests {
    @Test func wholeNanosecondsAndSeconds() {
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.milliseconds(1500).seconds == 1.5)
        #expect(Duration.nanoseconds(7).nanoseconds == 7)
        #expect(Duration.zero.nanoseconds == 0)
        #expect(Duration.seconds(-2).nanoseconds == -2_000_000_000)
        #expect((Duration.nanoseconds(3) / 2).nanoseconds == 1, "rounded toward zero")
        #expect((Duration.nanoseconds(-3) / 2).nanoseconds == -1, "rounded toward zero")
    }

    @Test func saturatesBeyondInt64() {
        let centuries = Duration.seconds(Int64.max / 2)
        #expect(centuries.nanoseconds == .max)
        #expect((.zero - centuries).nanoseconds == .min)
    }

    /// Any duration of whole nanoseconds reads back as exactly those nanoseconds, and its
    /// seconds agree with them to a part in 10¹⁵.
    @Test func anyNanosecondCountReadsBack() async {
        let gen = scenario { rng in Int64.random(in: .min / 2 ... .max / 2, using: &rng) }
        await forAll(count: 2000, gen) { count in
            let duration = Duration.nanoseconds(count)
            #expect(duration.nanoseconds == count)
            let expected = Double(count) / 1e9
            #expect(abs(duration.seconds - expected) <= abs(expected) * 1e-15 + 1e-18)
        }
    }
}

import Testing

@testable import LedgerConfig

@Suite struct DurationParserTests {
    @Test func everyMillisecondCountParses() {
        for n in 0...10_000 {
            #expect(DurationParser.parse("\(n)ms") == .milliseconds(n))
        }
    }

    @Test func everyUnitParses() {
        for n in [0, 1, 7, 59, 60, 61, 999, 1000, 86_400] {
            #expect(DurationParser.parse("\(n)h") == .seconds(n * 3600))
            #expect(DurationParser.parse("\(n)m") == .seconds(n * 60))
            #expect(DurationParser.parse("\(n)s") == .seconds(n))
            #expect(DurationParser.parse("\(n)us") == .microseconds(n))
            #expect(DurationParser.parse("\(n)µs") == .microseconds(n))
        }
    }

    @Test func compoundDurationsAddUp() {
        for h in [0, 1, 23] {
            for m in [0, 1, 30, 59] {
                for s in [0, 1, 45] {
                    for ms in [0, 5, 500] {
                        let text = "\(h)h\(m)m\(s)s\(ms)ms"
                        #expect(
                            DurationParser.parse(text) == .milliseconds(((h * 60 + m) * 60 + s) * 1000 + ms), "\(text)")
                    }
                }
            }
        }
        #expect(DurationParser.parse("1m30s") == .seconds(90))
        #expect(DurationParser.parse("1h5s") == .seconds(3605))
        #expect(DurationParser.parse("90m") == .seconds(5400))
    }

    @Test func decimalsAreExact() {
        #expect(DurationParser.parse("1.5s") == .milliseconds(1500))
        #expect(DurationParser.parse("0.25h") == .seconds(900))
        #expect(DurationParser.parse("2.5ms") == .microseconds(2500))
        #expect(DurationParser.parse("0.001us") == .nanoseconds(1))
        #expect(DurationParser.parse("1.000000000s") == .seconds(1))
        // Finer than a nanosecond cannot be represented exactly.
        #expect(DurationParser.parse("0.0001us") == nil)
    }

    @Test func formatReadsBack() {
        for seconds in stride(from: 0, through: 200_000, by: 997) {
            for ms in [0, 1, 250, 999] {
                let duration = Duration.seconds(seconds) + .milliseconds(ms)
                #expect(DurationParser.parse(DurationParser.format(duration)) == duration)
            }
        }
        #expect(DurationParser.format(.seconds(90)) == "1m30s")
        #expect(DurationParser.format(.milliseconds(500)) == "500ms")
        #expect(DurationParser.format(.zero) == "0s")
        #expect(DurationParser.format(.seconds(7200)) == "2h")
    }

    @Test(arguments: [
        "", " ", "2", "0", "-1s", "+1s", "1 s", "2 seconds", "1S", "1H", "1d", "1sec", "s", "ms", ".5s", "5.s", "1..5s",
        "1s1s", "30s1m", "1ms1s", "1us1µs", "1m 30s", "1m30", "1e3ms", "１s", "9223372036854775807h",
        "99999999999999999999ms",
        "1h-5m", "1_000ms", "NaN", "infinity",
    ])
    func garbageIsRefused(_ text: String) {
        #expect(DurationParser.parse(text) == nil, "\(text)")
    }

    @Test func theLargestDurationsStillFit() {
        #expect(DurationParser.parse("2562047h") == .seconds(2_562_047 * 3600))
        #expect(DurationParser.parse("2562048h") == nil)  // beyond Int64 nanoseconds
    }

    @Test func byteSizes() {
        #expect(ByteSizeParser.parse("0") == 0)
        #expect(ByteSizeParser.parse("50MB") == 50_000_000)
        #expect(ByteSizeParser.parse("50 MiB") == 50 << 20)
        #expect(ByteSizeParser.parse("1kb") == 1000)
        #expect(ByteSizeParser.parse("7B") == 7)
        #expect(ByteSizeParser.parse("2TiB") == 2 << 40)
        for bad in ["", "MB", "-1MB", "1.5MB", "1  MB", "1 XB", "9999999999999TB", " 1MB"] {
            #expect(ByteSizeParser.parse(bad) == nil, "\(bad)")
        }
    }
}

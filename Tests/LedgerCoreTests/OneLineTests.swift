import Foundation
import LedgerCore
import PropertyBased
import Testing

@Suite struct OneLineTests {
    @Test(arguments: [
        ("faktura-2026.xml", "faktura-2026.xml"),
        ("Bjørnstad & Sønn AS — faktura é.xml", "Bjørnstad & Sønn AS — faktura é.xml"),
        ("a\nposted: other.xml", "a\\nposted: other.xml"),
        ("tab\there\r", "tab\\there\\r"),
        ("red \u{1B}[31mtext", "red \\u001B[31mtext"),
        ("nul\u{0}del\u{7F}nel\u{85}", "nul\\u0000del\\u007Fnel\\u0085"),
        ("invoice\u{202E}lmx.exe", "invoice\\u202Elmx.exe"),
        ("line\u{2028}para\u{2029}", "line\\u2028para\\u2029"),
        ("back\\slash \"quoted\"", "back\\slash \"quoted\""),
    ])
    func controlsAreShownAsEscapes(text: String, shown: String) {
        #expect(OneLine.escaped(text) == shown)
    }

    @Test func quotedTextIsAStringThatReadsBackExactly() {
        #expect(OneLine.escaped("a\"b\\c\u{1}", quoting: true) == #""a\"b\\c\u0001""#)
        #expect(OneLine.escaped("", quoting: true) == #""""#)
    }

    /// A text is left as it is exactly when none of its characters is one to escape: read from
    /// its bytes, each of them is found among its neighbours, whatever comes before and after.
    @Test func textIsLeftAsItIsExactlyWhenNothingInItIsEscaped() async {
        let escaped: Set<UInt32> = Set(0..<0x20).union(0x7F..<0xA0).union([
            0x2028, 0x2029, 0x200E, 0x200F, 0x061C, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2066, 0x2067,
            0x2068, 0x2069,
        ])
        let neighbours: [UInt32] = [
            0x41, 0x7E, 0xA0, 0xC5, 0xF8, 0x061B, 0x061D, 0x0800, 0x1FFF, 0x200D, 0x2010, 0x2027, 0x202F, 0x2065,
            0x206A, 0x20AC, 0x2192, 0x2FFF, 0x3000, 0xFEFF, 0x1F600, 0x10FFFF,
        ]
        let alphabet = (Array(escaped) + neighbours).compactMap(Unicode.Scalar.init)
        let gen = scenario { rng -> String in
            var text = ""
            for _ in 0..<Int.random(in: 0..<12, using: &rng) {
                let pool = Bool.random(using: &rng) ? neighbours.compactMap(Unicode.Scalar.init) : alphabet
                text.unicodeScalars.append(pool[Int.random(in: 0..<pool.count, using: &rng)])
            }
            return text
        }
        await forAll(count: 5000, gen) { text in
            let plain = !text.unicodeScalars.contains { escaped.contains($0.value) }
            #expect((OneLine.escaped(text) == text) == plain, "\(text.debugDescription)")
        }
    }

    /// Any text: the result holds no character that breaks or reorders a line, and quoted it
    /// decodes as a JSON string to exactly the text it came from.
    @Test func anyTextStaysOnOneLineAndReadsBack() async {
        let alphabet: [Unicode.Scalar] =
            (0..<0xA0).map { Unicode.Scalar(UInt8($0)) } + [
                "ø", "Å", "é", "\u{301}", "\u{2028}", "\u{2029}", "\u{200E}", "\u{202E}", "\u{2067}", "\u{061C}",
                "😀", "\u{FEFF}",
            ]
        let gen = scenario { rng -> String in
            var text = ""
            for _ in 0..<Int.random(in: 0..<30, using: &rng) {
                text.unicodeScalars.append(alphabet[Int.random(in: 0..<alphabet.count, using: &rng)])
            }
            return text
        }
        await forAll(count: 3000, gen) { text in
            let shown = OneLine.escaped(text)
            let breaking = shown.unicodeScalars.filter {
                $0.value < 0x20 || (0x7F..<0xA0).contains($0.value)
                    || [0x2028, 0x2029, 0x200E, 0x202E, 0x2067, 0x061C]
                        .contains($0.value)
            }
            #expect(breaking.isEmpty, "\(text.debugDescription) -> \(shown.debugDescription)")
            let quoted = OneLine.escaped(text, quoting: true)
            let decoded = try? JSONDecoder().decode(String.self, from: Data(quoted.utf8))
            #expect(decoded.map { Array($0.unicodeScalars) } == Array(text.unicodeScalars), "\(quoted)")
        }
    }
}

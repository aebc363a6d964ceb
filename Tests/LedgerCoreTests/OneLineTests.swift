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

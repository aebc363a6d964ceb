import Foundation
import Testing

@testable import LedgerConfig

@Suite struct WatchIgnoreTests {
    let watch = Configuration.Watch()

    @Test(arguments: [
        "invoice.xml.part", "scan.tmp", "SCAN.TMP", "~$Budget.xlsx", "~$", ".DS_Store", ".hidden.xml", ".", "Thumbs.db",
        "thumbs.db", "desktop.ini", "Desktop.ini", "@eaDir", ".part",
    ])
    func theDefaultsIgnoreTemporaryAndSystemFiles(_ name: String) {
        #expect(watch.isIgnored(name: name), "\(name)")
    }

    @Test(arguments: [
        "invoice.xml", "statement.csv", "check-0001.png", "part.xml", "invoice.part.xml", "tmp", "Thumbs.db.xml",
        "my desktop.ini.pdf", "eaDir", "@eaDir2", "a~$b.xml", "rejected", "invoice .xml", "Fakturá 2024.xml",
    ])
    func theDefaultsKeepRealDocuments(_ name: String) {
        #expect(!watch.isIgnored(name: name), "\(name)")
    }

    @Test func wildcards() {
        let watch = Configuration.Watch(ignore: ["scan??.pdf", "*-draft*", "exact.xml"])
        #expect(watch.isIgnored(name: "scan01.pdf"))
        #expect(!watch.isIgnored(name: "scan1.pdf"))
        #expect(!watch.isIgnored(name: "scan001.pdf"))
        #expect(watch.isIgnored(name: "invoice-draft.xml"))
        #expect(watch.isIgnored(name: "-draft"))
        #expect(watch.isIgnored(name: "exact.xml"))
        #expect(watch.isIgnored(name: "EXACT.XML"))
        #expect(!watch.isIgnored(name: "exact.xml2"))
        #expect(!watch.isIgnored(name: "xexact.xml"))
        #expect(!Configuration.Watch(ignore: []).isIgnored(name: ".anything"))
        #expect(Configuration.Watch(ignore: ["*"]).isIgnored(name: ""))
        #expect(Configuration.Watch(ignore: ["?"]).isIgnored(name: "ø"))
    }

    @Test func globAgreesWithABruteForceMatcher() {
        // Every pattern over {a, b, *, ?} up to length 4 against every name over {a, b} up to
        // length 5, checked against a plain recursive definition.
        func reference(_ p: ArraySlice<Character>, _ n: ArraySlice<Character>) -> Bool {
            guard let first = p.first else { return n.isEmpty }
            if first == "*" { return reference(p.dropFirst(), n) || (!n.isEmpty && reference(p, n.dropFirst())) }
            guard let c = n.first, first == "?" || first == c else { return false }
            return reference(p.dropFirst(), n.dropFirst())
        }
        func words(_ alphabet: [Character], upTo length: Int) -> [[Character]] {
            var all: [[Character]] = [[]]
            var current: [[Character]] = [[]]
            for _ in 0..<length {
                current = current.flatMap { word in alphabet.map { word + [$0] } }
                all += current
            }
            return all
        }
        let names = words(["a", "b"], upTo: 5)
        for pattern in words(["a", "b", "*", "?"], upTo: 4) {
            for name in names {
                #expect(
                    Configuration.Watch.glob(pattern, matches: name) == reference(pattern[...], name[...]),
                    "\(String(pattern)) vs \(String(name))")
            }
        }
    }

    /// ASCII names and patterns are matched as bytes; the answer must be the one the
    /// Character-wise match over lowercased strings gives, case and `\r\n` included.
    @Test func theASCIIPathAgreesWithTheCharacterPath() {
        var rng = SystemRandomNumberGenerator()
        let alphabet: [String] = ["a", "B", "c", "*", "?", ".", " ", "\r", "\n", "\r\n", "Z", "z", "\t"]
        func word(_ length: Int) -> String {
            (0..<length).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }.joined()
        }
        for _ in 0..<20_000 {
            let patterns = (0..<Int.random(in: 1...3, using: &rng)).map { _ in word(Int.random(in: 0...5, using: &rng))
            }
            let name = word(Int.random(in: 0...6, using: &rng)).replacingOccurrences(of: "*", with: "x")
                .replacingOccurrences(of: "?", with: "y")
            let expected = patterns.contains {
                Configuration.Watch.glob(Array($0.lowercased()), matches: Array(name.lowercased()))
            }
            #expect(
                Configuration.Watch(ignore: patterns).isIgnored(name: name) == expected,
                "\(patterns.map(\.debugDescription)) vs \(name.debugDescription)")
        }
        // A non-ASCII pattern beside ASCII ones, against an ASCII name.
        #expect(Configuration.Watch(ignore: ["ø*", "*.TMP"]).isIgnored(name: "scan.tmp"))
        #expect(!Configuration.Watch(ignore: ["ø*", "*.TMP"]).isIgnored(name: "scan.xml"))
        #expect(Configuration.Watch(ignore: ["?"]).isIgnored(name: "\r\n"))
    }

    @Test(.timeLimit(.minutes(1))) func pathologicalPatternsStayFast() {
        let watch = Configuration.Watch(ignore: ["*a*a*a*a*a*a*a*a*b"])
        #expect(!watch.isIgnored(name: String(repeating: "a", count: 5_000)))
    }
}

import LedgerCore
import Testing

/// `PathBytes`: paths split on the "/" byte, as the kernel splits them.
@Suite struct PathBytesTests {
    @Test(arguments: [
        ("/srv/ledgerd/Inbox/ehf/a.xml", "/srv/ledgerd/Inbox/ehf/a.xml"),
        ("/srv//ledgerd/./Inbox/ehf/", "/srv/ledgerd/Inbox/ehf"),
        ("/srv/ledgerd/Inbox/wise/../ehf/a.xml", "/srv/ledgerd/Inbox/ehf/a.xml"),
        // Above the root stays at the root, as the kernel resolves "/..".
        ("/../srv/a.xml", "/srv/a.xml"),
        ("/", "/"),
        // A name beginning with a combining mark: the slash before it still separates, so the
        // ".." after it is seen.
        ("/srv/Inbox/\u{301}mappe/../a.xml", "/srv/Inbox/a.xml"),
    ])
    func normalizedRemovesDotsAndEmptyParts(path: String, expected: String) {
        #expect(PathBytes.normalized(path).utf8.elementsEqual(expected.utf8), "\(PathBytes.normalized(path))")
    }

    @Test func aPathIsBelowAFolderOnlyAfterItsSlash() {
        #expect(PathBytes.isInside("/srv/Inbox/\u{301}a.xml", "/srv/Inbox"))
        #expect(PathBytes.isInside("/srv/Inbox/a.xml", "/srv/Inbox/"))
        #expect(!PathBytes.isInside("/srv/Inbox", "/srv/Inbox"))
        #expect(PathBytes.isWithin("/srv/Inbox", "/srv/Inbox"))
        #expect(PathBytes.isWithin("/srv/Inbox/ehf", "/srv/Inbox"))
        #expect(!PathBytes.isWithin("/srv/Inboxes", "/srv/Inbox"))
        #expect(!PathBytes.isInside("/srv/Inboxes/a.xml", "/srv/Inbox"))
        #expect(PathBytes.below("/srv/Inbox/ehf/a.xml", "/srv/Inbox").map { String(Substring($0)) } == "ehf/a.xml")
    }

    /// Two names that Swift's `String` calls equal (é written as one character, and as e and a
    /// combining accent) are two files to the kernel, and two keys.
    @Test func pathKeysAreEqualOnlyByteForByte() {
        let composed = "/srv/Inbox/ehf/faktura-\u{E9}.xml"
        let decomposed = "/srv/Inbox/ehf/faktura-e\u{301}.xml"
        #expect(composed == decomposed)
        #expect(PathKey(composed) != PathKey(decomposed))
        #expect(PathKey(composed) == PathKey(String(decoding: Array(composed.utf8), as: UTF8.self)))
        #expect(PathKey("/srv/Inbox/a.xml") != PathKey("/srv/Inbox/b.xml"))
        #expect(PathKey("/srv/Inbox/a.xml") != PathKey("/srv/Inbox/a.xm"))
        #expect(Set([PathKey(composed), PathKey(decomposed), PathKey(composed)]).count == 2)
        // A string sliced from a longer one is compared all the same.
        let sliced = String(Substring(composed + "x").dropLast())
        #expect(PathKey(sliced) == PathKey(composed))
    }

    /// The prefix test in place agrees with comparing the UTF-8 views, on short (inline) and
    /// long strings, equal, shorter and longer prefixes, and names with non-ASCII bytes.
    @Test func startsWithAgreesWithTheUTF8Views() async {
        let pieces = ["/srv", "/Inbox", "/ehf", "/rejected", "/", "a", "\u{E9}", "e\u{301}", "ø", ""]
        let gen = scenario { rng -> (String, String) in
            func text() -> String {
                (0..<Int.random(in: 0...6, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
            }
            let path = text()
            // Often a real prefix of the path, cut anywhere (even inside a character's bytes).
            let cut = Int.random(in: 0...path.utf8.count, using: &rng)
            let prefix =
                Bool.random(using: &rng) ? String(decoding: Array(path.utf8.prefix(cut)), as: UTF8.self) : text()
            return (path, prefix)
        }
        await forAll(count: 3000, gen) { path, prefix in
            #expect(PathBytes.startsWith(path, prefix) == path.utf8.starts(with: prefix.utf8), "\(path) \(prefix)")
        }
        #expect(PathBytes.startsWith("/srv/Inbox/ehf/a.xml", "/srv/Inbox/ehf/rejected") == false)
        #expect(PathBytes.startsWith("/srv/Inbox/ehf/rejected/a.xml", "/srv/Inbox/ehf/rejected"))
    }
}

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
}

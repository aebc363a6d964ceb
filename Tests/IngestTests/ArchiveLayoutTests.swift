import Testing

@testable import Ingest

/// Where a posted file is archived: `<archive>/<inbox>/<YYYY-MM>/<12 hex digits>_<name>`.
@Suite struct ArchiveLayoutTests {
    static let sha = "9979b0ed2c91" + String(repeating: "ab", count: 26)

    @Test func theMonthReceivedAndTheHashPrefixNameTheFolderAndTheFile() {
        #expect(
            ArchiveLayout.path(
                in: "/srv/archive", inbox: "ehf", receivedAt: "2026-11-24T04:31:15Z", sha: Self.sha,
                name: "faktura ø 7.xml")
                == "/srv/archive/ehf/2026-11/9979b0ed2c91_faktura ø 7.xml")
        // A file taken from the archive and dropped again keeps its name, not a second prefix.
        #expect(
            ArchiveLayout.path(
                in: "/a", inbox: "ehf", receivedAt: "2026-01-02T00:00:00Z", sha: Self.sha,
                name: "9979b0ed2c91_inv.xml") == "/a/ehf/2026-01/9979b0ed2c91_inv.xml")
    }

    /// Cut over bytes only where the bytes are ASCII; otherwise by characters, as before.
    @Test func prefixesAreWholeCharacters() {
        #expect(ArchiveLayout.hashPrefix(Self.sha) == "9979b0ed2c91")
        #expect(ArchiveLayout.hashPrefix("unread:0123456789") == "unread:01234")
        #expect(ArchiveLayout.hashPrefix("short") == "short")
        #expect(ArchiveLayout.hashPrefix("ææææææææææææææ") == "ææææææææææææ")
        #expect(ArchiveLayout.hashPrefix("e\u{301}0123456789ab") == "e\u{301}0123456789a")
        #expect(ArchiveLayout.month("2026-11-24T04:31:15Z") == "2026-11")
    }

    /// A file's hash, in lowercase hex (the SHA-256 test vectors of FIPS 180-2).
    @Test func hashesAreLowercaseHex() throws {
        let sandbox = try Sandbox()
        let abc = try sandbox.write(Array("abc".utf8), as: "abc.xml")
        let empty = try sandbox.write([], as: "empty.xml")
        #expect(
            Pipeline.sha256(ofFile: abc, limit: 1 << 20)
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(
            Pipeline.sha256(ofFile: empty, limit: 1 << 20)
                == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

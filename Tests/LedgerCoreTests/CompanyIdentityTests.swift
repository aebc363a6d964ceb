import LedgerCore
import PropertyBased
import Testing

@Suite("CompanyIdentity")
struct CompanyIdentityTests {
    static let company = CompanyIdentity(
        name: "Vår Bedrift AS", identifiers: ["0192:987654325", "NO987654325MVA"])

    static func invoice(seller: Party, buyer: Party) -> InvoiceDocument {
        InvoiceSpec(lines: [(100_00, ExactDecimal(25))]).document(
            .invoice, seller: seller, buyer: buyer)
    }

    @Test("recognised by scheme:endpoint")
    func schemeEndpoint() {
        #expect(Self.company.matches(Party(name: "x", endpointID: "987654325", endpointScheme: "0192")))
        // Same number under another scheme is someone else's identifier.
        #expect(
            !Self.company.matches(Party(name: "x", endpointID: "987654325", endpointScheme: "0088")))
        // The scheme-qualified form alone does not match a bare organisation number: list the
        // bare number too if invoices name the company only that way.
        #expect(!Self.company.matches(Party(name: "x", legalCompanyID: "987654325")))
        // Written as a PEPPOL participant identifier, as the PEPPOL directory lists it.
        let participant = CompanyIdentity(name: "Vår Bedrift AS", identifiers: ["iso6523-actorid-upis::0192:987654325"])
        #expect(participant.matches(Party(name: "x", endpointID: "987654325", endpointScheme: "0192")))
        #expect(!participant.matches(Party(name: "x", endpointID: "987654325", endpointScheme: "0088")))
    }

    @Test("recognised by bare endpoint, party identification and legal company ID")
    func bareValues() {
        let byNumber = CompanyIdentity(name: "Vår Bedrift AS", identifiers: ["987654325"])
        #expect(byNumber.matches(Party(name: "x", endpointID: "987654325")))
        #expect(byNumber.matches(Party(name: "x", endpointID: "987654325", endpointScheme: "0192")))
        #expect(byNumber.matches(Party(name: "x", identifiers: ["987654325"])))
        #expect(byNumber.matches(Party(name: "x", legalCompanyID: "987654325")))
        #expect(byNumber.matches(Party(name: "x", legalCompanyID: " 987 654 325 ")))
        #expect(!byNumber.matches(Party(name: "x", legalCompanyID: "987654326")))
        // The name is never an identifier.
        #expect(!byNumber.matches(Party(name: "987654325")))
    }

    @Test(
        "VAT number matches ignoring case and white space",
        arguments: [
            "NO987654325MVA", "no987654325mva", "No 987 654 325 Mva", " NO987654325MVA\t",
            "NO\u{00A0}987654325\nMVA",
        ])
    func vatNumber(_ written: String) {
        #expect(Self.company.matches(Party(name: "x", taxCompanyIDs: ["Foretaksregisteret", written])))
    }

    @Test("any spacing and casing of our VAT number matches; any other number does not")
    func vatNumberProperty() async {
        let gen = scenario { rng -> (String, String) in
            func scramble(_ text: String, _ rng: inout any SeededRandomNumberGenerator) -> String {
                var out = ""
                for ch in text {
                    if Int.random(in: 0..<3, using: &rng) == 0 {
                        out += [" ", "  ", "\t", "\n", "\u{00A0}"][Int.random(in: 0..<5, using: &rng)]
                    }
                    out += Bool.random(using: &rng) ? ch.lowercased() : ch.uppercased()
                }
                return out
            }
            var other = (0..<9).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined()
            if other == "987654325" { other = "987654326" }
            return (scramble("NO987654325MVA", &rng), scramble("NO\(other)MVA", &rng))
        }
        await forAll(count: 500, gen) { ours, theirs in
            #expect(
                Self.company.matches(Party(name: "x", taxCompanyIDs: [ours])), "\(ours.debugDescription)")
            #expect(
                !Self.company.matches(Party(name: "x", taxCompanyIDs: [theirs])),
                "\(theirs.debugDescription)")
        }
    }

    @Test("canonical identifiers: the ASCII fast path agrees with Unicode upper-casing and white space")
    func canonicalAgreesWithUnicode() async {
        // Every ASCII character (controls included), a few non-ASCII letters and spaces, and
        // "\r\n", which is one Character of two scalars.
        let alphabet: [String] =
            (0..<128).map { String(UnicodeScalar(UInt8($0))) } + [
                "\r\n", "\u{00A0}", "\u{0085}", "\u{2003}", "ø", "Å", "ß", "ﬁ", "é", "\u{0301}",
            ]
        let gen = scenario { rng -> String in
            let length = Int.random(in: 0..<24, using: &rng)
            // Half the strings are pure ASCII, so the fast path is taken often.
            let pool = Bool.random(using: &rng) ? Array(alphabet[0..<128]) : alphabet
            return (0..<length).map { _ in pool[Int.random(in: 0..<pool.count, using: &rng)] }.joined()
        }
        await forAll(count: 3000, gen) { text in
            let expected = String(text.uppercased().filter { !$0.isWhitespace })
            #expect(PartyIdentifier.canonical(text) == expected, "\(text.debugDescription)")
        }
        for byte in UInt8(0)..<128 {
            let text = "a\(String(UnicodeScalar(byte)))b"
            #expect(
                PartyIdentifier.canonical(text) == String(text.uppercased().filter { !$0.isWhitespace }),
                "byte \(byte)")
        }
    }

    static let pieces = [
        "0192", "9908", ":", "987654325", "NO987654325MVA", "no 987 654 325 mva", " ", "", "x", "ø",
        "Foretaksregisteret",
        // Where an identifier is not ASCII, the comparison as written hands over to the Unicode
        // way: a mark after a space or a digit, a space that is not ASCII, a letter capitalized
        // into two ASCII ones.
        "\u{0301}", "\u{00A0}", "ß", "987654325\u{00A0}", "NO987654325M\u{00A0}VA", "SS",
    ]

    static func text(_ rng: inout some RandomNumberGenerator) -> String {
        (0..<Int.random(in: 0...3, using: &rng)).map { _ in pieces.randomElement(using: &rng)! }.joined()
    }

    static func optional(_ rng: inout some RandomNumberGenerator) -> String? {
        Bool.random(using: &rng) ? text(&rng) : nil
    }

    @Test("matching a party agrees with comparing each of its identifiers")
    func matchesAgreesWithAllIdentifiers() async {
        let gen = scenario { rng -> (CompanyIdentity, Party) in
            let company = CompanyIdentity(
                name: "Us", identifiers: (0..<Int.random(in: 0...3, using: &rng)).map { _ in Self.text(&rng) })
            let party = Party(
                name: "Them", endpointID: Self.optional(&rng), endpointScheme: Self.optional(&rng),
                identifiers: (0..<Int.random(in: 0...2, using: &rng)).map { _ in Self.text(&rng) },
                legalCompanyID: Self.optional(&rng),
                taxCompanyIDs: (0..<Int.random(in: 0...2, using: &rng)).map { _ in Self.text(&rng) })
            return (company, party)
        }
        await forAll(count: 5000, gen) { company, party in
            let ours = Set(company.identifiers.map(PartyIdentifier.canonical).filter { !$0.isEmpty })
            let expected = party.allIdentifiers.contains { ours.contains(PartyIdentifier.canonical($0)) }
            #expect(company.matches(party) == expected, "\(company.identifiers) \(party)")
        }
    }

    @Test("a word in a tax company ID (Foretaksregisteret) is not an identifier")
    func registrationWordsAreNotIdentifiers() {
        let careless = CompanyIdentity(name: "Us", identifiers: ["Foretaksregisteret", "Godkänd för F-skatt"])
        let norwegian = Party(name: "Them AS", taxCompanyIDs: ["NO974760673MVA", "Foretaksregisteret"])
        let swedish = Party(name: "Dem AB", taxCompanyIDs: ["SE556677889901", "Godkänd för F-skatt"])
        #expect(!careless.matches(norwegian))
        #expect(!careless.matches(swedish))
        #expect(norwegian.allIdentifiers == ["NO974760673MVA"])
        #expect(us.allIdentifiers == ["0192:987654325", "987654325", "NO987654325MVA"])
    }

    @Test("empty identifiers never match")
    func emptyIdentifiers() {
        let nobody = CompanyIdentity(name: "Tom", identifiers: [])
        let blank = CompanyIdentity(name: "Tom", identifiers: ["", "  ", "\t"])
        let emptyParty = Party(
            name: "", endpointID: "", identifiers: [""], legalCompanyID: "", taxCompanyIDs: [""])
        for company in [nobody, blank] {
            #expect(!company.matches(emptyParty))
            #expect(!company.matches(Party(name: "x", endpointID: " ")))
            #expect(!company.matches(us))
        }
        // A blank identifier beside a real one changes nothing.
        #expect(!CompanyIdentity(name: "x", identifiers: ["", "987654325"]).matches(emptyParty))
    }

    @Test("direction: purchase when we buy, sale when we sell")
    func directions() throws {
        #expect(try Self.company.direction(of: Self.invoice(seller: supplier, buyer: us)) == .purchase)
        #expect(try Self.company.direction(of: Self.invoice(seller: us, buyer: customer)) == .sale)
        // Recognised by the VAT number alone, written loosely.
        let loose = Party(name: "Vår Bedrift", taxCompanyIDs: ["no 987654325 mva"])
        #expect(
            try Self.company.direction(of: Self.invoice(seller: supplier, buyer: loose)) == .purchase)
    }

    @Test("direction: an invoice between two others names what it found")
    func notOurs() {
        let error = #expect(throws: CompanyIdentity.DirectionError.self) {
            try Self.company.direction(of: Self.invoice(seller: supplier, buyer: customer))
        }
        #expect(
            error
                == .notOurs(
                    seller: ["0192:923609016", "923609016", "NO923609016MVA"],
                    buyer: ["0192:974760673", "974760673", "NO974760673MVA"]))
        let message = error?.description ?? ""
        #expect(message.contains("0192:923609016") && message.contains("NO974760673MVA"))
        #expect(
            message
                == "neither the seller (0192:923609016, 923609016, NO923609016MVA) nor the buyer (0192:974760673, 974760673, NO974760673MVA) is this company"
        )

        // A party without identifiers is shown as "none".
        let anonymous = Party(name: "Ukjent")
        #expect(
            throws: CompanyIdentity.DirectionError.notOurs(
                seller: [], buyer: ["0192:974760673", "974760673", "NO974760673MVA"])
        ) {
            try Self.company.direction(of: Self.invoice(seller: anonymous, buyer: customer))
        }
        #expect(
            CompanyIdentity.DirectionError.notOurs(seller: [], buyer: []).description
                == "neither the seller (none) nor the buyer (none) is this company")
    }

    @Test("direction: an invoice to ourselves is .bothOurs")
    func bothOurs() {
        let otherSpelling = Party(
            name: "Vår Bedrift AS avd. Bergen", taxCompanyIDs: ["NO 987 654 325 MVA"])
        #expect(
            throws: CompanyIdentity.DirectionError.bothOurs(
                seller: ["0192:987654325", "NO987654325MVA"], buyer: ["NO 987 654 325 MVA"])
        ) {
            try Self.company.direction(of: Self.invoice(seller: us, buyer: otherSpelling))
        }
        #expect(
            CompanyIdentity.DirectionError.bothOurs(seller: ["987654325"], buyer: ["NO987654325MVA"]).description
                == "both the seller (987654325) and the buyer (NO987654325MVA) carry this company's identifiers, "
                + "so it cannot be told whether the invoice was bought or sold")
    }

    /// Sub-ledgers and duplicate numbers key a party by its organisation number, wherever the
    /// invoice writes it; without one, by the endpoint, the VAT number, the name.
    @Test func aPartyIsKeyedByItsOrgNumberWhereverItIsWritten() {
        #expect(Party(name: "x", legalCompanyID: " 942 992 343 ").key == "942992343")
        #expect(Party(name: "x", legalCompanyID: "no942992343mva").key == "942992343")
        #expect(
            Party(name: "x", endpointID: "7080001234567", endpointScheme: "0088", taxCompanyIDs: ["NO942992343MVA"])
                .key == "942992343")
        #expect(Party(name: "x", endpointID: "942992343", endpointScheme: "0192").key == "942992343")
        // Not a valid Norwegian VAT number, or a foreign one: the endpoint first.
        #expect(Party(name: "x", endpointID: "7080001234567", taxCompanyIDs: ["NO942992344MVA"]).key == "7080001234567")
        #expect(Party(name: "x", endpointID: "5567321707", taxCompanyIDs: ["SE556732170701"]).key == "5567321707")
        #expect(Party(name: "x", taxCompanyIDs: ["SE556732170701"]).key == "SE556732170701")
        #expect(Party(name: "x").key == "x")
    }
}

/// The company whose books these are, as far as recognising it on an invoice goes.
public struct CompanyIdentity: Sendable, Hashable {
    public var name: String
    /// Identifiers that mean "us": `scheme:value` endpoint IDs (e.g. `0192:987654325`) or bare
    /// values (org number, VAT number such as `NO987654325MVA`).
    public var identifiers: [String] {
        didSet { (canonicalIdentifiers, hasSchemeIdentifiers) = Self.derived(identifiers) }
    }
    /// `identifiers` in canonical form, computed once rather than for every invoice.
    private var canonicalIdentifiers: Set<String> {
        didSet { canonicalBytes = canonicalIdentifiers.map { Array($0.utf8) } }
    }
    /// The same as bytes, which `isOurs` compares an identifier with as it is written.
    private var canonicalBytes: [[UInt8]] = []
    /// Whether one of them is written `scheme:value`.
    private var hasSchemeIdentifiers: Bool

    public init(name: String, identifiers: [String]) {
        self.name = name
        self.identifiers = identifiers
        (canonicalIdentifiers, hasSchemeIdentifiers) = Self.derived(identifiers)
        canonicalBytes = canonicalIdentifiers.map { Array($0.utf8) }
    }

    private static func derived(_ identifiers: [String]) -> (Set<String>, Bool) {
        let canonical = Set(identifiers.map(Self.endpointForm).filter { !$0.isEmpty })
        return (canonical, canonical.contains { $0.utf8.contains(UInt8(ascii: ":")) })
    }

    /// The PEPPOL participant identifier, as the PEPPOL directory and access points write it
    /// (`iso6523-actorid-upis::0192:987654325`), names the endpoint `0192:987654325`; any
    /// other identifier is taken as it is, in canonical form.
    static func endpointForm(_ identifier: String) -> String {
        let canonical = PartyIdentifier.canonical(identifier)
        let participant = "ISO6523-ACTORID-UPIS::"
        return canonical.hasPrefix(participant) ? String(canonical.dropFirst(participant.count)) : canonical
    }

    /// Whether one of our identifiers names `party` (one of its `allIdentifiers`). Comparison
    /// ignores case and white space, so `no 987 654 325 mva` still matches `NO987654325MVA`.
    ///
    /// Runs twice for every invoice, so it looks at the party's identifiers where they are
    /// rather than through `allIdentifiers`, which builds two arrays and a string each time
    /// (4 % of an ingest's processor time), and compares each as it is written (`isOurs`);
    /// `scheme:value` is only tried when one of ours has that form.
    public func matches(_ party: Party) -> Bool {
        guard !canonicalIdentifiers.isEmpty else { return false }
        func ours(_ identifier: String?) -> Bool {
            guard let identifier, !identifier.isEmpty else { return false }
            return isOurs(identifier)
        }
        if let endpointID = party.endpointID {
            if hasSchemeIdentifiers, let scheme = party.endpointScheme, isOurs(endpointID, scheme: scheme) {
                return true
            }
            if ours(endpointID) { return true }
        }
        return party.identifiers.contains(where: ours) || ours(party.legalCompanyID)
            || party.taxCompanyIDs.contains { Party.isNumber($0) && ours($0) }
    }

    /// Whether `identifier`, or `scheme:identifier`, is one of ours in canonical form.
    ///
    /// An ASCII identifier is compared with ours byte by byte as it is written, skipping its
    /// white space and capitalizing its letters: building its canonical form and hashing it
    /// into the set cost ~900 instructions an identifier, five a party. Any other goes the
    /// Unicode way (`PartyIdentifier.canonical`).
    private func isOurs(_ identifier: String, scheme: String? = nil) -> Bool {
        for canonical in canonicalBytes {
            switch PartyIdentifier.isCanonical(canonical, of: identifier, scheme: scheme) {
            case true?: return true
            case false?: continue
            case nil:
                let written = scheme.map { "\($0):\(identifier)" } ?? identifier
                return canonicalIdentifiers.contains(PartyIdentifier.canonical(written))
            }
        }
        return false
    }

    public enum DirectionError: Error, Equatable, Sendable, CustomStringConvertible {
        /// Neither party is us; carries what the invoice names, for the bookkeeper.
        case notOurs(seller: [String], buyer: [String])
        /// Both parties are us (an invoice to ourselves, or an identifier configured that
        /// is not ours alone); carries which of each party's identifiers matched.
        case bothOurs(seller: [String], buyer: [String])

        public var description: String {
            switch self {
            case .notOurs(let seller, let buyer):
                let s = seller.isEmpty ? "none" : seller.joined(separator: ", ")
                let b = buyer.isEmpty ? "none" : buyer.joined(separator: ", ")
                return "neither the seller (\(s)) nor the buyer (\(b)) is this company"
            case .bothOurs(let seller, let buyer):
                return "both the seller (\(seller.joined(separator: ", "))) and the buyer "
                    + "(\(buyer.joined(separator: ", "))) carry this company's identifiers, so it cannot be told "
                    + "whether the invoice was bought or sold"
            }
        }
    }

    /// Which of `party`'s identifiers are ours (for messages; `matches` is the fast test).
    public func ours(of party: Party) -> [String] {
        party.allIdentifiers.filter { canonicalIdentifiers.contains(PartyIdentifier.canonical($0)) }
    }

    /// Our side of `invoice`: the buyer (purchase) or the seller (sale).
    public func direction(of invoice: InvoiceDocument) throws(DirectionError) -> Direction {
        let seller = matches(invoice.seller)
        let buyer = matches(invoice.buyer)
        switch (seller, buyer) {
        case (true, false): return .sale
        case (false, true): return .purchase
        case (true, true): throw .bothOurs(seller: ours(of: invoice.seller), buyer: ours(of: invoice.buyer))
        case (false, false):
            throw .notOurs(
                seller: invoice.seller.allIdentifiers, buyer: invoice.buyer.allIdentifiers)
        }
    }
}

/// Norwegian organisation numbers (Enhetsregisteret): nine digits, the last a modulus-11
/// check digit with weights 3 2 7 6 5 4 3 2.
public enum NorwegianOrgNumber {
    /// Nine ASCII digits whose last is the modulus-11 check digit of the eight before it
    /// (weights 3, 2, 7, 6, 5, 4, 3, 2). Read in one pass over the bytes, with nothing
    /// allocated: it runs for every invoice's seller (NO-R-001) and parties (`Party.key`).
    public static func isValid(_ number: some StringProtocol) -> Bool {
        isValid(utf8: number.utf8)
    }

    /// `isValid` over the number's UTF-8 bytes.
    @inlinable public static func isValid(utf8: some Sequence<UInt8>) -> Bool {
        var sum = 0
        var count = 0
        var last = 0
        for byte in utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9"), count < 9 else { return false }
            let digit = Int(byte &- UInt8(ascii: "0"))
            switch count {
            case 0, 6: sum += 3 * digit
            case 1, 7: sum += 2 * digit
            case 2: sum += 7 * digit
            case 3: sum += 6 * digit
            case 4: sum += 5 * digit
            case 5: sum += 4 * digit
            default: last = digit
            }
            count += 1
        }
        guard count == 9 else { return false }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        return check != 10 && check == last
    }

    /// The org number in a Norwegian VAT number (`NO987654325MVA`, however spaced or cased),
    /// when it is one: NO, a valid org number, MVA.
    public static func inVATNumber(_ vat: String) -> String? {
        // On bytes: it runs for every invoice's parties (`Party.key`).
        let bare = PartyIdentifier.canonical(vat).utf8
        guard bare.count == 14, bare.starts(with: "NO".utf8), bare.suffix(3).elementsEqual("MVA".utf8) else {
            return nil
        }
        let digits = String(decoding: bare.dropFirst(2).prefix(9), as: UTF8.self)
        return isValid(digits) ? digits : nil
    }
}

/// How party identifiers (organisation, VAT and endpoint numbers) are compared.
public enum PartyIdentifier {
    /// Upper case without white space: `no 987 654 325 mva` becomes `NO987654325MVA`.
    ///
    /// Identifiers are almost always ASCII, and this runs for every invoice; the ASCII case is
    /// done on bytes, since `uppercased()` and `Character.isWhitespace` look up Unicode
    /// properties for every character (a tenth of a small invoice's processing time).
    public static func canonical(_ identifier: String) -> String {
        var ascii = true
        var changes = false
        for byte in identifier.utf8 {
            if byte >= 0x80 {
                ascii = false
                break
            }
            if isASCIISpace(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) { changes = true }
        }
        guard ascii else { return String(identifier.uppercased().filter { !$0.isWhitespace }) }
        guard changes else { return identifier }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(identifier.utf8.count)
        for byte in identifier.utf8 where !isASCIISpace(byte) {
            bytes.append(ASCIIText.capitalized(byte))
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Whether `canonical` is the canonical form of `identifier`, or of `scheme:identifier`
    /// when a scheme is given; nil when they are not ASCII, which this does not judge.
    ///
    /// What comes before the first byte that is not ASCII is settled here as `canonical`
    /// settles it (each ASCII letter capitalized alone, each ASCII space dropped; a space a
    /// mark follows is not compared before the mark is reached), so a difference found there
    /// is one.
    static func isCanonical(_ canonical: [UInt8], of identifier: String, scheme: String?) -> Bool? {
        canonical.withUnsafeBufferPointer { target -> Bool? in
            var position = 0
            func follows(_ text: String) -> Bool? {
                text.utf8.withContiguousStorageIfAvailable { bytes -> Bool? in
                    for byte in bytes {
                        if byte >= 0x80 { return nil }
                        if isASCIISpace(byte) { continue }
                        guard position < target.count, target[position] == ASCIIText.capitalized(byte) else {
                            return false
                        }
                        position += 1
                    }
                    return true
                } ?? nil
            }
            if let scheme {
                guard let same = follows(scheme) else { return nil }
                guard same, position < target.count, target[position] == UInt8(ascii: ":") else { return false }
                position += 1
            }
            guard let same = follows(identifier) else { return nil }
            return same && position == target.count
        }
    }

    /// The ASCII characters `Character.isWhitespace` accepts: tab, line feed, vertical tab,
    /// form feed, carriage return, space (U+0085 and U+00A0 are not ASCII).
    @inline(__always) static func isASCIISpace(_ byte: UInt8) -> Bool {
        byte == 0x20 || (byte >= 0x09 && byte <= 0x0D)
    }
}

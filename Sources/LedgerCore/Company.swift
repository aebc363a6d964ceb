/// The company whose books these are, as far as recognising it on an invoice goes.
public struct CompanyIdentity: Sendable, Hashable {
    public var name: String
    /// Identifiers that mean "us": `scheme:value` endpoint IDs (e.g. `0192:987654325`) or bare
    /// values (org number, VAT number such as `NO987654325MVA`).
    public var identifiers: [String]

    public init(name: String, identifiers: [String]) {
        self.name = name
        self.identifiers = identifiers
    }

    /// Whether one of our identifiers names `party`. Comparison ignores case and white
    /// space, so `no 987 654 325 mva` still matches `NO987654325MVA`.
    public func matches(_ party: Party) -> Bool {
        let ours = Set(identifiers.map(Self.canonical).filter { !$0.isEmpty })
        guard !ours.isEmpty else { return false }
        return party.allIdentifiers.contains { ours.contains(Self.canonical($0)) }
    }

    static func canonical(_ identifier: String) -> String {
        String(identifier.uppercased().filter { !$0.isWhitespace })
    }

    public enum DirectionError: Error, Equatable, Sendable, CustomStringConvertible {
        /// Neither party is us; carries what the invoice names, for the bookkeeper.
        case notOurs(seller: [String], buyer: [String])
        /// Both parties are us (an invoice to ourselves).
        case bothOurs

        public var description: String {
            switch self {
            case .notOurs(let seller, let buyer):
                let s = seller.isEmpty ? "none" : seller.joined(separator: ", ")
                let b = buyer.isEmpty ? "none" : buyer.joined(separator: ", ")
                return "neither the seller (\(s)) nor the buyer (\(b)) is this company"
            case .bothOurs:
                return "both the seller and the buyer are this company"
            }
        }
    }

    /// Our side of `invoice`: the buyer (purchase) or the seller (sale).
    public func direction(of invoice: InvoiceDocument) throws(DirectionError) -> Direction {
        let seller = matches(invoice.seller)
        let buyer = matches(invoice.buyer)
        switch (seller, buyer) {
        case (true, false): return .sale
        case (false, true): return .purchase
        case (true, true): throw .bothOurs
        case (false, false):
            throw .notOurs(
                seller: invoice.seller.allIdentifiers.uniqued(), buyer: invoice.buyer.allIdentifiers.uniqued())
        }
    }
}

extension Array where Element: Hashable {
    func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}

/// Norwegian organisation numbers (Enhetsregisteret): nine digits, the last a modulus-11
/// check digit with weights 3 2 7 6 5 4 3 2.
public enum NorwegianOrgNumber {
    public static func isValid(_ number: some StringProtocol) -> Bool {
        let digits = number.utf8.map { Int($0) - 48 }
        guard digits.count == 9, digits.allSatisfy({ (0...9).contains($0) }) else { return false }
        let weights = [3, 2, 7, 6, 5, 4, 3, 2]
        let sum = zip(digits, weights).reduce(0) { $0 + $1.0 * $1.1 }
        var check = 11 - sum % 11
        if check == 11 { check = 0 }
        return check != 10 && check == digits[8]
    }
}

import LedgerCore
import PropertyBased
import Testing

// Shared helpers for the LedgerCore tests. Every reference computation here is written
// independently of the code under test (different formulas, plain Int128 arithmetic) so a
// property compares two implementations rather than one implementation with itself.

/// Parses a literal that is known to be well formed.
func dec(_ text: String) -> ExactDecimal {
    do {
        return try ExactDecimal(parsing: text)
    } catch {
        fatalError("test literal \(text) does not parse: \(error)")
    }
}

func nok(_ minor: Int64) -> Money { Money(minor: minor, currency: .nok) }

let jpy = Currency("JPY")!
let kwd = Currency("KWD")!
let sek = Currency("SEK")!

/// 10^n in Int128 (reference, independent of ExactDecimal's own helper).
func pow10(_ n: Int) -> Int128 {
    precondition(n >= 0 && n <= 38)
    var r: Int128 = 1
    for _ in 0..<n { r *= 10 }
    return r
}

/// n / d rounded to an integer, half away from zero, as floor((2|n| + |d|) / (2|d|)) with the
/// sign of n·d. A different formula from the one ExactDecimal uses (quotient plus a remainder
/// test), so agreement means something.
func divideRoundingHalfAway(_ n: Int128, _ d: Int128) -> Int128 {
    precondition(d != 0)
    let magnitude = (2 * n.magnitude + d.magnitude) / (2 * d.magnitude)
    let negative = (n < 0) != (d < 0)
    return negative ? -Int128(magnitude) : Int128(magnitude)
}

/// A generator that builds its value straight from the random source. Shrinking is off for
/// these composite scenarios; the failure message prints the whole scenario instead.
func scenario<T: Sendable>(
    _ make: @Sendable @escaping (inout any SeededRandomNumberGenerator) -> T
) -> Generator<T, Shrink.None<T>> {
    Generator(run: { rng in make(&rng) })
}

/// A random Int64 in `range`, biased so that the ends of the range and small values show up
/// far more often than a uniform draw would make them.
func edgy(_ range: ClosedRange<Int64>, _ rng: inout any SeededRandomNumberGenerator) -> Int64 {
    switch Int.random(in: 0..<10, using: &rng) {
    case 0: return range.lowerBound
    case 1: return range.upperBound
    case 2, 3:
        let small = max(range.lowerBound, -100)...min(range.upperBound, 100)
        return small.isEmpty ? range.lowerBound : Int64.random(in: small, using: &rng)
    default: return Int64.random(in: range, using: &rng)
    }
}

// MARK: - Journal helpers

extension JournalEntry {
    /// Net signed amount (debit positive) per account and currency, zero balances removed.
    var signedByAccount: [String: Int64] {
        var result: [String: Int64] = [:]
        for line in lines {
            result["\(line.account.number) \(line.currency.code)", default: 0] += line.signedMinor
        }
        return result.filter { $0.value != 0 }
    }

    func lines(on account: Account) -> [JournalLine] { lines.filter { $0.account == account } }
}

/// A journal line reduced to what a bookkeeper reads, for example tests.
struct Row: Equatable, CustomStringConvertible {
    var account: String
    var debit: String
    var credit: String

    init(_ account: String, debit: String = "", credit: String = "") {
        self.account = account
        self.debit = debit
        self.credit = credit
    }

    init(_ line: JournalLine) {
        account = line.account.number
        debit = line.debitMinor == 0 ? "" : line.debit.amountString
        credit = line.creditMinor == 0 ? "" : line.credit.amountString
    }

    var description: String {
        "\(account) D \(debit.isEmpty ? "-" : debit) C \(credit.isEmpty ? "-" : credit)"
    }
}

/// Every line has exactly one side, and no side is negative.
func expectWellFormedLines(_ entry: JournalEntry, sourceLocation: SourceLocation = #_sourceLocation) {
    for line in entry.lines {
        #expect(
            line.debitMinor >= 0 && line.creditMinor >= 0, "negative side: \(line)",
            sourceLocation: sourceLocation)
        #expect(
            (line.debitMinor == 0) != (line.creditMinor == 0), "both or neither side: \(line)",
            sourceLocation: sourceLocation)
    }
}

/// Debits equal credits in every currency the entry uses, computed in Int128.
func expectBalanced(_ entry: JournalEntry, sourceLocation: SourceLocation = #_sourceLocation) {
    var debits: [Currency: Int128] = [:]
    var credits: [Currency: Int128] = [:]
    for line in entry.lines {
        debits[line.currency, default: 0] += Int128(line.debitMinor)
        credits[line.currency, default: 0] += Int128(line.creditMinor)
    }
    #expect(debits == credits, sourceLocation: sourceLocation)
    #expect(entry.totals.mapValues { Int128($0) } == debits, sourceLocation: sourceLocation)
}

// MARK: - Invoice helpers

let us = Party(
    name: "Vår Bedrift AS", endpointID: "987654325", endpointScheme: "0192",
    legalCompanyID: "987654325",
    taxCompanyIDs: ["NO987654325MVA", "Foretaksregisteret"], countryCode: "NO")
let supplier = Party(
    name: "Kontorrekvisita AS", endpointID: "923609016", endpointScheme: "0192",
    legalCompanyID: "923609016",
    taxCompanyIDs: ["NO923609016MVA"], countryCode: "NO")
let customer = Party(
    name: "Kunde ASA", endpointID: "974760673", endpointScheme: "0192", legalCompanyID: "974760673",
    taxCompanyIDs: ["NO974760673MVA"], countryCode: "NO")

func line(_ id: String, _ amount: Money, percent: ExactDecimal?, category: String = "S")
    -> InvoiceLine
{
    InvoiceLine(
        id: id, quantity: ExactDecimal(1), unitCode: "EA", lineExtension: amount,
        itemName: "Item \(id)",
        taxCategory: category, taxPercent: percent)
}

/// An invoice whose totals are consistent per EN 16931, computed from its lines, document
/// allowances/charges, prepaid amount and rounding: VAT per rate is the rate applied to the
/// rate's taxable amount, rounded half away from zero.
struct InvoiceSpec: Sendable, CustomStringConvertible {
    var currency: Currency = .nok
    /// (minor amount, percent) per line.
    var lines: [(Int64, ExactDecimal?)]
    /// (isCharge, minor amount, percent) per document allowance/charge.
    var allowancesCharges: [(Bool, Int64, ExactDecimal?)] = []
    var prepaid: Int64 = 0
    var rounding: Int64 = 0

    var lineTotal: Int64 { lines.reduce(0) { $0 + $1.0 } }
    var allowanceTotal: Int64 { allowancesCharges.filter { !$0.0 }.reduce(0) { $0 + $1.1 } }
    var chargeTotal: Int64 { allowancesCharges.filter { $0.0 }.reduce(0) { $0 + $1.1 } }
    var taxExclusive: Int64 { lineTotal - allowanceTotal + chargeTotal }

    /// (percent, taxable, tax) in order of first appearance.
    var subtotals: [(ExactDecimal?, Int64, Int64)] {
        var order: [ExactDecimal?] = []
        var taxable: [ExactDecimal?: Int64] = [:]
        func add(_ p: ExactDecimal?, _ amount: Int64) {
            if taxable[p] == nil { order.append(p) }
            taxable[p, default: 0] += amount
        }
        for (amount, p) in lines { add(p, amount) }
        for (isCharge, amount, p) in allowancesCharges { add(p, isCharge ? amount : -amount) }
        return order.map { p in
            let base = taxable[p]!
            guard let p else { return (nil, base, 0) }
            // tax = base × p / 100, p = significand / 10^scale.
            let tax = divideRoundingHalfAway(Int128(base) * p.significand, 100 * pow10(p.scale))
            return (p, base, Int64(tax))
        }
    }

    var taxTotal: Int64 { subtotals.reduce(0) { $0 + $1.2 } }
    var taxInclusive: Int64 { taxExclusive + taxTotal }
    var payable: Int64 { taxInclusive - prepaid + rounding }

    func document(
        _ type: DocumentType, seller: Party = supplier, buyer: Party = us, number: String = "INV-1"
    )
        -> InvoiceDocument
    {
        let c = currency
        func m(_ minor: Int64) -> Money { Money(minor: minor, currency: c) }
        return InvoiceDocument(
            type: type, typeCode: type == .invoice ? "380" : "381",
            customizationID: "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0",
            profileID: "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0", number: number,
            issueDate: Day(year: 2026, month: 3, day: 14)!, dueDate: Day(year: 2026, month: 4, day: 13)!,
            currency: c,
            seller: seller, buyer: buyer,
            lines: lines.enumerated().map { i, l in line("\(i + 1)", m(l.0), percent: l.1) },
            allowancesCharges: allowancesCharges.map {
                AllowanceCharge(
                    isCharge: $0.0, amount: m($0.1), reason: $0.0 ? "Frakt" : "Rabatt", taxCategory: "S",
                    taxPercent: $0.2)
            },
            taxTotal: m(taxTotal),
            taxSubtotals: subtotals.map {
                TaxSubtotal(
                    taxable: m($0.1), tax: m($0.2), category: $0.0 == nil || $0.0!.isZero ? "Z" : "S",
                    percent: $0.0)
            },
            totals: MonetaryTotals(
                lineExtension: m(lineTotal), taxExclusive: m(taxExclusive), taxInclusive: m(taxInclusive),
                allowanceTotal: m(allowanceTotal), chargeTotal: m(chargeTotal), prepaid: m(prepaid),
                rounding: m(rounding),
                payable: m(payable)))
    }

    var description: String {
        "InvoiceSpec(\(currency) lines: \(lines.map { "\($0.0)@\($0.1?.description ?? "nil")" }), "
            + "ac: \(allowancesCharges.map { "\($0.0 ? "+" : "-")\($0.1)@\($0.2?.description ?? "nil")" }), "
            + "prepaid: \(prepaid), rounding: \(rounding), payable: \(payable))"
    }
}

// MARK: - Property checks that do not swallow errors

// swift-property-based 2.0.1 runs each property body under `try?` (IssueCounting.swift,
// Swift ≥ 6.2 branch): an error *thrown* by the body is dropped without recording an issue, so
// `try PostingRules.entry(...)` failing inside `propertyCheck` would pass silently. `forAll`
// records anything the body throws, except the error `#require` throws after it has already
// recorded its own issue.

func forAll<In, Out>(
    count: Int = 100, _ gen: Generator<Out, some Sequence<In>>,
    isolation: isolated (any Actor)? = #isolation, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (Out) async throws -> Void
) async {
    await propertyCheck(
        count: count, input: gen,
        perform: { value in
            do {
                try await body(value)
            } catch is ExpectationFailedError {
                // Already recorded by #require.
            } catch {
                Issue.record(error, "thrown by the property body", sourceLocation: sourceLocation)
            }
        }, isolation: isolation, sourceLocation: sourceLocation)
}

func forAll<InA, InB, A, B>(
    count: Int = 100, _ a: Generator<A, some Sequence<InA>>, _ b: Generator<B, some Sequence<InB>>,
    isolation: isolated (any Actor)? = #isolation, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: (A, B) async throws -> Void
) async {
    await forAll(count: count, zip(a, b), isolation: isolation, sourceLocation: sourceLocation) {
        try await body($0.0, $0.1)
    }
}

func forAll<InA, InB, InC, A, B, C>(
    count: Int = 100, _ a: Generator<A, some Sequence<InA>>, _ b: Generator<B, some Sequence<InB>>,
    _ c: Generator<C, some Sequence<InC>>, isolation: isolated (any Actor)? = #isolation,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: (A, B, C) async throws -> Void
) async {
    await forAll(count: count, zip(a, b, c), isolation: isolation, sourceLocation: sourceLocation) {
        try await body($0.0, $0.1, $0.2)
    }
}

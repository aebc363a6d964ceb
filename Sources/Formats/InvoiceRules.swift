import LedgerCore

/// The EN 16931 / PEPPOL BIS 3 / Norwegian rules a receiver can check on the document alone.
///
/// Each rule follows the official schematron text, not a paraphrase of the rule's title:
/// the CEN rules from ConnectingEurope/eInvoicing-EN16931 (ubl/schematron/UBL/
/// EN16931-UBL-model.sch), the PEPPOL and Norwegian ones from OpenPEPPOL/peppol-bis-invoice-3
/// (rules/sch/PEPPOL-EN16931-UBL.sch). Where the schematron has a tolerance, so does this:
///
/// - BR-CO-10…16: exact (sums of two-decimal amounts, compared after rounding to two
///   decimals, which changes nothing).
/// - BR-CO-17 and BR-S-09: |abs(tax) − round(abs(taxable) × rate / 100, 2)| < 1 (one unit
///   of the currency, strictly), and a rate that rounds to 0 (or no rate) needs a tax
///   amount that rounds to 0 (XPath `round`).
/// - BR-S-08: |taxable − (Σ lines + charges − allowances at that rate)| < 1, and at least
///   one line, allowance or charge must carry the rate.
/// - BR-Z/E/AE/IC/G/O-08 and -09: exact.
/// - PEPPOL-EN16931-R120: |net − (quantity × price / base quantity + charges − allowances)|
///   ≤ 0.02, with quantity 1 and base quantity 1 when absent (as the schematron defaults
///   them), computed exactly (no division rounding).
/// - PEPPOL-EN16931-R044 and R046: a price carries no charge, and net price = gross price −
///   discount, exactly, where a gross price is given.
///
/// Checked while reading (`UBLReader`), since they concern values the model does not keep:
/// PEPPOL-EN16931-R040 (an allowance or charge with a base amount and a percentage has the
/// amount they make, within 0.02) and R055 (the VAT total in the accounting currency has the
/// sign of the VAT total).
///
/// Out of scope, on purpose: national rules other than Norway's (Dutch NL-R-*, Swedish
/// SE-R-*, Danish DK-R-*, Italian, Greek, …) — ledgerd's books are Norwegian, and a Dutch or
/// Swedish invoice that satisfies EN 16931 and PEPPOL arithmetic posts correctly here even
/// if it breaks its own country's conventions. NO-R-002 ("Foretaksregisteret") is a
/// warning in PEPPOL BIS 3 (flag="warning"), not an error, so it never blocks posting and
/// is not reported. Rules about codes lists, references, addresses and mandatory
/// descriptive fields that do not change the books are not checked either.
struct InvoiceRules {
    let invoice: InvoiceDocument
    private var violations: [Rejection] = []

    /// The currency's minor digits, looked up once.
    private let digits: Int

    init(_ invoice: InvoiceDocument) {
        self.invoice = invoice
        self.digits = invoice.currency.minorDigits
    }

    private var noun: String { invoice.type == .invoice ? "invoice" : "credit note" }
    private var lineNoun: String { invoice.type == .invoice ? "invoice line" : "credit note line" }
    private var currency: Currency { invoice.currency }

    private mutating func fail(_ rule: String, _ message: String) {
        violations.append(Rejection(rule, message.capitalisedFirst))
    }

    private func show(_ minor: Int64) -> String {
        Money(minor: minor, currency: currency).description
    }
    private func show(_ d: CheckedDecimal) -> String { "\(d.display(maxPlaces: 4)) \(currency.code)" }

    /// One unit of the currency in minor units (the CEN tolerance of "1").
    private var oneUnit: Int64 {
        var u: Int64 = 1
        for _ in 0..<digits { u *= 10 }
        return u
    }

    private static func sum(_ values: some Sequence<Int64>) -> Int64? {
        var total: Int64 = 0
        for v in values {
            let (s, o) = total.addingReportingOverflow(v)
            if o { return nil }
            total = s
        }
        return total
    }

    private static func add(_ a: Int64, _ b: Int64) -> Int64? {
        let (s, o) = a.addingReportingOverflow(b)
        return o ? nil : s
    }

    private static func subtract(_ a: Int64, _ b: Int64) -> Int64? {
        let (s, o) = a.subtractingReportingOverflow(b)
        return o ? nil : s
    }

    private static func rate(_ p: ExactDecimal) -> String { CheckedDecimal(p).plain + " %" }

    mutating func check() -> [Rejection] {
        guard currenciesAgree(), categoryCodes() else { return violations }
        documentTotals()
        let before = violations.count
        vatBreakdown()
        // Said once: a breakdown already found wrong above is not reported again as a whole.
        if violations.count == before { breakdownAgreesWithLines() }
        outsideScopeAlone()
        categoryRates()
        for line in invoice.lines {
            lineArithmetic(line)
            netPrice(line)
        }
        norwegianVATNumber()
        return violations
    }

    // MARK: - BR-CL-17 / BR-CL-18

    /// The VAT category codes EN 16931 allows (UNCL5305 as BR-CL-17 and BR-CL-18 restrict it),
    /// case-sensitive.
    static let vatCategoryCodes: Set<String> = ["S", "Z", "E", "AE", "K", "G", "O", "L", "M", "B"]

    /// Categories that are valid but that ledgerd cannot book: their tax is not Norwegian VAT,
    /// and booking it as input VAT by its rate would claim a deduction that does not exist.
    static let unbookedCategories: [String: String] = [
        "L": "IGIC, the Canary Islands' indirect tax", "M": "IPSI, the tax of Ceuta and Melilla",
    ]

    /// Every VAT category is one of the standard's codes (and one ledgerd can book). An unknown
    /// code has no rules of its own, so nothing would tie its VAT to the lines: checked first,
    /// and nothing else is checked after a failure.
    private mutating func categoryCodes() -> Bool {
        // The first codes in a short list: an invoice has a code or two, and hashing each
        // line's into a set cost ~450 instructions a line. Past a dozen (more than EN 16931
        // has), in a set, so that a file of many made-up codes costs no more than before.
        var seen: [String] = []
        var more: Set<String> = []
        func firstSeen(_ code: String) -> Bool {
            if seen.contains(code) { return false }
            guard seen.count >= 12 else {
                seen.append(code)
                return true
            }
            return more.insert(code).inserted
        }
        // Where a code was found is put in words only for a message: a label built for every
        // line of every valid invoice would cost more than the check itself.
        func look(_ code: String, rule: String, where place: @autoclosure () -> String) {
            guard firstSeen(code) else { return }
            if !Self.vatCategoryCodes.contains(code) {
                let quoted = OneLine.escaped(String(code.prefix(20)))
                let place = place()
                fail(
                    rule,
                    "\(place) has VAT category \"\(quoted)\", which is not a VAT category code of EN 16931 (S, Z, E, AE, K, G, O, L, M or B, in capitals)."
                )
            } else if let tax = Self.unbookedCategories[code] {
                let place = place()
                fail(
                    "VAT-CATEGORY-UNSUPPORTED",
                    "\(place) has VAT category \(code) (\(tax)); that is not Norwegian VAT, and ledgerd cannot book it."
                )
            }
        }
        for l in invoice.lines { look(l.taxCategory, rule: "BR-CL-18", where: "\(lineNoun) \(l.id)") }
        for ac in invoice.allowancesCharges {
            if let c = ac.taxCategory {
                look(c, rule: "BR-CL-17", where: ac.isCharge ? "a document-level charge" : "a document-level allowance")
            }
        }
        for s in invoice.taxSubtotals { look(s.category, rule: "BR-CL-17", where: "the VAT breakdown") }
        return violations.isEmpty
    }

    // MARK: - The breakdown as a whole

    /// Beyond the rules, which check each breakdown on its own: one breakdown per category
    /// and rate, VAT of at least one unit with the sign of the amount it is on, and the
    /// breakdown as a whole covering the lines, allowances and charges. A valid invoice meets
    /// these (each category's taxable amount is, by its definition, the sum of what is in it,
    /// and its VAT a rate of it, within the rules' one unit); an invoice that does not would
    /// book VAT that no line carries (a breakdown given twice, VAT of the wrong sign) or leave
    /// lines out of the VAT. Checked once every breakdown passed its own rules.
    private mutating func breakdownAgreesWithLines() {
        var groups: [(category: String, percent: ExactDecimal?, count: Int)] = []
        for s in invoice.taxSubtotals {
            if let i = groups.firstIndex(where: {
                $0.category == s.category && Self.sameRate($0.percent, s.percent)
            }) {
                groups[i].count += 1
            } else {
                groups.append((s.category, s.percent, 1))
            }
            // Beyond the one unit the rules allow: VAT rounded line by line may leave a cent of
            // the other sign on a breakdown whose lines nearly cancel out.
            if (s.tax.minor < 0 && s.taxable.minor > 0) || (s.tax.minor > 0 && s.taxable.minor < 0),
                s.tax.minor.magnitude >= UInt64(oneUnit)
            {
                fail(
                    "VAT-BREAKDOWN",
                    "the VAT breakdown for category \(s.category)\(s.percent.map { " at \(Self.rate($0))" } ?? "") has VAT \(s.tax) on a taxable amount of \(s.taxable); VAT has the sign of the amount it is on."
                )
            }
        }
        var repeated = false
        for g in groups where g.count > 1 {
            repeated = true
            fail(
                "VAT-BREAKDOWN",
                "the \(noun) gives the VAT breakdown for category \(g.category)\(g.percent.map { " at \(Self.rate($0))" } ?? "") \(g.count) times; there must be one per category and rate."
            )
        }
        guard !repeated else { return }
        var parts = invoice.lines.map(\.lineExtension.minor)
        for ac in invoice.allowancesCharges {
            guard ac.amount.minor != Int64.min else { return }
            parts.append(ac.isCharge ? ac.amount.minor : -ac.amount.minor)
        }
        guard let covered = Self.sum(parts), let taxable = Self.sum(invoice.taxSubtotals.map(\.taxable.minor)),
            let difference = Self.subtract(taxable, covered)
        else { return }
        // Each standard rated breakdown may round its taxable amount by less than one unit (BR-S-08).
        if difference.magnitude >= UInt64(oneUnit) * UInt64(max(1, invoice.taxSubtotals.count)) {
            fail(
                "VAT-BREAKDOWN",
                "the taxable amounts of the VAT breakdown add up to \(show(taxable)) but the lines, allowances and charges make \(show(covered)); every line must be in exactly one VAT breakdown."
            )
        }
    }

    private static func sameRate(_ a: ExactDecimal?, _ b: ExactDecimal?) -> Bool {
        guard let a, let b else { return a == nil && b == nil }
        return CheckedDecimal.same(CheckedDecimal(a), CheckedDecimal(b))
    }

    // MARK: - BR-O-11 … 14

    /// An invoice outside the scope of VAT (O) is wholly so: no other category anywhere.
    private mutating func outsideScopeAlone() {
        guard invoice.taxSubtotals.contains(where: { $0.category == "O" }) else { return }
        let name = "outside the scope of VAT (O)"
        if let other = invoice.taxSubtotals.first(where: { $0.category != "O" }) {
            fail(
                "BR-O-11",
                "the \(noun) has a VAT breakdown that is \(name) and another in category \(other.category); one outside the scope of VAT has no other."
            )
        }
        if let l = invoice.lines.first(where: { $0.taxCategory != "O" }) {
            fail(
                "BR-O-12",
                "the \(noun) is \(name) but \(lineNoun) \(l.id) is in VAT category \(l.taxCategory); every line must be O."
            )
        }
        for ac in invoice.allowancesCharges where ac.taxCategory != "O" {
            let what = ac.isCharge ? "a document-level charge" : "a document-level allowance"
            fail(
                ac.isCharge ? "BR-O-14" : "BR-O-13",
                "the \(noun) is \(name) but \(what) is in VAT category \(ac.taxCategory ?? "none"); it must be O.")
            break
        }
    }

    // MARK: - BR-27

    /// A price is never negative: a line that takes something off has a negative quantity.
    private mutating func netPrice(_ line: InvoiceLine) {
        if let price = line.priceAmount, price.significand < 0 {
            fail(
                "BR-27",
                "the price of \(lineNoun) \(line.id) is \(CheckedDecimal(price).plain); a price cannot be negative (a line that takes something off has a negative quantity)."
            )
        }
    }

    // MARK: - PEPPOL-EN16931-R051

    /// Every amount of the model in the document currency; otherwise the arithmetic means
    /// nothing and is not attempted.
    private mutating func currenciesAgree() -> Bool {
        var other: Money?
        func see(_ m: Money) { if other == nil, m.currency != invoice.currency { other = m } }
        for l in invoice.lines {
            see(l.lineExtension)
            see(l.allowanceTotal)
            see(l.chargeTotal)
        }
        for ac in invoice.allowancesCharges { see(ac.amount) }
        see(invoice.taxTotal)
        for s in invoice.taxSubtotals {
            see(s.taxable)
            see(s.tax)
        }
        let t = invoice.totals
        for m in [
            t.lineExtension, t.taxExclusive, t.taxInclusive, t.allowanceTotal, t.chargeTotal, t.prepaid,
            t.rounding, t.payable,
        ] {
            see(m)
        }
        if let other {
            fail(
                "PEPPOL-EN16931-R051",
                "the amount \(other) is not in the \(noun) currency \(currency.code); every amount must be in the \(noun) currency."
            )
            return false
        }
        return true
    }

    // MARK: - BR-CO-10 … BR-CO-16

    private mutating func documentTotals() {
        let t = invoice.totals
        if let lines = Self.sum(invoice.lines.map(\.lineExtension.minor)) {
            if lines != t.lineExtension.minor {
                fail(
                    "BR-CO-10",
                    "the \(noun) lines add up to \(show(lines)) but the line extension total says \(show(t.lineExtension.minor))."
                )
            }
        } else {
            fail("BR-CO-10", "the \(noun) lines are too large to add up.")
        }

        let allowances = invoice.allowancesCharges.filter { !$0.isCharge }.map(\.amount.minor)
        if let sum = Self.sum(allowances) {
            if sum != t.allowanceTotal.minor {
                fail(
                    "BR-CO-11",
                    t.allowanceTotalStated
                        ? "the document-level allowances add up to \(show(sum)) but the allowance total says \(show(t.allowanceTotal.minor))."
                        : "the document-level allowances add up to \(show(sum)) but the document states no allowance total (AllowanceTotalAmount)."
                )
            }
        } else {
            fail("BR-CO-11", "the document-level allowances are too large to add up.")
        }

        let charges = invoice.allowancesCharges.filter(\.isCharge).map(\.amount.minor)
        if let sum = Self.sum(charges) {
            if sum != t.chargeTotal.minor {
                fail(
                    "BR-CO-12",
                    t.chargeTotalStated
                        ? "the document-level charges add up to \(show(sum)) but the charge total says \(show(t.chargeTotal.minor))."
                        : "the document-level charges add up to \(show(sum)) but the document states no charge total (ChargeTotalAmount)."
                )
            }
        } else {
            fail("BR-CO-12", "the document-level charges are too large to add up.")
        }

        if let net = Self.subtract(t.lineExtension.minor, t.allowanceTotal.minor).flatMap({
            Self.add($0, t.chargeTotal.minor)
        }) {
            if net != t.taxExclusive.minor {
                fail(
                    "BR-CO-13",
                    "the total without VAT says \(show(t.taxExclusive.minor)) but the line total \(show(t.lineExtension.minor)) − allowances \(show(t.allowanceTotal.minor)) + charges \(show(t.chargeTotal.minor)) makes \(show(net))."
                )
            }
        } else {
            fail("BR-CO-13", "the totals are too large to add up.")
        }

        if !invoice.taxSubtotals.isEmpty {
            if let sum = Self.sum(invoice.taxSubtotals.map(\.tax.minor)) {
                if sum != invoice.taxTotal.minor {
                    fail(
                        "BR-CO-14",
                        "the VAT breakdown adds up to \(show(sum)) but the VAT total says \(show(invoice.taxTotal.minor))."
                    )
                }
            } else {
                fail("BR-CO-14", "the VAT breakdown is too large to add up.")
            }
        }

        if let gross = Self.add(t.taxExclusive.minor, invoice.taxTotal.minor) {
            if gross != t.taxInclusive.minor {
                fail(
                    "BR-CO-15",
                    "the total with VAT says \(show(t.taxInclusive.minor)) but the total without VAT \(show(t.taxExclusive.minor)) + VAT \(show(invoice.taxTotal.minor)) makes \(show(gross))."
                )
            }
        } else {
            fail("BR-CO-15", "the totals are too large to add up.")
        }

        if let due = Self.subtract(t.taxInclusive.minor, t.prepaid.minor).flatMap({
            Self.add($0, t.rounding.minor)
        }) {
            if due != t.payable.minor {
                fail(
                    "BR-CO-16",
                    "the amount due says \(show(t.payable.minor)) but the total with VAT \(show(t.taxInclusive.minor)) − prepaid \(show(t.prepaid.minor)) + rounding \(show(t.rounding.minor)) makes \(show(due))."
                )
            }
        } else {
            fail("BR-CO-16", "the totals are too large to add up.")
        }
    }

    // MARK: - VAT breakdown

    /// The rule prefix and a bookkeeper's name of the VAT categories with their own rules.
    private static func categoryRule(_ category: String) -> (rule: String, name: String)? {
        switch category {
        case "S": return ("BR-S", "standard rated (S)")
        case "Z": return ("BR-Z", "zero rated (Z)")
        case "E": return ("BR-E", "exempt from VAT (E)")
        case "AE": return ("BR-AE", "reverse charge (AE)")
        case "K": return ("BR-IC", "intra-community supply (K)")
        case "G": return ("BR-G", "export outside the EU (G)")
        case "O": return ("BR-O", "outside the scope of VAT (O)")
        default: return nil
        }
    }

    /// Net amount in one VAT category (and, for S, one rate): lines + charges − allowances.
    private func categoryNet(_ category: String, rate: ExactDecimal?) -> (net: Int64?, used: Bool) {
        func matches(_ c: String?, _ p: ExactDecimal?) -> Bool {
            guard c == category else { return false }
            guard let rate else { return true }
            guard let p else { return false }
            return CheckedDecimal.same(CheckedDecimal(p), CheckedDecimal(rate))
        }
        var used = false
        var values: [Int64] = []
        for l in invoice.lines where matches(l.taxCategory, l.taxPercent) {
            used = true
            values.append(l.lineExtension.minor)
        }
        for ac in invoice.allowancesCharges where matches(ac.taxCategory, ac.taxPercent) {
            used = true
            guard ac.amount.minor != Int64.min else { return (nil, used) }
            values.append(ac.isCharge ? ac.amount.minor : -ac.amount.minor)
        }
        return (Self.sum(values), used)
    }

    private mutating func vatBreakdown() {
        if invoice.taxSubtotals.isEmpty {
            fail("BR-CO-18", "the \(noun) has no VAT breakdown (cac:TaxTotal/cac:TaxSubtotal).")
        }
        for s in invoice.taxSubtotals {
            vatAmount(s)
            if s.category == "S" {
                standardRated(s)
            } else if let (rule, name) = Self.categoryRule(s.category) {
                let (net, _) = categoryNet(s.category, rate: nil)
                if let net {
                    if net != s.taxable.minor {
                        fail(
                            "\(rule)-08",
                            "the taxable amount of the \(name) VAT breakdown says \(show(s.taxable.minor)) but the lines, allowances and charges in that category make \(show(net))."
                        )
                    }
                } else {
                    fail("\(rule)-08", "the amounts in the \(name) VAT category are too large to add up.")
                }
                if !s.tax.isZero {
                    fail(
                        "\(rule)-09", "the VAT amount of the \(name) VAT breakdown must be 0 but says \(s.tax)."
                    )
                }
            }
        }
        // BR-x-01: a category used on a line, allowance or charge has a breakdown (exactly one,
        // except standard rate, which has one per rate).
        var used: [String] = []
        for l in invoice.lines where !used.contains(l.taxCategory) { used.append(l.taxCategory) }
        for ac in invoice.allowancesCharges {
            if let c = ac.taxCategory, !used.contains(c) { used.append(c) }
        }
        for category in used {
            guard let (rule, name) = Self.categoryRule(category) else { continue }
            let count = invoice.taxSubtotals.filter { $0.category == category }.count
            if count == 0 {
                fail(
                    "\(rule)-01",
                    "the \(noun) has lines, allowances or charges that are \(name) but no VAT breakdown for that category."
                )
            } else if count > 1 && category != "S" {
                fail(
                    "\(rule)-01",
                    "the \(noun) has \(count) VAT breakdowns that are \(name); there must be exactly one.")
            }
        }
    }

    /// BR-CO-17 on every breakdown.
    private mutating func vatAmount(_ s: TaxSubtotal) {
        let tax = CheckedDecimal(s.tax, digits: digits)
        guard let percent = s.percent else {
            if let r = tax.xpathRounded, !r.isZero {
                fail(
                    "BR-CO-17",
                    "the VAT breakdown for category \(s.category) has no rate, so its VAT must be 0, but it says \(s.tax)."
                )
            }
            return
        }
        let p = CheckedDecimal(percent)
        if let roundedRate = p.xpathRounded, roundedRate.isZero {
            if let r = tax.xpathRounded, !r.isZero {
                fail(
                    "BR-CO-17",
                    "the VAT breakdown for category \(s.category) at \(Self.rate(percent)) must have 0 VAT but says \(s.tax)."
                )
            }
            return
        }
        if let expected = expectedVAT(s.taxable, percent), let within = withinOneUnit(s.tax, expected) {
            if !within {
                fail(
                    "BR-CO-17",
                    "the VAT of category \(s.category) at \(Self.rate(percent)) says \(s.tax) but \(Self.rate(percent)) of \(s.taxable.magnitudeDescription) is \(show(expected))."
                )
            }
        } else {
            fail(
                "BR-CO-17",
                "the VAT of category \(s.category) at \(Self.rate(percent)) is too large to check.")
        }
    }

    /// round(abs(taxable) × rate / 100, 2) — the schematron's expected VAT.
    private func expectedVAT(_ taxable: Money, _ percent: ExactDecimal) -> CheckedDecimal? {
        guard let base = CheckedDecimal(taxable, digits: digits).magnitude,
            let product = base * CheckedDecimal(percent)
        else { return nil }
        return CheckedDecimal(significand: product.significand, scale: product.scale + 2).rounded(
            toPlaces: 2)
    }

    /// abs(tax) − 1 < expected < abs(tax) + 1.
    private func withinOneUnit(_ tax: Money, _ expected: CheckedDecimal) -> Bool? {
        guard let magnitude = CheckedDecimal(tax, digits: digits).magnitude,
            let difference = magnitude - expected,
            let distance = difference.magnitude,
            let comparison = CheckedDecimal.compare(distance, CheckedDecimal(integer: 1))
        else { return nil }
        return comparison < 0
    }

    private mutating func standardRated(_ s: TaxSubtotal) {
        guard let percent = s.percent else {
            fail(
                "BR-S-09",
                "the standard rated (S) VAT breakdown has no VAT rate, so its VAT cannot be checked.")
            return
        }
        // BR-S-08
        let (net, used) = categoryNet("S", rate: percent)
        if !used {
            fail(
                "BR-S-08",
                "the VAT breakdown has standard rate \(Self.rate(percent)) but no line, allowance or charge is standard rated at \(Self.rate(percent))."
            )
        } else if let net, let difference = Self.subtract(s.taxable.minor, net) {
            if difference.magnitude >= UInt64(oneUnit) {
                fail(
                    "BR-S-08",
                    "the taxable amount at standard rate \(Self.rate(percent)) says \(show(s.taxable.minor)) but the lines, allowances and charges at that rate make \(show(net))."
                )
            }
        } else {
            fail("BR-S-08", "the amounts at standard rate \(Self.rate(percent)) are too large to add up.")
        }
        // BR-S-09
        if let expected = expectedVAT(s.taxable, percent), let within = withinOneUnit(s.tax, expected) {
            if !within {
                fail(
                    "BR-S-09",
                    "the VAT at standard rate \(Self.rate(percent)) says \(s.tax) but \(Self.rate(percent)) of \(s.taxable.magnitudeDescription) is \(show(expected))."
                )
            }
        } else {
            fail("BR-S-09", "the VAT at standard rate \(Self.rate(percent)) is too large to check.")
        }
    }

    // MARK: - BR-x-05/06/07 and BR-32/37: the rate each category allows

    private mutating func categoryRates() {
        let noun = lineNoun  // the labels below are closures, which may not capture `self`
        for l in invoice.lines {
            rateRule(category: l.taxCategory, percent: l.taxPercent, number: "05", what: "\(noun) \(l.id)")
        }
        for (i, ac) in invoice.allowancesCharges.enumerated() {
            func label() -> String {
                let what = ac.isCharge ? "document-level charge" : "document-level allowance"
                return "\(what) \(i + 1)\(ac.reason.map { " (\($0))" } ?? "")"
            }
            guard let category = ac.taxCategory else {
                fail(ac.isCharge ? "BR-37" : "BR-32", "the \(label()) has no VAT category.")
                continue
            }
            rateRule(
                category: category, percent: ac.taxPercent, number: ac.isCharge ? "07" : "06",
                what: "the \(label())")
        }
    }

    /// `what` is put in words only when the rule fails (see `categoryCodes`).
    private mutating func rateRule(
        category: String, percent: ExactDecimal?, number: String, what: @autoclosure () -> String
    ) {
        guard let (rule, name) = Self.categoryRule(category) else { return }
        func failing(_ message: (String) -> String) {
            let text = message(what())
            fail("\(rule)-\(number)", text)
        }
        switch category {
        case "S":
            guard let percent else {
                failing { "\($0) is \(name) but has no VAT rate." }
                return
            }
            if !(percent.significand > 0) {
                failing { "\($0) is \(name) but its VAT rate is \(Self.rate(percent)); it must be above zero." }
            }
        case "O":
            if let percent {
                failing { "\($0) is \(name) but has a VAT rate (\(Self.rate(percent))); it must have none." }
            }
        default:
            guard let percent else {
                failing { "\($0) is \(name) but has no VAT rate; it must be 0 %." }
                return
            }
            if !percent.isZero {
                failing { "\($0) is \(name) but its VAT rate is \(Self.rate(percent)); it must be 0 %." }
            }
        }
    }

    // MARK: - PEPPOL-EN16931-R044 / R046

    /// A price carries no charge (R044); with a gross price, the net price is the gross price
    /// less the discount, exactly (R046).
    private mutating func priceDiscounts(_ line: InvoiceLine, label: @autoclosure () -> String) {
        for discount in line.priceDiscounts {
            if discount.isCharge {
                fail(
                    "PEPPOL-EN16931-R044",
                    "the price of \(label()) carries a charge (cac:Price/cac:AllowanceCharge); only a discount may be given there."
                )
                continue
            }
            guard let gross = discount.grossPrice, let net = line.priceAmount else { continue }
            let amount = discount.amount.map(CheckedDecimal.init) ?? .zero
            guard let made = CheckedDecimal(gross) - amount else {
                fail("PEPPOL-EN16931-R046", "the gross price and discount of \(label()) are too large to check.")
                continue
            }
            if !CheckedDecimal.same(made, CheckedDecimal(net)) {
                fail(
                    "PEPPOL-EN16931-R046",
                    "the net price of \(label()) is \(CheckedDecimal(net).display()) but its gross price \(CheckedDecimal(gross).display()) less the discount \(amount.display()) makes \(made.display())."
                )
            }
        }
    }

    // MARK: - PEPPOL-EN16931-R120 / R121

    private mutating func lineArithmetic(_ line: InvoiceLine) {
        // Put in words only for a message (see `categoryCodes`), from a copy of the noun: the
        // label is passed as a closure, which may not capture `self`.
        let noun = lineNoun
        var label: String { "\(noun) \(line.id)" }
        priceDiscounts(line, label: label)
        if let base = line.priceBaseQuantity, !(base.significand > 0) {
            fail(
                "PEPPOL-EN16931-R121",
                "the price base quantity of \(label) is \(CheckedDecimal(base).plain); it must be above zero."
            )
        }
        let quantity = line.quantity.map(CheckedDecimal.init) ?? CheckedDecimal(integer: 1)
        let price = line.priceAmount.map(CheckedDecimal.init) ?? .zero
        var base = line.priceBaseQuantity.map(CheckedDecimal.init) ?? CheckedDecimal(integer: 1)
        if base.isZero { base = CheckedDecimal(integer: 1) }
        let net = CheckedDecimal(line.lineExtension, digits: digits)
        let charges = CheckedDecimal(line.chargeTotal, digits: digits)
        let allowances = CheckedDecimal(line.allowanceTotal, digits: digits)
        // |net − (q·p/b + c − a)| ≤ 0.02  ⇔  |net·b − q·p − (c − a)·b| ≤ 0.02·|b|
        guard let adjustments = charges - allowances,
            let netTimesBase = net * base,
            let gross = quantity * price,
            let adjustmentsTimesBase = adjustments * base,
            let partial = netTimesBase - gross,
            let difference = partial - adjustmentsTimesBase,
            let distance = difference.magnitude,
            let baseMagnitude = base.magnitude,
            let slack = CheckedDecimal(significand: 2, scale: 2) * baseMagnitude,
            let comparison = CheckedDecimal.compare(distance, slack)
        else {
            fail("PEPPOL-EN16931-R120", "the quantity and price of \(label) are too large to check.")
            return
        }
        guard comparison > 0 else { return }
        let unit = price.divided(by: base, places: 8) ?? price
        let computed = (quantity * unit).flatMap { $0 + adjustments }
        var explanation = "quantity \(quantity.plain) × price \(price.plain)"
        if !CheckedDecimal.same(base, CheckedDecimal(integer: 1)) {
            explanation += " per \(base.plain)"
        }
        if !line.chargeTotal.isZero { explanation += " + charges \(line.chargeTotal.amountString)" }
        if !line.allowanceTotal.isZero {
            explanation += " − allowances \(line.allowanceTotal.amountString)"
        }
        let makes = computed.map { show($0) } ?? "a different amount"
        fail(
            "PEPPOL-EN16931-R120",
            "the net amount of \(label) says \(line.lineExtension) but \(explanation) makes \(makes) (more than 0.02 apart)."
        )
    }

    // MARK: - NO-R-001

    /// For a Norwegian supplier (PEPPOL's $supplierCountry, taken from the VAT number's prefix
    /// first), a VAT number starting with "NO" must be "NO" + nine digits passing the
    /// modulus 11 check + "MVA". As in PEPPOL's rule, only the company IDs under the VAT tax
    /// scheme are read: a Norwegian seller's other registrations (TaxScheme `TAX`, with
    /// "Foretaksregisteret" or an org number) are not VAT numbers.
    private mutating func norwegianVATNumber() {
        for id in invoice.seller.vatIDs where id.hasPrefix("NO") {
            // Over the bytes, in place: every invoice has a seller.
            func check(_ utf8: UnsafeBufferPointer<UInt8>) -> (wellFormed: Bool, valid: Bool) {
                guard utf8.count == 14 else { return (false, false) }
                let digits = UnsafeBufferPointer(rebasing: utf8[2..<11])
                guard digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), utf8[11...].elementsEqual("MVA".utf8) else {
                    return (false, false)
                }
                return (true, NorwegianOrgNumber.isValid(utf8: digits) && !digits.allSatisfy { $0 == 0x30 })
            }
            let verdict =
                id.utf8.withContiguousStorageIfAvailable(check) ?? Array(id.utf8).withUnsafeBufferPointer(check)
            if !verdict.wellFormed {
                fail(
                    "NO-R-001",
                    "the seller's VAT number '\(id)' is not NO followed by a nine-digit organisation number and MVA (such as NO999999999MVA)."
                )
            } else if !verdict.valid {
                fail(
                    "NO-R-001",
                    "the seller's VAT number \(id) does not hold a valid Norwegian organisation number (\(id.dropFirst(2).prefix(9)) fails the modulus 11 check)."
                )
            }
        }
    }
}

extension Money {
    /// "1460.50 NOK" for the absolute amount (the VAT rules work on magnitudes).
    fileprivate var magnitudeDescription: String {
        minor == Int64.min
            ? description : Money(minor: minor < 0 ? -minor : minor, currency: currency).description
    }
}

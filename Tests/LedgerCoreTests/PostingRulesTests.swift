import PropertyBased
import Testing

@testable import LedgerCore

/// Generated consistent invoices (EN 16931 totals), with an optional per-party account override.
struct InvoiceScenario: Sendable, CustomStringConvertible {
    var spec: InvoiceSpec
    var override: Bool

    var description: String { "\(spec) override: \(override)" }

    static let rates: [ExactDecimal?] = [
        ExactDecimal(25), ExactDecimal(15), ExactDecimal(12), ExactDecimal(0),
    ]

    /// - Parameters:
    ///   - lineRange: line amounts in minor units.
    ///   - rates: the VAT rates lines and allowances/charges draw from.
    static func generate(
        lineRange: ClosedRange<Int64> = -5_000_000...50_000_000, rates: [ExactDecimal?] = rates
    ) -> Generator<Self, Shrink.None<Self>> {
        scenario { rng in
            let currencies: [Currency] = [.nok, .nok, .nok, .eur, jpy, kwd]
            let currency = currencies[Int.random(in: 0..<currencies.count, using: &rng)]
            let lines = (0..<Int.random(in: 1...8, using: &rng)).map { _ in
                (edgy(lineRange, &rng), rates[Int.random(in: 0..<rates.count, using: &rng)])
            }
            let allowancesCharges = (0..<Int.random(in: 0...3, using: &rng)).map { _ in
                (
                    Bool.random(using: &rng), Int64.random(in: 0...2_000_000, using: &rng),
                    rates[Int.random(in: 0..<rates.count, using: &rng)]
                )
            }
            var spec = InvoiceSpec(currency: currency, lines: lines, allowancesCharges: allowancesCharges)
            let inclusive = spec.taxInclusive
            if Bool.random(using: &rng) {
                spec.prepaid = Int64.random(in: 0...max(0, inclusive), using: &rng)
            }
            if Bool.random(using: &rng) { spec.rounding = Int64.random(in: -49...49, using: &rng) }
            return InvoiceScenario(spec: spec, override: Bool.random(using: &rng))
        }
    }
}

@Suite("PostingRules")
struct PostingRulesTests {
    static let defaultPlan = AccountPlan()

    static func plan(override: Bool) -> AccountPlan {
        var plan = AccountPlan()
        if override {
            plan.supplierCostAccounts[supplier.legalCompanyID!] = "6800"
            plan.customerRevenueAccounts[customer.legalCompanyID!] = "3100"
        }
        return plan
    }

    /// +1 when the net amounts are debits (purchase invoice, sale credit note), else −1.
    static func sign(_ direction: Direction, _ type: DocumentType) -> Int64 {
        switch (direction, type) {
        case (.purchase, .invoice), (.sale, .creditNote): return 1
        case (.purchase, .creditNote), (.sale, .invoice): return -1
        }
    }

    static func document(_ spec: InvoiceSpec, _ direction: Direction, _ type: DocumentType)
        -> InvoiceDocument
    {
        direction == .purchase
            ? spec.document(type, seller: supplier, buyer: us)
            : spec.document(type, seller: us, buyer: customer)
    }

    /// What every account should carry, from DESIGN §3, computed from the spec alone.
    static func expectedBalances(
        _ spec: InvoiceSpec, _ direction: Direction, _ type: DocumentType, override: Bool,
        plan: AccountPlan
    ) -> [String: Int64] {
        let s = sign(direction, type)
        let c = spec.currency.code
        var expected: [String: Int64] = [:]
        func add(_ account: String, _ minor: Int64) { expected["\(account) \(c)", default: 0] += minor }
        let purchase = direction == .purchase
        add(
            purchase ? (override ? "6800" : "4000") : (override ? "3100" : "3000"), s * spec.taxExclusive)
        for (percent, _, tax) in spec.subtotals {
            let table =
                purchase
                ? ["25": "2710", "15": "2711", "12": "2712"] : ["25": "2700", "15": "2701", "12": "2702"]
            let account =
                percent.flatMap { table[$0.normalized.description] } ?? (purchase ? "2710" : "2700")
            add(account, s * tax)
        }
        add("7740", s * spec.rounding)
        add(purchase ? "2400" : "1500", -s * spec.payable)
        add(purchase ? "1480" : "2900", -s * spec.prepaid)
        return expected.filter { $0.value != 0 }
    }

    static let combinations: [(Direction, DocumentType)] = [
        (.purchase, .invoice), (.purchase, .creditNote), (.sale, .invoice), (.sale, .creditNote),
    ]

    @Test("every consistent invoice, both directions, both document types, posts a balanced entry")
    func generatedInvoices() async {
        await forAll(count: 500, InvoiceScenario.generate()) { scenario in
            let spec = scenario.spec
            let plan = Self.plan(override: scenario.override)
            for (direction, type) in Self.combinations {
                let invoice = Self.document(spec, direction, type)
                let entry = try PostingRules.entry(for: invoice, direction: direction, accounts: plan)
                let s = Self.sign(direction, type)

                expectBalanced(entry)
                expectWellFormedLines(entry)
                #expect(entry.lines.allSatisfy { $0.currency == spec.currency })
                #expect(entry.date == invoice.issueDate && entry.source == .ehf)

                // Account by account, the entry is exactly what DESIGN §3 says.
                let expected = Self.expectedBalances(
                    spec, direction, type, override: scenario.override, plan: plan)
                #expect(entry.signedByAccount == expected, "\(direction) \(type)")

                // The control account carries exactly the payable amount, in one line, on the side
                // the document calls for; nothing when nothing is payable.
                let control: Account = direction == .purchase ? "2400" : "1500"
                let controlLines = entry.lines(on: control)
                if spec.payable == 0 {
                    #expect(controlLines.isEmpty)
                } else {
                    #expect(controlLines.count == 1)
                    #expect(controlLines.first?.signedMinor == -s * spec.payable)
                    #expect(controlLines.first?.memo == invoice.counterparty(direction).name)
                    let creditSide = (direction == .purchase) == (type == .invoice)
                    if spec.payable > 0 {
                        #expect(
                            creditSide
                                ? controlLines.first?.creditMinor == spec.payable
                                : controlLines.first?.debitMinor == spec.payable)
                    }
                }

                // Each VAT account holds the tax of its rates, on the cost side for purchase invoices.
                let vatAccounts: Set<Account> =
                    direction == .purchase ? ["2710", "2711", "2712"] : ["2700", "2701", "2702"]
                // One line per rate, named with it.
                for line in entry.lines where vatAccounts.contains(line.account) {
                    let memo = line.memo ?? ""
                    #expect(memo.hasPrefix("VAT ") && memo.hasSuffix(" %"), "\(memo)")
                }

                // The sub-ledger's open amount is the payable, negative for credit notes.
                let open = PostingRules.openAmount(for: invoice)
                #expect(open.currency == spec.currency)
                #expect(open.minor == (type == .invoice ? spec.payable : -spec.payable))
                // And it is what the control account moved by, seen from the counterparty's side.
                let movement = (entry.signedByAccount["\(control.number) \(spec.currency.code)"] ?? 0)
                #expect(movement == (direction == .sale ? open.minor : -open.minor))
            }
        }
    }

    @Test("an inconsistent invoice is refused as .unbalanced, never posted wrong")
    func inconsistentInvoicesAreRefused() async {
        let gen = zip(
            InvoiceScenario.generate(), Gen.int(in: 0...5), Gen.int(in: 0...100),
            Gen.int64(in: 1...100_000), Gen.bool)
        await forAll(count: 500, gen) { scenario, field, pick, magnitude, down in
            let delta = down ? -magnitude : magnitude
            for (direction, type) in Self.combinations {
                var invoice = Self.document(scenario.spec, direction, type)
                let c = invoice.currency
                func bump(_ m: Money) -> Money { Money(minor: m.minor + delta, currency: c) }
                // Change one amount the posting uses, leaving every other figure as it was.
                switch field {
                case 0:
                    invoice.lines[pick % invoice.lines.count].lineExtension = bump(
                        invoice.lines[pick % invoice.lines.count].lineExtension)
                case 1:
                    invoice.taxSubtotals[pick % invoice.taxSubtotals.count].tax = bump(
                        invoice.taxSubtotals[pick % invoice.taxSubtotals.count].tax)
                case 2: invoice.totals.payable = bump(invoice.totals.payable)
                case 3: invoice.totals.prepaid = bump(invoice.totals.prepaid)
                case 4: invoice.totals.rounding = bump(invoice.totals.rounding)
                default:
                    if invoice.allowancesCharges.isEmpty {
                        invoice.allowancesCharges = [
                            AllowanceCharge(
                                isCharge: true, amount: bump(.zero(c)), reason: nil, taxCategory: "S",
                                taxPercent: ExactDecimal(25))
                        ]
                    } else {
                        let i = pick % invoice.allowancesCharges.count
                        invoice.allowancesCharges[i].amount = bump(invoice.allowancesCharges[i].amount)
                    }
                }
                let error = #expect(
                    throws: JournalEntry.BuildError.self, "field \(field) \(direction) \(type)"
                ) {
                    try PostingRules.entry(for: invoice, direction: direction, accounts: Self.defaultPlan)
                }
                guard case .unbalanced(let currency, let debit, let credit) = error else {
                    Issue.record("expected .unbalanced, got \(String(describing: error))")
                    continue
                }
                #expect(currency == c)
                #expect((Int128(debit) - Int128(credit)).magnitude == UInt128(magnitude))
            }
        }
    }

    @Test("credit notes mirror invoices line by line")
    func creditNotesMirror() async {
        await forAll(count: 300, InvoiceScenario.generate()) { scenario in
            for direction in [Direction.purchase, .sale] {
                let plan = Self.plan(override: scenario.override)
                let invoice = try PostingRules.entry(
                    for: Self.document(scenario.spec, direction, .invoice), direction: direction,
                    accounts: plan)
                let credit = try PostingRules.entry(
                    for: Self.document(scenario.spec, direction, .creditNote), direction: direction,
                    accounts: plan)
                #expect(invoice.lines.count == credit.lines.count)
                for (a, b) in zip(invoice.lines, credit.lines) {
                    #expect(
                        a.account == b.account && a.debitMinor == b.creditMinor && a.creditMinor == b.debitMinor
                    )
                }
                #expect(credit.description.hasPrefix("Credit note INV-1 "))
            }
        }
    }

    @Test("negative invoices (payable < 0) post with the sides flipped")
    func negativeInvoices() async {
        await forAll(count: 300, InvoiceScenario.generate(lineRange: -50_000_000 ... -1)) { scenario in
            var spec = scenario.spec
            spec.allowancesCharges = []
            spec.prepaid = 0
            spec.rounding = 0
            #expect(spec.payable < 0)
            let purchase = try PostingRules.entry(
                for: Self.document(spec, .purchase, .invoice), direction: .purchase,
                accounts: Self.defaultPlan)
            let sale = try PostingRules.entry(
                for: Self.document(spec, .sale, .invoice), direction: .sale, accounts: Self.defaultPlan)
            expectWellFormedLines(purchase)
            expectWellFormedLines(sale)
            // A negative vendor invoice is a claim on the supplier: 2400 debited, cost credited.
            #expect(purchase.lines(on: "2400").map(\.debitMinor) == [-spec.payable])
            #expect(purchase.lines(on: "4000").map(\.creditMinor) == [-spec.taxExclusive])
            // A negative customer invoice is a debt to the customer: 1500 credited, revenue debited.
            #expect(sale.lines(on: "1500").map(\.creditMinor) == [-spec.payable])
            #expect(sale.lines(on: "3000").map(\.debitMinor) == [-spec.taxExclusive])
            #expect(
                PostingRules.openAmount(for: Self.document(spec, .sale, .invoice)).minor == spec.payable)
        }
    }

    @Test("a credit note settles what both it and the invoice it names have open, never less than nothing")
    func creditApplied() async {
        let amount = Gen.int(in: -1_000...1_000_000).map(Int64.init)
        await forAll(count: 2_000, amount, amount) { credit, invoice in
            let applied = PostingRules.creditApplied(creditOpen: credit, invoiceOpen: invoice)
            #expect(applied >= 0 && applied <= max(0, credit) && applied <= max(0, invoice))
            // All of one side's open amount is used, unless nothing is open on either.
            #expect(applied == max(0, credit) || applied == max(0, invoice))
        }
        #expect(PostingRules.creditApplied(creditOpen: 5_000, invoiceOpen: 18_750) == 5_000)
        #expect(PostingRules.creditApplied(creditOpen: 25_000, invoiceOpen: 13_750) == 13_750)
    }

    @Test("what settles named invoices: a credit note's payable amount, a negative invoice's, nothing else")
    func creditToApply() async {
        await forAll(count: 500, InvoiceScenario.generate(lineRange: -50_000_000...50_000_000)) { scenario in
            for (direction, type) in Self.combinations {
                var document = Self.document(scenario.spec, direction, type)
                #expect(PostingRules.creditToApply(document) == 0, "names no invoice")
                document.billingReferences = ["INV-1"]
                let payable = document.totals.payable.minor
                let credit = PostingRules.creditToApply(document)
                #expect(credit >= 0)
                switch type {
                case .creditNote: #expect(credit == max(0, payable))
                case .invoice: #expect(credit == max(0, -payable))
                }
                // A credit takes from what is owed: its open amount on the sub-ledger has the
                // opposite sign of a plain invoice's, or it is none.
                #expect(credit == 0 || PostingRules.openAmount(for: document).minor == -credit)
            }
        }
    }

    @Test("VAT at a rate with no account of its own goes to the 'other' VAT account")
    func unknownRates() async throws {
        let odd: [ExactDecimal?] = [
            dec("11.11"), dec("6"), dec("25.5"), nil, dec("25.00"), dec("15.0"),
        ]
        await forAll(count: 300, InvoiceScenario.generate(rates: odd)) { scenario in
            for (direction, type) in Self.combinations {
                let plan = Self.plan(override: scenario.override)
                let entry = try PostingRules.entry(
                    for: Self.document(scenario.spec, direction, type), direction: direction, accounts: plan)
                #expect(
                    entry.signedByAccount
                        == Self.expectedBalances(
                            scenario.spec, direction, type, override: scenario.override, plan: plan))
            }
        }

        // Example: a custom "other" account makes the routing visible.
        var plan = AccountPlan()
        plan.inputVATOther = "2719"
        plan.outputVATOther = "2709"
        let spec = InvoiceSpec(lines: [(100_00, dec("11.11")), (100_00, dec("25.000")), (100_00, nil)])
        let purchase = try PostingRules.entry(
            for: Self.document(spec, .purchase, .invoice), direction: .purchase, accounts: plan)
        #expect(purchase.lines(on: "2719").map(\.debitMinor) == [11_11])
        #expect(purchase.lines(on: "2710").map(\.debitMinor) == [25_00])
        let sale = try PostingRules.entry(
            for: Self.document(spec, .sale, .invoice), direction: .sale, accounts: plan)
        #expect(sale.lines(on: "2709").map(\.creditMinor) == [11_11])
        #expect(sale.lines(on: "2700").map(\.creditMinor) == [25_00])
    }

    /// VAT a seller abroad charges is not input VAT a Norwegian company may deduct: it is part
    /// of the cost, or goes where `foreign_vat` says; VAT charged under a Norwegian VAT number
    /// (the seller's own, or its tax representative's) is input VAT as any other.
    @Test("VAT charged abroad is booked as cost, or to foreign_vat, never as input VAT")
    func foreignVAT() throws {
        let spec = InvoiceSpec(lines: [(1_000_00, ExactDecimal(25)), (200_00, ExactDecimal(15))])
        let british = Party(
            name: "Supplier Ltd", endpointID: "GB1232434", endpointScheme: "9932", taxCompanyIDs: ["GB1232434"],
            vatIDs: ["GB1232434"], countryCode: "GB")
        var plan = AccountPlan()
        plan.supplierCostAccounts["GB1232434"] = "6550"
        let invoice = spec.document(.invoice, seller: british, buyer: us, number: "UK-1")
        #expect(!invoice.chargesNorwegianVAT)
        let entry = try PostingRules.entry(for: invoice, direction: .purchase, accounts: plan)
        expectBalanced(entry)
        #expect(
            entry.lines.map(Row.init) == [
                Row("6550", debit: "1200.00"),
                Row("6550", debit: "250.00"),
                Row("6550", debit: "30.00"),
                Row("2400", credit: "1480.00"),
            ])
        #expect(
            entry.lines.map(\.memo)[1...2] == ["foreign VAT 25 %, not deductible", "foreign VAT 15 %, not deductible"])
        // A credit note from the same seller takes it back from the same place.
        let credit = try PostingRules.entry(
            for: spec.document(.creditNote, seller: british, buyer: us, number: "UK-2"), direction: .purchase,
            accounts: plan)
        #expect(credit.signedByAccount == ["6550 NOK": -1_480_00, "2400 NOK": 1_480_00])

        // Kept apart where configured.
        plan.foreignVAT = "1579"
        let apart = try PostingRules.entry(for: invoice, direction: .purchase, accounts: plan)
        #expect(apart.signedByAccount == ["6550 NOK": 1_200_00, "1579 NOK": 280_00, "2400 NOK": -1_480_00])

        // Charged under a Norwegian VAT number: the seller's own, or its tax representative's.
        var registered = invoice
        registered.seller.vatIDs = ["NO923609016MVA"]
        var represented = invoice
        represented.taxRepresentativeVATIDs = ["NO999999999MVA"]
        for document in [registered, represented] {
            #expect(document.chargesNorwegianVAT)
            let domestic = try PostingRules.entry(for: document, direction: .purchase, accounts: plan)
            #expect(
                domestic.signedByAccount == [
                    "6550 NOK": 1_200_00, "2710 NOK": 250_00, "2711 NOK": 30_00, "2400 NOK": -1_480_00,
                ])
        }

        // Our own sales are Norwegian VAT whoever buys: the rule is for what we buy.
        let sale = try PostingRules.entry(
            for: spec.document(.invoice, seller: us, buyer: british, number: "S-1"), direction: .sale, accounts: plan)
        #expect(
            sale.signedByAccount == [
                "3000 NOK": -1_200_00, "2700 NOK": -250_00, "2701 NOK": -30_00, "1500 NOK": 1_480_00,
            ])
    }

    /// A rate with no account of its own (6 %, Norwegian until 2021) goes to the other-rate
    /// account, which by default is the 25 % one: on a line of its own, named with its rate,
    /// so that the VAT return can tell them apart.
    @Test("a rate without an account of its own is a line of its own, named with its rate")
    func aRateWithoutItsOwnAccountIsNamed() throws {
        let spec = InvoiceSpec(lines: [
            (1_000_00, ExactDecimal(6)), (100_00, ExactDecimal(significand: 2500, scale: 2)),
        ])
        let entry = try PostingRules.entry(
            for: spec.document(.invoice, seller: supplier, buyer: us), direction: .purchase, accounts: AccountPlan())
        expectBalanced(entry)
        #expect(
            entry.lines.map(Row.init) == [
                Row("4000", debit: "1100.00"),
                Row("2710", debit: "60.00"),
                Row("2710", debit: "25.00"),
                Row("2400", credit: "1185.00"),
            ])
        #expect(entry.lines.map(\.memo)[1...2] == ["VAT 6 %", "VAT 25 %"])
        #expect(PostingRules.percentText(ExactDecimal(significand: 1250, scale: 2)) == "12.5")
        #expect(PostingRules.percentText(ExactDecimal(significand: 0, scale: 2)) == "0")
        #expect(PostingRules.percentText(ExactDecimal(100)) == "100")
    }

    /// A company that may not deduct input VAT (not VAT registered, exempt turnover) books
    /// the VAT on what it buys as part of the cost; what it sells is not touched.
    @Test("a company that does not deduct input VAT books it as cost")
    func inputVATNotDeducted() throws {
        let spec = InvoiceSpec(lines: [(1_000_00, ExactDecimal(25))], rounding: 10)
        var plan = AccountPlan()
        plan.deductsInputVAT = false
        let entry = try PostingRules.entry(
            for: spec.document(.invoice, seller: supplier, buyer: us), direction: .purchase, accounts: plan)
        expectBalanced(entry)
        #expect(entry.signedByAccount == ["4000 NOK": 1_250_00, "7740 NOK": 10, "2400 NOK": -1_250_10])
        #expect(entry.lines.map(\.memo) == ["net", "VAT 25 %, not deductible", "rounding", supplier.name])
        let sale = try PostingRules.entry(
            for: spec.document(.invoice, seller: us, buyer: customer), direction: .sale, accounts: plan)
        #expect(
            sale.signedByAccount == ["3000 NOK": -1_000_00, "2700 NOK": -250_00, "7740 NOK": -10, "1500 NOK": 1_250_10])
        // VAT charged abroad still goes where foreign_vat says.
        plan.foreignVAT = "1579"
        var abroad = spec.document(.invoice, seller: supplier, buyer: us)
        abroad.seller.countryCode = "SE"
        abroad.seller.vatIDs = ["SE556677889901"]
        let foreign = try PostingRules.entry(for: abroad, direction: .purchase, accounts: plan)
        #expect(
            foreign.signedByAccount == [
                "4000 NOK": 1_000_00, "1579 NOK": 250_00, "7740 NOK": 10, "2400 NOK": -1_250_10,
            ])
    }

    @Test("per-supplier cost and per-customer revenue accounts override the defaults")
    func overrides() throws {
        var plan = AccountPlan()
        plan.supplierCostAccounts["923609016"] = "6800"
        plan.customerRevenueAccounts["974760673"] = "3100"
        let spec = InvoiceSpec(lines: [(1_000_00, ExactDecimal(25))])
        let purchase = try PostingRules.entry(
            for: spec.document(.invoice, seller: supplier, buyer: us), direction: .purchase,
            accounts: plan)
        #expect(purchase.lines(on: "6800").map(\.debitMinor) == [1_000_00])
        #expect(purchase.lines(on: "4000").isEmpty)
        let sale = try PostingRules.entry(
            for: spec.document(.invoice, seller: us, buyer: customer), direction: .sale, accounts: plan)
        #expect(sale.lines(on: "3100").map(\.creditMinor) == [1_000_00])
        #expect(sale.lines(on: "3000").isEmpty)

        // Another supplier is not affected, and the override is keyed by the counterparty only:
        // our own organisation number in the supplier table does nothing on a sale.
        plan.supplierCostAccounts["987654325"] = "6900"
        let other = Party(name: "Annen Leverandør AS", legalCompanyID: "999999999")
        let fromOther = try PostingRules.entry(
            for: spec.document(.invoice, seller: other, buyer: us), direction: .purchase, accounts: plan)
        #expect(fromOther.lines(on: "4000").map(\.debitMinor) == [1_000_00])
        let sale2 = try PostingRules.entry(
            for: spec.document(.invoice, seller: us, buyer: customer), direction: .sale, accounts: plan)
        #expect(sale2.lines(on: "6900").isEmpty)

        // The override is found by the party's key: with no organisation number, the endpoint.
        let byEndpoint = Party(
            name: "Kontorrekvisita AS", endpointID: "923609016", endpointScheme: "0192")
        let invoice = spec.document(.invoice, seller: byEndpoint, buyer: us)
        #expect(PostingRules.netAccount(for: invoice, direction: .purchase, accounts: plan) == "6800")
        #expect(PostingRules.netAccount(for: invoice, direction: .sale, accounts: plan) == "3000")
        #expect(
            PostingRules.netAccount(for: invoice, direction: .purchase, accounts: AccountPlan()) == "4000"
        )

        // Any identifier the supplier carries finds its account: the VAT number, the endpoint
        // with its scheme (keys in canonical form, as the configuration stores them).
        for key in ["NO923609016MVA", "0192:923609016"] {
            var byIdentifier = AccountPlan()
            byIdentifier.supplierCostAccounts[PartyIdentifier.canonical(key)] = "6700"
            let document = spec.document(.invoice, seller: supplier, buyer: us)
            #expect(PostingRules.netAccount(for: document, direction: .purchase, accounts: byIdentifier) == "6700")
        }
    }

    /// A vendor invoice worked by hand, as a bookkeeper would check it.
    ///
    /// | Line | Item            | Net       | VAT % |
    /// |------|-----------------|-----------|-------|
    /// | 1    | Kontorstoler    |  8 000.00 | 25    |
    /// | 2    | Bøker           |  1 200.00 | 0     |
    /// | 3    | Kaffe og mat    |    500.00 | 15    |
    /// | 4    | Kinobilletter   |    300.00 | 12    |
    ///
    /// Document allowance 1 000.00 (25 %), freight charge 150.00 (25 %).
    /// 25 %: 8 000 − 1 000 + 150 = 7 150.00 → VAT 1 787.50; 15 %: 500 → 75.00;
    /// 12 %: 300 → 36.00; 0 %: 1 200 → 0.
    /// Tax exclusive 10 000 − 1 000 + 150 = 9 150.00; VAT 1 898.50; tax inclusive 11 048.50;
    /// prepaid 2 000.00; rounding −0.50; payable 11 048.50 − 2 000.00 − 0.50 = 9 048.00.
    /// An invoice of 0 (a free delivery, say) is valid under EN 16931: it is recorded with an
    /// entry that moves nothing, not refused as though its figures were wrong.
    @Test("an invoice whose amounts are all zero gets an entry with no lines")
    func zeroInvoice() throws {
        let spec = InvoiceSpec(lines: [(0, ExactDecimal(25))])
        #expect(spec.payable == 0)
        for direction in [Direction.purchase, .sale] {
            let (seller, buyer) = direction == .purchase ? (supplier, us) : (us, supplier)
            let entry = try PostingRules.entry(
                for: spec.document(.invoice, seller: seller, buyer: buyer, number: "0-1"), direction: direction,
                accounts: AccountPlan())
            #expect(entry.lines.isEmpty)
            #expect(entry.description.hasPrefix("Invoice 0-1"))
        }
    }

    /// One amount may be as large as 10^15 minor units, so the reports' 64-bit totals hold
    /// thousands of such invoices; a larger one is refused, naming the amount.
    @Test("an amount beyond the largest the books keep is refused, naming it")
    func tooLarge() throws {
        let largest = PostingRules.largestMinor
        // Tax category Z (0 %): the payable amount is the line amount.
        let fits = InvoiceSpec(lines: [(largest, ExactDecimal(0))])
        _ = try PostingRules.entry(
            for: fits.document(.invoice, seller: supplier, buyer: us, number: "L-1"), direction: .purchase,
            accounts: AccountPlan())
        let over = InvoiceSpec(lines: [(largest + 1, ExactDecimal(0))])
        #expect(throws: JournalEntry.BuildError.self) {
            try PostingRules.entry(
                for: over.document(.invoice, seller: supplier, buyer: us, number: "L-2"), direction: .purchase,
                accounts: AccountPlan())
        }
        do {
            _ = try PostingRules.entry(
                for: over.document(.invoice, seller: supplier, buyer: us, number: "L-2"), direction: .purchase,
                accounts: AccountPlan())
        } catch {
            #expect(error.description.contains("larger than ledgerd keeps (at most 10000000000000.00 NOK"), "\(error)")
        }
    }

    @Test("worked example: vendor invoice with four rates, allowance, charge, prepaid and rounding")
    func workedExample() throws {
        let spec = InvoiceSpec(
            lines: [
                (8_000_00, ExactDecimal(25)), (1_200_00, ExactDecimal(0)), (500_00, ExactDecimal(15)),
                (300_00, ExactDecimal(12)),
            ],
            allowancesCharges: [(false, 1_000_00, ExactDecimal(25)), (true, 150_00, ExactDecimal(25))],
            prepaid: 2_000_00, rounding: -50)
        #expect(spec.taxExclusive == 9_150_00)
        #expect(spec.taxTotal == 1_898_50)
        #expect(spec.taxInclusive == 11_048_50)
        #expect(spec.payable == 9_048_00)

        let invoice = spec.document(.invoice, seller: supplier, buyer: us, number: "2026-0042")
        let entry = try PostingRules.entry(for: invoice, direction: .purchase, accounts: AccountPlan())
        #expect(entry.description == "Invoice 2026-0042 from Kontorrekvisita AS")
        #expect(
            entry.lines.map(Row.init) == [
                Row("4000", debit: "9150.00"),
                Row("2710", debit: "1787.50"),
                Row("2711", debit: "75.00"),
                Row("2712", debit: "36.00"),
                Row("7740", credit: "0.50"),
                Row("2400", credit: "9048.00"),
                Row("1480", credit: "2000.00"),
            ])
        #expect(entry.totals == [.nok: 11_048_50])
        #expect(PostingRules.openAmount(for: invoice) == nok(9_048_00))

        // The same document issued by us is a customer invoice: every side flips.
        let sale = try PostingRules.entry(
            for: spec.document(.invoice, seller: us, buyer: customer, number: "2026-0042"),
            direction: .sale, accounts: AccountPlan())
        #expect(sale.description == "Invoice 2026-0042 to Kunde ASA")
        #expect(
            sale.lines.map(Row.init) == [
                Row("3000", credit: "9150.00"),
                Row("2700", credit: "1787.50"),
                Row("2701", credit: "75.00"),
                Row("2702", credit: "36.00"),
                Row("7740", debit: "0.50"),
                Row("1500", debit: "9048.00"),
                Row("2900", debit: "2000.00"),
            ])

        // And as a credit note from the supplier it reverses the vendor invoice.
        let creditNote = spec.document(.creditNote, seller: supplier, buyer: us, number: "CN-7")
        let reversal = try PostingRules.entry(
            for: creditNote, direction: .purchase, accounts: AccountPlan())
        #expect(reversal.description == "Credit note CN-7 from Kontorrekvisita AS")
        #expect(reversal.lines(on: "2400").map(Row.init) == [Row("2400", debit: "9048.00")])
        #expect(PostingRules.openAmount(for: creditNote) == nok(-9_048_00))
    }
}

/// The accounts postings go to. Defaults follow the Norwegian standard chart (NS 4102);
/// every one can be overridden in the configuration.
public struct AccountPlan: Sendable, Hashable {
    public var receivables: Account = "1500"
    public var bank: Account = "1920"
    public var payables: Account = "2400"
    public var sales: Account = "3000"
    public var purchases: Account = "4000"
    /// Output VAT (on sales) by rate, e.g. "25" → 2700.
    public var outputVAT: [ExactDecimal: Account] = [
        ExactDecimal(25): "2700", ExactDecimal(15): "2701", ExactDecimal(12): "2702",
    ]
    /// Input VAT (on purchases) by rate, e.g. "25" → 2710.
    public var inputVAT: [ExactDecimal: Account] = [
        ExactDecimal(25): "2710", ExactDecimal(15): "2711", ExactDecimal(12): "2712",
    ]
    /// VAT at a rate with no account of its own.
    public var outputVATOther: Account = "2700"
    public var inputVATOther: Account = "2710"
    /// Prepaid amounts (BT-113): advances a customer paid us (NS 4102: 2900 Forskudd fra
    /// kunder) / we paid a supplier (1480 Forskuddsbetaling til leverandører).
    public var customerPrepayments: Account = "2900"
    public var supplierPrepayments: Account = "1480"
    /// Whether input VAT is deducted: false for a company that may not (`[company]
    /// deducts_input_vat`), whose VAT on what it buys is then part of the cost.
    public var deductsInputVAT = true
    /// The currency the company's VAT return is made in: NOK for a Norwegian company, whatever
    /// currency it keeps its books in. VAT booked in another is noted for conversion
    /// (`PostingNote`).
    public var vatReturnCurrency: Currency = .nok
    /// VAT on a vendor invoice that is not Norwegian VAT (`InvoiceDocument.chargesNorwegianVAT`),
    /// which no Norwegian VAT return deducts: nil books it as part of the cost, on the cost
    /// account of the invoice; an account (a claim for a refund abroad, say) keeps it apart.
    public var foreignVAT: Account? = nil
    /// Payable rounding (BT-114); NS 4102: 7740 Øreavrunding.
    public var rounding: Account = "7740"
    /// Cost account per supplier identifier (organisation number, VAT number or
    /// `scheme:endpoint`, in `PartyIdentifier.canonical` form), overriding `purchases`.
    public var supplierCostAccounts: [String: Account] = [:]
    /// Revenue account per customer identifier (as for suppliers), overriding `sales`.
    public var customerRevenueAccounts: [String: Account] = [:]

    public init() {}

    func vatAccount(_ percent: ExactDecimal?, direction: Direction) -> Account {
        let table = direction == .purchase ? inputVAT : outputVAT
        if let percent, let account = table[percent] { return account }
        return direction == .purchase ? inputVATOther : outputVATOther
    }
}

/// The posting rules of DESIGN §3, as pure functions from a checked invoice to a balanced
/// journal entry.
public enum PostingRules {
    /// A VAT rate as people write it: `25`, `12.5`, not `25.00`.
    static func percentText(_ percent: ExactDecimal) -> String {
        var text = percent.description
        guard text.contains(".") else { return text }
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }

    /// Vendor invoice: debit cost (net, per line's account), debit input VAT per rate (VAT
    /// charged abroad, which is not deductible here, to `foreignVAT` or else to cost; for a
    /// company that does not deduct input VAT, to cost),
    /// credit payables with the payable amount. Customer invoice: debit receivables with the
    /// payable amount, credit revenue (net), credit output VAT per rate. Prepaid amounts and
    /// payable rounding go to their own accounts so the control account always carries the
    /// payable amount, which is what the sub-ledger holds open. Credit notes mirror these.
    public static func entry(
        for invoice: InvoiceDocument, direction: Direction, accounts: AccountPlan
    ) throws(JournalEntry.BuildError) -> JournalEntry {
        let counterpartyName = invoice.counterpartyName(direction)
        let netAccount = self.netAccount(for: invoice, direction: direction, accounts: accounts)

        // Net: line amounts, then document allowances (minus) and charges (plus); their sum is
        // the tax exclusive amount (BR-CO-13). One account takes them all.
        var net: Int128 = 0
        for line in invoice.lines { net += Int128(line.lineExtension.minor) }
        for ac in invoice.allowancesCharges {
            net += ac.isCharge ? Int128(ac.amount.minor) : -Int128(ac.amount.minor)
        }

        // One line per account and rate, named with the rate: a rate with no account of its own
        // (6 %, once Norwegian; another country's) shares one with a rate that has, and the
        // line says which it is, not only the account.
        struct VATKey: Equatable {
            var account: Account
            var percent: ExactDecimal?
        }
        // In the order first met; an invoice has a few rates at most, so a list searched in
        // order costs less than a hashed table.
        var vat: [(key: VATKey, minor: Int128)] = []
        // What we buy: VAT charged abroad is never Norwegian input VAT, and a company that may
        // not deduct input VAT keeps it in the cost.
        let foreign = direction == .purchase && !invoice.chargesNorwegianVAT
        let undeducted = direction == .purchase && !foreign && !accounts.deductsInputVAT
        for subtotal in invoice.taxSubtotals {
            let account: Account
            if foreign {
                account = accounts.foreignVAT ?? netAccount
            } else if undeducted {
                account = netAccount
            } else {
                account = accounts.vatAccount(subtotal.percent, direction: direction)
            }
            let key = VATKey(account: account, percent: subtotal.percent)
            if let index = vat.firstIndex(where: { $0.key == key }) {
                vat[index].minor += Int128(subtotal.tax.minor)
            } else {
                vat.append((key, Int128(subtotal.tax.minor)))
            }
        }
        func vatMemo(_ percent: ExactDecimal?) -> String {
            let vat = percent.map { "VAT \(Self.percentText($0)) %" } ?? "VAT"
            return foreign ? "foreign \(vat), not deductible" : undeducted ? "\(vat), not deductible" : vat
        }

        let c = invoice.currency
        // "Cost side" amounts are positive for a purchase invoice's debits; a sale or a credit
        // note flips the sign. JournalEntry turns negative debits into credits.
        let sign: Int128 = (direction == .purchase) == (invoice.type == .invoice) ? 1 : -1
        func money(_ value: Int128) throws(JournalEntry.BuildError) -> Money {
            guard let minor = Int64(exactly: value) else { throw .overflow }
            guard value.magnitude <= Self.largestMinor.magnitude else {
                throw .tooLarge(Money(minor: minor, currency: c), largest: Money(minor: Self.largestMinor, currency: c))
            }
            return Money(minor: minor, currency: c)
        }
        var postings: [JournalEntry.Posting] = []
        postings.reserveCapacity(vat.count + 4)
        if !invoice.lines.isEmpty || !invoice.allowancesCharges.isEmpty {
            postings.append(.init(netAccount, try money(sign * net), memo: "net"))
        }
        for (key, minor) in vat {
            postings.append(.init(key.account, try money(sign * minor), memo: vatMemo(key.percent)))
        }
        postings.append(
            .init(accounts.rounding, try money(sign * Int128(invoice.totals.rounding.minor)), memo: "rounding"))
        let control = direction == .purchase ? accounts.payables : accounts.receivables
        let prepaid = direction == .purchase ? accounts.supplierPrepayments : accounts.customerPrepayments
        postings.append(
            .init(control, try money(-sign * Int128(invoice.totals.payable.minor)), memo: counterpartyName))
        postings.append(.init(prepaid, try money(-sign * Int128(invoice.totals.prepaid.minor)), memo: "prepaid"))

        let kind = invoice.type == .invoice ? "Invoice" : "Credit note"
        let party = direction == .purchase ? "from" : "to"
        let description = "\(kind) \(invoice.number) \(party) \(counterpartyName)"
        guard postings.contains(where: { !$0.amount.isZero }) else {
            return JournalEntry(movingNothingOn: invoice.issueDate, source: .ehf, description: description)
        }
        return try JournalEntry(date: invoice.issueDate, source: .ehf, description: description, postings: postings)
    }

    /// The largest amount one posting may carry, in minor units (10^15: 10 000 000 000 000.00
    /// in a currency of two decimals). The reports add amounts up in 64 bits (at most about
    /// 9.2 × 10^18), so the books hold more than 9,000 invoices of this size in one currency
    /// before a total could no longer be added up.
    public static let largestMinor: Int64 = 1_000_000_000_000_000

    /// The cost (purchase) or revenue (sale) account the invoice's net amounts go to: the one
    /// configured for the counterparty under any identifier it carries (organisation number,
    /// VAT number, `scheme:endpoint`; compared as `PartyIdentifier.canonical` spells them), its
    /// key first, else the default.
    public static func netAccount(for invoice: InvoiceDocument, direction: Direction, accounts: AccountPlan) -> Account
    {
        let byParty = direction == .purchase ? accounts.supplierCostAccounts : accounts.customerRevenueAccounts
        let fallback = direction == .purchase ? accounts.purchases : accounts.sales
        guard !byParty.isEmpty else { return fallback }
        let party = invoice.counterparty(direction)
        if let account = byParty[party.key] { return account }
        for identifier in party.allIdentifiers {
            if let account = byParty[PartyIdentifier.canonical(identifier)] { return account }
        }
        return fallback
    }

    /// How much of a credit note settles an invoice it names: what both still have open, and
    /// never less than nothing (a document with nothing open takes or gives nothing).
    public static func creditApplied(creditOpen: Int64, invoiceOpen: Int64) -> Int64 {
        max(0, min(creditOpen, invoiceOpen))
    }

    /// What a document has to settle the invoices it names (its BillingReferences) with: a
    /// credit note's payable amount, or a negative invoice's, a correction sent as an invoice
    /// with negative amounts (as PEPPOL BIS allows) that names the invoice it corrects. Zero
    /// for a document that names none, and for an invoice or credit note that adds to what
    /// is owed.
    public static func creditToApply(_ document: InvoiceDocument) -> Int64 {
        guard !document.billingReferences.isEmpty else { return 0 }
        let payable = document.totals.payable.minor
        switch document.type {
        case .creditNote: return max(0, payable)
        case .invoice: return payable >= 0 ? 0 : payable == .min ? .max : -payable
        }
    }

    /// The signed amount the document leaves open on the counterparty's sub-ledger account:
    /// the payable amount, negative for credit notes (they reduce what is owed).
    public static func openAmount(for invoice: InvoiceDocument) -> Money {
        invoice.type == .invoice ? invoice.totals.payable : invoice.totals.payable.negated
    }
}

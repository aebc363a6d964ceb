/// What a posting leaves for the bookkeeper to do by hand: the entry is what the document
/// says, and balances, but the books are complete only once someone has acted on it. Each
/// note names what was booked and what is missing; nothing is guessed in its place (a rate
/// the document does not give, an exchange rate, which invoice a correction replaces).
public enum PostingNote: Sendable, Hashable {
    /// A purchase under reverse charge (VAT category AE): the seller charged no VAT, and the
    /// buyer owes it on `taxable`, at a rate the document does not give.
    case reverseCharge(taxable: Money)
    /// Norwegian VAT booked in the document's currency, not the base currency the VAT return is
    /// made in. `accountingTotal`: the VAT in the base currency, when the document gives it
    /// (BT-111).
    case vatInOtherCurrency(vat: Money, base: Currency, accountingTotal: Money?)
    /// A corrected invoice (type code 384), posted in full beside the invoice it corrects.
    case correctedInvoice(references: [String], direction: Direction)
    /// A prepayment invoice (type code 386), booked as an ordinary invoice to `netAccount`.
    case prepaymentInvoice(netAccount: Account, prepayments: Account, direction: Direction)
    /// An amount paid in advance (BT-113), booked against the prepayments account on the
    /// assumption that the advance is there.
    case prepaid(Money, account: Account, direction: Direction)

    /// The note in a bookkeeper's words, one or two sentences.
    public var text: String {
        switch self {
        case .reverseCharge(let taxable):
            return
                "Reverse charge (VAT category AE) on \(taxable.grouped): the seller charged no VAT; the VAT on it is "
                + "yours to calculate and book (as output VAT, and as input VAT where you may deduct it). Nothing was "
                + "booked for it."
        case .vatInOtherCurrency(let vat, let base, let accountingTotal):
            let given = accountingTotal.map { " (the invoice gives it as \($0.grouped))" } ?? ""
            return
                "The VAT of \(vat.grouped) was booked in \(vat.currency.code): the VAT return is in \(base.code), "
                + "so convert it\(given)."
        case .correctedInvoice(let references, let direction):
            let corrects = references.isEmpty ? "" : " of \(references.joined(separator: ", "))"
            let undo =
                direction == .purchase
                ? "ask the supplier for a credit note for the first"
                : "issue a credit note for the first"
            return
                "A corrected invoice\(corrects) (type 384), posted in full beside the invoice it corrects: if it "
                + "replaces that one rather than adding to it, \(undo)."
        case .prepaymentInvoice(let netAccount, let prepayments, let direction):
            let (side, settles) = direction == .purchase ? ("cost", "credits") : ("revenue", "debits")
            return
                "A prepayment invoice (type 386), booked as an ordinary invoice (net to \(netAccount.number)): the "
                + "final invoice, which deducts it as prepaid, books the whole \(side) again and \(settles) "
                + "\(prepayments.number); move this one's net from \(netAccount.number) to \(prepayments.number) so it "
                + "counts once, and see that its VAT is not counted twice."
        case .prepaid(let amount, let account, let direction):
            let purchase = direction == .purchase
            return
                "\(amount.grouped) paid in advance (PrepaidAmount) was \(purchase ? "credited to" : "debited to") "
                + "\(account.number): check that \(purchase ? "the advance you paid" : "the customer's advance") was "
                + "\(purchase ? "debited" : "credited") there (from the payment, not booked as "
                + "\(purchase ? "cost" : "revenue") from a prepayment invoice)."
        }
    }
}

extension PostingRules {
    /// The notes for the bookkeeper that posting `invoice` as `PostingRules.entry` does leaves,
    /// in a fixed order; none for an ordinary invoice or credit note in the base currency.
    public static func notes(for invoice: InvoiceDocument, direction: Direction, accounts: AccountPlan)
        -> [PostingNote]
    {
        let base = accounts.baseCurrency
        var notes: [PostingNote] = []
        let currency = invoice.currency
        // Saturating (`Aging.add`): a note names an amount; it must not trap on one the entry
        // itself would refuse.
        func total(_ amounts: some Sequence<Money>) -> Money {
            Money(minor: amounts.reduce(0) { Aging.add($0, $1.minor) }, currency: currency)
        }
        if direction == .purchase {
            let reverse = invoice.taxSubtotals.filter { $0.category == "AE" }
            if !reverse.isEmpty {
                notes.append(.reverseCharge(taxable: total(reverse.map(\.taxable)).magnitude))
            }
        }
        // VAT that went to the VAT accounts (not into cost: charged abroad, or not deductible).
        let bookedAsVAT =
            direction == .sale || (invoice.chargesNorwegianVAT && accounts.deductsInputVAT)
        let vat = total(invoice.taxSubtotals.map(\.tax))
        if bookedAsVAT, currency != base, !vat.isZero {
            let accounting = invoice.accountingTaxTotal.flatMap { given -> Money? in
                // Given in hundredths; said only in the base currency, and only where a minor
                // unit is a hundredth.
                guard given.currency == base, base.minorDigits == 2 else { return nil }
                return Money(minor: given.hundredths, currency: base).magnitude
            }
            notes.append(.vatInOtherCurrency(vat: vat.magnitude, base: base, accountingTotal: accounting))
        }
        let prepayments = direction == .purchase ? accounts.supplierPrepayments : accounts.customerPrepayments
        switch invoice.typeCode {
        case "384":
            notes.append(.correctedInvoice(references: invoice.billingReferences, direction: direction))
        case "386":
            notes.append(
                .prepaymentInvoice(
                    netAccount: netAccount(for: invoice, direction: direction, accounts: accounts),
                    prepayments: prepayments, direction: direction))
        default:
            break
        }
        if !invoice.totals.prepaid.isZero {
            notes.append(.prepaid(invoice.totals.prepaid.magnitude, account: prepayments, direction: direction))
        }
        return notes
    }
}

extension Money {
    /// The amount without its sign (the largest negative amount as the largest positive one).
    var magnitude: Money { Money(minor: minor == .min ? .max : Swift.abs(minor), currency: currency) }
}

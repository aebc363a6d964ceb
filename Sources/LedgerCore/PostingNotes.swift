/// What a posting leaves for the bookkeeper to do by hand: the entry is what the document
/// says, and balances, but the books are complete only once someone has acted on it. Each
/// note names what was booked and what is missing; nothing is guessed in its place (a rate
/// the document does not give, an exchange rate, which invoice a correction replaces).
///
/// Amounts are signed as the document moves the books: negative for what it takes back (a
/// credit note, or an invoice with negative amounts).
public enum PostingNote: Sendable, Hashable {
    /// A purchase under reverse charge (VAT category AE): the seller charged no VAT, and the
    /// buyer owes it on `taxable`, at a rate the document does not give.
    case reverseCharge(taxable: Money)
    /// A purchase from a seller abroad with no VAT charged and none reverse charged on the
    /// document: a service bought from abroad is reverse charged all the same.
    case boughtAbroadWithoutVAT(taxable: Money)
    /// Norwegian VAT booked in the document's currency, not the one the VAT return is made in.
    /// `accountingTotal`: the VAT in that currency, when the document gives it (BT-111).
    case vatInOtherCurrency(vat: Money, vatReturn: Currency, accountingTotal: Money?)
    /// A corrected invoice (type code 384), posted in full beside the invoice it corrects.
    case correctedInvoice(references: [String], direction: Direction)
    /// A prepayment invoice (type code 386), booked as an ordinary invoice: `net` to
    /// `netAccount`.
    case prepaymentInvoice(net: Money, netAccount: Account, prepayments: Account, direction: Direction)
    /// An amount paid in advance (BT-113), booked against the prepayments account on the
    /// assumption that the advance is there. `posted`: as the journal line has it, a debit
    /// positive.
    case prepaid(posted: Money, account: Account, direction: Direction)

    /// The note in a bookkeeper's words, one or two sentences.
    public var text: String {
        switch self {
        case .reverseCharge(let taxable):
            guard taxable.minor >= 0 else {
                return
                    "Reverse charge (VAT category AE) taken back, on \(taxable.magnitude.grouped): reverse the VAT you "
                    + "calculated on what it credits. Nothing was booked for it."
            }
            return
                "Reverse charge (VAT category AE) on \(taxable.grouped): the seller charged no VAT; the VAT on it is "
                + "yours to calculate and book (as output VAT, and as input VAT where you may deduct it). Nothing was "
                + "booked for it."
        case .boughtAbroadWithoutVAT(let taxable):
            guard taxable.minor >= 0 else {
                return
                    "Taken back by a seller abroad, with no VAT, on \(taxable.magnitude.grouped): reverse any VAT you "
                    + "calculated on what it credits. Nothing was booked for it."
            }
            return
                "Bought from a seller abroad with no VAT charged, on \(taxable.grouped): if it is a service, the VAT "
                + "on it is yours to calculate and book (reverse charge); goods bear import VAT at customs instead. "
                + "Nothing was booked for it."
        case .vatInOtherCurrency(let vat, let vatReturn, let accountingTotal):
            let given = accountingTotal.map { " (the invoice gives it as \($0.magnitude.grouped))" } ?? ""
            let what = vat.minor < 0 ? "The VAT taken back, \(vat.magnitude.grouped)," : "The VAT of \(vat.grouped)"
            return
                "\(what) was booked in \(vat.currency.code): the VAT return is in \(vatReturn.code), so convert "
                + "it\(given)."
        case .correctedInvoice(let references, let direction):
            let corrects = references.isEmpty ? "" : " of \(references.joined(separator: ", "))"
            let undo =
                direction == .purchase
                ? "ask the supplier for a credit note for the first"
                : "issue a credit note for the first"
            return
                "A corrected invoice\(corrects) (type 384), posted in full beside the invoice it corrects: if it "
                + "replaces that one rather than adding to it, \(undo)."
        case .prepaymentInvoice(let net, let netAccount, let prepayments, let direction):
            let (side, settles) = direction == .purchase ? ("cost", "credits") : ("revenue", "debits")
            return
                "A prepayment invoice (type 386), booked as an ordinary invoice, net \(net.grouped) to "
                + "\(netAccount.number): the final invoice, which deducts it as prepaid, books the whole \(side) "
                + "again and \(settles) \(prepayments.number). This invoice's net belongs on \(prepayments.number) "
                + "instead; see too that its VAT is not counted again with the final invoice."
        case .prepaid(let posted, let account, let direction):
            let credited = posted.minor < 0
            return
                "\(posted.magnitude.grouped) paid in advance (PrepaidAmount) was "
                + "\(credited ? "credited to" : "debited to") \(account.number): check that the advance was "
                + "\(credited ? "debited" : "credited") there when it was paid (not booked as "
                + "\(direction == .purchase ? "cost" : "revenue") from a prepayment invoice)."
        }
    }
}

extension PostingRules {
    /// The notes for the bookkeeper that posting `invoice` as `PostingRules.entry` does leaves,
    /// in a fixed order; none for an ordinary document in the currency of the VAT return.
    public static func notes(for invoice: InvoiceDocument, direction: Direction, accounts: AccountPlan)
        -> [PostingNote]
    {
        var notes: [PostingNote] = []
        let currency = invoice.currency
        let takesBack = invoice.type == .creditNote
        // Summed saturating (`Aging.add`): a note names an amount; it must not trap on one the
        // entry itself would refuse. Signed as the document moves the books.
        func total(_ amounts: some Sequence<Money>) -> Money {
            let sum = amounts.reduce(0) { Aging.add($0, $1.minor) }
            return Money(minor: takesBack ? (sum == .min ? .max : -sum) : sum, currency: currency)
        }
        let vat = total(invoice.taxSubtotals.map(\.tax))
        if direction == .purchase {
            let reverse = invoice.taxSubtotals.filter { $0.category == "AE" }
            let taxable = total(reverse.map(\.taxable))
            if !reverse.isEmpty {
                if !taxable.isZero { notes.append(.reverseCharge(taxable: taxable)) }
            } else if !invoice.chargesNorwegianVAT, vat.isZero {
                let taxable = total(invoice.taxSubtotals.map(\.taxable))
                if !taxable.isZero { notes.append(.boughtAbroadWithoutVAT(taxable: taxable)) }
            }
        }
        // VAT that went to the VAT accounts (not into cost: charged abroad, or not deductible).
        let bookedAsVAT = direction == .sale || (invoice.chargesNorwegianVAT && accounts.deductsInputVAT)
        let vatReturn = accounts.vatReturnCurrency
        if bookedAsVAT, currency != vatReturn, !vat.isZero {
            let accounting = invoice.accountingTaxTotal.flatMap { given -> Money? in
                // Given in hundredths; said only in the return's currency, and only where a minor
                // unit is a hundredth.
                guard given.currency == vatReturn, vatReturn.minorDigits == 2 else { return nil }
                return Money(minor: given.hundredths, currency: vatReturn)
            }
            notes.append(.vatInOtherCurrency(vat: vat, vatReturn: vatReturn, accountingTotal: accounting))
        }
        let prepayments = direction == .purchase ? accounts.supplierPrepayments : accounts.customerPrepayments
        switch invoice.typeCode {
        // A correction that settles what it names (negative amounts) replaces nothing.
        case "384" where creditToApply(invoice) == 0:
            notes.append(.correctedInvoice(references: invoice.billingReferences, direction: direction))
        case "386":
            notes.append(
                .prepaymentInvoice(
                    net: invoice.totals.taxExclusive,
                    netAccount: netAccount(for: invoice, direction: direction, accounts: accounts),
                    prepayments: prepayments, direction: direction))
        default:
            break
        }
        if !invoice.totals.prepaid.isZero {
            // As `entry` posts it: against the control account's side.
            let sign: Int64 = (direction == .purchase) == (invoice.type == .invoice) ? 1 : -1
            let prepaid = invoice.totals.prepaid.minor
            let (posted, overflow) = prepaid.multipliedReportingOverflow(by: -sign)
            notes.append(
                .prepaid(
                    posted: Money(minor: overflow ? .max : posted, currency: currency), account: prepayments,
                    direction: direction))
        }
        return notes
    }
}

extension Money {
    /// The amount without its sign (the largest negative amount as the largest positive one).
    var magnitude: Money { Money(minor: minor == .min ? .max : Swift.abs(minor), currency: currency) }
}

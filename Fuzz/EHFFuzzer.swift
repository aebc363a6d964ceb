// A libFuzzer target for everything a dropped EHF file reaches before the database: reading
// (libxml2 and the UBL reader), the EN 16931 checks, and, for a file that passes them, the
// posting rules and notes in both directions, for a VAT return in NOK and in the invoice's
// currency. The daemon must keep running whatever a file holds, so any crash, trap,
// memory error, leak or run past the timeout here is a fault. Built and run by
// `scripts/fuzz.sh`, outside the package: libFuzzer supplies `main`.
import Formats
import LedgerCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let invoice = try? EHF.parse(bytes) else { return 0 }
    let problems = EHF.validate(invoice)
    // Every message is put into words, as the error file and the page do.
    for problem in problems { _ = problem.message.utf8.count }
    guard problems.isEmpty else { return 0 }
    var plan = AccountPlan()
    for currency in [Currency.nok, invoice.currency] {
        plan.vatReturnCurrency = currency
        for direction in [Direction.purchase, .sale] {
            if let entry = try? PostingRules.entry(for: invoice, direction: direction, accounts: plan) {
                _ = entry.lines.count
            }
            _ = PostingRules.netAccount(for: invoice, direction: direction, accounts: plan)
            for note in PostingRules.notes(for: invoice, direction: direction, accounts: plan) {
                _ = note.text.utf8.count
            }
        }
    }
    _ = PostingRules.openAmount(for: invoice)
    _ = PostingRules.creditToApply(invoice)
    return 0
}

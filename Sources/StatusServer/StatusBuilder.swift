import Foundation
import LedgerCore
import LedgerStore

/// What the database says, read in one go and reused for `statusCacheTTL`.
struct DatabaseFacts: Sendable {
    var today: Day
    var page: StatusPageData
    var audit: Audit

    /// The checks of the whole books: control accounts against their sub-ledgers, and every
    /// journal entry balancing. They read every journal line, so they cost in step with the
    /// books (about 0.15 s of a 0.25 s read at 30,000 documents), and are read less often
    /// than the rest (`FactsCache.auditInterval`), saying when.
    struct Audit: Sendable {
        var reconciliation: Reconciliation
        var balance: BalanceCheck
        var checkedAt: Date
    }

    /// `audit`: the checks read before, still recent enough to give again; nil to read them.
    static func read(store: LedgerStore, accounts: AccountPlan, today: Day, audit: Audit? = nil) throws
        -> DatabaseFacts
    {
        let page = try store.statusPageData(asOf: today, recentLimit: 50, problemLimit: 100)
        let audit =
            try audit
            ?? Audit(
                reconciliation: try store.reconcile(accounts: accounts), balance: try store.checkBalances(),
                checkedAt: Date())
        return DatabaseFacts(today: today, page: page, audit: audit)
    }
}

/// Turns database facts and the runtime snapshot into the `/api/status` document. Pure.
struct StatusBuilder {
    /// The panels the page renders, in order. A later capability appends its id here.
    static let panels = [
        "problems", "to_do", "inboxes", "daemon", "outstanding", "aging", "reconciliation", "recent",
    ]

    var accounts: AccountPlan
    var actionsEnabled: Bool
    var companyName: String = ""
    var companyConfigured = true

    /// The database-derived sections, computed once per cache period.
    func sections(_ facts: DatabaseFacts) -> DatabaseSections {
        let page = facts.page
        func count(_ state: String) -> Int { page.documentCounts.first { $0.state == state }?.count ?? 0 }
        let documents = DocumentCounts(
            total: page.documentTotal, posted: count("posted"), rejected: count("rejected"),
            duplicateNumber: count("duplicate_number"), droppedAgain: page.duplicateDropCount,
            byState: page.documentCounts.map { .init(state: $0.state, count: $0.count) })
        let openRejectionIDs = Set(page.openRejections.map(\.id))
        return DatabaseSections(
            today: facts.today, documents: documents,
            recentDocuments: page.recent.map { item(of: $0, open: openRejectionIDs.contains($0.id)) },
            rejected: ProblemList(
                total: page.openRejectionCount, items: page.openRejections.map { item(of: $0, open: true) },
                byCode: page.openRejectionsByCode),
            duplicates: ProblemList(total: page.duplicateCount, items: page.duplicates.map(duplicate)),
            toDo: ProblemList(total: page.postingNotes.total, items: page.postingNotes.items),
            outstanding: Self.outstanding(page.balances, aging: page.aging),
            aging: Self.aging(page.aging, today: facts.today),
            reconciliation: reconciliationSection(facts.audit),
            activity: page.activity.map {
                ActivityItem(at: $0.at, action: $0.action, actor: $0.actor, detail: $0.detail)
            }
        )
    }

    /// Sections for when the database cannot be read: all empty, reconciliation not agreeing.
    static func unreadable(today: Day) -> DatabaseSections {
        DatabaseSections(
            today: today,
            documents: DocumentCounts(
                total: 0, posted: 0, rejected: 0, duplicateNumber: 0, droppedAgain: 0, byState: []),
            recentDocuments: [], rejected: ProblemList(total: 0, items: []),
            duplicates: ProblemList(total: 0, items: []), toDo: ProblemList(total: 0, items: []),
            outstanding: outstanding([], aging: []), aging: aging([], today: today),
            reconciliation: ReconciliationSection(
                agrees: false, balanced: false, journalEntries: 0, unbalanced: [], lines: [], checkedAt: nil),
            activity: [])
    }

    /// The live part of the document for the cached database sections (nil when the database
    /// could not be read) and the fresh runtime snapshot.
    func live(
        sections: DatabaseSections?, databaseError: String?, runtime: RuntimeSnapshot, now: Date, today: Day
    ) -> LiveStatus {
        let health = Self.health(runtime: runtime, databaseError: databaseError, now: now)
        let day = sections?.today ?? today
        let s = sections ?? Self.unreadable(today: today)
        let overall = Self.overall(
            health: health, runtime: runtime, documents: s.documents, rejected: s.rejected, duplicates: s.duplicates,
            reconciliation: s.reconciliation, aging: s.aging, databaseRead: sections != nil, now: now,
            companyConfigured: companyConfigured, actionsEnabled: actionsEnabled)
        return LiveStatus(
            generatedAt: Self.iso(now), today: day.description, company: companyName.isEmpty ? nil : companyName,
            panels: Self.panels, overall: overall,
            runtime: runtime, health: health, actions: Actions(enabled: actionsEnabled))
    }

    // MARK: - Sections

    static func health(runtime: RuntimeSnapshot, databaseError: String?, now: Date) -> Health {
        var reasons: [String] = []
        if !runtime.watcherAlive { reasons.append("the inbox watcher is not running: new files are not picked up") }
        if databaseError != nil { reasons.append("the database cannot be read: \(databaseError!)") }
        if let problem = runtime.databaseProblem { reasons.append(problem) }
        if let problem = runtime.processingProblem { reasons.append(problem) }
        if !runtime.schedulerAlive { reasons.append("the scheduler is not running: rescans do not happen") }
        let uptime = parseISO(runtime.startedAt).map { max(0, Int(now.timeIntervalSince($0))) }
        return Health(
            ok: reasons.isEmpty, watcher: runtime.watcherAlive, scheduler: runtime.schedulerAlive,
            database: databaseError == nil && runtime.databaseProblem == nil, reasons: reasons, uptimeSeconds: uptime)
    }

    func item(of document: StatusPageData.Document, open: Bool) -> DocumentItem {
        let advice: String?
        var reasonCode = document.reasonCode
        var reason = document.reason
        switch document.state {
        case "posted": advice = nil
        case "duplicate":
            reasonCode = "DUPLICATE"
            let earlier = document.duplicateOfName.map { " as \($0)" } ?? ""
            // The day here, as the page shows times.
            let when =
                document.duplicateOfProcessedAt.map { at in
                    " on " + (Self.parseISO(at).map { Self.localDay($0).description } ?? String(at.prefix(10)))
                } ?? ""
            reason = "The same file was already posted\(earlier)\(when); nothing was posted again."
            advice = Advice.duplicateDrop
        case "duplicate_number": advice = Advice.duplicateNumber
        default:
            advice =
                open
                ? Advice.forRejection(
                    code: document.reasonCode, retryFromPage: actionsEnabled, companyConfigured: companyConfigured)
                : "Settled: a corrected file of its name was posted, or its file was removed from the rejected folder."
        }
        let dropped = document.state == "duplicate"
        let canRetry = open && document.state == "rejected" && Advice.retryHelps(code: document.reasonCode)
        return DocumentItem(
            id: document.id, name: document.name, inbox: document.inbox, kind: document.kind, state: document.state,
            reasonCode: reasonCode, reason: reason, receivedAt: document.receivedAt,
            processedAt: document.processedAt, whatToDo: advice,
            canRetry: canRetry,
            retryAfterRestart: canRetry && Rejection.mendedByRestart(code: document.reasonCode ?? ""),
            postedAs: document.postedAs.map {
                .init(
                    type: $0.type, direction: $0.direction, number: $0.number, party: $0.party,
                    dueDate: $0.dueDate, payable: Amount(minor: $0.payableMinor, currency: $0.currency))
            },
            archivedPath: document.state == "posted" || dropped ? document.archivedPath : nil,
            duplicateOf: dropped
                ? .init(
                    id: document.id, name: document.duplicateOfName, archivedPath: document.duplicateOfArchivedPath,
                    processedAt: document.duplicateOfProcessedAt) : nil,
            rejectedPath: document.state == "rejected" || document.state == "duplicate_number"
                ? document.rejectedPath : nil,
            note: document.state == "posted" ? document.note : nil)
    }

    func duplicate(_ document: StatusPageData.Document) -> DuplicateItem {
        DuplicateItem(
            id: document.id, name: document.name, inbox: document.inbox, processedAt: document.processedAt,
            reasonCode: document.reasonCode, reason: document.reason, whatToDo: Advice.duplicateNumber,
            original: document.duplicateOf.map {
                .init(
                    id: $0, name: document.duplicateOfName, archivedPath: document.duplicateOfArchivedPath,
                    processedAt: document.duplicateOfProcessedAt)
            }, rejectedPath: document.rejectedPath)
    }

    /// Each party's open amount per currency; its oldest due date is the one its aging
    /// counts from (`Aging.oldestDue`).
    static func outstanding(_ balances: [StatusPageData.PartyBalance], aging: [StatusPageData.AgingEntry])
        -> Outstanding
    {
        func rows(_ side: String) -> [Outstanding.PartyBalance] {
            let oldest = Aging.oldestDue(aging.filter { $0.side == side }.map(\.item))
            return balances.filter { $0.side == side }.map {
                .init(
                    party: $0.party, partyKey: $0.partyKey, currency: $0.currency, documents: $0.openDocuments,
                    open: Amount(minor: $0.openMinor, currency: $0.currency),
                    oldestDueDate: oldest["\($0.party)\u{0}\($0.currency)"]?.description)
            }
        }
        var totals: [Outstanding.SideTotal] = []
        for side in ["receivable", "payable"] {
            var byCurrency: [String: (Int, Int64)] = [:]
            for b in balances where b.side == side {
                let current = byCurrency[b.currency] ?? (0, 0)
                byCurrency[b.currency] = (current.0 + b.openDocuments, Aging.add(current.1, b.openMinor))
            }
            for (currency, value) in byCurrency.sorted(by: { $0.key < $1.key }) {
                totals.append(
                    .init(
                        side: side, currency: currency, documents: value.0,
                        open: Amount(minor: value.1, currency: currency)))
            }
        }
        return Outstanding(receivables: rows("receivable"), payables: rows("payable"), totals: totals)
    }

    static let agingRule =
        "Days past due = today − due date; not yet due is Current. An invoice without a due date is taken to "
        + "fall due 30 days after its issue date, as Norwegian law has it when no term is agreed. Credit notes "
        + "count negative in the bucket of their own date."

    static func aging(_ entries: [StatusPageData.AgingEntry], today: Day) -> AgingSection {
        func side(_ name: String) -> AgingSection.Side {
            let rows = Aging.rows(entries.filter { $0.side == name }.map(\.item), asOf: today)
            return .init(parties: rows.map(row), totals: Aging.totals(rows).map(row))
        }
        return AgingSection(
            asOf: today.description, buckets: AgingBucket.allCases.map { .init(id: $0.rawValue, label: $0.label) },
            rule: agingRule, receivables: side("receivable"), payables: side("payable"))
    }

    static func row(_ row: AgingRow) -> AgingSection.Row {
        let code = row.currency.code
        return .init(
            party: row.party, currency: code, documents: row.documents, withoutDueDate: row.withoutDueDate,
            buckets: row.buckets.map { Amount(minor: $0, currency: code) },
            total: Amount(minor: row.totalMinor, currency: code))
    }

    func reconciliationSection(_ audit: DatabaseFacts.Audit) -> ReconciliationSection {
        let (reconciliation, balance) = (audit.reconciliation, audit.balance)
        let lines = reconciliation.lines.map { line in
            ReconciliationSection.Line(
                account: line.account, accountName: accountName(line.account), subLedger: line.subLedger,
                subLedgerName: line.subLedgerName,
                currency: line.currency, generalLedger: Amount(minor: line.generalLedgerMinor, currency: line.currency),
                subLedgerTotal: Amount(minor: line.subLedgerMinor, currency: line.currency),
                difference: Amount(minor: line.differenceMinor, currency: line.currency),
                explainedBy: line.entriesWithoutSubLedger.map {
                    .init(
                        entryId: $0.entryID, date: $0.date, source: $0.source, description: $0.description,
                        amount: Amount(minor: $0.amountMinor, currency: line.currency))
                }, unexplained: Amount(minor: line.unexplainedMinor, currency: line.currency), agrees: line.agrees)
        }
        return ReconciliationSection(
            agrees: reconciliation.agrees, balanced: balance.unbalanced.isEmpty, journalEntries: balance.entries,
            unbalanced: balance.unbalanced.map {
                .init(
                    entryId: $0.entryID, currency: $0.currency,
                    debit: Amount(minor: $0.debitMinor, currency: $0.currency),
                    credit: Amount(minor: $0.creditMinor, currency: $0.currency))
            }, lines: lines, checkedAt: Self.iso(audit.checkedAt))
    }

    func accountName(_ account: String) -> String {
        if account == accounts.receivables.number { return "Customer receivables" }
        if account == accounts.payables.number { return "Supplier debt" }
        return "Account \(account)"
    }

    // MARK: - Overall

    /// ": 30 XML-MALFORMED, 12 NOT-OUR-INVOICE and 11 more": what many rejected files were
    /// rejected for, the commonest first, so that one file dropped thirty times reads as one
    /// cause; ", all XML-MALFORMED" when they share one.
    static func byReason(_ counts: [StatusPageData.ReasonCount]) -> String {
        func said(_ c: StatusPageData.ReasonCount) -> String {
            "\(c.count) \(c.code.isEmpty ? "without a code" : c.code)"
        }
        guard counts.count > 1 else { return counts.first.map { $0.code.isEmpty ? "" : ", all \($0.code)" } ?? "" }
        if counts.count <= 3 {
            return ": " + counts.dropLast().map(said).joined(separator: ", ") + " and " + said(counts.last!)
        }
        let rest = counts.dropFirst(2).reduce(0) { $0 + $1.count }
        return ": " + counts.prefix(2).map(said).joined(separator: ", ") + " and \(rest) more"
    }

    static func overall(
        health: Health, runtime: RuntimeSnapshot, documents: DocumentCounts, rejected: ProblemList<DocumentItem>,
        duplicates: ProblemList<DuplicateItem>, reconciliation: ReconciliationSection, aging: AgingSection,
        databaseRead: Bool, now: Date, companyConfigured: Bool = true, actionsEnabled: Bool = false
    ) -> Overall {
        var items: [Attention] = []
        if !companyConfigured {
            items.append(
                .init(
                    severity: "warning", panel: "daemon",
                    text: "ledgerd does not know which company it keeps books for: every invoice is rejected until "
                        + "[company] is set in its configuration.",
                    action: Rejection.advice(forCode: "COMPANY-NOT-CONFIGURED")))
        }
        let restart = "Restart ledgerd (`systemctl restart ledgerd`) and read its log (`journalctl -u ledgerd`)."
        if !runtime.watcherAlive {
            items.append(
                .init(
                    severity: "error", panel: "daemon",
                    text: "The inbox watcher has stopped: new files are not picked up.", action: restart))
        }
        /// A problem the daemon reports in its own words, as a sentence of the banner.
        func reported(_ problem: String, action: String) -> Attention {
            .init(
                severity: "error", panel: "daemon", text: problem.prefix(1).uppercased() + problem.dropFirst() + ".",
                action: action)
        }
        if let problem = runtime.databaseProblem {
            items.append(
                reported(
                    problem,
                    action: "Free disk space, or fix the database file and its folder; files wait in the inbox and "
                        + "are posted once ledgerd can write again."))
        } else if !health.database {
            items.append(
                .init(
                    severity: "error", panel: "daemon", text: "ledgerd cannot read its database.",
                    action: "Check the disk and the database file's permissions, then \(restart.prefix(1).lowercased())"
                        + restart.dropFirst()))
        }
        if let problem = runtime.processingProblem {
            items.append(
                reported(
                    problem,
                    action: "Check that the inbox folder is there (mounted, if it is a share) and answers, and that "
                        + "ledgerd can write to the archive and rejected folders (permissions, free space); files "
                        + "wait and go on once it can."))
        }
        if runtime.archiveNotInBooks > 0 {
            let n = runtime.archiveNotInBooks
            let example = runtime.archiveNotInBooksExample.map { " (such as \(OneLine.escaped($0)))" } ?? ""
            items.append(
                .init(
                    severity: "warning", panel: "daemon",
                    text: "The archive holds \(n) file\(n == 1 ? "" : "s") the books do not know\(example): were the "
                        + "books restored from an older backup?",
                    action:
                        "Copy \(n == 1 ? "it" : "them") from the archive into the inbox to post \(n == 1 ? "it" : "them") "
                        + "again; a file the books know is recognised and not posted twice (README, Back up and "
                        + "restore)."))
        }
        if !runtime.schedulerAlive {
            items.append(
                .init(
                    severity: "error", panel: "daemon",
                    text: "The scheduler has stopped: inboxes are not rescanned.", action: restart))
        }
        if databaseRead {
            for line in reconciliation.lines where !line.agrees {
                items.append(
                    .init(
                        severity: "error", panel: "reconciliation",
                        text:
                            "Account \(line.account) (\(line.accountName)) and the \(line.subLedgerName) "
                            + "disagree by \(line.unexplained.formatted) that no entry explains.",
                        action:
                            "Do not post corrections yet: run `ledgerd reconcile` to list the entries and ask whoever changed "
                            + "the books by hand."))
            }
            if !reconciliation.balanced {
                items.append(
                    .init(
                        severity: "error", panel: "reconciliation",
                        text: "\(reconciliation.unbalanced.count) journal entries do not balance.",
                        action: "Run `ledgerd reconcile` and report it: ledgerd never posts an unbalanced entry itself."
                    ))
            }
        }
        if rejected.total > 0 {
            let first = rejected.items.first
            items.append(
                .init(
                    severity: "warning", panel: "problems",
                    text: rejected.total == 1
                        ? "1 file was rejected: \(OneLine.escaped(first?.name ?? ""))."
                        : "\(rejected.total) files were rejected\(Self.byReason(rejected.byCode ?? [])).",
                    action: rejected.total == 1
                        ? first?.whatToDo
                        : Advice.forRejections(
                            rejected.byCode ?? [], retryFromPage: actionsEnabled, companyConfigured: companyConfigured))
            )
        }
        if duplicates.total > 0 {
            items.append(
                .init(
                    severity: "warning", panel: "problems",
                    text: duplicates.total == 1
                        ? "1 invoice reuses a number that was already posted: \(duplicates.items.first?.name ?? "")."
                        : "\(duplicates.total) invoices reuse numbers that were already posted.",
                    action: Advice.duplicateNumber))
        }
        // Errors of the last hour call for attention; older ones stay listed in the daemon
        // panel, but a problem that has passed (a disk that was full) does not hold the banner,
        // nor one whose files have all been taken in since (a permission mended).
        let recentErrors = runtime.recentErrors.filter { line in
            guard !line.hasSuffix(RecentError.passedMark) else { return false }
            guard let at = parseISO(String(line.prefix { $0 != " " })) else { return true }
            return now.timeIntervalSince(at) < 3600
        }
        if let newest = recentErrors.first {
            items.append(
                .init(
                    severity: "warning", panel: "daemon",
                    text: "\(recentErrors.count) recent error\(recentErrors.count == 1 ? "" : "s"); newest: \(newest)",
                    action: "See the log: `journalctl -u ledgerd`."))
        }
        for inbox in runtime.inboxes where inbox.notRead > 0 {
            // Named, the first few, where they lie: one dropped at the inbox's root is not in the
            // folder of the inbox it counts for.
            let more = inbox.notRead - inbox.notReadNames.count
            let names =
                inbox.notReadNames.isEmpty
                ? ""
                : " (" + inbox.notReadNames.map { OneLine.escaped($0) }.joined(separator: ", ")
                    + (more > 0 ? " and \(more) more" : "") + ")"
            let files = "\(inbox.notRead) file\(inbox.notRead == 1 ? "" : "s")"
            if inbox.name == "other" {
                items.append(
                    .init(
                        severity: "info", panel: "inboxes",
                        text: "\(files) in the inbox \(inbox.notRead == 1 ? "is" : "are") of a kind ledgerd does not "
                            + "read\(names): EHF invoices are .xml files.",
                        action: "Each stays where it is. If one is an invoice, ask the sender for it as EHF or book it "
                            + "by hand; move or delete what does not belong in the inbox."))
                continue
            }
            let what =
                switch inbox.name {
                case "wise": "Wise statements and invoice PDFs"
                case "checks": "scanned checks"
                default: "files of the \(inbox.name) inbox"
                }
            items.append(
                .init(
                    severity: "info", panel: "inboxes",
                    text: "\(files) for the \(inbox.name) inbox \(inbox.notRead == 1 ? "waits" : "wait")\(names): "
                        + "this version of ledgerd does not read \(what) yet.",
                    action: "An EHF invoice (.xml) put there by mistake belongs in the ehf inbox: move it there. "
                        + "Anything else stays where it is and is not booked until a later version of ledgerd; book "
                        + "what is due by hand."))
        }
        for inbox in runtime.inboxes where inbox.burstTotal > 0 && inbox.burstDone < inbox.burstTotal {
            items.append(
                .init(
                    severity: "info", panel: "inboxes",
                    text:
                        "Working through the \(inbox.name) inbox: \(inbox.burstDone) of \(inbox.burstTotal) files done.",
                    action: nil))
        }
        // One note a side, its currencies listed together: a line per currency filled the
        // banner of books in several currencies. Everything past due counts, with how much of it
        // is over 90 days: an owner reads the banner, not the chart.
        for (name, side) in [("payables", aging.payables), ("receivables", aging.receivables)] {
            let overdue = side.totals.compactMap { total -> (all: Amount, old: Amount)? in
                // Saturating, as the aging's own sums are: a wrapped sum would read as a real figure.
                let minor = total.buckets.dropFirst().map(\.minor).reduce(0, Aging.add)
                guard minor > 0 else { return nil }
                return (Amount(minor: minor, currency: total.currency), total.buckets[AgingBucket.over90.index])
            }
            guard !overdue.isEmpty else { continue }
            let listed = overdue.map(\.all.formatted).joined(separator: ", ")
            let old = overdue.map(\.old).filter { $0.minor > 0 }.map(\.formatted)
            let verb = overdue.count == 1 ? "is" : "are"
            let ofWhich = old.isEmpty ? "" : " (\(old.joined(separator: ", ")) more than 90 days)"
            items.append(
                .init(
                    severity: "info", panel: "aging",
                    text: name == "payables"
                        ? "\(listed) of supplier invoices \(verb) past due\(ofWhich)."
                        : "\(listed) owed by customers \(verb) past due\(ofWhich).",
                    // This version records no payments: what is open is what was invoiced.
                    action: name == "payables"
                        ? "ledgerd records no payments yet, so these are invoiced amounts: check which were paid."
                        : "ledgerd records no payments yet, so these are invoiced amounts: check which were paid, "
                            + "and consider a reminder for the rest."))
        }

        let status: String
        let headline: String
        let problems = items.filter { $0.severity != "info" }
        if let firstError = items.first(where: { $0.severity == "error" }) {
            status = "error"
            headline = "ledgerd needs help: " + firstError.text
        } else if !problems.isEmpty {
            status = "attention"
            let notes = items.count - problems.count
            headline =
                (problems.count == 1 ? "1 thing needs your attention" : "\(problems.count) things need your attention")
                + (notes == 0 ? "." : "; \(notes) note\(notes == 1 ? "" : "s") below.")
        } else {
            status = "ok"
            headline =
                "All fine: \(documents.posted) document\(documents.posted == 1 ? "" : "s") posted, nothing needs you"
                + (items.isEmpty ? "." : "; \(items.count) note\(items.count == 1 ? "" : "s") below.")
        }
        return Overall(status: status, headline: headline, items: items)
    }

    // MARK: - Time

    static func iso(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    static func parseISO(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// The local calendar day of `date`.
    static func localDay(_ date: Date, calendar: Calendar = .current) -> Day {
        let parts = calendar.dateComponents([.year, .month, .day], from: date)
        return Day(year: parts.year ?? 1970, month: parts.month ?? 1, day: parts.day ?? 1) ?? Day(daysSinceEpoch: 0)
    }
}

import Foundation
import LedgerCore
import LedgerStore
import Metrics
import TestSupport
import Testing

@testable import StatusServer

/// `/api/status`, `/healthz`, `/metrics` and the actions, through a real server on loopback
/// against a real SQLite file.
@Suite struct APITests {
    /// While the page refreshes every few seconds it gets at once what the refresh before
    /// started reading; the first request after a quiet spell (a monitor polling once a minute,
    /// the page opened again) waits for the books as they are now. Bounds are generous: a
    /// loaded machine may stall for seconds, and neither answer depends on how long it does.
    @Test func theFirstRequestAfterAQuietSpellSeesTheBooksAsTheyAreNow() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        func post(_ name: String) throws {
            _ = try store.write([rejected(name: name, sha: name, code: "XML-MALFORMED", message: "cut off")], now: "t")
        }
        let builder = StatusBuilder(accounts: AccountPlan(), actionsEnabled: false)
        // Refreshing: what was read before, at once, while the books are read again.
        let refreshing = FactsCache(
            store: store, builder: builder, ttl: .milliseconds(100), quietSpell: .seconds(120))
        func total(_ cache: FactsCache) async throws -> Int {
            try await cache.sections(today: day(0)).get().sections.documents.total
        }
        #expect(try await total(refreshing) == 9)
        try post("later.xml")
        try await Task.sleep(for: .milliseconds(200))
        #expect(try await total(refreshing) == 9)
        var seen = 9
        for _ in 0..<600 where seen == 9 {
            try await Task.sleep(for: .milliseconds(100))
            seen = try await total(refreshing)
        }
        #expect(seen == 10)
        // After a quiet spell: the books as they are now, from the first request.
        let quiet = FactsCache(
            store: store, builder: builder, ttl: .milliseconds(100), quietSpell: .milliseconds(300),
            patience: .seconds(120))
        #expect(try await total(quiet) == 10)
        try post("much-later.xml")
        try await Task.sleep(for: .milliseconds(400))
        #expect(try await total(quiet) == 11)
    }

    /// The checks of the whole books (they read every journal line) are read again at most once
    /// every `auditInterval` while the books change; the rest at every change. Once the interval
    /// has passed, a request given cached sections starts their reading, and the next has
    /// them, with when they were made.
    @Test func theChecksOfTheWholeBooksAreReadAtMostOnceAnInterval() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let builder = StatusBuilder(accounts: AccountPlan(), actionsEnabled: false)
        func post(_ number: String) throws {
            _ = try store.write(
                [
                    try incoming(
                        invoice(number, net: [10_000], issued: day(-1), due: day(20)), name: number, sha: number)
                ],
                now: "t")
        }
        func read(_ cache: FactsCache) async throws -> (documents: Int, entries: Int, checkedAt: String?) {
            let sections = try await cache.sections(today: day(0), current: true).get().sections
            return (sections.documents.total, sections.reconciliation.journalEntries, sections.reconciliation.checkedAt)
        }
        let seldom = FactsCache(
            store: store, builder: builder, ttl: .zero, auditInterval: .seconds(600), patience: .seconds(120))
        let first = try await read(seldom)
        #expect(first.documents == 9 && first.entries == 7)
        try post("A-1")
        let later = try await read(seldom)
        #expect(later.documents == 10)
        #expect(later.entries == 7 && later.checkedAt == first.checkedAt)

        // Sections kept for ten minutes, checks due after 0.2 s: only the checks coming due can
        // bring the new entry, read in the background once a request is given cached sections.
        let kept = FactsCache(
            store: store, builder: builder, ttl: .seconds(600), auditInterval: .milliseconds(200),
            quietSpell: .seconds(600), patience: .seconds(120))
        func entries(_ cache: FactsCache) async throws -> Int {
            try await cache.sections(today: day(0)).get().sections.reconciliation.journalEntries
        }
        #expect(try await entries(kept) == 8)
        try post("A-2")
        var seen = 8
        for _ in 0..<600 where seen == 8 {
            try await Task.sleep(for: .milliseconds(100))
            seen = try await entries(kept)
        }
        #expect(seen == 9)
    }

    /// While the daemon works through files, the figures may be a moment old; once it has
    /// nothing in hand, the books as they are now: the page never says "idle" beside the
    /// figures from before the last files (the end of a burst).
    @Test func anIdleDaemonsFiguresAreTheBooksAsTheyAreNow() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let cache = FactsCache(
            store: store, builder: StatusBuilder(accounts: AccountPlan(), actionsEnabled: false), ttl: .seconds(600),
            auditInterval: .seconds(600), quietSpell: .seconds(600), patience: .seconds(120))
        func total(current: Bool) async throws -> Int {
            try await cache.sections(today: day(0), current: current).get().sections.documents.total
        }
        #expect(try await total(current: false) == 9)
        _ = try store.write(
            [rejected(name: "last.xml", sha: "last", code: "XML-MALFORMED", message: "cut off")], now: "t")
        #expect(try await total(current: false) == 9)
        #expect(try await total(current: true) == 10)
        #expect(await cache.reads == 2)
        // Nothing committed since: not read again.
        #expect(try await total(current: true) == 10)
        #expect(await cache.reads == 2)
    }

    /// A page left open on books nothing is committed to does not have them read again every
    /// few seconds (at 50,000 documents a read costs most of a second of CPU); a commit, by
    /// this process or any other, has them read again.
    @Test func unchangedBooksAreNotReadAgain() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let cache = FactsCache(
            store: store, builder: StatusBuilder(accounts: AccountPlan(), actionsEnabled: false),
            ttl: .milliseconds(50),
            quietSpell: .milliseconds(300), patience: .seconds(120))
        func total() async throws -> Int { try await cache.sections(today: day(0)).get().sections.documents.total }
        #expect(try await total() == 9)
        for _ in 0..<3 {
            try await Task.sleep(for: .milliseconds(150))
            #expect(try await total() == 9)
        }
        #expect(await cache.reads == 1)
        // Another connection commits, as another process would.
        let other = try LedgerStore(path: dir.path + "/ledger.sqlite", durability: .normal)
        _ = try other.write(
            [rejected(name: "later.xml", sha: "later", code: "XML-MALFORMED", message: "cut off")], now: "t")
        try await Task.sleep(for: .milliseconds(150))
        #expect(try await total() == 10)
        #expect(await cache.reads == 2)
    }

    @Test func statusDocumentCarriesEveryPanelsFigures() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let reply = try await withServer(store: store) { port in try await get(port, "/api/status") }
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type") == "application/json; charset=utf-8")
        #expect(reply.header("Cache-Control") == "no-store")
        let json = reply.json

        #expect(json["version"].int == 1)
        #expect(
            json["panels"].array.compactMap(\.string)
                == ["problems", "to_do", "inboxes", "daemon", "outstanding", "aging", "reconciliation", "recent"])
        #expect(json["today"].string == day(0).description)
        #expect(json["generated_at"].string?.hasSuffix("Z") == true)

        // Runtime snapshot, snake_case.
        let ehf = json["runtime"]["inboxes"].first("name", "ehf")
        #expect(ehf["waiting"].int == 5)
        #expect(ehf["burst_done"].int == 12)
        #expect(ehf["burst_total"].int == 40)
        #expect(json["runtime"]["watch_mode"].string == "inotify")
        #expect(json["runtime"]["watcher_alive"].bool == true)
        #expect(json["health"]["ok"].bool == true)
        let uptime = try #require(json["health"]["uptime_seconds"].int)
        #expect((3 * 3600 + 100)...(3 * 3600 + 200) ~= uptime)
        #expect(json["actions"]["enabled"].bool == true)

        // Documents by state.
        #expect(json["documents"]["total"].int == 9)
        #expect(json["documents"]["posted"].int == 7)
        #expect(json["documents"]["rejected"].int == 1)
        #expect(json["documents"]["duplicate_number"].int == 1)

        // Recent documents, newest first, with reasons and what to do.
        let recent = json["recent_documents"].array
        #expect(recent.count == 9)
        #expect(recent.first?["name"].string == "P-1-again.xml")
        let broken = json["recent_documents"].first("name", "broken-invoice.xml")
        #expect(broken["state"].string == "rejected")
        #expect(broken["reason_code"].string == "BR-CO-10")
        #expect(broken["reason"].string == Fixture.brokenReason)
        #expect(broken["processed_at"].string == "2026-11-21T10:00:00Z")
        #expect(broken["can_retry"].bool == false)  // only a corrected invoice helps
        #expect(broken["what_to_do"].string?.contains("ask the sender for a corrected invoice") == true)
        #expect(json["recent_documents"].first("name", "P-1.xml")["what_to_do"] == .null)

        // The audit log, newest first.
        let activity = json["activity"].array
        #expect(activity.map { $0["action"].string } == ["retry", "daemon_started"])
        #expect(activity.first?["actor"].string == "status page (API token)")
        #expect(
            activity.first?["detail"].string
                == "broken-invoice.xml moved from the rejected folder back to the ehf inbox")
        #expect(activity.last?["at"].string == "2026-11-21T09:00:00Z")

        // Rejected and duplicates.
        #expect(json["rejected"]["total"].int == 1)
        #expect(json["rejected"]["items"][0]["name"].string == "broken-invoice.xml")
        #expect(json["duplicates"]["total"].int == 1)
        let duplicate = json["duplicates"]["items"][0]
        #expect(duplicate["name"].string == "P-1-again.xml")
        #expect(duplicate["original"]["name"].string == "P-1.xml")
        #expect(duplicate["original"]["archived_path"].string == "/archive/p1.xml")
        #expect(duplicate["reason_code"].string == "DUPLICATE-NUMBER")
        #expect(duplicate["what_to_do"].string?.contains("credit note") == true)

        // Outstanding per party and currency; money is integer minor units plus a string.
        let payables = json["outstanding"]["payables"]
        #expect(payables.array.map { $0["party"].string ?? "" } == ["Kontorrekvisita AS", "Leverandør AS"])
        let lev = payables.first("party", "Leverandør AS")
        #expect(
            lev["open"]
                == .object([
                    "minor": .integer(2_000_000), "currency": .string("NOK"), "formatted": .string("20 000.00 NOK"),
                ]))
        #expect(lev["documents"].int == 3)
        #expect(lev["party_key"].string == "942992343")
        #expect(lev["oldest_due_date"].string == day(-45).description)
        #expect(payables.first("party", "Kontorrekvisita AS")["open"]["minor"].int == 150_000)
        // K-2 states no due date: due 30 days after its issue 130 days ago, as its aging says.
        #expect(payables.first("party", "Kontorrekvisita AS")["oldest_due_date"].string == day(-100).description)
        let receivables = json["outstanding"]["receivables"].array
        #expect(receivables.map { $0["currency"].string ?? "" } == ["EUR", "NOK"])
        #expect(receivables.map { $0["open"]["minor"].int ?? 0 } == [12_500, 500_000])
        let totals = json["outstanding"]["totals"].array
        #expect(
            totals.map { "\($0["side"].string!) \($0["currency"].string!) \($0["open"]["formatted"].string!)" } == [
                "receivable EUR 125.00 EUR", "receivable NOK 5 000.00 NOK", "payable NOK 21 500.00 NOK",
            ])

        // Aging: five buckets per party and currency, and totals.
        let aging = json["aging"]
        #expect(aging["as_of"].string == day(0).description)
        #expect(aging["buckets"].array.compactMap { $0["id"].string } == ["current", "1-30", "31-60", "61-90", "90+"])
        func buckets(_ row: JSONValue) -> [Int64] { row["buckets"].array.compactMap { $0["minor"].int } }
        #expect(buckets(aging["payables"]["parties"].first("party", "Leverandør AS")) == [0, 1_750_000, 250_000, 0, 0])
        let kontorRow = aging["payables"]["parties"].first("party", "Kontorrekvisita AS")
        #expect(buckets(kontorRow) == [100_000, 0, 0, 0, 50_000])
        #expect(kontorRow["without_due_date"].int == 1)
        #expect(buckets(aging["payables"]["totals"][0]) == [100_000, 1_750_000, 250_000, 0, 50_000])
        #expect(aging["payables"]["totals"][0]["total"]["formatted"].string == "21 500.00 NOK")
        #expect(aging["payables"]["totals"][0]["party"] == .null)
        #expect(aging["payables"]["totals"][0]["buckets"][1]["formatted"].string == "17 500.00 NOK")
        let kunde = aging["receivables"]["parties"].array
        #expect(kunde.map(buckets) == [[0, 12_500, 0, 0, 0], [0, 0, 0, 500_000, 0]])
        #expect(aging["rule"].string?.contains("issue date") == true)

        // Reconciliation.
        let reconciliation = json["reconciliation"]
        #expect(reconciliation["agrees"].bool == true)
        #expect(reconciliation["balanced"].bool == true)
        #expect(reconciliation["journal_entries"].int == 7)
        let lines = reconciliation["lines"].array
        #expect(
            lines.map { "\($0["account"].string!) \($0["currency"].string!)" } == ["1500 EUR", "1500 NOK", "2400 NOK"])
        let payable = lines[2]
        #expect(payable["general_ledger"]["minor"].int == 2_150_000)
        #expect(payable["sub_ledger_total"]["minor"].int == 2_150_000)
        #expect(payable["difference"]["minor"].int == 0)
        #expect(payable["agrees"].bool == true)
        #expect(payable["account_name"].string == "Supplier debt")

        // The banner: two things need attention, with what to do.
        #expect(json["overall"]["status"].string == "attention")
        #expect(json["overall"]["headline"].string == "2 things need your attention; 5 notes below.")
        let items = json["overall"]["items"].array
        #expect(items.contains { $0["text"].string == "1 file was rejected: broken-invoice.xml." })
        #expect(
            items.contains { $0["panel"].string == "problems" && $0["text"].string?.contains("P-1-again.xml") == true })
        #expect(items.contains { $0["severity"].string == "info" && $0["text"].string?.contains("12 of 40") == true })
        // Everything past due, a note a side, with how much of it is over 90 days.
        #expect(
            items.contains {
                $0["text"].string == "20 500.00 NOK of supplier invoices is past due (500.00 NOK more than 90 days)."
            })
        #expect(items.contains { $0["text"].string == "125.00 EUR, 5 000.00 NOK owed by customers are past due." })
        #expect(
            items.contains {
                $0["severity"].string == "info"
                    && $0["text"].string
                        == "2 files for the wise inbox wait (Faktura mai.pdf, wise/statement.csv): this version of "
                        + "ledgerd does not read Wise statements and invoice PDFs yet."
            })
        // Files of kinds no inbox takes, named where they lie.
        #expect(
            items.contains {
                $0["severity"].string == "info"
                    && $0["text"].string
                        == "4 files in the inbox are of a kind ledgerd does not read (Faktura april.docx, lesmeg.txt, "
                        + "notater/a.odt and 1 more): EHF invoices are .xml files."
            })
        #expect(json["runtime"]["inboxes"].array.map { $0["not_read"].int } == [0, 2, 4])
        _ = dir
    }

    /// Many rejected files are summed up by what they were rejected for, the commonest first:
    /// thirty drops of one cut-off file read as one cause, not thirty problems.
    @Test func manyRejectedFilesAreSummedUpByReason() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)  // broken-invoice.xml: BR-CO-10
        var more = (0..<5).map {
            rejected(name: "cut-\($0).xml", sha: "cut\($0)", code: "XML-MALFORMED", message: "Cut off.")
        }
        more += (0..<2).map {
            rejected(name: "theirs-\($0).xml", sha: "theirs\($0)", code: "NOT-OUR-INVOICE", message: "Not ours.")
        }
        more.append(rejected(name: "big.xml", sha: "big", code: "FILE-TOO-LARGE", message: "Too large."))
        _ = try store.write(more, now: "2026-11-21T11:00:00Z")
        let json = try await withServer(store: store) { port in try await get(port, "/api/status") }.json
        #expect(json["rejected"]["total"].int == 9)
        #expect(
            json["rejected"]["by_code"].array.map { $0["code"].string ?? "" } == [
                "XML-MALFORMED", "NOT-OUR-INVOICE", "BR-CO-10", "FILE-TOO-LARGE",
            ])
        let items = json["overall"]["items"].array
        #expect(
            items.contains {
                $0["text"].string == "9 files were rejected: 5 XML-MALFORMED, 2 NOT-OUR-INVOICE and 2 more."
            },
            "\(items.map { $0["text"].string ?? "" })")
        typealias Count = StatusPageData.ReasonCount
        #expect(StatusBuilder.byReason([Count(code: "XML-MALFORMED", count: 30)]) == ", all XML-MALFORMED")
        #expect(
            StatusBuilder.byReason([Count(code: "A", count: 3), Count(code: "B", count: 2), Count(code: "", count: 1)])
                == ": 3 A, 2 B and 1 without a code")
    }

    /// `GET /api/documents?name=` finds documents and files dropped again by part of their
    /// name, whatever LIKE would make of % and _, and refuses a missing or huge name.
    @Test func documentsAreFoundByPartOfTheirName() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let outcomes = try store.write(
            [
                rejected(name: "100%_sure.xml", sha: "pct", code: "XML-MALFORMED", message: "Cut off."),
                // "é" stored as "e" and a combining accent, as some systems write names.
                rejected(name: "ÅRSOPPGJØR cafe\u{301}.xml", sha: "nfd", code: "XML-MALFORMED", message: "Cut off."),
            ],
            now: "2026-11-21T11:00:00Z")
        if case .rejected(let id, _) = outcomes[0] {
            try store.recordMoves(
                drops: [], rejected: [(id, "/srv/rejected/100%_sure (2).xml")], now: "2026-11-21T11:00:00Z")
        }
        try await withServer(store: store) { port in
            let p1 = try await get(port, "/api/documents?name=p-1")
            #expect(p1.status == 200)
            let json = p1.json
            // P-1.xml and P-1-again.xml (ASCII letters in either case).
            #expect(json["total"].int == 2)
            #expect(Set(json["items"].array.compactMap { $0["name"].string }) == ["P-1.xml", "P-1-again.xml"])
            let posted = try #require(json["items"].array.first { $0["name"].string == "P-1.xml" })
            #expect(posted["posted_as"]["number"].string == "P-1")
            // A space as forms write it (+), and a plus as %2B.
            #expect(try await get(port, "/api/documents?name=%C3%B8r+caf").json["total"].int == 1)
            #expect(try await get(port, "/api/documents?name=%C3%B8r%2Bcaf").json["total"].int == 0)
            // % and _ are only themselves.
            let percent = try await get(port, "/api/documents?name=%25_").json
            #expect(percent["items"].array.map { $0["name"].string } == ["100%_sure.xml"])
            #expect(percent["items"].array.first?["can_retry"].bool == false)
            #expect(try await get(port, "/api/documents?name=_").json["total"].int == 1)
            #expect(try await get(port, "/api/documents?name=100%_").json["total"].int == 1)  // as written
            #expect(try await get(port, "/api/documents").status == 400)
            #expect(try await get(port, "/api/documents?name=" + String(repeating: "a", count: 201)).status == 400)
            // 200 characters of two bytes each are a name's length, not too long.
            #expect(try await get(port, "/api/documents?name=" + String(repeating: "%C3%B8", count: 200)).status == 200)
            // Any letter in either case, and a letter written as one character or as two.
            let lower = try await get(port, "/api/documents?name=%C3%A5rsoppgj%C3%B8r").json  // "årsoppgjør"
            #expect(lower["items"].array.map { $0["name"].string } == ["ÅRSOPPGJØR café.xml"])
            let composed = try await get(port, "/api/documents?name=caf%C3%A9").json  // "café", é as one character
            #expect(composed["total"].int == 1)
            // A rejected file is found by the name it lies under too.
            let kept = try await get(port, "/api/documents?name=sure%20(2)").json
            #expect(kept["items"].array.map { $0["name"].string } == ["100%_sure.xml"])
        }
        _ = dir
    }

    @Test func emptyBooksAreAllFine() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let runtime = FakeRuntime()
        runtime.update {
            $0.inboxes = [.init(name: "ehf", waiting: 0, settling: 0, processing: 0, burstDone: 0, burstTotal: 0)]
        }
        let json = try await withServer(store: store, token: nil, runtime: runtime) { port in
            try await get(port, "/api/status").json
        }
        #expect(json["overall"]["status"].string == "ok")
        #expect(json["overall"]["headline"].string == "All fine: 0 documents posted, nothing needs you.")
        #expect(json["overall"]["items"].array.isEmpty)
        #expect(json["actions"]["enabled"].bool == false)
        #expect(json["documents"]["total"].int == 0)
        #expect(json["aging"]["payables"]["parties"].array.isEmpty)
        #expect(json["reconciliation"]["agrees"].bool == true)
        #expect(json["reconciliation"]["lines"].array.isEmpty)
        _ = dir
    }

    /// A daemon started without the company says so before the first invoice is rejected for
    /// it: empty books are not "all fine" then.
    @Test func booksKeptForNoCompanyNeedAttention() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let json = try await withServer(store: store, token: nil, companyConfigured: false) { port in
            try await get(port, "/api/status").json
        }
        #expect(json["overall"]["status"].string == "attention")
        #expect(json["overall"]["headline"].string?.hasPrefix("1 thing needs your attention") == true)
        let item = json["overall"]["items"][0]
        #expect(
            item["text"].string
                == "ledgerd does not know which company it keeps books for: every invoice is rejected until [company] "
                + "is set in its configuration.")
        #expect(item["action"].string?.contains("`ledgerd config example > ledgerd.toml`") == true)
        _ = dir
    }

    @Test func aDisagreementAndADeadWatcherMakeTheBannerAnError() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        try await store.pool.write { db in
            try db.execute(sql: "UPDATE supplier_ledger SET amount_minor = amount_minor + 1 WHERE id = 1")
        }
        let runtime = FakeRuntime()
        runtime.update {
            $0.watcherAlive = false
            // An error from two hours ago no longer counts as recent.
            $0.recentErrors = [
                "inotify: queue overflow", "older",
                // Its files all taken in since: passed.
                "\(StatusBuilder.iso(Date())) a.xml: permission denied — will try again\(RecentError.passedMark)",
                "\(StatusBuilder.iso(Date().addingTimeInterval(-7200))) disk full",
            ]
        }
        try await withServer(store: store, runtime: runtime) { port in
            let json = try await get(port, "/api/status").json
            #expect(json["overall"]["status"].string == "error")
            #expect(
                json["overall"]["headline"].string
                    == "ledgerd needs help: The inbox watcher has stopped: new files are not picked up.")
            let items = json["overall"]["items"].array
            #expect(
                items.contains {
                    $0["panel"].string == "reconciliation"
                        && $0["text"].string?.contains("disagree by -0.01 NOK") == true
                })
            // The sub-ledger named as `ledgerd reconcile` names it.
            #expect(items.contains { $0["text"].string?.contains("and the supplier sub-ledger disagree") == true })
            #expect(
                json["reconciliation"]["lines"].first("account", "2400")["sub_ledger_name"].string
                    == "supplier sub-ledger")
            #expect(items.contains { $0["text"].string == "2 recent errors; newest: inotify: queue overflow" })
            #expect(json["reconciliation"]["agrees"].bool == false)
            #expect(json["reconciliation"]["lines"].first("account", "2400")["unexplained"]["minor"].int == -1)
            #expect(json["health"]["ok"].bool == false)
            #expect(json["health"]["reasons"][0].string?.contains("watcher") == true)
        }
        _ = dir
    }

    @Test func healthzIs200WhenAliveAnd503WithTheReasonOtherwise() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let runtime = FakeRuntime()
        try await withServer(store: store, runtime: runtime) { port in
            let ok = try await get(port, "/healthz")
            #expect(ok.status == 200)
            #expect(ok.json["status"].string == "ok")
            #expect(ok.json["database"].string == "ok")

            runtime.update { $0.watcherAlive = false }
            let down = try await get(port, "/healthz")
            #expect(down.status == 503)
            #expect(down.json["status"].string == "unavailable")
            #expect(down.json["watcher"].string == "down")
            #expect(
                down.json["reasons"].array.compactMap(\.string) == [
                    "the inbox watcher is not running: new files are not picked up"
                ])

            runtime.update {
                $0.watcherAlive = true
                $0.schedulerAlive = false
            }
            let scheduler = try await get(port, "/healthz")
            #expect(scheduler.status == 503)
            #expect(scheduler.json["reasons"][0].string?.contains("scheduler") == true)

            // A database that answers reads but refuses writes (a full disk) is down too, and
            // the banner says so first.
            let full =
                "ledgerd cannot write to its database: the disk that holds the ledger database /srv/ledger.sqlite "
                + "is full: free space on it (SQLite error 13: database or disk is full); files wait"
            runtime.update {
                $0.schedulerAlive = true
                $0.databaseProblem = full
            }
            let refused = try await get(port, "/healthz")
            #expect(refused.status == 503)
            #expect(refused.json["database"].string == "down")
            #expect(refused.json["reasons"].array.compactMap(\.string) == [full])
            #expect(try await get(port, "/metrics").body.contains("ledgerd_database_up 0"))
            let status = try await get(port, "/api/status").json
            #expect(status["overall"]["status"].string == "error")
            #expect(status["overall"]["headline"].string == "ledgerd needs help: L" + full.dropFirst() + ".")
        }
        _ = dir
    }

    @Test func healthzIs503WhenTheDatabaseCannotBeRead() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        // A closed pool fails every read, as a vanished or unreadable file would.
        try store.pool.close()
        try await withServer(store: store) { port in
            let reply = try await get(port, "/healthz")
            #expect(reply.status == 503)
            #expect(reply.json["database"].string == "down")
            #expect(reply.json["reasons"][0].string?.hasPrefix("the database cannot be read") == true)
            let status = try await get(port, "/api/status")
            #expect(status.status == 200)
            #expect(status.json["overall"]["status"].string == "error")
            #expect(status.json["health"]["database"].bool == false)
        }
        _ = dir
    }

    @Test func metricsExportFilesLatencyBacklogAndOutstanding() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        LedgerMetrics.bootstrap()
        LedgerMetrics.fileProcessed(result: "posted")
        LedgerMetrics.ingestDuration(.milliseconds(12))
        // What the daemon records itself (Sources/Daemon): same names and label sets.
        Counter(label: "ledgerd_files_total", dimensions: [("result", "duplicate_number")]).increment()
        Metrics.Timer(label: "ledgerd_ingest_duration_seconds").recordNanoseconds(3_000_000)
        Gauge(label: "ledgerd_backlog_files").record(3)
        let runtime = FakeRuntime()
        runtime.update { $0.oldestWaitingSeconds = 42 }
        let reply = try await withServer(store: store, runtime: runtime) { port in try await get(port, "/metrics") }
        #expect(reply.status == 200)
        #expect(reply.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        let text = reply.body
        for name in [
            "# TYPE ledgerd_files_total counter", "ledgerd_files_total{result=\"rejected\"}",
            "# TYPE ledgerd_ingest_duration_seconds histogram", "ledgerd_ingest_duration_seconds_bucket{le=\"0.025\"}",
            "ledgerd_ingest_duration_seconds_count", "ledgerd_backlog_files 7",
            "ledgerd_inbox_backlog_files{inbox=\"ehf\"} 7", "ledgerd_inbox_backlog_files{inbox=\"wise\"} 0",
            "ledgerd_invoices_outstanding{side=\"payable\",currency=\"NOK\"} 5",
            "ledgerd_invoices_outstanding_minor_units{side=\"payable\",currency=\"NOK\"} 2150000",
            "ledgerd_invoices_outstanding_minor_units{side=\"receivable\",currency=\"EUR\"} 12500", "ledgerd_up 1",
            "ledgerd_watcher_up 1", "ledgerd_database_up 1", "ledgerd_uptime_seconds",
            "ledgerd_oldest_waiting_file_seconds 42",
        ] {
            #expect(text.contains(name), "missing \(name)")
        }
        // When the latest document was posted, as Unix time, for an alert on a quiet inbox.
        let lastPosted = try #require(try store.lastPostedAt().flatMap { ISO8601DateFormatter().date(from: $0) })
        #expect(text.contains("\nledgerd_last_posted_timestamp_seconds \(Int(lastPosted.timeIntervalSince1970))\n"))
        // Every series says what it is, as `promtool check metrics` asks, once.
        let lines = text.split(separator: "\n")
        for (index, line) in lines.enumerated() where line.hasPrefix("# TYPE ") {
            let name = line.split(separator: " ")[2]
            #expect(index > 0 && lines[index - 1].hasPrefix("# HELP \(name) "), "no help text for \(name)")
        }
        #expect(lines.filter { $0.hasPrefix("# HELP ") }.count == lines.filter { $0.hasPrefix("# TYPE ") }.count)
        #expect(text.hasSuffix("\n") && !text.hasSuffix("\n\n"))
        let posted = lines.first { $0.hasPrefix("ledgerd_files_total{result=\"posted\"}") }
        #expect(posted.flatMap { Int($0.split(separator: " ").last!) }.map { $0 >= 1 } == true)
        _ = dir
    }

    @Test func actionsWithTheTokenReachTheDaemon() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let actions = FakeActions()
        try await withServer(store: store, actions: actions) { port in
            let auth = ["Authorization: Bearer s3cret-token", "Content-Type: application/json"]
            let retry = try await post(
                port, "/api/actions/retry", body: #"{"name": "broken-invoice.xml"}"#, headers: auth)
            #expect(retry.status == 200)
            #expect(retry.json["ok"].bool == true)
            #expect(retry.json["message"].string == "broken-invoice.xml is back in the ehf inbox")

            let missing = try await post(port, "/api/actions/retry", body: #"{"name": "nope.xml"}"#, headers: auth)
            #expect(missing.status == 404)
            #expect(missing.json["error"].string == "nope.xml is not in the rejected folder")

            for name in ["../ledger.sqlite", "a/b.xml", "", ".."] {
                let bad = try await post(port, "/api/actions/retry", body: #"{"name": "\#(name)"}"#, headers: auth)
                #expect(bad.status == 400, "name \(name)")
            }
            let malformed = try await post(port, "/api/actions/retry", body: "name=x", headers: auth)
            #expect(malformed.status == 400)

            let rescan = try await post(port, "/api/actions/rescan", body: "{}", headers: auth)
            #expect(rescan.status == 202)
            let empty = try await post(
                port, "/api/actions/rescan", body: "",
                headers: ["Authorization: bearer s3cret-token", "Content-Type: application/json; charset=utf-8"])
            #expect(empty.status == 202)
            for bad in ["rescan=1", "[1]", "\"now\"", "{"] {
                let refused = try await post(port, "/api/actions/rescan", body: bad, headers: auth)
                #expect(refused.status == 400, "\(bad)")
                #expect(refused.json["error"].string == "expected an empty body or {}")
            }
        }
        #expect(actions.calls.withLock { $0 } == ["retry broken-invoice.xml", "retry nope.xml", "rescan", "rescan"])
        _ = dir
    }

    @Test func theStaticPageIsServedWithSecurityHeaders() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        try await withServer(store: store) { port in
            for (path, type) in [
                ("/", "text/html"), ("/index.html", "text/html"), ("/app.js", "javascript"), ("/style.css", "text/css"),
            ] {
                let reply = try await get(port, path)
                #expect(reply.status == 200, "\(path)")
                #expect(
                    reply.header("Content-Type")?.contains(type) == true,
                    "\(path): \(reply.header("Content-Type") ?? "")")
                #expect(reply.header("Content-Security-Policy")?.hasPrefix("default-src 'self'") == true)
                #expect(reply.header("X-Content-Type-Options") == "nosniff")
                #expect(reply.header("Referrer-Policy") == "no-referrer")
                #expect(reply.header("X-Frame-Options") == "DENY")
            }
            #expect(try await get(port, "/").body.contains("<script src=\"app.js\" defer></script>"))
            // Errors carry the headers too.
            let missing = try await get(port, "/nothing-here.html")
            #expect(missing.status == 404)
            #expect(missing.header("X-Frame-Options") == "DENY")
            let api = try await get(port, "/api/status")
            #expect(api.header("Content-Security-Policy") != nil)
        }
        _ = dir
    }

    /// Retry is offered where the same file can post once something outside it is fixed (the
    /// configuration): not for a link refused unread, nor for a file only a corrected one replaces.
    @Test func retryIsOfferedWhereTheSameFileCanPost() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        _ = try store.write(
            [
                rejected(name: "shortcut.xml", sha: "unread:1", code: "NOT-A-FILE", message: "A link."),
                rejected(name: "broken.xml", sha: "b", code: "XML-MALFORMED", message: "Cut off."),
                rejected(name: "other.xml", sha: "o", code: "NOT-OUR-INVOICE", message: "Not ours."),
            ], now: "2026-11-21T10:00:00Z")
        let json = try await withServer(store: store) { port in try await get(port, "/api/status").json }
        #expect(json["recent_documents"].first("name", "shortcut.xml")["can_retry"].bool == false)
        #expect(json["recent_documents"].first("name", "broken.xml")["can_retry"].bool == false)
        #expect(json["recent_documents"].first("name", "other.xml")["can_retry"].bool == true)
        _ = dir
    }

    @Test func aPortInUseIsAClearError() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        try await withServer(store: store) { port in
            let second = StatusServer(
                settings: StatusServerSettings(host: "127.0.0.1", port: port, webRoot: webRoot), store: store,
                accounts: AccountPlan(), runtime: FakeRuntime().provider, actions: FakeActions(),
                logger: .init(label: "second"))
            do {
                try await second.run()
                Issue.record("a second server on port \(port) started")
            } catch let error as StatusServerError {
                guard case .bindFailed(let host, let boundPort, let reason) = error else {
                    Issue.record("unexpected \(error)")
                    return
                }
                #expect(host == "127.0.0.1")
                #expect(boundPort == port)
                #expect(reason.contains("in use"))
                #expect(error.description.contains("cannot listen on 127.0.0.1:\(port)"))
            }
        }
        _ = dir
    }

    @Test func aMissingWebRootIsAClearError() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let server = StatusServer(
            settings: StatusServerSettings(port: 0, webRoot: dir.path + "/no-such-folder"), store: store,
            accounts: AccountPlan(), runtime: FakeRuntime().provider, actions: FakeActions(), logger: .init(label: "t"))
        await #expect(throws: StatusServerError.webRootMissing(dir.path + "/no-such-folder")) { try await server.run() }
    }

    @Test func theWebRootIsFoundInTheSourceTreeOrAShareDirectory() throws {
        let dir = TemporaryDirectory()
        #expect(
            StatusServerSettings.locateWebRoot(currentDirectory: repositoryRoot, executablePath: nil) == repositoryRoot
                + "/Web")
        let share = dir.path + "/prefix/share/ledgerd/Web"
        try FileManager.default.createDirectory(atPath: share, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir.path + "/prefix/bin", withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: share + "/index.html", contents: Data("<html>".utf8))
        #expect(
            StatusServerSettings.locateWebRoot(
                currentDirectory: dir.path, executablePath: dir.path + "/prefix/bin/ledgerd")
                == share)
    }
}

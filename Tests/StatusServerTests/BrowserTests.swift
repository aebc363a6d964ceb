import Foundation
import LedgerCore
import LedgerStore
import TestSupport
import Testing

@testable import StatusServer

#if canImport(Glibc)
    import Glibc
#endif

/// The page in a real browser: headless Chromium (Debian's `chromium`) loads it from a real
/// server, runs app.js, and the rendered DOM must show the fixture's figures. Screenshots land
/// in `.build/test-artifacts/`.
@Suite(.serialized) struct BrowserTests {
    static let artifacts = repositoryRoot + "/.build/test-artifacts"

    @Test func thePageShowsEveryPanelsFiguresInChromium() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        try FileManager.default.createDirectory(atPath: Self.artifacts, withIntermediateDirectories: true)
        let dom = try await withServer(store: store) { port in
            let url = "http://127.0.0.1:\(port)/"
            // The JSON the page was drawn from, kept beside the screenshots.
            try await get(port, "/api/status").body.write(
                toFile: Self.artifacts + "/status.json", atomically: true, encoding: .utf8)
            let dom = try await Chromium.run(["--virtual-time-budget=5000", "--dump-dom", url], profile: profile.path)
            // The two sizes asked for, plus full-length ones to look at the whole page.
            let sizes = [
                ("desktop", "1280,2000"), ("phone", "390,1600"), ("desktop-full", "1280,4200"),
                ("phone-full", "390,7600"),
            ]
            for (name, size) in sizes {
                let path = Self.artifacts + "/status-page-\(name).png"
                try? FileManager.default.removeItem(atPath: path)
                _ = try await Chromium.run(
                    ["--virtual-time-budget=5000", "--window-size=\(size)", "--screenshot=\(path)", url],
                    profile: profile.path)
                #expect(FileManager.default.fileExists(atPath: path), "no screenshot at \(path)")
            }
            return dom
        }
        try dom.write(toFile: Self.artifacts + "/status-page.html", atomically: true, encoding: .utf8)
        func figure(_ key: String) -> String? { TestSupport.figure(dom, key) }

        // Banner.
        #expect(dom.contains("id=\"overall\" class=\"overall\" data-status=\"attention\""))
        #expect(dom.contains("2 things need your attention; 5 notes below."))
        // The company's name heads the page and the tab, which says how things stand.
        #expect(dom.contains("<span id=\"company\" class=\"company\">Nordlys Helse AS</span>"))
        #expect(dom.contains("<title>! Nordlys Helse AS · ledgerd</title>"))
        #expect(dom.contains("1 file was rejected: broken-invoice.xml."))

        // Panels in the order the API gives.
        let order = ["problems", "inboxes", "daemon", "outstanding", "aging", "reconciliation", "recent"]
        // Drawn only when a posting left something to do by hand; the fixture's none did.
        #expect(!dom.contains("id=\"panel-to_do\""))
        let positions = order.map { dom.range(of: "id=\"panel-\($0)\"")?.lowerBound }
        #expect(
            positions.allSatisfy { $0 != nil },
            "missing panels: \(zip(order, positions).filter { $0.1 == nil }.map(\.0))")
        #expect(positions.compactMap { $0 } == positions.compactMap { $0 }.sorted())

        // Inboxes and document counts.
        #expect(figure("inbox-ehf-backlog") == "7")
        #expect(figure("inbox-ehf-progress") == "12 of 40")
        #expect(figure("inbox-wise-backlog") == "0")
        #expect(figure("inbox-wise-not-read") == "2")
        #expect(figure("inbox-ehf-not-read") == nil)
        // Files of kinds no inbox takes are named in the banner's note, not as an inbox's row.
        #expect(!dom.contains("data-inbox=\"other\""))
        #expect(dom.contains("(Faktura april.docx, lesmeg.txt, notater/a.odt and 1 more)"))
        #expect(figure("documents-total") == "9")
        #expect(figure("documents-posted") == "7")
        #expect(figure("documents-rejected") == "1")
        #expect(figure("documents-duplicate-number") == "1")

        // Rejected file and flagged duplicate, with what to do.
        #expect(figure("rejected-count") == "1")
        #expect(figure("rejected-name") == "broken-invoice.xml")
        #expect(figure("rejected-reason") == Fixture.brokenReason)
        #expect(dom.contains("ask the sender for a corrected invoice"))
        #expect(!dom.contains(">Retry</button>"))  // a corrected invoice, not a retry, mends it
        #expect(figure("duplicates-count") == "1")
        #expect(figure("duplicate-name") == "P-1-again.xml")
        #expect(figure("duplicate-original") == "P-1.xml")

        // Recent documents.
        #expect(dom.contains("data-document=\"broken-invoice.xml\" data-state=\"rejected\""))
        #expect(dom.contains("data-document=\"sale-1002.xml\" data-state=\"posted\""))

        // Outstanding.
        #expect(figure("outstanding-total-payable-NOK") == "21 500.00 NOK")
        #expect(figure("outstanding-payable-Leverandør AS-NOK") == "20 000.00 NOK")
        #expect(figure("outstanding-payable-Kontorrekvisita AS-NOK") == "1 500.00 NOK")
        #expect(figure("outstanding-receivable-Kunde AS-NOK") == "5 000.00 NOK")
        #expect(figure("outstanding-note")?.hasPrefix("Invoiced amounts: ledgerd records no payments yet") == true)
        // Most overdue first, not by name, in both panels: by the oldest bucket holding money
        // (Kontorrekvisita's 90+, an invoice without a due date issued 130 days ago).
        func position(_ text: String) -> String.Index? { dom.range(of: text)?.lowerBound }
        let outstanding = try #require(position("id=\"panel-outstanding\""))
        let aging = try #require(position("id=\"panel-aging\""))
        let owedFirst = try #require(dom[outstanding...].range(of: "<tr data-party=\"Kontorrekvisita AS\"")?.lowerBound)
        let owedSecond = try #require(
            dom[outstanding...].range(of: "<tr data-party=\"Leverandør AS\"")?.lowerBound)
        #expect(owedFirst < owedSecond)
        let agedFirst = try #require(dom[aging...].range(of: "data-party=\"Kontorrekvisita AS\"")?.lowerBound)
        let agedSecond = try #require(dom[aging...].range(of: "data-party=\"Leverandør AS\"")?.lowerBound)
        #expect(agedFirst < agedSecond)
        #expect(figure("outstanding-total-receivable-EUR") == "125.00 EUR")

        // Aging buckets.
        let payableTotals = [
            "current": "1 000.00", "1-30": "17 500.00", "31-60": "2 500.00", "61-90": "0.00", "90+": "500.00",
        ]
        for (bucket, value) in payableTotals {
            #expect(figure("aging-payable-total-NOK-\(bucket)") == value + " NOK", "payables \(bucket)")
        }
        #expect(figure("aging-payable-total-NOK-sum") == "21 500.00 NOK")
        #expect(figure("aging-payable-Leverandør AS-NOK-1-30") == "17 500.00 NOK")
        #expect(figure("aging-payable-Leverandør AS-NOK-31-60") == "2 500.00 NOK")
        #expect(figure("aging-payable-Kontorrekvisita AS-NOK-90+") == "500.00 NOK")
        #expect(figure("aging-receivable-Kunde AS-NOK-61-90") == "5 000.00 NOK")
        #expect(figure("aging-receivable-Kunde AS-EUR-1-30") == "125.00 EUR")
        #expect(dom.contains("class=\"seg b1\""))  // bars were drawn

        // Reconciliation.
        #expect(figure("reconciliation-verdict") == "agrees")
        #expect(figure("reconciliation-balanced") == "all 7 journal entries balance")
        // When the checks were made, in the browser's clock format ("07:15", "07:15 AM", "07.15").
        #expect(
            figure("reconciliation-checked")?.contains(where: \.isNumber) == true,
            "\(figure("reconciliation-checked") ?? "none")")
        #expect(figure("reconciliation-2400-NOK-verdict") == "agrees")
        #expect(figure("reconciliation-2400-NOK-gl") == "21 500.00 NOK")
        #expect(figure("reconciliation-2400-NOK-sub") == "21 500.00 NOK")
        #expect(figure("reconciliation-1500-EUR-gl") == "125.00 EUR")

        // The daemon.
        #expect(figure("health") == "ok")
        #expect(figure("watch-mode") == "inotify")
        #expect(figure("uptime") == "3 h 2 min")
        #expect(figure("errors-count") == "0")
        // Its recent activity, from the audit log, newest first, with detail and actor.
        #expect(figure("activity-0") == "retry")
        #expect(figure("activity-1") == "started")
        #expect(figure("activity-2") == nil)
        #expect(dom.contains("broken-invoice.xml moved from the rejected folder back to the ehf inbox"))
        #expect(dom.contains(" · status page (API token)"))
        _ = (dir, profile)
    }

    /// A name holding a bidirectional override or a newline is shown with escapes, as the
    /// logs and the command line show it, so it reads in the order it is stored.
    @Test func namesWithControlCharactersAreShownWithEscapes() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let name = "faktura\u{202E}lmx.exe\n.xml"
        _ = try store.write(
            [rejected(name: name, sha: "odd", code: "XML-MALFORMED", message: "The file is not XML.")],
            now: "2026-11-21T10:00:00Z")
        // The activity list too: what was recorded by name (written before names were escaped
        // there), and who.
        try store.audit(
            .retry, actor: "eve\u{202E}", documentID: nil, detail: "\(name) moved back", now: "2026-11-21T10:01:00Z")
        let dom = try await withServer(store: store) { port in
            try await Chromium.run(
                ["--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/"], profile: profile.path)
        }
        let escaped = "faktura\\u202Elmx.exe\\n.xml"
        #expect(TestSupport.figure(dom, "rejected-name") == escaped, "\(dom)")
        #expect(dom.contains("1 file was rejected: \(escaped)."))
        #expect(dom.contains("<td class=\"name\">\(escaped)</td>"))
        #expect(dom.contains(" — \(escaped) moved back"), "\(dom)")
        #expect(dom.contains(" · eve\\u202E"))
        // The override itself appears only inside attributes, which keep the real name.
        let text = dom.replacingOccurrences(of: "data-rejected=\"\(name)\"", with: "")
            .replacingOccurrences(of: "data-document=\"\(name)\"", with: "")
        #expect(!text.unicodeScalars.contains("\u{202E}"))
        _ = (dir, profile)
    }

    /// Recent documents say what each posted one became, and list a file dropped again with
    /// the one it repeats; the all-time count of rejections says how many still need attention.
    @Test func recentDocumentsSayWhatTheyBecameAndCountsMatchTheBanner() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        let outcomes = try store.write(
            [
                try incoming(invoice("P-7", net: [100_000], issued: day(-3), due: day(27)), name: "P-7.xml", sha: "p7"),
                try incoming(
                    invoice(
                        "S-9", seller: us, buyer: kunde, type: .creditNote, net: [40_000], issued: day(-1), due: nil),
                    name: "S-9.xml", sha: "s9", direction: .sale),
                rejected(name: "fixed-later.xml", sha: "r1", code: "XML-MALFORMED", message: "Cut off."),
                rejected(name: "still-broken.xml", sha: "r2", code: "XML-MALFORMED", message: "Cut off."),
            ], now: "2026-11-21T10:00:00Z")
        guard case .posted(let posted, _) = outcomes[0] else {
            Issue.record("not posted: \(String(describing: outcomes[0]))")
            return
        }
        try store.resolveProblem(sha256: "r1", now: "2026-11-21T10:01:00Z")
        let stillBroken: Int64
        if case .rejected(let id, _) = outcomes[3] { stillBroken = id } else { stillBroken = -1 }
        try store.recordMoves(
            drops: [
                DuplicateDrop(
                    documentID: posted, name: "P-7 (copy).xml", inbox: "ehf",
                    archivedPath: "/srv/ledgerd/archive/duplicates/2026-11-21/P-7 (copy).xml",
                    receivedAt: "2026-11-21T10:02:00Z")
            ], rejected: [(stillBroken, "/srv/ledgerd/inbox/rejected/still-broken (2).xml")],
            now: "2026-11-21T10:02:00Z")
        let (dom, found, none) = try await withServer(store: store) { port in
            (
                try await Chromium.run(
                    ["--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/"], profile: profile.path),
                // A file looked for by part of its name, as a link to the search gives it.
                try await Chromium.run(
                    ["--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/?find=P-7"],
                    profile: profile.path),
                try await Chromium.run(
                    ["--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/?find=nothing-like-it"],
                    profile: profile.path)
            )
        }
        #expect(
            TestSupport.figure(none, "found-count") == "No file whose name holds nothing-like-it.",
            "\(none.prefix(3000))")
        #expect(!none.contains("nothing-like-it.null"))
        let start = try #require(found.range(of: "id=\"found\""))
        let end = try #require(found[start.upperBound...].range(of: "</section>"))
        let results = String(found[start.lowerBound..<end.upperBound])
        #expect(TestSupport.figure(results, "found-count") == "2 files whose name holds P-7.")
        #expect(results.contains("<tr data-document=\"P-7 (copy).xml\" data-state=\"duplicate\">"))
        #expect(results.contains("<tr data-document=\"P-7.xml\" data-state=\"posted\">"))
        #expect(!results.contains("S-9.xml"))
        #expect(!results.contains("null"))
        func row(_ name: String) -> String? {
            guard let start = dom.range(of: "<tr data-document=\"\(name)\"") else { return nil }
            let rest = dom[start.lowerBound...]
            return rest.range(of: "</tr>").map { String(rest[..<$0.upperBound]) }
        }
        let invoiceRow = try #require(row("P-7.xml"))
        #expect(invoiceRow.contains("Invoice P-7 from Leverandør AS · "), "\(invoiceRow)")
        #expect(invoiceRow.contains("<span class=\"n\">1 250.00</span> <span class=\"cur\">NOK</span>"))
        #expect(invoiceRow.contains(" · due \(day(27))"))
        let creditRow = try #require(row("S-9.xml"))
        #expect(creditRow.contains("Credit note S-9 to Kunde AS · "), "\(creditRow)")
        #expect(!creditRow.contains("due"))
        let dropRow = try #require(row("P-7 (copy).xml"))
        #expect(dropRow.contains("data-state=\"duplicate\""))
        #expect(
            dropRow.contains("The same file was already posted as P-7.xml on 2026-11-21; nothing was posted again."))
        #expect(!dropRow.contains("DUPLICATE:"))
        #expect(dropRow.contains("Invoice P-7 from Leverandør AS · "), "what its bytes were posted as")
        // The drop is the newest: listed first.
        #expect(dom.range(of: "P-7 (copy).xml")!.lowerBound < dom.range(of: "data-document=\"S-9.xml\"")!.lowerBound)

        #expect(TestSupport.figure(dom, "documents-rejected") == "2")
        #expect(TestSupport.figure(dom, "documents-rejected-open") == "1")
        #expect(TestSupport.figure(dom, "rejected-count") == "1")
        // Beside another file of its name, where it lies.
        #expect(TestSupport.figure(dom, "kept-as-\(stillBroken)") == "still-broken (2).xml")
        _ = (dir, profile)
    }

    /// A posting that left something to do by hand is listed in a panel of its own, below the
    /// problems, with what the books still need, and its recent row says it too; the API gives
    /// the same, and nothing of the kind for an ordinary posting.
    @Test func postingsThatLeaveSomethingToDoByHandAreListed() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        var corrected = invoice("P-8", net: [100_000], issued: day(-3), due: day(27))
        corrected.typeCode = "384"
        corrected.billingReferences = ["P-7"]
        _ = try store.write(
            [
                try incoming(
                    invoice("P-7", net: [100_000], issued: day(-4), due: day(26)), name: "P-7.xml", sha: "p7",
                    noting: true),
                try incoming(corrected, name: "P-8.xml", sha: "p8", noting: true),
            ], now: "2026-11-21T10:00:00Z")
        let expected =
            "A corrected invoice of P-7 (type 384), posted in full beside the invoice it corrects: if it replaces "
            + "that one rather than adding to it, ask the supplier for a credit note for the first."
        let (dom, json, done) = try await withServer(store: store) { port in
            let seen = (
                try await Chromium.run(
                    ["--virtual-time-budget=5000", "--dump-dom", "http://127.0.0.1:\(port)/"], profile: profile.path),
                try await get(port, "/api/status").json
            )
            // The Done button's request, as the page sends it with its password.
            let auth = ["Authorization: Bearer s3cret-token", "Content-Type: application/json"]
            let id = seen.1["to_do"]["items"][0]["id"].int ?? -1
            let done = try await post(port, "/api/actions/done", body: #"{"document_id": \#(id)}"#, headers: auth)
            let again = try await post(port, "/api/actions/done", body: #"{"document_id": \#(id)}"#, headers: auth)
            let malformed = try await post(port, "/api/actions/done", body: #"{"name": "P-8.xml"}"#, headers: auth)
            let left = Int(try await get(port, "/api/status").json["to_do"]["total"].int ?? -1)
            let statuses: [Int] = [done.status, again.status, malformed.status, left]
            return (seen.0, seen.1, statuses)
        }
        // Marked done: off the list; a second time there is nothing left to mark.
        #expect(done == [200, 404, 400, 0])
        #expect(try store.auditEntries(limit: 5).first?.action == "note_done")
        #expect(try store.auditEntries(limit: 5).first?.actor == "status page (API token)")
        #expect(json["to_do"]["total"].int == 1)
        #expect(json["to_do"]["items"][0]["name"].string == "P-8.xml")
        #expect(json["to_do"]["items"][0]["note"].string == expected)
        #expect(json["recent_documents"].first("name", "P-8.xml")["note"].string == expected)
        #expect(json["recent_documents"].first("name", "P-7.xml")["note"].string == nil)

        let problems = try #require(dom.range(of: "id=\"panel-problems\""))
        let panel = try #require(dom.range(of: "id=\"panel-to_do\""), "\(dom)")
        #expect(problems.lowerBound < panel.lowerBound)
        #expect(TestSupport.figure(dom, "to-do-count") == "1")
        #expect(TestSupport.figure(dom, "noted-name") == "P-8.xml")
        #expect(TestSupport.figure(dom, "noted-note") == expected)
        let id = try #require(json["to_do"]["items"][0]["id"].int)
        #expect(dom.contains("#\(id) · ehf · "), "\(dom)")
        #expect(dom.contains("<code>ledgerd done \(id)</code>"))
        #expect(dom.contains("data-key=\"done-\(id)\""), "the Done button, with a token configured")
        #expect(dom.contains("<p class=\"note small\">To do by hand: \(expected)</p>"), "\(dom)")
        #expect(!dom.contains("data-noted=\"P-7.xml\""))
        _ = (dir, profile)
    }

    /// Books with many problems and many suppliers: each list shows its first items and keeps
    /// the rest behind "Show N more", so the page stays a page; the 90+ notes of several
    /// currencies make one line; a supplier's name is shown with escapes as file names are;
    /// and an amount can break before its currency, never inside the number.
    @Test func longListsAreShortenedAndNamesEscaped() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir, filled: false)
        var documents: [IncomingDocument] = []
        for i in 0..<30 {
            let seller = Party(
                name: i == 0 ? "Evil \u{202E}lab AS" : "Leverandør \(i) AS", legalCompanyID: "9\(i + 10)000000")
            documents.append(
                try incoming(
                    invoice(
                        "V-\(i)", seller: seller, currency: i == 1 ? Currency("EUR")! : nok, net: [1_000_000_000],
                        issued: day(-200), due: day(-120)),
                    name: "V-\(i).xml", sha: "v\(i)"))
        }
        for i in 0..<25 {
            documents.append(
                rejected(name: "broken-\(i).xml", sha: "r\(i)", code: "XML-MALFORMED", message: "Cut off."))
        }
        _ = try store.write(documents, now: "2026-11-21T10:00:00Z")
        let dom = try await withServer(store: store) { port in
            let url = "http://127.0.0.1:\(port)/"
            let path = Self.artifacts + "/status-page-long.png"
            try? FileManager.default.removeItem(atPath: path)
            _ = try await Chromium.run(
                ["--virtual-time-budget=5000", "--window-size=1280,4200", "--screenshot=\(path)", url],
                profile: profile.path)
            return try await Chromium.run(["--virtual-time-budget=5000", "--dump-dom", url], profile: profile.path)
        }
        #expect(dom.contains(">Show 20 more rejected files</summary>"), "\(dom)")
        #expect(dom.components(separatedBy: "data-rejected=").count - 1 == 25)
        // The same trouble's advice in full at the first of the files, the others pointing to it,
        // and in the banner, as the advice of all of them.
        let advice = Rejection.advice(forCode: "XML-MALFORMED")
        #expect(dom.components(separatedBy: advice).count - 1 == 2)
        let first = try #require(dom.firstMatch(of: /data-rejected="([^"]+)"/)?.1)
        #expect(dom.components(separatedBy: ">as for \(first) above.</p>").count - 1 == 24)
        // 30 supplier rows: 12 shown, 18 behind the button; of the 50 recent documents, 15.
        // The aging, per currency: the NOK total always shown, then 12 of its 29 suppliers.
        #expect(dom.components(separatedBy: "class=\"extra\"").count - 1 == 18 + 35)
        #expect(dom.contains(">Show 18 more suppliers</button>"))
        #expect(dom.contains(">Show 35 more documents</button>"))
        #expect(TestSupport.figure(dom, "recent-of") == "The latest 50 of 55 files taken in.")
        #expect(dom.contains(">Show 17 more suppliers in NOK</summary>"))
        let total = try #require(dom.range(of: "data-figure=\"aging-payable-total-NOK-sum\""))
        let more = try #require(dom.range(of: "data-more=\"aging-payable-NOK\""))
        #expect(total.lowerBound < more.lowerBound, "the NOK total is shown, not behind the button")
        // One line for the amounts past due, whatever their currencies.
        #expect(
            dom.contains(
                "12 500 000.00 EUR, 362 500 000.00 NOK of supplier invoices are past due (12 500 000.00 EUR, "
                    + "362 500 000.00 NOK more than 90 days)."))
        #expect(dom.contains(">Evil \\u202Elab AS<span class=\"phone-only quiet small\">"))
        // The override itself is only ever in attributes that are not shown.
        let text = dom.replacingOccurrences(of: "<[^>]*>", with: "", options: .regularExpression)
        #expect(!text.unicodeScalars.contains("\u{202E}"))
        #expect(dom.contains("aria-label=\"Evil \\u202Elab AS: "))
        #expect(dom.contains("<span class=\"n\">12 500 000.00</span> <span class=\"cur\">EUR</span>"))
        _ = (dir, profile)
    }

    @Test func thePageSaysSoWhenLedgerdCannotBeReached() async throws {
        let profile = TemporaryDirectory()
        // Opened from disk, the page's fetch of /api/status has nowhere to go.
        let dom = try await Chromium.run(
            [
                "--virtual-time-budget=3000", "--allow-file-access-from-files", "--dump-dom",
                "file://\(webRoot)/index.html",
            ],
            profile: profile.path)
        #expect(dom.contains("data-status=\"unreachable\""))
        #expect(dom.contains("Cannot reach ledgerd."))
        #expect(dom.contains("<title>✗ ledgerd</title>"), "the tab says so too")
        _ = profile
    }

    /// The page's buttons ask for their password in a dialog of the page's own, where it is
    /// typed unseen; clicked and typed into as a person does, in Chromium. Cancelled or
    /// escaped, nothing is sent; a wrong password is said so and forgotten; the right one
    /// does the action and is remembered for the tab.
    @Test func theButtonsAskForTheirPasswordInADialogAndRememberTheRightOne() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let actions = FakeActions()
        try await withServer(store: store, actions: actions) { port in
            // The page is driven from here, blocking this thread between steps: the server
            // runs on a thread of its own (`ServerThread`).
            do {
                let page = try BrowserPage(url: "http://127.0.0.1:\(port)/", profile: profile.path)
                defer { page.close() }
                let result = "document.getElementById('action-result').textContent"
                let dialogOpen = "document.getElementById('password').open"
                try page.waitFor("document.querySelector('[data-key=rescan]')")

                // Asked in a dialog, the typing going to a password field.
                try page.click("[data-key=rescan]")
                try page.waitFor(dialogOpen)
                #expect(try page.text("document.activeElement.id") == "password-value")
                #expect(try page.text("document.activeElement.type") == "password")
                // Cancelled, and then escaped: nothing sent.
                try page.type("half-typed")
                try page.click("#password-cancel")
                try page.waitFor("!\(dialogOpen) && document.getElementById('password-value').value === ''")
                try page.click("[data-key=rescan]")
                try page.waitFor(dialogOpen)
                try page.press("Escape")
                try page.waitFor("!" + dialogOpen)
                #expect(actions.calls.withLock { $0 }.isEmpty)
                #expect(try page.text(result) == "")

                // A wrong password is said so, and not kept: the next click asks again.
                try page.click("[data-key=rescan]")
                try page.waitFor(dialogOpen)
                try page.type("not-the-token")
                try page.waitFor("document.getElementById('password-value').value === 'not-the-token'")
                try page.press("Enter")
                try page.waitFor("!" + dialogOpen)
                try page.waitFor("\(result).startsWith('That password')")
                #expect(
                    try page.text(result) == "That password is not the right one; the next click asks for it again.")
                #expect(try page.evaluate("sessionStorage.getItem('ledgerd.token')") == nil)
                #expect(actions.calls.withLock { $0 }.isEmpty)

                // The right one does it, and the tab remembers it.
                try page.click("[data-key=rescan]")
                try page.waitFor(dialogOpen)
                #expect(try page.text("document.getElementById('password-value').value") == "")
                try page.type("s3cret-token")
                try page.click("#password-form button[value=ok]")
                try page.waitFor("\(result) === 'rescan started'")
                #expect(actions.calls.withLock { $0 } == ["rescan"])
                // The answer is seen wherever the page is scrolled to: at the foot of the window.
                _ = try page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
                let inView = """
                    (() => { const r = document.getElementById('action-result').getBoundingClientRect();
                      return scrollY > 0 && r.height > 0 && r.top >= 0 && r.bottom <= innerHeight; })()
                    """
                #expect(try page.evaluate(inView) as? Bool == true)
                // And goes when clicked.
                try page.click("#action-result")
                try page.waitFor("\(result) === ''")
                try page.click("[data-key=rescan]")
                let deadline = Date().addingTimeInterval(20)
                while actions.calls.withLock({ $0.count }) < 2, Date() < deadline { usleep(50_000) }
                #expect(actions.calls.withLock { $0 } == ["rescan", "rescan"])
                #expect(try page.evaluate(dialogOpen) as? Bool == false)
            }
        }
        _ = (dir, profile)
    }

    /// What is shown only on a phone (a party's oldest due date and document count under its
    /// name, where a desktop has columns for them) is hidden on a desktop, and the columns
    /// it stands for are hidden on a phone: measured in the browser at both widths.
    @Test func phoneLinesShowOnPhonesAndColumnsOnDesktops() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        try await withServer(store: store) { port in
            for (width, phone) in [(1280, false), (390, true)] {
                let profile = TemporaryDirectory()
                let page = try BrowserPage(url: "http://127.0.0.1:\(port)/", profile: profile.path, width: width)
                defer { page.close() }
                try page.waitFor("document.querySelector('table.outstanding .phone-only')")
                let shown = try page.evaluate(
                    """
                    [...document.querySelectorAll('table.outstanding .phone-only')]
                      .map((e) => getComputedStyle(e).display !== 'none' && e.getClientRects().length > 0)
                    """)
                let lines = try #require(shown as? [Bool])
                #expect(!lines.isEmpty)
                #expect(lines.allSatisfy { $0 == phone }, "width \(width): phone lines shown \(lines)")
                // Per table: the party and its open amount on a phone; more columns beside.
                let columns = try page.evaluate(
                    """
                    [...document.querySelectorAll('table.outstanding')].map((t) =>
                      [...t.querySelectorAll('thead th')].filter((e) => e.getClientRects().length > 0).length)
                    """)
                let counts = try #require(columns as? [Int])
                #expect(!counts.isEmpty)
                #expect(counts.allSatisfy { phone ? $0 == 2 : $0 > 2 }, "width \(width): visible columns \(counts)")
                _ = profile
            }
        }
        _ = dir
    }

    /// A file rejected for the configuration (not our invoice) since the running daemon
    /// started would be rejected again by it: no Retry is offered for it, but what to do; one
    /// rejected before the start is offered its Retry, the configuration may be mended since.
    @Test func retryWaitsForARestartWhereTheConfigurationIsTheCure() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let notOurs = "The invoice names neither party as this company."
        _ = try store.write(
            [rejected(name: "before.xml", sha: "before", code: "NOT-OUR-INVOICE", message: notOurs)],
            now: "2020-01-01T00:00:00Z")
        _ = try store.write(
            [rejected(name: "since.xml", sha: "since", code: "NOT-OUR-INVOICE", message: notOurs)],
            now: StatusBuilder.iso(Date()))
        func id(_ name: String) throws -> Int64 {
            try #require(
                try store.pool.read { db in
                    try Int64.fetchOne(db, sql: "SELECT id FROM documents WHERE original_name = ?", arguments: [name])
                })
        }
        let (before, since) = (try id("before.xml"), try id("since.xml"))
        try await withServer(store: store) { port in
            let page = try BrowserPage(url: "http://127.0.0.1:\(port)/", profile: profile.path)
            defer { page.close() }
            try page.waitFor("document.querySelector('[data-rejected=\"since.xml\"]')")
            #expect(try page.evaluate("!!document.querySelector('[data-key=retry-\(before)]')") as? Bool == true)
            #expect(try page.evaluate("!!document.querySelector('[data-key=retry-\(since)]')") as? Bool == false)
            let waits = try page.text(
                "document.querySelector('[data-rejected=\"since.xml\"] [data-retry-waits]').textContent")
            #expect(
                waits?.contains("once ledgerd has been restarted with the mended configuration") == true,
                "\(waits ?? "none")")
        }
        _ = (dir, profile)
    }

    /// A long list shows its first rows, the rest behind "Show N more", at a desktop's width
    /// and a phone's alike (where each row is a card): measured in the browser.
    @Test func rowsBehindShowMoreStayHiddenUntilShownOnPhonesToo() async throws {
        let dir = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        let more = (0..<20).map {
            rejected(name: "extra-\($0).xml", sha: "extra\($0)", code: "XML-MALFORMED", message: "Not XML.")
        }
        _ = try store.write(more, now: "2026-11-21T11:00:00Z")
        try await withServer(store: store) { port in
            for width in [1280, 390] {
                let profile = TemporaryDirectory()
                let page = try BrowserPage(url: "http://127.0.0.1:\(port)/", profile: profile.path, width: width)
                defer { page.close() }
                let visible = """
                    [...document.querySelectorAll('#panel-recent table.recent tbody tr')]
                      .filter((r) => r.getClientRects().length > 0).length
                    """
                try page.waitFor("document.querySelector('#panel-recent [data-key=more-recent]')")
                let rows = try page.evaluate("document.querySelectorAll('#panel-recent table.recent tbody tr').length")
                #expect(rows as? Int == 29)
                #expect(try page.evaluate(visible) as? Int == 15, "width \(width)")
                try page.click("#panel-recent [data-key=more-recent]")
                try page.waitFor("\(visible) === 29")
                try page.click("#panel-recent [data-key=more-recent]")
                try page.waitFor("\(visible) === 15")
                _ = profile
            }
        }
        _ = dir
    }

    /// Two searches asked one after the other whose answers come back the other way round:
    /// the page shows the answer to the search asked last, whatever came after it.
    @Test func aSearchShowsTheAnswerToTheLastOneAskedWhenAnswersCrossEachOther() async throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let store = try Fixture.store(in: dir)
        try await withServer(store: store) { port in
            let page = try BrowserPage(url: "http://127.0.0.1:\(port)/", profile: profile.path)
            defer { page.close() }
            // Once the page has drawn the books (its first drawing moves what is below the
            // header), as a person waits for it before typing.
            try page.waitFor("document.getElementById('overall').dataset.status !== 'loading'")
            try page.holdRequests(matching: "*/api/documents?*")
            func search(_ name: String) throws -> String {
                try page.evaluate("document.getElementById('find-name').value = ''")
                try page.click("#find-name")
                try page.type(name)
                try page.waitFor("document.getElementById('find-name').value === '\(name)'")
                try page.press("Enter")
                let held = try page.heldRequest()
                #expect(held.url.hasSuffix("/api/documents?name=\(name)"), "\(held.url)")
                return held.id
            }
            let first = try search("P-1")
            let second = try search("broken")
            let count = "(document.querySelector('[data-figure=found-count]') || {}).textContent || ''"
            // The later one's answer first, and shown.
            try page.resume(second)
            try page.waitFor("(\(count)).includes('broken')")
            // The earlier one's answer comes after it, and changes nothing.
            try page.resume(first)
            try page.waitFor(
                "performance.getEntriesByType('resource').some((e) => e.name.endsWith('name=P-1'))")
            try page.evaluate("new Promise((done) => setTimeout(done, 200))")
            let shown = try page.text(count) ?? ""
            #expect(shown.contains("broken") && !shown.contains("P-1"), "\(shown)")
            #expect(try page.text("document.getElementById('found').textContent")?.contains("P-1-again.xml") == false)
            #expect(try page.text("location.search") == "?find=broken")
        }
        _ = (dir, profile)
    }

    /// The browser the tests drive holds nothing of the test process open: a file a test beside
    /// it was writing at the moment it started, inherited, would stay open for writing, and
    /// ledgerd would take that file for a copy still in progress.
    @Test func theBrowserInheritsNoFileOfTheTests() throws {
        let dir = TemporaryDirectory()
        let profile = TemporaryDirectory()
        let path = dir.path + "/being-written.xml"
        let fd = open(path, O_CREAT | O_WRONLY, 0o644)  // without O_CLOEXEC, as some writers open
        try #require(fd >= 0)
        defer { close(fd) }
        let page = try BrowserPage(url: "about:blank", profile: profile.path)
        defer { page.close() }
        let open = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(page.processID)/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(page.processID)/fd/\($0)")
        }
        #expect(!open.isEmpty)
        #expect(!open.contains(path), "\(open)")
        _ = (dir, profile)
    }
}

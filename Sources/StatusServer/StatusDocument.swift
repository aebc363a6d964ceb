import Foundation
public import LedgerCore
import LedgerStore

/// The `/api/status` document: ONE JSON object with snake_case keys
/// (`JSONEncoder.keyEncodingStrategy = .convertToSnakeCase`); every amount is an `Amount`
/// (integer minor units plus a formatted string), never a float; optional fields are left out
/// when unknown.
///
/// It is encoded in two parts joined into one object: `LiveStatus` (runtime, health, the
/// banner — every request) and `DatabaseSections` (everything read from the database — once per
/// cache period), so a busy page costs one small encoding per request.
///
/// Adding a capability's panel: add a section to `DatabaseSections` (or `LiveStatus`), fill it
/// in `StatusBuilder`, add its id to `StatusBuilder.panels`, and add a renderer with that id in
/// `Web/app.js`. The page renders `panels` in order and skips ids it has no renderer for.
struct LiveStatus: Encodable, Sendable {
    /// Version of this document's shape; bumped only for incompatible changes.
    var version = 1
    var generatedAt: String
    /// The day aging is computed for (the server's local date).
    var today: String
    /// The company whose books these are (`[company] name`); left out when not configured.
    var company: String?
    var panels: [String]
    var overall: Overall
    var runtime: RuntimeSnapshot
    var health: Health
    var actions: Actions
}

/// The parts of `/api/status` that come from the database.
struct DatabaseSections: Encodable, Sendable {
    var today: Day
    var documents: DocumentCounts
    var recentDocuments: [DocumentItem]
    var rejected: ProblemList<DocumentItem>
    var duplicates: ProblemList<DuplicateItem>
    /// Posted documents whose posting left something to do by hand (`PostingNote`).
    var toDo: ProblemList<StatusReport.NotedDocument>
    var outstanding: Outstanding
    var aging: AgingSection
    var reconciliation: ReconciliationSection
    var activity: [ActivityItem]

    enum CodingKeys: String, CodingKey {
        case documents, recentDocuments, rejected, duplicates, toDo, outstanding, aging, reconciliation, activity
    }
}

/// Database sections with their JSON, encoded once.
struct EncodedSections: Sendable {
    var sections: DatabaseSections
    var json: Data

    init(_ sections: DatabaseSections) throws {
        self.sections = sections
        self.json = try JSONResponse.encoder().encode(sections)
    }
}

enum StatusJSON {
    /// `{"a":1}` + `{"b":2}` → `{"a":1,"b":2}` (both are objects with distinct keys).
    static func join(_ first: Data, _ second: Data) -> Data {
        guard first.count > 2 else { return second }
        guard second.count > 2 else { return first }
        var joined = Data(capacity: first.count + second.count)
        joined.append(first.dropLast())
        joined.append(UInt8(ascii: ","))
        joined.append(second.dropFirst())
        return joined
    }
}

/// Money as JSON: `{"minor": 1875000, "currency": "NOK", "formatted": "18 750.00 NOK"}`; the
/// command line's `--json` writes amounts the same way.
public struct Amount: Encodable, Sendable, Equatable {
    public var minor: Int64
    public var currency: String
    public var formatted: String

    public init(_ money: Money) { self.init(minor: money.minor, currency: money.currency.code) }

    public init(minor: Int64, currency: String) {
        self.minor = minor
        self.currency = currency
        self.formatted = Self.format(minor: minor, currency: currency)
    }

    /// `-1 234 567.89 NOK` (`Money.grouped`).
    static func format(minor: Int64, currency code: String) -> String {
        Money.grouped(minor: minor, currencyCode: code)
    }
}

/// The answer to "is everything fine, and if not, what do I do".
struct Overall: Encodable, Sendable {
    /// `ok`, `attention` (something for a person to look at) or `error` (ledgerd or the books
    /// need help).
    var status: String
    var headline: String
    var items: [Attention]
}

struct Attention: Encodable, Sendable, Equatable {
    /// `error`, `warning` or `info`.
    var severity: String
    /// The panel with the details.
    var panel: String
    var text: String
    /// What to do about it; nil for information only.
    var action: String?
}

struct Health: Encodable, Sendable {
    var ok: Bool
    var watcher: Bool
    var scheduler: Bool
    var database: Bool
    /// Why not ok, one sentence each.
    var reasons: [String]
    var uptimeSeconds: Int?
}

struct Actions: Encodable, Sendable {
    /// False when no token is configured: the endpoints answer 403.
    var enabled: Bool
    var retry = "/api/actions/retry"
    var rescan = "/api/actions/rescan"
    var done = "/api/actions/done"
}

struct DocumentCounts: Encodable, Sendable {
    var total: Int
    var posted: Int
    var rejected: Int
    var duplicateNumber: Int
    /// Files dropped again with the bytes of a posted document (no document of their own).
    var droppedAgain: Int
    var byState: [StateCount]

    struct StateCount: Encodable, Sendable {
        var state: String
        var count: Int
    }
}

struct DocumentItem: Encodable, Sendable {
    var id: Int64
    var name: String
    var inbox: String
    var kind: String
    var state: String
    var reasonCode: String?
    var reason: String?
    var receivedAt: String
    var processedAt: String
    /// For documents that were not posted: what the bookkeeper should do.
    var whatToDo: String?
    /// Whether `POST /api/actions/retry {"name": name}` applies (an open rejection).
    var canRetry: Bool
    /// Whether a Retry posts only once ledgerd was restarted with the mended configuration:
    /// a rejection since the running daemon started would be repeated (its configuration
    /// unchanged), so the page offers the Retry again only after a restart.
    var retryAfterRestart: Bool
    /// For a posted document, and a file dropped again with its bytes: what it was posted as.
    var postedAs: PostedAs?
    /// Where a posted document's file was archived, or where a file dropped again was put.
    var archivedPath: String?
    /// For a file dropped again (state `duplicate`): the document posted with its bytes.
    var duplicateOf: DuplicateItem.Original?
    /// For a rejected or flagged document: where its file was put in the rejected folder (its
    /// own name, or `name (2).xml` beside another of the name), when known.
    var rejectedPath: String?
    /// For a posted document: what its posting left to do by hand, in words.
    var note: String?
}

/// The invoice or credit note a document was posted as, in JSON: on the status page's recent
/// documents and in `ledgerd ingest --json`.
public struct PostedAs: Encodable, Sendable {
    /// `invoice` or `credit_note`.
    public var type: String
    /// `purchase` (from a supplier) or `sale` (to a customer).
    public var direction: String
    public var number: String
    /// The supplier's or the customer's name.
    public var party: String
    /// Left out where not at hand (the status page's list).
    public var issueDate: String?
    public var dueDate: String?
    public var payable: Amount

    public init(
        type: String, direction: String, number: String, party: String, issueDate: String? = nil, dueDate: String?,
        payable: Amount
    ) {
        self.type = type
        self.direction = direction
        self.number = number
        self.party = party
        self.issueDate = issueDate
        self.dueDate = dueDate
        self.payable = payable
    }
}

/// One row of the audit log: who did what around the books, and when.
struct ActivityItem: Encodable, Sendable {
    var at: String
    /// `daemon_started`, `daemon_stopped`, `retry`, `rescan`, `backup` or `ingest`.
    var action: String
    var actor: String
    var detail: String?
}

struct DuplicateItem: Encodable, Sendable {
    var id: Int64
    var name: String
    var inbox: String
    var processedAt: String
    var reasonCode: String?
    var reason: String?
    var whatToDo: String
    /// The document posted first under the same number.
    var original: Original?
    /// Where the file was put in the rejected folder, when known.
    var rejectedPath: String?

    struct Original: Encodable, Sendable {
        var id: Int64
        var name: String?
        var archivedPath: String?
        var processedAt: String?
    }
}

struct ProblemList<Item: Encodable & Sendable>: Encodable, Sendable {
    /// How many there are in all (`items` is bounded).
    var total: Int
    var items: [Item]
    /// For rejected files: all of them counted by reason code, the most common first.
    var byCode: [StatusPageData.ReasonCount]? = nil
}

struct Outstanding: Encodable, Sendable {
    /// What customers owe us, per customer and currency.
    var receivables: [PartyBalance]
    /// What we owe suppliers, per supplier and currency.
    var payables: [PartyBalance]
    /// Per side and currency.
    var totals: [SideTotal]

    struct PartyBalance: Encodable, Sendable {
        var party: String
        var partyKey: String
        var currency: String
        var documents: Int
        var open: Amount
        var oldestDueDate: String?
    }

    struct SideTotal: Encodable, Sendable {
        /// `receivable` or `payable`.
        var side: String
        var currency: String
        var documents: Int
        var open: Amount
    }
}

struct AgingSection: Encodable, Sendable {
    var asOf: String
    /// The five buckets in order: ids (`current`, `1-30`, `31-60`, `61-90`, `90+`) and labels.
    var buckets: [Bucket]
    /// How dates are aged, for the page's footnote.
    var rule: String
    var receivables: Side
    var payables: Side

    struct Bucket: Encodable, Sendable {
        var id: String
        var label: String
    }

    struct Side: Encodable, Sendable {
        var parties: [Row]
        /// One row per currency.
        var totals: [Row]
    }

    struct Row: Encodable, Sendable {
        /// nil on total rows.
        var party: String?
        var currency: String
        var documents: Int
        /// Documents without a due date, taken as due 30 days after issue.
        var withoutDueDate: Int
        /// Five amounts, in `buckets` order.
        var buckets: [Amount]
        var total: Amount
    }
}

struct ReconciliationSection: Encodable, Sendable {
    /// Every control account agrees with its sub-ledger (differences fully explained).
    var agrees: Bool
    /// Every journal entry balances per currency.
    var balanced: Bool
    var journalEntries: Int
    var unbalanced: [Unbalanced]
    var lines: [Line]
    /// When the books were checked (ISO 8601): while they change, at most once every
    /// `FactsCache.auditInterval`, so these figures may be that much older than the others.
    /// Absent when the books could not be read.
    var checkedAt: String?

    struct Unbalanced: Encodable, Sendable {
        var entryId: Int64
        var currency: String
        var debit: Amount
        var credit: Amount
    }

    struct Line: Encodable, Sendable {
        var account: String
        var accountName: String
        /// `customer_ledger` or `supplier_ledger`.
        var subLedger: String
        /// The same in words: "customer sub-ledger" or "supplier sub-ledger".
        var subLedgerName: String
        var currency: String
        var generalLedger: Amount
        var subLedgerTotal: Amount
        var difference: Amount
        /// Entries on the control account without a sub-ledger entry (manual corrections).
        var explainedBy: [Entry]
        var unexplained: Amount
        var agrees: Bool
    }

    struct Entry: Encodable, Sendable {
        var entryId: Int64
        var date: String
        var source: String
        var description: String
        var amount: Amount
    }
}

public import LedgerCore

/// A file read, hashed, parsed and checked outside any transaction, ready to be written.
public struct IncomingDocument: Sendable {
    public enum Content: Sendable {
        /// A checked invoice or credit note and the entry it posts.
        case invoice(PreparedInvoice)
        /// Not postable; stored as a rejected document with the reason.
        case rejected(Rejection)
    }

    public var sha256: String
    public var originalName: String
    /// Which inbox it came from: `ehf`, `wise`, `checks`.
    public var inbox: String
    public var kind: String
    public var sizeBytes: Int64
    /// ISO-8601 time the file was noticed.
    public var receivedAt: String
    /// Where the original will live once posted; recorded with the document so a restart can
    /// finish a move that a crash interrupted.
    public var archivePath: String
    public var content: Content
    /// Every problem found, when rejected for more than one (the first is in `content`).
    public var details: [Rejection] = []

    public init(
        sha256: String, originalName: String, inbox: String, kind: String, sizeBytes: Int64, receivedAt: String,
        archivePath: String, content: Content
    ) {
        self.sha256 = sha256
        self.originalName = originalName
        self.inbox = inbox
        self.kind = kind
        self.sizeBytes = sizeBytes
        self.receivedAt = receivedAt
        self.archivePath = archivePath
        self.content = content
    }
}

/// An invoice with everything the transaction needs already computed.
///
/// A class, not a struct: the prepared document passes from the thread that parsed it through
/// the batch to the writer and on to the thread that moves the file, and each hand-over of a
/// struct this size copied every string and array in it (about 5 % of the pipeline's time).
/// Immutable once made, so sharing it between threads is safe.
public final class PreparedInvoice: Sendable {
    public let invoice: InvoiceDocument
    public let direction: Direction
    public let entry: JournalEntry
    public let netAccount: Account
    /// SHA-256 (hex) of each attachment's bytes, in `invoice.attachments` order.
    public let attachmentHashes: [String]
    /// What the posting leaves for the bookkeeper to do by hand (`PostingRules.notes`), in
    /// words, as `documents.note` keeps it; nil when nothing. Made once: the writer stores it
    /// and the move's log line says it.
    public let note: String?

    public init(
        invoice: InvoiceDocument, direction: Direction, entry: JournalEntry, netAccount: Account,
        attachmentHashes: [String], notes: [PostingNote] = []
    ) {
        self.invoice = invoice
        self.direction = direction
        self.entry = entry
        self.netAccount = netAccount
        self.attachmentHashes = attachmentHashes
        self.note = notes.isEmpty ? nil : notes.map(\.text).joined(separator: " ")
    }
}

/// What writing one document did.
public enum WriteOutcome: Sendable, Equatable {
    /// Posted: the document, its invoice, entry and sub-ledger entry are committed.
    /// `rejectedBefore`: the same bytes had been rejected or flagged (their error file may be
    /// left in the rejected folder).
    case posted(documentID: Int64, rejectedBefore: Bool = false)
    /// Stored as rejected with its reason.
    case rejected(documentID: Int64, Rejection)
    /// The same bytes were posted before: nothing was written. `archivedPath` is where the
    /// earlier copy was archived.
    case alreadyPosted(documentID: Int64, archivedPath: String?)
    /// Another file already posted this (party, number): not posted, flagged for the owner.
    case duplicateNumber(documentID: Int64, existingDocumentID: Int64?, existingName: String?)
}

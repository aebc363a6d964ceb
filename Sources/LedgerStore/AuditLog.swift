import Foundation
public import GRDB

/// What `audit_log` records: the things people and the daemon did to the books' surroundings
/// (starting and stopping, retries and rescans asked for on the status page, backups, runs of
/// `ledgerd ingest`). Postings themselves are recorded in `documents` and the journal.
public enum AuditAction: String, Sendable {
    case daemonStarted = "daemon_started"
    case daemonStopped = "daemon_stopped"
    /// A rejected file sent back to its inbox to be tried again.
    case retry
    /// A full rescan of the inbox asked for.
    case rescan
    /// A copy of the database written by `ledgerd backup`.
    case backup
    /// A `ledgerd ingest` run that handled at least one file.
    case ingest
    /// What a posting left to do by hand said to be done (`ledgerd done`).
    case noteDone = "note_done"
}

/// One row of `audit_log`.
public struct AuditEntry: Sendable, Equatable, FetchableRecord, Decodable {
    public var id: Int64
    public var at: String
    public var actor: String
    public var action: String
    public var documentID: Int64?
    public var detail: String?

    enum CodingKeys: String, CodingKey {
        case id, at, actor, action
        case documentID = "document_id"
        case detail
    }
}

extension LedgerStore {
    /// Records `action` in the audit log, in a small transaction of its own.
    public func audit(
        _ action: AuditAction, actor: String, documentID: Int64? = nil, detail: String? = nil, now: String
    ) throws {
        try pool.write { db in
            try Self.audit(action, actor: actor, documentID: documentID, detail: detail, now: now, in: db)
        }
    }

    /// Records `action` in the audit log within the transaction `db` is in: with the change it
    /// records, committed or undone together.
    static func audit(
        _ action: AuditAction, actor: String, documentID: Int64?, detail: String?, now: String, in db: Database
    ) throws {
        try db.execute(
            sql: "INSERT INTO audit_log (at, actor, action, document_id, detail) VALUES (?, ?, ?, ?, ?)",
            arguments: [now, actor, action.rawValue, documentID, detail])
    }

    /// The newest `limit` audit rows, newest first.
    public func auditEntries(limit: Int = 100) throws -> [AuditEntry] {
        try pool.read { db in try AuditEntry.fetchAll(db, Self.newestAuditEntries(limit: limit)) }
    }

    /// The newest start or stop of a daemon on these books: a start with no stop after it means
    /// that run ended without stopping (killed or crashed), or the books were restored.
    public func lastDaemonStartOrStop() throws -> AuditEntry? {
        try pool.read { db in
            try AuditEntry.fetchOne(
                db,
                sql: """
                    SELECT id, at, actor, action, document_id, detail FROM audit_log
                    WHERE action IN (?, ?) ORDER BY id DESC LIMIT 1
                    """,
                arguments: [AuditAction.daemonStarted.rawValue, AuditAction.daemonStopped.rawValue])
        }
    }

    static func newestAuditEntries(limit: Int) -> SQLRequest<AuditEntry> {
        SQLRequest(
            sql: "SELECT id, at, actor, action, document_id, detail FROM audit_log ORDER BY id DESC LIMIT ?",
            arguments: [limit])
    }

    /// A document that was not posted, as the status page's Retry needs it: its bytes' hash
    /// (the error file beside its rejected copy names it), its name and its inbox.
    public struct UnpostedDocument: Sendable, Equatable {
        public var id: Int64
        public var sha256: String
        public var originalName: String
        public var inbox: String
        /// The file's size in bytes when it was read.
        public var sizeBytes: Int64
        /// Where its file was put in the rejected folder, when known (`documents.rejected_path`).
        public var rejectedPath: String?
        /// Why it was not posted (`documents.reason_code`), and when it was processed.
        public var reasonCode: String?
        public var processedAt: String

        public init(
            id: Int64, sha256: String, originalName: String, inbox: String, sizeBytes: Int64,
            rejectedPath: String? = nil, reasonCode: String? = nil, processedAt: String = ""
        ) {
            self.reasonCode = reasonCode
            self.processedAt = processedAt
            self.id = id
            self.sha256 = sha256
            self.originalName = originalName
            self.inbox = inbox
            self.sizeBytes = sizeBytes
            self.rejectedPath = rejectedPath
        }
    }

    /// The highest document id so far (0 for empty books): documents committed after this was
    /// read have higher ids (documents are never deleted).
    public func lastDocumentID() throws -> Int64 {
        try pool.read { db in try Int64.fetchOne(db, sql: "SELECT COALESCE(MAX(id), 0) FROM documents") ?? 0 }
    }

    /// Where the latest document moved into `folder` (an archive) was put; nil when none was.
    public func lastArchivedPath(inside folder: String) throws -> String? {
        // Paths below `folder` sort between "folder/" and "folder0" ('0' follows '/').
        try pool.read { db in
            try String.fetchOne(
                db,
                sql: "SELECT archived_path FROM documents WHERE archived_path >= ? || '/' AND archived_path < ? || '0' "
                    + "ORDER BY id DESC LIMIT 1", arguments: [folder, folder])
        }
    }

    /// The unposted document `id`; nil when there is none (or it has been posted since).
    public func unpostedDocument(id: Int64) throws -> UnpostedDocument? {
        try unpostedDocument(where: "id = ?", id)
    }

    /// The document a file in the rejected folder came from: the newest document by that
    /// original name that was not posted. Nil when none is known (a name changed on the way).
    public func unpostedDocument(originalName: String) throws -> UnpostedDocument? {
        try unpostedDocument(where: "original_name = ?", originalName)
    }

    private func unpostedDocument(where condition: String, _ value: some DatabaseValueConvertible & Sendable) throws
        -> UnpostedDocument?
    {
        try pool.read { db in
            try Row.fetchOne(
                db,
                sql: """
                    SELECT id, sha256, original_name, inbox, size_bytes, rejected_path, reason_code, processed_at
                    FROM documents WHERE \(condition) AND state <> 'posted' ORDER BY id DESC LIMIT 1
                    """, arguments: [value]
            ).map {
                UnpostedDocument(
                    id: $0[0], sha256: $0[1], originalName: $0[2], inbox: $0[3], sizeBytes: $0[4],
                    rejectedPath: $0[5], reasonCode: $0[6], processedAt: $0[7])
            }
        }
    }
}

import GRDB

/// A file dropped again with the bytes of a posted document: it posted nothing and went to the
/// archive's duplicates folder (`duplicate_drops`).
public struct DuplicateDrop: Sendable, Equatable {
    /// The posted document with these bytes.
    public var documentID: Int64
    /// The name it was dropped under.
    public var name: String
    public var inbox: String
    /// Where it is now, in the archive's duplicates folder.
    public var archivedPath: String
    public var receivedAt: String

    public init(documentID: Int64, name: String, inbox: String, archivedPath: String, receivedAt: String) {
        self.documentID = documentID
        self.name = name
        self.inbox = inbox
        self.archivedPath = archivedPath
        self.receivedAt = receivedAt
    }
}

extension LedgerStore {
    /// Records where a batch's files went that the books do not say by themselves, after their
    /// moves, in one transaction: the files dropped again (`duplicate_drops`), and where each
    /// rejected or flagged document's file was put (`documents.rejected_path`).
    public func recordMoves(drops: [DuplicateDrop], rejected: [(documentID: Int64, path: String)], now: String) throws {
        guard !drops.isEmpty || !rejected.isEmpty else { return }
        try pool.write { db in
            let insert = try db.cachedStatement(
                sql: """
                    INSERT INTO duplicate_drops (document_id, original_name, inbox, archived_path, received_at,
                        processed_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """)
            for drop in drops {
                try insert.execute(
                    arguments: [drop.documentID, drop.name, drop.inbox, drop.archivedPath, drop.receivedAt, now])
            }
            let update = try db.cachedStatement(sql: "UPDATE documents SET rejected_path = ? WHERE id = ?")
            for (id, path) in rejected { try update.execute(arguments: [path, id]) }
        }
    }

    /// Sets where a rejected or flagged document's file lies (`documents.rejected_path`); nil
    /// once it has left the rejected folder (sent back to the inbox to be tried again).
    public func setRejectedPath(_ path: String?, documentID: Int64) throws {
        try pool.write { db in
            try db.execute(sql: "UPDATE documents SET rejected_path = ? WHERE id = ?", arguments: [path, documentID])
        }
    }
}

import GRDB

/// The running daemon's view of the inboxes (what is settling, waiting, being processed),
/// published so `ledgerd status` in another process can show it.
extension LedgerStore {
    public struct DaemonState: Sendable, Equatable {
        public var pid: Int32
        public var updatedAt: String
        /// JSON written by the daemon; its shape belongs to the daemon.
        public var json: String
    }

    /// Also looks, at no extra transaction, for migrations a newer ledgerd applied meanwhile
    /// (`writtenByNewerVersion`): a daemon with nothing to post learns of them within its
    /// heartbeat. The state is written all the same; the newer version reads it alike.
    public func saveDaemonState(pid: Int32, json: String, now: String) throws {
        try pool.write { db in
            _ = try newerMigrations(db)
            try db.execute(
                sql: """
                    INSERT INTO daemon_state (id, pid, updated_at, snapshot) VALUES (1, ?, ?, ?)
                    ON CONFLICT(id) DO UPDATE SET pid = excluded.pid, updated_at = excluded.updated_at,
                        snapshot = excluded.snapshot
                    """, arguments: [pid, now, json])
        }
    }

    public func daemonState() throws -> DaemonState? {
        try pool.read { db in
            try Row.fetchOne(db, sql: "SELECT pid, updated_at, snapshot FROM daemon_state WHERE id = 1").map {
                DaemonState(pid: $0["pid"], updatedAt: $0["updated_at"], json: $0["snapshot"])
            }
        }
    }
}

/// The daemon's recent errors, as lines the status page and `ledgerd status` show.
public enum RecentError {
    /// Ends a line about files that could not be handled once every one of them has been
    /// taken in since (posted, or rejected for what it holds): the cause passed. The page's
    /// banner, which calls attention to errors that still matter, leaves such lines out; the
    /// daemon's panel keeps them, marked.
    public static let passedMark = " (since taken in)"
}

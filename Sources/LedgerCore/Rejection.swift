/// Why a document was not posted, said so a bookkeeper understands it.
///
/// `code` is a stable identifier for scripts and the status page: an EN 16931 / PEPPOL rule
/// id (`BR-CO-10`, `PEPPOL-EN16931-R120`, `NO-R-001`) or one of ledgerd's own
/// (`XML-DOCTYPE`, `EHF-UNSUPPORTED`, …). `message` is one sentence naming the numbers that
/// disagree or the field that is missing.
public struct Rejection: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: String
    public var message: String

    public init(_ code: String, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}

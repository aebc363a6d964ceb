import LedgerCore
import LedgerStore

/// The `.error.txt` written beside a rejected file: first the reason in one sentence, then
/// what to do about it, then the details a person may need to follow up.
public enum ErrorReport {
    static func text(for name: String, rejection: Rejection, details: [Rejection], document: IncomingDocument) -> String
    {
        var text = "\(OneLine.escaped(name)) was not posted.\n\n"
        // The rejection's message counts the further problems "listed in the error file";
        // here they are listed below, so the first one is given as it is.
        let reason = details.count > 1 && details[0].code == rejection.code ? details[0].message : rejection.message
        text += "Reason: \(reason)\n"
        text += "What to do: \(Rejection.advice(forCode: rejection.code))\n"
        if details.count > 1 {
            text += "\nAll \(details.count) problems found:\n"
            for detail in details { text += "  - \(detail.code): \(detail.message)\n" }
        }
        text += "\nCode: \(rejection.code)\n"
        text += "Received: \(document.receivedAt)\n"
        if !document.sha256.hasPrefix("unread:") { text += shaLine(document.sha256) }
        if rejection.code == "DUPLICATE-NUMBER" {
            // Its number is taken, whatever is fixed: trying the same file again flags it again.
            text +=
                "\nThis file is not posted however often it is tried: a corrected invoice needs a number of its own.\n"
        } else {
            text +=
                "\nTo try again after fixing the cause, move the file back into the inbox (or run `ledgerd ingest FILE`); "
                + "this error file goes once the file is posted.\n"
        }
        return text
    }

    /// The line that names the file's bytes, and by which a rejected copy is found again.
    static func shaLine(_ sha256: String) -> String { "SHA-256: \(sha256)\n" }

    /// The SHA-256 of the bytes the error file at `path` was written for; nil when it names
    /// none (a file refused before it was read) or cannot be read.
    public static func sha256(describedBy path: String) -> String? {
        guard case .bytes(let bytes) = try? FileSystem.readFile(path, limit: 64 << 10) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard let line = text.split(separator: "\n").last(where: { $0.hasPrefix("SHA-256: ") }) else { return nil }
        let sha = line.dropFirst("SHA-256: ".count)
        return sha.count == 64 && sha.allSatisfy(\.isHexDigit) ? String(sha) : nil
    }

    /// Whether the error file at `path` was written for the bytes with hash `sha256`.
    public static func describes(_ path: String, sha256: String) -> Bool {
        !sha256.hasPrefix("unread:") && Self.sha256(describedBy: path) == sha256
    }
}

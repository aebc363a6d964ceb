import LedgerCore
import LedgerStore

/// The `.error.txt` written beside a rejected file: first the reason in one sentence, then
/// what to do about it, then the details a person may need to follow up.
public enum ErrorReport {
    /// `keptAs`: the name the file lies under in the rejected folder (`x (2).xml` beside
    /// another `x.xml`), which the advice to delete it names.
    static func text(
        for name: String, keptAs: String? = nil, rejection: Rejection, details: [Rejection], document: IncomingDocument
    ) -> String {
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
        text += document.sha256.hasPrefix("unread:") ? referenceLine(document.sha256) : shaLine(document.sha256)
        let inbox = "the \(document.inbox) inbox (the \(document.inbox) folder beside the rejected one)"
        if rejection.code == "DUPLICATE-NUMBER" {
            // Its number is taken, whatever is fixed: trying the same file again flags it again.
            text +=
                "\nThis file is not posted however often it is tried: a corrected invoice needs a number of its own.\n"
        } else {
            switch Rejection.remedy(forCode: rejection.code) {
            case .tryAgain:
                text +=
                    "\nTo try again after fixing the cause, move the file back into \(inbox); this error file goes once "
                    + "the file is posted.\n"
            case .correctedFile:
                // The same bytes are rejected again, however often they are tried.
                text +=
                    "\nThe same file is rejected again however often it is tried: drop the corrected file into "
                    + "\(inbox), then delete \(OneLine.escaped(keptAs ?? name)) and this error file from the rejected "
                    + "folder.\n"
            case .none:
                break
            }
        }
        return text
    }

    /// The line that names the file's bytes, and by which a rejected copy is found again.
    static func shaLine(_ sha256: String) -> String { "SHA-256: \(sha256)\n" }

    /// The line that names a file refused before it was read, which has no SHA-256: its
    /// document's stand-in key, by which the status page lets go of the problem once the file
    /// has left the rejected folder.
    static func referenceLine(_ key: String) -> String { "Reference: \(key) (not read, so no SHA-256)\n" }

    /// The key of the document the error file at `path` was written for: the SHA-256 of its
    /// bytes or, for a file refused before it was read, its `unread:` stand-in. Nil when it
    /// names neither (an error file of an older version, or none) or cannot be read.
    public static func documentKey(describedBy path: String) -> String? {
        guard case .bytes(let bytes) = try? FileSystem.readFile(path, limit: 64 << 10) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        func hex64(_ s: Substring) -> Bool { s.count == 64 && s.allSatisfy(\.isHexDigit) }
        for line in text.split(separator: "\n").reversed() {
            if line.hasPrefix("SHA-256: ") {
                let sha = line.dropFirst("SHA-256: ".count)
                return hex64(sha) ? String(sha) : nil
            }
            if line.hasPrefix("Reference: unread:") {
                let key = line.dropFirst("Reference: ".count).prefix { $0 != " " }
                return hex64(key.dropFirst("unread:".count)) ? String(key) : nil
            }
        }
        return nil
    }

    /// The SHA-256 of the bytes the error file at `path` was written for; nil when it names
    /// none (a file refused before it was read) or cannot be read.
    public static func sha256(describedBy path: String) -> String? {
        guard let key = documentKey(describedBy: path), !key.hasPrefix("unread:") else { return nil }
        return key
    }

    /// Whether the error file at `path` was written for the bytes with hash `sha256`.
    public static func describes(_ path: String, sha256: String) -> Bool {
        !sha256.hasPrefix("unread:") && Self.sha256(describedBy: path) == sha256
    }
}

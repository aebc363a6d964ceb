import Foundation

/// Where a posted file is kept: `<archive>/<inbox>/<YYYY-MM>/<first 12 hex digits of its
/// SHA-256>_<name>`, the month it was received in. Written here once, for the pipeline that
/// archives and for what recognises an archive of books that were.
public enum ArchiveLayout {
    static func path(in archive: String, inbox: String, receivedAt: String, sha: String, name: String) -> String {
        "\(archive)/\(inbox)/\(month(receivedAt))/\(hashPrefix(sha))_\(Pipeline.storedName(name, sha: sha))"
    }

    /// `YYYY-MM` of a timestamp, and the first 12 hex digits of a hash: cut over their bytes
    /// when those are ASCII, as they are (cut as characters, each cost ~800 instructions,
    /// three a file).
    static func month(_ timestamp: String) -> Substring { asciiPrefix(timestamp, 7) }

    static func hashPrefix(_ sha: String) -> Substring { asciiPrefix(sha, 12) }

    private static func asciiPrefix(_ text: String, _ count: Int) -> Substring {
        let ascii = text.utf8.withContiguousStorageIfAvailable { !$0.prefix(count).contains { $0 >= 0x80 } }
        return ascii == true ? Substring(text.utf8.prefix(count)) : text.prefix(count)
    }

    /// A file the pipeline archived, if `archive` holds one (the path below it). Anything else
    /// there (a lock file, a README, lost+found) is not a sign of books that were. Looked for
    /// only when there are no books, so a month's listing is read whole.
    public static func firstArchivedFile(in archive: String) -> String? {
        archivedFiles(in: archive, first: true).first
    }

    /// The files the pipeline archived in `archive` (paths below it, `ehf/2026-11/<hex>_<name>`),
    /// month by month; with `first`, only the first found.
    public static func archivedFiles(in archive: String, first: Bool = false) -> [String] {
        func digits(_ bytes: ArraySlice<UInt8>, hex: Bool) -> Bool {
            bytes.allSatisfy {
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                    || (hex && (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0))
            }
        }
        func isMonth(_ name: String) -> Bool {
            let u = Array(name.utf8)
            return u.count == 7 && u[4] == UInt8(ascii: "-") && digits(u[0..<4], hex: false)
                && digits(u[5..<7], hex: false)
        }
        func isArchived(_ name: String) -> Bool {
            let u = Array(name.utf8)
            return u.count > 13 && u[12] == UInt8(ascii: "_") && digits(u[0..<12], hex: true)
        }
        var found: [String] = []
        for inbox in InboxScanner.inboxes {
            let folder = archive + "/" + inbox
            guard let months = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for month in months.sorted() where isMonth(month) {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: folder + "/" + month)) ?? []
                for name in names.sorted()
                where isArchived(name) && FileSystem.lstatType(folder + "/" + month + "/" + name) == .regular {
                    found.append(inbox + "/" + month + "/" + name)
                    if first { return found }
                }
            }
        }
        return found
    }
}

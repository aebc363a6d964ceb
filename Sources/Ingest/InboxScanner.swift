import LedgerCore
public import Logging

/// Finds the files waiting in the inbox folders.
public enum InboxScanner {
    /// The inbox folders and what each takes.
    public static let inboxes = ["ehf", "wise", "checks"]

    /// Not an inbox: what files at the inbox's root, or in a folder someone made there, are
    /// counted under when no inbox takes their type (a Word document, a text file). They are
    /// left where they are, as the files of an inbox this version does not read are, and
    /// counted and named so that whoever dropped one learns it is not read.
    public static let otherFiles = "other"

    /// Names no person means as a document: partial uploads, editor and OS droppings.
    public static func isTemporaryName(_ name: String) -> Bool {
        // Every name in a scan is asked about before the first file is read. An ASCII name
        // (nearly all) is looked at as bytes, where its characters are its bytes: lowercasing
        // a String and comparing Characters looked up Unicode properties, ~1,900 instructions
        // a name, a sixth of the scan.
        let ascii: Bool? =
            name.utf8.withContiguousStorageIfAvailable { bytes in
                guard bytes.allSatisfy({ $0 < 0x80 }) else { return nil }
                if bytes.first == UInt8(ascii: ".") || bytes.starts(with: "~$".utf8) || bytes.last == UInt8(ascii: "~")
                {
                    return true
                }
                for suffix in asciiSuffixes where suffix.count <= bytes.count {
                    let end = UnsafeBufferPointer(rebasing: bytes[(bytes.count - suffix.count)...])
                    if equalIgnoringCase(end, suffix) { return true }
                }
                return asciiNames.contains { equalIgnoringCase(bytes, $0) }
            } ?? nil
        return ascii ?? isTemporaryNameByCharacters(name)
    }

    /// `isTemporaryName` for any name, by its characters.
    static func isTemporaryNameByCharacters(_ name: String) -> Bool {
        if name.hasPrefix(".") || name.hasPrefix("~$") || name.hasSuffix("~") { return true }
        let lower = name.lowercased()
        for suffix in temporaryNameSuffixes where lower.hasSuffix(suffix) { return true }
        return temporaryNames.contains(lower)
    }

    private static let temporaryNameSuffixes = [".part", ".tmp", ".crdownload", ".partial", ".swp", ".error.txt"]
    private static let temporaryNames = ["thumbs.db", "desktop.ini", ".ds_store", "@eadir"]
    private static let asciiSuffixes = temporaryNameSuffixes.map { Array($0.utf8) }
    private static let asciiNames = temporaryNames.map { Array($0.utf8) }

    /// Whether ASCII `bytes` are the lowercase ASCII `word`, ignoring case.
    private static func equalIgnoringCase(_ bytes: UnsafeBufferPointer<UInt8>, _ word: [UInt8]) -> Bool {
        guard bytes.count == word.count else { return false }
        for i in 0..<word.count {
            if ASCIIText.lowered(bytes[i]) != word[i] { return false }
        }
        return true
    }

    /// A readable name for a name that is not valid UTF-8: such a name was almost always
    /// written by a system using Windows-1252 (or Latin-1, the same letters), as Windows shares
    /// and old scanners do, so its bytes are read that way and `æøå` keep their letters. The
    /// five bytes Windows-1252 leaves undefined become `_`.
    public static func readableName(_ raw: [UInt8]) -> String {
        var scalars = String.UnicodeScalarView()
        for byte in raw {
            switch byte {
            case 0x80...0x9F:
                let value = windows1252[Int(byte - 0x80)]
                scalars.append(value == 0 ? "_" : Unicode.Scalar(value)!)
            default:
                scalars.append(Unicode.Scalar(byte))
            }
        }
        return String(scalars)
    }

    /// Windows-1252's characters for bytes 0x80–0x9F (where Latin-1 has control codes); 0
    /// where it defines none.
    private static let windows1252: [UInt32] = [
        0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,
        0x017D, 0, 0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A,
        0x0153, 0, 0x017E, 0x0178,
    ]

    /// The inbox a file belongs to by its type, for files named outside the inbox folders.
    public static func inbox(forName name: String) -> String? {
        switch FileSystem.splitExtension(name).1.lowercased() {
        case ".xml": return "ehf"
        case ".csv", ".pdf": return "wise"
        case ".png", ".jpg", ".jpeg", ".tif", ".tiff": return "checks"
        default: return nil
        }
    }

    /// Every file under `root` (recursively), skipping ignored names and any folder in
    /// `excluding` (the rejected folder may live inside the inbox). A file in one of the
    /// inbox folders belongs to that inbox; one anywhere else (in the root itself, or in a
    /// folder someone made there, `Inbox/Fakturaer/`) to the inbox of its type, and one of a
    /// type no inbox takes is left alone (`inbox(forFile:inboxRoot:)`). Files whose names are
    /// not valid UTF-8 are first renamed, in place, to a readable name.
    public static func scan(root: String, excluding: Set<String> = [], isIgnored: (String) -> Bool, logger: Logger)
        -> [InboxFile]
    {
        var files: [InboxFile] = []
        for inbox in inboxes {
            walk(
                root + "/" + inbox, inbox: inbox, excluding: excluding, isIgnored: isIgnored, logger: logger,
                into: &files)
        }
        if let entries = try? FileSystem.listDirectory(root) {
            // Looked up once for the scan, not once for each file found.
            let excludedFolders = Set(excluding.compactMap(FileSystem.folder))
            for entry in entries where !isIgnored(entry.name) {
                let path = root + "/" + entry.name
                if entry.type != .directory {
                    files.append(InboxFile(path: path, inbox: inbox(forName: entry.name) ?? otherFiles))
                } else if !inboxes.contains(entry.name) {
                    var found: [InboxFile] = []
                    walk(path, inbox: "", excluding: excluding, isIgnored: isIgnored, logger: logger, into: &found)
                    for file in found {
                        if let inbox = inbox(forFile: file.path, inboxRoot: root, excludedFolders: excludedFolders) {
                            files.append(InboxFile(path: file.path, inbox: inbox))
                        }
                    }
                }
            }
        }
        return files.sorted { $0.path < $1.path }
    }

    /// The inbox that reads a file below `inboxRoot`: that of the inbox folder it is in; for
    /// a file anywhere else below the root, the inbox of its type, as `scan` sorts them, or
    /// `otherFiles` for a type no inbox takes. nil outside the root, and for one in a folder of
    /// `excluding` (the rejected folder, the archive) reached by another name, through a link
    /// in its configured path: its files are not new ones, and taking them would reject them
    /// into the folder they came from, again and again.
    public static func inbox(forFile path: String, inboxRoot: String, excluding: Set<String> = []) -> String? {
        inbox(forFile: path, inboxRoot: inboxRoot, excludedFolders: nil, excluding: excluding)
    }

    /// The same, with the excluded folders' identities (`FileSystem.folder`) looked up already.
    static func inbox(
        forFile path: String, inboxRoot: String, excludedFolders: Set<[UInt64]>?, excluding: Set<String> = []
    ) -> String? {
        guard PathBytes.below(path, inboxRoot) != nil else { return nil }
        let folder = inbox(ofPath: path, inboxRoot: inboxRoot)
        if !folder.isEmpty { return folder }
        let kind = inbox(forName: FileSystem.lastComponent(path)) ?? otherFiles
        // Only for a file outside the inbox folders: the folders are looked up when it matters.
        let excluded = excludedFolders ?? Set(excluding.compactMap(FileSystem.folder))
        var parent = FileSystem.parentDirectory(path)
        while !excluded.isEmpty, PathBytes.below(parent, inboxRoot) != nil {
            if let id = FileSystem.folder(parent), excluded.contains(id) { return nil }
            parent = FileSystem.parentDirectory(parent)
        }
        return kind
    }

    /// Files for paths given on the command line: files as they are, folders recursively.
    /// Inside `inboxRoot` a file takes the inbox of its folder; elsewhere, its type's. A file
    /// reached twice (named twice, or named and inside a folder named too) is taken once.
    public static func files(
        for paths: [String], inboxRoot: String, excluding: Set<String> = [], isIgnored: (String) -> Bool, logger: Logger
    ) -> (files: [InboxFile], skipped: [Skipped]) {
        var files: [InboxFile] = []
        var skipped: [Skipped] = []
        for path in paths {
            let path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
            if path == inboxRoot {
                files += scan(root: inboxRoot, excluding: excluding, isIgnored: isIgnored, logger: logger)
                continue
            }
            switch FileSystem.lstatType(path) {
            case .directory where excluding.contains { PathBytes.isWithin(path, $0) }:
                skipped.append(
                    Skipped(
                        path: path,
                        reason: "this folder holds files ledgerd has handled already (the rejected folder or the "
                            + "archive) and is not taken as a whole; name a file in it to try that file again"))
            case .directory:
                let inbox = inbox(ofPath: path + "/x", inboxRoot: inboxRoot)
                var found: [InboxFile] = []
                walk(path, inbox: inbox, excluding: excluding, isIgnored: isIgnored, logger: logger, into: &found)
                for file in found {
                    files.append(
                        file.inbox.isEmpty
                            ? InboxFile(path: file.path, inbox: Self.inbox(forName: file.name) ?? otherFiles) : file)
                }
            default:
                let kind = inbox(ofPath: path, inboxRoot: inboxRoot)
                if !kind.isEmpty {
                    files.append(InboxFile(path: path, inbox: kind))
                } else if let kind = Self.inbox(forName: FileSystem.lastComponent(path)) {
                    files.append(InboxFile(path: path, inbox: kind))
                } else {
                    skipped.append(
                        Skipped(path: path, reason: "not a kind of file ledgerd reads (EHF invoices are .xml)"))
                }
            }
        }
        // One path never reaches a file twice (folders are walked without following links),
        // and the paths given were normalised by the caller, so the set is only needed for
        // several paths, and compares them as they are.
        guard paths.count > 1 else { return (files, skipped) }
        var seen = Set<PathKey>(minimumCapacity: files.count)
        return (files.filter { seen.insert(PathKey($0.path)).inserted }, skipped)
    }

    /// A path given on the command line that is not taken, and why.
    public struct Skipped: Sendable, Equatable, Encodable {
        public var path: String
        public var reason: String
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// The inboxes this version reads. Files in the others (Wise statements and invoice PDFs,
    /// scanned checks) are left where they are, unread and unrecorded, for the version of
    /// ledgerd that reads them; only a name that is not valid UTF-8 is made readable (`walk`).
    public static let readInboxes: Set<String> = ["ehf"]

    /// Why a file of `inbox` (or `files` of them) is left alone, in the bookkeeper's words.
    public static func notReadYet(_ inbox: String, files: Int = 1) -> String {
        let why =
            switch inbox {
            case "wise": "this version of ledgerd does not read Wise statements or invoice PDFs yet"
            case "checks": "this version of ledgerd does not read scanned checks yet"
            case otherFiles: "not a kind of file ledgerd reads (EHF invoices are .xml files)"
            default: "this version of ledgerd does not read the \(inbox) inbox"
            }
        return why + (files == 1 ? "; the file stays where it is" : "; they stay where they are")
    }

    /// `ehf` for `<root>/ehf/a/b.xml`; empty outside the inbox folders.
    public static func inbox(ofPath path: String, inboxRoot: String) -> String {
        guard let rest = PathBytes.below(path, inboxRoot), let slash = rest.firstIndex(of: UInt8(ascii: "/"))
        else { return "" }
        let first = String(decoding: rest[..<slash], as: UTF8.self)
        return inboxes.contains(first) ? first : ""
    }

    public static func walk(
        _ directory: String, inbox: String, excluding: Set<String>, isIgnored: (String) -> Bool, logger: Logger,
        into files: inout [InboxFile]
    ) {
        guard !excluding.contains(where: { PathKey($0) == PathKey(directory) }) else { return }
        let entries: [FileSystem.Entry]
        do {
            entries = try FileSystem.listDirectory(directory)
        } catch {
            if FileSystem.exists(directory) {
                logger.warning("cannot read folder", metadata: ["folder": "\(directory)", "error": "\(error)"])
            }
            return
        }
        for var entry in entries {
            if !entry.nameWasValid {
                let readable = readableName(entry.rawName)
                let newName = FileSystem.freeName(in: directory, for: readable)
                do {
                    try FileSystem.renameRaw(directory: directory, rawName: entry.rawName, newName: newName)
                    logger.notice(
                        "renamed a file whose name was not valid UTF-8",
                        metadata: ["folder": "\(directory)", "new_name": "\(newName)"])
                    entry.name = newName
                } catch {
                    logger.warning(
                        "cannot rename a file with an unreadable name",
                        metadata: ["folder": "\(directory)", "error": "\(error)"])
                    continue
                }
            }
            if isIgnored(entry.name) { continue }
            let path = directory + "/" + entry.name
            switch entry.type {
            case .directory:
                walk(path, inbox: inbox, excluding: excluding, isIgnored: isIgnored, logger: logger, into: &files)
            case .regular, .symlink, .pipe, .socket, .device, .other:
                files.append(InboxFile(path: path, inbox: inbox))
            }
        }
    }
}

import Crypto
import Dispatch
import Formats
public import LedgerCore
public import LedgerStore
public import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Everything the pipeline needs to know, taken from the configuration.
public struct PipelineSettings: Sendable {
    public var inbox: String
    public var archive: String
    public var rejected: String
    public var maxFileBytes: Int64
    public var company: CompanyIdentity
    public var accounts: AccountPlan
    /// Files per transaction (group commit).
    public var batchSize: Int
    /// Bytes of file content per transaction, so a batch of large files stays bounded.
    public var batchBytes: Int64
    /// Threads that read, hash, parse and check files while one writes.
    public var workers: Int
    public var isIgnored: @Sendable (String) -> Bool
    /// A file that does not parse as complete XML and was modified less than this long ago
    /// may still be being written (closed and reopened by the copying program): it is tried
    /// again later instead of being rejected. Zero for one-shot runs.
    public var incompleteGrace: Duration
    /// Files not to parse, and why: the one ledgerd died of a fault reading the last time
    /// (`CrashWitness`). Each is read and hashed, then rejected with its reason.
    public var setAside: [PathKey: Rejection] = [:]

    public init(
        inbox: String, archive: String, rejected: String, maxFileBytes: Int64, company: CompanyIdentity,
        accounts: AccountPlan, batchSize: Int = 512, batchBytes: Int64 = 32 << 20, workers: Int = 2,
        isIgnored: @escaping @Sendable (String) -> Bool = InboxScanner.isTemporaryName,
        incompleteGrace: Duration = .zero
    ) {
        self.incompleteGrace = incompleteGrace
        self.inbox = inbox
        self.archive = archive
        self.rejected = rejected
        self.maxFileBytes = maxFileBytes
        self.company = company
        self.accounts = accounts
        self.batchSize = max(1, batchSize)
        self.batchBytes = max(1, batchBytes)
        self.workers = max(1, workers)
        self.isIgnored = isIgnored
    }
}

/// A file the pipeline is asked to take in.
public struct InboxFile: Sendable, Hashable {
    /// Compared and hashed byte for byte (see `PathKey`).
    public var path: String
    /// `ehf`, `wise` or `checks`: the inbox folder it was dropped in (or its type, for
    /// files named on the command line).
    public var inbox: String
    public var name: String { FileSystem.lastComponent(path) }

    public init(path: String, inbox: String) {
        self.path = path
        self.inbox = inbox
    }

    public static func == (a: InboxFile, b: InboxFile) -> Bool {
        PathKey(a.path) == PathKey(b.path) && a.inbox == b.inbox
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(PathKey(path))
        hasher.combine(inbox)
    }
}

/// What happened to one file.
public struct FileResult: Sendable, Equatable {
    public enum Outcome: String, Sendable, Codable {
        case posted
        /// The same bytes were posted before; the copy went to the archive's duplicates folder.
        case duplicate
        /// Another file already posted this document number; this one is flagged and kept in
        /// the rejected folder.
        case duplicateNumber = "duplicate_number"
        case rejected
        /// A temporary failure (disk full, database busy, file still being written): left in
        /// place to be tried again.
        case failed
    }

    public var file: InboxFile
    public var outcome: Outcome
    public var documentID: Int64?
    public var reason: Rejection?
    /// Where the file is now.
    public var destination: String?
    /// What a posted file was posted as, in words: `invoice 1234 from Leverandør AS, 1250.00 NOK`.
    public var posting: String?
    /// The same, for scripts (`ingest --json`).
    public var postedAs: PostedAs?
    /// What the posting leaves for the bookkeeper to do by hand (`PostingNote`), in words.
    public var note: String?

    /// The invoice or credit note a file was posted as.
    public struct PostedAs: Sendable, Equatable {
        public var type: DocumentType
        public var direction: Direction
        public var number: String
        /// The supplier (a purchase) or the customer (a sale).
        public var party: String
        public var issueDate: String
        public var dueDate: String?
        public var payable: Money

        init?(_ document: IncomingDocument) {
            guard case .invoice(let prepared) = document.content else { return nil }
            // Read in place, not from a copy of the invoice (see `Pipeline.posting`).
            type = prepared.invoice.type
            direction = prepared.direction
            number = prepared.invoice.number
            party = prepared.invoice.counterpartyName(prepared.direction)
            issueDate = prepared.invoice.issueDate.description
            dueDate = prepared.invoice.dueDate?.description
            payable = prepared.invoice.totals.payable
        }
    }

    public init(file: InboxFile, outcome: Outcome, documentID: Int64?, reason: Rejection?, destination: String?) {
        self.file = file
        self.outcome = outcome
        self.documentID = documentID
        self.reason = reason
        self.destination = destination
    }

    /// One line, whatever the file's name holds (`OneLine`).
    public var logLine: String {
        // In words (`duplicate number`), as the summary says it; `--json` keeps the raw value.
        var line = "\(outcome == .duplicateNumber ? "duplicate number" : outcome.rawValue): \(file.name)"
        if let posting { line += " (\(posting))" }
        if let reason { line += " — \(reason.code): \(reason.message)" }
        if let note { line += " — to do by hand: \(note)" }
        if let destination { line += " → \(destination)" }
        return OneLine.escaped(line)
    }
}

/// The per-file pipeline (DESIGN §4 steps 3–6): read once, hash, parse and check outside any
/// transaction; write the document and everything it produces in one transaction (several
/// files share one commit, each in its own savepoint); after the commit, move the original
/// to the archive, or to the rejected folder beside a `.error.txt`. Nothing is deleted.
public final class Pipeline: Sendable {
    public let settings: PipelineSettings
    public let store: LedgerStore
    let logger: Logger
    /// The archive folder as this pipeline first found it (`ArchiveGuard`).
    let archiveGuard: ArchiveGuard

    /// The most files a batch holds: each holds a claim, an open file, from its reading to
    /// its move, and four batches can be in flight (`ingest`); a fifth of the open-file
    /// limit is left for everything else.
    static let claimsPerBatch = max(1, FileSystem.openFileLimit() / 5)

    /// The reason code of a file that looked cut off and was changed moments ago: it is still
    /// being written, which the daemon waits out rather than counting as a failure.
    public static let incompleteCode = "FILE-INCOMPLETE"

    /// The reason code of a file set aside because ledgerd died of a fault reading it.
    public static let faultCode = "LEDGERD-FAULT"

    /// Why a file ledgerd died of a fault reading is set aside, in a bookkeeper's words.
    public static func setAsideAfterFault() -> Rejection {
        Rejection(
            faultCode,
            "ledgerd stopped with a fault while reading this file, and was started again; the file was set aside so "
                + "that it cannot stop ledgerd again. Nothing of it was posted. The fault is ledgerd's, not the "
                + "sender's.")
    }

    #if DEBUG
        static let faultOnName: String? = getenv("LEDGERD_TEST_FAULT_ON").map { String(cString: $0) }
    #endif

    public init(settings: PipelineSettings, store: LedgerStore, logger: Logger) {
        self.settings = settings
        self.store = store
        self.logger = logger
        // Made now, not by the first move: its identity is then known before any file goes
        // into it. Known only after a batch's moves, an archive whose disk went away between
        // those moves and that look would have been made again beneath it by the next batch.
        // (One that cannot be made now is said by the first move into it.)
        try? FileSystem.makeDirectories(settings.archive)
        self.archiveGuard = ArchiveGuard(path: settings.archive)
    }

    /// The files of `files` that `results` (what `ingest` returned for them) says nothing
    /// of: gone, in another run's hands, or not started before a stop. Results come in the
    /// files' order, so one walk over both finds them; paths are compared by their bytes.
    public static func unreported(_ files: [InboxFile], results: [FileResult]) -> [InboxFile] {
        guard results.count < files.count else { return [] }
        var next = results.startIndex
        var left: [InboxFile] = []
        for file in files {
            if next < results.endIndex, PathKey(results[next].file.path) == PathKey(file.path) {
                next += 1
            } else {
                left.append(file)
            }
        }
        return left
    }

    /// Takes in `files` in batches and returns one result per file, in order; none for a file
    /// that was gone, or in another run's hands (`FileSystem.FileClaim`).
    ///
    /// Three stages overlap: while one batch is written to the database, the next ones are
    /// found, read and parsed (up to two: one parsed and waiting, one being parsed), and the
    /// files of the previous one are moved to the archive. Moves happen only after their
    /// batch has committed, and batch after batch on one thread, so a file that repeats one
    /// from the batch before sees that file already archived.
    /// `shouldStop`, asked between batches, ends the run after the batch being written: the
    /// files of the batches not written get no result and stay where they are.
    /// `settled` is given each batch's results once its files are moved, batch after batch in
    /// order, on the thread that moves them: a report can be written as the run goes.
    public func ingest(
        _ files: [InboxFile], shouldStop: @escaping @Sendable () -> Bool = { false },
        settled report: @escaping @Sendable ([FileResult]) -> Void = { _ in }
    ) -> [FileResult] {
        guard !files.isEmpty else { return [] }
        let cursor = BatchCursor(
            files: files, batchSize: min(settings.batchSize, Self.claimsPerBatch), batchBytes: settings.batchBytes
        ) { [settings] path in FileSystem.lstatSizeAndTime(path).map { min($0.size, settings.maxFileBytes) } ?? 0 }
        // Documents committed from here on that this run did not post were posted by another
        // ledgerd reading the same files at the same time (`ledgerd ingest` beside the daemon):
        // those files are the other's to move and report.
        let seen = SettleState(lastDocumentBefore: (try? store.lastDocumentID()) ?? .max)
        // Each batch's results are added as it settles, while the next batches are worked on:
        // flattened at the end, 10,000 results were copied and freed after the last move.
        let settled = Mutex<[FileResult]>([])
        let mover = DispatchQueue(label: "ledgerd.settle")
        // One batch being moved at a time, and the next one's written batch waits for it.
        let moving = DispatchSemaphore(value: 1)
        // Batches are read and parsed on their own thread, one ahead of the one being written,
        // rather than in step with each write: in step, whichever of the two finished first
        // left its core idle until the other did (4 – 5 % of a run's time). So at most four
        // batches hold claims: moved, written, parsed and waiting, being read.
        let ready = PreparedHandoff()
        let parsing = DispatchGroup()
        // A queue of its own, which has a thread of its own: the global queue's few threads
        // are shared with the daemon's tasks, and this one waits on the writer.
        DispatchQueue(label: "ledgerd.parse").async(group: parsing) {
            // The first batch is the one in hand when a stop is asked before it is written.
            repeat {
                let next = cursor.next()
                if next.isEmpty { break }
                if !ready.put(next, self.prepareAll(next, receivedAt: Timestamp.now())) { break }
            } while !ready.isClosed && !shouldStop()
            ready.finish()
        }
        var databaseFailed = false
        while let (batch, prepared) = ready.take() {
            let written = write(batch, prepared: consume prepared, sayFailure: !databaseFailed)
            if written.results.contains(where: { $0?.reason?.code == "DATABASE" }) { databaseFailed = true }
            moving.wait()
            mover.async {
                let results = self.settle(written, seen: seen)
                settled.withLock { $0.append(contentsOf: results) }
                report(results)
                moving.signal()
            }
            if shouldStop() { break }
        }
        // Stopped early: the batch parsed and waiting, and the one being parsed, are let go
        // unwritten (their claims with them); their files stay where they are.
        ready.close()
        parsing.wait()
        mover.sync {}
        return settled.withLock { $0 }
    }

    /// A batch after its transaction: results known so far, and the written documents with
    /// their outcomes, whose files are still to be moved.
    struct Written: Sendable {
        var files: [InboxFile]
        var results: [FileResult?]
        var documents: [IncomingDocument]
        /// What was read of each written document's file.
        var copies: [ReadCopy]
        var outcomes: [WriteOutcome]
        /// For each written document, its position in `files`.
        var positions: [Int]
    }

    /// Writes one prepared batch in one transaction. Its files are moved by `settle`.
    /// `sayFailure`: whether a failure of the database is logged as an error; a run whose
    /// batch failed says it once, not once a batch.
    func write(_ files: [InboxFile], prepared: consuming [Prepared], sayFailure: Bool = true) -> Written {
        var results = [FileResult?](repeating: nil, count: files.count)
        var toWrite: [IncomingDocument] = []
        var copies: [ReadCopy] = []
        var writeIndex: [Int] = []
        var prepared = prepared
        for index in prepared.indices {
            // Each taken out of the list rather than copied from it: a copy of a document
            // counted its strings again.
            var item = Prepared.ignored
            swap(&item, &prepared[index])
            switch consume item {
            case .document(let document, let copy):
                toWrite.append(document)
                copies.append(copy)
                writeIndex.append(index)
            case .failed(let failure):
                results[index] = FileResult(
                    file: files[index], outcome: .failed, documentID: nil,
                    reason: Rejection("FILE-UNREADABLE", Self.unreadableMessage(failure)),
                    destination: nil)
            case .incomplete(let why):
                results[index] = FileResult(
                    file: files[index], outcome: .failed, documentID: nil,
                    reason: Rejection(Self.incompleteCode, why.message), destination: nil)
            case .ignored:
                results[index] = nil
            }
        }

        let outcomes: [WriteOutcome]
        do {
            outcomes = try store.write(toWrite, now: Timestamp.now())
        } catch {
            // Nothing of the batch was committed; every file stays where it is. Whether it is
            // tried again is the caller's to say: the daemon does, `ingest` is run again.
            let why = store.writeFailure(error)
            if error is LedgerStore.WrittenByNewerVersion {
                // Not tried again by this version: the daemon says what to do (a restart).
                if sayFailure { logger.error("nothing posted: \(why)") }
            } else if sayFailure {
                logger.error("could not write to the ledger database: \(why)")
            } else {
                logger.debug("could not write to the ledger database: \(why)")
            }
            for index in writeIndex {
                results[index] = FileResult(
                    file: files[index], outcome: .failed, documentID: nil, reason: Rejection("DATABASE", why),
                    destination: nil)
            }
            return Written(files: files, results: results, documents: [], copies: [], outcomes: [], positions: [])
        }
        return Written(
            files: files, results: results, documents: toWrite, copies: copies, outcomes: outcomes,
            positions: writeIndex)
    }

    /// What the moves of one run have seen: the documents it posted, and the last document
    /// there was when it began.
    final class SettleState: Sendable {
        let lastDocumentBefore: Int64
        let posted = Mutex<Set<Int64>>([])
        init(lastDocumentBefore: Int64) { self.lastDocumentBefore = lastDocumentBefore }

        /// Whether `id`, found already posted, was posted by another run while this one ran.
        func isAnotherRuns(_ id: Int64) -> Bool {
            id > lastDocumentBefore && !posted.withLock { $0.contains(id) }
        }
    }

    /// After the commit: moves each written file where its outcome says, then makes the
    /// moves durable (one sync per folder touched).
    func settle(_ written: Written, seen: SettleState = SettleState(lastDocumentBefore: .max)) -> [FileResult] {
        var results = written.results
        var touched = TouchedFolders()
        var reservedRejected = Set<String>()
        var drops: [DuplicateDrop] = []
        var rejected: [(documentID: Int64, path: String)] = []
        // Looked at once a batch: one look per file would be one more system call each.
        let archiveProblem = archiveGuard.problem()
        let errorFiles = errorFilesInRejectedFolder()
        for (position, outcome) in written.outcomes.enumerated() {
            let index = written.positions[position]
            switch outcome {
            case .posted(let id, _):
                seen.posted.withLock { _ = $0.insert(id) }
            case .alreadyPosted(let id, let archivedPath)
            where seen.isAnotherRuns(id) && written.copies[position].claim == nil
                && Self.isArchived(written.files[index], as: archivedPath):
                // Read by both, where the file system grants no claims (with this run's claim
                // on it, no other run read it); the other committed first, and moves and
                // reports it. Another file with the same bytes is this run's to handle, as a
                // duplicate: the other run left it alone.
                logger.debug(
                    "posted by another ledgerd run meanwhile", metadata: ["file": "\(written.files[index].path)"])
                continue
            default:
                break
            }
            // Read where it is: a copy of the document counted its strings again.
            let result = settle(
                written.files[index], document: written.documents[position], copy: written.copies[position],
                outcome: outcome, archiveProblem: archiveProblem, errorFiles: errorFiles, touched: &touched,
                reserved: &reservedRejected)
            if let id = result.documentID, let destination = result.destination {
                switch result.outcome {
                case .duplicate:
                    let document = written.documents[position]
                    drops.append(
                        DuplicateDrop(
                            documentID: id, name: document.originalName, inbox: document.inbox,
                            archivedPath: destination, receivedAt: document.receivedAt))
                case .rejected, .duplicateNumber:
                    rejected.append((id, destination))
                case .posted, .failed:
                    break
                }
            }
            // A failure is tried again, maybe every few seconds: its callers say it once per
            // batch (the daemon) or list it (ingest), rather than a line per file per try.
            // A posting that leaves something to do by hand is a notice, as a rejection is.
            let level: Logger.Level =
                result.outcome == .posted && result.note == nil ? .info : result.outcome == .failed ? .debug : .notice
            logger.log(level: level, "\(result.logLine)")
            // Put in place last, so that it moves there rather than being copied (a result
            // holds a dozen strings, each counted again by a copy).
            results[index] = result
        }
        archiveGuard.remember()
        for directory in touched.paths {
            do {
                try FileSystem.syncDirectory(directory)
            } catch {
                logger.warning("could not sync folder", metadata: ["folder": "\(directory)", "error": "\(error)"])
            }
        }
        // Once the moves are durable: a place recorded is where the file is.
        do {
            try store.recordMoves(drops: drops, rejected: rejected, now: Timestamp.now())
        } catch {
            logger.warning(
                "could not record for the status page where rejected files and files dropped again were put (the log above says where)",
                metadata: ["error": "\(error)"])
        }
        // Each result moved out, not copied (`compactMap` would copy each).
        var settled: [FileResult] = []
        settled.reserveCapacity(results.count)
        for index in results.indices {
            if let result = results[index].take() { settled.append(result) }
        }
        return settled
    }

    /// What was read of a file, kept for its move after the commit: which file it was, and
    /// its bytes while a batch's allowance lasts (`KeepAllowance`). A file rewritten or
    /// replaced after it was read is then archived as it was read, and the one now at its
    /// name is read as the new file it is. Without the bytes, such a file is still never
    /// archived under the other's name; the posted version's copy is then missing.
    struct ReadCopy: Sendable {
        var identity: FileSystem.FileIdentity?
        var bytes: [UInt8]?
        /// This run's claim on the file, held until it has been moved (`FileSystem.FileClaim`).
        var claim: FileSystem.FileClaim?
    }

    /// How many bytes of a batch's files are held from their reading to their move. Files
    /// dropped a few at a time, when a program saving the same name again is likeliest, are
    /// all held; a burst of thousands holds the first 512 KiB of each batch, so peak memory
    /// stays bounded.
    final class KeepAllowance: Sendable {
        static let perBatch = 512 << 10
        let left = Atomic<Int>(perBatch)
        /// Takes `bytes` from what is left, if that many are; a file too large to hold leaves
        /// the rest for the smaller files after it.
        func take(_ bytes: Int) -> Bool {
            var current = left.load(ordering: .relaxed)
            while current >= bytes {
                let (exchanged, original) = left.compareExchange(
                    expected: current, desired: current - bytes, ordering: .relaxed)
                if exchanged { return true }
                current = original
            }
            return false
        }
    }

    enum Prepared: Sendable {
        case document(IncomingDocument, ReadCopy)
        case failed(FileSystem.Failure)
        /// Still being written: try again later.
        case incomplete(Incomplete)
        /// Gone before it was read, or in another run's hands: no result; whoever has it
        /// reports it.
        case ignored
    }

    /// How a file showed it is still being written.
    enum Incomplete: Sendable {
        /// Another program has it open for writing.
        case openForWriting
        /// Cut off, and changed moments ago.
        case cutOffAndRecent

        var message: String {
            switch self {
            case .openForWriting:
                "Another program still has the file open for writing; it is probably still being copied."
            case .cutOffAndRecent:
                "The file looks cut off and was changed moments ago; it is probably still being copied."
            }
        }
    }

    func isRecentlyModified(_ path: String) -> Bool {
        guard settings.incompleteGrace > .zero, let info = FileSystem.lstatSizeAndTime(path) else { return false }
        // A time further ahead than the grace is no sign of a write in progress (a file dated
        // 2100, say): taken as "moments ago", a cut-off file would wait for ever.
        let age = FileSystem.ageNanos(ofTime: info.mtimeNanos)
        let grace = settings.incompleteGrace.nanoseconds
        return age < grace && age > -grace
    }

    /// Reads, hashes, parses and checks the files on `settings.workers` threads.
    func prepareAll(_ files: [InboxFile], receivedAt: String) -> [Prepared] {
        let slots = ResultSlots<Prepared>(count: files.count)
        let workers = min(settings.workers, files.count)
        let allowance = KeepAllowance()
        @Sendable func prepare(_ file: InboxFile) -> Prepared {
            CrashWitness.reading(file.path) { self.prepare(file, receivedAt: receivedAt, keeping: allowance) }
        }
        if workers <= 1 {
            for (i, file) in files.enumerated() { slots[i] = prepare(file) }
        } else {
            let next = Atomic<Int>(0)
            WorkerThreads.run(workers) { _ in
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    guard i < files.count else { break }
                    slots[i] = prepare(files[i])
                }
            }
        }
        return slots.values()
    }

    func prepare(_ file: InboxFile, receivedAt: String, keeping allowance: KeepAllowance) -> Prepared {
        let name = file.name
        var copy = ReadCopy()
        func rejected(_ sha: String, _ size: Int64, _ rejection: Rejection) -> Prepared {
            .document(
                IncomingDocument(
                    sha256: sha, originalName: name, inbox: file.inbox, kind: file.inbox, sizeBytes: size,
                    receivedAt: receivedAt,
                    archivePath: "", content: .rejected(rejection)), copy)
        }
        let read: FileSystem.ReadResult
        do {
            (read, copy.identity, copy.claim) = try FileSystem.readFileIdentified(
                file.path, limit: settings.maxFileBytes, waitingForWriters: true, claiming: true)
        } catch {
            if error.code == ENOENT { return .ignored }  // gone before we got to it
            return .failed(error)
        }
        let bytes: [UInt8]
        switch read {
        case .bytes(let b):
            bytes = b
            if allowance.take(b.count) { copy.bytes = b }
        case .tooLarge(let size):
            // Refused without reading: the hash stands for the name and size, not the content.
            let sha = "unread:" + Self.hex(SHA256.hash(data: Array("\(file.path)\u{0}\(size)\u{0}\(receivedAt)".utf8)))
            return rejected(
                sha, size,
                Rejection(
                    "FILE-TOO-LARGE",
                    "The file is \(Self.humanBytes(size)), larger than the \(Self.humanBytes(settings.maxFileBytes)) limit ([limits] max_file_bytes), so it was not read."
                ))
        case .openForWriting:
            return .incomplete(.openForWriting)
        case .claimedElsewhere:
            // Another run has it in hand and reports it; left to it, unread.
            return .ignored
        case .notRegular(let type):
            let what = type.description
            let sha = "unread:" + Self.hex(SHA256.hash(data: Array("\(file.path)\u{0}\(receivedAt)".utf8)))
            return rejected(
                sha, 0,
                Rejection(
                    "NOT-A-FILE",
                    "This is \(what); ledgerd only reads regular files dropped into the inbox and never follows links.")
            )
        }
        let sha = Self.hex(SHA256.hash(data: bytes))
        let size = Int64(bytes.count)
        let kind: String
        switch file.inbox {
        case "ehf": kind = "ehf"
        default:
            return rejected(
                sha, size,
                Rejection(
                    "UNSUPPORTED-INBOX",
                    "Files in the \(file.inbox) inbox are not processed by this version of ledgerd."))
        }

        if let why = settings.setAside[PathKey(file.path)] { return rejected(sha, size, why) }
        #if DEBUG
            // The suite's stand-in for a file that crashes ledgerd (`CrashWitness`), which no
            // fuzzing found: a debug build faults on a file of this name. Not in release builds.
            if let name = Self.faultOnName, name == file.name { fatalError("a fault, as the test asked") }
        #endif
        let invoice: InvoiceDocument
        do {
            invoice = try EHF.parse(bytes)
        } catch {
            if error.code == "XML-MALFORMED", isRecentlyModified(file.path) { return .incomplete(.cutOffAndRecent) }
            return rejected(sha, size, error)
        }
        guard !settings.company.identifiers.isEmpty else {
            // Each party by name with its identifiers: whoever sets [company] picks ours.
            func named(_ party: Party) -> String {
                var seen = Set<String>()
                let ids = party.allIdentifiers.filter { seen.insert($0).inserted }.joined(separator: ", ")
                return ids.isEmpty ? party.name : "\(party.name) (\(ids))"
            }
            return rejected(
                sha, size,
                Rejection(
                    "COMPANY-NOT-CONFIGURED",
                    "ledgerd does not know which company it keeps books for, so it cannot tell whether this invoice was bought or sold — set [company] org_number or identifiers in the configuration (the seller is \(named(invoice.seller)); the buyer is \(named(invoice.buyer)))."
                ))
        }
        let direction: Direction
        do {
            direction = try settings.company.direction(of: invoice)
        } catch {
            // Who the invoice is for, by name, first: the bookkeeper sends it on, or tells whoever
            // runs ledgerd that the company has another identifier. Checked before the figures,
            // so an invoice for someone else is never sent back to its supplier for correction.
            let what =
                "\(invoice.type == .invoice ? "Invoice" : "Credit note") \(invoice.number) from \(invoice.seller.name)"
            let us = settings.company.name.isEmpty ? "this company" : settings.company.name
            let message: String
            switch error {
            case .notOurs:
                message = "\(what) is addressed to \(invoice.buyer.name), not to \(us): \(error)."
            case .bothOurs:
                message =
                    "\(what) to \(invoice.buyer.name): \(error) — check that [company] identifiers in the configuration name \(us) only."
            }
            return rejected(sha, size, Rejection("NOT-OUR-INVOICE", message))
        }
        let violations = EHF.validate(invoice)
        if let first = violations.first {
            var rejection = first
            if violations.count > 1 {
                rejection.message +=
                    " (\(violations.count - 1) more problem\(violations.count > 2 ? "s" : "") listed in the error file)"
            }
            return .document(
                IncomingDocument(
                    sha256: sha, originalName: name, inbox: file.inbox, kind: kind, sizeBytes: size,
                    receivedAt: receivedAt,
                    archivePath: "", content: .rejected(rejection)), copy
            )
            .withDetails(violations)
        }
        let entry: JournalEntry
        do {
            entry = try PostingRules.entry(for: invoice, direction: direction, accounts: settings.accounts)
        } catch {
            return rejected(sha, size, Rejection("POSTING", "The invoice cannot be posted: \(error)."))
        }
        let archivePath = ArchiveLayout.path(
            in: settings.archive, inbox: file.inbox, receivedAt: receivedAt, sha: sha, name: name)
        let prepared = PreparedInvoice(
            invoice: invoice, direction: direction, entry: entry,
            netAccount: PostingRules.netAccount(for: invoice, direction: direction, accounts: settings.accounts),
            attachmentHashes: invoice.attachments.map { Self.hex(SHA256.hash(data: $0.bytes)) },
            notes: PostingRules.notes(for: invoice, direction: direction, accounts: settings.accounts))
        return .document(
            IncomingDocument(
                sha256: sha, originalName: name, inbox: file.inbox,
                kind: invoice.type == .invoice ? "ehf_invoice" : "ehf_credit_note",
                sizeBytes: size, receivedAt: receivedAt, archivePath: archivePath, content: .invoice(prepared)), copy)
    }

    /// After the commit: puts the file where its outcome says. `archiveProblem`: why nothing
    /// is put into the archive now (`ArchiveGuard.problem`). `errorFiles`: the error files in
    /// the rejected folder as the batch began to settle (`errorFilesInRejectedFolder`).
    func settle(
        _ file: InboxFile, document: IncomingDocument, copy: ReadCopy, outcome: WriteOutcome,
        archiveProblem: String? = nil, errorFiles: Set<String>? = nil, touched: inout TouchedFolders,
        reserved: inout Set<String>
    ) -> FileResult {
        var result = FileResult(file: file, outcome: .failed, documentID: nil, reason: nil, destination: nil)
        /// The file was gone when it was to be moved: another ledgerd (the daemon, or a second
        /// `ingest` at the same time) took it after this run read it, or it was named twice.
        /// The books hold what the outcome says and nothing is left to retry here.
        var takenElsewhere = false
        /// Changed after it was read, and what was read too large to have been held: the
        /// outcome stands, with no copy of the file to keep.
        var nothingToKeep = false
        // The prefix test first: it costs no allocation, and fails at once for inbox files.
        let inRejectedFolder =
            PathBytes.startsWith(file.path, settings.rejected)
            && PathKey(FileSystem.parentDirectory(file.path)) == PathKey(settings.rejected)
        /// What became of the copy read, for the log line that says the file was not there to move.
        func copyNote(kept: Bool, at place: String) -> String {
            if kept { return "and the copy read kept \(place)" }
            return copy.bytes == nil
                ? "but no copy is kept (read in a burst too large to hold every file)"
                : "but the copy read could not be written (logged above)"
        }
        /// Whether `target` is in an archive that takes nothing now; the file then stays.
        func archiveRefuses(_ target: String) -> Bool {
            archiveProblem != nil && PathBytes.isInside(target, settings.archive)
        }
        /// Where the bytes read are kept when the file itself could not be moved there.
        func keepCopy(at target: String) -> Bool {
            guard let bytes = copy.bytes, !archiveRefuses(target) else { return false }
            do {
                try FileSystem.writeFile(bytes, to: target, replacing: false)
                touched.insert(FileSystem.parentDirectory(target))
                return true
            } catch {
                logger.error(
                    "could not keep the copy read",
                    metadata: ["file": "\(file.path)", "to": "\(target)", "error": "\(error)"])
                return false
            }
        }
        func moveFile(to target: String, done: String) -> Bool {
            if archiveRefuses(target), let archiveProblem {
                result.outcome = .failed
                result.reason = Rejection(
                    "MOVE",
                    "\(done.capitalizedFirst), but the file could not be moved: \(archiveProblem); it stays where it "
                        + "is and is moved when it is tried again.")
                return false
            }
            do {
                let moved = try FileSystem.move(from: file.path, to: target, expected: copy.identity)
                touched.insert(FileSystem.parentDirectory(target))
                touched.insert(FileSystem.parentDirectory(file.path))
                if case .changed(let now, let targetHasRead) = moved {
                    // Saved again, or replaced, under the same name after it was read: the
                    // outcome stands for what was read, which is kept from memory; the file
                    // now there is read next as the new file it is.
                    let kept = targetHasRead || keepCopy(at: target)
                    let newName = FileSystem.lastComponent(now)
                    let note = copyNote(kept: kept, at: "in its place")
                    let renamed: String = newName == file.name ? "" : " (now \(OneLine.escaped(newName)))"
                    logger.notice(
                        "\(OneLine.escaped(file.name)) was changed or replaced after it was read: \(done) as it was read, \(note); the file now there\(renamed) is read as a new file"
                    )
                    guard kept else {
                        nothingToKeep = true
                        return true
                    }
                }
                result.destination = target
                return true
            } catch {
                if error.code == ENOENT, !FileSystem.exists(file.path) {
                    takenElsewhere = true
                    return false
                }
                if error.code == EEXIST, finishWithArchivedCopy(at: target) { return true }
                // Said once per batch by the caller (the daemon groups them; ingest lists them).
                logger.debug(
                    "could not move file", metadata: ["file": "\(file.path)", "to": "\(target)", "error": "\(error)"])
                result.outcome = .failed
                result.reason = Rejection(
                    "MOVE",
                    "\(done.capitalizedFirst), but the file could not be moved (\(error)); it stays where it is and "
                        + "is moved when it is tried again.")
                return false
            }
        }
        /// The target already holds these very bytes (books restored from a backup taken
        /// before this file was posted, whose archived copy stayed): the move is as good as
        /// done, and the inbox copy, the file that was read, unchanged, is removed.
        func finishWithArchivedCopy(at target: String) -> Bool {
            guard !inRejectedFolder, let identity = copy.identity, FileSystem.identity(of: file.path) == identity,
                Self.sha256(ofFile: target, limit: settings.maxFileBytes) == document.sha256
            else { return false }
            // Hashing a large archived copy takes a while, in which a file may be saved under
            // the name: the inbox copy is first renamed aside and checked again there, so only
            // the file that was read is ever removed; another is put back to be read as new.
            let aside = FileSystem.parentDirectory(file.path) + "/" + Self.asideName()
            do {
                switch try FileSystem.move(from: file.path, to: aside, expected: identity) {
                case .moved:
                    try FileSystem.removeFile(aside)
                    logger.notice(
                        "\(OneLine.escaped(file.name)): the same bytes are already at \(OneLine.escaped(target)); the inbox copy was removed"
                    )
                case .changed(let now, _):
                    let renamed =
                        FileSystem.lastComponent(now) == file.name
                        ? "" : " (now \(OneLine.escaped(FileSystem.lastComponent(now))))"
                    logger.notice(
                        "\(OneLine.escaped(file.name)): the same bytes are already at \(OneLine.escaped(target)); the file now in the inbox\(renamed) was saved there since it was read and is read as a new file"
                    )
                }
            } catch {
                logger.warning(
                    "could not remove the inbox copy of a file already archived",
                    metadata: ["file": "\(file.path)", "error": "\(error)"])
                return false
            }
            touched.insert(FileSystem.parentDirectory(file.path))
            result.destination = target
            return true
        }
        func reject(_ rejection: Rejection, details: [Rejection]) {
            let folder = settings.rejected
            func text(keptAs name: String) -> String {
                ErrorReport.text(
                    for: file.name, keptAs: name, rejection: rejection, details: details, document: document)
            }
            if inRejectedFolder {
                // Tried again where it lies (`ledgerd ingest rejected/FILE`): it stays, under its
                // own name, and its error file is written anew.
                result.destination = file.path
                do {
                    try FileSystem.writeText(text(keptAs: file.name), to: file.path + ".error.txt")
                } catch {
                    logger.error(
                        "could not write the error file",
                        metadata: ["file": "\(file.path).error.txt", "error": "\(error)"])
                }
                return
            }
            let shortened = FileSystem.shortened(file.name, maxBytes: 200)
            // The same bytes rejected before and moved back by hand: rejected again under the
            // name they had, their error file written anew, rather than beside it.
            let name =
                !reserved.contains(shortened) && staleErrorFile(shortened, sha: document.sha256) != nil
                ? shortened : FileSystem.freeName(in: folder, for: shortened, reserved: reserved)
            reserved.insert(name)
            let target = folder + "/" + name
            let done = "rejected (\(rejection.code))"
            // The error file first: a file in the rejected folder always has its explanation
            // beside it. When it cannot be written (the folder full), the file stays in the
            // inbox and both are tried again.
            do {
                try FileSystem.writeText(text(keptAs: name), to: target + ".error.txt")
            } catch {
                result.outcome = .failed
                result.reason = Rejection(
                    "MOVE",
                    "\(done.capitalizedFirst), but its error file could not be written (\(error)); the file stays "
                        + "where it is and is moved when it is tried again.")
                return
            }
            guard moveFile(to: target, done: done), !nothingToKeep else {
                // Unless the file got there after all (another run rejecting it at once).
                if !FileSystem.exists(target) { try? FileSystem.removeFile(target + ".error.txt") }
                return
            }
        }

        /// What the file was posted as, with its result: at its posting, or at a move that
        /// finishes one an earlier run committed.
        func sayWhatWasPosted() {
            result.posting = Self.posting(document)
            result.postedAs = FileResult.PostedAs(document)
            if case .invoice(let prepared) = document.content { result.note = prepared.note }
        }

        switch outcome {
        case .posted(let id, let rejectedBefore):
            result.documentID = id
            sayWhatWasPosted()
            if moveFile(to: document.archivePath, done: "posted as document \(id)") || takenElsewhere {
                result.outcome = .posted
                if takenElsewhere, FileSystem.exists(document.archivePath) {
                    result.destination = document.archivePath
                } else if takenElsewhere {
                    // Moved away or deleted by someone between its reading and its move.
                    let kept = keepCopy(at: document.archivePath)
                    if kept { result.destination = document.archivePath }
                    logger.warning(
                        "\(OneLine.escaped(file.name)) left the inbox after it was read, before it could be archived: posted as document \(id), \(copyNote(kept: kept, at: "in the archive"))"
                    )
                }
            }
            // Rejected before, fixed (the configuration, most often) and moved back by hand: the
            // error file left in the rejected folder no longer holds.
            if rejectedBefore, result.outcome == .posted, !inRejectedFolder,
                let note = staleErrorFile(FileSystem.shortened(file.name, maxBytes: 200), sha: document.sha256)
            {
                try? FileSystem.removeFile(note)
            } else if result.outcome == .posted, !inRejectedFolder,
                case let name = FileSystem.shortened(file.name, maxBytes: 200),
                errorFiles?.contains(name + ".error.txt") ?? true
            {
                resolveReplacedProblem(name, postedSHA: document.sha256)
            }

        case .alreadyPosted(let id, let archivedPath):
            result.documentID = id
            let earlier = archivedPath.flatMap { $0.isEmpty ? nil : " as \(Self.originalName(archivedPath: $0))" } ?? ""
            result.reason = Rejection(
                "DUPLICATE", "The same file was already posted\(earlier) (document \(id)); nothing was posted again.")
            if let archivedPath, !archivedPath.isEmpty, !FileSystem.exists(archivedPath),
                Self.isArchived(file, as: archivedPath)
                    || !FileSystem.exists(
                        FileSystem.parentDirectory(file.path) + "/" + Self.originalName(archivedPath: archivedPath))
            {
                // The earlier run committed but stopped before moving the file: finish the move.
                // With this file, unless it is another of the same bytes and the one posted is
                // still there beside it, which finishes its own move and leaves this one a
                // duplicate.
                if moveFile(to: archivedPath, done: "already posted as document \(id)") || takenElsewhere {
                    result.outcome = .posted
                    result.reason = nil
                    sayWhatWasPosted()
                }
            } else if let archivedPath, !archivedPath.isEmpty, Self.isArchived(file, as: archivedPath),
                let archived = FileSystem.identity(of: archivedPath), archived.device != copy.identity?.device,
                finishWithArchivedCopy(at: archivedPath)
            {
                // A move to an archive on another device copies, syncs, then removes the
                // original; stopped in between, the original is left beside its full copy.
                // (On one device a rename leaves no such pair: the same bytes again there are
                // a duplicate.)
                result.outcome = .posted
                result.reason = nil
                sayWhatWasPosted()
            } else {
                let folder = "\(settings.archive)/duplicates/\(document.receivedAt.prefix(10))"
                let target =
                    folder + "/" + FileSystem.freeName(in: folder, for: FileSystem.shortened(file.name, maxBytes: 200))
                if moveFile(to: target, done: "already posted as document \(id)") || takenElsewhere {
                    result.outcome = .duplicate
                }
            }

        case .rejected(let id, let rejection):
            result.documentID = id
            result.reason = rejection
            result.outcome = .rejected
            reject(rejection, details: document.details)
            if result.destination == nil, !takenElsewhere, !nothingToKeep { result.outcome = .failed }

        case .duplicateNumber(let id, _, _):
            result.documentID = id
            let rejection = Self.duplicateNumberRejection(document: document, outcome: outcome)
            result.reason = rejection
            result.outcome = .duplicateNumber
            reject(rejection, details: [])
            if result.destination == nil, !takenElsewhere, !nothingToKeep { result.outcome = .failed }
        }
        if inRejectedFolder, result.outcome == .posted || result.outcome == .duplicate, result.destination != nil {
            // The file left the rejected folder; the explanation beside it no longer holds (the
            // database keeps the reason it had), as when the status page's Retry moves it out.
            try? FileSystem.removeFile(file.path + ".error.txt")
        }
        return result
    }

    /// Why a file could not be read, and, when this user may not read it (a file saved by
    /// someone else with their own permissions), what lets ledgerd: it is tried again until then.
    static func unreadableMessage(_ failure: FileSystem.Failure) -> String {
        guard failure.code == EACCES else { return failure.description }
        let user = getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "uid \(geteuid())"
        return "\(failure.description). ledgerd (running as \(user)) may not read it: give the inbox's group read "
            + "access (chmod g+r), or save it again from a program that keeps the folder's permissions; it is tried again "
            + "until it can be read."
    }

    /// What `document` is posted as, in words, for its line: what it is, its number, the
    /// other party, and what is payable.
    static func posting(_ document: IncomingDocument) -> String? {
        guard case .invoice(let prepared) = document.content else { return nil }
        // The invoice's fields are read in place: a local copy of the invoice costs a
        // reference count on each of its texts and lists, twice.
        let what = prepared.invoice.type == .invoice ? "invoice" : "credit note"
        let amount = prepared.invoice.totals.payable.grouped
        // One interpolation each way: a party interpolated first was one string more.
        return prepared.direction == .purchase
            ? "\(what) \(prepared.invoice.number) from \(prepared.invoice.seller.name), \(amount)"
            : "\(what) \(prepared.invoice.number) to \(prepared.invoice.buyer.name), \(amount)"
    }

    /// The name a file of this name and these bytes is archived under, after the hash prefix:
    /// its own, shortened; one taken from the archive and dropped again keeps its name, not a
    /// second prefix.
    static func storedName(_ name: String, sha: String) -> String {
        let prefix = ArchiveLayout.hashPrefix(sha) + "_"
        return FileSystem.shortened(name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name, maxBytes: 200)
    }

    /// Whether `archivedPath` is where `file` goes when posted: its name is the one `file`'s
    /// is stored under.
    static func isArchived(_ file: InboxFile, as archivedPath: String?) -> Bool {
        guard let archivedPath else { return false }
        let archived = FileSystem.lastComponent(archivedPath)
        return archived == ArchiveLayout.hashPrefix(archived) + "_" + storedName(file.name, sha: archived)
    }

    /// The (shortened) name of the file posted to `archivedPath`: what follows the hash prefix.
    static func originalName(archivedPath: String) -> String {
        let name = FileSystem.lastComponent(archivedPath)
        guard let underscore = name.firstIndex(of: "_") else { return name }
        return String(name[name.index(after: underscore)...])
    }

    /// A hidden name, unique to this process, for an inbox file on its way to removal
    /// (`finishWithArchivedCopy`): dotfiles are never taken in.
    static func asideName() -> String {
        ".ledgerd-removing-\(getpid())-\(asideCounter.add(1, ordering: .relaxed).newValue)"
    }
    static let asideCounter = Atomic<Int>(0)

    /// The names of the error files in the rejected folder, listed once a batch: almost always
    /// there is none for a file posted, and one look a file to say so would be one more system
    /// call each. An error file written after the listing, by this batch, is for a file put
    /// there with it, which is no problem resolved (`resolveReplacedProblem`). Nil when the
    /// folder cannot be listed: each file is then looked for by itself.
    func errorFilesInRejectedFolder() -> Set<String>? {
        do throws(FileSystem.Failure) {
            var names = Set<String>()
            for entry in try FileSystem.listDirectory(settings.rejected) where entry.name.hasSuffix(".error.txt") {
                names.insert(entry.name)
            }
            return names
        } catch {
            return error.code == ENOENT ? [] : nil
        }
    }

    /// A file of this name was just posted, and the rejected folder holds an error file of the
    /// name for other bytes but no longer the file it explains: the bookkeeper took the rejected
    /// (or flagged) file out, corrected it and dropped it again. That problem is resolved, and
    /// its error file, which no longer holds, goes. While the rejected file lies there, an
    /// unrelated invoice of the same name settles nothing.
    func resolveReplacedProblem(_ name: String, postedSHA: String) {
        let file = settings.rejected + "/" + name
        let note = file + ".error.txt"
        // The error file first: almost always there is none, and one look answers.
        guard let sha = ErrorReport.documentKey(describedBy: note), sha != postedSHA, !FileSystem.exists(file) else {
            return
        }
        do {
            try store.resolveProblem(sha256: sha, now: Timestamp.now())
            try? FileSystem.removeFile(note)
        } catch {
            logger.warning(
                "could not mark the earlier rejection of \(OneLine.escaped(name)) as resolved",
                metadata: ["error": "\(error)"])
        }
    }

    /// Rejected or flagged files the bookkeeper has deleted from the rejected folder (or moved
    /// out of it) need no one any more: their problems are marked resolved, so the status page
    /// stops listing them. What lies there is recognised by the key line of the error file
    /// beside it (the SHA-256 of its bytes, or the stand-in of a file refused unread) or,
    /// without one, by its bytes; a file refused unread whose error file names no key (written
    /// by an older version) by its name.
    ///
    /// A file between its commit and its move into the folder (this run's or another's) must
    /// never be taken for one that was removed. So only problems are considered whose move
    /// into the folder was recorded before the folder is listed (their files were there), or,
    /// for the rest, that were processed over ten minutes ago. A file moved back into the
    /// inbox to be tried again is opened again when it is. Nothing is done when the folder
    /// cannot be listed or something in it cannot be recognised. Returns how many were
    /// resolved.
    @discardableResult
    public func resolveProblemsRemovedFromRejectedFolder() -> Int {
        // Read before the folder is listed, never after: see above.
        guard let moved = try? store.problemsInRejectedFolder(),
            let entries = try? FileSystem.listDirectory(settings.rejected)
        else { return 0 }
        var present = Set<String>()
        /// Files whose error file names no key: recognised by their bytes, or, refused unread
        /// by an older version (or their error file deleted), by their name.
        var unkeyed = Set<String>()
        for entry in entries where !entry.name.hasSuffix(".error.txt") {
            guard entry.nameWasValid else { return 0 }
            let path = settings.rejected + "/" + entry.name
            if let key = ErrorReport.documentKey(describedBy: path + ".error.txt") {
                present.insert(key)
                continue
            }
            unkeyed.insert(entry.name)
            if entry.type == .regular {
                // Over the size limit, it was never read: refused as too large (known by its
                // name), or not ledgerd's at all.
                if let size = FileSystem.lstatSizeAndTime(path)?.size, size > settings.maxFileBytes { continue }
                guard let sha = Self.sha256(ofFile: path, limit: settings.maxFileBytes) else { return 0 }
                present.insert(sha)
            }
        }
        let now = Int(time(nil))
        do {
            let resolved = try store.resolveProblems(
                processedBefore: Timestamp.format(secondsSinceEpoch: now - 600), orKnown: moved,
                now: Timestamp.format(secondsSinceEpoch: now)
            ) { key, originalName in
                present.contains(key)
                    || (key.hasPrefix("unread:") && unkeyed.contains(FileSystem.shortened(originalName, maxBytes: 200)))
            }
            if resolved > 0 {
                logger.notice("\(resolved) rejected or flagged file(s) no longer in the rejected folder: resolved")
            }
            return resolved
        } catch {
            logger.warning("could not mark removed rejected files as resolved", metadata: ["error": "\(error)"])
            return 0
        }
    }

    /// The error file `name.error.txt` in the rejected folder when it was written for these
    /// bytes (its SHA-256 line) and its file is no longer there: the file was moved back into
    /// the inbox to be tried again.
    func staleErrorFile(_ name: String, sha: String) -> String? {
        let file = settings.rejected + "/" + name
        let note = file + ".error.txt"
        return !FileSystem.exists(file) && ErrorReport.describes(note, sha256: sha) ? note : nil
    }

    static func duplicateNumberRejection(document: IncomingDocument, outcome: WriteOutcome) -> Rejection {
        guard case .duplicateNumber(_, let existingID, let existingName) = outcome,
            case .invoice(let prepared) = document.content
        else { return Rejection("DUPLICATE-NUMBER", "This document number was already posted.") }
        return Rejection.duplicateNumber(
            prepared.invoice, direction: prepared.direction, existingDocumentID: existingID, existingName: existingName)
    }

    /// The SHA-256 of a file's bytes, as documents store it; nil when it cannot be read whole.
    public static func sha256(ofFile path: String, limit: Int64) -> String? {
        guard case .bytes(let bytes) = try? FileSystem.readFile(path, limit: limit) else { return nil }
        return hex(SHA256.hash(data: bytes))
    }

    static func hex(_ digest: SHA256.Digest) -> String {
        // Written straight into the string's storage: through an iterator over the digest and
        // two arrays, a hash cost ~3,000 instructions, one or two a file.
        digest.withUnsafeBytes { bytes in
            String(unsafeUninitializedCapacity: bytes.count * 2) { out in
                for (i, byte) in bytes.enumerated() {
                    out[2 * i] = hexDigit(byte >> 4)
                    out[2 * i + 1] = hexDigit(byte & 0x0F)
                }
                return bytes.count * 2
            }
        }
    }

    @inline(__always) private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") - 10 + value
    }

    /// A size as its exact byte count and, from 1 KiB, about how much that is to one decimal
    /// (rounded down): "1904914 bytes (1.8 MiB)". A file just over the limit and the limit
    /// then never read as the same size.
    static func humanBytes(_ n: Int64) -> String {
        guard n >= 1 << 10 else { return "\(n) bytes" }
        let (unit, name): (Int64, String) =
            n >= 1 << 30 ? (1 << 30, "GiB") : n >= 1 << 20 ? (1 << 20, "MiB") : (1 << 10, "KiB")
        let whole = n / unit
        let tenth = (n % unit) * 10 / unit
        return "\(n) bytes (\(whole)\(tenth == 0 ? "" : ".\(tenth)") \(name))"
    }
}

extension Pipeline.Prepared {
    func withDetails(_ details: [Rejection]) -> Pipeline.Prepared {
        guard case .document(var document, let copy) = self else { return self }
        document.details = details
        return .document(document, copy)
    }
}

extension String {
    var capitalizedFirst: String { prefix(1).uppercased() + dropFirst() }
}

/// Hands each batch and its prepared files from the thread that parses them to the writer,
/// one at a time: the parsing thread waits while the writer has not taken the one before.
final class PreparedHandoff: Sendable {
    typealias Batch = (files: [InboxFile], prepared: [Pipeline.Prepared])
    private struct State {
        var batch: Batch?
        var finished = false
        var closed = false
        /// Whether `put` or `take` waits for the other to wake it.
        var putWaits = false
        var takeWaits = false
    }
    private let state = Mutex(State())
    // Each wakes one waiting call; a call says it waits before it does, and is woken at most
    // once a wait, so each signal meets one wait (a semaphore left below its first value when
    // it goes is a fault in libdispatch). A signal given first is kept for the wait after it.
    private let roomMade = DispatchSemaphore(value: 0)
    private let batchPut = DispatchSemaphore(value: 0)

    /// Whether the writer has stopped taking batches.
    var isClosed: Bool { state.withLock { $0.closed } }

    /// Waits for the writer to have taken the batch before and puts this one in its place;
    /// false, the batch let go, once the writer has stopped taking them.
    func put(_ files: [InboxFile], _ prepared: consuming [Pipeline.Prepared]) -> Bool {
        var batch: Batch? = (files, prepared)
        while true {
            let (done, wake) = state.withLock { state -> (Bool, Bool) in
                if state.closed { return (true, false) }
                guard state.batch == nil else {
                    state.putWaits = true
                    return (false, false)
                }
                state.batch = batch.take()
                defer { state.takeWaits = false }
                return (true, state.takeWaits)
            }
            if wake { batchPut.signal() }
            if done { return batch == nil }
            roomMade.wait()
        }
    }

    /// Says that no batch comes after the one in hand, if any.
    func finish() {
        let wake = state.withLock { state in
            state.finished = true
            defer { state.takeWaits = false }
            return state.takeWaits
        }
        if wake { batchPut.signal() }
    }

    /// Waits for the next batch; nil once there are no more.
    func take() -> Batch? {
        while true {
            let (done, batch, wake) = state.withLock { state -> (Bool, Batch?, Bool) in
                if let batch = state.batch.take() {
                    defer { state.putWaits = false }
                    return (true, batch, state.putWaits)
                }
                if state.finished || state.closed { return (true, nil, false) }
                state.takeWaits = true
                return (false, nil, false)
            }
            if wake { roomMade.signal() }
            if done { return batch }
            batchPut.wait()
        }
    }

    /// Stops taking batches: one waiting to be taken is let go, and so is the parsing
    /// thread if it waits to put one (which it then lets go).
    func close() {
        let (left, wake) = state.withLock { state in
            state.closed = true
            defer { state.putWaits = false }
            return (state.batch.take(), state.putWaits)
        }
        if wake { roomMade.signal() }
        // Let go here, outside the lock: its files' claims are closed as it goes.
        _ = consume left
    }
}

/// The folders a batch's moves changed, each once, in the order first changed: each is synced
/// once after the moves. A list rather than a set: a batch changes two or three folders, and
/// hashing the two folders of each file moved cost ~1,800 instructions a folder.
struct TouchedFolders {
    private var keys: [PathKey] = []

    var paths: [String] { keys.map(\.path) }

    mutating func insert(_ path: String) {
        let key = PathKey(path)
        if !keys.contains(key) { keys.append(key) }
    }
}

/// Cuts the files into transactions of at most `batchSize` files and about `batchBytes`, one
/// batch at a time as the pipeline asks for it, so sizes are looked up by the thread that
/// prepares the batch, while the one before is written, not all before the first is.
///
/// The first batches are small and double up to `batchSize`, and the last ones halve again:
/// nothing is written until the first batch is parsed, and nothing parsed while the last
/// is written, so those two are the only stages that do not overlap. Small ones there let
/// the first files post sooner and end the run sooner.
final class BatchCursor: Sendable {
    private let files: [InboxFile]
    private let batchSize: Int
    private let batchBytes: Int64
    private let size: @Sendable (String) -> Int64
    private let state = Mutex((position: 0, count: 0))
    /// The smallest batch at either end.
    static let smallest = 64

    init(files: [InboxFile], batchSize: Int, batchBytes: Int64, size: @escaping @Sendable (String) -> Int64) {
        self.files = files
        self.batchSize = max(1, batchSize)
        self.batchBytes = max(1, batchBytes)
        self.size = size
    }

    /// The next batch; empty when every file has been handed out.
    func next() -> [InboxFile] {
        state.withLock { state in
            let start = state.position
            let remaining = files.count - start
            // Doubling from the smallest size; then, once what is left would fit in two
            // batches, half of it, so the sizes fall off towards the end.
            let rising = min(batchSize, Self.smallest << min(state.count, 20))
            var limit = max(1, min(rising, remaining < 2 * rising ? max(Self.smallest, (remaining + 1) / 2) : rising))
            if remaining - limit < Self.smallest { limit = max(1, min(rising, remaining)) }
            var end = start
            var bytes: Int64 = 0
            while end < files.count, end - start < limit {
                let size = size(files[end].path)
                if end > start, bytes + size > batchBytes { break }
                bytes += size
                end += 1
            }
            state = (end, state.count + 1)
            return Array(files[start..<end])
        }
    }
}

/// Fixed-size storage that several threads fill, each index written by exactly one thread
/// (indices are handed out by an atomic counter), read after all of them have joined.
final class ResultSlots<T: Sendable>: Sendable {
    private let storage: Mutex<[T?]>
    init(count: Int) { storage = Mutex(Array(repeating: nil, count: count)) }
    subscript(index: Int) -> T? {
        get { storage.withLock { $0[index] } }
        set { storage.withLock { $0[index] = newValue } }
    }
    func values() -> [T] { storage.withLock { $0.map { $0! } } }
}

/// The archive folder's identity (device and inode) when a pipeline first found it. Its disk
/// unmounted while ledgerd runs, a move would make the folder again on the disk beneath, and
/// the files archived from then on would vanish from sight when the disk is mounted again:
/// instead, nothing goes into the archive until it is the same folder again (the disk
/// mounted back), and the files wait in the inbox. Not made yet, it is remembered once a
/// batch's moves have made it (`remember`).
final class ArchiveGuard: Sendable {
    let path: String
    private let known = Mutex<[UInt64]?>(nil)

    init(path: String) {
        self.path = path
        known.withLock { $0 = FileSystem.folder(path) }
    }

    /// Why nothing may go into the archive now; nil while it is the folder first found, or
    /// none was found yet.
    func problem() -> String? {
        guard let expected = known.withLock({ $0 }) else { return nil }
        let now = FileSystem.folder(path)
        if now == expected { return nil }
        return now == nil
            ? "the archive folder \(path) is gone (is its disk not mounted?)"
            : "the archive folder \(path) is no longer the folder ledgerd started with (a disk mounted or "
                + "unmounted there?); restart ledgerd if the change is meant"
    }

    /// After a batch's moves: the archive they made, when none was known.
    func remember() {
        guard known.withLock({ $0 }) == nil, let found = FileSystem.folder(path) else { return }
        known.withLock { $0 = $0 ?? found }
    }
}

import Dispatch
import Foundation
import LedgerCore
import LedgerStore
import Synchronization
import Testing

@testable import Ingest

/// How parsed batches pass from the thread that reads and parses them to the writer: one at
/// a time and in order, and, once the writer stops, without keeping the parsing thread or
/// the files it holds.
@Suite struct PreparedHandoffTests {
    static func batch(_ name: String, claim: FileSystem.FileClaim? = nil) -> PreparedHandoff.Batch {
        let file = InboxFile(path: "/inbox/ehf/\(name)", inbox: "ehf")
        guard let claim else { return ([file], [.ignored]) }
        let document = IncomingDocument(
            sha256: name, originalName: name, inbox: "ehf", kind: "ehf", sizeBytes: 0, receivedAt: "",
            archivePath: "", content: .rejected(Rejection("TEST", "held")))
        return ([file], [.document(document, Pipeline.ReadCopy(identity: nil, bytes: nil, claim: claim))])
    }

    /// An open descriptor, to be held as a claim: its closing shows the claim was let go.
    static func descriptor() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }

    static func isOpen(_ fd: Int32) -> Bool { fcntl(fd, F_GETFD) != -1 }

    @Test func batchesArriveOneAtATimeInOrderAndEndAfterTheLast() {
        let handoff = PreparedHandoff()
        let putBack = Mutex<[Bool]>([])
        let parsing = DispatchGroup()
        DispatchQueue(label: "parsing").async(group: parsing) {
            for n in 0..<40 {
                let (files, prepared) = Self.batch("\(n)")
                let taken = handoff.put(files, prepared)
                putBack.withLock { $0.append(taken) }
            }
            handoff.finish()
        }
        var names: [String] = []
        while let (files, _) = handoff.take() {
            // The writer is slower now and then: the parsing thread waits, one batch ahead.
            if names.count % 7 == 0 { usleep(2_000) }
            #expect(putBack.withLock { $0.count } <= names.count + 2, "at most one batch waits beyond the one taken")
            names.append(contentsOf: files.map(\.name))
        }
        #expect(names == (0..<40).map(String.init))
        #expect(handoff.take() == nil, "stays at its end")
        #expect(parsing.wait(timeout: .now() + 5) == .success)
        #expect(putBack.withLock { $0 } == Array(repeating: true, count: 40))
    }

    /// A writer that stops (a stop asked for, the daemon ending) lets go the batch waiting for
    /// it and the parsing thread waiting to hand it another: both batches' claims are closed,
    /// so their files are free for the next run, and the thread ends.
    @Test func aWriterThatStopsLetsGoTheWaitingBatchesAndTheParsingThread() {
        let handoff = PreparedHandoff()
        let (firstFD, secondFD) = (Self.descriptor(), Self.descriptor())
        let secondPut = Mutex<Bool?>(nil)
        let firstPut = DispatchSemaphore(value: 0)
        let parsing = DispatchGroup()
        // The claims are made on the parsing thread and held by nothing else here.
        DispatchQueue(label: "parsing").async(group: parsing) {
            let (files, prepared) = Self.batch("first", claim: FileSystem.FileClaim(fd: firstFD))
            #expect(handoff.put(files, prepared))
            firstPut.signal()
            let (next, nextPrepared) = Self.batch("second", claim: FileSystem.FileClaim(fd: secondFD))
            // The first is not taken: this waits until the writer stops.
            let taken = handoff.put(next, nextPrepared)
            secondPut.withLock { $0 = taken }
            handoff.finish()
        }
        #expect(firstPut.wait(timeout: .now() + 5) == .success)
        usleep(50_000)
        #expect(secondPut.withLock { $0 } == nil, "waits while the batch before it is not taken")
        #expect(Self.isOpen(firstFD) && Self.isOpen(secondFD))
        handoff.close()
        #expect(parsing.wait(timeout: .now() + 5) == .success, "the parsing thread is let go")
        #expect(secondPut.withLock { $0 } == false)
        #expect(!Self.isOpen(firstFD), "the batch that waited is let go, and its claims")
        #expect(!Self.isOpen(secondFD), "the batch that could not be handed over is let go")
        #expect(handoff.take() == nil)
    }

    /// A stop asked for while nothing waits: the parsing thread's next batch is refused at
    /// once rather than waiting for a writer that will not come.
    @Test func aBatchOfferedAfterTheStopIsRefusedAtOnce() {
        let handoff = PreparedHandoff()
        handoff.close()
        let fd = Self.descriptor()
        do {
            let (files, prepared) = Self.batch("late", claim: FileSystem.FileClaim(fd: fd))
            #expect(!handoff.put(files, prepared))
        }
        #expect(!Self.isOpen(fd))
        #expect(handoff.isClosed)
    }
}

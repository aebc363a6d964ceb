import Testing

@testable import Ingest

/// How the pipeline cuts its files into transactions: at most `batchSize` files, and no more
/// than `batchBytes` of content unless one file alone is larger.
@Suite struct BatchCursorTests {
    func batches(_ sizes: [Int64], batchSize: Int, batchBytes: Int64) -> [[String]] {
        let files = sizes.indices.map { InboxFile(path: "/inbox/ehf/\($0)", inbox: "ehf") }
        let table = Dictionary(uniqueKeysWithValues: zip(files.map(\.path), sizes))
        let cursor = BatchCursor(files: files, batchSize: batchSize, batchBytes: batchBytes) { table[$0] ?? 0 }
        var result: [[String]] = []
        while true {
            let batch = cursor.next()
            if batch.isEmpty { break }
            result.append(batch.map(\.name))
        }
        #expect(cursor.next().isEmpty, "stays empty once every file is handed out")
        return result
    }

    @Test func byCount() {
        #expect(
            batches(Array(repeating: 10, count: 10), batchSize: 4, batchBytes: 1 << 30)
                == [["0", "1", "2", "3"], ["4", "5", "6", "7"], ["8", "9"]])
    }

    @Test func bySize() {
        // 30 + 30 fits in 64, a third 30 does not; a file larger than the budget goes alone.
        #expect(
            batches([30, 30, 30, 100, 5, 5], batchSize: 10, batchBytes: 64)
                == [["0", "1"], ["2"], ["3"], ["4", "5"]])
    }

    @Test func everyFileOnceInOrder() {
        let sizes: [Int64] = (0..<1_000).map { Int64(($0 * 7919) % 97) }
        let all = batches(sizes, batchSize: 37, batchBytes: 500).flatMap { $0 }
        #expect(all == (0..<1_000).map(String.init))
    }

    /// Small at both ends, where writing and parsing cannot overlap; never a sliver at the end.
    @Test func smallFirstAndLast() {
        let sizes = batches(Array(repeating: 1, count: 2_000), batchSize: 512, batchBytes: 1 << 30).map(\.count)
        #expect(sizes == [64, 128, 256, 512, 512, 264, 132, 66, 66])
        let few = batches(Array(repeating: 1, count: 100), batchSize: 512, batchBytes: 1 << 30).map(\.count)
        #expect(few == [64, 36])
    }

    @Test func nothingToDo() {
        #expect(batches([], batchSize: 4, batchBytes: 64).isEmpty)
    }
}

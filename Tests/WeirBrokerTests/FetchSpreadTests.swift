import KafkaProtocol
import NIOCore
import Testing
@testable import WeirBroker

/// The rule that turns partitions read on several threads back into a sequential fetch's answer.
@Suite struct FetchSpreadTests {
    /// Fake stored batches: only the length field (bytes 8–11) matters to the trimming.
    private static func batches(_ sizes: [Int]) -> ByteBuffer {
        var b = ByteBuffer()
        for size in sizes {
            b.writeInteger(Int64(0))
            b.writeInteger(Int32(size - RecordBatchHeader.logOverhead))
            b.writeRepeatingByte(7, count: size - 12)
        }
        return b
    }

    @Test func splitKeepsOrderAndCoversEverything() {
        #expect(FetchHandler.split(6, into: 2) == [0..<3, 3..<6])
        #expect(FetchHandler.split(5, into: 2) == [0..<2, 2..<5])
        #expect(FetchHandler.split(1, into: 4) == [0..<1])
        #expect(FetchHandler.split(7, into: 3).flatMap { Array($0) } == Array(0..<7))
    }

    @Test func wholeBatchesFollowsThePartitionReadRule() {
        let b = Self.batches([100, 100, 100])
        #expect(FetchHandler.wholeBatches(of: b, maxBytes: 250, minOneBatch: false).readableBytes == 200)
        #expect(FetchHandler.wholeBatches(of: b, maxBytes: 300, minOneBatch: false).readableBytes == 300)
        #expect(FetchHandler.wholeBatches(of: b, maxBytes: 10, minOneBatch: true).readableBytes == 100)
        #expect(FetchHandler.wholeBatches(of: b, maxBytes: 10, minOneBatch: false).readableBytes == 0)
        #expect(FetchHandler.wholeBatches(of: b, maxBytes: 100, minOneBatch: true).readableBytes == 100)
        // A slice of the same bytes, from the reader index.
        #expect(FetchHandler.wholeBatches(of: b, maxBytes: 150, minOneBatch: false) == b.getSlice(at: 0, length: 100))
    }

    @Test func theBudgetIsSharedInRequestOrder() {
        func got(_ sizes: [Int]?) -> FetchHandler.Got {
            var g = FetchHandler.Got()
            g.records = sizes.map { Self.batches($0) }
            return g
        }
        // Two partitions of three 100-byte batches, 300 bytes each allowed, 450 for the response.
        var g = [got([100, 100, 100]), got([100, 100, 100])]
        FetchHandler.shareBudget(&g, limits: [300, 300], maxBytes: 450)
        #expect(g.map { $0.records?.readableBytes ?? 0 } == [300, 100])

        // An empty first partition: the second is the first with records and may exceed its limit.
        g = [got(nil), got([500, 100])]
        FetchHandler.shareBudget(&g, limits: [300, 300], maxBytes: 1000)
        #expect(g.map { $0.records?.readableBytes ?? 0 } == [0, 500])

        // Once the budget is spent, later partitions give nothing (records nil, not empty).
        g = [got([100]), got([100]), got([100])]
        FetchHandler.shareBudget(&g, limits: [100, 100, 100], maxBytes: 200)
        #expect(g.map { $0.records?.readableBytes ?? 0 } == [100, 100, 0])
        #expect(g[2].records == nil)
    }
}

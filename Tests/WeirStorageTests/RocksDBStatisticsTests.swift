import Foundation
import KafkaProtocol
import Testing
@testable import WeirStorage

@Suite struct RocksDBStatisticsTests {
    @Test func parsesTickersAndHistograms() {
        let s = RocksDBStatistics(parsing: """
            rocksdb.flush.write.bytes COUNT : 2048
            rocksdb.compact.write.bytes COUNT : 1024
            rocksdb.db.flush.micros P50 : 10.000000 P95 : 20.000000 P99 : 30.000000 P100 : 40.000000 COUNT : 3 SUM : 70
            """)
        #expect(s.flushWriteBytes == 2048)
        #expect(s.compactionWriteBytes == 1024)
        #expect(s.flushCount == 3)
        #expect(s.histograms["rocksdb.db.flush.micros"]?.sum == 70)
        #expect(s.writeAmplification(appendedBytes: 1024) == 3)
        #expect(s.ticker("rocksdb.unknown") == 0)
    }

    /// A real store: after appending and flushing one partition, the flush is counted with the
    /// bytes it wrote, and the file counts see its SST file at level 0.
    @Test func aStoreCountsItsFlushes() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            for _ in 0..<10 {
                _ = try log.append([try producedBatch(records: 1, body: Array(repeating: 7, count: 10_000))],
                                   leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            let before = try #require(store.statistics())
            #expect(before.flushCount == 0)
            try store.db.flush(log.cf)
            let after = try #require(store.statistics())
            #expect(after.flushCount == 1)
            #expect(after.flushWriteBytes > 0)
            #expect(after.bytesWritten >= 100_000)
            #expect(store.partitionFileCounts().levelZero == 1)
        }
    }
}

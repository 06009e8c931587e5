import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// producer.id.expiration.ms: a stream of short-lived idempotent producers does not grow the
/// `producers` column family or the cache without bound.
@Suite struct ProducerExpiryTests {
    private static func batch(producerId: Int64, maxTimestamp: Int64) throws -> ProducedBatch {
        let body: [UInt8] = Array(repeating: 1, count: 8)
        let header = RecordBatchHeader(baseOffset: 0, batchLength: Int32(49 + body.count), partitionLeaderEpoch: -1,
                                       magic: 2, crc: 0, attributes: 0, lastOffsetDelta: 0,
                                       baseTimestamp: maxTimestamp, maxTimestamp: maxTimestamp, producerId: producerId,
                                       producerEpoch: 0, baseSequence: 0, recordsCount: 1)
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        buffer.writeBytes(body)
        RecordBatchHeader.updateCRC(in: &buffer, batchAt: 0, totalSize: buffer.readableBytes)
        return try produced(buffer)
    }

    @Test func silentProducersAreForgottenAndStayForgottenAfterReopen() throws {
        try withTempDirectory { dir in
            do {
                let store = try openStore(dir)
                defer { store.close() }
                try store.createTopic(name: "t", partitions: 2, configs: [:])
                // 1,000 producers, one batch each, the i-th at time 1,000,000 + i.
                for i in 0..<1_000 {
                    let log = try #require(store.partition(TopicPartition("t", Int32(i % 2))))
                    _ = try log.append([try Self.batch(producerId: Int64(i), maxTimestamp: 1_000_000 + Int64(i))],
                                       leaderEpoch: 0, logAppendTime: nil, sync: false)
                }
                // At now = 1,000,999 with a 100 ms expiration, producers 0…899 are silent long enough.
                #expect(try store.expireProducers(nowMs: 1_000_999, expirationMs: 100) == 900)
                let logs = try (0..<2).map { try #require(store.partition(TopicPartition("t", $0))) }
                #expect(logs.map(\.producerCount) == [50, 50])
                #expect(logs[0].producerState(898) == nil && logs[0].producerState(900) != nil)
                // Nothing more to do at the same time.
                #expect(try store.expireProducers(nowMs: 1_000_999, expirationMs: 100) == 0)
            }
            let reopened = try openStore(dir)
            defer { reopened.close() }
            let logs = try (0..<2).map { try #require(reopened.partition(TopicPartition("t", $0))) }
            #expect(logs.map(\.producerCount) == [50, 50])
            // An expired producer's next batch is taken as a new producer's (sequence 0 accepted).
            let again = try logs[0].append([try Self.batch(producerId: 0, maxTimestamp: 2_000_000)],
                                           leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(!again.duplicate && again.baseOffset == 500)
        }
    }
}

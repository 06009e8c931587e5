import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// A follower's log: the leader's batches stored as they came, the high watermark following the
/// leader's, truncation to it for a new leader; a leader's watermark held for its followers.
@Suite struct PartitionLogReplicationTests {
    @Test func aFollowerStoresTheLeadersBatchesAsTheyCameAndTruncates() throws {
        try withTempDirectory { dir in
            let leaderStore = try openStore(dir + "/leader")
            let followerStore = try openStore(dir + "/follower")
            defer { leaderStore.close(); followerStore.close() }
            try leaderStore.createTopic(name: "t", partitions: 1, configs: [:])
            try followerStore.createTopic(name: "t", partitions: 1, configs: [:])
            let leader = try #require(leaderStore.partition(TopicPartition("t", 0)))
            let follower = try #require(followerStore.partition(TopicPartition("t", 0)))
            leader.setReplicated(true)
            for i in 0..<3 {
                _ = try leader.append([try producedBatch(records: 2, body: .pattern(40, seed: UInt8(i)))], leaderEpoch: 7,
                                      logAppendTime: nil, sync: false)
            }
            // Held for the followers: nothing is visible to consumers yet.
            #expect(leader.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 6, highWatermark: 0))
            var fetched = ByteBuffer()
            _ = try leader.read(from: 0, maxBytes: 1 << 20, toLogEnd: true, into: &fetched)
            var consumer = ByteBuffer()
            #expect(try leader.read(from: 0, maxBytes: 1 << 20, into: &consumer) == 0)

            #expect(try follower.appendReplicated(fetched, leaderHighWatermark: 0, sync: false) == 6)
            // A re-fetch of what it has changes nothing.
            #expect(try follower.appendReplicated(fetched, leaderHighWatermark: 4, sync: false) == 6)
            #expect(follower.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 6, highWatermark: 4))
            var copy = ByteBuffer()
            _ = try follower.read(from: 0, maxBytes: 1 << 20, toLogEnd: true, into: &copy)
            #expect(copy == fetched, "the follower stores the leader's bytes")

            #expect(leader.advanceHighWatermark(to: 4))
            #expect(!leader.advanceHighWatermark(to: 2), "never down")
            #expect(leader.highWatermark == 4)

            // A new leader: the follower drops what is above its high watermark.
            try follower.truncate(to: follower.highWatermark)
            #expect(follower.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 4, highWatermark: 4))
            // A batch that would leave a gap is refused.
            var third = ByteBuffer()
            _ = try leader.read(from: 4, maxBytes: 1 << 20, toLogEnd: true, into: &third)
            #expect(try follower.appendReplicated(third, leaderHighWatermark: 6, sync: false) == 6)
            try follower.truncate(to: 2)
            #expect(throws: StorageError.self) { try follower.appendReplicated(third, leaderHighWatermark: 6, sync: false) }

            // Back to one replica: the watermark follows the log end again.
            leader.setReplicated(false)
            #expect(leader.highWatermark == 6)
        }
    }
}

import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// Retention against a real database: `PartitionLog.enforceRetention` reads the headers, deletes
/// the prefix the policy names and gives its disk space back.
@Suite struct RetentionStorageTests {
    /// A fixed "now" (2023-11-14); batch timestamps are set relative to it.
    static let now: Int64 = 1_700_000_000_000
    static let hour: Int64 = 3_600_000

    @Test func timeRetentionDeletesTheOldBatchesAndGivesTheSpaceBack() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            // 96 batches two hours old, then 32 one second old; 10 records and 64 KiB of
            // incompressible bytes each (partition column families use LZ4): 8 MiB in all.
            var random = XorShift(seed: 42)
            var originals: [ByteBuffer] = []
            for i in 0..<128 {
                let ts = i < 96 ? Self.now - 2 * Self.hour : Self.now - 1_000
                let bytes = batchBytes(records: 10, body: random.bytes(64 << 10), baseTimestamp: ts, maxTimestamp: ts)
                originals.append(bytes)
                _ = try log.append([try produced(bytes)], leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 1_280, highWatermark: 1_280))
            // Memtables to SST files (every column family, so the WAL holding the batches is
            // released too): what is measured below is what sits in files.
            for name in log.db.columnFamilyNames {
                try log.db.flush(try #require(log.db.columnFamily(named: name)))
            }
            let before = try directoryBytes(dir + "/db")

            let policy = RetentionPolicy(retentionMs: Self.hour, retentionBytes: -1, cleanupPolicy: "delete")
            let outcome = try log.enforceRetention(policy, nowMs: Self.now)
            let batchSize = Int64(61 + (64 << 10))
            #expect(outcome == RetentionOutcome(decision: RetentionDecision(
                newLogStartOffset: 960, batches: 96, bytes: 96 * batchSize)))
            #expect(log.offsets == LogOffsets(logStartOffset: 960, logEndOffset: 1_280, highWatermark: 1_280))
            // A second pass at the same time finds nothing more.
            #expect(try log.enforceRetention(policy, nowMs: Self.now) == nil)

            // Below the new start: out of range, as Kafka answers a consumer there.
            for offset: Int64 in [0, 500, 959] {
                #expect(throws: StorageError.offsetOutOfRange(requested: offset, logStartOffset: 960, logEndOffset: 1_280)) {
                    _ = try readAll(log, from: offset)
                }
            }
            // From it: exactly the kept batches.
            let kept = originals[96...].enumerated().flatMap {
                stamped($0.element, baseOffset: 960 + Int64($0.offset) * 10, leaderEpoch: 0)
            }
            #expect(try readAll(log, from: 960) == kept)

            // Appends continue at the old end.
            let next = try log.append([try producedBatch(records: 1, body: .pattern(10, seed: 9), maxTimestamp: Self.now)],
                                       leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(next.baseOffset == 1_280)

            // The space is back: 96 × 64 KiB ≈ 6 MiB of SST data is gone from the directory.
            // (A checkpoint or snapshot on the same file system would hard-link the SST files
            // and keep these bytes on disk until it is removed; there is none here.)
            let after = try directoryBytes(dir + "/db")
            print("retention: database directory \(before) bytes before, \(after) after reclaiming \(96 * batchSize)")
            #expect(after < before - 96 * batchSize * 9 / 10)

            // The new start survives a restart.
            store.close()
            let reopened = try openStore(dir)
            defer { reopened.close() }
            let log2 = try #require(reopened.partition(TopicPartition("t", 0)))
            #expect(log2.offsets == LogOffsets(logStartOffset: 960, logEndOffset: 1_281, highWatermark: 1_281))
            #expect(try readAll(log2, from: 960).prefix(kept.count) == kept[...])
        }
    }

    @Test func sizeRetentionKeepsAtMostTheLimit() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            // Ten batches of 2 records and 1,000 body bytes: 1,061 stored bytes each.
            for i in 0..<10 {
                _ = try log.append([try producedBatch(records: 2, body: .pattern(1_000, seed: UInt8(i)), maxTimestamp: Self.now)],
                                   leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            // 10,610 bytes; limit 3,500 keeps 3 batches (3,183), deleting 7 (offsets 0–13).
            let policy = RetentionPolicy(retentionMs: -1, retentionBytes: 3_500, cleanupPolicy: "delete")
            #expect(try log.enforceRetention(policy, nowMs: Self.now)
                    == RetentionOutcome(decision: RetentionDecision(newLogStartOffset: 14, batches: 7, bytes: 7 * 1_061)))
            #expect(log.offsets == LogOffsets(logStartOffset: 14, logEndOffset: 20, highWatermark: 20))
            #expect(try readAll(log, from: 14).count == 3 * 1_061)
        }
    }

    @Test func anEmptiedPartitionKeepsItsOffsetsAcrossARestart() throws {
        try withTempDirectory { dir in
            do {
                let store = try openStore(dir)
                defer { store.close() }
                try store.createTopic(name: "t", partitions: 1, configs: [:])
                let log = try #require(store.partition(TopicPartition("t", 0)))
                for _ in 0..<3 {
                    _ = try log.append([try producedBatch(records: 4, body: .pattern(50, seed: 1), maxTimestamp: 1_000)],
                                       leaderEpoch: 0, logAppendTime: nil, sync: false)
                }
                let policy = RetentionPolicy(retentionMs: 0, retentionBytes: -1, cleanupPolicy: "compact,delete")
                #expect(try log.enforceRetention(policy, nowMs: Self.now)?.decision
                        == RetentionDecision(newLogStartOffset: 12, batches: 3, bytes: 3 * 111))
                #expect(log.offsets == LogOffsets(logStartOffset: 12, logEndOffset: 12, highWatermark: 12))
                #expect(try readAll(log, from: 12).isEmpty)
            }
            let store = try openStore(dir)
            defer { store.close() }
            let log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(log.offsets == LogOffsets(logStartOffset: 12, logEndOffset: 12, highWatermark: 12))
            let next = try log.append([try producedBatch(records: 1, body: .pattern(5, seed: 2))],
                                      leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(next.baseOffset == 12)
        }
    }

    @Test func aCompactOnlyTopicIsNeverTrimmed() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            _ = try log.append([try producedBatch(records: 4, body: .pattern(50, seed: 1), maxTimestamp: 1_000)],
                               leaderEpoch: 0, logAppendTime: nil, sync: false)
            let policy = RetentionPolicy(retentionMs: 0, retentionBytes: 0, cleanupPolicy: "compact")
            #expect(try log.enforceRetention(policy, nowMs: Self.now) == nil)
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 4, highWatermark: 4))
        }
    }

    /// Bytes of the regular files under `path`.
    func directoryBytes(_ path: String) throws -> Int64 {
        let fm = FileManager.default
        var total: Int64 = 0
        for case let name as String in try #require(fm.enumerator(atPath: path)) {
            let attributes = try fm.attributesOfItem(atPath: path + "/" + name)
            if attributes[.type] as? FileAttributeType == .typeRegular {
                total += (attributes[.size] as? NSNumber)?.int64Value ?? 0
            }
        }
        return total
    }
}

/// Incompressible test bytes without the cost of `UInt8.random` per byte.
struct XorShift {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8]()
        out.reserveCapacity(count + 8)
        while out.count < count {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            withUnsafeBytes(of: state) { out.append(contentsOf: $0) }
        }
        return Array(out.prefix(count))
    }
}

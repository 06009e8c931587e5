import Foundation
import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import WeirStorage

@Suite struct LogStoreTests {
    @Test func restartRecoversTopicsLogsConfigsAndCommittedOffsets() throws {
        try withTempDirectory { dir in
            let batch = batchBytes(records: 3, body: .pattern(64, seed: 9))
            var created: TopicRecord
            do {
                let store = try openStore(dir)
                created = try store.createTopic(name: "orders", partitions: 2, configs: ["retention.ms": "1000"])
                try store.createTopic(name: "audit", partitions: 1, configs: [:])
                let p1 = try #require(store.partition(TopicPartition("orders", 1)))
                for _ in 0..<4 {
                    _ = try p1.append([try produced(batch)], leaderEpoch: 3, logAppendTime: nil, sync: false)
                }
                try store.alterTopicConfigs(name: "audit", ["cleanup.policy": "delete", "segment.ms": "5"])
                try store.offsets.commit(group: "g", offsets: [
                    TopicPartition("orders", 1): CommittedOffset(offset: 7, leaderEpoch: 3, metadata: "m", commitTimestampMs: 123),
                ])
                // No flushWAL, no clean flush of memtables: recovery replays the WAL.
                store.close()
            }
            let store = try openStore(dir)
            defer { store.close() }
            #expect(store.topics().map(\.name) == ["audit", "orders"])
            #expect(store.topic(named: "orders") == created)
            #expect(store.topic(named: "audit")?.configs == ["cleanup.policy": "delete", "segment.ms": "5"])
            let p0 = try #require(store.partition(TopicPartition("orders", 0)))
            let p1 = try #require(store.partition(TopicPartition("orders", 1)))
            #expect(p0.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 0, highWatermark: 0))
            #expect(p1.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 12, highWatermark: 12))
            #expect(try readAll(p1, from: 9) == stamped(batch, baseOffset: 9, leaderEpoch: 3))
            #expect(store.partition(TopicPartition("orders", 2)) == nil)
            #expect(store.partition(TopicPartition("orders", -1)) == nil)
            #expect(try store.offsets.fetch(group: "g", partitions: nil) == [
                TopicPartition("orders", 1): CommittedOffset(offset: 7, leaderEpoch: 3, metadata: "m", commitTimestampMs: 123),
            ])
            let r = try p1.append([try produced(batch)], leaderEpoch: 4, logAppendTime: nil, sync: false)
            #expect(r.baseOffset == 12)
        }
    }

    @Test func creatingAnExistingTopicThrows() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            #expect(throws: StorageError.topicExists("t")) { try store.createTopic(name: "t", partitions: 3, configs: [:]) }
            #expect(throws: StorageError.invalidArgument("partition count 0")) {
                try store.createTopic(name: "u", partitions: 0, configs: [:])
            }
            #expect(throws: StorageError.unknownTopic("nope")) { try store.deleteTopic(name: "nope") }
            #expect(store.topics().map(\.name) == ["t"])
        }
    }

    @Test func deletedThenRecreatedTopicStartsEmpty() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            let first = try store.createTopic(name: "t", partitions: 2, configs: ["a": "b"])
            let old = try #require(store.partition(TopicPartition("t", 0)))
            _ = try old.append([try producedBatch(records: 10, body: [1, 2, 3])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            try old.deleteRecords(before: 4)
            try store.offsets.commit(group: "g", offsets: [
                TopicPartition("t", 0): CommittedOffset(offset: 5, commitTimestampMs: 1),
                TopicPartition("other", 0): CommittedOffset(offset: 6, commitTimestampMs: 1),
            ])
            try store.deleteTopic(name: "t")
            #expect(store.topic(named: "t") == nil)
            #expect(store.partition(TopicPartition("t", 0)) == nil)
            #expect(old.isDeleted)
            let cfName = PartitionLog.columnFamilyName(topicId: first.id, partition: 0)
            #expect(throws: StorageError.columnFamilyDropped(cfName)) {
                try old.append([try producedBatch(records: 1, body: [1])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            #expect(try store.catalog.logStartOffset(topicId: first.id, partition: 0) == nil)
            #expect(try store.offsets.fetch(group: "g", partitions: nil) == [
                TopicPartition("other", 0): CommittedOffset(offset: 6, commitTimestampMs: 1),
            ])

            let second = try store.createTopic(name: "t", partitions: 1, configs: [:])
            #expect(second.id != first.id)
            #expect(second.configs == [:])
            let fresh = try #require(store.partition(TopicPartition("t", 0)))
            #expect(fresh.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 0, highWatermark: 0))
            let r = try fresh.append([try producedBatch(records: 2, body: [9])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(r.baseOffset == 0)
            #expect(!store.db.columnFamilyNames.contains(cfName))
        }
    }

    @Test func createPartitionsAddsEmptyLogsThatPersist() throws {
        try withTempDirectory { dir in
            do {
                let store = try openStore(dir)
                defer { store.close() }
                try store.createTopic(name: "t", partitions: 2, configs: [:])
                let p0 = try #require(store.partition(TopicPartition("t", 0)))
                _ = try p0.append([try producedBatch(records: 3, body: [1])], leaderEpoch: 0, logAppendTime: nil, sync: false)
                let record = try store.createPartitions(name: "t", newTotal: 5)
                #expect(record.partitionCount == 5)
                #expect(throws: StorageError.invalidArgument("topic t has 5 partitions, asked for 5")) {
                    try store.createPartitions(name: "t", newTotal: 5)
                }
                #expect(throws: StorageError.unknownTopic("x")) { try store.createPartitions(name: "x", newTotal: 5) }
                #expect(store.partition(TopicPartition("t", 0)) === p0)
                let p4 = try #require(store.partition(TopicPartition("t", 4)))
                _ = try p4.append([try producedBatch(records: 2, body: [2])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            let store = try openStore(dir)
            defer { store.close() }
            #expect(store.topic(named: "t")?.partitionCount == 5)
            let id = try #require(store.topic(named: "t")).id
            #expect(Set(store.db.columnFamilyNames.filter { $0.hasPrefix("log/") })
                == Set((0..<5).map { PartitionLog.columnFamilyName(topicId: id, partition: $0) }))
            #expect(try (0..<5).map { try #require(store.partition(TopicPartition("t", $0))).logEndOffset } == [3, 0, 0, 0, 2])
        }
    }

    @Test func startupDropsColumnFamiliesTheCatalogDoesNotName() throws {
        try withTempDirectory { dir in
            let orphans = (0..<2).map { PartitionLog.columnFamilyName(topicId: KafkaUUID(high: 1, low: 2), partition: $0) }
            do {
                let store = try openStore(dir)
                defer { store.close() }
                try store.createTopic(name: "t", partitions: 1, configs: [:])
                // As if a crash struck between creating column families and writing the catalog.
                let cfs = try store.db.createColumnFamilies(orphans, options: RocksDBOptions())
                try store.db.put(cfs[0], key: OffsetKey(0), value: [1])
            }
            let store = try openStore(dir)
            defer { store.close() }
            #expect(orphans.allSatisfy { store.db.columnFamily(named: $0) == nil })
            #expect(store.topics().map(\.name) == ["t"])
            let t0 = PartitionLog.columnFamilyName(topicId: try #require(store.topic(named: "t")).id, partition: 0)
            store.close()
            let listed = try RocksDB.listColumnFamilies(path: dir + "/db", options: RocksDBOptions())
            #expect(Set(listed) == ["default", TopicCatalog.columnFamilyName, OffsetStore.columnFamilyName,
                                   ProducerStateStore.columnFamilyName, AbortedTransactionIndex.columnFamilyName,
                                   TransactionStore.columnFamilyName, RocksDBMetadataStore.scramColumnFamilyName,
                                   RocksDBMetadataStore.aclsColumnFamilyName, t0])
        }
    }

    @Test func startupCreatesMissingPartitionColumnFamiliesEmpty() throws {
        try withTempDirectory { dir in
            let record: TopicRecord
            do {
                let store = try openStore(dir)
                defer { store.close() }
                record = try store.createTopic(name: "t", partitions: 3, configs: [:])
                let p0 = try #require(store.partition(TopicPartition("t", 0)))
                _ = try p0.append([try producedBatch(records: 2, body: [1])], leaderEpoch: 0, logAppendTime: nil, sync: false)
                // As if the column families of partitions 1 and 2 had been lost.
                try store.db.dropColumnFamilies([1, 2].map { try #require(store.partition(TopicPartition("t", $0))).cf })
            }
            let store = try openStore(dir)
            defer { store.close() }
            #expect(store.topic(named: "t") == record)
            #expect(try (0..<3).map { try #require(store.partition(TopicPartition("t", $0))).logEndOffset } == [2, 0, 0])
            let p2 = try #require(store.partition(TopicPartition("t", 2)))
            _ = try p2.append([try producedBatch(records: 1, body: [3])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(p2.logEndOffset == 1)
        }
    }

    @Test func checkpointOpensAsAStore() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 1, configs: ["x": "y"])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let batch = batchBytes(records: 2, body: .pattern(33, seed: 4))
            _ = try log.append([try produced(batch)], leaderEpoch: 1, logAppendTime: nil, sync: false)
            try store.offsets.commit(group: "g", offsets: [TopicPartition("t", 0): CommittedOffset(offset: 1, commitTimestampMs: 2)])
            #expect(store.flushWAL(sync: true))
            try store.checkpoint(to: dir + "/snap")
            _ = try log.append([try produced(batch)], leaderEpoch: 1, logAppendTime: nil, sync: false)
            store.close()
            #expect(!store.flushWAL(sync: true))
            #expect(throws: StorageError.closed) { try readAll(log, from: 0) }

            let copy = try LogStore.open(directory: dir + "/snap", options: testOptions(), logger: quietLogger)
            defer { copy.close() }
            #expect(copy.topic(named: "t")?.configs == ["x": "y"])
            let copied = try #require(copy.partition(TopicPartition("t", 0)))
            #expect(copied.logEndOffset == 2)
            #expect(try readAll(copied, from: 0) == stamped(batch, baseOffset: 0, leaderEpoch: 1))
            #expect(try copy.offsets.fetch(group: "g", partitions: [TopicPartition("t", 0)])[TopicPartition("t", 0)]?.offset == 1)
        }
    }

    /// Deleting a topic while other threads append to and read from it: every call either
    /// succeeds or throws; none touches a destroyed handle.
    @Test func deleteTopicRacingAppendsAndReads() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 2, configs: [:])
            let logs = [try #require(store.partition(TopicPartition("t", 0))),
                        try #require(store.partition(TopicPartition("t", 1)))]
            let batch = try producedBatch(records: 1, body: .pattern(200, seed: 1))
            let unexpected = Mutex<[String]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                if worker == 0 {
                    usleep(2_000)
                    do { try store.deleteTopic(name: "t") } catch { unexpected.withLock { $0.append("\(error)") } }
                    return
                }
                let log = logs[worker % 2]
                for _ in 0..<300 {
                    do {
                        _ = try log.append([batch], leaderEpoch: 0, logAppendTime: nil, sync: false)
                        var buffer = ByteBuffer()
                        _ = try log.read(from: log.logStartOffset, maxBytes: 4096, into: &buffer)
                    } catch StorageError.columnFamilyDropped(_), StorageError.rocksDB(_) {
                        // The topic went away under us: the expected outcomes.
                    } catch {
                        unexpected.withLock { $0.append("\(error)") }
                    }
                }
            }
            #expect(unexpected.withLock { $0 } == [])
            #expect(logs[0].isDeleted && logs[1].isDeleted)
            #expect(store.topics() == [])
        }
    }

    /// A thousand partitions of one topic: each keeps exactly its own batches across a reopen
    /// (no partition reads another's column family), and one delete removes every column family
    /// for good. Speed and memory are measured by `make bench`, not here (creating and dropping
    /// the column families of a topic in one RocksDB call each is what keeps this test fast).
    /// Set WEIR_STORAGE_PARTITIONS for another size.
    @Test func manyPartitions() throws {
        let count = Int32(ProcessInfo.processInfo.environment["WEIR_STORAGE_PARTITIONS"] ?? "") ?? 1_000
        // Partition p holds p % 3 + 1 batches; batch i has i + 1 records and a body unique to (p, i).
        func batches(_ p: Int32) -> [ByteBuffer] {
            (0...Int(p % 3)).map { i in
                batchBytes(records: Int32(i + 1),
                           body: Array("partition \(p) batch \(i)".utf8) + .pattern(100, seed: UInt8(truncatingIfNeeded: p)))
            }
        }
        /// What partition p must hold: its batches stamped with consecutive offsets, and its end offset.
        func expected(_ p: Int32) -> (bytes: [UInt8], end: Int64) {
            var offset: Int64 = 0
            var bytes: [UInt8] = []
            for (i, b) in batches(p).enumerated() {
                bytes += stamped(b, baseOffset: offset, leaderEpoch: 0)
                offset += Int64(i + 1)
            }
            return (bytes, offset)
        }
        func partitionFamilies(_ store: LogStore) -> [String] {
            store.db.columnFamilyNames.filter { $0.hasPrefix("log/") }.sorted()
        }
        try withTempDirectory { dir in
            let topic: TopicRecord
            do {
                let store = try openStore(dir, StorageOptions())
                defer { store.close() }
                topic = try store.createTopic(name: "many", partitions: count, configs: [:])
                let families = (0..<count).map { PartitionLog.columnFamilyName(topicId: topic.id, partition: $0) }.sorted()
                #expect(partitionFamilies(store) == families)
                for p in 0..<count {
                    let log = try #require(store.partition(TopicPartition("many", p)))
                    for b in batches(p) {
                        _ = try log.append([try produced(b)], leaderEpoch: 0, logAppendTime: nil, sync: false)
                    }
                }
            }

            do {
                let store = try openStore(dir, StorageOptions())
                defer { store.close() }
                #expect(store.topic(named: "many") == topic)
                #expect(partitionFamilies(store)
                    == (0..<count).map { PartitionLog.columnFamilyName(topicId: topic.id, partition: $0) }.sorted())
                var logs: [PartitionLog] = []
                var wrong: [String] = []
                for p in 0..<count {
                    let log = try #require(store.partition(TopicPartition("many", p)))
                    logs.append(log)
                    let want = expected(p)
                    let offsets = (log.logStartOffset, log.logEndOffset, log.highWatermark)
                    if offsets != (0, want.end, want.end) {
                        wrong.append("partition \(p): start, end, high watermark \(offsets), expected (0, \(want.end), \(want.end))")
                    }
                    if try readAll(log, from: 0) != want.bytes { wrong.append("partition \(p): stored bytes differ") }
                }
                #expect(wrong.isEmpty, "\(wrong.count) partitions wrong after reopen; first: \(wrong.prefix(5))")

                try store.deleteTopic(name: "many")
                #expect(store.topics() == [])
                #expect(store.topic(named: "many") == nil)
                #expect(store.partition(TopicPartition("many", 0)) == nil)
                #expect(logs.filter { !$0.isDeleted }.count == 0)
                #expect(partitionFamilies(store) == [])
            }

            // The delete is durable: nothing comes back on the next open.
            let store = try openStore(dir, StorageOptions())
            defer { store.close() }
            #expect(store.topics() == [])
            #expect(partitionFamilies(store) == [])
        }
    }
}

import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// The operator's view of a real database: `ReadOnlyLogStore` and `LogInspector` (summaries,
/// dump, verify) and `LogStore.restoreSnapshot`, with exact figures.
@Suite struct LogInspectorTests {
    private func append(_ log: PartitionLog, records: Int32, bodySize: Int, base: Int64, max: Int64, seed: UInt8 = 1) throws {
        let bytes = batchBytes(records: records, body: .pattern(bodySize, seed: seed), baseTimestamp: base, maxTimestamp: max)
        _ = try log.append([try produced(bytes)], leaderEpoch: 0, logAppendTime: nil, sync: false)
    }

    @Test func summariesGiveExactFigures() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            let a = try store.createTopic(name: "a", partitions: 2, configs: [:])
            let b = try store.createTopic(name: "b", partitions: 1, configs: ["cleanup.policy": "compact"])
            let a0 = try #require(store.partition(TopicPartition("a", 0)))
            try append(a0, records: 2, bodySize: 10, base: 1_000, max: 1_001)
            try append(a0, records: 3, bodySize: 20, base: 2_000, max: 2_002)
            try append(a0, records: 5, bodySize: 30, base: 3_000, max: 3_004)
            let b0 = try #require(store.partition(TopicPartition("b", 0)))
            try append(b0, records: 4, bodySize: 7, base: 5_000, max: 5_003)
            try append(b0, records: 4, bodySize: 7, base: 6_000, max: 6_003)
            // Inside the second batch: the first goes, the second stays whole.
            _ = try b0.deleteRecords(before: 6)
            store.close()

            let readOnly = try LogStore.openReadOnly(directory: dir + "/db")
            defer { readOnly.close() }
            let summaries = try LogInspector(readOnly).summaries()
            #expect(summaries == [
                PartitionSummary(topic: "a", topicId: a.id.base64, partition: 0, logStartOffset: 0, logEndOffset: 10,
                                 records: 10, batches: 3, bytes: 61 * 3 + 60, firstTimestamp: 1_000, lastTimestamp: 3_004),
                PartitionSummary(topic: "a", topicId: a.id.base64, partition: 1),
                PartitionSummary(topic: "b", topicId: b.id.base64, partition: 0, logStartOffset: 6, logEndOffset: 8,
                                 records: 4, batches: 1, bytes: 61 + 7, firstTimestamp: 6_000, lastTimestamp: 6_003),
            ])
            #expect(try LogInspector(readOnly).summaries(topic: "b") == [summaries[2]])
            #expect(try LogInspector(readOnly).summaries(topic: "a", partition: 1) == [summaries[1]])
            #expect(throws: StorageError.unknownTopic("c")) { try LogInspector(readOnly).summaries(topic: "c") }
            #expect(throws: StorageError.invalidArgument("topic a has 2 partitions, no partition 2")) {
                try LogInspector(readOnly).summaries(topic: "a", partition: 2)
            }
        }
    }

    @Test func readOnlyOpenWorksBesideTheBrokersOpenAndSeesItsUnflushedWrites() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            try append(log, records: 3, bodySize: 5, base: 10, max: 12)
            // Only in the memtable and the WAL: the read-only open replays the WAL.
            let readOnly = try LogStore.openReadOnly(directory: dir + "/db")
            #expect(try LogInspector(readOnly).summaries().map(\.logEndOffset) == [3])
            #expect(try LogInspector(readOnly).verify().problems == [])
            // It writes nothing: RocksDB refuses a write through it.
            let cf = try #require(readOnly.db.columnFamily(named: "catalog"))
            #expect(throws: (any Error).self) { try readOnly.db.put(cf, key: [1], value: [2]) }
            readOnly.close()
            // A second read-write open is refused, recognisably.
            do {
                _ = try openStore(dir)
                Issue.record("a second read-write open succeeded")
            } catch let error as StorageError {
                #expect(error.isDatabaseInUse, "\(error)")
            }
            #expect(throws: StorageError.invalidArgument("no database at \(dir)/none")) {
                try LogStore.openReadOnly(directory: dir + "/none")
            }
        }
    }

    @Test func verifyCountsEverythingOnACleanDatabase() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 2, configs: [:])
            let t0 = try #require(store.partition(TopicPartition("t", 0)))
            for i in 0..<4 { try append(t0, records: 10, bodySize: 100, base: Int64(i), max: Int64(i)) }
            let t1 = try #require(store.partition(TopicPartition("t", 1)))
            try append(t1, records: 1, bodySize: 3, base: 0, max: 0)
            _ = try t0.deleteRecords(before: 15)
            store.close()
            let readOnly = try LogStore.openReadOnly(directory: dir + "/db")
            defer { readOnly.close() }
            var fractions: [Double] = []
            let report = try LogInspector(readOnly).verify { fractions.append($0) }
            #expect(report.problems == [])
            // t-0 keeps batches 10…19, 20…29, 30…39 after the DeleteRecords inside the second.
            #expect(report.partitions == 2 && report.batches == 4 && report.bytes == 3 * 161 + 64)
            #expect(fractions.last == 1 && fractions == fractions.sorted())
        }
    }

    @Test func verifyNamesTheBatchWhoseStoredByteWasFlipped() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            for i in 0..<3 { try append(log, records: 10, bodySize: 50, base: Int64(i), max: Int64(i), seed: UInt8(i)) }
            // One byte of the second batch's records, as a bad disk or a bug would leave it.
            var value = try #require(try store.db.get(log.cf, key: OffsetKey(10)))
            value[100] ^= 0x01
            try store.db.put(log.cf, key: OffsetKey(10), value: value, sync: true)
            store.close()

            let readOnly = try LogStore.openReadOnly(directory: dir + "/db")
            defer { readOnly.close() }
            let report = try LogInspector(readOnly).verify()
            #expect(report.problems.count == 1)
            let problem = try #require(report.problems.first)
            #expect(problem.topic == "t" && problem.partition == 0 && problem.offset == 10)
            #expect(problem.message.hasPrefix("batch: CRC-32C 0x") && problem.message.contains("does not match the stored 0x"))
            #expect(problem.description.hasPrefix("t-0 offset 10: batch: CRC-32C"))
            #expect(report.batches == 3)

            // The dump still shows it, marked.
            var crcs: [Int64: Bool] = [:]
            try LogInspector(readOnly).dump(TopicPartition("t", 0)) { batch in
                crcs[batch.keyOffset] = batch.crcValid
                return true
            }
            #expect(crcs == [0: true, 10: false, 20: true])
        }
    }

    @Test func verifyFindsGapsOrphansMissingFamiliesStartOffsetsAndProducers() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            let t = try store.createTopic(name: "t", partitions: 1, configs: [:])
            let gone = try store.createTopic(name: "gone", partitions: 1, configs: [:])
            let s = try store.createTopic(name: "s", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            for i in 0..<3 { try append(log, records: 10, bodySize: 20, base: Int64(i), max: Int64(i)) }
            let sLog = try #require(store.partition(TopicPartition("s", 0)))
            try append(sLog, records: 5, bodySize: 20, base: 0, max: 0)
            // A gap: the middle batch's key removed.
            try store.db.delete(log.cf, key: OffsetKey(10), sync: true)
            // A column family no topic names, and a topic without its column family.
            _ = try store.db.createColumnFamily("log/AAAAAAAAAAAAAAAAAAAAAA/0", options: RocksDBOptions())
            let goneLog = try #require(store.partition(TopicPartition("gone", 0)))
            try store.db.dropColumnFamily(goneLog.cf)
            let batch = WriteBatch()
            // s-0's start offset past its only batch (offsets 0…4).
            try store.catalog.setLogStartOffset(7, topicId: s.id, partition: 0, in: batch)
            // A producer whose last batch lies past t-0's end (30).
            try store.producers.put(ProducerState(epoch: 0, batches: [ProducerBatchMetadata(
                firstSequence: 0, lastSequence: 4, baseOffset: 40, lastOffset: 44, maxTimestamp: 0)]),
                topicId: t.id, partition: 0, producerId: 9, in: batch)
            try store.db.write(batch, sync: true)
            store.close()

            let readOnly = try LogStore.openReadOnly(directory: dir + "/db")
            defer { readOnly.close() }
            let report = try LogInspector(readOnly).verify()
            let goneFamily = PartitionLog.columnFamilyName(topicId: gone.id, partition: 0)
            #expect(report.problems.map(\.description) == [
                "gone-0: the partition has no column family \(goneFamily)",
                "s-0 offset 0: the log start offset 7 is past the first batch's last offset 4",
                "t-0 offset 20: gap: offsets 10…19 are missing",
                "t-0 offset 40: producer 9's last batch 40…44 lies beyond the log end offset 30",
                "column family log/AAAAAAAAAAAAAAAAAAAAAA/0: no topic of the catalog names this partition column family",
            ])
            #expect(report.partitions == 2 && report.batches == 3)
        }
    }

    @Test func dumpDecodesCompressedRecordsFromAnOffset() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            var builder = RecordBatchBuilder(codec: .lz4, baseTimestamp: 1_700_000_000_000, producerId: 5,
                                             producerEpoch: 1, baseSequence: 0)
            builder.append(key: ByteBuffer(string: "k0"), value: ByteBuffer(string: "v0"))
            builder.append(key: nil, value: ByteBuffer(bytes: [0, 0xFF, 0x41]),
                           headers: [RecordHeader(key: "h", value: ByteBuffer(string: "x"))], timestamp: 1_700_000_000_001)
            builder.append(key: ByteBuffer(string: "k2"), value: nil, timestamp: 1_700_000_000_002)
            _ = try log.append([try produced(try builder.build())], leaderEpoch: 3, logAppendTime: nil, sync: false)
            store.close()

            let readOnly = try LogStore.openReadOnly(directory: dir + "/db")
            defer { readOnly.close() }
            var batches: [DumpedBatch] = []
            try LogInspector(readOnly).dump(TopicPartition("t", 0), from: 1) { batches.append($0); return true }
            #expect(batches.count == 1)
            let batch = try #require(batches.first)
            #expect(batch.crcValid && batch.error == nil)
            #expect(batch.header?.compression == .lz4 && batch.header?.producerId == 5 && batch.header?.partitionLeaderEpoch == 3)
            #expect(batch.records == [
                DecodedBatch.Entry(offset: 1, timestamp: 1_700_000_000_001, key: nil, value: ByteBuffer(bytes: [0, 0xFF, 0x41]),
                                   headers: [RecordHeader(key: "h", value: ByteBuffer(string: "x"))]),
                DecodedBatch.Entry(offset: 2, timestamp: 1_700_000_000_002, key: ByteBuffer(string: "k2"), value: nil, headers: []),
            ])
        }
    }

    @Test func aRestoredSnapshotHoldsTheSameLogsAndVerifies() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 2, configs: [:])
            for p: Int32 in 0..<2 {
                let log = try #require(store.partition(TopicPartition("t", p)))
                for i in 0..<(3 + Int(p)) { try append(log, records: 4, bodySize: 1_000, base: Int64(i), max: Int64(i)) }
            }
            try store.checkpoint(to: dir + "/snap")
            store.close()

            var fractions: [Double] = []
            let copied = try LogStore.restoreSnapshot(from: dir + "/snap", to: dir + "/restored") { fractions.append($0) }
            let files = try FileManager.default.contentsOfDirectory(atPath: dir + "/snap")
            #expect(copied.files == files.count && fractions.last == 1)
            let original = try LogStore.openReadOnly(directory: dir + "/db")
            let restored = try LogStore.openReadOnly(directory: dir + "/restored")
            defer {
                original.close()
                restored.close()
            }
            #expect(try LogInspector(restored).summaries() == LogInspector(original).summaries())
            #expect(try LogInspector(restored).summaries().map(\.logEndOffset) == [12, 16])
            let report = try LogInspector(restored).verify()
            #expect(report.problems == [] && report.batches == 7)
            // Not into a directory that holds something.
            #expect(throws: StorageError.invalidArgument("\(dir)/restored exists and is not an empty directory")) {
                try LogStore.restoreSnapshot(from: dir + "/snap", to: dir + "/restored")
            }
        }
    }
}

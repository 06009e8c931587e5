import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// Key-based compaction against a real database: `PartitionLog.compact` reads, rewrites batches
/// in place (offsets kept) and records its checkpoint.
@Suite struct CompactionStorageTests {
    static let now: Int64 = 1_700_000_000_000
    static let day: Int64 = 86_400_000

    /// One record as a test describes it: key and value as text, nil for null.
    struct Entry: Equatable, CustomStringConvertible {
        var offset: Int64
        var key: String?
        var value: String?
        var description: String { "\(offset):\(key ?? "∅")=\(value ?? "∅")" }
    }

    /// A producer's batch of `records` (key, value), built by the protocol's own builder.
    static func batch(_ records: [(String?, String?)], codec: CompressionCodec = .none, timestamp: Int64 = now - 1_000,
                      producerId: Int64 = -1, epoch: Int16 = -1, sequence: Int32 = -1) throws -> ProducedBatch {
        var builder = RecordBatchBuilder(codec: codec, baseTimestamp: timestamp, producerId: producerId,
                                         producerEpoch: epoch, baseSequence: sequence)
        for (i, (key, value)) in records.enumerated() {
            builder.append(key: key.map { ByteBuffer(string: $0) }, value: value.map { ByteBuffer(string: $0) },
                           timestamp: timestamp + Int64(i))
        }
        return try produced(builder.build())
    }

    /// Every record readable from `offset`, every batch's CRC checked.
    static func entries(_ log: PartitionLog, from offset: Int64) throws -> [Entry] {
        var buffer = ByteBuffer()
        _ = try log.read(from: offset, maxBytes: 1 << 30, into: &buffer)
        var reader = RecordBatchReader(buffer, verifyCRC: true)
        return try reader.allBatches().flatMap { batch in
            batch.map { Entry(offset: $0.offset, key: $0.key.map { String(buffer: $0) },
                              value: $0.value.map { String(buffer: $0) }) }
        }.filter { $0.offset >= offset }
    }

    static func headers(_ log: PartitionLog) throws -> [RecordBatchHeader] {
        var buffer = ByteBuffer()
        _ = try log.read(from: log.logStartOffset, maxBytes: 1 << 30, into: &buffer)
        var reader = RecordBatchReader(buffer, verifyCRC: true)
        return try reader.allBatches().map(\.header)
    }

    /// What compaction must leave of `all`: the latest record per key (tombstones too, unless
    /// `dropTombstones`), in offset order.
    static func expected(_ all: [Entry], dropTombstones: Bool = false) -> [Entry] {
        var latest: [String: Entry] = [:]
        for e in all { if let key = e.key { latest[key] = e } }
        return latest.values.filter { !dropTombstones || $0.value != nil }.sorted { $0.offset < $1.offset }
    }

    /// Appends `batches` and returns every record with the offset it got.
    static func append(_ batches: [[(String?, String?)]], to log: PartitionLog, codec: CompressionCodec = .none) throws -> [Entry] {
        var all: [Entry] = []
        for records in batches {
            let result = try log.append([try batch(records, codec: codec)], leaderEpoch: 0, logAppendTime: nil, sync: false)
            for (i, (k, v)) in records.enumerated() { all.append(Entry(offset: result.baseOffset + Int64(i), key: k, value: v)) }
        }
        return all
    }

    /// 40 batches of 5 records over 7 keys; key k3 ends with a tombstone, k5 is tombstoned then
    /// written again.
    static func workload() -> [[(String?, String?)]] {
        (0..<40).map { b in
            (0..<5).map { r -> (String?, String?) in
                let n = b * 5 + r
                let key = "k\(n % 7)"
                if n == 199 { return ("k3", nil) }         // 199 % 7 = 3: k3's last record
                if n == 47 { return ("k5", nil) }          // k5 tombstoned early, rewritten later
                return (key, "v\(n)")
            }
        }
    }

    @Test(arguments: CompressionCodec.allCases)
    func keepsTheLatestRecordPerKeyAtItsOffset(codec: CompressionCodec) throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: ["cleanup.policy": "compact"])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let all = try Self.append(Self.workload(), to: log, codec: codec)
            let offsetsBefore = log.offsets
            #expect(offsetsBefore == LogOffsets(logStartOffset: 0, logEndOffset: 200, highWatermark: 200))

            let policy = CompactionPolicy(compacts: true, deleteRetentionMs: Self.day)
            let outcome = try #require(try log.compact(policy, nowMs: Self.now))
            #expect(outcome.decision.trigger == .dirtyRatio(1))
            #expect(outcome.cleanedUpTo == 200)
            #expect(outcome.recordsRemoved == 200 - 7)
            #expect(outcome.reclaimFailure == nil)
            // Offsets unchanged; exactly the latest record per key, k3's tombstone still there.
            #expect(log.offsets == offsetsBefore)
            let expected = Self.expected(all)
            #expect(expected.count == 7 && expected.contains { $0.key == "k3" && $0.value == nil })
            #expect(try Self.entries(log, from: 0) == expected)
            // Every batch decodes with a valid CRC and keeps its codec (the empty ones have none).
            for h in try Self.headers(log) where h.recordsCount > 0 {
                #expect(h.compression == codec)
            }
            // A read from any offset starts at the first survivor at or after it.
            for offset in Int64(0)..<200 {
                #expect(try Self.entries(log, from: offset) == expected.filter { $0.offset >= offset }, "from \(offset)")
            }
            // The database is consistent for `weir log verify`.
            #expect(try LogInspector(store).verify().problems == [])

            // A second pass at the same time has nothing to do.
            #expect(try log.compact(policy, nowMs: Self.now) == nil)
            // A day later the tombstone's horizon has passed: it goes, on its own.
            let later = try #require(try log.compact(policy, nowMs: Self.now + Self.day))
            #expect(later.decision.trigger == .tombstonesDue)
            #expect(later.recordsRemoved == 1)
            #expect(try Self.entries(log, from: 0) == Self.expected(all, dropTombstones: true))
            #expect(try log.compact(policy, nowMs: Self.now + Self.day) == nil)
            #expect(log.offsets == offsetsBefore)

            // Appends continue at the old end, and the new records are dirty again (a few bytes
            // against the clean part: compacted at a low min.cleanable.dirty.ratio).
            let more = try Self.append([[("k0", "new")]], to: log, codec: codec)
            #expect(more == [Entry(offset: 200, key: "k0", value: "new")])
            #expect(try log.compact(policy, nowMs: Self.now + Self.day) == nil)
            let eager = CompactionPolicy(compacts: true, minCleanableDirtyRatio: 0.01, deleteRetentionMs: Self.day)
            _ = try #require(try log.compact(eager, nowMs: Self.now + Self.day))
            #expect(try Self.entries(log, from: 0)
                == (Self.expected(all, dropTombstones: true).filter { $0.key != "k0" } + more))
            #expect(try LogInspector(store).verify().problems == [])
        }
    }

    @Test func survivesARestartWithItsCheckpoint() throws {
        try withTempDirectory { dir in
            var store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            var log = try #require(store.partition(TopicPartition("t", 0)))
            let all = try Self.append(Self.workload(), to: log)
            let policy = CompactionPolicy(compacts: true, deleteRetentionMs: 0)
            _ = try #require(try log.compact(policy, nowMs: Self.now))
            let checkpoint = try log.cleanerCheckpoint()
            #expect(checkpoint.cleanedUpTo == 200)
            #expect(checkpoint.tombstoneRanges == [.init(end: 200, cleanedAtMs: Self.now, tombstones: 1)])
            store.close()

            store = try openStore(dir)
            defer { store.close() }
            log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 200, highWatermark: 200))
            #expect(try log.cleanerCheckpoint() == checkpoint)
            #expect(try Self.entries(log, from: 0) == Self.expected(all))
            // delete.retention.ms=0: the next pass removes the tombstone.
            _ = try #require(try log.compact(policy, nowMs: Self.now))
            #expect(try Self.entries(log, from: 0) == Self.expected(all, dropTombstones: true))
            #expect(try log.cleanerCheckpoint().tombstoneRanges == [])
            // Deleting the topic takes the checkpoint along (it lives under the log start key).
            try store.deleteTopic(name: "t")
            #expect(try store.catalog.topicIdsWithLogStartOffsets().isEmpty)
        }
    }

    @Test func idempotentProducersKeepTheirLastBatch() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            func idempotent(_ records: [(String?, String?)], sequence: Int32, codec: CompressionCodec = .lz4) throws -> AppendResult {
                try log.append([try Self.batch(records, codec: codec, producerId: 7, epoch: 0, sequence: sequence)],
                               leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            #expect(try idempotent([("a", "1"), ("b", "1")], sequence: 0).baseOffset == 0)   // 0–1
            #expect(try idempotent([("a", "2"), ("b", "2")], sequence: 2).baseOffset == 2)   // 2–3
            let plain = try Self.append([[("a", "3"), ("b", "3"), ("c", "3")]], to: log)     // 4–6
            #expect(plain.first?.offset == 4)

            _ = try #require(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now))
            let headers = try Self.headers(log)
            // 0–1: emptied, not the producer's last: an empty batch with no producer.
            // 2–3: emptied, but producer 7's last batch: kept empty with its producer fields and
            //      its lastOffsetDelta, as Kafka keeps it. 4–6: untouched.
            #expect(headers.map { [$0.baseOffset, $0.lastOffset, Int64($0.recordsCount), $0.producerId] }
                == [[0, 1, 0, -1], [2, 3, 0, 7], [4, 6, 3, -1]])
            #expect(headers[1].producerEpoch == 0 && headers[1].baseSequence == 2 && headers[1].compression == .none)
            #expect(try Self.entries(log, from: 0) == plain)

            // The producer's state is as it was: a retry of its last batch is a duplicate,
            // its next sequence is accepted.
            let retry = try idempotent([("a", "2"), ("b", "2")], sequence: 2)
            #expect(retry.duplicate && retry.baseOffset == 2 && retry.lastOffset == 3)
            #expect(try idempotent([("d", "4")], sequence: 4).baseOffset == 7)
            #expect(try LogInspector(store).verify().problems == [])
        }
    }

    @Test func runsOfEmptiedBatchesBecomeOneEmptyBatch() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            // 100 single-record batches over 3 keys, then the survivors.
            let all = try Self.append((0..<100).map { [("k\($0 % 3)", "v\($0)")] }, to: log)
            let outcome = try #require(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now))
            #expect(outcome.recordsRemoved == 97)
            #expect(outcome.batchesDeleted == 96)
            let headers = try Self.headers(log)
            #expect(headers.map { [$0.baseOffset, $0.lastOffset, Int64($0.recordsCount)] }
                == [[0, 96, 0], [97, 97, 1], [98, 98, 1], [99, 99, 1]])
            // The empty batch carries the run's largest timestamp, for retention by time.
            #expect(headers[0].maxTimestamp == Self.now - 1_000)
            #expect(try Self.entries(log, from: 0) == Self.expected(all))
            // The next run absorbs the empty batch before it.
            let more = try Self.append((0..<3).map { [("k\($0 % 3)", "w\($0)")] }, to: log)
            _ = try #require(try log.compact(CompactionPolicy(compacts: true, minCleanableDirtyRatio: 0.1), nowMs: Self.now))
            #expect(try Self.headers(log).map { [$0.baseOffset, $0.lastOffset, Int64($0.recordsCount)] }
                == [[0, 99, 0], [100, 100, 1], [101, 101, 1], [102, 102, 1]])
            #expect(try Self.entries(log, from: 0) == more)
        }
    }

    @Test func manyChangedBatchesAreWrittenInSeveralChunks() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            // 3,000 batches: a unique key that stays and a hot key that is overwritten, so every
            // batch but the last is rewritten: more than two chunks of 1,024.
            let all = try Self.append((0..<3_000).map { [("u\($0)", "x"), ("hot", "\($0)")] }, to: log,
                                      codec: .snappy)
            let outcome = try #require(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now))
            #expect(outcome.batchesRewritten == 2_999)
            #expect(outcome.recordsRemoved == 2_999)
            #expect(try Self.entries(log, from: 0) == Self.expected(all))
            #expect(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now) == nil)
        }
    }

    struct Crash: Error {}

    @Test func aCrashBetweenChunksLosesNothingCompactionKeeps() throws {
        try withTempDirectory { dir in
            var store = try openStore(dir)
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            var log = try #require(store.partition(TopicPartition("t", 0)))
            let all = try Self.append((0..<3_000).map { [("u\($0)", "x"), ("hot", "\($0)")] }, to: log)
            // The first chunk (batches 0–1,023, offsets 0–2,047, without "hot") is written; the process dies
            // before the second.
            #expect(throws: Crash.self) {
                try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now, maxDecompressedSize: 1 << 20) {
                    if $0 == 1 { throw Crash() }
                }
            }
            store.close()
            store = try openStore(dir)
            defer { store.close() }
            log = try #require(store.partition(TopicPartition("t", 0)))
            // Every latest record is there; the older "hot" values past the first chunk too;
            // the checkpoint did not move.
            #expect(try Self.entries(log, from: 0) == all.filter { $0.key != "hot" || $0.offset > 2 * 1_023 + 1 })
            #expect(try log.cleanerCheckpoint() == CleanerCheckpoint())
            // The next pass finishes the job.
            _ = try #require(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now))
            #expect(try Self.entries(log, from: 0) == Self.expected(all))
            #expect(try log.cleanerCheckpoint().cleanedUpTo == 6_000)
        }
    }

    @Test func batchesDeletedMeanwhileAreLeftAlone() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let all = try Self.append((0..<100).map { [("u\($0)", "x"), ("hot", "\($0)")] }, to: log)
            // A DeleteRecords lands between reading and writing: the batches it removed are not
            // written back.
            let outcome = try #require(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now,
                                                       maxDecompressedSize: 1 << 20) { _ in
                try log.deleteRecords(before: 100)
            })
            #expect(outcome.batchesSkipped == 50)
            #expect(outcome.batchesRewritten == 49)
            #expect(log.offsets == LogOffsets(logStartOffset: 100, logEndOffset: 200, highWatermark: 200))
            #expect(try Self.entries(log, from: 100) == Self.expected(all).filter { $0.offset >= 100 })
            #expect(try LogInspector(store).verify().problems == [])
        }
    }

    @Test func minCompactionLagLeavesTheHeadAlone() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            var all: [Entry] = []
            // Ten old batches, then ten written "just now".
            for i in 0..<20 {
                let ts = i < 10 ? Self.now - Self.day : Self.now - 10
                let r = try log.append([try Self.batch([("k", "v\(i)")], timestamp: ts)], leaderEpoch: 0,
                                       logAppendTime: nil, sync: false)
                all.append(Entry(offset: r.baseOffset, key: "k", value: "v\(i)"))
            }
            let policy = CompactionPolicy(compacts: true, minCompactionLagMs: 60_000)
            let outcome = try #require(try log.compact(policy, nowMs: Self.now))
            #expect(outcome.cleanedUpTo == 10)
            // Within the old part only the latest of "k" stays; the head is untouched.
            #expect(try Self.entries(log, from: 0) == [all[9]] + all[10...])
        }
    }

    @Test func reclaimsTheSpaceOfOverwrittenRecords() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            // 10 keys × 200 overwrites of 1 KiB incompressible values, 10 records a batch.
            var random = XorShift(seed: 7)
            for _ in 0..<200 {
                var builder = RecordBatchBuilder(codec: .none, baseTimestamp: Self.now - 1_000)
                for k in 0..<10 {
                    builder.append(key: ByteBuffer(string: "k\(k)"), value: ByteBuffer(bytes: random.bytes(1_024)))
                }
                _ = try log.append([try produced(builder.build())], leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            for name in log.db.columnFamilyNames { try log.db.flush(try #require(log.db.columnFamily(named: name))) }
            let before = try Self.directoryBytes(dir + "/db")
            let outcome = try #require(try log.compact(CompactionPolicy(compacts: true), nowMs: Self.now))
            for name in log.db.columnFamilyNames { try log.db.flush(try #require(log.db.columnFamily(named: name))) }
            let after = try Self.directoryBytes(dir + "/db")
            print("compaction: \(outcome.bytesBefore) stored bytes changed → \(outcome.bytesAfter); "
                  + "database directory \(before) bytes before, \(after) after")
            #expect(outcome.recordsRemoved == 1_990)
            #expect(after < before / 4)
        }
    }

    static func directoryBytes(_ path: String) throws -> Int64 {
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

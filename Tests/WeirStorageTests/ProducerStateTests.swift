import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// A valid v2 batch of an idempotent producer, as a Produce request delivers it.
private func idempotent(_ producerId: Int64, epoch: Int16, sequence: Int32, records: Int32 = 2,
                        seed: UInt8 = 0, maxTimestamp: Int64 = 1_000) throws -> ProducedBatch {
    try produced(idempotentBytes(producerId, epoch: epoch, sequence: sequence, records: records, seed: seed,
                                 maxTimestamp: maxTimestamp))
}

private func idempotentBytes(_ producerId: Int64, epoch: Int16, sequence: Int32, records: Int32 = 2,
                             seed: UInt8 = 0, maxTimestamp: Int64 = 1_000) -> ByteBuffer {
    let body: [UInt8] = .pattern(20, seed: seed)
    let header = RecordBatchHeader(baseOffset: 0, batchLength: Int32(49 + body.count), partitionLeaderEpoch: -1,
                                   magic: 2, crc: 0, attributes: 0, lastOffsetDelta: records - 1,
                                   baseTimestamp: 1_000, maxTimestamp: maxTimestamp, producerId: producerId,
                                   producerEpoch: epoch, baseSequence: sequence, recordsCount: records)
    var buffer = ByteBufferAllocator().buffer(capacity: 61 + body.count)
    header.write(to: &buffer)
    buffer.writeBytes(body)
    RecordBatchHeader.updateCRC(in: &buffer, batchAt: 0, totalSize: buffer.readableBytes)
    return buffer
}

private func append(_ log: PartitionLog, _ batch: ProducedBatch, logAppendTime: Int64? = nil) throws -> AppendResult {
    try log.append([batch], leaderEpoch: 0, logAppendTime: logAppendTime, sync: false)
}

/// The raw keys and values of the `producers` column family.
private func producerRows(_ store: LogStore) throws -> [([UInt8], [UInt8])] {
    try store.db.withIterator(store.producers.cf) { it in
        var rows: [([UInt8], [UInt8])] = []
        it.seekToFirst()
        while it.isValid {
            rows.append((it.keyBytes(), it.valueBytes()))
            it.next()
        }
        try it.checkError()
        return rows
    }
}

private func meta(_ first: Int32, _ last: Int32, _ base: Int64, _ lastOffset: Int64, _ ts: Int64 = 1_000) -> ProducerBatchMetadata {
    ProducerBatchMetadata(firstSequence: first, lastSequence: last, baseOffset: base, lastOffset: lastOffset, maxTimestamp: ts)
}

@Suite struct ProducerStateTests {
    @Test func sequencesInOrderAreAcceptedAndStoredWithTheBatch() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            let record = try store.createTopic(name: "t", partitions: 2, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 1)))
            let one = idempotentBytes(7, epoch: 0, sequence: 0, records: 3, seed: 1)
            let two = idempotentBytes(7, epoch: 0, sequence: 3, records: 2, seed: 2)
            let three = idempotentBytes(7, epoch: 0, sequence: 5, records: 1, seed: 3)
            #expect(try append(log, try produced(one)) == AppendResult(baseOffset: 0, lastOffset: 2, logAppendTime: -1, logStartOffset: 0))
            #expect(try append(log, try produced(two)) == AppendResult(baseOffset: 3, lastOffset: 4, logAppendTime: -1, logStartOffset: 0))
            #expect(try append(log, try produced(three)) == AppendResult(baseOffset: 5, lastOffset: 5, logAppendTime: -1, logStartOffset: 0))
            #expect(try readAll(log, from: 0) == stamped(one, baseOffset: 0, leaderEpoch: 0)
                + stamped(two, baseOffset: 3, leaderEpoch: 0) + stamped(three, baseOffset: 5, leaderEpoch: 0))
            let expected = ProducerState(epoch: 0, batches: [meta(0, 2, 0, 2), meta(3, 4, 3, 4), meta(5, 5, 5, 5)])
            #expect(log.producerState(7) == expected)

            // On disk: one row, key = topic id + partition 1 + producer 7, value as documented.
            let rows = try producerRows(store)
            #expect(rows.count == 1)
            #expect(rows.first?.0 == record.id.bytes + [0, 0, 0, 1] + [0, 0, 0, 0, 0, 0, 0, 7])
            var value: [UInt8] = [0, 0, 0, 3]
            for (first, last, base) in [(0, 2, 0), (3, 4, 3), (5, 5, 5)] as [(Int32, Int32, Int64)] {
                value.appendBigEndian(first)
                value.appendBigEndian(last)
                value.appendBigEndian(base)
                value.appendBigEndian(base + Int64(last - first))
                value.appendBigEndian(Int64(1_000))
            }
            #expect(rows.first?.1 == value)
            #expect(store.partition(TopicPartition("t", 0))?.producerState(7) == nil)
        }
    }

    @Test func aRetryOfEachOfTheLastFiveBatchesReturnsItsOffsetsAndWritesNothing() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            // Seven batches of 2 records: sequences 0-1, 2-3, …, 12-13 at offsets 0-1 … 12-13.
            for i in 0..<7 {
                _ = try append(log, try idempotent(9, epoch: 2, sequence: Int32(2 * i), seed: UInt8(i)))
            }
            let before = try readAll(log, from: 0)
            let rowsBefore = try producerRows(store)
            for i in 2..<7 {
                // A retry carries the same header and records; a different body must not matter.
                let r = try append(log, try idempotent(9, epoch: 2, sequence: Int32(2 * i), seed: 99))
                #expect(r == AppendResult(baseOffset: Int64(2 * i), lastOffset: Int64(2 * i + 1), logAppendTime: -1,
                                          logStartOffset: 0, duplicate: true))
            }
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 14, highWatermark: 14))
            #expect(try readAll(log, from: 0) == before)
            #expect(try producerRows(store).map(\.1) == rowsBefore.map(\.1))
            // The two oldest are no longer cached: out of order, not duplicates.
            for i in 0..<2 {
                #expect(throws: ProducerStateError.outOfOrderSequence(producerId: 9, epoch: 2, firstSequence: Int32(2 * i),
                                                                      expected: 14)) {
                    try append(log, try idempotent(9, epoch: 2, sequence: Int32(2 * i)))
                }
            }
            // A batch overlapping a cached one without the same range is no duplicate either.
            #expect(throws: ProducerStateError.self) { try append(log, try idempotent(9, epoch: 2, sequence: 12, records: 1)) }
            #expect(log.logEndOffset == 14)
            // And the next in sequence goes on from 14.
            #expect(try append(log, try idempotent(9, epoch: 2, sequence: 14)).baseOffset == 14)
        }
    }

    @Test func aGapIsOutOfOrderAndWritesNothing() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            _ = try append(log, try idempotent(1, epoch: 0, sequence: 0, records: 2))
            let error = #expect(throws: ProducerStateError.self) {
                try append(log, try idempotent(1, epoch: 0, sequence: 3))
            }
            #expect(error == .outOfOrderSequence(producerId: 1, epoch: 0, firstSequence: 3, expected: 2))
            #expect(error?.code == .outOfOrderSequenceNumber)
            #expect(log.logEndOffset == 2)
            #expect(log.producerState(1) == ProducerState(epoch: 0, batches: [meta(0, 1, 0, 1)]))
        }
    }

    @Test func anOlderEpochIsFencedAndANewEpochMustStartAtZero() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            _ = try append(log, try idempotent(4, epoch: 1, sequence: 0))
            _ = try append(log, try idempotent(4, epoch: 1, sequence: 2))

            let stale = #expect(throws: ProducerStateError.self) { try append(log, try idempotent(4, epoch: 0, sequence: 4)) }
            #expect(stale == .staleEpoch(producerId: 4, epoch: 0, current: 1))
            #expect(stale?.code == .invalidProducerEpoch)
            // Not even a retry of an older epoch's batch is answered.
            #expect(throws: ProducerStateError.staleEpoch(producerId: 4, epoch: 0, current: 1)) {
                try append(log, try idempotent(4, epoch: 0, sequence: 0))
            }
            #expect(throws: ProducerStateError.outOfOrderSequence(producerId: 4, epoch: 2, firstSequence: 4, expected: 0)) {
                try append(log, try idempotent(4, epoch: 2, sequence: 4))
            }
            #expect(log.logEndOffset == 4)

            // KIP-360 bump: epoch 2 from sequence 0; the old epoch's batches are forgotten.
            #expect(try append(log, try idempotent(4, epoch: 2, sequence: 0)).baseOffset == 4)
            #expect(log.producerState(4) == ProducerState(epoch: 2, batches: [meta(0, 1, 4, 5)]))
            #expect(throws: ProducerStateError.staleEpoch(producerId: 4, epoch: 1, current: 2)) {
                try append(log, try idempotent(4, epoch: 1, sequence: 4))
            }
            #expect(try append(log, try idempotent(4, epoch: 2, sequence: 2)).baseOffset == 6)
        }
    }

    @Test func anUnknownProducerStartsAtAnySequenceAndOthersAreUnchecked() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(try append(log, try idempotent(3, epoch: 5, sequence: 1_000)).baseOffset == 0)
            #expect(log.producerState(3) == ProducerState(epoch: 5, batches: [meta(1_000, 1_001, 0, 1)]))
            // Plain batches (producer id -1) repeat freely and leave no state.
            let plain = try producedBatch(records: 2, body: [1, 2, 3])
            #expect(try append(log, plain).baseOffset == 2)
            #expect(try append(log, plain).baseOffset == 4)
            #expect(try producerRows(store).count == 1)
        }
    }

    @Test func sequencesWrapFromInt32MaxToZero() throws {
        #expect(ProducerState.lastSequence(first: Int32.max - 1, lastOffsetDelta: 3) == 1)
        #expect(ProducerState.lastSequence(first: Int32.max, lastOffsetDelta: 0) == Int32.max)
        #expect(ProducerState.lastSequence(first: 5, lastOffsetDelta: 2) == 7)
        #expect(ProducerState.nextSequence(after: Int32.max) == 0)
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            _ = try append(log, try idempotent(2, epoch: 0, sequence: Int32.max - 1, records: 3))
            #expect(log.producerState(2)?.batches.last == meta(Int32.max - 1, 0, 0, 2))
            // A retry across the wrap is recognised; the next batch starts at 1.
            #expect(try append(log, try idempotent(2, epoch: 0, sequence: Int32.max - 1, records: 3)).duplicate)
            #expect(try append(log, try idempotent(2, epoch: 0, sequence: 1)).baseOffset == 3)
            // A batch ending exactly at Int32.max is followed by 0.
            _ = try append(log, try idempotent(3, epoch: 0, sequence: Int32.max - 1, records: 2))
            #expect(throws: ProducerStateError.outOfOrderSequence(producerId: 3, epoch: 0, firstSequence: 1, expected: 0)) {
                try append(log, try idempotent(3, epoch: 0, sequence: 1))
            }
            #expect(try append(log, try idempotent(3, epoch: 0, sequence: 0)).baseOffset == 7)
        }
    }

    @Test func severalBatchesOfOneProducerInOneAppend() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let r = try log.append([try idempotent(8, epoch: 0, sequence: 0), try idempotent(8, epoch: 0, sequence: 2)],
                                   leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(r == AppendResult(baseOffset: 0, lastOffset: 3, logAppendTime: -1, logStartOffset: 0))
            #expect(log.producerState(8) == ProducerState(epoch: 0, batches: [meta(0, 1, 0, 1), meta(2, 3, 2, 3)]))
            // Repeating a batch of the same append is out of order (it was never stored), and
            // the whole append is refused.
            #expect(throws: ProducerStateError.outOfOrderSequence(producerId: 8, epoch: 0, firstSequence: 4, expected: 6)) {
                try log.append([try idempotent(8, epoch: 0, sequence: 4), try idempotent(8, epoch: 0, sequence: 4)],
                               leaderEpoch: 0, logAppendTime: nil, sync: false)
            }
            #expect(log.logEndOffset == 4)
            #expect(log.producerState(8)?.batches.count == 2)
        }
    }

    @Test func aRetryOnALogAppendTimeTopicReturnsTheFirstAppendTime() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(try append(log, try idempotent(5, epoch: 0, sequence: 0), logAppendTime: 7_777).logAppendTime == 7_777)
            let retry = try append(log, try idempotent(5, epoch: 0, sequence: 0), logAppendTime: 9_999)
            #expect(retry == AppendResult(baseOffset: 0, lastOffset: 1, logAppendTime: 7_777, logStartOffset: 0, duplicate: true))
        }
    }

    @Test func stateSurvivesCloseAndReopen() throws {
        try withTempDirectory { dir in
            do {
                let store = try openStore(dir)
                defer { store.close() }
                try store.createTopic(name: "t", partitions: 3, configs: [:])
                let log = try #require(store.partition(TopicPartition("t", 2)))
                for i in 0..<3 {
                    _ = try append(log, try idempotent(11, epoch: 1, sequence: Int32(2 * i), seed: UInt8(i)))
                }
                _ = try append(try #require(store.partition(TopicPartition("t", 0))), try idempotent(12, epoch: 0, sequence: 0))
            }
            let store = try openStore(dir)
            defer { store.close() }
            let log = try #require(store.partition(TopicPartition("t", 2)))
            #expect(log.producerState(11) == ProducerState(epoch: 1, batches: [meta(0, 1, 0, 1), meta(2, 3, 2, 3), meta(4, 5, 4, 5)]))
            #expect(log.producerState(12) == nil)
            #expect(store.partition(TopicPartition("t", 0))?.producerState(12) == ProducerState(epoch: 0, batches: [meta(0, 1, 0, 1)]))
            // A retry sent after the restart is still recognised.
            #expect(try append(log, try idempotent(11, epoch: 1, sequence: 2)) ==
                    AppendResult(baseOffset: 2, lastOffset: 3, logAppendTime: -1, logStartOffset: 0, duplicate: true))
            #expect(log.logEndOffset == 6)
            #expect(throws: ProducerStateError.self) { try append(log, try idempotent(11, epoch: 1, sequence: 8)) }
            #expect(throws: ProducerStateError.self) { try append(log, try idempotent(11, epoch: 0, sequence: 6)) }
            #expect(try append(log, try idempotent(11, epoch: 1, sequence: 6)).baseOffset == 6)
        }
    }

    @Test func deletingTheTopicRemovesItsProducerState() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 2, configs: [:])
            let kept = try store.createTopic(name: "u", partitions: 1, configs: [:])
            for p in 0..<2 {
                _ = try append(try #require(store.partition(TopicPartition("t", Int32(p)))), try idempotent(6, epoch: 0, sequence: 0))
            }
            _ = try append(try #require(store.partition(TopicPartition("u", 0))), try idempotent(6, epoch: 0, sequence: 0))
            #expect(try producerRows(store).count == 3)
            try store.deleteTopic(name: "t")
            #expect(try producerRows(store).map { Array($0.0.prefix(16)) } == [kept.id.bytes])
            // A topic of the same name is a new topic: the producer is unknown there.
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(log.producerState(6) == nil)
            #expect(try append(log, try idempotent(6, epoch: 0, sequence: 0)).duplicate == false)
        }
    }

    @Test func stateOfATopicNotInTheCatalogIsRemovedAtOpen() throws {
        try withTempDirectory { dir in
            let live: KafkaUUID
            do {
                let store = try openStore(dir)
                defer { store.close() }
                live = try store.createTopic(name: "t", partitions: 1, configs: [:]).id
                _ = try append(try #require(store.partition(TopicPartition("t", 0))), try idempotent(1, epoch: 0, sequence: 0))
                // What an append racing a topic deletion leaves behind.
                let batch = WriteBatch()
                try store.producers.put(ProducerState(epoch: 0, batches: [meta(0, 0, 0, 0)]), topicId: KafkaUUID.random(),
                                        partition: 0, producerId: 1, in: batch)
                try store.db.write(batch, sync: true)
                #expect(try producerRows(store).count == 2)
            }
            let store = try openStore(dir)
            defer { store.close() }
            #expect(try producerRows(store).map { Array($0.0.prefix(16)) } == [live.bytes])
        }
    }

    @Test func producerIdsAreUniqueAcrossReopen() throws {
        try withTempDirectory { dir in
            var seen: [Int64] = []
            do {
                let store = try openStore(dir)
                defer { store.close() }
                for _ in 0..<3 { seen.append(try store.producerIds.allocate()) }
                #expect(seen == [0, 1, 2])
                #expect(store.producerIds.mayHaveIssued(2))
                #expect(store.producerIds.mayHaveIssued(999))
                #expect(!store.producerIds.mayHaveIssued(1_000))
                #expect(!store.producerIds.mayHaveIssued(-1))
            }
            do {
                // The rest of the reserved block is skipped after a restart.
                let store = try openStore(dir)
                defer { store.close() }
                #expect(try store.producerIds.allocate() == 1_000)
                // Small blocks: every block boundary persists the next reservation.
                let allocator = try ProducerIdAllocator(db: store.db, catalog: store.catalog.cf, blockSize: 3)
                #expect(try (0..<5).map { _ in try allocator.allocate() } == [2_000, 2_001, 2_002, 2_003, 2_004])
                let again = try ProducerIdAllocator(db: store.db, catalog: store.catalog.cf, blockSize: 3)
                #expect(try again.allocate() == 2_006)
            }
            let store = try openStore(dir)
            defer { store.close() }
            #expect(try store.producerIds.allocate() == 2_009)
            #expect(try store.catalog.topics().isEmpty)
        }
    }

    @Test func stateEncodingRoundTripsAndRejectsDamage() throws {
        let state = ProducerState(epoch: -2, batches: [meta(Int32.max, 4, 10, 15, -1), meta(5, 5, Int64.max - 1, Int64.max - 1)])
        let bytes = ProducerStateStore.encode(state)
        #expect(bytes.count == 4 + 64)
        #expect(try bytes.withUnsafeBytes { try ProducerStateStore.decode($0, producerId: 1) } == state)
        var empty = ProducerStateStore.encode(ProducerState(epoch: 3))
        #expect(empty == [0, 0, 3, 0])
        #expect(try empty.withUnsafeBytes { try ProducerStateStore.decode($0, producerId: 1) } == ProducerState(epoch: 3))

        var damaged: [[UInt8]] = [[], [0, 0, 3], Array(bytes.dropLast()), bytes + [0], [1] + bytes.dropFirst()]
        empty[3] = 6
        damaged.append(empty + [UInt8](repeating: 0, count: 6 * 32))
        for value in damaged {
            #expect(throws: StorageError.self) { try value.withUnsafeBytes { try ProducerStateStore.decode($0, producerId: 1) } }
        }
    }

    @Test func onlyTheLastFiveBatchesAreKept() throws {
        var state = ProducerState(epoch: 0)
        for i in 0..<8 { state.record(epoch: 0, meta(Int32(i), Int32(i), Int64(i), Int64(i))) }
        #expect(state.batches.map(\.firstSequence) == [3, 4, 5, 6, 7])
        #expect(try ProducerState.check(state, producerId: 1, epoch: 0, firstSequence: 3, lastSequence: 3) == .duplicate(meta(3, 3, 3, 3)))
        #expect(try ProducerState.check(state, producerId: 1, epoch: 0, firstSequence: 8, lastSequence: 9) == .append)
        #expect(try ProducerState.check(nil, producerId: 1, epoch: 0, firstSequence: 77, lastSequence: 77) == .append)
        state.record(epoch: 1, meta(0, 0, 8, 8))
        #expect(state == ProducerState(epoch: 1, batches: [meta(0, 0, 8, 8)]))
    }
}

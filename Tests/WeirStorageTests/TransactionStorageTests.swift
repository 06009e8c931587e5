import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirStorage

/// Transactions on a partition: batches of an open transaction hold the last stable offset
/// back, markers end them (idempotently), aborts land in the index, and all of it survives a
/// reopen; the coordinator's records round-trip through their store.
@Suite struct TransactionStorageTests {
    private func batch(_ producerId: Int64, epoch: Int16 = 0, sequence: Int32, values: [String],
                       transactional: Bool = true) throws -> ProducedBatch {
        var builder = RecordBatchBuilder(baseTimestamp: 1_000, producerId: producerId, producerEpoch: epoch,
                                         baseSequence: sequence, isTransactional: transactional)
        for v in values { builder.append(key: nil, value: ByteBuffer(string: v)) }
        return try produced(try builder.build())
    }

    private func append(_ log: PartitionLog, _ b: ProducedBatch) throws -> Int64 {
        try log.append([b], leaderEpoch: 0, logAppendTime: nil, sync: false).baseOffset
    }

    @Test func openTransactionsHoldTheLastStableOffsetAndMarkersReleaseIt() throws {
        try withTempDirectory { dir in
            var store = try openStore(dir)
            _ = try store.createTopic(name: "t", partitions: 1, configs: [:])
            var log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(try append(log, batch(1, sequence: 0, values: ["plain"], transactional: false)) == 0)
            #expect(try append(log, batch(7, sequence: 0, values: ["a", "b"])) == 1)   // txn of 7 from 1
            #expect(try append(log, batch(8, sequence: 0, values: ["c"])) == 3)        // txn of 8 from 3
            #expect(try append(log, batch(7, sequence: 2, values: ["d"])) == 4)
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 5, highWatermark: 5, lastStableOffset: 1))

            // read_committed stops at the LSO; read_uncommitted at the high watermark.
            var committed = ByteBuffer()
            _ = try log.read(from: 0, maxBytes: 1 << 20, committedOnly: true, into: &committed)
            var committedReader = RecordBatchReader(committed)
            #expect(try committedReader.allBatches().map(\.header.baseOffset) == [0])

            // Abort 7: marker at 5, index entry [1, 5]; the LSO moves to 8's first offset.
            #expect(try log.writeMarker(.abort, producerId: 7, epoch: 0, coordinatorEpoch: 0, timestamp: 2_000, sync: false) == 5)
            #expect(log.lastStableOffset == 3)
            // Written again (a coordinator recovering): nothing open, nothing written.
            #expect(try log.writeMarker(.abort, producerId: 7, epoch: 0, coordinatorEpoch: 0, timestamp: 2_000, sync: false) == nil)
            #expect(try log.abortedTransactions(from: 0, upTo: 6) == [AbortedTransaction(producerId: 7, firstOffset: 1, lastOffset: 5)])
            #expect(try log.abortedTransactions(from: 6, upTo: 10).isEmpty)
            #expect(try log.abortedTransactions(from: 0, upTo: 1).isEmpty)

            // A reopen keeps 8's open transaction and the index.
            store.close()
            store = try openStore(dir)
            log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(log.lastStableOffset == 3)
            #expect(log.openTransactions == [8: 3])
            #expect(try log.abortedTransactions(from: 0, upTo: 6).map(\.producerId) == [7])

            // Commit 8 with a bumped epoch: LSO = HW, and 8's old epoch is fenced afterwards.
            #expect(try log.writeMarker(.commit, producerId: 8, epoch: 1, coordinatorEpoch: 0, timestamp: 2_001, sync: false) == 6)
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 7, highWatermark: 7, lastStableOffset: 7))
            #expect(throws: ProducerStateError.self) { try append(log, batch(8, epoch: 0, sequence: 1, values: ["zombie"])) }

            var all = ByteBuffer()
            _ = try log.read(from: 0, maxBytes: 1 << 20, into: &all)
            var reader = RecordBatchReader(all)
            let batches = try reader.allBatches()
            #expect(batches.map(\.header.baseOffset) == [0, 1, 3, 4, 5, 6])
            #expect(batches.map(\.header.isControl) == [false, false, false, false, true, true])
            #expect(batches[4].map { ControlRecord.kind(ofKey: $0.key) } == [.abort])
            #expect(batches[5].map { ControlRecord.kind(ofKey: $0.key) } == [.commit])
            #expect(batches[5].header.producerEpoch == 1)

            // Records and index entries below a new log start go together.
            try log.deleteRecords(before: 6)
            #expect(try log.abortedTransactions(from: 0, upTo: 7).isEmpty)
            store.close()
        }
    }

    @Test func producersWithAnOpenTransactionDoNotExpire() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            _ = try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            _ = try append(log, batch(3, sequence: 0, values: ["open"]))
            _ = try append(log, batch(4, sequence: 0, values: ["idempotent"], transactional: false))
            #expect(try log.expireProducers(nowMs: 10_000_000, expirationMs: 1) == 1)
            #expect(log.producerStates.keys.sorted() == [3])
        }
    }

    @Test func transactionRecordsRoundTripThroughTheStore() throws {
        try withTempDirectory { dir in
            var store = try openStore(dir)
            let record = TransactionRecord(
                transactionalId: "tx-é", producerId: 42, producerEpoch: 3, timeoutMs: 60_000, state: .prepareCommit,
                partitions: [TopicPartition("a", 0), TopicPartition("b", 2)],
                pendingOffsets: ["g": [TopicPartition("in", 1): CommittedOffset(offset: 9, leaderEpoch: 2, metadata: nil, commitTimestampMs: 5),
                                       TopicPartition("in", 0): CommittedOffset(offset: 7, metadata: "m", commitTimestampMs: 5)]],
                startTimestampMs: 1_000, lastUpdateTimestampMs: 2_000)
            try store.transactions.put(record)
            store.close()
            store = try openStore(dir)
            #expect(try store.transactions.loadAll() == [record])
            var done = record
            done.state = .completeCommit
            done.partitions = []
            done.pendingOffsets = [:]
            try store.transactions.complete(done, committing: record.pendingOffsets, into: store.offsets)
            #expect(try store.transactions.loadAll() == [done])
            #expect(try store.offsets.fetch(group: "g", partitions: nil)[TopicPartition("in", 1)]?.offset == 9)
            try store.transactions.delete("tx-é")
            #expect(try store.transactions.loadAll().isEmpty)
            store.close()
        }
    }

    @Test func compactionDropsAbortedRecordsAndStopsAtTheLastStableOffset() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            _ = try store.createTopic(name: "c", partitions: 1, configs: ["cleanup.policy": "compact"])
            let log = try #require(store.partition(TopicPartition("c", 0)))
            func keyed(_ producerId: Int64, _ sequence: Int32, _ key: String, _ value: String, transactional: Bool = true) throws -> ProducedBatch {
                var builder = RecordBatchBuilder(baseTimestamp: 1_000, producerId: producerId, producerEpoch: 0,
                                                 baseSequence: sequence, isTransactional: transactional)
                builder.append(key: ByteBuffer(string: key), value: ByteBuffer(string: value))
                return try produced(try builder.build())
            }
            _ = try append(log, keyed(1, 0, "k", "committed"))                     // 0
            try log.writeMarker(.commit, producerId: 1, epoch: 0, coordinatorEpoch: 0, timestamp: 1, sync: false)  // 1
            _ = try append(log, keyed(2, 0, "k", "aborted"))                       // 2
            try log.writeMarker(.abort, producerId: 2, epoch: 0, coordinatorEpoch: 0, timestamp: 1, sync: false)   // 3
            _ = try append(log, keyed(3, 0, "k", "open"))                          // 4, still open
            let policy = CompactionPolicy(compacts: true, deleteRetentionMs: 86_400_000)
            let outcome = try #require(try log.compact(policy, nowMs: 1_700_000_000_000))
            #expect(outcome.cleanedUpTo == 4)                  // not into the open transaction
            var bytes = ByteBuffer()
            _ = try log.read(from: 0, maxBytes: 1 << 20, into: &bytes)
            var reader = RecordBatchReader(bytes)
            let values = try reader.allBatches().filter { !$0.header.isControl }.flatMap { $0.map { $0.value.map { String(buffer: $0) } } }
            // The aborted record neither stays nor shadows the committed one; the open one is untouched.
            #expect(values == ["committed", "open"])
        }
    }
}

import Foundation
import KafkaProtocol
import NIOCore
import Testing
@testable import WeirBroker
@testable import WeirStorage

/// The coordinator on a real RocksDB store, no sockets: a whole transaction, then a crash at
/// each step of an ending (simulated by storing what the steps before it stored, closing the
/// store, and opening a new coordinator on it), hanging transactions and timeouts.
@Suite struct TransactionCoordinatorTests {
    static let a = TopicPartition("t", 0)
    static let b = TopicPartition("t", 1)

    private func withStore(_ body: (String, inout LogStore) throws -> Void) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-txn-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var options = StorageOptions()
        options.blockCacheBytes = 8 << 20
        options.totalWriteBufferBytes = 32 << 20
        var store = try LogStore.open(directory: dir, options: options, logger: GroupTest.logger)
        try store.createTopic(name: "t", partitions: 2, configs: [:])
        try body(dir, &store)
        store.close()
    }

    private func reopen(_ dir: String, _ store: inout LogStore) throws -> TransactionCoordinator {
        store.close()
        var options = StorageOptions()
        options.blockCacheBytes = 8 << 20
        options.totalWriteBufferBytes = 32 << 20
        store = try LogStore.open(directory: dir, options: options, logger: GroupTest.logger)
        return try TransactionCoordinator(store: store, config: TransactionConfig(), logger: GroupTest.logger)
    }

    private func produce(_ store: LogStore, _ tp: TopicPartition, producerId: Int64, epoch: Int16, sequence: Int32,
                         _ value: String) throws {
        var builder = RecordBatchBuilder(baseTimestamp: 1_000, producerId: producerId, producerEpoch: epoch,
                                         baseSequence: sequence, isTransactional: true)
        builder.append(key: nil, value: ByteBuffer(string: value))
        let batch = try ProducedBatch.validate(try builder.build(), maxBatchBytes: 1 << 20).get()
        _ = try #require(store.partition(tp)).append(batch, leaderEpoch: 0, logAppendTime: nil, sync: false)
    }

    /// Markers in the partition, in order: (offset, kind, epoch).
    private func markers(_ store: LogStore, _ tp: TopicPartition) throws -> [(Int64, ControlRecord.Kind?, Int16)] {
        var bytes = ByteBuffer()
        _ = try #require(store.partition(tp)).read(from: 0, maxBytes: 1 << 20, into: &bytes)
        var reader = RecordBatchReader(bytes)
        return try reader.allBatches().filter(\.header.isControl).map {
            ($0.header.baseOffset, ControlRecord.kind(ofKey: $0.records.first?.key), $0.header.producerEpoch)
        }
    }

    /// Init, add both partitions and group g, produce one record to each, pend an offset.
    private func openTransaction(_ c: TransactionCoordinator, _ store: LogStore) throws -> (Int64, Int16) {
        let (id, epoch) = try c.initProducerId(transactionalId: "tx", timeoutMs: 60_000, expected: nil, nowMs: 1_000).get()
        #expect(c.addPartitions(transactionalId: "tx", producerId: id, epoch: epoch, partitions: [Self.a, Self.b], nowMs: 1_100) == .none)
        #expect(c.verifyProduce(producerId: id, epoch: epoch, to: Self.a) == .none)
        try produce(store, Self.a, producerId: id, epoch: epoch, sequence: 0, "to a")
        try produce(store, Self.b, producerId: id, epoch: epoch, sequence: 0, "to b")
        #expect(c.addOffsets(transactionalId: "tx", producerId: id, epoch: epoch, groupId: "g", nowMs: 1_200) == .none)
        #expect(c.commitOffsets(transactionalId: "tx", producerId: id, epoch: epoch, groupId: "g",
                                offsets: [TopicPartition("in", 0): CommittedOffset(offset: 42, commitTimestampMs: 1_200)],
                                nowMs: 1_200) == .none)
        #expect(c.hasPendingOffsets(groupId: "g", partition: TopicPartition("in", 0)))
        return (id, epoch)
    }

    @Test func aCommitWritesMarkersEverywhereAndMakesTheOffsetsVisible() throws {
        try withStore { _, store in
            let c = try TransactionCoordinator(store: store, config: TransactionConfig(), logger: GroupTest.logger)
            let (id, epoch) = try openTransaction(c, store)
            #expect(store.partition(Self.a)?.lastStableOffset == 0)
            #expect(try store.offsets.fetch(group: "g", partitions: nil).isEmpty)
            #expect(c.endTransaction(transactionalId: "tx", producerId: id, epoch: epoch, commit: true, nowMs: 2_000) == .none)
            #expect(try markers(store, Self.a).map(\.0) == [1] && markers(store, Self.b).map(\.1) == [.commit])
            #expect(store.partition(Self.a)?.lastStableOffset == 2)
            #expect(try store.offsets.fetch(group: "g", partitions: nil)[TopicPartition("in", 0)]?.offset == 42)
            #expect(!c.hasPendingOffsets(groupId: "g", partition: TopicPartition("in", 0)))
            #expect(c.records()["tx"]?.state == .completeCommit)
            // A produce after the end is refused until the next transaction adds the partition.
            #expect(c.verifyProduce(producerId: id, epoch: epoch, to: Self.a) == .invalidTxnState)
            #expect(try store.transactions.loadAll().map(\.state) == [.completeCommit])
        }
    }

    @Test func aCrashAfterThePrepareRecordIsCompletedAtStartup() throws {
        try withStore { dir, store in
            let c = try TransactionCoordinator(store: store, config: TransactionConfig(), logger: GroupTest.logger)
            _ = try openTransaction(c, store)
            // The crash: PrepareCommit stored, no marker yet.
            var prepared = try #require(c.records()["tx"])
            prepared.state = .prepareCommit
            try store.transactions.put(prepared)
            let restarted = try reopen(dir, &store)
            #expect(try markers(store, Self.a).map(\.1) == [.commit] && markers(store, Self.b).map(\.1) == [.commit])
            #expect(try store.offsets.fetch(group: "g", partitions: nil)[TopicPartition("in", 0)]?.offset == 42)
            #expect(restarted.records()["tx"]?.state == .completeCommit)
            #expect(try store.transactions.loadAll().map(\.state) == [.completeCommit])
        }
    }

    @Test func aCrashBetweenMarkersWritesOnlyTheMissingOnes() throws {
        try withStore { dir, store in
            let c = try TransactionCoordinator(store: store, config: TransactionConfig(), logger: GroupTest.logger)
            let (id, epoch) = try openTransaction(c, store)
            var prepared = try #require(c.records()["tx"])
            prepared.state = .prepareAbort
            try store.transactions.put(prepared)
            try #require(store.partition(Self.a)).writeMarker(.abort, producerId: id, epoch: epoch, coordinatorEpoch: 0,
                                                               timestamp: 1_500, sync: true)
            let restarted = try reopen(dir, &store)
            #expect(try markers(store, Self.a).map(\.0) == [1])          // not written twice
            #expect(try markers(store, Self.b).map(\.1) == [.abort])
            #expect(try store.offsets.fetch(group: "g", partitions: nil).isEmpty)   // an abort commits nothing
            #expect(restarted.records()["tx"]?.state == .completeAbort)
            #expect(try store.partition(Self.b)!.abortedTransactions(from: 0, upTo: 2).map(\.producerId) == [id])
        }
    }

    @Test func aCrashAfterTheCompleteRecordChangesNothingAtStartup() throws {
        try withStore { dir, store in
            let c = try TransactionCoordinator(store: store, config: TransactionConfig(), logger: GroupTest.logger)
            let (id, epoch) = try openTransaction(c, store)
            #expect(c.endTransaction(transactionalId: "tx", producerId: id, epoch: epoch, commit: false, nowMs: 2_000) == .none)
            let restarted = try reopen(dir, &store)
            #expect(try markers(store, Self.a).count == 1 && markers(store, Self.b).count == 1)
            #expect(restarted.records()["tx"]?.state == .completeAbort)
        }
    }

    @Test func aCrashWithTheTransactionOpenLeavesItToTheNextInstanceWhichAbortsIt() throws {
        try withStore { dir, store in
            let c = try TransactionCoordinator(store: store, config: TransactionConfig(), logger: GroupTest.logger)
            let (id, epoch) = try openTransaction(c, store)
            let restarted = try reopen(dir, &store)
            #expect(restarted.records()["tx"]?.state == .ongoing)
            #expect(store.partition(Self.a)?.lastStableOffset == 0)
            let (again, newEpoch) = try restarted.initProducerId(transactionalId: "tx", timeoutMs: 60_000, expected: nil,
                                                                  nowMs: 5_000).get()
            #expect(again == id && newEpoch == epoch + 1)
            #expect(try markers(store, Self.a).map { $0.1 } == [.abort] && markers(store, Self.a).map(\.2) == [newEpoch])
            #expect(store.partition(Self.b)?.lastStableOffset == 2)
            // The fenced instance is refused by the coordinator and by the partitions.
            #expect(restarted.endTransaction(transactionalId: "tx", producerId: id, epoch: epoch, commit: true, nowMs: 5_001) == .producerFenced)
            #expect(throws: ProducerStateError.self) { try produce(store, Self.a, producerId: id, epoch: epoch, sequence: 1, "zombie") }
        }
    }

    @Test func tickAbortsTimedOutAndHangingTransactionsAndExpiresIds() throws {
        try withStore { _, store in
            var config = TransactionConfig()
            config.idExpirationMs = 10_000
            let c = try TransactionCoordinator(store: store, config: config, logger: GroupTest.logger)
            let (id, epoch) = try c.initProducerId(transactionalId: "slow", timeoutMs: 1_000, expected: nil, nowMs: 0).get()
            #expect(c.addPartitions(transactionalId: "slow", producerId: id, epoch: epoch, partitions: [Self.a], nowMs: 0) == .none)
            try produce(store, Self.a, producerId: id, epoch: epoch, sequence: 0, "late")
            // A batch that raced its transaction's end: open on b, which the transaction never added.
            try produce(store, Self.b, producerId: id, epoch: epoch, sequence: 0, "hanging")
            #expect(c.tick(nowMs: 500) == (timedOut: 0, resumed: 0, hanging: 1, expired: 0))
            #expect(store.partition(Self.b)?.lastStableOffset == 2)
            #expect(c.tick(nowMs: 1_001) == (timedOut: 1, resumed: 0, hanging: 0, expired: 0))
            #expect(c.records()["slow"]?.producerEpoch == epoch + 1)
            #expect(c.endTransaction(transactionalId: "slow", producerId: id, epoch: epoch, commit: true, nowMs: 1_002) == .producerFenced)
            #expect(c.tick(nowMs: 1_001 + 10_000) == (timedOut: 0, resumed: 0, hanging: 0, expired: 1))
            #expect(c.records().isEmpty)
            #expect(try store.transactions.loadAll().isEmpty)
        }
    }
}

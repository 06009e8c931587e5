import KafkaProtocol
import Testing
import WeirBroker
import WeirStorage

/// The coordinator's decisions, without sockets or storage: every transition Kafka's
/// TransactionMetadata allows, and the refusals around them.
@Suite struct TransactionStateMachineTests {
    typealias SM = TransactionStateMachine
    static let a = TopicPartition("a", 0)
    static let b = TopicPartition("b", 1)

    private struct NotAssigned: Error {}

    private func newId() -> Int64 { 7 }

    private func assigned(_ d: SM.InitDecision) throws -> (TransactionRecord, SM.Ending?) {
        guard case .assign(let record, let abort) = d else {
            Issue.record("expected an assignment, got \(d)")
            throw NotAssigned()
        }
        return (record, abort)
    }

    private func fresh(timeout: Int32 = 60_000) throws -> TransactionRecord {
        try assigned(SM.initProducerId(nil, transactionalId: "t", timeoutMs: timeout, maxTimeoutMs: 900_000,
                                       expected: nil, nowMs: 1_000, newProducerId: newId)).0
    }

    @Test func aNewIdGetsAProducerAtEpochZeroAndTimeoutsAreBounded() throws {
        let r = try fresh()
        #expect(r == TransactionRecord(transactionalId: "t", producerId: 7, producerEpoch: 0, timeoutMs: 60_000,
                                       lastUpdateTimestampMs: 1_000))
        for bad: Int32 in [0, -1, 900_001] {
            #expect(SM.initProducerId(nil, transactionalId: "t", timeoutMs: bad, maxTimeoutMs: 900_000, expected: nil,
                                      nowMs: 0, newProducerId: newId) == .failure(.invalidTransactionTimeout))
        }
    }

    @Test func aTransactionGoesOngoingThenPrepareThenComplete() throws {
        var r = SM.addPartitions(try fresh(), [Self.b, Self.a], nowMs: 2_000)
        #expect(r.state == .ongoing && r.partitions == [Self.a, Self.b] && r.startTimestampMs == 2_000)
        r = SM.addPartitions(r, [Self.a], nowMs: 2_500)
        #expect(r.partitions == [Self.a, Self.b] && r.startTimestampMs == 2_000)
        r = SM.addOffsets(r, groupId: "g", nowMs: 2_600)
        let offsets = [TopicPartition("in", 0): CommittedOffset(offset: 5, commitTimestampMs: 2_700)]
        r = try SM.commitOffsets(r, groupId: "g", offsets: offsets, nowMs: 2_700).get()
        guard case .end(let ending) = SM.endTransaction(r, commit: true, nowMs: 3_000) else {
            Issue.record("commit refused")
            return
        }
        #expect(ending.prepared.state == .prepareCommit && ending.prepared.partitions == [Self.a, Self.b])
        #expect(ending.completed.state == .completeCommit && ending.completed.partitions.isEmpty)
        #expect(ending.completed.pendingOffsets.isEmpty && ending.completed.startTimestampMs == -1)
        #expect(ending.offsets == ["g": offsets])
        // A retry of the same EndTxn succeeds; the opposite one does not.
        #expect(SM.endTransaction(ending.completed, commit: true, nowMs: 3_100) == .alreadyDone)
        #expect(SM.endTransaction(ending.completed, commit: false, nowMs: 3_100) == .failure(.invalidTxnState))
        // The next transaction starts clean.
        let next = SM.addPartitions(ending.completed, [Self.b], nowMs: 4_000)
        #expect(next.state == .ongoing && next.partitions == [Self.b] && next.startTimestampMs == 4_000)
    }

    @Test func anAbortCommitsNoOffsets() throws {
        var r = SM.addOffsets(SM.addPartitions(try fresh(), [Self.a], nowMs: 1), groupId: "g", nowMs: 1)
        r = try SM.commitOffsets(r, groupId: "g", offsets: [Self.a: CommittedOffset(offset: 1, commitTimestampMs: 1)], nowMs: 1).get()
        guard case .end(let ending) = SM.endTransaction(r, commit: false, nowMs: 2) else {
            Issue.record("abort refused")
            return
        }
        #expect(ending.prepared.state == .prepareAbort && ending.completed.state == .completeAbort && ending.offsets.isEmpty)
    }

    @Test func offsetsNeedTheGroupAddedAndAnOpenTransaction() throws {
        let r = try fresh()
        #expect(SM.commitOffsets(r, groupId: "g", offsets: [:], nowMs: 1) == .failure(.invalidTxnState))
        let open = SM.addPartitions(r, [Self.a], nowMs: 1)
        #expect(SM.commitOffsets(open, groupId: "other", offsets: [:], nowMs: 1) == .failure(.invalidTxnState))
        #expect(SM.endTransaction(r, commit: true, nowMs: 1) == .failure(.invalidTxnState))
    }

    @Test func requestsFromAnotherProducerOrEpochAreRefused() throws {
        let r = try fresh()
        #expect(SM.check(nil, producerId: 7, epoch: 0) == .invalidProducerIdMapping)
        #expect(SM.check(r, producerId: 8, epoch: 0) == .invalidProducerIdMapping)
        #expect(SM.check(r, producerId: 7, epoch: 0) == .none)
        var bumped = r
        bumped.producerEpoch = 3
        #expect(SM.check(bumped, producerId: 7, epoch: 2) == .producerFenced)
        #expect(SM.check(bumped, producerId: 7, epoch: 4) == .invalidProducerEpoch)
        var preparing = bumped
        preparing.state = .prepareCommit
        #expect(SM.check(preparing, producerId: 7, epoch: 3) == .concurrentTransactions)
    }

    @Test func reInitBumpsTheEpochAndAbortsTheOpenTransactionWithIt() throws {
        let open = SM.addPartitions(try fresh(), [Self.a], nowMs: 2_000)
        let (record, abort) = try assigned(SM.initProducerId(open, transactionalId: "t", timeoutMs: 30_000, maxTimeoutMs: 900_000,
                                                            expected: nil, nowMs: 5_000, newProducerId: { 99 }))
        #expect(record.producerId == 7 && record.producerEpoch == 1 && record.state == .empty && record.timeoutMs == 30_000)
        let ending = try #require(abort)
        #expect(!ending.commit && ending.prepared.producerEpoch == 1 && ending.prepared.partitions == [Self.a])
        // KIP-360: the client's idea of its producer must match.
        #expect(SM.initProducerId(record, transactionalId: "t", timeoutMs: 1, maxTimeoutMs: 9, expected: (7, 0),
                                  nowMs: 0, newProducerId: newId) == .failure(.producerFenced))
        let (again, none) = try assigned(SM.initProducerId(record, transactionalId: "t", timeoutMs: 1, maxTimeoutMs: 9,
                                                           expected: (7, 1), nowMs: 0, newProducerId: newId))
        #expect(again.producerEpoch == 2 && none == nil)
    }

    @Test func anExhaustedEpochGetsANewProducerId() throws {
        var r = try fresh()
        r = TransactionRecord(transactionalId: "t", producerId: 7, producerEpoch: Int16.max - 1, timeoutMs: 1, lastUpdateTimestampMs: 0)
        let (record, _) = try assigned(SM.initProducerId(r, transactionalId: "t", timeoutMs: 1, maxTimeoutMs: 9, expected: nil,
                                                         nowMs: 0, newProducerId: { 99 }))
        #expect(record.producerId == 99 && record.producerEpoch == 0)
    }

    @Test func timeoutsAbortWithABumpedEpochAndIdsExpire() throws {
        let open = SM.addPartitions(try fresh(timeout: 1_000), [Self.a], nowMs: 10_000)
        #expect(SM.timedOut(open, nowMs: 11_000) == nil)
        let ending = try #require(SM.timedOut(open, nowMs: 11_001))
        #expect(!ending.commit && ending.prepared.producerEpoch == 1 && ending.completed.state == .completeAbort)
        #expect(!SM.expired(open, nowMs: 1_000_000_000, expirationMs: 1))
        #expect(SM.expired(ending.completed, nowMs: 11_001 + 500, expirationMs: 500))
        #expect(!SM.expired(ending.completed, nowMs: 11_001 + 499, expirationMs: 500))
    }

    @Test func preparedRecordsResumeAsDecided() throws {
        var r = SM.addPartitions(try fresh(), [Self.a], nowMs: 1)
        #expect(SM.resume(r) == nil)
        r.state = .prepareAbort
        let abort = try #require(SM.resume(r))
        #expect(!abort.commit && abort.prepared == r && abort.completed.state == .completeAbort)
        r.state = .prepareCommit
        #expect(try #require(SM.resume(r)).completed.state == .completeCommit)
    }
}

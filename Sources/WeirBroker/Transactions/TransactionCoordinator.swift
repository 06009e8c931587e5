import Foundation
import KafkaProtocol
import Logging
import Synchronization
import WeirStorage

/// Settings of the transaction coordinator (Kafka's names and defaults).
public struct TransactionConfig: Sendable {
    /// transaction.max.timeout.ms: the largest transaction.timeout.ms a producer may ask for.
    public var maxTimeoutMs: Int32 = 900_000
    /// transactional.id.expiration.ms: ids unused this long (and not in a transaction) are forgotten.
    public var idExpirationMs: Int64 = 604_800_000
    public init() {}
}

/// The transaction coordinator of this broker (KIP-98): it owns every transactional id's
/// record (see `TransactionStateMachine` for the decisions) and performs them — records in
/// `TransactionStore`, markers through each partition's `PartitionLog.writeMarker`.
///
/// Ending a transaction: the Prepare record is stored, then a marker is written into each
/// partition, then the Complete record is stored together with the transaction's consumer
/// offsets — one WAL, so they are recovered in that order. A crash anywhere
/// leaves either the old record (nothing happened) or the Prepare record, which `init` and
/// `tick` resume: markers are idempotent (a partition with nothing open writes none).
///
/// Threading: every method blocks on RocksDB writes: call from the I/O pool. `serial` orders
/// the coordinator's operations; `state` (a mutex held only to read or swap records) is what
/// the Produce path reads, so produces never wait for marker I/O.
public final class TransactionCoordinator: Sendable {
    struct State {
        var records: [String: TransactionRecord] = [:]
        /// Producer id → transactional id, for the Produce check.
        var byProducer: [Int64: String] = [:]
    }

    let store: LogStore
    let producerIds: ProducerIdAllocator
    let config: TransactionConfig
    let logger: Logger
    /// Called after a marker is appended to a partition (wakes fetches waiting on it).
    let onMarker: @Sendable (TopicPartition) -> Void
    private let state = Mutex(State())
    private let serial = NSLock()

    public init(store: LogStore, config: TransactionConfig, logger: Logger,
                onMarker: @escaping @Sendable (TopicPartition) -> Void = { _ in }) throws {
        self.store = store
        self.producerIds = store.producerIds
        self.config = config
        self.logger = logger
        self.onMarker = onMarker
        for record in try store.transactions.loadAll() { remember(record) }
        // A crash between a Prepare record and its Complete record: finish the ending now,
        // before any client can see the transactional id again.
        for record in state.withLock({ Array($0.records.values) }) {
            guard let ending = TransactionStateMachine.resume(record) else { continue }
            logger.info("completing a transaction interrupted by a restart", metadata: [
                "transactional.id": "\(record.transactionalId)", "state": "\(record.state.kafkaName)"])
            try perform(ending, nowMs: Int64(Date().timeIntervalSince1970 * 1000))
        }
    }

    // MARK: Requests

    /// InitProducerId with a transactional id: the producer id and epoch to use.
    public func initProducerId(transactionalId: String, timeoutMs: Int32, expected: (id: Int64, epoch: Int16)?,
                               nowMs: Int64) -> Result<(id: Int64, epoch: Int16), ErrorCode> {
        serialized {
            let existing = record(transactionalId)
            let decision: TransactionStateMachine.InitDecision
            do {
                decision = try TransactionStateMachine.initProducerId(
                    existing, transactionalId: transactionalId, timeoutMs: timeoutMs, maxTimeoutMs: config.maxTimeoutMs,
                    expected: expected, nowMs: nowMs, newProducerId: { try producerIds.allocate() })
            } catch {
                return failed("allocating a producer id", error)
            }
            switch decision {
            case .failure(let code):
                return .failure(code)
            case .assign(let record, let abort):
                do {
                    if let abort {
                        logger.info("fencing transactional id: aborting its open transaction", metadata: [
                            "transactional.id": "\(transactionalId)", "epoch": "\(abort.prepared.producerEpoch)"])
                        try perform(abort, nowMs: nowMs)
                    }
                    try store.transactions.put(record)
                    if let existing, existing.producerId != record.producerId { forget(producerId: existing.producerId) }
                    remember(record)
                    return .success((record.producerId, record.producerEpoch))
                } catch {
                    return failed("storing transactional id \(transactionalId)", error)
                }
            }
        }
    }

    /// AddPartitionsToTxn: one code for all the partitions (Kafka answers them together).
    public func addPartitions(transactionalId: String, producerId: Int64, epoch: Int16,
                              partitions: [TopicPartition], nowMs: Int64) -> ErrorCode {
        update(transactionalId, producerId: producerId, epoch: epoch) {
            .success(TransactionStateMachine.addPartitions($0, partitions, nowMs: nowMs))
        }
    }

    public func addOffsets(transactionalId: String, producerId: Int64, epoch: Int16, groupId: String, nowMs: Int64) -> ErrorCode {
        update(transactionalId, producerId: producerId, epoch: epoch) {
            .success(TransactionStateMachine.addOffsets($0, groupId: groupId, nowMs: nowMs))
        }
    }

    public func commitOffsets(transactionalId: String, producerId: Int64, epoch: Int16, groupId: String,
                              offsets: [TopicPartition: CommittedOffset], nowMs: Int64) -> ErrorCode {
        update(transactionalId, producerId: producerId, epoch: epoch) {
            TransactionStateMachine.commitOffsets($0, groupId: groupId, offsets: offsets, nowMs: nowMs)
        }
    }

    public func endTransaction(transactionalId: String, producerId: Int64, epoch: Int16, commit: Bool, nowMs: Int64) -> ErrorCode {
        serialized {
            let existing = record(transactionalId)
            let code = TransactionStateMachine.check(existing, producerId: producerId, epoch: epoch)
            guard code == .none, let existing else { return code }
            switch TransactionStateMachine.endTransaction(existing, commit: commit, nowMs: nowMs) {
            case .failure(let code):
                return code
            case .alreadyDone:
                return .none
            case .end(let ending):
                do {
                    try perform(ending, nowMs: nowMs)
                    return .none
                } catch {
                    if case .failure(let code) = failed("ending a transaction of \(transactionalId)", error) as Result<Void, ErrorCode> {
                        return code
                    }
                    return .unknownServerError
                }
            }
        }
    }

    /// Produce: may this transactional batch go to `tp`? Its producer must be in an ongoing
    /// transaction that added the partition (KIP-890's server-side check), at its current epoch.
    public func verifyProduce(producerId: Int64, epoch: Int16, to tp: TopicPartition) -> ErrorCode {
        state.withLock { s in
            guard let id = s.byProducer[producerId], let record = s.records[id] else { return .invalidProducerIdMapping }
            guard epoch == record.producerEpoch else { return .invalidProducerEpoch }
            guard record.state == .ongoing, record.partitions.contains(tp) else { return .invalidTxnState }
            return .none
        }
    }

    /// OffsetFetch with require_stable (KIP-447): does an open transaction hold offsets for it?
    public func hasPendingOffsets(groupId: String, partition: TopicPartition) -> Bool {
        state.withLock { s in
            s.records.values.contains { $0.state != .completeCommit && $0.pendingOffsets[groupId]?[partition] != nil }
        }
    }

    // MARK: Housekeeping

    /// Aborts transactions past their timeout, finishes endings a failure interrupted, aborts
    /// hanging transactions (a partition holding an open transaction its producer is no longer
    /// in), and forgets ids unused for `transactional.id.expiration.ms`. Returns what it did.
    @discardableResult
    public func tick(nowMs: Int64) -> (timedOut: Int, resumed: Int, hanging: Int, expired: Int) {
        serialized {
            var counts = (timedOut: 0, resumed: 0, hanging: 0, expired: 0)
            for record in state.withLock({ Array($0.records.values) }) {
                do {
                    if let ending = TransactionStateMachine.resume(record) {
                        try perform(ending, nowMs: nowMs)
                        counts.resumed += 1
                    } else if let ending = TransactionStateMachine.timedOut(record, nowMs: nowMs) {
                        logger.info("aborting a transaction past its timeout", metadata: [
                            "transactional.id": "\(record.transactionalId)", "timeout.ms": "\(record.timeoutMs)"])
                        try perform(ending, nowMs: nowMs)
                        counts.timedOut += 1
                    } else if TransactionStateMachine.expired(record, nowMs: nowMs, expirationMs: config.idExpirationMs) {
                        try store.transactions.delete(record.transactionalId)
                        state.withLock { s in
                            s.records[record.transactionalId] = nil
                            s.byProducer[record.producerId] = nil
                        }
                        counts.expired += 1
                    }
                } catch {
                    logger.warning("transaction housekeeping failed", metadata: [
                        "transactional.id": "\(record.transactionalId)", "error": "\(error)"])
                }
            }
            counts.hanging = abortHanging(nowMs: nowMs)
            return counts
        }
    }

    /// Every record (DescribeTransactions, ListTransactions, the tools), by transactional id.
    public func records() -> [String: TransactionRecord] { state.withLock { $0.records } }

    // MARK: Performing decisions

    /// Prepare record, markers, then Complete record with the offsets (see the type's comment).
    private func perform(_ ending: TransactionStateMachine.Ending, nowMs: Int64) throws {
        try store.transactions.put(ending.prepared)
        remember(ending.prepared)
        let kind: ControlRecord.Kind = ending.commit ? .commit : .abort
        for tp in ending.prepared.partitions {
            guard let log = store.partition(tp) else { continue }  // deleted since: nothing to mark
            do {
                if try log.writeMarker(kind, producerId: ending.prepared.producerId, epoch: ending.prepared.producerEpoch,
                                       coordinatorEpoch: 0, timestamp: nowMs, sync: false) != nil {
                    onMarker(tp)
                }
            } catch StorageError.columnFamilyDropped {
                continue
            }
        }
        try store.transactions.complete(ending.completed, committing: ending.offsets, into: store.offsets)
        remember(ending.completed)
    }

    /// Transactions open on a partition whose producer's record does not have them ongoing:
    /// a produce that raced its transaction's end, or a producer whose id expired. Aborted.
    private func abortHanging(nowMs: Int64) -> Int {
        var aborted = 0
        let records = state.withLock { $0 }
        for topic in store.topics() {
            for p in 0..<topic.partitionCount {
                let tp = TopicPartition(topic.name, p)
                guard let log = store.partition(tp) else { continue }
                for (producerId, _) in log.openTransactions {
                    let record = records.byProducer[producerId].flatMap { records.records[$0] }
                    if let record, record.state == .ongoing, record.partitions.contains(tp) { continue }
                    let epoch = max(record?.producerEpoch ?? 0, log.producerStates[producerId]?.epoch ?? 0)
                    do {
                        if try log.writeMarker(.abort, producerId: producerId, epoch: epoch, coordinatorEpoch: 0,
                                               timestamp: nowMs, sync: true) != nil {
                            logger.warning("aborted a hanging transaction", metadata: [
                                "partition": "\(tp)", "producer.id": "\(producerId)"])
                            onMarker(tp)
                            aborted += 1
                        }
                    } catch {
                        logger.warning("cannot abort a hanging transaction", metadata: [
                            "partition": "\(tp)", "producer.id": "\(producerId)", "error": "\(error)"])
                    }
                }
            }
        }
        return aborted
    }

    // MARK: Helpers

    private func update(_ transactionalId: String, producerId: Int64, epoch: Int16,
                        _ change: (TransactionRecord) -> Result<TransactionRecord, ErrorCode>) -> ErrorCode {
        serialized {
            let existing = record(transactionalId)
            let code = TransactionStateMachine.check(existing, producerId: producerId, epoch: epoch)
            guard code == .none, let existing else { return code }
            switch change(existing) {
            case .failure(let code):
                return code
            case .success(let updated):
                guard updated != existing else { return .none }
                do {
                    try store.transactions.put(updated)
                    remember(updated)
                    return .none
                } catch {
                    if case .failure(let code) = failed("storing transactional id \(transactionalId)", error) as Result<Void, ErrorCode> {
                        return code
                    }
                    return .unknownServerError
                }
            }
        }
    }

    private func record(_ id: String) -> TransactionRecord? { state.withLock { $0.records[id] } }

    private func remember(_ record: TransactionRecord) {
        state.withLock { s in
            s.records[record.transactionalId] = record
            s.byProducer[record.producerId] = record.transactionalId
        }
    }

    private func forget(producerId: Int64) {
        _ = state.withLock { $0.byProducer.removeValue(forKey: producerId) }
    }

    private func serialized<R>(_ body: () -> R) -> R {
        serial.lock()
        defer { serial.unlock() }
        return body()
    }

    /// A storage failure: one log line, and the code clients retry (or KAFKA_STORAGE_ERROR).
    private func failed<T>(_ what: String, _ error: any Error) -> Result<T, ErrorCode> {
        logger.error("transaction coordinator: \(what) failed", metadata: ["error": "\(error)"])
        return .failure(error is StorageError ? .coordinatorNotAvailable : .unknownServerError)
    }
}

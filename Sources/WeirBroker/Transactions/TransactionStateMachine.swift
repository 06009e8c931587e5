import KafkaProtocol
import WeirStorage

/// The transaction coordinator's decisions (Kafka's TransactionCoordinator and
/// TransactionMetadata transitions), as pure functions of a transactional id's record, the
/// request and the time: no I/O, no clock of its own. `TransactionCoordinator` performs what
/// they decide (stores records, writes markers) and is the only caller.
///
/// States, as in Kafka: Empty → Ongoing (AddPartitions/AddOffsets) → PrepareCommit or
/// PrepareAbort (EndTxn, a timeout, a fencing InitProducerId) → CompleteCommit or
/// CompleteAbort (markers written) → Ongoing again with the next transaction.
public enum TransactionStateMachine {
    /// What ends an open transaction.
    public struct Ending: Sendable, Equatable {
        /// The record as it is while markers are written (PrepareCommit / PrepareAbort), stored first.
        public var prepared: TransactionRecord
        /// The record once every marker is written (CompleteCommit / CompleteAbort).
        public var completed: TransactionRecord
        public var commit: Bool
        /// The offsets that become visible with the commit (none for an abort).
        public var offsets: [String: [TopicPartition: CommittedOffset]]
    }

    public enum InitDecision: Sendable, Equatable {
        /// Store this record and answer with its producer id and epoch; first end `abort`
        /// (an open transaction of the fenced instance).
        case assign(TransactionRecord, abort: Ending?)
        case failure(ErrorCode)
    }

    /// InitProducerId with a transactional id. `existing` nil: a new id with epoch 0. Otherwise
    /// the epoch is bumped (fencing any older instance), the open transaction is aborted with
    /// the bumped epoch, and a fresh producer id replaces an exhausted epoch. `expected`: the
    /// producer id and epoch a v3+ client says it has (KIP-360); a mismatch is PRODUCER_FENCED.
    public static func initProducerId(_ existing: TransactionRecord?, transactionalId: String, timeoutMs: Int32,
                                      maxTimeoutMs: Int32, expected: (id: Int64, epoch: Int16)?, nowMs: Int64,
                                      newProducerId: () throws -> Int64) rethrows -> InitDecision {
        guard timeoutMs > 0, timeoutMs <= maxTimeoutMs else { return .failure(.invalidTransactionTimeout) }
        guard var record = existing, record.state != .dead else {
            return .assign(TransactionRecord(transactionalId: transactionalId, producerId: try newProducerId(),
                                             producerEpoch: 0, timeoutMs: timeoutMs, lastUpdateTimestampMs: nowMs),
                           abort: nil)
        }
        if let expected, expected.id != record.producerId || expected.epoch != record.producerEpoch {
            return .failure(.producerFenced)
        }
        if record.state == .prepareCommit || record.state == .prepareAbort {
            return .failure(.concurrentTransactions)
        }
        var abort: Ending? = nil
        if record.producerEpoch >= Int16.max - 1 {
            // Epoch exhausted: a new producer id; the open transaction (if any) ends under the old one.
            if record.state == .ongoing { abort = end(record, commit: false, nowMs: nowMs) }
            record.producerId = try newProducerId()
            record.producerEpoch = 0
        } else {
            record.producerEpoch += 1
            if record.state == .ongoing { abort = end(record, commit: false, nowMs: nowMs) }
        }
        record.state = .empty
        record.partitions = []
        record.pendingOffsets = [:]
        record.startTimestampMs = -1
        record.timeoutMs = timeoutMs
        record.lastUpdateTimestampMs = nowMs
        return .assign(record, abort: abort)
    }

    /// Checks that (producerId, epoch) is the transactional id's current producer and that no
    /// transaction is ending: the common guard of AddPartitions, AddOffsets, TxnOffsetCommit, EndTxn.
    public static func check(_ record: TransactionRecord?, producerId: Int64, epoch: Int16) -> ErrorCode {
        guard let record, record.state != .dead, record.producerId == producerId else { return .invalidProducerIdMapping }
        guard epoch == record.producerEpoch else { return epoch < record.producerEpoch ? .producerFenced : .invalidProducerEpoch }
        if record.state == .prepareCommit || record.state == .prepareAbort { return .concurrentTransactions }
        return .none
    }

    /// AddPartitionsToTxn: the partitions join the transaction, which begins if it was not open.
    public static func addPartitions(_ record: TransactionRecord, _ partitions: [TopicPartition], nowMs: Int64) -> TransactionRecord {
        var r = begin(record, nowMs: nowMs)
        r.partitions = Array(Set(r.partitions).union(partitions)).sorted()
        return r
    }

    /// AddOffsetsToTxn: the group's offsets will be committed by the transaction.
    public static func addOffsets(_ record: TransactionRecord, groupId: String, nowMs: Int64) -> TransactionRecord {
        var r = begin(record, nowMs: nowMs)
        if r.pendingOffsets[groupId] == nil { r.pendingOffsets[groupId] = [:] }
        return r
    }

    /// TxnOffsetCommit: offsets pending until the transaction commits. The group must have been
    /// added with AddOffsetsToTxn (INVALID_TXN_STATE otherwise, the server-side check of KIP-890).
    public static func commitOffsets(_ record: TransactionRecord, groupId: String,
                                     offsets: [TopicPartition: CommittedOffset], nowMs: Int64) -> Result<TransactionRecord, ErrorCode> {
        guard record.state == .ongoing, record.pendingOffsets[groupId] != nil else { return .failure(.invalidTxnState) }
        var r = record
        r.pendingOffsets[groupId, default: [:]].merge(offsets) { _, new in new }
        r.lastUpdateTimestampMs = nowMs
        return .success(r)
    }

    public enum EndDecision: Sendable, Equatable {
        case end(Ending)
        /// A retry of an EndTxn that completed: answer success, do nothing.
        case alreadyDone
        case failure(ErrorCode)
    }

    /// EndTxn: commit or abort the open transaction. A retry after completion succeeds; asking
    /// the opposite of what completed, or ending with nothing open, is INVALID_TXN_STATE.
    public static func endTransaction(_ record: TransactionRecord, commit: Bool, nowMs: Int64) -> EndDecision {
        switch record.state {
        case .ongoing:
            return .end(end(record, commit: commit, nowMs: nowMs))
        case .completeCommit where commit, .completeAbort where !commit:
            return .alreadyDone
        default:
            return .failure(.invalidTxnState)
        }
    }

    /// An open transaction past its timeout, aborted by the coordinator with the epoch bumped,
    /// so that the producer's next request with the old epoch is refused (Kafka's
    /// abortTimedOutTransactions); nil when it is not due.
    public static func timedOut(_ record: TransactionRecord, nowMs: Int64) -> Ending? {
        guard record.state == .ongoing, record.startTimestampMs >= 0,
              nowMs - record.startTimestampMs > Int64(record.timeoutMs),
              record.producerEpoch < Int16.max - 1 else { return nil }
        var bumped = record
        bumped.producerEpoch += 1
        return end(bumped, commit: false, nowMs: nowMs)
    }

    /// transactional.id.expiration.ms: an id with no open transaction, unused for that long, is forgotten.
    public static func expired(_ record: TransactionRecord, nowMs: Int64, expirationMs: Int64) -> Bool {
        record.state != .ongoing && record.state != .prepareCommit && record.state != .prepareAbort
            && nowMs - record.lastUpdateTimestampMs >= expirationMs
    }

    /// A record found in a Prepare state at startup: the crash came between its markers, so
    /// they are written again (idempotently) and the transaction completes as decided.
    public static func resume(_ record: TransactionRecord) -> Ending? {
        switch record.state {
        case .prepareCommit: return ending(from: record, commit: true)
        case .prepareAbort: return ending(from: record, commit: false)
        default: return nil
        }
    }

    // MARK: helpers

    private static func begin(_ record: TransactionRecord, nowMs: Int64) -> TransactionRecord {
        var r = record
        if r.state != .ongoing {
            r.state = .ongoing
            r.partitions = []
            r.pendingOffsets = [:]
            r.startTimestampMs = nowMs
        }
        r.lastUpdateTimestampMs = nowMs
        return r
    }

    private static func end(_ record: TransactionRecord, commit: Bool, nowMs: Int64) -> Ending {
        var prepared = record
        prepared.state = commit ? .prepareCommit : .prepareAbort
        prepared.lastUpdateTimestampMs = nowMs
        return ending(from: prepared, commit: commit)
    }

    private static func ending(from prepared: TransactionRecord, commit: Bool) -> Ending {
        var completed = prepared
        completed.state = commit ? .completeCommit : .completeAbort
        completed.partitions = []
        completed.pendingOffsets = [:]
        completed.startTimestampMs = -1
        return Ending(prepared: prepared, completed: completed, commit: commit,
                      offsets: commit ? prepared.pendingOffsets.filter { !$0.value.isEmpty } : [:])
    }
}

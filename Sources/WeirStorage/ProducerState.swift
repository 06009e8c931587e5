import KafkaProtocol

/// What a partition remembers of one appended batch of an idempotent producer: enough to
/// recognise a retry of it and to answer that retry with the offsets the first attempt got.
public struct ProducerBatchMetadata: Sendable, Equatable {
    /// The batch header's baseSequence.
    public var firstSequence: Int32
    /// baseSequence + lastOffsetDelta, wrapping from Int32.max to 0 as Kafka's sequences do.
    public var lastSequence: Int32
    /// Offsets the log assigned to the batch.
    public var baseOffset: Int64
    public var lastOffset: Int64
    /// The stored maxTimestamp (the broker's time on LogAppendTime topics).
    public var maxTimestamp: Int64

    public init(firstSequence: Int32, lastSequence: Int32, baseOffset: Int64, lastOffset: Int64, maxTimestamp: Int64) {
        self.firstSequence = firstSequence
        self.lastSequence = lastSequence
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.maxTimestamp = maxTimestamp
    }
}

/// One idempotent producer's state on one partition (Kafka's ProducerStateEntry, KIP-98): its
/// epoch and its last five batches, newest last.
///
/// Five, because idempotent clients keep at most five requests in flight per connection
/// (`max.in.flight.requests.per.connection` ≤ 5): any batch a client may still retry is among
/// them, so a retry is answered from the cache instead of being stored twice.
///
/// This is a pure value: `PartitionLog` calls `check` before assigning offsets, `record` after,
/// and persists the result with the batch (see `ProducerStateStore` for the bytes).
public struct ProducerState: Sendable, Equatable {
    public static let retainedBatches = 5

    public private(set) var epoch: Int16
    /// Oldest first; at most `retainedBatches`, all of `epoch`.
    public private(set) var batches: [ProducerBatchMetadata]
    /// The offset of this producer's first batch in its open transaction on this partition, nil
    /// when none is open (Kafka's ProducerStateEntry.currentTxnFirstOffset): what holds the
    /// partition's last stable offset back, until the transaction's marker is written.
    public var currentTxnFirstOffset: Int64?

    public init(epoch: Int16, batches: [ProducerBatchMetadata] = [], currentTxnFirstOffset: Int64? = nil) {
        self.epoch = epoch
        self.batches = Array(batches.suffix(Self.retainedBatches))
        self.currentTxnFirstOffset = currentTxnFirstOffset
    }

    /// A newer epoch from a transaction marker (the coordinator bumped it to fence an old
    /// instance): sequences restart, so the cached batches go.
    public mutating func fence(to newEpoch: Int16) {
        guard newEpoch > epoch else { return }
        epoch = newEpoch
        batches.removeAll()
    }

    /// What to do with a batch, decided before any offset is assigned.
    public enum Decision: Sendable, Equatable {
        /// In sequence: append it.
        case append
        /// A retry of a batch already stored: write nothing, answer with its metadata.
        case duplicate(ProducerBatchMetadata)
    }

    /// Kafka's checks for a client batch (ProducerAppendInfo.checkProducerEpoch/checkSequence
    /// and ProducerStateEntry.findDuplicateBatch):
    /// - an epoch below the known one is a fenced (zombie) producer → `staleEpoch`;
    /// - a higher epoch restarts sequences (KIP-360 bump), so it must start at 0;
    /// - the same epoch with the sequence range of a cached batch is a duplicate;
    /// - otherwise the batch must follow the newest cached batch.
    ///
    /// An unknown producer (`state` nil) is accepted at any sequence: Kafka does the same once a
    /// producer's state expired or its batches were removed by retention/DeleteRecords, and a
    /// strict check would fail every producer that resumes after such a gap.
    public static func check(_ state: ProducerState?, producerId: Int64, epoch: Int16, firstSequence: Int32,
                             lastSequence: Int32) throws -> Decision {
        guard let state else { return .append }
        if epoch < state.epoch {
            throw ProducerStateError.staleEpoch(producerId: producerId, epoch: epoch, current: state.epoch)
        }
        if epoch > state.epoch {
            guard firstSequence == 0 else {
                throw ProducerStateError.outOfOrderSequence(producerId: producerId, epoch: epoch,
                                                            firstSequence: firstSequence, expected: 0)
            }
            return .append
        }
        if let cached = state.batches.first(where: { $0.firstSequence == firstSequence && $0.lastSequence == lastSequence }) {
            return .duplicate(cached)
        }
        // A state always holds a batch once written; an empty one (never stored) accepts any.
        guard let newest = state.batches.last else { return .append }
        let expected = nextSequence(after: newest.lastSequence)
        guard firstSequence == expected else {
            throw ProducerStateError.outOfOrderSequence(producerId: producerId, epoch: epoch,
                                                        firstSequence: firstSequence, expected: expected)
        }
        return .append
    }

    /// Adds an appended batch. A new epoch drops the previous epoch's batches: their sequences
    /// can no longer be retried (the producer restarted at 0).
    public mutating func record(epoch: Int16, _ batch: ProducerBatchMetadata) {
        if epoch != self.epoch {
            self.epoch = epoch
            batches.removeAll(keepingCapacity: true)
        }
        batches.append(batch)
        if batches.count > Self.retainedBatches {
            batches.removeFirst(batches.count - Self.retainedBatches)
        }
    }

    // MARK: Sequence arithmetic

    /// The sequence after `sequence`: Int32.max is followed by 0 (never a negative number).
    public static func nextSequence(after sequence: Int32) -> Int32 {
        sequence == Int32.max ? 0 : sequence + 1
    }

    /// baseSequence + lastOffsetDelta with the same wrap (Kafka's DefaultRecordBatch.incrementSequence).
    /// Both must be ≥ 0, which ProducedBatch.validate and the log check.
    public static func lastSequence(first: Int32, lastOffsetDelta: Int32) -> Int32 {
        Int32(truncatingIfNeeded: (Int64(first) + Int64(lastOffsetDelta)) % (Int64(Int32.max) + 1))
    }
}

/// A batch refused by its producer's state; `code` is the Kafka error for the Produce response.
public enum ProducerStateError: Error, Equatable, CustomStringConvertible {
    /// The producer's epoch is older than one already seen on the partition: a fenced instance.
    case staleEpoch(producerId: Int64, epoch: Int16, current: Int16)
    /// The batch does not follow the producer's last batch (a gap, or a retry of a batch too
    /// old to be cached), or a new epoch does not start at sequence 0.
    case outOfOrderSequence(producerId: Int64, epoch: Int16, firstSequence: Int32, expected: Int32)

    /// INVALID_PRODUCER_EPOCH (47) / OUT_OF_ORDER_SEQUENCE_NUMBER (45), as Kafka answers.
    public var code: ErrorCode {
        switch self {
        case .staleEpoch: return .invalidProducerEpoch
        case .outOfOrderSequence: return .outOfOrderSequenceNumber
        }
    }

    public var description: String {
        switch self {
        case .staleEpoch(let id, let epoch, let current):
            return "producer \(id) has epoch \(epoch), older than the partition's \(current)"
        case .outOfOrderSequence(let id, let epoch, let first, let expected):
            return "producer \(id) epoch \(epoch) sent sequence \(first), expected \(expected)"
        }
    }
}

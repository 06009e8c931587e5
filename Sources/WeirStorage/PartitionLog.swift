import Foundation
import KafkaProtocol
import NIOCore
import Synchronization

/// One topic-partition's log: record batches, stored whole, keyed by base offset.
///
/// On-disk layout — column family `log/<topic id, base64url>/<partition, decimal>` (the topic ID,
/// not its name, so a deleted and re-created topic never meets the old data):
///
///     key    8-byte big-endian base offset of the batch (bytewise order = offset order)
///     value  the record batch exactly as Kafka serves it (implementation.html §5.3): its 61-byte
///            v2 header with baseOffset and partitionLeaderEpoch stamped (and, for LogAppendTime
///            topics, the timestamps and CRC), then the producer's records bytes untouched.
///
/// The log start offset, when DeleteRecords or retention moved it, is in the `catalog` column
/// family (see `TopicCatalog`); otherwise it is the first batch's base offset. The log end offset
/// is derived from the last batch's header on open, so a restart reads two keys, not the log.
/// Idempotent producers' state is in the `producers` column family (see `ProducerStateStore`),
/// written in the same WriteBatch as the batch it describes, and cached here: it is read once,
/// by a prefix scan of this partition's producers, when the log opens.
///
/// Thread safety: offsets and producer states live in `state`, a mutex. Appends and deleteRecords hold it across their
/// RocksDB write, which is what assigns offsets in call order and keeps batches dense; reads
/// take it only to copy the offsets, then read through a RocksDB iterator (its own snapshot)
/// without it. Lock order: this lock, then the database's (never the reverse).
public final class PartitionLog: Sendable {
    public let topicPartition: TopicPartition
    public let topicId: KafkaUUID
    let db: RocksDB
    let cf: ColumnFamily
    let catalog: TopicCatalog
    let producerStore: ProducerStateStore
    let abortedIndex: AbortedTransactionIndex
    /// fsync the WAL on every write, whatever the caller asks.
    let syncEveryWrite: Bool

    /// What changes as the log is written, under one lock.
    struct State {
        var start: Int64
        var end: Int64
        var watermark: Int64
        /// Idempotent producers' state on this partition, by producer id; as stored.
        var producers: [Int64: ProducerState]
        /// Open transactions on this partition: producer id → first offset (the producers'
        /// `currentTxnFirstOffset`, gathered so the last stable offset is cheap to find).
        var openTransactions: [Int64: Int64]
        /// Replicated (a replica set of more than this broker): the high watermark moves only
        /// when the replicas have the records (`advanceHighWatermark`), not with each append.
        var replicated = false

        /// The first offset of the oldest open transaction, else the high watermark.
        var lastStable: Int64 {
            min(openTransactions.values.min() ?? watermark, watermark)
        }
    }

    let state: Mutex<State>

    /// The column family of a partition.
    public static func columnFamilyName(topicId: KafkaUUID, partition: Int32) -> String {
        "log/\(topicId.base64)/\(partition)"
    }

    init(topicPartition: TopicPartition, topicId: KafkaUUID, db: RocksDB, cf: ColumnFamily,
         catalog: TopicCatalog, producerStore: ProducerStateStore, abortedIndex: AbortedTransactionIndex,
         syncEveryWrite: Bool) throws {
        self.topicPartition = topicPartition
        self.topicId = topicId
        self.db = db
        self.cf = cf
        self.catalog = catalog
        self.producerStore = producerStore
        self.abortedIndex = abortedIndex
        self.syncEveryWrite = syncEveryWrite
        let producers = try producerStore.load(topicId: topicId, partition: topicPartition.partition)
        // Recovery: the persisted start (or the first batch) and the end after the last batch.
        let persistedStart = try catalog.logStartOffset(topicId: topicId, partition: topicPartition.partition)
        let (first, next) = try db.withIterator(cf) { it -> (Int64?, Int64?) in
            it.seekToFirst()
            guard it.isValid else {
                try it.checkError()
                return (nil, nil)
            }
            let firstBase = try StoredBatch(key: it.key, value: it.value).baseOffset
            it.seekToLast()
            guard it.isValid else {
                try it.checkError()
                return (firstBase, nil)
            }
            return (firstBase, try StoredBatch(key: it.key, value: it.value).lastOffset + 1)
        }
        let start = persistedStart ?? first ?? 0
        let end = max(next ?? start, start)
        let open = producers.compactMapValues(\.currentTxnFirstOffset)
        state = Mutex(State(start: start, end: end, watermark: end, producers: producers, openTransactions: open))
    }

    // MARK: Offsets

    public var offsets: LogOffsets {
        state.withLock {
            LogOffsets(logStartOffset: $0.start, logEndOffset: $0.end, highWatermark: $0.watermark, lastStableOffset: $0.lastStable)
        }
    }

    public var logStartOffset: Int64 { state.withLock { $0.start } }
    /// The offset the next appended record gets.
    public var logEndOffset: Int64 { state.withLock { $0.end } }
    /// Offsets below it are visible to consumers. On a single broker it follows the log end
    /// offset after each append; with replication it will trail it until followers catch up.
    public var highWatermark: Int64 { state.withLock { $0.watermark } }
    /// Offsets below it are in no open transaction (read_committed's limit).
    public var lastStableOffset: Int64 { state.withLock { $0.lastStable } }

    // MARK: Append

    /// Appends `batches` in order, assigning offsets densely from the log end offset, in ONE
    /// RocksDB write (all batches or none). Each batch is stored as its stamped 61-byte header
    /// followed by its original body, gathered by RocksDB without an intermediate copy.
    ///
    /// Batches of idempotent producers (producerId ≥ 0) are checked against the producer's
    /// state first (`ProducerState.check`), and the producer's new state is stored in the same
    /// write. A retry of a batch already stored writes nothing and returns that batch's offsets
    /// with `duplicate` set, as Kafka answers it; when an append holds several batches (Produce
    /// v3+ sends one per partition), one such retry answers for the whole append, as in Kafka.
    ///
    /// - Parameters:
    ///   - leaderEpoch: stamped into each header's partitionLeaderEpoch.
    ///   - logAppendTime: for LogAppendTime topics, the broker time stamped into each batch; nil
    ///     keeps the producer's CreateTime timestamps.
    ///   - sync: fsync the WAL before returning (also done when `syncEveryWrite` is set).
    ///   - noSlowdown: fail with `StorageError.writeStalled`, writing nothing, rather than wait
    ///     while RocksDB stalls writes (the event loop's appends; the I/O pool then retries).
    /// - Throws: `ProducerStateError` (carrying the Kafka error code) for a stale producer epoch
    ///   or an out-of-order sequence; nothing is written then.
    public func append(_ batches: [ProducedBatch], leaderEpoch: Int32, logAppendTime: Int64?,
                       sync: Bool, noSlowdown: Bool = false) throws -> AppendResult {
        try state.withLock { s in
            let first = s.end
            var next = s.end
            let writeBatch = WriteBatch()
            /// Producers' states as this append leaves them: stored with the batches, cached after.
            var updated: [Int64: ProducerState] = [:]
            for batch in batches {
                let size = batch.bytes.readableBytes
                guard size >= RecordBatchHeader.size, batch.header.lastOffsetDelta >= 0 else {
                    throw StorageError.invalidArgument(
                        "batch of \(size) bytes with lastOffsetDelta \(batch.header.lastOffsetDelta)")
                }
                let base = next
                let (last, overflow) = base.addingReportingOverflow(Int64(batch.header.lastOffsetDelta))
                guard !overflow, last < Int64.max else {
                    throw StorageError.invalidArgument("offsets would pass Int64.max")
                }
                if batch.header.producerId >= 0,
                   let cached = try Self.checkProducer(batch.header, stored: s.producers, running: updated,
                                                       appendStart: first) {
                    return AppendResult(baseOffset: cached.baseOffset, lastOffset: cached.lastOffset,
                                        logAppendTime: logAppendTime == nil ? -1 : cached.maxTimestamp,
                                        logStartOffset: s.start, duplicate: true)
                }
                let header = batch.stampedHeaderBytes(baseOffset: base, partitionLeaderEpoch: leaderEpoch,
                                                      logAppendTime: logAppendTime)
                guard header.readableBytes == RecordBatchHeader.size,
                      let body = batch.bytes.getSlice(at: batch.bytes.readerIndex + RecordBatchHeader.size,
                                                      length: size - RecordBatchHeader.size)
                else {
                    throw StorageError.invalidArgument("stamped header of \(header.readableBytes) bytes")
                }
                try writeBatch.putv(cf, key: OffsetKey(base), parts: [header, body])
                if batch.header.producerId >= 0 {
                    let h = batch.header
                    var producer = updated[h.producerId] ?? s.producers[h.producerId] ?? ProducerState(epoch: h.producerEpoch)
                    producer.record(epoch: h.producerEpoch, ProducerBatchMetadata(
                        firstSequence: h.baseSequence,
                        lastSequence: ProducerState.lastSequence(first: h.baseSequence, lastOffsetDelta: h.lastOffsetDelta),
                        baseOffset: base, lastOffset: last, maxTimestamp: logAppendTime ?? h.maxTimestamp))
                    // A transaction's first batch here holds the last stable offset back until its marker.
                    if h.isTransactional && producer.currentTxnFirstOffset == nil { producer.currentTxnFirstOffset = base }
                    updated[h.producerId] = producer
                }
                next = last + 1
            }
            for (producerId, producer) in updated {
                try producerStore.put(producer, topicId: topicId, partition: topicPartition.partition,
                                      producerId: producerId, in: writeBatch)
            }
            if writeBatch.count > 0 {
                try db.write(writeBatch, sync: sync || syncEveryWrite, noSlowdown: noSlowdown)
            }
            s.end = next
            // One replica: everything written is committed. Replicated: the leader moves it
            // from its followers' fetch positions.
            if !s.replicated { s.watermark = next }
            s.producers.merge(updated) { _, new in new }
            for (producerId, producer) in updated {
                if let first = producer.currentTxnFirstOffset { s.openTransactions[producerId] = first }
            }
            return AppendResult(baseOffset: first, lastOffset: next - 1,
                                logAppendTime: logAppendTime ?? -1, logStartOffset: s.start)
        }
    }

    /// Checks an idempotent batch against its producer's state: nil to append it, or the stored
    /// batch it retries. `running` holds the states as this append's earlier batches left them;
    /// repeating one of those (not yet stored) is out of order, not a retry. `stored` is the
    /// partition's cached producer states (caller holds the lock).
    private static func checkProducer(_ h: RecordBatchHeader, stored producers: [Int64: ProducerState],
                                      running: [Int64: ProducerState],
                                      appendStart: Int64) throws -> ProducerBatchMetadata? {
        guard h.baseSequence >= 0 else {
            throw StorageError.invalidArgument("batch of producer \(h.producerId) has sequence \(h.baseSequence)")
        }
        let state = running[h.producerId] ?? producers[h.producerId]
        let decision = try ProducerState.check(
            state, producerId: h.producerId, epoch: h.producerEpoch, firstSequence: h.baseSequence,
            lastSequence: ProducerState.lastSequence(first: h.baseSequence, lastOffsetDelta: h.lastOffsetDelta))
        switch decision {
        case .append:
            return nil
        case .duplicate(let cached) where cached.baseOffset < appendStart:
            return cached
        case .duplicate:
            let expected = state?.batches.last.map { ProducerState.nextSequence(after: $0.lastSequence) } ?? 0
            throw ProducerStateError.outOfOrderSequence(producerId: h.producerId, epoch: h.producerEpoch,
                                                        firstSequence: h.baseSequence, expected: expected)
        }
    }

    /// The cached state of producer `producerId` on this partition (nil when unknown).
    public func producerState(_ producerId: Int64) -> ProducerState? {
        state.withLock { $0.producers[producerId] }
    }

    /// Forgets the producers whose newest batch's max timestamp is `expirationMs` or more before
    /// `nowMs` (Kafka's `producer.id.expiration.ms`), from the cache and the `producers` column
    /// family in one write, so that short-lived idempotent producers cannot grow either without
    /// bound. A later batch from an expired producer is treated as from a new one, as in Kafka.
    /// Holds the partition's lock only for that one small write.
    /// - Returns: how many producers were forgotten.
    @discardableResult
    public func expireProducers(nowMs: Int64, expirationMs: Int64) throws -> Int {
        try state.withLock { s in
            let expired = s.producers.filter { _, producer in
                // An open transaction keeps its producer (the coordinator ends or times it out).
                guard producer.currentTxnFirstOffset == nil else { return false }
                let newest = producer.batches.last?.maxTimestamp ?? Int64.min
                return nowMs - newest >= expirationMs
            }.map(\.key)
            guard !expired.isEmpty else { return 0 }
            let writeBatch = WriteBatch()
            for id in expired {
                try producerStore.delete(topicId: topicId, partition: topicPartition.partition, producerId: id, in: writeBatch)
            }
            try db.write(writeBatch, sync: syncEveryWrite)
            for id in expired { s.producers[id] = nil }
            return expired.count
        }
    }

    /// Number of producers whose state this partition keeps.
    public var producerCount: Int { state.withLock { $0.producers.count } }

    // MARK: Read

    /// Appends stored batches to `buffer`, starting with the batch that contains `offset` (a
    /// consumer may ask for any offset inside a batch; it skips the records before it), in
    /// offset order, up to the high watermark, while their total stays ≤ `maxBytes`. The first
    /// batch is appended even when larger than `maxBytes` if `minOneBatch` is set (Kafka's
    /// rule so that a consumer always makes progress; the Fetch handler sets it for the first
    /// partition of a response only). Each batch is copied once, from RocksDB's block straight
    /// into `buffer`.
    ///
    /// - Returns: the number of bytes appended (0 at the high watermark).
    /// - Throws: `StorageError.offsetOutOfRange` when `offset` is outside
    ///   [logStartOffset, logEndOffset].
    /// `committedOnly` (read_committed): up to the last stable offset instead; `toLogEnd` (a
    /// follower replicating from this leader): up to the log end offset.
    public func read(from offset: Int64, maxBytes: Int, minOneBatch: Bool = true, committedOnly: Bool = false,
                     toLogEnd: Bool = false, into buffer: inout ByteBuffer) throws -> Int {
        let current = offsets
        guard offset >= current.logStartOffset, offset <= current.logEndOffset else {
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: current.logStartOffset,
                                                logEndOffset: current.logEndOffset)
        }
        let bound = toLogEnd ? current.logEndOffset : committedOnly ? current.lastStableOffset : current.highWatermark
        guard offset < bound else { return 0 }
        let total = try db.withIterator(cf, upperBound: Array(OffsetKey(bound))) { it -> Int? in
            try it.seekToBatch(containing: offset)
            // The log is dense from its start, so only a concurrent deleteRecords (after our
            // offsets snapshot, before the iterator's) can leave no batch holding `offset`.
            guard it.isValid else {
                try it.checkError()
                return nil
            }
            var total = 0
            while it.isValid {
                let value = it.value
                let batch = try StoredBatch(key: it.key, value: value)
                if total == 0, batch.baseOffset > offset { return nil }
                let (sum, overflow) = total.addingReportingOverflow(value.count)
                if overflow || sum > maxBytes {
                    guard total == 0, minOneBatch else { break }
                }
                buffer.writeBytes(value)
                total += value.count
                if total >= maxBytes { break }
                it.next()
            }
            try it.checkError()
            return total
        }
        guard let total else {
            let now = offsets
            throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: now.logStartOffset,
                                                logEndOffset: now.logEndOffset)
        }
        return total
    }

    // MARK: Timestamps

    /// The first offset whose batch has maxTimestamp ≥ `timestamp`, with that maxTimestamp
    /// (ListOffsets by time; the special timestamps -1/-2 are the caller's business).
    ///
    /// Granularity is the batch: Kafka finds the exact record; we return the batch's base
    /// offset (clamped to the log start) and its maxTimestamp, which needs only stored headers.
    /// Every record before that batch is older than `timestamp`, so the consumer never skips a
    /// wanted record; it may re-read the older records of that one batch. Scans batches from
    /// the log start; a time index can replace the scan later.
    public func offset(forTimestamp timestamp: Int64) throws -> (offset: Int64, timestamp: Int64)? {
        let current = offsets
        return try db.withIterator(cf, upperBound: Array(OffsetKey(current.highWatermark)), fillCache: false) { it in
            try it.seekToBatch(containing: current.logStartOffset)
            while it.isValid {
                let batch = try StoredBatch(key: it.key, value: it.value)
                if batch.maxTimestamp >= timestamp {
                    return (max(batch.baseOffset, current.logStartOffset), batch.maxTimestamp)
                }
                it.next()
            }
            try it.checkError()
            return nil
        }
    }

    /// The batch with the largest maxTimestamp (the earliest such batch on ties): its last offset
    /// and that timestamp, for ListOffsets' MAX_TIMESTAMP (-3). Approximation: Kafka returns
    /// the offset of the very record carrying the maximum; we return the batch's last offset,
    /// reading headers only. Scans the whole log. nil when the log is empty.
    public func maxTimestampOffset() throws -> (offset: Int64, timestamp: Int64)? {
        let current = offsets
        return try db.withIterator(cf, upperBound: Array(OffsetKey(current.highWatermark)), fillCache: false) { it in
            try it.seekToBatch(containing: current.logStartOffset)
            var best: (offset: Int64, timestamp: Int64)?
            while it.isValid {
                let batch = try StoredBatch(key: it.key, value: it.value)
                if let current = best, batch.maxTimestamp <= current.timestamp {
                    // Ties keep the earlier batch.
                } else {
                    best = (batch.lastOffset, batch.maxTimestamp)
                }
                it.next()
            }
            try it.checkError()
            return best
        }
    }

    // MARK: Deletion

    /// Moves the log start offset to `offset` (DeleteRecords, retention) and deletes, with one
    /// range tombstone, every batch lying entirely below it; the batch containing `offset` stays
    /// (reads skip its earlier records). The new start is persisted in the same write.
    ///
    /// - Returns: the log start offset afterwards (unchanged when `offset` is not above it).
    /// - Throws: `offsetOutOfRange` when `offset` is negative or above the high watermark.
    @discardableResult
    public func deleteRecords(before offset: Int64) throws -> Int64 {
        try state.withLock { s in
            guard offset >= 0, offset <= s.watermark else {
                throw StorageError.offsetOutOfRange(requested: offset, logStartOffset: s.start, logEndOffset: s.end)
            }
            guard offset > s.start else { return s.start }
            // Keys below `keep` belong to batches ending before `offset`.
            let keep: Int64 = try db.withIterator(cf) { it in
                it.seekForPrev(OffsetKey(offset))
                guard it.isValid else {
                    try it.checkError()
                    return offset
                }
                let batch = try StoredBatch(key: it.key, value: it.value)
                return batch.lastOffset >= offset ? batch.baseOffset : offset
            }
            let writeBatch = WriteBatch()
            try writeBatch.deleteRange(cf, from: OffsetKey(0), to: OffsetKey(keep))
            try catalog.setLogStartOffset(offset, topicId: topicId, partition: topicPartition.partition, in: writeBatch)
            try abortedIndex.deleteBelow(offset, topicId: topicId, partition: topicPartition.partition, in: writeBatch)
            try db.write(writeBatch, sync: syncEveryWrite)
            s.start = offset
            return offset
        }
    }

    // MARK: Size

    /// Estimated bytes of the log: RocksDB's SST size estimate plus the memtables' current size.
    /// For retention.bytes; the estimate lags deletions until compaction reclaims the space.
    public func approximateSizeBytes() throws -> UInt64 {
        let files = try db.approximateSize(cf, from: Array(OffsetKey(0)), to: [UInt8](repeating: 0xFF, count: 9))
        let memtables = try db.integerProperty(cf, "rocksdb.cur-size-all-mem-tables") ?? 0
        return files &+ memtables
    }

    /// True once the topic was deleted (every operation then throws `columnFamilyDropped`).
    public var isDeleted: Bool { cf.isInvalidated }
}

extension Array where Element == UInt8 {
    init(_ key: OffsetKey) {
        self = key.withUnsafeBytes { Array($0) }
    }
}

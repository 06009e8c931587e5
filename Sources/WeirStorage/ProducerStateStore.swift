import Foundation
import KafkaProtocol

/// Idempotent producers' state per partition (see `ProducerState`), kept in the broker's one
/// database so that a partition's append stores its batch and the producer's new state in ONE
/// WriteBatch: after a crash both are there or neither is, so a retry is never stored twice.
///
/// On-disk layout — column family `producers`:
///
///     key    topic id (16 bytes, the UUID's big-endian bytes) + partition Int32 BE
///            + producer id Int64 BE                                             (28 bytes)
///     value  format byte 0 or 1, producer epoch Int16 BE, batch count UInt8 (0…5), then per
///            batch, oldest first, 32 bytes: firstSequence Int32 BE, lastSequence Int32 BE,
///            baseOffset Int64 BE, lastOffset Int64 BE, maxTimestamp Int64 BE
///            (4 + 32 × count bytes); format 1 only (a transaction is open on the partition):
///            then currentTxnFirstOffset Int64 BE (8 more bytes)
///
/// A partition's producers are one contiguous key range (topic id + partition), loaded by one
/// prefix scan when its log opens; a topic's are one range too, deleted with one range
/// tombstone in the write that deletes the topic. The producer id counter lives in the catalog
/// (see `ProducerIdAllocator`).
///
/// Thread-safe: it only issues RocksDB calls. Each `PartitionLog` caches its own entries.
public final class ProducerStateStore: Sendable {
    public static let columnFamilyName = "producers"
    static let keySize = 28
    static let batchSize = 32

    let db: RocksDB
    let cf: ColumnFamily

    init(db: RocksDB, cf: ColumnFamily) {
        self.db = db
        self.cf = cf
    }

    /// Every producer's state on the partition, by producer id.
    func load(topicId: KafkaUUID, partition: Int32) throws -> [Int64: ProducerState] {
        let prefix = Self.partitionPrefix(topicId, partition)
        return try db.withIterator(cf, lowerBound: prefix, upperBound: prefix.prefixSuccessor()) { it in
            var states: [Int64: ProducerState] = [:]
            it.seek(prefix)
            while it.isValid {
                let key = it.key
                guard key.count == Self.keySize, let producerId = key.bigEndian(Int64.self, at: 20) else {
                    throw StorageError.corrupt("producer state key of \(key.count) bytes in \(topicId)/\(partition)")
                }
                states[producerId] = try Self.decode(it.value, producerId: producerId)
                it.next()
            }
            try it.checkError()
            return states
        }
    }

    func put(_ state: ProducerState, topicId: KafkaUUID, partition: Int32, producerId: Int64,
             in batch: WriteBatch) throws {
        try batch.put(cf, key: Self.key(topicId, partition, producerId), value: Self.encode(state))
    }

    func delete(topicId: KafkaUUID, partition: Int32, producerId: Int64, in batch: WriteBatch) throws {
        try batch.delete(cf, key: Self.key(topicId, partition, producerId))
    }

    /// Removes the state of every partition of the topic (one range tombstone).
    func deleteTopic(_ topicId: KafkaUUID, in batch: WriteBatch) throws {
        let prefix = topicId.bytes
        // The all-0xFF id has no successor: end past its longest key instead.
        let end = prefix.prefixSuccessor() ?? [UInt8](repeating: 0xFF, count: Self.keySize + 1)
        try batch.deleteRange(cf, from: prefix, to: end)
    }

    /// Topic IDs that have producer state stored: lets startup remove the state of topics
    /// deleted while an append raced the deletion (the append's write may land after the
    /// deleting write, before the log's column family is dropped). One seek per topic.
    func topicIds() throws -> Set<KafkaUUID> {
        try db.withIterator(cf) { it in
            var ids = Set<KafkaUUID>()
            it.seekToFirst()
            while it.isValid {
                let key = it.key
                guard key.count == Self.keySize, let id = KafkaUUID(bytes: key[0..<16]) else {
                    throw StorageError.corrupt("producer state key of \(key.count) bytes")
                }
                ids.insert(id)
                guard let next = id.bytes.prefixSuccessor() else { break }
                it.seek(next)
            }
            try it.checkError()
            return ids
        }
    }

    // MARK: Encoding

    static func partitionPrefix(_ topicId: KafkaUUID, _ partition: Int32) -> [UInt8] {
        var prefix = topicId.bytes
        prefix.reserveCapacity(keySize)
        prefix.appendBigEndian(partition)
        return prefix
    }

    static func key(_ topicId: KafkaUUID, _ partition: Int32, _ producerId: Int64) -> [UInt8] {
        var key = partitionPrefix(topicId, partition)
        key.appendBigEndian(producerId)
        return key
    }

    static func encode(_ state: ProducerState) -> [UInt8] {
        var value: [UInt8] = [state.currentTxnFirstOffset == nil ? 0 : 1]
        value.reserveCapacity(12 + batchSize * state.batches.count)
        value.appendBigEndian(state.epoch)
        value.append(UInt8(state.batches.count))
        for b in state.batches {
            value.appendBigEndian(b.firstSequence)
            value.appendBigEndian(b.lastSequence)
            value.appendBigEndian(b.baseOffset)
            value.appendBigEndian(b.lastOffset)
            value.appendBigEndian(b.maxTimestamp)
        }
        if let first = state.currentTxnFirstOffset { value.appendBigEndian(first) }
        return value
    }

    static func decode(_ value: UnsafeRawBufferPointer, producerId: Int64) throws -> ProducerState {
        guard value.count >= 4, value[0] <= 1, let epoch = value.bigEndian(Int16.self, at: 1) else {
            throw StorageError.corrupt("producer \(producerId) state of \(value.count) bytes")
        }
        let count = Int(value[3])
        let txnBytes = value[0] == 1 ? 8 : 0
        guard count <= ProducerState.retainedBatches, value.count == 4 + batchSize * count + txnBytes else {
            throw StorageError.corrupt("producer \(producerId) state of \(value.count) bytes claims \(count) batches")
        }
        var batches: [ProducerBatchMetadata] = []
        batches.reserveCapacity(count)
        for i in 0..<count {
            let at = 4 + batchSize * i
            guard let first = value.bigEndian(Int32.self, at: at),
                  let last = value.bigEndian(Int32.self, at: at + 4),
                  let base = value.bigEndian(Int64.self, at: at + 8),
                  let lastOffset = value.bigEndian(Int64.self, at: at + 16),
                  let maxTimestamp = value.bigEndian(Int64.self, at: at + 24)
            else {
                throw StorageError.corrupt("producer \(producerId) state batch \(i) truncated")
            }
            batches.append(ProducerBatchMetadata(firstSequence: first, lastSequence: last, baseOffset: base,
                                                 lastOffset: lastOffset, maxTimestamp: maxTimestamp))
        }
        let txnFirst = txnBytes == 0 ? nil : value.bigEndian(Int64.self, at: 4 + batchSize * count)
        return ProducerState(epoch: epoch, batches: batches, currentTxnFirstOffset: txnFirst)
    }
}

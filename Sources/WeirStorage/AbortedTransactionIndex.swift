import Foundation
import KafkaProtocol

/// One aborted transaction on one partition: its producer and the range of offsets it spans,
/// from its first batch to its abort marker. A read_committed Fetch lists the ones its answer
/// overlaps, so the client drops their records (Kafka's AbortedTxn, the `.txnindex` entries).
public struct AbortedTransaction: Sendable, Equatable {
    public var producerId: Int64
    public var firstOffset: Int64
    /// The offset of the abort marker.
    public var lastOffset: Int64

    public init(producerId: Int64, firstOffset: Int64, lastOffset: Int64) {
        self.producerId = producerId
        self.firstOffset = firstOffset
        self.lastOffset = lastOffset
    }
}

/// The aborted-transaction index of every partition, written in the same WriteBatch as the
/// abort marker it describes, so that a read_committed Fetch finds the aborted transactions in
/// its range with one seek instead of scanning the log.
///
/// On-disk layout — column family `aborted-txns`:
///
///     key    topic id (16 bytes) + partition Int32 BE + marker offset Int64 BE     (28 bytes)
///     value  format byte 0, producer id Int64 BE, first offset Int64 BE            (17 bytes)
///
/// Keys sort by marker offset within a partition: a fetch from offset F seeks to F and reads
/// forward while entries can overlap its answer. Entries below the log start offset go with
/// the records they describe (retention, DeleteRecords); a topic's go with the topic.
public final class AbortedTransactionIndex: Sendable {
    public static let columnFamilyName = "aborted-txns"
    static let keySize = 28

    let db: RocksDB
    let cf: ColumnFamily

    init(db: RocksDB, cf: ColumnFamily) {
        self.db = db
        self.cf = cf
    }

    func put(_ txn: AbortedTransaction, topicId: KafkaUUID, partition: Int32, in batch: WriteBatch) throws {
        var value: [UInt8] = [0]
        value.appendBigEndian(txn.producerId)
        value.appendBigEndian(txn.firstOffset)
        try batch.put(cf, key: Self.key(topicId, partition, txn.lastOffset), value: value)
    }

    /// The aborted transactions whose marker is at or after `from` and whose first offset is
    /// below `upTo`: those overlapping records in [from, upTo), in marker order.
    func overlapping(topicId: KafkaUUID, partition: Int32, from: Int64, upTo: Int64) throws -> [AbortedTransaction] {
        let prefix = ProducerStateStore.partitionPrefix(topicId, partition)
        return try db.withIterator(cf, lowerBound: prefix, upperBound: prefix.prefixSuccessor()) { it in
            var found: [AbortedTransaction] = []
            it.seek(Self.key(topicId, partition, max(from, 0)))
            while it.isValid {
                let key = it.key
                let value = it.value
                guard key.count == Self.keySize, let last = key.bigEndian(Int64.self, at: 20),
                      value.count == 17, value[0] == 0,
                      let producerId = value.bigEndian(Int64.self, at: 1), let first = value.bigEndian(Int64.self, at: 9)
                else {
                    throw StorageError.corrupt("aborted transaction entry of \(key.count)/\(value.count) bytes in \(topicId)/\(partition)")
                }
                if first < upTo { found.append(AbortedTransaction(producerId: producerId, firstOffset: first, lastOffset: last)) }
                it.next()
            }
            try it.checkError()
            return found
        }
    }

    /// Removes the entries whose marker is below `offset` (the records went before it).
    func deleteBelow(_ offset: Int64, topicId: KafkaUUID, partition: Int32, in batch: WriteBatch) throws {
        try batch.deleteRange(cf, from: ProducerStateStore.partitionPrefix(topicId, partition),
                              to: Self.key(topicId, partition, max(offset, 0)))
    }

    /// Removes every partition's entries of the topic.
    func deleteTopic(_ topicId: KafkaUUID, in batch: WriteBatch) throws {
        let end = topicId.bytes.prefixSuccessor() ?? [UInt8](repeating: 0xFF, count: Self.keySize + 1)
        try batch.deleteRange(cf, from: topicId.bytes, to: end)
    }

    static func key(_ topicId: KafkaUUID, _ partition: Int32, _ markerOffset: Int64) -> [UInt8] {
        var key = ProducerStateStore.partitionPrefix(topicId, partition)
        key.appendBigEndian(markerOffset)
        return key
    }
}

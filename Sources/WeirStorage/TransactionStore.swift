import Foundation
import KafkaProtocol

/// The transaction coordinator's state, one value per transactional id, in the broker's one
/// database: what Kafka keeps as records of the internal `__transaction_state` partitions,
/// materialized. Each state change is one write, and the write that ends a transaction also
/// carries its consumer offsets (`complete`), so they become visible together.
///
/// On-disk layout — column family `transactions`:
///
///     key    the transactional id, UTF-8
///     value  a `TransactionRecord` (see its `encoded()` for the bytes)
///
/// Thread-safe: it only issues RocksDB calls.
public final class TransactionStore: Sendable {
    public static let columnFamilyName = "transactions"

    let db: RocksDB
    let cf: ColumnFamily
    let offsetsCF: ColumnFamily?
    let sync: Bool

    init(db: RocksDB, cf: ColumnFamily, sync: Bool) {
        self.db = db
        self.cf = cf
        self.offsetsCF = db.columnFamily(named: OffsetStore.columnFamilyName)
        self.sync = sync
    }

    /// Every stored transactional id's state.
    public func loadAll() throws -> [TransactionRecord] {
        try db.withIterator(cf) { it in
            var records: [TransactionRecord] = []
            it.seekToFirst()
            while it.isValid {
                let id = String(decoding: it.key, as: UTF8.self)
                records.append(try TransactionRecord(transactionalId: id, decoding: Array(it.value)))
                it.next()
            }
            try it.checkError()
            return records
        }
    }

    /// Stores the record. Durable as the broker's appends are (in the WAL before the answer:
    /// a kill -9 keeps it; fsynced when `log.flush.interval.messages=1`), and ordered with them:
    /// one WAL, so a marker written after a Prepare record is never recovered without it.
    public func put(_ record: TransactionRecord) throws {
        let batch = WriteBatch()
        try batch.put(cf, key: Array(record.transactionalId.utf8), value: record.encoded())
        try db.write(batch, sync: sync)
    }

    /// Stores the completed record and, in the same write, commits `offsets` for their groups
    /// (a committed transaction's TxnOffsetCommits; empty for an abort).
    public func complete(_ record: TransactionRecord, committing offsets: [String: [TopicPartition: CommittedOffset]],
                         into store: OffsetStore) throws {
        let batch = WriteBatch()
        try batch.put(cf, key: Array(record.transactionalId.utf8), value: record.encoded())
        for (group, groupOffsets) in offsets { try store.commit(group: group, offsets: groupOffsets, in: batch) }
        try db.write(batch, sync: sync)
    }

    public func delete(_ transactionalId: String) throws {
        let batch = WriteBatch()
        try batch.delete(cf, key: Array(transactionalId.utf8))
        try db.write(batch, sync: sync)
    }
}

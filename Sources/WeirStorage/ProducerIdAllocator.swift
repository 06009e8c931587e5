import Foundation
import Synchronization

/// Hands out producer ids for InitProducerId: unique for the life of the database, never
/// reused, even across crashes.
///
/// On-disk layout — column family `catalog` (see `TopicCatalog`):
///
///     key    "producer-ids" (UTF-8)
///     value  8-byte big-endian Int64: the end of the reserved block. Every id below it may
///            have been handed out; none at or above it was. Absent = 0.
///
/// Ids are reserved `blockSize` at a time with one fsynced write, then handed out from memory,
/// so InitProducerId costs a lock, not a disk write, 999 times in 1,000. A restart skips the
/// unused rest of the block (ids are plentiful: 2^63).
///
/// Thread-safe.
public final class ProducerIdAllocator: Sendable {
    static let key = Array("producer-ids".utf8)
    public static let defaultBlockSize: Int64 = 1_000

    let db: RocksDB
    let cf: ColumnFamily
    let blockSize: Int64
    /// The next id to hand out, and the end of the reserved block.
    private let range: Mutex<(next: Int64, limit: Int64)>
    /// In a cluster, where blocks come from: given the block size, the first id of a block
    /// reserved for this broker alone in the shared store (etcd), so that two brokers never
    /// hand out one id. nil: blocks are reserved in this database, as described above.
    private let sharedBlocks = Mutex<(@Sendable (Int64) throws -> Int64)?>(nil)

    /// Takes blocks from the cluster's shared store from now on (see `sharedBlocks`); the
    /// block reserved locally so far is abandoned.
    public func useSharedBlocks(_ claim: @escaping @Sendable (Int64) throws -> Int64) {
        sharedBlocks.withLock { $0 = claim }
        range.withLock { $0.next = $0.limit }
    }

    init(db: RocksDB, catalog cf: ColumnFamily, blockSize: Int64 = defaultBlockSize) throws {
        precondition(blockSize > 0, "producer id block size \(blockSize)")
        self.db = db
        self.cf = cf
        self.blockSize = blockSize
        var stored: Int64 = 0
        if let bytes = try db.get(cf, key: Self.key) {
            guard let value = bytes.withUnsafeBytes({ OffsetKey.decode($0) }), value >= 0 else {
                throw StorageError.corrupt("producer id block end of \(bytes.count) bytes")
            }
            stored = value
        }
        range = Mutex((stored, stored))
    }

    /// A producer id never handed out before. Blocks on an fsync once per `blockSize` calls:
    /// call it off the event loop.
    public func allocate() throws -> Int64 {
        try range.withLock { r in
            if r.next >= r.limit, let claim = sharedBlocks.withLock({ $0 }) {
                let start = try claim(blockSize)
                r = (start, start + blockSize)
            } else if r.next >= r.limit {
                let (end, overflow) = r.limit.addingReportingOverflow(blockSize)
                guard !overflow else { throw StorageError.invalidArgument("producer ids exhausted") }
                try db.put(cf, key: Self.key, value: OffsetKey(end), sync: true)
                r.limit = end
            }
            defer { r.next += 1 }
            return r.next
        }
    }

    /// Whether `id` may have been handed out by this database (it is below the reserved end):
    /// InitProducerId bumps the epoch of such an id, and answers any other with a new one.
    public func mayHaveIssued(_ id: Int64) -> Bool {
        range.withLock { id >= 0 && id < $0.limit }
    }
}

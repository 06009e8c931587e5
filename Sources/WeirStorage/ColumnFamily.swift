import CRocksDB

/// A column family of an open `RocksDB`: a handle that every operation on it passes to RocksDB.
///
/// The C handle is released when the column family is dropped or the database is closed; from
/// then on every operation throws (`columnFamilyDropped` / `closed`) instead of touching freed
/// memory. `handle` is read under the database's shared lock and cleared under its exclusive lock.
// @unchecked: a C handle read under the database's shared lock and cleared under its exclusive lock.
public final class ColumnFamily: @unchecked Sendable, CustomStringConvertible {
    public let name: String
    let lock: ReadWriteLock
    /// nil once dropped or once the database closed. Guarded by `lock`.
    var handle: OpaquePointer?
    /// Distinguishes "dropped" from "closed" in errors. Guarded by `lock`.
    var dropped = false

    init(name: String, handle: OpaquePointer, lock: ReadWriteLock) {
        self.name = name
        self.handle = handle
        self.lock = lock
    }

    public var description: String { name }

    /// True once the column family was dropped or its database closed.
    public var isInvalidated: Bool {
        lock.withReadLock { handle == nil }
    }

    /// Runs `body` with the live handle, holding the database's shared lock.
    func withHandle<R>(_ body: (OpaquePointer) throws -> R) throws -> R {
        try lock.withReadLock {
            guard let handle else {
                throw dropped ? StorageError.columnFamilyDropped(name) : StorageError.closed
            }
            return try body(handle)
        }
    }

    /// Releases the C handle. Caller holds the exclusive lock.
    func invalidateLocked(dropped: Bool) {
        guard let handle else { return }
        rocksdb_column_family_handle_destroy(handle)
        self.handle = nil
        self.dropped = dropped
    }
}

import CRocksDB
import Foundation

/// A cursor over one column family, lent to the closure of `RocksDB.withIterator`.
///
/// It is non-copyable and only borrowed, so it cannot outlive that closure: the iterator is
/// destroyed before the database's shared lock is released, which is what keeps `close()` from
/// freeing the database under it. The iterator reads an implicit snapshot taken when it was
/// created. `key` and `value` point into RocksDB's memory and stay valid until the next move.
public struct RocksDBIterator: ~Copyable {
    let pointer: OpaquePointer

    init(pointer: OpaquePointer) {
        self.pointer = pointer
    }

    /// Whether the cursor is on an entry. When it turns false, call `checkError()` to tell the
    /// end of the data from an I/O or corruption error.
    public var isValid: Bool { rocksdb_iter_valid(pointer) != 0 }

    public func seekToFirst() { rocksdb_iter_seek_to_first(pointer) }
    public func seekToLast() { rocksdb_iter_seek_to_last(pointer) }

    /// Moves to the first key ≥ `key`.
    public func seek(_ key: some ContiguousBytes) {
        key.withUnsafeBytes { k in rocksdb_iter_seek(pointer, k.cChars, k.count) }
    }

    /// Moves to the last key ≤ `key`.
    public func seekForPrev(_ key: some ContiguousBytes) {
        key.withUnsafeBytes { k in rocksdb_iter_seek_for_prev(pointer, k.cChars, k.count) }
    }

    /// Requires `isValid`.
    public func next() { rocksdb_iter_next(pointer) }
    /// Requires `isValid`.
    public func prev() { rocksdb_iter_prev(pointer) }

    /// The current key, valid until the next move. Requires `isValid`.
    public var key: UnsafeRawBufferPointer {
        var length = 0
        let p = rocksdb_iter_key(pointer, &length)
        return UnsafeRawBufferPointer(start: p, count: length)
    }

    /// The current value, valid until the next move. Requires `isValid`.
    public var value: UnsafeRawBufferPointer {
        var length = 0
        let p = rocksdb_iter_value(pointer, &length)
        return UnsafeRawBufferPointer(start: p, count: length)
    }

    public func keyBytes() -> [UInt8] { Array(key) }
    public func valueBytes() -> [UInt8] { Array(value) }

    /// Throws the error that made the iterator invalid, if any.
    public func checkError() throws {
        try withErrorPointer { rocksdb_iter_get_error(pointer, $0) }
    }
}

/// Calls `body` with a `char** errptr` and turns a reported error into `StorageError.rocksDB`,
/// freeing RocksDB's message.
func withErrorPointer<R>(_ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> R) throws -> R {
    var error: UnsafeMutablePointer<CChar>? = nil
    let result = try body(&error)
    if let error {
        let message = String(cString: error)
        rocksdb_free(error)
        throw StorageError.rocksDB(message)
    }
    return result
}

import CRocksDB
import Foundation
import NIOCore

/// An atomic group of writes, applied with `RocksDB.write(_:sync:)`: all of them or none, even
/// across column families (a batch of appends plus a catalog update, say).
///
/// RocksDB copies keys and values into the batch as they are added, so the caller's buffers
/// need only live for the call. Not thread-safe: build a batch on one thread.
public final class WriteBatch {
    let pointer: OpaquePointer

    public init() {
        pointer = rocksdb_writebatch_create()
    }

    deinit {
        rocksdb_writebatch_destroy(pointer)
    }

    /// Number of operations added.
    public var count: Int { Int(rocksdb_writebatch_count(pointer)) }

    public func clear() {
        rocksdb_writebatch_clear(pointer)
    }

    public func put(_ cf: ColumnFamily, key: some ContiguousBytes, value: some ContiguousBytes) throws {
        try cf.withHandle { h in
            key.withUnsafeBytes { k in
                value.withUnsafeBytes { v in
                    rocksdb_writebatch_put_cf(pointer, h, k.cChars, k.count, v.cChars, v.count)
                }
            }
        }
    }

    /// Puts a value made of several slices, concatenated by RocksDB straight into the batch: no
    /// intermediate buffer for e.g. a re-stamped header followed by an untouched batch body.
    public func putv(_ cf: ColumnFamily, key: UnsafeRawBufferPointer, parts: [UnsafeRawBufferPointer]) throws {
        guard parts.count <= Int(Int32.max) else { throw StorageError.invalidArgument("too many value parts") }
        var pointers: [UnsafePointer<CChar>?] = parts.map { $0.cChars }
        var sizes = parts.map(\.count)
        var keyPointer: UnsafePointer<CChar>? = key.cChars
        var keySize = key.count
        try cf.withHandle { h in
            rocksdb_writebatch_putv_cf(pointer, h, 1, &keyPointer, &keySize, Int32(parts.count), &pointers, &sizes)
        }
    }

    /// `putv` over the readable bytes of ByteBuffers.
    public func putv(_ cf: ColumnFamily, key: some ContiguousBytes, parts: [ByteBuffer]) throws {
        try key.withUnsafeBytes { k in
            try Self.withReadableBytes(of: parts[...], collected: []) { raws in
                try putv(cf, key: k, parts: raws)
            }
        }
    }

    public func delete(_ cf: ColumnFamily, key: some ContiguousBytes) throws {
        try cf.withHandle { h in
            key.withUnsafeBytes { k in
                rocksdb_writebatch_delete_cf(pointer, h, k.cChars, k.count)
            }
        }
    }

    /// Deletes the keys in [start, end) with one range tombstone (cost independent of the count).
    public func deleteRange(_ cf: ColumnFamily, from start: some ContiguousBytes, to end: some ContiguousBytes) throws {
        try cf.withHandle { h in
            start.withUnsafeBytes { s in
                end.withUnsafeBytes { e in
                    rocksdb_writebatch_delete_range_cf(pointer, h, s.cChars, s.count, e.cChars, e.count)
                }
            }
        }
    }

    private static func withReadableBytes<R>(of buffers: ArraySlice<ByteBuffer>, collected: [UnsafeRawBufferPointer],
                                             _ body: ([UnsafeRawBufferPointer]) throws -> R) rethrows -> R {
        guard let first = buffers.first else { return try body(collected) }
        return try first.withUnsafeReadableBytes { raw in
            try withReadableBytes(of: buffers.dropFirst(), collected: collected + [raw], body)
        }
    }
}

/// A valid address for empty slices: an empty Swift buffer may have a nil base address, and
/// RocksDB would hand it to memcpy.
nonisolated(unsafe) private let nonNullEmpty: UnsafePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 1)
    p.initialize(to: 0)
    return UnsafePointer(p)
}()

extension UnsafeRawBufferPointer {
    /// The bytes as RocksDB's `const char*`, never nil.
    var cChars: UnsafePointer<CChar> {
        baseAddress?.assumingMemoryBound(to: CChar.self) ?? nonNullEmpty
    }
}

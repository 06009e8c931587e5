import Foundation

/// An 8-byte big-endian Int64 key. Partition logs key batches by it so that RocksDB's bytewise
/// order is offset order (offsets are never negative). Encodes without allocating.
struct OffsetKey: ContiguousBytes {
    var offset: Int64

    init(_ offset: Int64) {
        self.offset = offset
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: offset.bigEndian, body)
    }

    /// Decodes a stored key; nil unless exactly 8 bytes.
    static func decode(_ raw: UnsafeRawBufferPointer) -> Int64? {
        raw.count == 8 ? raw.bigEndian(Int64.self, at: 0) : nil
    }
}

extension UnsafeRawBufferPointer {
    /// The big-endian integer at `offset`; nil when the buffer is too short.
    func bigEndian<T: FixedWidthInteger>(_: T.Type, at offset: Int) -> T? {
        guard offset >= 0, offset <= count - MemoryLayout<T>.size, let base = baseAddress else { return nil }
        return T(bigEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
    }
}

extension Array where Element == UInt8 {
    mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.bigEndian) { append(contentsOf: $0) }
    }

    /// The smallest byte string greater than every string starting with `self` (nil when `self`
    /// is all 0xFF): the exclusive end of a prefix scan.
    func prefixSuccessor() -> [UInt8]? {
        var bytes = self
        while let last = bytes.last {
            if last < 0xFF {
                bytes[bytes.count - 1] = last + 1
                return bytes
            }
            bytes.removeLast()
        }
        return nil
    }
}

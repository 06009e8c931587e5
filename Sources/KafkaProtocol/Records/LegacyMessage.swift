import CZlib
import NIOCore

/// One message of the message formats before record batches (magic 0 and 1, Kafka < 0.11),
/// which old clients (sarama before V0_11_0_0, kafka-go 0.2) still produce and consume.
///
/// Wire format, big-endian, one entry of a message set:
///
///     offset  size  field
///          0     8  offset          (a producer writes 0 or a relative offset; the broker assigns)
///          8     4  message size    (bytes from crc to the end of value)
///         12     4  crc             (CRC-32, IEEE, of magic … value)
///         16     1  magic           (0 or 1)
///         17     1  attributes      (bits 0-2 codec, bit 3 LogAppendTime: magic 1 only)
///         18     8  timestamp       (magic 1 only)
///                4  key length      (-1: null) then the key
///                4  value length    (-1: null) then the value
///
/// A compressed set is one *wrapper* message whose value is the compressed bytes of an inner
/// message set (uncompressed, same magic). Magic 1 inner offsets count from 0 and the wrapper
/// carries the last one; magic 0 inner offsets are whatever the producer wrote.
public struct LegacyMessage: Sendable, Equatable {
    public var offset: Int64
    public var magic: Int8
    public var attributes: Int8
    /// nil for magic 0, which has no timestamp.
    public var timestamp: Int64?
    public var key: ByteBuffer?
    public var value: ByteBuffer?

    /// Bytes in front of the key in a magic-0 message: offset, size, crc, magic, attributes.
    public static let overheadV0 = 8 + 4 + 4 + 1 + 1 + 4 + 4
    public static let overheadV1 = overheadV0 + 8

    public init(offset: Int64, magic: Int8, attributes: Int8 = 0, timestamp: Int64?, key: ByteBuffer?, value: ByteBuffer?) {
        self.offset = offset
        self.magic = magic
        self.attributes = attributes
        self.timestamp = timestamp
        self.key = key
        self.value = value
    }

    public var codecBits: Int8 { attributes & 0x07 }
    public var isLogAppendTime: Bool { magic >= 1 && attributes & 0x08 != 0 }

    /// The size of this message in a message set.
    public var encodedSize: Int {
        (magic == 0 ? Self.overheadV0 : Self.overheadV1) + (key?.readableBytes ?? 0) + (value?.readableBytes ?? 0)
    }

    /// Appends the message (offset, size, CRC and all) to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(offset, endianness: .big)
        let sizeAt = buffer.writerIndex
        buffer.writeInteger(Int32(0), endianness: .big)
        buffer.writeInteger(UInt32(0), endianness: .big)
        let crcFrom = buffer.writerIndex
        buffer.writeInteger(magic)
        buffer.writeInteger(attributes)
        if magic >= 1 { buffer.writeInteger(timestamp ?? -1, endianness: .big) }
        Self.writeBytes(key, to: &buffer)
        Self.writeBytes(value, to: &buffer)
        let end = buffer.writerIndex
        buffer.setInteger(Int32(end - sizeAt - 4), at: sizeAt, endianness: .big)
        buffer.setInteger(Self.crc32(buffer, from: crcFrom, to: end), at: crcFrom - 4, endianness: .big)
    }

    private static func writeBytes(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard var bytes else {
            buffer.writeInteger(Int32(-1), endianness: .big)
            return
        }
        buffer.writeInteger(Int32(bytes.readableBytes), endianness: .big)
        buffer.writeBuffer(&bytes)
    }

    /// CRC-32 (IEEE, zlib's) of `buffer`'s bytes in `from ..< to`.
    static func crc32(_ buffer: ByteBuffer, from: Int, to: Int) -> UInt32 {
        buffer.withUnsafeReadableBytes { raw in
            let start = from - buffer.readerIndex
            guard let base = raw.baseAddress, to > from else { return 0 }
            let crc = CZlib.crc32(0, base.advanced(by: start).assumingMemoryBound(to: UInt8.self), UInt32(to - from))
            return UInt32(truncatingIfNeeded: crc)
        }
    }
}

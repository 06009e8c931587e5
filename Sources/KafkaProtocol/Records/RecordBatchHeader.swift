import CCRC32C
import NIOCore

/// The fixed 61-byte header of a RecordBatch, magic 2 (implementation.html §5.3.1):
///
///     offset  size  field
///          0     8  baseOffset
///          8     4  batchLength            (bytes after this field)
///         12     4  partitionLeaderEpoch
///         16     1  magic                  (2)
///         17     4  crc                    (CRC-32C of bytes 21 ..< end)
///         21     2  attributes             (bits 0-2 codec, 3 timestampType, 4 transactional, 5 control)
///         23     4  lastOffsetDelta
///         27     8  baseTimestamp
///         35     8  maxTimestamp
///         43     8  producerId
///         51     2  producerEpoch
///         53     4  baseSequence
///         57     4  recordsCount
///         61        records …
///
/// The broker reads only this header on the hot path: it never decodes records to store or
/// serve them. Offsets and the leader epoch lie outside the CRC, so stamping them is free.
public struct RecordBatchHeader: Sendable, Equatable {
    public static let size = 61
    /// Bytes before `batchLength` counts: baseOffset + batchLength.
    public static let logOverhead = 12
    public static let crcStart = 21

    public var baseOffset: Int64
    public var batchLength: Int32
    public var partitionLeaderEpoch: Int32
    public var magic: Int8
    public var crc: UInt32
    public var attributes: Int16
    public var lastOffsetDelta: Int32
    public var baseTimestamp: Int64
    public var maxTimestamp: Int64
    public var producerId: Int64
    public var producerEpoch: Int16
    public var baseSequence: Int32
    public var recordsCount: Int32

    /// Total size of the batch on the wire, header included.
    public var totalSize: Int { Int(batchLength) + Self.logOverhead }
    public var lastOffset: Int64 { baseOffset + Int64(lastOffsetDelta) }
    public var compression: CompressionCodec { CompressionCodec(rawValue: Int8(attributes & 0x07)) ?? .none }
    public var isLogAppendTime: Bool { attributes & 0x08 != 0 }
    public var isTransactional: Bool { attributes & 0x10 != 0 }
    public var isControl: Bool { attributes & 0x20 != 0 }

    public init(baseOffset: Int64 = 0, batchLength: Int32 = 49, partitionLeaderEpoch: Int32 = -1, magic: Int8 = 2,
                crc: UInt32 = 0, attributes: Int16 = 0, lastOffsetDelta: Int32 = 0, baseTimestamp: Int64 = 0,
                maxTimestamp: Int64 = 0, producerId: Int64 = -1, producerEpoch: Int16 = -1,
                baseSequence: Int32 = -1, recordsCount: Int32 = 0) {
        self.baseOffset = baseOffset
        self.batchLength = batchLength
        self.partitionLeaderEpoch = partitionLeaderEpoch
        self.magic = magic
        self.crc = crc
        self.attributes = attributes
        self.lastOffsetDelta = lastOffsetDelta
        self.baseTimestamp = baseTimestamp
        self.maxTimestamp = maxTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.recordsCount = recordsCount
    }

    /// Reads the header at `index` without moving the reader index.
    public init(from buffer: ByteBuffer, at index: Int) throws {
        guard buffer.writerIndex - index >= Self.size else {
            throw ProtocolError.truncated("record batch header (\(buffer.writerIndex - index) of 61 bytes)")
        }
        func get<T: FixedWidthInteger>(_ offset: Int, _: T.Type) -> T {
            buffer.getInteger(at: index + offset, endianness: .big, as: T.self)!
        }
        baseOffset = get(0, Int64.self)
        batchLength = get(8, Int32.self)
        partitionLeaderEpoch = get(12, Int32.self)
        magic = get(16, Int8.self)
        crc = get(17, UInt32.self)
        attributes = get(21, Int16.self)
        lastOffsetDelta = get(23, Int32.self)
        baseTimestamp = get(27, Int64.self)
        maxTimestamp = get(35, Int64.self)
        producerId = get(43, Int64.self)
        producerEpoch = get(51, Int16.self)
        baseSequence = get(53, Int32.self)
        recordsCount = get(57, Int32.self)
    }

    /// Writes the 61 header bytes (crc as stored in `crc`; see `RecordBatchHeader.updateCRC`).
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeInteger(baseOffset, endianness: .big)
        buffer.writeInteger(batchLength, endianness: .big)
        buffer.writeInteger(partitionLeaderEpoch, endianness: .big)
        buffer.writeInteger(magic, endianness: .big)
        buffer.writeInteger(crc, endianness: .big)
        buffer.writeInteger(attributes, endianness: .big)
        buffer.writeInteger(lastOffsetDelta, endianness: .big)
        buffer.writeInteger(baseTimestamp, endianness: .big)
        buffer.writeInteger(maxTimestamp, endianness: .big)
        buffer.writeInteger(producerId, endianness: .big)
        buffer.writeInteger(producerEpoch, endianness: .big)
        buffer.writeInteger(baseSequence, endianness: .big)
        buffer.writeInteger(recordsCount, endianness: .big)
    }

    /// CRC-32C of the batch at `index` (attributes to the end), computed over the buffer in place.
    public static func computeCRC(of buffer: ByteBuffer, batchAt index: Int, totalSize: Int) -> UInt32 {
        buffer.withUnsafeReadableBytes { raw in
            let base = raw.baseAddress! + (index - buffer.readerIndex) + crcStart
            return weir_crc32c(0, base, totalSize - crcStart)
        }
    }

    /// Recomputes and stores the CRC of the batch at `index` (after attributes or timestamps changed).
    public static func updateCRC(in buffer: inout ByteBuffer, batchAt index: Int, totalSize: Int) {
        let crc = computeCRC(of: buffer, batchAt: index, totalSize: totalSize)
        buffer.setInteger(crc, at: index + 17, endianness: .big)
    }
}

/// Codec in bits 0-2 of a batch's attributes.
public enum CompressionCodec: Int8, Sendable, CaseIterable {
    case none = 0, gzip = 1, snappy = 2, lz4 = 3, zstd = 4

    public init?(name: String) {
        switch name.lowercased() {
        case "none", "uncompressed": self = .none
        case "gzip": self = .gzip
        case "snappy": self = .snappy
        case "lz4": self = .lz4
        case "zstd": self = .zstd
        default: return nil
        }
    }
}

import NIOCore

/// Output that keeps large `records` fields as their own buffers instead of copying them.
///
/// A Fetch response is mostly record batches that already sit in their own `ByteBuffer`s (read
/// from storage); copying them into one big response buffer costs more than everything else the
/// broker does for a fetch. Messages that contain `records` fields (`KafkaScatterEncodable`, see
/// tools/codegen) therefore encode into this writer: ordinary fields go into the small `current`
/// buffer, and each large records buffer becomes a part of its own, so the channel can hand all
/// parts to the kernel in one `writev` without another copy.
///
/// The concatenation of `finish()`'s parts is byte for byte what the message's
/// `write(to: inout ByteBuffer, version:)` produces.
public struct KafkaScatterWriter: Sendable {
    /// The buffer the generated code writes ordinary fields into.
    public var current: ByteBuffer
    /// Records buffers of at least this many bytes become their own part; smaller ones are
    /// copied into `current`, where a copy is cheaper than one more iovec and buffer.
    public let threshold: Int

    private let allocator: ByteBufferAllocator
    private let headroom: Int
    /// Completed parts, in order; `current` follows them.
    private var parts: [ByteBuffer] = []
    /// Readable bytes of `parts`, kept so that `totalBytes` is O(1).
    private var partsBytes = 0

    /// - Parameters:
    ///   - allocator: allocates `current` (and a fresh one after each records part).
    ///   - headroom: the capacity each `current` buffer starts with: room for a response header
    ///     and the fields between two large records fields without growing.
    ///   - threshold: the smallest records buffer kept as its own part (at least 1, so an empty
    ///     records field never becomes an empty part).
    public init(allocator: ByteBufferAllocator = ByteBufferAllocator(), headroom: Int = 256, threshold: Int = 4096) {
        self.allocator = allocator
        self.headroom = Swift.max(0, headroom)
        self.threshold = Swift.max(1, threshold)
        self.current = allocator.buffer(capacity: self.headroom)
    }

    /// Appends `records` (nullable, classic int32 length or compact uvarint length+1, as
    /// `writeKafkaBytes` does): the length goes into `current`; a records buffer of at least
    /// `threshold` bytes becomes its own part (no copy), smaller ones are copied into `current`.
    public mutating func writeKafkaRecords(_ records: ByteBuffer?, compact: Bool) {
        guard let records, records.readableBytes >= threshold else {
            current.writeKafkaBytes(records, compact: compact)
            return
        }
        // The same length encoding as ByteBuffer.writeKafkaBytes, so both paths agree byte for byte.
        if compact {
            current.writeUnsignedVarInt(UInt32(records.readableBytes + 1))
        } else {
            current.writeInteger(Int32(records.readableBytes), endianness: .big)
        }
        appendPart(current)
        appendPart(records)
        current = allocator.buffer(capacity: headroom)
    }

    /// All parts in order (finishing `current`); their concatenation is exactly what
    /// `write(to: inout ByteBuffer, version:)` would produce. Empty buffers are left out.
    /// The writer is empty afterwards and can be reused.
    public mutating func finish() -> [ByteBuffer] {
        appendPart(current)
        let result = parts
        parts = []
        partsBytes = 0
        current = allocator.buffer(capacity: headroom)
        return result
    }

    /// Bytes written so far, over all parts and `current`.
    public var totalBytes: Int {
        partsBytes + current.readableBytes
    }

    private mutating func appendPart(_ part: ByteBuffer) {
        guard part.readableBytes > 0 else { return }
        parts.append(part)
        partsBytes += part.readableBytes
    }
}

import NIOCore

/// One record inside a v2 batch (implementation.html §5.3.2). All integers are zig-zag varints:
///
///     length          varint    bytes after this field
///     attributes      int8      (unused, 0)
///     timestampDelta  varlong   from the batch's baseTimestamp
///     offsetDelta     varint    from the batch's baseOffset
///     keyLength       varint    -1 for a null key
///     key             bytes
///     valueLength     varint    -1 for a null value
///     value           bytes
///     headersCount    varint
///     headers         [RecordHeader]
///
/// Only clients decode records: the broker stores and serves whole batches.
public struct Record: Sendable, Equatable {
    public var attributes: Int8
    public var timestampDelta: Int64
    public var offsetDelta: Int32
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]

    /// The smallest possible record: a one-byte length and six one-byte fields.
    public static let minimumSize = 7

    public init(attributes: Int8 = 0, timestampDelta: Int64, offsetDelta: Int32,
                key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = []) {
        self.attributes = attributes
        self.timestampDelta = timestampDelta
        self.offsetDelta = offsetDelta
        self.key = key
        self.value = value
        self.headers = headers
    }

    /// Size of everything after the length field.
    public var bodySize: Int {
        var size = 1 + Self.varLongSize(timestampDelta) + Self.varIntSize(offsetDelta)
        size += Self.varBytesSize(key) + Self.varBytesSize(value) + Self.varIntSize(headers.count)
        for header in headers { size += header.encodedSize }
        return size
    }

    /// Size on the wire, length field included.
    public var encodedSize: Int {
        let body = bodySize
        return Self.varIntSize(body) + body
    }

    /// Writes the record, length first. Sizes past Int32 are the caller's to prevent
    /// (`RecordBatchBuilder.build` refuses batches that large).
    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarInt(Int32(truncatingIfNeeded: bodySize))
        buffer.writeInteger(attributes)
        buffer.writeVarLong(timestampDelta)
        buffer.writeVarInt(offsetDelta)
        Self.writeVarBytes(key, to: &buffer)
        Self.writeVarBytes(value, to: &buffer)
        buffer.writeVarInt(Int32(truncatingIfNeeded: headers.count))
        for header in headers { header.write(to: &buffer) }
    }

    /// Reads one record. Key, value and header values are slices of `buffer`, not copies.
    /// Like Kafka's `DefaultRecord.readFrom`, the fields must fill the declared length exactly.
    public init(from buffer: inout ByteBuffer) throws {
        let length = try buffer.readVarInt()
        guard length >= 0 else { throw ProtocolError.invalid("record length \(length)") }
        guard var body = buffer.readSlice(length: Int(length)) else {
            throw ProtocolError.truncated("record (\(length) bytes, \(buffer.readableBytes) left)")
        }
        attributes = try body.readKafka(Int8.self, "record attributes")
        timestampDelta = try body.readVarLong()
        offsetDelta = try body.readVarInt()
        key = try Self.readVarBytes(from: &body, "record key")
        value = try Self.readVarBytes(from: &body, "record value")
        let headerCount = try body.readVarInt()
        // Each header takes at least two bytes, which bounds the count by what is left.
        guard headerCount >= 0, Int(headerCount) <= body.readableBytes / 2 else {
            throw ProtocolError.invalid("record header count \(headerCount) with \(body.readableBytes) bytes left")
        }
        var headers: [RecordHeader] = []
        headers.reserveCapacity(Int(headerCount))
        for _ in 0 ..< headerCount { headers.append(try RecordHeader(from: &body)) }
        self.headers = headers
        guard body.readableBytes == 0 else {
            throw ProtocolError.invalid("record declares \(length) bytes but its fields end \(body.readableBytes) early")
        }
    }

    // MARK: varint helpers shared with RecordHeader

    static func varIntSize(_ value: Int) -> Int {
        varIntSize(Int32(truncatingIfNeeded: value))
    }

    static func varIntSize(_ value: Int32) -> Int {
        unsignedVarSize(UInt64(UInt32(bitPattern: (value << 1) ^ (value >> 31))))
    }

    static func varLongSize(_ value: Int64) -> Int {
        unsignedVarSize(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    private static func unsignedVarSize(_ value: UInt64) -> Int {
        // 7 payload bits per byte; a zero still takes one byte.
        let bits = 64 - value.leadingZeroBitCount
        return max(1, (bits + 6) / 7)
    }

    static func varBytesSize(_ bytes: ByteBuffer?) -> Int {
        guard let bytes else { return 1 }
        return varIntSize(bytes.readableBytes) + bytes.readableBytes
    }

    static func writeVarBytes(_ bytes: ByteBuffer?, to buffer: inout ByteBuffer) {
        guard var bytes else {
            buffer.writeVarInt(-1)
            return
        }
        buffer.writeVarInt(Int32(truncatingIfNeeded: bytes.readableBytes))
        buffer.writeBuffer(&bytes)
    }

    /// A varint length (-1 for null) followed by that many bytes, returned as a slice.
    static func readVarBytes(from buffer: inout ByteBuffer, _ what: String) throws -> ByteBuffer? {
        let length = try buffer.readVarInt()
        if length == -1 { return nil }
        guard length >= 0 else { throw ProtocolError.invalid("\(what) length \(length)") }
        guard let bytes = buffer.readSlice(length: Int(length)) else {
            throw ProtocolError.truncated("\(what) (\(length) bytes, \(buffer.readableBytes) left)")
        }
        return bytes
    }
}

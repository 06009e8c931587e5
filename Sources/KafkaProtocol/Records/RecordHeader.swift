import NIOCore

/// One header of a record (implementation.html §5.3.2.1):
///
///     headerKeyLength    varint     (never negative: keys are non-null)
///     headerKey          UTF-8 bytes
///     headerValueLength  varint     (-1 for a null value)
///     value              bytes
///
/// Keys may repeat within a record; order is kept.
public struct RecordHeader: Sendable, Equatable {
    public var key: String
    public var value: ByteBuffer?

    public init(key: String, value: ByteBuffer?) {
        self.key = key
        self.value = value
    }

    /// Encoded size in bytes.
    public var encodedSize: Int {
        let keyCount = key.utf8.count
        return Record.varIntSize(keyCount) + keyCount + Record.varBytesSize(value)
    }

    public func write(to buffer: inout ByteBuffer) {
        buffer.writeVarInt(Int32(truncatingIfNeeded: key.utf8.count))
        buffer.writeString(key)
        Record.writeVarBytes(value, to: &buffer)
    }

    /// Reads one header. `value` is a slice of `buffer`, not a copy.
    public init(from buffer: inout ByteBuffer) throws {
        let keyLength = try buffer.readVarInt()
        guard keyLength >= 0 else { throw ProtocolError.invalid("record header key length \(keyLength)") }
        guard let key = buffer.readString(length: Int(keyLength)) else {
            throw ProtocolError.truncated("record header key (\(keyLength) bytes)")
        }
        self.key = key
        value = try Record.readVarBytes(from: &buffer, "record header value")
    }
}

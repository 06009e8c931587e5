import NIOCore

/// The Kafka protocol's primitive types (protocol.html, "Protocol Primitive Types") over NIO's
/// ByteBuffer. Every reader throws `ProtocolError` instead of trapping, because all of this
/// runs on untrusted client input. `compact` selects the flexible-version encodings
/// (unsigned-varint length + 1) over the classic ones (int16/int32 length, -1 for null).
extension ByteBuffer {
    // MARK: fixed width

    @inlinable
    public mutating func readKafka<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String = "integer") throws -> T {
        guard let v = readInteger(endianness: .big, as: T.self) else { throw ProtocolError.truncated(what()) }
        return v
    }

    @inlinable
    public mutating func readKafkaBool() throws -> Bool {
        try readKafka(UInt8.self, "bool") != 0
    }

    @inlinable
    public mutating func readKafkaFloat64() throws -> Double {
        Double(bitPattern: try readKafka(UInt64.self, "float64"))
    }

    @inlinable
    public mutating func writeKafkaBool(_ v: Bool) { writeInteger(UInt8(v ? 1 : 0)) }

    @inlinable
    public mutating func writeKafkaFloat64(_ v: Double) { writeInteger(v.bitPattern, endianness: .big) }

    // MARK: varints

    /// Unsigned LEB128 varint, at most 5 bytes (32 bits).
    @inlinable
    public mutating func readUnsignedVarInt() throws -> UInt32 {
        var result: UInt32 = 0
        var shift: UInt32 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else { throw ProtocolError.truncated("varint") }
            if shift == 28 && byte > 0x0f { throw ProtocolError.invalid("varint longer than 32 bits") }
            result |= UInt32(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Unsigned LEB128 varint, at most 10 bytes (64 bits).
    @inlinable
    public mutating func readUnsignedVarLong() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard let byte = readInteger(as: UInt8.self) else { throw ProtocolError.truncated("varlong") }
            if shift == 63 && byte > 1 { throw ProtocolError.invalid("varlong longer than 64 bits") }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// Zig-zag signed varint (records use these for lengths and deltas).
    @inlinable
    public mutating func readVarInt() throws -> Int32 {
        let u = try readUnsignedVarInt()
        return Int32(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inlinable
    public mutating func readVarLong() throws -> Int64 {
        let u = try readUnsignedVarLong()
        return Int64(bitPattern: (u >> 1) ^ (0 &- (u & 1)))
    }

    @inlinable
    @discardableResult
    public mutating func writeUnsignedVarInt(_ value: UInt32) -> Int {
        writeUnsignedVarLong(UInt64(value))  // the same LEB128 bytes
    }

    @inlinable
    @discardableResult
    public mutating func writeUnsignedVarLong(_ value: UInt64) -> Int {
        var v = value
        var n = 0
        while v >= 0x80 {
            writeInteger(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
            n += 1
        }
        writeInteger(UInt8(v))
        return n + 1
    }

    @inlinable
    @discardableResult
    public mutating func writeVarInt(_ value: Int32) -> Int {
        writeUnsignedVarInt(UInt32(bitPattern: (value << 1) ^ (value >> 31)))
    }

    @inlinable
    @discardableResult
    public mutating func writeVarLong(_ value: Int64) -> Int {
        writeUnsignedVarLong(UInt64(bitPattern: (value << 1) ^ (value >> 63)))
    }

    // MARK: lengths

    /// A string/bytes/array length: nil means null. Rejects lengths that exceed what is left,
    /// so that a hostile length never makes us allocate.
    @inlinable
    mutating func readKafkaLength(compact: Bool, wide: Bool, elementSize: Int = 1, _ what: String) throws -> Int? {
        let n: Int
        if compact {
            let raw = try readUnsignedVarInt()
            if raw == 0 { return nil }
            n = Int(raw) - 1
        } else if wide {
            let raw = try readKafka(Int32.self, what)
            if raw < 0 {
                if raw == -1 { return nil }
                throw ProtocolError.invalid("\(what): negative length \(raw)")
            }
            n = Int(raw)
        } else {
            let raw = try readKafka(Int16.self, what)
            if raw < 0 {
                if raw == -1 { return nil }
                throw ProtocolError.invalid("\(what): negative length \(raw)")
            }
            n = Int(raw)
        }
        if n > readableBytes / Swift.max(elementSize, 1) && elementSize > 0 {
            throw ProtocolError.truncated("\(what): length \(n) exceeds the \(readableBytes) bytes left")
        }
        return n
    }

    /// Writes a string/bytes/array length (nil: null) in the encoding `readKafkaLength` reads.
    @inlinable
    mutating func writeKafkaLength(_ count: Int?, compact: Bool, wide: Bool) {
        if compact {
            writeUnsignedVarInt(count.map { UInt32(truncatingIfNeeded: $0 + 1) } ?? 0)
        } else if wide {
            writeInteger(count.map { Int32(truncatingIfNeeded: $0) } ?? -1, endianness: .big)
        } else {
            writeInteger(count.map { Int16(truncatingIfNeeded: $0) } ?? -1, endianness: .big)
        }
    }

    // MARK: strings

    @inlinable
    public mutating func readKafkaNullableString(compact: Bool) throws -> String? {
        guard let n = try readKafkaLength(compact: compact, wide: false, "string") else { return nil }
        guard let s = readString(length: n) else { throw ProtocolError.truncated("string") }
        return s
    }

    @inlinable
    public mutating func readKafkaString(compact: Bool) throws -> String {
        guard let s = try readKafkaNullableString(compact: compact) else {
            throw ProtocolError.invalid("null for a non-nullable string")
        }
        return s
    }

    @inlinable
    public mutating func writeKafkaString(_ s: String?, compact: Bool) {
        writeKafkaLength(s?.utf8.count, compact: compact, wide: false)
        if let s { writeString(s) }
    }

    // MARK: bytes and records

    /// `bytes` (int32 length) or `compact_bytes`. The result is a slice of this buffer: no copy.
    @inlinable
    public mutating func readKafkaNullableBytes(compact: Bool) throws -> ByteBuffer? {
        guard let n = try readKafkaLength(compact: compact, wide: true, "bytes") else { return nil }
        guard let b = readSlice(length: n) else { throw ProtocolError.truncated("bytes") }
        return b
    }

    @inlinable
    public mutating func readKafkaBytes(compact: Bool) throws -> ByteBuffer {
        guard let b = try readKafkaNullableBytes(compact: compact) else {
            throw ProtocolError.invalid("null for non-nullable bytes")
        }
        return b
    }

    @inlinable
    public mutating func writeKafkaBytes(_ b: ByteBuffer?, compact: Bool) {
        writeKafkaLength(b?.readableBytes, compact: compact, wide: true)
        if var b { writeBuffer(&b) }
    }

    // MARK: arrays

    /// Array length; nil for a null array. `minElementSize` bounds the count by the bytes left.
    @inlinable
    public mutating func readKafkaArrayLength(compact: Bool, minElementSize: Int = 1) throws -> Int? {
        try readKafkaLength(compact: compact, wide: true, elementSize: minElementSize, "array")
    }

    @inlinable
    public mutating func writeKafkaArrayLength(_ count: Int?, compact: Bool) {
        writeKafkaLength(count, compact: compact, wide: true)
    }

    // MARK: uuid

    @inlinable
    public mutating func readKafkaUUID() throws -> KafkaUUID {
        let hi = try readKafka(UInt64.self, "uuid")
        let lo = try readKafka(UInt64.self, "uuid")
        return KafkaUUID(high: hi, low: lo)
    }

    @inlinable
    public mutating func writeKafkaUUID(_ u: KafkaUUID) {
        writeInteger(u.high, endianness: .big)
        writeInteger(u.low, endianness: .big)
    }

    // MARK: tagged fields

    /// Skips the bytes of one unknown tagged field.
    @inlinable
    public mutating func skipKafkaBytes(_ n: Int) throws {
        guard n <= readableBytes else { throw ProtocolError.truncated("tagged field") }
        moveReaderIndex(forwardBy: n)
    }
}

import CSnappy
import NIOCore

/// Snappy, in the xerial/snappy-java stream framing that Kafka's Java client writes:
///
///     offset  size  field
///          0     8  magic  82 53 4E 41 50 50 59 00   ("\x82SNAPPY\0")
///          8     4  version             (int32 BE, 1)
///         12     4  compatible version  (int32 BE, 1)
///         16        blocks: int32 BE compressed length, then that many bytes of raw snappy
///
/// snappy-java starts a new header when streams are concatenated; that is accepted too.
/// Input without the magic is taken as one raw snappy block (librdkafka reads both).
extension Compression {
    static let xerialMagic: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00]
    static let xerialHeaderSize = 16
    /// snappy-java's default block size (SnappyOutputStream), kept so our output looks like Java's.
    static let xerialBlockSize = 32 << 10

    static func snappyCompress(_ input: ByteBuffer) throws -> ByteBuffer {
        let count = input.readableBytes
        let blocks = (count + xerialBlockSize - 1) / xerialBlockSize
        let bound = xerialHeaderSize + blocks * (4 + snappy_max_compressed_length(xerialBlockSize))
        var output = ByteBufferAllocator().buffer(capacity: bound)
        output.writeBytes(xerialMagic)
        output.writeInteger(Int32(1), endianness: .big)
        output.writeInteger(Int32(1), endianness: .big)
        try withInput(input) { source, count in
            var start = 0
            while start < count {
                let length = min(xerialBlockSize, count - start)
                let lengthAt = output.writerIndex
                output.writeInteger(Int32(0), endianness: .big)
                let maxLength = snappy_max_compressed_length(length)
                var status = SNAPPY_OK
                output.writeWithUnsafeMutableBytes(minimumWritableBytes: maxLength) { space in
                    var written = space.count
                    status = (source + start).withMemoryRebound(to: CChar.self, capacity: length) { src in
                        snappy_compress(src, length, space.baseAddress?.assumingMemoryBound(to: CChar.self), &written)
                    }
                    return status == SNAPPY_OK ? written : 0
                }
                guard status == SNAPPY_OK else { throw ProtocolError.invalid("snappy: compression failed (\(status.rawValue))") }
                output.setInteger(Int32(output.writerIndex - lengthAt - 4), at: lengthAt, endianness: .big)
                start += length
            }
        }
        return output
    }

    static func snappyDecompress(_ input: ByteBuffer, limit: Int) throws -> ByteBuffer {
        try withInput(input) { source, count in
            let bytes = UnsafeBufferPointer(start: source, count: count)
            guard isXerialHeader(bytes, at: 0) else {
                var output = BoundedOutput(limit: limit, expected: 0)
                try appendRawSnappy(source, count: count, to: &output)
                return output.buffer
            }
            var output = BoundedOutput(limit: limit, expected: count.multipliedReportingOverflow(by: 2).partialValue)
            var position = xerialHeaderSize
            while position < count {
                if isXerialHeader(bytes, at: position) {
                    position += xerialHeaderSize
                    continue
                }
                guard count - position >= 4 else { throw ProtocolError.truncated("snappy block length") }
                let length = Int(Int32(bitPattern: UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16
                                                 | UInt32(bytes[position + 2]) << 8 | UInt32(bytes[position + 3])))
                position += 4
                guard length >= 0 else { throw ProtocolError.invalid("snappy: negative block length \(length)") }
                guard length <= count - position else {
                    throw ProtocolError.truncated("snappy block (\(length) bytes, \(count - position) left)")
                }
                try appendRawSnappy(source + position, count: length, to: &output)
                position += length
            }
            return output.buffer
        }
    }

    private static func isXerialHeader(_ bytes: UnsafeBufferPointer<UInt8>, at index: Int) -> Bool {
        guard bytes.count - index >= xerialHeaderSize else { return false }
        for i in 0 ..< xerialMagic.count where bytes[index + i] != xerialMagic[i] { return false }
        return true
    }

    /// Decodes one raw snappy block; its decoded size is read from its preamble and checked
    /// against the limit before anything is allocated.
    private static func appendRawSnappy(_ block: UnsafePointer<UInt8>, count: Int, to output: inout BoundedOutput) throws {
        let base = UnsafeRawPointer(block).assumingMemoryBound(to: CChar.self)
        var size = 0
        guard snappy_uncompressed_length(base, count, &size) == SNAPPY_OK else {
            throw ProtocolError.invalid("snappy: bad block preamble")
        }
        try output.write(exactly: size) { space in
            var written = size
            let status = snappy_uncompress(base, count, space.baseAddress?.assumingMemoryBound(to: CChar.self), &written)
            guard status == SNAPPY_OK, written == size else {
                throw ProtocolError.invalid("snappy: corrupt block (\(status.rawValue))")
            }
        }
        if size == 0 {
            // An empty block still has to be valid snappy (write(exactly:) skipped the decoder).
            guard snappy_validate_compressed_buffer(base, count) == SNAPPY_OK else {
                throw ProtocolError.invalid("snappy: corrupt empty block")
            }
        }
    }
}

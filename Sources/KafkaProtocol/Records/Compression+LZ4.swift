import CLZ4
import NIOCore

/// LZ4 frame format (magic 04 22 4D 18), which Kafka uses for magic ≥ 1 batches.
/// We write what Kafka's `Lz4BlockOutputStream` writes: independent 64 KiB blocks, no block or
/// content checksum, no content size. Linked blocks would be smaller, but the Java reader
/// refuses them ("Dependent block stream is unsupported"). Any valid frame is accepted on input.
extension Compression {
    static func lz4Compress(_ input: ByteBuffer, level: Int?) throws -> ByteBuffer {
        var preferences = LZ4F_preferences_t()
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        preferences.frameInfo.blockMode = LZ4F_blockIndependent
        preferences.compressionLevel = Int32(clamping: level ?? 0)
        let bound = LZ4F_compressFrameBound(input.readableBytes, &preferences)
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var result = 0
        withInput(input) { source, count in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                result = LZ4F_compressFrame(space.baseAddress, space.count, source, count, &preferences)
                return LZ4F_isError(result) != 0 ? 0 : result
            }
        }
        guard LZ4F_isError(result) == 0 else {
            throw ProtocolError.invalid("lz4: \(String(cString: LZ4F_getErrorName(result)))")
        }
        return output
    }

    static func lz4Decompress(_ input: ByteBuffer, limit: Int) throws -> ByteBuffer {
        var context: OpaquePointer?
        guard LZ4F_isError(LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))) == 0, let context else {
            throw ProtocolError.invalid("lz4: cannot create a decompression context")
        }
        defer { LZ4F_freeDecompressionContext(context) }
        var output = BoundedOutput(limit: limit, expected: input.readableBytes.multipliedReportingOverflow(by: 4).partialValue)
        try withInput(input) { source, count in
            var position = 0
            while true {
                var consumed = 0
                var hint = 0
                let produced = try output.write { space in
                    consumed = count - position
                    var written = space.count
                    hint = LZ4F_decompress(context, space.baseAddress, &written, source + position, &consumed, nil)
                    guard LZ4F_isError(hint) == 0 else {
                        throw ProtocolError.invalid("lz4: \(String(cString: LZ4F_getErrorName(hint)))")
                    }
                    return written
                }
                position += consumed
                if hint == 0 {
                    // A frame ended; another may follow (the context is ready for it).
                    if position == count { return }
                    continue
                }
                // Input left over, or output still buffered in the context: go on while progressing.
                if consumed == 0 && produced == 0 {
                    if position == count { throw ProtocolError.truncated("lz4 frame") }
                    throw ProtocolError.invalid("lz4: decoder made no progress")
                }
            }
        }
        return output.buffer
    }
}

import CZstd
import NIOCore

/// Zstandard frames. Decompression streams, because Java's `ZstdOutputStream` does not put the
/// content size in the frame header, so the output size is unknown until the frame ends.
/// Concatenated frames (and skippable frames) are read one after another.
extension Compression {
    static func zstdCompress(_ input: ByteBuffer, level: Int?) throws -> ByteBuffer {
        let bound = ZSTD_compressBound(input.readableBytes)
        guard ZSTD_isError(bound) == 0 else { throw ProtocolError.invalid("zstd: input too large") }
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var result = 0
        withInput(input) { source, count in
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                result = ZSTD_compress(space.baseAddress, space.count, source, count,
                                       Int32(clamping: level ?? Int(ZSTD_CLEVEL_DEFAULT)))
                return ZSTD_isError(result) != 0 ? 0 : result
            }
        }
        guard ZSTD_isError(result) == 0 else {
            throw ProtocolError.invalid("zstd: \(String(cString: ZSTD_getErrorName(result)))")
        }
        return output
    }

    static func zstdDecompress(_ input: ByteBuffer, limit: Int) throws -> ByteBuffer {
        guard let stream = ZSTD_createDStream() else { throw ProtocolError.invalid("zstd: cannot create a stream") }
        defer { ZSTD_freeDStream(stream) }
        var output = BoundedOutput(limit: limit, expected: input.readableBytes.multipliedReportingOverflow(by: 4).partialValue)
        try withInput(input) { source, count in
            var inBuffer = ZSTD_inBuffer(src: source, size: count, pos: 0)
            while true {
                let before = inBuffer.pos
                var hint = 0
                let produced = try output.write { space in
                    var outBuffer = ZSTD_outBuffer(dst: space.baseAddress, size: space.count, pos: 0)
                    hint = ZSTD_decompressStream(stream, &outBuffer, &inBuffer)
                    guard ZSTD_isError(hint) == 0 else {
                        throw ProtocolError.invalid("zstd: \(String(cString: ZSTD_getErrorName(hint)))")
                    }
                    return outBuffer.pos
                }
                // hint == 0: a frame is complete and fully flushed.
                if hint == 0 && inBuffer.pos == inBuffer.size { return }
                if inBuffer.pos == before && produced == 0 {
                    if inBuffer.pos == inBuffer.size { throw ProtocolError.truncated("zstd frame") }
                    throw ProtocolError.invalid("zstd: decoder made no progress")
                }
            }
        }
        return output.buffer
    }
}

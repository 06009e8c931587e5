import CZlib
import NIOCore

/// gzip through zlib. windowBits 15 + 16 writes the gzip wrapper (what Java's GZIPOutputStream
/// writes); 15 + 32 on input auto-detects gzip or zlib headers. Concatenated gzip members are
/// read one after another, as GZIPInputStream does.
extension Compression {
    static func gzipCompress(_ input: ByteBuffer, level: Int?) throws -> ByteBuffer {
        guard input.readableBytes <= Int(UInt32.max) else { throw ProtocolError.invalid("gzip: input over 4 GiB") }
        var stream = z_stream()
        let zlevel = Int32(clamping: level ?? Int(Z_DEFAULT_COMPRESSION))
        guard deflateInit2_(&stream, zlevel, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                            zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ProtocolError.invalid("gzip: cannot initialise deflate at level \(zlevel)")
        }
        defer { deflateEnd(&stream) }
        // deflateBound accounts for the gzip wrapper chosen above, so one Z_FINISH call suffices.
        let bound = Int(deflateBound(&stream, uLong(input.readableBytes)))
        var output = ByteBufferAllocator().buffer(capacity: bound)
        var rc: Int32 = Z_OK
        withInput(input) { source, count in
            stream.next_in = UnsafeMutablePointer(mutating: source)
            stream.avail_in = uInt(count)
            output.writeWithUnsafeMutableBytes(minimumWritableBytes: bound) { space in
                let offered = min(space.count, Int(UInt32.max))
                stream.next_out = space.baseAddress?.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(offered)
                rc = deflate(&stream, Z_FINISH)
                return offered - Int(stream.avail_out)
            }
        }
        guard rc == Z_STREAM_END else { throw ProtocolError.invalid("gzip: deflate failed (\(rc))") }
        return output
    }

    static func gzipDecompress(_ input: ByteBuffer, limit: Int) throws -> ByteBuffer {
        guard input.readableBytes <= Int(UInt32.max) else { throw ProtocolError.invalid("gzip: input over 4 GiB") }
        var stream = z_stream()
        guard inflateInit2_(&stream, 15 + 32, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ProtocolError.invalid("gzip: cannot initialise inflate")
        }
        defer { inflateEnd(&stream) }
        var output = BoundedOutput(limit: limit, expected: input.readableBytes.multipliedReportingOverflow(by: 4).partialValue)
        try withInput(input) { source, count in
            stream.next_in = UnsafeMutablePointer(mutating: source)
            stream.avail_in = uInt(count)
            while true {
                var rc: Int32 = Z_OK
                let before = stream.avail_in
                let written = try output.write { space in
                    stream.next_out = space.baseAddress?.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(min(space.count, Int(UInt32.max)))
                    let offered = Int(stream.avail_out)
                    rc = inflate(&stream, Z_NO_FLUSH)
                    return offered - Int(stream.avail_out)
                }
                switch rc {
                case Z_STREAM_END:
                    if stream.avail_in == 0 { return }
                    guard inflateReset(&stream) == Z_OK else { throw ProtocolError.invalid("gzip: cannot reset inflate") }
                case Z_OK:
                    continue
                case Z_BUF_ERROR where stream.avail_in == 0:
                    throw ProtocolError.truncated("gzip stream")
                case Z_BUF_ERROR where written == 0 && stream.avail_in == before:
                    throw ProtocolError.invalid("gzip: inflate made no progress")
                case Z_BUF_ERROR:
                    continue
                default:
                    let message = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                    throw ProtocolError.invalid("gzip: \(message)")
                }
            }
        }
        return output.buffer
    }
}

import NIOCore

/// The four batch codecs Kafka uses for the records section of a v2 batch, over the system
/// C libraries (one file per codec: `Compression+Gzip.swift` and so on).
///
/// Formats, as Kafka ≥ 0.11 writes and reads them:
/// - gzip: the gzip wrapper (RFC 1952) around deflate, as `java.util.zip.GZIPOutputStream` writes.
/// - snappy: the xerial/snappy-java stream framing (`\x82SNAPPY\x00`, version, compat, then
///   int32-length-prefixed raw blocks). Raw snappy is also accepted on input, because some
///   non-Java clients send it.
/// - lz4: the LZ4 *frame* format with independent 64 KiB blocks, which is what Kafka's
///   `Lz4BlockOutputStream` produces and the only block mode its reader accepts.
/// - zstd: a zstd frame; read in streaming mode because Java's `ZstdOutputStream` does not
///   record the content size in the frame header.
///
/// Decompression runs on untrusted bytes: every failure throws `ProtocolError`, and
/// `sizeLimit` caps the output so a small bomb cannot exhaust memory.
public enum Compression {
    /// Compresses `input` (its readable bytes) with `codec`. `.none` returns the input unchanged.
    /// `level` is the codec's own scale (gzip 1…9, lz4 0…12, zstd 1…22); nil picks Kafka's default.
    public static func compress(_ input: ByteBuffer, codec: CompressionCodec, level: Int? = nil) throws -> ByteBuffer {
        switch codec {
        case .none: return input
        case .gzip: return try gzipCompress(input, level: level)
        case .snappy: return try snappyCompress(input)
        case .lz4: return try lz4Compress(input, level: level)
        case .zstd: return try zstdCompress(input, level: level)
        }
    }

    /// Decompresses `input`, refusing output larger than `sizeLimit` bytes (`ProtocolError.invalid`).
    public static func decompress(_ input: ByteBuffer, codec: CompressionCodec, sizeLimit: Int) throws -> ByteBuffer {
        let limit = max(sizeLimit, 0)
        switch codec {
        case .none:
            guard input.readableBytes <= limit else { throw tooLarge(limit) }
            return input
        case .gzip: return try gzipDecompress(input, limit: limit)
        case .snappy: return try snappyDecompress(input, limit: limit)
        case .lz4: return try lz4Decompress(input, limit: limit)
        case .zstd: return try zstdDecompress(input, limit: limit)
        }
    }

    static func tooLarge(_ limit: Int) -> ProtocolError {
        .invalid("decompressed records exceed the limit of \(limit) bytes")
    }

    /// Runs `body` over the readable bytes of `buffer` as a typed pointer that is never nil,
    /// even for an empty buffer, because several C APIs reject a null source.
    @discardableResult
    static func withInput<T>(_ buffer: ByteBuffer, _ body: (UnsafePointer<UInt8>, Int) throws -> T) rethrows -> T {
        try buffer.withUnsafeReadableBytes { raw in
            if let base = raw.baseAddress, raw.count > 0 {
                return try body(base.assumingMemoryBound(to: UInt8.self), raw.count)
            }
            let zero: UInt8 = 0
            return try withUnsafePointer(to: zero) { try body($0, 0) }
        }
    }
}

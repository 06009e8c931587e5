import NIOCore

/// LZ4 as Kafka 0.8–0.9 framed it for magic 0 messages (KAFKA-3160): the frame descriptor's
/// header checksum (HC) was computed over the 4-byte magic number too, so a conforming LZ4
/// reader refuses the frame. Kafka's own reader skips that check for magic 0; Weir rewrites
/// the one byte instead, so the system liblz4 can read the frame.
///
/// Frame header: magic (4) · FLG (1) · BD (1) · content size (8, if FLG bit 3) ·
/// dictionary id (4, if FLG bit 0) · HC (1) = second byte of XXH32(FLG … last field, seed 0).
extension Compression {
    static func lz4WithLegacyHeaderChecksumFixed(_ frame: ByteBuffer) -> ByteBuffer {
        let start = frame.readerIndex
        guard frame.readableBytes >= 7, let flags = frame.getInteger(at: start + 4, as: UInt8.self) else { return frame }
        let descriptorLength = 2 + (flags & 0x08 != 0 ? 8 : 0) + (flags & 0x01 != 0 ? 4 : 0)
        let hcAt = start + 4 + descriptorLength
        guard hcAt < frame.writerIndex, let descriptor = frame.getBytes(at: start + 4, length: descriptorLength) else { return frame }
        var fixed = frame
        fixed.setInteger(UInt8(truncatingIfNeeded: XXHash32.hash(descriptor) >> 8), at: hcAt)
        return fixed
    }
}

/// XXH32 (Yann Collet's xxHash, 32-bit), which the LZ4 frame format uses for its checksums.
/// Only the LZ4 legacy-header repair needs it, on a few bytes, so it is plain and short.
enum XXHash32 {
    private static let p1: UInt32 = 2_654_435_761
    private static let p2: UInt32 = 2_246_822_519
    private static let p3: UInt32 = 3_266_489_917
    private static let p4: UInt32 = 668_265_263
    private static let p5: UInt32 = 374_761_393

    static func hash(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        func word(_ i: Int) -> UInt32 {
            UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        }
        func round(_ acc: UInt32, _ input: UInt32) -> UInt32 {
            rotl(acc &+ input &* p2, 13) &* p1
        }
        var i = 0
        var h: UInt32
        if bytes.count >= 16 {
            var v1 = seed &+ p1 &+ p2, v2 = seed &+ p2, v3 = seed, v4 = seed &- p1
            while i + 16 <= bytes.count {
                v1 = round(v1, word(i)); v2 = round(v2, word(i + 4))
                v3 = round(v3, word(i + 8)); v4 = round(v4, word(i + 12))
                i += 16
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        } else {
            h = seed &+ p5
        }
        h = h &+ UInt32(truncatingIfNeeded: bytes.count)
        while i + 4 <= bytes.count {
            h = rotl(h &+ word(i) &* p3, 17) &* p4
            i += 4
        }
        while i < bytes.count {
            h = rotl(h &+ UInt32(bytes[i]) &* p5, 11) &* p1
            i += 1
        }
        h ^= h >> 15
        h = h &* p2
        h ^= h >> 13
        h = h &* p3
        h ^= h >> 16
        return h
    }

    private static func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x << r) | (x >> (32 - r)) }
}

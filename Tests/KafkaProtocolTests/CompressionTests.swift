import KafkaProtocol
import NIOCore
import Testing

/// Codec round trips, cross-implementation vectors (frames written by the gzip, lz4 and zstd
/// command-line tools, and snappy framings written out by hand), size limits and garbage input.
@Suite struct CompressionTests {
    static let codecs: [CompressionCodec] = [.gzip, .snappy, .lz4, .zstd]

    private func buffer(_ bytes: [UInt8]) -> ByteBuffer { ByteBuffer(bytes: bytes) }

    private func buffer(hex: String) -> ByteBuffer {
        let digits = Array(hex.utf8)
        var bytes: [UInt8] = []
        var i = 0
        while i + 1 < digits.count {
            bytes.append(UInt8(String(decoding: digits[i ... i + 1], as: UTF8.self), radix: 16)!)
            i += 2
        }
        return ByteBuffer(bytes: bytes)
    }

    /// 1 MiB mixing incompressible noise, runs and repeated text, so every codec takes both
    /// its literal and its match paths and spans many blocks (xerial 32 KiB, lz4 64 KiB).
    private static let mixed: [UInt8] = {
        var state: UInt64 = 42
        var bytes: [UInt8] = []
        bytes.reserveCapacity(1 << 20)
        let text = Array("Kafka-compatible broker on RocksDB; ".utf8)
        while bytes.count < 1 << 20 {
            switch (bytes.count >> 12) % 3 {
            case 0:
                for _ in 0 ..< 4096 {
                    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    bytes.append(UInt8(truncatingIfNeeded: state >> 33))
                }
            case 1: bytes.append(contentsOf: repeatElement(UInt8(bytes.count >> 12 & 0xFF), count: 4096))
            default: for i in 0 ..< 4096 { bytes.append(text[i % text.count]) }
            }
        }
        return Array(bytes.prefix(1 << 20))
    }()

    @Test(arguments: codecs)
    func roundTripsEmptySmallAndOneMiB(codec: CompressionCodec) throws {
        for input in [[], Array("hello, weir".utf8), Self.mixed] {
            let compressed = try Compression.compress(buffer(input), codec: codec)
            let restored = try Compression.decompress(compressed, codec: codec, sizeLimit: 1 << 20)
            #expect(restored == buffer(input), "\(codec) with \(input.count) bytes")
        }
    }

    @Test(arguments: codecs)
    func compressionLevelsRoundTrip(codec: CompressionCodec) throws {
        for level in [1, 9] {
            let compressed = try Compression.compress(buffer(Self.mixed), codec: codec, level: level)
            #expect(try Compression.decompress(compressed, codec: codec, sizeLimit: 1 << 20) == buffer(Self.mixed))
        }
    }

    @Test func noneIsIdentity() throws {
        let input = buffer(Array("plain".utf8))
        #expect(try Compression.compress(input, codec: .none) == input)
        #expect(try Compression.decompress(input, codec: .none, sizeLimit: 5) == input)
        #expect(throws: ProtocolError.self) { try Compression.decompress(input, codec: .none, sizeLimit: 4) }
    }

    @Test(arguments: codecs)
    func sizeLimitIsEnforced(codec: CompressionCodec) throws {
        let compressed = try Compression.compress(buffer(Self.mixed), codec: codec)
        #expect(try Compression.decompress(compressed, codec: codec, sizeLimit: Self.mixed.count).readableBytes == Self.mixed.count)
        #expect(throws: ProtocolError.invalid("decompressed records exceed the limit of \(Self.mixed.count - 1) bytes")) {
            try Compression.decompress(compressed, codec: codec, sizeLimit: Self.mixed.count - 1)
        }
        #expect(throws: ProtocolError.self) { try Compression.decompress(compressed, codec: codec, sizeLimit: 0) }
    }

    @Test(arguments: codecs)
    func bombStopsAtTheLimit(codec: CompressionCodec) throws {
        // 16 MiB of zeros shrinks to a few KiB; a 1 MiB limit must stop it.
        let zeros = ByteBuffer(repeating: 0, count: 16 << 20)
        let compressed = try Compression.compress(zeros, codec: codec)
        #expect(compressed.readableBytes < 1 << 20)
        #expect(throws: ProtocolError.self) { try Compression.decompress(compressed, codec: codec, sizeLimit: 1 << 20) }
    }

    @Test(arguments: codecs)
    func garbageAndTruncationThrow(codec: CompressionCodec) throws {
        var state: UInt32 = 7
        let garbage: [UInt8] = (0 ..< 300).map { _ in
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(truncatingIfNeeded: state >> 16)
        }
        #expect(throws: ProtocolError.self) { try Compression.decompress(buffer(garbage), codec: codec, sizeLimit: 1 << 20) }
        #expect(throws: ProtocolError.self) { try Compression.decompress(buffer([]), codec: codec, sizeLimit: 1 << 20) }
        let compressed = try Compression.compress(buffer(Self.mixed), codec: codec)
        for cut in [1, compressed.readableBytes / 2, compressed.readableBytes - 1] {
            let truncated = compressed.getSlice(at: 0, length: cut)!
            #expect(throws: ProtocolError.self, "\(codec) cut at \(cut)") {
                try Compression.decompress(truncated, codec: codec, sizeLimit: 1 << 20)
            }
        }
    }

    // MARK: frames written by other implementations

    private let weirText = Array("weir weir weir weir weir weir weir weir!".utf8)

    @Test func decodesGzipFromTheCommandLineTool() throws {
        // printf 'weir weir …!' | gzip -c -n
        let frame = buffer(hex: "1f8b08000000000000032b4fcd2c52282748280200afdfd39c28000000")
        #expect(try Compression.decompress(frame, codec: .gzip, sizeLimit: 100) == buffer(weirText))
    }

    @Test func decodesConcatenatedGzipMembers() throws {
        var frame = try Compression.compress(buffer(Array("first ".utf8)), codec: .gzip)
        var second = try Compression.compress(buffer(Array("second".utf8)), codec: .gzip)
        frame.writeBuffer(&second)
        #expect(try Compression.decompress(frame, codec: .gzip, sizeLimit: 100) == buffer(Array("first second".utf8)))
    }

    @Test func gzipOutputHasTheGzipWrapper() throws {
        let compressed = try Compression.compress(buffer(weirText), codec: .gzip)
        #expect(compressed.getBytes(at: 0, length: 3) == [0x1F, 0x8B, 0x08])
    }

    @Test func decodesLZ4FrameFromTheCommandLineTool() throws {
        // printf 'weir weir …!' | lz4 -c   (FLG 0x64: independent blocks and a content checksum)
        let frame = buffer(hex: "04224d186440a70f0000005f776569722005000b50776569722100000000f6112145")
        #expect(try Compression.decompress(frame, codec: .lz4, sizeLimit: 100) == buffer(weirText))
    }

    @Test func lz4OutputIsWhatKafkasJavaReaderAccepts() throws {
        let compressed = try Compression.compress(buffer(Self.mixed), codec: .lz4)
        // Magic 0x184D2204 (little endian), FLG 0x60 = version 1, independent blocks, no
        // checksums, no content size; BD 0x40 = 64 KiB blocks.
        #expect(compressed.getBytes(at: 0, length: 6) == [0x04, 0x22, 0x4D, 0x18, 0x60, 0x40])
    }

    @Test func decodesZstdFrameWithoutContentSize() throws {
        // printf 'weir weir …!' | zstd -c   (from a pipe: the frame header has no content size)
        let frame = buffer(hex: "28b52ffd0458650000307765697220210100708a16c1211179")
        #expect(frame.getInteger(at: 4, as: UInt8.self)! & 0xC0 == 0, "no Frame_Content_Size in this vector")
        #expect(try Compression.decompress(frame, codec: .zstd, sizeLimit: 100) == buffer(weirText))
        #expect(throws: ProtocolError.self) { try Compression.decompress(frame, codec: .zstd, sizeLimit: 39) }
    }

    @Test func decodesConcatenatedZstdAndLZ4Frames() throws {
        for codec in [CompressionCodec.zstd, .lz4] {
            var frame = try Compression.compress(buffer(Array("first ".utf8)), codec: codec)
            var second = try Compression.compress(buffer(Array("second".utf8)), codec: codec)
            frame.writeBuffer(&second)
            #expect(try Compression.decompress(frame, codec: codec, sizeLimit: 100) == buffer(Array("first second".utf8)))
        }
    }

    // MARK: snappy framings

    /// Raw snappy for "hello": varint length 5, literal tag (5-1)<<2, the bytes.
    private let rawHello: [UInt8] = [0x05, 0x10] + Array("hello".utf8)
    /// Raw snappy for " world".
    private let rawWorld: [UInt8] = [0x06, 0x14] + Array(" world".utf8)
    private let xerialHeader: [UInt8] = [0x82, 0x53, 0x4E, 0x41, 0x50, 0x50, 0x59, 0x00, 0, 0, 0, 1, 0, 0, 0, 1]

    @Test func snappyDecodesRawBlocks() throws {
        #expect(try Compression.decompress(buffer(rawHello), codec: .snappy, sizeLimit: 5) == buffer(Array("hello".utf8)))
        #expect(throws: ProtocolError.self) { try Compression.decompress(buffer(rawHello), codec: .snappy, sizeLimit: 4) }
    }

    @Test func snappyDecodesXerialFraming() throws {
        let framed = xerialHeader + [0, 0, 0, 7] + rawHello + [0, 0, 0, 8] + rawWorld
        #expect(try Compression.decompress(buffer(framed), codec: .snappy, sizeLimit: 100) == buffer(Array("hello world".utf8)))
        // snappy-java writes a fresh header when streams are concatenated.
        let concatenated = xerialHeader + [0, 0, 0, 7] + rawHello + xerialHeader + [0, 0, 0, 8] + rawWorld
        #expect(try Compression.decompress(buffer(concatenated), codec: .snappy, sizeLimit: 100) == buffer(Array("hello world".utf8)))
        #expect(try Compression.decompress(buffer(xerialHeader), codec: .snappy, sizeLimit: 100) == buffer([]))
    }

    @Test func snappyRejectsBrokenXerialFraming() {
        let cases: [[UInt8]] = [
            xerialHeader + [0, 0, 0],                          // block length cut short
            xerialHeader + [0, 0, 0, 9] + rawHello,            // block length past the end
            xerialHeader + [0xFF, 0xFF, 0xFF, 0xFF] + rawHello, // negative block length
            xerialHeader + [0, 0, 0, 7] + [0x09, 0x10] + Array("hello".utf8), // block claims 9 bytes
        ]
        for input in cases {
            #expect(throws: ProtocolError.self) { try Compression.decompress(buffer(input), codec: .snappy, sizeLimit: 100) }
        }
    }

    @Test func snappyWritesXerialFramingWith32KiBBlocks() throws {
        let compressed = try Compression.compress(buffer(Self.mixed), codec: .snappy)
        #expect(compressed.getBytes(at: 0, length: 16) == xerialHeader)
        // Walk the blocks: (1 MiB / 32 KiB) = 32 blocks, each decoding to 32 KiB on its own.
        var reader = compressed
        reader.moveReaderIndex(forwardBy: 16)
        var blocks = 0
        while reader.readableBytes > 0 {
            let length = Int(reader.readInteger(endianness: .big, as: Int32.self)!)
            let block = reader.readSlice(length: length)!
            #expect(try Compression.decompress(block, codec: .snappy, sizeLimit: 32 << 10).readableBytes == 32 << 10)
            blocks += 1
        }
        #expect(blocks == 32)
        #expect(try Compression.compress(buffer([]), codec: .snappy) == buffer(xerialHeader))
    }
}

@testable import KafkaProtocol
import NIOCore
import Testing

/// Message sets of magic 0 and 1: up-conversion of what old producers send (plain and in
/// compressed wrappers), refusals of bad input, and down-conversion for old fetchers.
@Suite struct LegacyMessageSetTests {
    private func bytes(_ s: String?) -> ByteBuffer? { s.map { ByteBuffer(string: $0) } }
    private func text(_ b: ByteBuffer?) -> String? { b.map { String(buffer: $0) } }

    private func set(_ messages: [LegacyMessage]) -> ByteBuffer {
        var out = ByteBuffer()
        for m in messages { m.write(to: &out) }
        return out
    }

    /// A compressed wrapper around `inner`, as sarama and kafka-go write one.
    private func wrapper(_ inner: [LegacyMessage], codec: CompressionCodec, magic: Int8, offset: Int64,
                         timestamp: Int64? = nil) throws -> LegacyMessage {
        let compressed = try Compression.compress(set(inner), codec: codec)
        return LegacyMessage(offset: offset, magic: magic, attributes: codec.rawValue, timestamp: timestamp,
                             key: nil, value: compressed)
    }

    private func entries(_ batch: ByteBuffer) throws -> (DecodedBatch, [(Int64, Int64, String?, String?)]) {
        var reader = RecordBatchReader(batch)
        let decoded = try #require(try reader.nextBatch())
        #expect(try reader.nextBatch() == nil)
        return (decoded, decoded.map { ($0.offset, $0.timestamp, text($0.key), text($0.value)) })
    }

    private func upConverted(_ records: ByteBuffer, now: Int64 = 9_999) throws -> ByteBuffer {
        switch LegacyMessageSet.upConvert(records, now: now) {
        case .success(let batch): return batch
        case .failure(let error): Issue.record("refused: \(error)"); throw error
        }
    }

    private func refusal(_ records: ByteBuffer) -> BatchValidationError? {
        if case .failure(let error) = LegacyMessageSet.upConvert(records, now: 1) { return error }
        return nil
    }

    @Test func magicOneKeepsTimestampsKeysAndNulls() throws {
        let records = set([
            LegacyMessage(offset: 0, magic: 1, timestamp: 1_000, key: bytes("k1"), value: bytes("v1")),
            LegacyMessage(offset: 0, magic: 1, timestamp: 1_005, key: nil, value: bytes("v2")),
            LegacyMessage(offset: 0, magic: 1, timestamp: 1_002, key: bytes("k3"), value: nil),
        ])
        #expect(LegacyMessageSet.magic(of: records) == 1)
        let (batch, got) = try entries(try upConverted(records))
        #expect(batch.header.compression == .none)
        #expect(!batch.header.isLogAppendTime)
        #expect(batch.header.maxTimestamp == 1_005)
        #expect(got.map(\.0) == [0, 1, 2])
        #expect(got.map(\.1) == [1_000, 1_005, 1_002])
        #expect(got.map(\.2) == ["k1", nil, "k3"])
        #expect(got.map(\.3) == ["v1", "v2", nil])
    }

    @Test func magicZeroIsStampedWithTheAppendTime() throws {
        let records = set([
            LegacyMessage(offset: 0, magic: 0, timestamp: nil, key: bytes("a"), value: bytes("1")),
            LegacyMessage(offset: 0, magic: 0, timestamp: nil, key: bytes("b"), value: bytes("2")),
        ])
        let (batch, got) = try entries(try upConverted(records, now: 1_700_000_000_000))
        #expect(batch.header.isLogAppendTime)
        #expect(got.map(\.1) == [1_700_000_000_000, 1_700_000_000_000])
        #expect(got.map(\.3) == ["1", "2"])
    }

    @Test(arguments: [CompressionCodec.gzip, .snappy, .lz4])
    func compressedWrappersOpenAndKeepTheirCodec(codec: CompressionCodec) throws {
        for magic: Int8 in [0, 1] {
            // magic 1: relative inner offsets, wrapper carries the last; magic 0: whatever the producer wrote.
            let inner = (0 ..< 3).map { i in
                LegacyMessage(offset: magic == 1 ? Int64(i) : 0, magic: magic, timestamp: magic == 1 ? 500 + Int64(i) : nil,
                              key: bytes("key-\(i)"), value: bytes(String(repeating: "value-\(i) ", count: 20)))
            }
            let records = set([try wrapper(inner, codec: codec, magic: magic, offset: magic == 1 ? 2 : 0,
                                           timestamp: magic == 1 ? 502 : nil)])
            let (batch, got) = try entries(try upConverted(records, now: 77))
            #expect(batch.header.compression == codec)
            #expect(got.map(\.2) == ["key-0", "key-1", "key-2"])
            #expect(got.map(\.3) == inner.map { text($0.value) })
            #expect(got.map(\.1) == (magic == 1 ? [500, 501, 502] : [77, 77, 77]))
        }
    }

    @Test func aLogAppendTimeWrapperGivesItsTimeToTheInnerMessages() throws {
        let inner = [LegacyMessage(offset: 0, magic: 1, timestamp: 5, key: nil, value: bytes("x"))]
        var outer = try wrapper(inner, codec: .gzip, magic: 1, offset: 0, timestamp: 8_000)
        outer.attributes |= 0x08
        let (_, got) = try entries(try upConverted(set([outer])))
        #expect(got.map(\.1) == [8_000])
    }

    @Test func lz4FramesWithKafka08HeaderChecksumAreRead() throws {
        let inner = [LegacyMessage(offset: 0, magic: 0, timestamp: nil, key: nil, value: bytes("old lz4"))]
        var frame = try Compression.compress(set(inner), codec: .lz4)
        // KAFKA-3160: the header checksum taken over the magic number as well.
        let flags = frame.getInteger(at: 4, as: UInt8.self)!
        let hcAt = 6 + (flags & 0x08 != 0 ? 8 : 0) + (flags & 0x01 != 0 ? 4 : 0)
        let wrong = UInt8(truncatingIfNeeded: XXHash32.hash(frame.getBytes(at: 0, length: hcAt)!) >> 8)
        #expect(wrong != frame.getInteger(at: hcAt, as: UInt8.self)!)
        frame.setInteger(wrong, at: hcAt)
        #expect(throws: (any Error).self) { try Compression.decompress(frame, codec: .lz4, sizeLimit: 1 << 20) }
        let outer = LegacyMessage(offset: 0, magic: 0, attributes: 3, timestamp: nil, key: nil, value: frame)
        let (_, got) = try entries(try upConverted(set([outer])))
        #expect(got.map(\.3) == ["old lz4"])
    }

    @Test func xxHash32MatchesTheReferenceVectors() {
        #expect(XXHash32.hash([]) == 0x02CC_5D05)
        #expect(XXHash32.hash(Array("abc".utf8)) == 0x32D1_53FF)
        #expect(XXHash32.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xE229_3B2F)
    }

    @Test func aWrongCRCIsCorruptMessage() {
        var records = set([LegacyMessage(offset: 0, magic: 1, timestamp: 1, key: nil, value: bytes("payload"))])
        let last = records.writerIndex - 1
        records.setInteger(records.getInteger(at: last, as: UInt8.self)! ^ 0xFF, at: last)
        #expect(refusal(records)?.code == .corruptMessage)
    }

    @Test func truncatedAndEmptySetsAreCorruptMessage() {
        let records = set([LegacyMessage(offset: 0, magic: 1, timestamp: 1, key: nil, value: bytes("payload"))])
        for cut in [1, 5, 13, records.readableBytes - 1] {
            #expect(refusal(records.getSlice(at: 0, length: cut)!)?.code == .corruptMessage, "cut at \(cut)")
        }
        #expect(refusal(ByteBuffer())?.code == .corruptMessage)
        var badKey = set([LegacyMessage(offset: 0, magic: 0, timestamp: nil, key: bytes("k"), value: nil)])
        badKey.setInteger(Int32(1_000), at: 18, endianness: .big)  // the key length, past the message
        #expect(refusal(badKey)?.code == .corruptMessage)
    }

    @Test func zstdAndNestedCompressionAreRefused() throws {
        let zstd = LegacyMessage(offset: 0, magic: 1, attributes: 4, timestamp: 1, key: nil, value: bytes("x"))
        #expect(refusal(set([zstd]))?.code == .unsupportedCompressionType)
        let inner = try wrapper([LegacyMessage(offset: 0, magic: 1, timestamp: 1, key: nil, value: bytes("x"))],
                                codec: .gzip, magic: 1, offset: 0, timestamp: 1)
        #expect(refusal(set([try wrapper([inner], codec: .gzip, magic: 1, offset: 0, timestamp: 1)]))?.code == .corruptMessage)
        let mixed = try wrapper([LegacyMessage(offset: 0, magic: 0, timestamp: nil, key: nil, value: bytes("x"))],
                                codec: .gzip, magic: 1, offset: 0, timestamp: 1)
        #expect(refusal(set([mixed]))?.code == .invalidRecord)
    }

    // MARK: down-conversion

    private func storedBatch(base: Int64, codec: CompressionCodec = .lz4, logAppendTime: Bool = false,
                             control: Bool = false, values: [String]) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: codec, baseTimestamp: 1_000, logAppendTime: logAppendTime, isControl: control)
        for (i, v) in values.enumerated() {
            builder.append(key: bytes("k\(i)"), value: bytes(v), headers: [RecordHeader(key: "h", value: bytes("dropped"))],
                           timestamp: 1_000 + Int64(i))
        }
        return try builder.build(baseOffset: base)
    }

    private func decodedMessages(_ set: ByteBuffer) throws -> [LegacyMessage] {
        guard set.readableBytes > 0 else { return [] }
        switch LegacyMessageSet.decode(set) {
        case .success(let (messages, codec)):
            #expect(codec == .none)
            return messages
        case .failure(let error):
            throw error
        }
    }

    @Test func downConversionWritesOneMessagePerRecordFromTheOffset() throws {
        var stored = try storedBatch(base: 10, values: ["a", "b", "c"])
        var second = try storedBatch(base: 13, codec: .gzip, logAppendTime: true, values: ["d"])
        stored.writeBuffer(&second)
        for magic: Int8 in [0, 1] {
            let out = try LegacyMessageSet.downConvert(stored, toMagic: magic, from: 11, maxBytes: 1 << 20, minOne: true)
            let messages = try decodedMessages(out.messages)
            #expect(out.count == 3)
            #expect(out.nextOffset == 14)
            #expect(messages.map(\.offset) == [11, 12, 13])
            #expect(messages.map { text($0.value) } == ["b", "c", "d"])
            #expect(messages.map { text($0.key) } == ["k1", "k2", "k0"])
            #expect(messages.allSatisfy { $0.magic == magic })
            if magic == 1 {
                // CreateTime keeps each record's time; LogAppendTime says so and gives the batch's.
                #expect(messages.map(\.timestamp) == [1_001, 1_002, 1_000])
                #expect(messages.map(\.isLogAppendTime) == [false, false, true])
            } else {
                #expect(messages.allSatisfy { $0.timestamp == nil && $0.attributes == 0 })
            }
        }
    }

    @Test func downConversionStopsAtMaxBytesButGivesOneMessage() throws {
        let stored = try storedBatch(base: 0, codec: .none, values: ["0123456789", "0123456789", "0123456789"])
        let one = LegacyMessage(offset: 0, magic: 1, timestamp: 0, key: bytes("k0"), value: bytes("0123456789")).encodedSize
        let two = try LegacyMessageSet.downConvert(stored, toMagic: 1, from: 0, maxBytes: 2 * one + 1, minOne: true)
        #expect(two.count == 2 && two.messages.readableBytes == 2 * one && two.nextOffset == 2)
        let forced = try LegacyMessageSet.downConvert(stored, toMagic: 1, from: 0, maxBytes: 3, minOne: true)
        #expect(forced.count == 1 && forced.nextOffset == 1)
        let none = try LegacyMessageSet.downConvert(stored, toMagic: 1, from: 0, maxBytes: 3, minOne: false)
        #expect(none.count == 0 && none.messages.readableBytes == 0)
    }

    @Test func controlBatchesAreSkippedAndReadPast() throws {
        var stored = try storedBatch(base: 5, control: true, values: ["marker"])
        let out = try LegacyMessageSet.downConvert(stored, toMagic: 0, from: 5, maxBytes: 1 << 20, minOne: true)
        #expect(out.count == 0 && out.nextOffset == 6)
        var data = try storedBatch(base: 6, values: ["after"])
        stored.writeBuffer(&data)
        let both = try LegacyMessageSet.downConvert(stored, toMagic: 0, from: 5, maxBytes: 1 << 20, minOne: true)
        #expect(try decodedMessages(both.messages).map { text($0.value) } == ["after"])
    }
}

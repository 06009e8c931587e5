import CCRC32C
import KafkaProtocol
import NIOCore
import Testing

@Suite struct RecordBatchTests {
    private func bytes(_ s: String) -> ByteBuffer { ByteBuffer(string: s) }

    private func concat(_ parts: ByteBuffer...) -> ByteBuffer {
        var out = ByteBuffer()
        for var part in parts { out.writeBuffer(&part) }
        return out
    }

    private func decodeAll(_ buffer: ByteBuffer) throws -> [DecodedBatch] {
        var reader = RecordBatchReader(buffer)
        return try reader.allBatches()
    }

    /// A batch with two records, written field by field from implementation.html §5.3.
    /// The CRC was computed independently (a bitwise CRC-32C in Python) over bytes 21 ..< 85.
    private static let golden: [UInt8] = {
        var b: [UInt8] = []
        b += [0, 0, 0, 0, 0, 0, 0, 0]                   // baseOffset 0
        b += [0, 0, 0, 0x49]                            // batchLength 73 = 49 + 24
        b += [0xFF, 0xFF, 0xFF, 0xFF]                   // partitionLeaderEpoch -1
        b += [0x02]                                     // magic 2
        b += [0x59, 0x2D, 0x1B, 0x89]                   // crc
        b += [0x00, 0x00]                               // attributes: no codec, CreateTime
        b += [0, 0, 0, 1]                               // lastOffsetDelta 1
        b += [0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x00] // baseTimestamp 1_700_000_000_000
        b += [0, 0, 0x01, 0x8B, 0xCF, 0xE5, 0x68, 0x05] // maxTimestamp  1_700_000_000_005
        b += [UInt8](repeating: 0xFF, count: 8)         // producerId -1
        b += [0xFF, 0xFF]                               // producerEpoch -1
        b += [0xFF, 0xFF, 0xFF, 0xFF]                   // baseSequence -1
        b += [0, 0, 0, 2]                               // recordsCount 2
        // record 0: length 13, attributes 0, tsDelta 0, offsetDelta 0, key "k1", value "hello", 0 headers
        b += [0x1A, 0x00, 0x00, 0x00, 0x04, 0x6B, 0x31, 0x0A, 0x68, 0x65, 0x6C, 0x6C, 0x6F, 0x00]
        // record 1: length 9, attributes 0, tsDelta 5, offsetDelta 1, key null, value "",
        //           1 header: key "h", value null
        b += [0x12, 0x00, 0x0A, 0x02, 0x01, 0x00, 0x02, 0x02, 0x68, 0x01]
        return b
    }()

    private static let goldenRecords = [
        Record(timestampDelta: 0, offsetDelta: 0, key: ByteBuffer(string: "k1"), value: ByteBuffer(string: "hello")),
        Record(timestampDelta: 5, offsetDelta: 1, key: nil, value: ByteBuffer(),
               headers: [RecordHeader(key: "h", value: nil)]),
    ]

    @Test func goldenBatchDecodes() throws {
        let batches = try decodeAll(ByteBuffer(bytes: Self.golden))
        #expect(batches.count == 1)
        let batch = try #require(batches.first)
        #expect(batch.header == RecordBatchHeader(
            baseOffset: 0, batchLength: 73, partitionLeaderEpoch: -1, magic: 2, crc: 0x592D_1B89, attributes: 0,
            lastOffsetDelta: 1, baseTimestamp: 1_700_000_000_000, maxTimestamp: 1_700_000_000_005,
            producerId: -1, producerEpoch: -1, baseSequence: -1, recordsCount: 2))
        #expect(batch.records == Self.goldenRecords)
        #expect(Array(batch) == [
            DecodedBatch.Entry(offset: 0, timestamp: 1_700_000_000_000, key: bytes("k1"), value: bytes("hello"), headers: []),
            DecodedBatch.Entry(offset: 1, timestamp: 1_700_000_000_005, key: nil, value: ByteBuffer(),
                               headers: [RecordHeader(key: "h", value: nil)]),
        ])
        #expect(RecordBatchHeader.computeCRC(of: ByteBuffer(bytes: Self.golden), batchAt: 0, totalSize: 85) == 0x592D_1B89)
    }

    @Test func builderReproducesTheGoldenBytes() throws {
        var builder = RecordBatchBuilder(baseTimestamp: 1_700_000_000_000)
        builder.append(key: bytes("k1"), value: bytes("hello"))
        builder.append(key: nil, value: ByteBuffer(), headers: [RecordHeader(key: "h", value: nil)], timestamp: 1_700_000_000_005)
        #expect(builder.count == 2)
        #expect(builder.estimatedSize == 85)
        #expect(try builder.build() == ByteBuffer(bytes: Self.golden))
    }

    private func sampleBuilder(_ codec: CompressionCodec, logAppendTime: Bool = false) -> RecordBatchBuilder {
        var builder = RecordBatchBuilder(codec: codec, baseTimestamp: 10_000, producerId: 7, producerEpoch: 3,
                                         baseSequence: 40, logAppendTime: logAppendTime)
        builder.append(key: nil, value: bytes("v0"), timestamp: 10_000)
        builder.append(key: bytes("k1"), value: ByteBuffer(), timestamp: 9_990) // earlier than base: negative delta
        builder.append(key: bytes("k2"), value: nil,
                       headers: [RecordHeader(key: "trace", value: bytes("a")), RecordHeader(key: "trace", value: nil),
                                 RecordHeader(key: "", value: ByteBuffer()), RecordHeader(key: "ünï", value: bytes("ç"))],
                       timestamp: 10_250)
        builder.append(key: ByteBuffer(repeating: 0xAB, count: 300), value: ByteBuffer(repeating: 0x5A, count: 70_000))
        return builder
    }

    @Test(arguments: CompressionCodec.allCases)
    func builderReaderRoundTrip(codec: CompressionCodec) throws {
        let batch = try sampleBuilder(codec).build(baseOffset: 100)
        let decoded = try #require(try decodeAll(batch).first)
        #expect(decoded.header.compression == codec)
        #expect(decoded.header.baseOffset == 100)
        #expect(decoded.header.lastOffsetDelta == 3)
        #expect(decoded.header.recordsCount == 4)
        #expect(decoded.header.maxTimestamp == 10_250)
        #expect(decoded.header.producerId == 7 && decoded.header.producerEpoch == 3 && decoded.header.baseSequence == 40)
        #expect(decoded.header.totalSize == batch.readableBytes)
        #expect(Array(decoded) == [
            DecodedBatch.Entry(offset: 100, timestamp: 10_000, key: nil, value: bytes("v0"), headers: []),
            DecodedBatch.Entry(offset: 101, timestamp: 9_990, key: bytes("k1"), value: ByteBuffer(), headers: []),
            DecodedBatch.Entry(offset: 102, timestamp: 10_250, key: bytes("k2"), value: nil, headers: [
                RecordHeader(key: "trace", value: bytes("a")), RecordHeader(key: "trace", value: nil),
                RecordHeader(key: "", value: ByteBuffer()), RecordHeader(key: "ünï", value: bytes("ç")),
            ]),
            DecodedBatch.Entry(offset: 103, timestamp: 10_000, key: ByteBuffer(repeating: 0xAB, count: 300),
                               value: ByteBuffer(repeating: 0x5A, count: 70_000), headers: []),
        ])
        if codec != .none {
            #expect(batch.readableBytes < sampleBuilder(.none).estimatedSize, "\(codec) should shrink repetitive values")
        }
    }

    @Test func logAppendTimeGivesEveryRecordTheMaxTimestamp() throws {
        let decoded = try #require(try decodeAll(try sampleBuilder(.lz4, logAppendTime: true).build()).first)
        #expect(decoded.header.isLogAppendTime)
        #expect(decoded.map(\.timestamp) == [10_250, 10_250, 10_250, 10_250])
    }

    @Test func recordEncodedSizeMatchesBytesWritten() throws {
        let records = [
            Record(timestampDelta: .min, offsetDelta: .max, key: nil, value: nil),
            Record(attributes: -1, timestampDelta: .max, offsetDelta: .min, key: ByteBuffer(repeating: 1, count: 200),
                   value: ByteBuffer(repeating: 2, count: 20_000), headers: [RecordHeader(key: "x", value: nil)]),
        ]
        for record in records {
            var buffer = ByteBuffer()
            record.write(to: &buffer)
            #expect(buffer.readableBytes == record.encodedSize)
            #expect(try Record(from: &buffer) == record)
            #expect(buffer.readableBytes == 0)
        }
    }

    // MARK: reader edge cases

    @Test func readerStopsCleanlyAtAPartialTrailingBatch() throws {
        let first = try sampleBuilder(.none).build(baseOffset: 0)
        let second = try sampleBuilder(.zstd).build(baseOffset: 4)
        let third = try sampleBuilder(.none).build(baseOffset: 8)
        for cut in [1, 11, 12, 60, 61, third.readableBytes - 1] {
            var reader = RecordBatchReader(concat(first, second, third.getSlice(at: 0, length: cut)!))
            #expect(try reader.nextBatch()?.header.baseOffset == 0)
            #expect(try reader.nextBatch()?.header.baseOffset == 4)
            #expect(try reader.nextBatch() == nil, "cut at \(cut)")
            #expect(reader.unreadBytes == cut)
        }
        #expect(try decodeAll(ByteBuffer()).isEmpty)
    }

    @Test func readerVerifiesTheCRC() throws {
        var batch = try sampleBuilder(.none).build()
        let at = batch.readableBytes - 2 // inside the last value, so the records still parse
        batch.setInteger(batch.getInteger(at: at, as: UInt8.self)! ^ 0x01, at: at)
        #expect(throws: ProtocolError.self) { try decodeAll(batch) }
        var unchecked = RecordBatchReader(batch, verifyCRC: false)
        #expect(try unchecked.nextBatch()?.records.count == 4)
    }

    @Test func readerRejectsOtherMagicAndLiesAboutRecords() throws {
        var magic1 = ByteBuffer(bytes: Self.golden)
        magic1.setInteger(UInt8(1), at: 16)
        #expect(throws: ProtocolError.self) { try decodeAll(magic1) }
        // recordsCount 3 but only two records present; CRC fixed so the count is what fails.
        var lying = ByteBuffer(bytes: Self.golden)
        lying.setInteger(Int32(3), at: 57, endianness: .big)
        RecordBatchHeader.updateCRC(in: &lying, batchAt: 0, totalSize: lying.readableBytes)
        #expect(throws: ProtocolError.self) { try decodeAll(lying) }
        // recordsCount 1 leaves the second record unread.
        lying.setInteger(Int32(1), at: 57, endianness: .big)
        RecordBatchHeader.updateCRC(in: &lying, batchAt: 0, totalSize: lying.readableBytes)
        #expect(throws: ProtocolError.self) { try decodeAll(lying) }
    }

    @Test func readerNeverTrapsOnMutatedBatches() throws {
        // Every single-byte change to a valid batch. With the CRC check off the record parser sees
        // them all: each must decode or throw (a trap fails the whole run), and both must happen.
        // With the check on, every change to a CRC-covered byte (the CRC field and everything
        // from the attributes on) must be refused.
        let crcCovered = 17
        for codec in [CompressionCodec.none, .snappy] {
            var builder = RecordBatchBuilder(codec: codec, baseTimestamp: 1)
            builder.append(key: bytes("key"), value: bytes("value"), headers: [RecordHeader(key: "h", value: bytes("v"))])
            builder.append(key: nil, value: bytes("second"))
            let batch = try builder.build()
            var decoded = 0, refused = 0
            for index in 0 ..< batch.readableBytes {
                for replacement: UInt8 in [0x00, 0x7F, 0x80, 0xFF] where batch.getInteger(at: index, as: UInt8.self) != replacement {
                    var mutated = batch
                    mutated.setInteger(replacement, at: index)
                    var unchecked = RecordBatchReader(mutated, verifyCRC: false, maxDecompressedSize: 1 << 16)
                    if (try? unchecked.allBatches()) != nil { decoded += 1 } else { refused += 1 }
                    if index >= crcCovered {
                        var checked = RecordBatchReader(mutated, verifyCRC: true, maxDecompressedSize: 1 << 16)
                        #expect(throws: (any Error).self, "codec \(codec), byte \(index) = \(replacement)") {
                            try checked.allBatches()
                        }
                    }
                }
            }
            #expect(decoded > 0 && refused > 0, "codec \(codec): \(decoded) decoded, \(refused) refused")
        }
    }

    // MARK: produce validation

    private func validate(_ records: ByteBuffer, max: Int = 1 << 20) -> Result<[ProducedBatch], BatchValidationError> {
        ProducedBatch.validate(records, maxBatchBytes: max)
    }

    private func code(_ result: Result<[ProducedBatch], BatchValidationError>) -> ErrorCode? {
        if case .failure(let error) = result { return error.code }
        return nil
    }

    @Test func validateAcceptsBuiltBatchesWithoutCopying() throws {
        let one = try sampleBuilder(.gzip).build()
        let two = try sampleBuilder(.none).build()
        var request = ByteBuffer(string: "xyz") // records usually sit inside a larger request buffer
        request.moveReaderIndex(forwardBy: 3)
        var copy = concat(one, two)
        request.writeBuffer(&copy)
        let batches = try validate(request).get()
        #expect(batches.count == 2)
        #expect(batches[0].bytes == one && batches[1].bytes == two)
        #expect(batches[0].header == (try RecordBatchHeader(from: one, at: 0)))
        #expect(batches[1].body == two.getSlice(at: 61, length: two.readableBytes - 61)!)
    }

    @Test func validateRejectsDamageWithKafkasCodes() throws {
        let good = try sampleBuilder(.none).build()
        func mutated(_ change: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var copy = ByteBuffer(bytes: good.readableBytesView)
            change(&copy)
            return copy
        }
        // A flipped CRC byte, and a flipped body byte.
        #expect(code(validate(mutated { $0.setInteger($0.getInteger(at: 18, as: UInt8.self)! ^ 0x40, at: 18) })) == .corruptMessage)
        #expect(code(validate(mutated { $0.setInteger($0.getInteger(at: 100, as: UInt8.self)! ^ 0x01, at: 100) })) == .corruptMessage)
        // Truncated, and trailing bytes (a partial second batch, then a few stray bytes).
        #expect(code(validate(good.getSlice(at: 0, length: good.readableBytes - 1)!)) == .corruptMessage)
        #expect(code(validate(concat(good, good.getSlice(at: 0, length: 70)!))) == .corruptMessage)
        #expect(code(validate(concat(good, ByteBuffer(bytes: [0, 0, 0])))) == .corruptMessage)
        // batchLength below the 49-byte minimum.
        #expect(code(validate(mutated { $0.setInteger(Int32(48), at: 8, endianness: .big) })) == .corruptMessage)
        // Magic 1.
        #expect(code(validate(mutated { $0.setInteger(UInt8(1), at: 16) })) == .unsupportedForMessageFormat)
        // Oversized: the limit counts the whole batch, 12-byte log overhead included.
        #expect(code(validate(good, max: good.readableBytes - 1)) == .messageTooLarge)
        #expect((try? validate(good, max: good.readableBytes).get())?.count == 1)
        // Nothing to store.
        #expect(code(validate(ByteBuffer())) == .invalidRecord)
        #expect(code(validate(good.getSlice(at: 0, length: 60)!)) == .invalidRecord)
    }

    @Test func validateRejectsIntactButWronglyBuiltBatchesAsInvalidRecord() throws {
        let good = try sampleBuilder(.none).build()
        func resealed(_ change: (inout ByteBuffer) -> Void) -> ByteBuffer {
            var copy = ByteBuffer(bytes: good.readableBytesView)
            change(&copy)
            RecordBatchHeader.updateCRC(in: &copy, batchAt: 0, totalSize: copy.readableBytes)
            return copy
        }
        let cases: [(String, ByteBuffer)] = [
            ("recordsCount -1", resealed { $0.setInteger(Int32(-1), at: 57, endianness: .big) }),
            ("recordsCount 0", resealed { $0.setInteger(Int32(0), at: 57, endianness: .big) }),
            ("lastOffsetDelta -1", resealed { $0.setInteger(Int32(-1), at: 23, endianness: .big) }),
            ("lastOffsetDelta != count - 1", resealed { $0.setInteger(Int32(2), at: 23, endianness: .big) }),
            ("codec 5", resealed { $0.setInteger(Int16(5), at: 21, endianness: .big) }),
            ("control batch", resealed { $0.setInteger(Int16(0x20), at: 21, endianness: .big) }),
            ("idempotent without sequence", resealed { $0.setInteger(Int32(-1), at: 53, endianness: .big) }),
            ("empty batch", try RecordBatchBuilder(baseTimestamp: 0).build()),
        ]
        for (name, batch) in cases {
            #expect(code(validate(batch)) == .invalidRecord, "\(name)")
        }
    }

    // MARK: stamping

    @Test(arguments: [CompressionCodec.none, .zstd])
    func stampedHeaderKeepsTheBatchValid(codec: CompressionCodec) throws {
        let produced = try #require(try validate(try sampleBuilder(codec).build()).get().first)

        // CreateTime: offset and epoch lie outside the CRC, so the producer's CRC stays.
        let createTime = produced.stampedHeaderBytes(baseOffset: 5_000, partitionLeaderEpoch: 9, logAppendTime: nil)
        #expect(createTime.readableBytes == 61)
        let stored = try #require(try decodeAll(concat(createTime, produced.body)).first)
        #expect(stored.header.baseOffset == 5_000 && stored.header.partitionLeaderEpoch == 9)
        #expect(stored.header.crc == produced.header.crc)
        #expect(!stored.header.isLogAppendTime)
        #expect(stored.map(\.offset) == [5_000, 5_001, 5_002, 5_003])
        #expect(stored.map(\.timestamp) == [10_000, 9_990, 10_250, 10_000])
        #expect(try validate(concat(createTime, produced.body)).get().count == 1)

        // LogAppendTime: attributes and maxTimestamp change, so the CRC is rechained.
        let appendTime = produced.stampedHeaderBytes(baseOffset: 5_000, partitionLeaderEpoch: 9, logAppendTime: 1_234_567)
        let whole = concat(appendTime, produced.body)
        let crc = whole.withUnsafeReadableBytes { weir_crc32c(0, $0.baseAddress! + 21, $0.count - 21) }
        #expect(appendTime.getInteger(at: 17, endianness: .big, as: UInt32.self) == crc)
        let logged = try #require(try decodeAll(whole).first)
        #expect(logged.header.isLogAppendTime)
        #expect(logged.header.compression == codec)
        #expect(logged.header.maxTimestamp == 1_234_567 && logged.header.baseTimestamp == 10_000)
        #expect(logged.map(\.timestamp) == [1_234_567, 1_234_567, 1_234_567, 1_234_567])
        #expect(logged.records == stored.records)
    }
}

import KafkaProtocol
import NIOCore
import Testing
@testable import weir_bench

/// The benchmark's own arithmetic: the batches it sends are what it claims (valid, under the
/// batch size, the stated record count), and the fetch side counts them from headers exactly.
@Suite struct WorkloadTests {
    @Test(arguments: [(100, CompressionCodec.none), (100, .lz4), (1024, .none), (1024, .lz4)])
    func batchesAreValidAndFillTheBatchSize(recordBytes: Int, codec: CompressionCodec) throws {
        let workload = Workload(recordBytes: recordBytes, codec: codec)
        // Records fill 16 KiB uncompressed: 61 header bytes, values plus 8-9 bytes of framing each.
        #expect(workload.recordsPerBatch == (recordBytes == 100 ? 148 : 15))
        let bytes = try workload.batch(3, timestamp: 1_700_000_000_000)
        let batches = try ProducedBatch.validate(bytes, maxBatchBytes: 1 << 20).get()
        #expect(batches.count == 1)
        #expect(batches[0].header.recordsCount == Int32(workload.recordsPerBatch))
        #expect(batches[0].header.compression == codec)
        #expect(bytes.readableBytes <= 16384 + 64)
        let decoded = try Compression.decompress(batches[0].body, codec: codec, sizeLimit: 1 << 20)
        #expect(decoded.readableBytes <= 16384 - RecordBatchHeader.size)
        #expect(workload.payloadBytesPerBatch == workload.recordsPerBatch * recordBytes)
    }

    @Test func payloadsAreUppercaseLettersAndDeterministic() throws {
        let a = try Workload(recordBytes: 100, codec: .none).batch(0, timestamp: 5)
        let b = try Workload(recordBytes: 100, codec: .none).batch(0, timestamp: 5)
        #expect(a == b)
        let c = try Workload(recordBytes: 100, codec: .none).batch(1, timestamp: 5)
        #expect(a != c)
        // Uncompressed, the last 100 bytes before the record's header count are its value.
        let tail = try #require(a.getBytes(at: a.writerIndex - 101, length: 100))
        #expect(tail.allSatisfy { (65...90).contains($0) })
    }

    @Test func walkerCountsRecordsAndNextOffsetAndIgnoresATruncatedTail() throws {
        let workload = Workload(recordBytes: 1024, codec: .none)
        var stream = ByteBuffer()
        var first = try workload.batch(0, timestamp: 1)
        first.setInteger(Int64(100), at: first.readerIndex)  // baseOffset 100 .. 114
        var second = try workload.batch(1, timestamp: 1)
        second.setInteger(Int64(115), at: second.readerIndex)  // 115 .. 129
        let whole = first.readableBytes + second.readableBytes
        stream.writeBuffer(&first)
        stream.writeBuffer(&second)
        var truncated = try workload.batch(2, timestamp: 1)
        stream.writeBytes(truncated.readBytes(length: 500)!)  // a cut last batch, as Kafka may send

        var walker = BatchWalker()
        try walker.walk(stream)
        #expect(walker.batches == 2)
        #expect(walker.records == 30)
        #expect(walker.nextOffset == 130)
        #expect(walker.bytes == whole)
        #expect(stream.readableBytes == whole + 500)
    }

    @Test func walkerRejectsANegativeLength() throws {
        var bytes = try Workload(recordBytes: 100, codec: .none).batch(0, timestamp: 1)
        bytes.setInteger(Int32(-5), at: bytes.readerIndex + 8)
        var walker = BatchWalker()
        #expect(throws: BatchWalker.Malformed.self) { try walker.walk(bytes) }
    }
}

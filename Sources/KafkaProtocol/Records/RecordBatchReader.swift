import NIOCore

/// Decodes the records of a Fetch response partition: zero or more v2 batches back to back.
///
/// A broker fills a fetch up to a byte limit, so the last batch may be cut short. Like Kafka's
/// `ByteBufferLogInputStream`, a partial trailing batch ends the iteration cleanly (nil), while
/// a batch that is whole but wrong (bad length, magic, CRC, records) throws `ProtocolError`.
/// `unreadBytes` tells whether a partial batch was left, e.g. to report a batch larger than
/// the fetch size.
public struct RecordBatchReader {
    private var buffer: ByteBuffer
    public let verifyCRC: Bool
    public let maxDecompressedSize: Int

    public init(_ buffer: ByteBuffer, verifyCRC: Bool = true, maxDecompressedSize: Int = 64 << 20) {
        self.buffer = buffer
        self.verifyCRC = verifyCRC
        self.maxDecompressedSize = maxDecompressedSize
    }

    /// Bytes not yet decoded: after `nextBatch()` returned nil, those of a partial batch.
    public var unreadBytes: Int { buffer.readableBytes }

    /// The next whole batch, or nil when fewer than a whole batch's bytes are left.
    public mutating func nextBatch() throws -> DecodedBatch? {
        let start = buffer.readerIndex
        guard buffer.readableBytes >= RecordBatchHeader.logOverhead,
              let batchLength = buffer.getInteger(at: start + 8, endianness: .big, as: Int32.self) else { return nil }
        guard batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
            throw ProtocolError.invalid("record batch length \(batchLength) is below the 49-byte minimum")
        }
        let totalSize = Int(batchLength) + RecordBatchHeader.logOverhead
        guard buffer.readableBytes >= totalSize else { return nil }
        let header = try RecordBatchHeader(from: buffer, at: start)
        guard header.magic == 2 else {
            throw ProtocolError.invalid("record batch magic \(header.magic) at offset \(header.baseOffset); only magic 2 is supported")
        }
        if verifyCRC {
            let crc = RecordBatchHeader.computeCRC(of: buffer, batchAt: start, totalSize: totalSize)
            guard crc == header.crc else {
                throw ProtocolError.invalid("record batch at offset \(header.baseOffset): CRC \(crc) != stored \(header.crc)")
            }
        }
        guard let codec = CompressionCodec(rawValue: Int8(header.attributes & 0x07)) else {
            throw ProtocolError.invalid("record batch compression codec \(header.attributes & 0x07)")
        }
        guard header.recordsCount >= 0 else {
            throw ProtocolError.invalid("record batch recordsCount \(header.recordsCount)")
        }
        guard var section = buffer.getSlice(at: start + RecordBatchHeader.size, length: totalSize - RecordBatchHeader.size) else {
            throw ProtocolError.truncated("record batch body")
        }
        if codec != .none && (section.readableBytes > 0 || header.recordsCount > 0) {
            section = try Compression.decompress(section, codec: codec, sizeLimit: maxDecompressedSize)
        }
        let records = try Self.readRecords(from: &section, count: Int(header.recordsCount))
        guard section.readableBytes == 0 else {
            throw ProtocolError.invalid("record batch at offset \(header.baseOffset): \(section.readableBytes) bytes after \(header.recordsCount) records")
        }
        buffer.moveReaderIndex(forwardBy: totalSize)
        return DecodedBatch(header: header, records: records)
    }

    /// Every whole batch left, in order.
    public mutating func allBatches() throws -> [DecodedBatch] {
        var batches: [DecodedBatch] = []
        while let batch = try nextBatch() { batches.append(batch) }
        return batches
    }

    private static func readRecords(from section: inout ByteBuffer, count: Int) throws -> [Record] {
        var records: [Record] = []
        // The count is untrusted: reserve no more than the bytes could hold.
        records.reserveCapacity(min(count, section.readableBytes / Record.minimumSize))
        for _ in 0 ..< count {
            guard section.readableBytes > 0 else {
                throw ProtocolError.truncated("records: \(records.count) of \(count) present")
            }
            records.append(try Record(from: &section))
        }
        return records
    }
}

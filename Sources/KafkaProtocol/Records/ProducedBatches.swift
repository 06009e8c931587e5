import CCRC32C
import NIOCore

/// One batch of a Produce request, validated by its header alone and kept as the client's
/// bytes. The broker stores `stampedHeaderBytes(…)` followed by the untouched body
/// (`bytes` from offset 61), so records are never decoded, decompressed or copied.
public struct ProducedBatch: Sendable {
    public var header: RecordBatchHeader
    /// The whole batch, header included: a slice of the request buffer.
    public var bytes: ByteBuffer

    public init(header: RecordBatchHeader, bytes: ByteBuffer) {
        self.header = header
        self.bytes = bytes
    }

    /// Bytes 61 ..< end: the records section exactly as the producer sent it.
    public var body: ByteBuffer {
        bytes.getSlice(at: bytes.readerIndex + RecordBatchHeader.size,
                       length: max(bytes.readableBytes - RecordBatchHeader.size, 0)) ?? ByteBuffer()
    }

    /// Checks the `records` field of one Produce partition, with no per-record work.
    ///
    /// Error codes follow what Kafka answers (ProduceRequest.validateRecords,
    /// UnifiedLog.analyzeAndValidateRecords, LogValidator.validateBatch), with the retry
    /// semantics that come with them: CORRUPT_MESSAGE is *retriable* for Java producers,
    /// so it is kept for damage in transit (bad sizes, CRC); a batch that is intact but
    /// wrongly built gets INVALID_RECORD, which producers do not retry.
    /// - fewer bytes than one batch header → INVALID_RECORD, as Kafka ≥ 2.5 answers
    ///   "must have at least one record batch per partition" (its InvalidRecordException
    ///   maps to INVALID_RECORD since KIP-467).
    /// - magic other than 2 → UNSUPPORTED_FOR_MESSAGE_FORMAT (Weir stores only v2; Kafka
    ///   would answer INVALID_RECORD for Produce v3+, and convert for older versions).
    /// - batchLength below the header, a truncated batch, trailing bytes → CORRUPT_MESSAGE.
    /// - a batch over `maxBatchBytes` (counted with its 12-byte log overhead, as Kafka's
    ///   max.message.bytes is) → MESSAGE_TOO_LARGE.
    /// - CRC mismatch → CORRUPT_MESSAGE.
    /// - recordsCount ≤ 0, lastOffsetDelta ≠ recordsCount - 1, unknown codec, a control
    ///   batch, an idempotent batch without a sequence → INVALID_RECORD.
    ///
    /// Several batches are accepted (each validated); Kafka allows only one per partition
    /// from Produce v3 on, which the handler may enforce by checking the count.
    public static func validate(_ records: ByteBuffer, maxBatchBytes: Int) -> Result<[ProducedBatch], BatchValidationError> {
        var batches: [ProducedBatch] = []
        var position = records.readerIndex
        let end = records.writerIndex
        guard end - position >= RecordBatchHeader.size else {
            return .failure(BatchValidationError(.invalidRecord,
                "records hold no record batch (\(end - position) bytes, a batch takes at least 61)"))
        }
        while position < end {
            switch validateOne(records, at: position, end: end, maxBatchBytes: maxBatchBytes) {
            case .success(let batch):
                batches.append(batch)
                position += batch.bytes.readableBytes
            case .failure(let error):
                return .failure(error)
            }
        }
        return .success(batches)
    }

    private static func validateOne(_ records: ByteBuffer, at start: Int, end: Int, maxBatchBytes: Int)
        -> Result<ProducedBatch, BatchValidationError> {
        let left = end - start
        func corrupt(_ message: String) -> Result<ProducedBatch, BatchValidationError> {
            .failure(BatchValidationError(.corruptMessage, message))
        }
        func invalid(_ message: String) -> Result<ProducedBatch, BatchValidationError> {
            .failure(BatchValidationError(.invalidRecord, message))
        }
        guard left >= RecordBatchHeader.size, let header = try? RecordBatchHeader(from: records, at: start) else {
            return corrupt("\(left) trailing bytes after the last record batch")
        }
        guard header.magic == 2 else {
            return .failure(BatchValidationError(.unsupportedForMessageFormat,
                "record batch magic \(header.magic); Weir accepts magic 2 only"))
        }
        guard header.batchLength >= Int32(RecordBatchHeader.size - RecordBatchHeader.logOverhead) else {
            return corrupt("record batch length \(header.batchLength) is below the 49-byte minimum")
        }
        let totalSize = header.totalSize
        guard totalSize <= left else {
            return corrupt("record batch of \(totalSize) bytes is truncated to \(left)")
        }
        guard totalSize <= maxBatchBytes else {
            return .failure(BatchValidationError(.messageTooLarge,
                "record batch of \(totalSize) bytes exceeds the maximum of \(maxBatchBytes)"))
        }
        let crc = RecordBatchHeader.computeCRC(of: records, batchAt: start, totalSize: totalSize)
        guard crc == header.crc else {
            return corrupt("record batch CRC is \(crc), header says \(header.crc)")
        }
        guard header.recordsCount > 0 else {
            return invalid("record batch recordsCount \(header.recordsCount)")
        }
        guard header.lastOffsetDelta == header.recordsCount - 1 else {
            return invalid("record batch lastOffsetDelta \(header.lastOffsetDelta) with \(header.recordsCount) records")
        }
        guard header.attributes & 0x07 <= CompressionCodec.zstd.rawValue else {
            return invalid("record batch compression codec \(header.attributes & 0x07)")
        }
        guard !header.isControl else {
            return invalid("clients may not write control batches")
        }
        guard header.producerId < 0 || header.baseSequence >= 0 else {
            return invalid("record batch of producer \(header.producerId) has sequence \(header.baseSequence)")
        }
        guard let bytes = records.getSlice(at: start, length: totalSize) else {
            return corrupt("record batch of \(totalSize) bytes is truncated")
        }
        return .success(ProducedBatch(header: header, bytes: bytes))
    }

    /// The 61 header bytes to store in front of `body`: baseOffset and leader epoch set by the
    /// broker; with `logAppendTime`, the LogAppendTime attribute set and maxTimestamp = that time.
    ///
    /// The CRC covers bytes 21 ..< end, so offset and epoch never change it: without
    /// `logAppendTime` the producer's (already verified) CRC is kept. Otherwise it is recomputed
    /// by chaining CRC-32C over the new bytes 21 ..< 61 and then the original body in place.
    public func stampedHeaderBytes(baseOffset: Int64, partitionLeaderEpoch: Int32, logAppendTime: Int64?) -> ByteBuffer {
        var stamped = header
        stamped.baseOffset = baseOffset
        stamped.partitionLeaderEpoch = partitionLeaderEpoch
        if let logAppendTime {
            stamped.attributes |= 0x08
            stamped.maxTimestamp = logAppendTime
        }
        var out = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.size)
        stamped.write(to: &out)
        guard logAppendTime != nil else { return out }
        let headerCRC = out.withUnsafeReadableBytes { raw in
            weir_crc32c(0, raw.baseAddress.map { $0 + RecordBatchHeader.crcStart },
                        RecordBatchHeader.size - RecordBatchHeader.crcStart)
        }
        let body = self.body
        let crc = body.withUnsafeReadableBytes { raw in
            raw.isEmpty ? headerCRC : weir_crc32c(headerCRC, raw.baseAddress, raw.count)
        }
        out.setInteger(crc, at: out.readerIndex + 17, endianness: .big)
        return out
    }
}

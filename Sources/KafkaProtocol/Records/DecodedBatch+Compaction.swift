import NIOCore

/// Re-encoding a stored batch with some of its records removed, as Kafka's log cleaner does
/// (`MemoryRecords.filterTo`): the batch stays where it was and keeps what identifies it.
extension DecodedBatch {
    /// This batch with only `kept` of its records (a subsequence of `records`, in order),
    /// re-encoded as a valid v2 batch:
    /// - kept as they were: baseOffset, lastOffsetDelta (so the batch still ends where it ended:
    ///   the log end offset and a producer's last sequence do not move — Kafka's
    ///   `overrideLastOffset`), partitionLeaderEpoch, attributes (codec, timestamp type,
    ///   transactional), baseTimestamp, producerId, producerEpoch, baseSequence, and each kept
    ///   record byte for byte (its own offset and timestamp deltas);
    /// - recomputed: recordsCount, batchLength, maxTimestamp (the largest kept record timestamp
    ///   for CreateTime; unchanged for LogAppendTime, where it is the append time), the records
    ///   section compressed again with the batch's own codec, and the CRC-32C.
    ///
    /// With no record kept, the result is a header-only batch (recordsCount 0) that still spans
    /// baseOffset…lastOffset: Kafka's empty batch for an idempotent producer's last batch. Its
    /// codec bits are cleared (there is nothing to decompress) and maxTimestamp is kept.
    public func rewritten(keeping kept: [Record], compressionLevel: Int? = nil) throws -> ByteBuffer {
        var h = header
        var section = ByteBufferAllocator().buffer(capacity: kept.reduce(0) { $0 + $1.encodedSize })
        for record in kept { record.write(to: &section) }
        if kept.isEmpty {
            h.attributes &= ~0x07
        } else {
            section = try Compression.compress(section, codec: h.compression, level: compressionLevel)
            if !h.isLogAppendTime {
                h.maxTimestamp = kept.map { h.baseTimestamp &+ $0.timestampDelta }.max() ?? h.maxTimestamp
            }
        }
        return try Self.encode(h, recordsCount: kept.count, section: section)
    }

    /// A header-only batch (recordsCount 0, no producer) spanning `baseOffset…lastOffset`: what
    /// stands for a run of batches whose records were all removed, so that the stored batches
    /// stay contiguous. Timestamps: `baseTimestamp` and `maxTimestamp` as given (the run's first
    /// and largest), so retention by time treats it as it treated the run.
    public static func emptyBatch(baseOffset: Int64, lastOffset: Int64, baseTimestamp: Int64, maxTimestamp: Int64,
                                  logAppendTime: Bool, partitionLeaderEpoch: Int32) throws -> ByteBuffer {
        let (delta, overflow) = lastOffset.subtractingReportingOverflow(baseOffset)
        guard !overflow, delta >= 0, delta <= Int64(Int32.max) else {
            throw ProtocolError.invalid("an empty batch cannot span offsets \(baseOffset)…\(lastOffset)")
        }
        let h = RecordBatchHeader(baseOffset: baseOffset, partitionLeaderEpoch: partitionLeaderEpoch,
                                  attributes: logAppendTime ? 0x08 : 0, lastOffsetDelta: Int32(delta),
                                  baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp)
        return try encode(h, recordsCount: 0, section: ByteBuffer())
    }

    private static func encode(_ header: RecordBatchHeader, recordsCount: Int, section: ByteBuffer) throws -> ByteBuffer {
        var h = header
        let batchLength = RecordBatchHeader.size - RecordBatchHeader.logOverhead + section.readableBytes
        guard batchLength <= Int(Int32.max), recordsCount <= Int(Int32.max) else {
            throw ProtocolError.invalid("record batch: \(batchLength) bytes do not fit a batch")
        }
        h.batchLength = Int32(batchLength)
        h.recordsCount = Int32(recordsCount)
        h.magic = 2
        h.crc = 0
        var out = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.logOverhead + batchLength)
        h.write(to: &out)
        var body = section
        out.writeBuffer(&body)
        RecordBatchHeader.updateCRC(in: &out, batchAt: out.readerIndex, totalSize: out.readableBytes)
        return out
    }
}

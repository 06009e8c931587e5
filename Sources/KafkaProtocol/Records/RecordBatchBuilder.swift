import NIOCore

/// Builds one v2 record batch (header + records, compressed when asked), as a producer sends it.
/// Used by the client tools and tests; the broker itself never builds batches from records.
///
/// Records are encoded as they are appended, so `estimatedSize` is exact for an uncompressed
/// batch and an upper bound (before the codec's framing) for a compressed one.
public struct RecordBatchBuilder {
    public let codec: CompressionCodec
    public let compressionLevel: Int?
    public let baseTimestamp: Int64
    public let producerId: Int64
    public let producerEpoch: Int16
    public let baseSequence: Int32
    public let logAppendTime: Bool
    public let isTransactional: Bool
    public let isControl: Bool
    public let partitionLeaderEpoch: Int32

    private var records: ByteBuffer
    public private(set) var count = 0
    private var maxTimestamp: Int64?

    public init(codec: CompressionCodec = .none, baseTimestamp: Int64, producerId: Int64 = -1,
                producerEpoch: Int16 = -1, baseSequence: Int32 = -1, logAppendTime: Bool = false,
                isTransactional: Bool = false, isControl: Bool = false, partitionLeaderEpoch: Int32 = -1,
                compressionLevel: Int? = nil) {
        self.codec = codec
        self.compressionLevel = compressionLevel
        self.baseTimestamp = baseTimestamp
        self.producerId = producerId
        self.producerEpoch = producerEpoch
        self.baseSequence = baseSequence
        self.logAppendTime = logAppendTime
        self.isTransactional = isTransactional
        self.isControl = isControl
        self.partitionLeaderEpoch = partitionLeaderEpoch
        records = ByteBufferAllocator().buffer(capacity: 256)
    }

    /// Appends a record at the next offset delta. `timestamp` nil means `baseTimestamp`.
    public mutating func append(key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader] = [], timestamp: Int64? = nil) {
        let time = timestamp ?? baseTimestamp
        let record = Record(timestampDelta: time &- baseTimestamp, offsetDelta: Int32(truncatingIfNeeded: count),
                            key: key, value: value, headers: headers)
        record.write(to: &records)
        count += 1
        maxTimestamp = max(maxTimestamp ?? time, time)
    }

    /// Header plus the uncompressed records so far.
    public var estimatedSize: Int { RecordBatchHeader.size + records.readableBytes }

    /// The attributes field: codec in bits 0-2, then timestamp type, transactional, control.
    public var attributes: Int16 {
        var attributes = Int16(codec.rawValue)
        if logAppendTime { attributes |= 0x08 }
        if isTransactional { attributes |= 0x10 }
        if isControl { attributes |= 0x20 }
        return attributes
    }

    /// The complete batch with its CRC. An empty builder gives a header-only batch
    /// (recordsCount 0, lastOffsetDelta 0, maxTimestamp = baseTimestamp), which Produce
    /// validation refuses, as Kafka does.
    public func build(baseOffset: Int64 = 0) throws -> ByteBuffer {
        guard count <= Int(Int32.max) else { throw ProtocolError.invalid("record batch: \(count) records") }
        var section = try Compression.compress(records, codec: codec, level: compressionLevel)
        let batchLength = RecordBatchHeader.size - RecordBatchHeader.logOverhead + section.readableBytes
        guard batchLength <= Int(Int32.max) else {
            throw ProtocolError.invalid("record batch: \(batchLength) bytes do not fit a batch")
        }
        let header = RecordBatchHeader(
            baseOffset: baseOffset, batchLength: Int32(batchLength), partitionLeaderEpoch: partitionLeaderEpoch,
            magic: 2, crc: 0, attributes: attributes, lastOffsetDelta: Int32(max(count - 1, 0)),
            baseTimestamp: baseTimestamp, maxTimestamp: maxTimestamp ?? baseTimestamp, producerId: producerId,
            producerEpoch: producerEpoch, baseSequence: baseSequence, recordsCount: Int32(count))
        var batch = ByteBufferAllocator().buffer(capacity: RecordBatchHeader.logOverhead + batchLength)
        header.write(to: &batch)
        batch.writeBuffer(&section)
        RecordBatchHeader.updateCRC(in: &batch, batchAt: batch.readerIndex, totalSize: batch.readableBytes)
        return batch
    }
}

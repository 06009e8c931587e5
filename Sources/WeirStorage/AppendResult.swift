/// What an append assigned, for the Produce response.
public struct AppendResult: Sendable, Equatable {
    /// Offset of the first record of the first batch appended.
    public var baseOffset: Int64
    /// Offset of the last record of the last batch appended.
    public var lastOffset: Int64
    /// The LogAppendTime stamped into the batches; -1 when the topic uses CreateTime.
    public var logAppendTime: Int64
    /// The partition's log start offset after the append.
    public var logStartOffset: Int64
    /// True when the append was a retry of an idempotent producer's batch already stored:
    /// nothing was written, and the offsets (and LogAppendTime) are those of the stored batch.
    /// The Produce response answers it as a success, as Kafka does.
    public var duplicate: Bool

    public init(baseOffset: Int64, lastOffset: Int64, logAppendTime: Int64, logStartOffset: Int64,
                duplicate: Bool = false) {
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.logAppendTime = logAppendTime
        self.logStartOffset = logStartOffset
        self.duplicate = duplicate
    }
}

/// A consistent snapshot of a partition log's offsets.
public struct LogOffsets: Sendable, Equatable {
    /// First offset a consumer may fetch.
    public var logStartOffset: Int64
    /// Offset the next appended record will get.
    public var logEndOffset: Int64
    /// Offsets below it are committed and visible to consumers.
    public var highWatermark: Int64
    /// Offsets below it belong to no open transaction: what read_committed consumers may read.
    /// The first offset of the oldest open transaction, else the high watermark.
    public var lastStableOffset: Int64

    public init(logStartOffset: Int64, logEndOffset: Int64, highWatermark: Int64, lastStableOffset: Int64? = nil) {
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.highWatermark = highWatermark
        self.lastStableOffset = lastStableOffset ?? highWatermark
    }
}

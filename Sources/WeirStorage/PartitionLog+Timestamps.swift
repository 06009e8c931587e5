import KafkaProtocol

extension PartitionLog {
    /// The first readable record's timestamp (the batch holding the log start offset: its
    /// baseTimestamp, or maxTimestamp for LogAppendTime) and the last batch's maxTimestamp, below
    /// the high watermark; nil when there is no batch. Two seeks and two headers, no scan, so the
    /// admin console can show them for every partition on each refresh. Does not fill the block
    /// cache (consumers' blocks stay).
    public func timestampBounds() throws -> (first: Int64, last: Int64)? {
        let current = offsets
        guard current.highWatermark > current.logStartOffset else { return nil }
        return try db.withIterator(cf, upperBound: Array(OffsetKey(current.highWatermark)), fillCache: false) { it in
            try it.seekToBatch(containing: current.logStartOffset)
            guard it.isValid, let first = LogInspector.firstTimestamp(it.value) else {
                try it.checkError()
                return nil
            }
            it.seekToLast()
            guard it.isValid else {
                try it.checkError()
                return nil
            }
            return (first, try StoredBatch(key: it.key, value: it.value).maxTimestamp)
        }
    }
}

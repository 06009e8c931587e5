import NIOCore

/// One batch as a consumer sees it: the header and its records, decompressed.
///
/// It is also a collection of `Entry`, the records with absolute offsets and timestamps,
/// which is what a consumer prints or hands to an application:
///
///     for entry in batch { print(entry.offset, entry.timestamp, entry.value) }
public struct DecodedBatch: Sendable, Equatable {
    public var header: RecordBatchHeader
    public var records: [Record]

    public init(header: RecordBatchHeader, records: [Record]) {
        self.header = header
        self.records = records
    }

    /// A record resolved against its batch header.
    public struct Entry: Sendable, Equatable {
        public var offset: Int64
        /// CreateTime: baseTimestamp + timestampDelta. LogAppendTime: the batch's maxTimestamp,
        /// the broker's append time, for every record (as Kafka's consumer reports it).
        public var timestamp: Int64
        public var key: ByteBuffer?
        public var value: ByteBuffer?
        public var headers: [RecordHeader]

        public init(offset: Int64, timestamp: Int64, key: ByteBuffer?, value: ByteBuffer?, headers: [RecordHeader]) {
            self.offset = offset
            self.timestamp = timestamp
            self.key = key
            self.value = value
            self.headers = headers
        }
    }
}

extension DecodedBatch: RandomAccessCollection {
    public var startIndex: Int { records.startIndex }
    public var endIndex: Int { records.endIndex }

    /// Wrapping arithmetic: the deltas come from the wire and must not trap.
    public subscript(position: Int) -> Entry {
        let record = records[position]
        let timestamp = header.isLogAppendTime ? header.maxTimestamp : header.baseTimestamp &+ record.timestampDelta
        return Entry(offset: header.baseOffset &+ Int64(record.offsetDelta), timestamp: timestamp,
                     key: record.key, value: record.value, headers: record.headers)
    }
}

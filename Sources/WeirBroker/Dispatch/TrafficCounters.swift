import NIOCore
import Synchronization

/// Records and record-batch bytes that Produce appended and Fetch returned since the broker
/// started: what the admin console's live rates are made of (`RateSampler` in WeirServer turns
/// these totals into per-second series).
///
/// Why the handlers count, not the `RequestObserver`: the observer sees frame sizes, not how many
/// records a frame carried. Cost on the request path: two relaxed atomic adds per appended
/// partition; for Fetch, one read of each returned batch's header (four integers) per partition.
public final class TrafficCounters: Sendable {
    /// Cumulative counts; they only grow.
    public struct Totals: Sendable, Equatable {
        public var producedRecords: Int64 = 0
        public var producedBytes: Int64 = 0
        public var fetchedRecords: Int64 = 0
        public var fetchedBytes: Int64 = 0

        public init(producedRecords: Int64 = 0, producedBytes: Int64 = 0, fetchedRecords: Int64 = 0, fetchedBytes: Int64 = 0) {
            self.producedRecords = producedRecords
            self.producedBytes = producedBytes
            self.fetchedRecords = fetchedRecords
            self.fetchedBytes = fetchedBytes
        }
    }

    private let producedRecords = Atomic<Int64>(0)
    private let producedBytes = Atomic<Int64>(0)
    private let fetchedRecords = Atomic<Int64>(0)
    private let fetchedBytes = Atomic<Int64>(0)

    public init() {}

    /// An append stored `records` offsets in `bytes` of batches (a retried duplicate is not counted).
    public func produced(records: Int64, bytes: Int) {
        producedRecords.add(records, ordering: .relaxed)
        producedBytes.add(Int64(bytes), ordering: .relaxed)
    }

    /// A Fetch response carries these stored batches of one partition, read from `offset`.
    public func fetched(_ batches: ByteBuffer, from offset: Int64) {
        fetchedRecords.add(Self.recordCount(in: batches, from: offset), ordering: .relaxed)
        fetchedBytes.add(Int64(batches.readableBytes), ordering: .relaxed)
    }

    public var totals: Totals {
        Totals(producedRecords: producedRecords.load(ordering: .relaxed), producedBytes: producedBytes.load(ordering: .relaxed),
               fetchedRecords: fetchedRecords.load(ordering: .relaxed), fetchedBytes: fetchedBytes.load(ordering: .relaxed))
    }

    /// Records a consumer gets from v2 batches stored back to back, read from `offset`: each
    /// batch's recordsCount, except that the first batch (which may start before `offset`, the
    /// consumer skipping its earlier records) counts only its offsets from `offset` on. Headers
    /// only: baseOffset (byte 0), batchLength (8), lastOffsetDelta (23), recordsCount (57). A
    /// batch cut short at the end is not counted.
    public static func recordCount(in batches: ByteBuffer, from offset: Int64) -> Int64 {
        var count: Int64 = 0
        var at = batches.readerIndex
        let end = batches.writerIndex
        while end - at >= 61,
              let base = batches.getInteger(at: at, as: Int64.self),
              let length = batches.getInteger(at: at + 8, as: Int32.self), length >= 49, end - at >= 12 + Int(length),
              let lastDelta = batches.getInteger(at: at + 23, as: Int32.self),
              let records = batches.getInteger(at: at + 57, as: Int32.self) {
            let last = base &+ Int64(lastDelta)
            if base >= offset {
                count += Int64(max(0, records))
            } else if last >= offset {
                count += min(Int64(max(0, records)), last - offset + 1)
            }
            at += 12 + Int(length)
        }
        return count
    }
}

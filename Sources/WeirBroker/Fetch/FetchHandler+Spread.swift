import Foundation
import KafkaProtocol
import NIOCore

/// A fetch of several partitions reads them on several I/O-pool threads at once.
///
/// A consumer's Fetch names many partitions; read one after the other on one thread, the
/// response waits for the sum of the reads, and a broker serving few connections leaves cores
/// idle. When the response-level `max.bytes` cannot bind (the partitions' own limits add up to
/// at most it, as with librdkafka's and the Java client's defaults: 1 MiB per partition,
/// 50 MiB per response), each contiguous group of partitions is read on its own pool thread,
/// then the sequential rule is applied to what came back: the response's budget is shared in
/// request order and only the first partition with records may exceed its limit (KIP-74). Each
/// group read returns a batch-wise superset of what the sequential read would have, so the rule
/// only trims (slices, no copy). A batch larger than its partition's limit — the one case where a
/// group's own budget could differ from the response's — makes the fetch read again sequentially.
/// Down-conversion (v0–v3) and read_committed (whose aborted list follows the records) stay
/// sequential.
extension FetchHandler {
    /// Pool threads one fetch spreads its reads over: one per core, at most 4 (the default
    /// `num.io.threads`), so that a fetch does not queue behind itself.
    static let readGroups = max(1, min(4, ProcessInfo.processInfo.activeProcessorCount))

    func readSpread(_ wanted: [FetchSessionCache.CachedPartition], maxBytes: Int, magic: Int8?,
                    committedOnly: Bool, denied: Set<String>) async throws -> [Got] {
        let groups = min(Self.readGroups, wanted.count)
        let (limits, overflow) = wanted.reduce((0, false)) { acc, w in
            let (sum, o) = acc.0.addingReportingOverflow(w.maxBytes)
            return (sum, acc.1 || o)
        }
        guard groups > 1, magic == nil, !committedOnly, !overflow, limits <= maxBytes else {
            return try await read(wanted, maxBytes: maxBytes, magic: magic, committedOnly: committedOnly, denied: denied)
        }
        let ranges = Self.split(wanted.count, into: groups)
        let parts = try await withThrowingTaskGroup(of: (Int, [Got]).self) { group in
            for (i, range) in ranges.enumerated() {
                let mine = Array(wanted[range])
                group.addTask {
                    (i, try await self.read(mine, maxBytes: maxBytes, magic: nil, committedOnly: false, denied: denied))
                }
            }
            var parts = [[Got]](repeating: [], count: ranges.count)
            for try await (i, got) in group { parts[i] = got }
            return parts
        }
        var got = parts.flatMap { $0 }
        if zip(wanted, got).contains(where: { w, g in (g.records?.readableBytes ?? 0) > w.maxBytes }) {
            return try await read(wanted, maxBytes: maxBytes, magic: magic, committedOnly: committedOnly, denied: denied)
        }
        Self.shareBudget(&got, limits: wanted.map(\.maxBytes), maxBytes: maxBytes)
        return got
    }

    /// `count` items in `groups` contiguous ranges of near-equal size, in order.
    static func split(_ count: Int, into groups: Int) -> [Range<Int>] {
        let groups = max(1, min(groups, count))
        return (0..<groups).map { g in (count * g / groups)..<(count * (g + 1) / groups) }
    }

    /// Trims each partition's records to what a sequential read would have returned: the
    /// response's `maxBytes` shared in order, only the first partition with records allowed
    /// one batch over its limit.
    static func shareBudget(_ got: inout [Got], limits: [Int], maxBytes: Int) {
        var budget = maxBytes
        var gotAny = false
        for i in got.indices {
            guard let records = got[i].records else { continue }
            let limit = min(limits[i], budget)
            let kept = limit > 0 || !gotAny ? wholeBatches(of: records, maxBytes: limit, minOneBatch: !gotAny) : ByteBuffer()
            if kept.readableBytes > 0 {
                got[i].records = kept
                budget = max(0, budget - kept.readableBytes)
                gotAny = true
            } else {
                got[i].records = nil
            }
        }
    }

    /// The leading batches of `records` that `PartitionLog.read` would have returned with these
    /// limits: batches while their total stays ≤ `maxBytes`, the first one regardless when
    /// `minOneBatch`. A slice: nothing is copied.
    static func wholeBatches(of records: ByteBuffer, maxBytes: Int, minOneBatch: Bool) -> ByteBuffer {
        var at = records.readerIndex
        var total = 0
        while records.writerIndex - at >= RecordBatchHeader.logOverhead,
              let length = records.getInteger(at: at + 8, as: Int32.self), length >= 0 {
            let size = Int(length) + RecordBatchHeader.logOverhead
            guard size <= records.writerIndex - at else { break }
            if total + size > maxBytes {
                guard total == 0, minOneBatch else { break }
            }
            total += size
            at += size
            if total >= maxBytes { break }
        }
        return records.getSlice(at: records.readerIndex, length: total) ?? ByteBuffer()
    }
}

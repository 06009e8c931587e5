import NIOCore
import WeirStorage

/// The fetch path of the `segmented` layout (key = segment ‖ partition ‖ base offset; see
/// `SegmentRoller` for the format).
extension LayoutRun {
    /// Reads `partition` from `offset` until `readBytes` (at least one batch), as `read` does for
    /// the other layouts: `index` names the segment holding `offset`, the read seeks there and
    /// moves on segment by segment (in the index's order) while the budget lasts.
    ///
    /// One iterator per family per call, not a bounded one per segment: at 1,000 partitions a
    /// 16 MiB segment holds ~16 KiB of a partition, about one batch, so a 1 MiB read visits ~64
    /// segments; re-seeking an open iterator is much cheaper than creating one (which pins a
    /// super version and builds a merging iterator over every L0 file and level). Without bounds,
    /// the end of a partition's run in a segment is seen as the first key with another prefix.
    func readSegmented(_ db: RocksDB, _ families: [ColumnFamily], index: SegmentIndex, partition: Int,
                       from offset: Int64, into buffer: inout ByteBuffer) throws {
        precondition(families.count == 2, "the segmented layout has two families")
        let entries = index.entries
        var position = index.position(of: offset)
        var total = 0
        let maxBytes = readBytes
        try db.withIterator(families[0]) { even in
            try db.withIterator(families[1]) { odd in
                while position < entries.count {
                    let segment = entries[position].segment
                    // The first segment from `offset`, the following ones from their start.
                    let from: Int64? = total == 0 && position == index.position(of: offset) ? offset : nil
                    let full = segment % 2 == 0
                        ? try Self.scan(even, segment: segment, partition: partition, from: from,
                                        maxBytes: maxBytes, total: &total, into: &buffer)
                        : try Self.scan(odd, segment: segment, partition: partition, from: from,
                                        maxBytes: maxBytes, total: &total, into: &buffer)
                    if full { return }
                    position += 1
                }
            }
        }
    }

    /// Appends `partition`'s batches of `segment` to `buffer` — from the batch holding `from`, or
    /// from the segment's first — until `maxBytes` in all. True when the read is full.
    private static func scan(_ it: borrowing RocksDBIterator, segment: UInt32, partition: Int, from: Int64?,
                             maxBytes: Int, total: inout Int, into buffer: inout ByteBuffer) throws -> Bool {
        let prefixBytes = 8
        var target = [UInt8](repeating: 0, count: prefixBytes + 8)
        fill(&target, segment: segment, partition: partition, prefixBytes: prefixBytes, offset: from ?? 0)
        func inSegment(_ key: UnsafeRawBufferPointer) -> Bool {
            key.count == prefixBytes + 8 && (0..<prefixBytes).allSatisfy { key[$0] == target[$0] }
        }
        if let from {
            // The batch holding `from` may start before it (as PartitionLog.read seeks).
            it.seekForPrev(target)
            if it.isValid, inSegment(it.key) {
                if try lastOffset(key: it.key, value: it.value, prefixBytes: prefixBytes) < from { it.next() }
            } else {
                try it.checkError()
                it.seek(target)
            }
        } else {
            it.seek(target)
        }
        while it.isValid, inSegment(it.key) {
            let value = it.value
            _ = try lastOffset(key: it.key, value: value, prefixBytes: prefixBytes)
            if total > 0, total + value.count > maxBytes { return true }
            buffer.writeBytes(value)
            total += value.count
            if total >= maxBytes { return true }
            it.next()
        }
        try it.checkError()
        return false
    }
}

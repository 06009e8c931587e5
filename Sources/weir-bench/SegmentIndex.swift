/// One partition's in-memory index for the `segmented` layout: for every segment holding some of
/// its batches, the segment id and the base offset of its first batch there, in offset order
/// (segment ids only grow). A fetch from offset X binary-searches the last entry whose first
/// offset ≤ X and seeks to `segment ‖ partition ‖ X` in that segment's family; it moves on to the
/// next entry's segment when the partition's keys in this one run out.
///
/// Memory: 16 bytes an entry (a UInt32 and an Int64, padded), one entry per (partition, segment
/// it wrote in) — at most partitions × retained segments. A broker would rebuild it at startup
/// with one seek per (segment, partition) or keep it in its own family; not measured here.
///
/// Each partition is appended to by one writer thread only (as a partition's appends are
/// serialized in Weir), and read after the writes: no lock.
final class SegmentIndex: @unchecked Sendable {
    struct Entry {
        var segment: UInt32
        var firstOffset: Int64
    }

    private(set) var entries: [Entry] = []

    /// Records a batch at `baseOffset` written in `segment` (a no-op unless it opens a segment).
    func noteBatch(segment: UInt32, baseOffset: Int64) {
        if entries.last?.segment != segment {
            entries.append(Entry(segment: segment, firstOffset: baseOffset))
        }
    }

    /// The position in `entries` of the segment that holds `offset`: the last entry whose first
    /// offset is ≤ `offset` (0 for an offset before the first).
    func position(of offset: Int64) -> Int {
        var low = 0
        var high = entries.count
        while high - low > 1 {
            let mid = (low + high) / 2
            if entries[mid].firstOffset <= offset { low = mid } else { high = mid }
        }
        return low
    }

    static let bytesPerEntry = MemoryLayout<Entry>.stride
}

import ArgumentParser
import WeirStorage

/// Which storage layout a `weir-bench layout` case measures:
///
///     per-partition          one column family per partition, key = 8-byte base offset (Weir today)
///     per-partition-tuned    the same with `LayoutKnobs.tunedPreset` for knobs not given
///     per-partition-stall    per-partition with a stalling memtable budget (`LayoutKnobs.stallPreset`):
///                            a WriteBufferManager with allow_stall, max_total_wal_size =
///                            max(4 × budget, 1 GiB)
///     per-partition-tuned-stall   the same over `LayoutKnobs.tunedPreset`
///     shared:K               partitions in K column families (p → p mod K),
///                            key = 4-byte partition id + 8-byte base offset
///     segmented              segment-major keys in 2 families (segment s → family s mod 2),
///                            key = 4-byte segment id + 4-byte partition id + 8-byte base offset
///                            (see `SegmentRoller`, `SegmentIndex`)
///
/// Any of them may end in ":level", ":universal" or ":fifo" (the log families' compaction style).
struct LayoutSpec: Sendable, CustomStringConvertible {
    enum Kind: Sendable, Equatable { case perPartition, shared(Int), segmented }
    var kind: Kind
    var tuned: Bool
    /// A memtable budget that holds writers back (`per-partition-stall`).
    var stallingBudget = false
    var style: RocksDBOptions.ExperimentCompactionStyle
    var text: String

    /// Families of the segmented layout. Two, not one: a sealed segment's family then gets no
    /// more writes, so flushing it from a background thread (`RocksDB.flush`, which waits) cuts
    /// exactly one SST file per segment while writers go on in the other family. With one family
    /// the memtable would have to be switched at the roll itself, with writers held back, through
    /// a no-wait flush that Weir's RocksDB wrapper does not expose. More than two families only
    /// split each segment into more, smaller flushes (§1 of layout-results.md: costs are per flush).
    static let segmentedFamilies = 2

    init(_ text: String) throws {
        self.text = text
        var parts = text.split(separator: ":").map(String.init)
        style = .level
        if let last = parts.last, let s = RocksDBOptions.ExperimentCompactionStyle(rawValue: last), parts.count > 1 {
            style = s
            parts.removeLast()
        }
        switch parts.first {
        case "per-partition" where parts.count == 1: kind = .perPartition; tuned = false
        case "per-partition-tuned" where parts.count == 1: kind = .perPartition; tuned = true
        case "per-partition-stall" where parts.count == 1:
            kind = .perPartition; tuned = false; stallingBudget = true
        case "per-partition-tuned-stall" where parts.count == 1:
            kind = .perPartition; tuned = true; stallingBudget = true
        case "shared" where parts.count == 2:
            guard let k = Int(parts[1]), k > 0 else { throw ValidationError("bad family count in '\(text)'") }
            kind = .shared(k); tuned = false
        case "segmented" where parts.count == 1: kind = .segmented; tuned = false
        default:
            throw ValidationError("unknown layout '\(text)' (per-partition, per-partition-tuned, per-partition-stall, "
                                  + "per-partition-tuned-stall, shared:K, segmented, with :level/:universal/:fifo)")
        }
    }

    var description: String { text }

    /// Bytes before the 8-byte base offset in a key.
    var keyPrefixBytes: Int {
        switch kind {
        case .perPartition: 0
        case .shared: 4
        case .segmented: 8
        }
    }

    func familyCount(partitions: Int) -> Int {
        switch kind {
        case .perPartition: partitions
        case .shared(let k): min(k, partitions)
        case .segmented: Self.segmentedFamilies
        }
    }

    /// The family that holds `partition`'s batches of `segment` (segment ignored but in segmented).
    func family(partition: Int, segment: UInt32, familyCount: Int) -> Int {
        kind == .segmented ? Int(segment) % familyCount : partition % familyCount
    }
}

import Foundation

/// The global segment counter of the `segmented` layout.
///
/// On-disk layout it serves: column family `segment/<s mod 2>`, key = 4-byte big-endian segment id
/// ‖ 4-byte big-endian partition id ‖ 8-byte big-endian base offset, value = the stored batch (as
/// Weir's). Every write takes the current segment id; once `rollBytes` of batches went into a
/// segment, the id moves on. New keys therefore sort after every older segment's, and a flush of
/// one segment's memtable covers a key range no other SST file touches — L0 files never overlap,
/// so RocksDB moves them down without rewriting them (WA ≈ 1, as with a family per partition).
///
/// The id wraps at 2^32 (at 16 MiB per segment, after 64 PiB written); a broker would have to
/// re-base it before then, which this experiment does not.
///
/// A write is "in flight" from `begin` to `end`: the flush of a sealed segment's family waits in
/// `waitForWrites(of:)` until its last straggler (a writer that took the id just before the roll)
/// has landed, else that write would fall into the family's next memtable and make two files
/// overlap.
///
/// Back-pressure is per segment: `begin` holds writers while `maxUnflushed` sealed segments still
/// wait for their flush (`flushed(_:)`). Without it, writers that outrun the flush thread fill a
/// family's memtable to its size limit (or the budget's flush trigger) and RocksDB switches it in
/// the middle of a segment; the two halves overlap and compaction rewrites them (the first
/// measurement, with no back-pressure: WA 1.45 at 300 MB, load 7.8).
final class SegmentRoller: @unchecked Sendable {
    // @unchecked: every field is guarded by `condition`.
    private let condition = NSCondition()
    private var current: UInt32 = 0
    private var bytesInCurrent = 0
    private var inFlight: [UInt32: Int] = [:]
    private var unflushed: Set<UInt32> = []
    let rollBytes: Int
    let maxUnflushed: Int

    init(rollBytes: Int, maxUnflushed: Int = 2) {
        self.rollBytes = rollBytes
        self.maxUnflushed = maxUnflushed
    }

    /// Starts a write: the segment id its key must carry. Waits while `maxUnflushed` sealed
    /// segments are not flushed yet.
    func begin() -> UInt32 {
        condition.lock()
        defer { condition.unlock() }
        while unflushed.count >= maxUnflushed { condition.wait() }
        inFlight[current, default: 0] += 1
        return current
    }

    /// The sealed `segment`'s family was flushed: writers held back for it may go on.
    func flushed(_ segment: UInt32) {
        condition.lock()
        defer { condition.unlock() }
        unflushed.remove(segment)
        condition.broadcast()
    }

    /// Ends a write of `bytes` begun in `segment`. Returns the segment this write sealed, if it
    /// filled the current one (the caller then has that segment's family flushed).
    func end(segment: UInt32, bytes: Int) -> UInt32? {
        condition.lock()
        defer { condition.unlock() }
        if let n = inFlight[segment], n > 1 {
            inFlight[segment] = n - 1
        } else {
            inFlight[segment] = nil
            condition.broadcast()
        }
        // A straggler's bytes belong to a segment already sealed: they do not count for the next.
        guard segment == current else { return nil }
        bytesInCurrent += bytes
        guard bytesInCurrent >= rollBytes else { return nil }
        let sealed = current
        current &+= 1
        bytesInCurrent = 0
        unflushed.insert(sealed)
        return sealed
    }

    /// Waits until no write that took `segment` is in flight.
    func waitForWrites(of segment: UInt32) {
        condition.lock()
        defer { condition.unlock() }
        while inFlight[segment] != nil { condition.wait() }
    }

    /// Segments begun so far (sealed ones plus the current one).
    var segmentCount: Int {
        condition.lock()
        defer { condition.unlock() }
        return Int(current) + 1
    }
}

/// What one retention pass did to a partition.
public struct RetentionOutcome: Sendable, Equatable {
    /// The prefix that went (the log start offset is now `decision.newLogStartOffset`, or higher
    /// if a DeleteRecords moved it further meanwhile).
    public var decision: RetentionDecision
    /// Set when the batches were deleted but giving their space back failed; the records are
    /// gone either way, and RocksDB's own compactions reclaim the space later.
    public var reclaimFailure: String?

    public init(decision: RetentionDecision, reclaimFailure: String? = nil) {
        self.decision = decision
        self.reclaimFailure = reclaimFailure
    }
}

/// Retention's I/O for one partition: read the batch headers, ask `RetentionPolicy`, delete the
/// prefix it names, give the disk space back. The decisions are all in the policy.
///
/// On-disk effect, in the partition's column family `log/<topic id>/<partition>` (8-byte
/// big-endian base offset → stored batch, see `PartitionLog`): one range tombstone over
/// [0, new start) and the new log start offset in the `catalog` column family, in one WriteBatch
/// (`deleteRecords`); then the SST files wholly below the new start are deleted and the range
/// is compacted, so the bytes leave the disk rather than waiting for RocksDB to compact them
/// some day. Only the first step is atomic and durable; a crash after it leaves the space to
/// RocksDB's own compactions, which drop tombstoned data as they meet it.
extension PartitionLog {
    /// Applies `policy` at `nowMs`: the one call the retention service makes per partition.
    /// Blocking (RocksDB reads, a write, a compaction): run it off any event loop. Holds the
    /// partition lock only inside `deleteRecords`, for one small write; reading and reclaiming
    /// run beside appends and fetches.
    ///
    /// - Returns: what went, or nil when nothing did.
    /// - Throws: storage errors from reading or deleting (`columnFamilyDropped` when the topic
    ///   was deleted meanwhile); nothing was deleted then. Reclaim failures are reported in the
    ///   outcome instead.
    public func enforceRetention(_ policy: RetentionPolicy, nowMs: Int64) throws -> RetentionOutcome? {
        guard policy.isActive else { return nil }
        let current = offsets
        let batches = try batchSummaries(from: current.logStartOffset) {
            policy.canStopScan(after: $0, nowMs: nowMs)
        }
        guard let decision = policy.decide(batches: batches, offsets: current, nowMs: nowMs) else { return nil }
        // Appends since `current` only add batches above the decision, and the high watermark
        // only rises, so the decision still holds; a concurrent DeleteRecords past it makes
        // this a no-op that returns the higher start.
        try deleteRecords(before: decision.newLogStartOffset)
        do {
            try reclaim(below: decision.newLogStartOffset)
            return RetentionOutcome(decision: decision)
        } catch {
            return RetentionOutcome(decision: decision, reclaimFailure: "\(error)")
        }
    }

    /// The partition's batches in offset order, starting with the one holding `start` (it may
    /// begin below `start` after a DeleteRecords inside it), read from their headers: a
    /// RocksDB iterator (its own snapshot, no partition lock) that does not fill the block
    /// cache, so that a pass over cold data does not evict what consumers are reading.
    ///
    /// Cost: every batch value passes through the iterator (RocksDB cannot read part of a
    /// value), so `stop` ends the walk as soon as the caller knows enough: a time-only policy
    /// reads the expired batches plus one, a size limit reads the whole partition.
    func batchSummaries(from start: Int64, stopAfter stop: (BatchSummary) -> Bool) throws -> [BatchSummary] {
        try db.withIterator(cf, fillCache: false) { it in
            try it.seekToBatch(containing: start)
            var summaries: [BatchSummary] = []
            while it.isValid {
                let batch = try StoredBatch(key: it.key, value: it.value)
                let summary = BatchSummary(baseOffset: batch.baseOffset, lastOffset: batch.lastOffset,
                                           maxTimestamp: batch.maxTimestamp, bytes: batch.size)
                summaries.append(summary)
                if stop(summary) { break }
                it.next()
            }
            try it.checkError()
            return summaries
        }
    }

    /// Gives back the disk space of the batches below `offset`, which `deleteRecords` already
    /// hid behind a range tombstone over [0, offset) (`offset` is a batch boundary: the base of
    /// the first kept batch, or the log end offset). Outside the partition lock: appends write
    /// only keys ≥ the log end offset, and everything here is below the log start.
    ///
    /// Three steps, each for a reason:
    /// 1. `deleteFilesInRange` over keys [0, offset − 1]: whole SST files go without being read.
    ///    The inclusive end is the last deleted key, so a file ending at the first kept batch
    ///    is never taken.
    /// 2. The range tombstone again: step 1 may delete a file holding the tombstone while a
    ///    straddling file still holds keys it covered; re-covering them keeps them dead (they
    ///    lie below the log start, so no read could meet them meanwhile).
    /// 3. `compactRange` over the same keys: level-0 and straddling files are rewritten
    ///    without the deleted batches.
    func reclaim(below offset: Int64) throws {
        guard offset > 0 else { return }
        let first = OffsetKey(0), last = OffsetKey(offset - 1)
        try db.deleteFilesInRange(cf, from: first, through: last)
        try db.deleteRange(cf, from: first, to: OffsetKey(offset), sync: false)
        try db.compactRange(cf, from: first, through: last)
    }

    /// Aborts a reclaim running on this partition's database and turns later ones into no-ops
    /// (every partition of the database shares them): for shutdown, so that a compaction of
    /// several seconds does not hold up stopping. Records are never affected, only when their
    /// space is given back.
    public func stopReclaiming() {
        db.stopManualCompactions()
    }
}

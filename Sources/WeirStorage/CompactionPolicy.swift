/// Why a partition is compacted now.
public enum CompactionTrigger: Sendable, Equatable {
    /// dirty bytes / (clean + dirty bytes) reached min.cleanable.dirty.ratio.
    case dirtyRatio(Double)
    /// The oldest dirty batch is older than max.compaction.lag.ms (compacted below the ratio).
    case maxCompactionLag
    /// Nothing new to clean, but kept tombstones have passed delete.retention.ms.
    case tombstonesDue
}

/// What one compaction of a partition covers.
public struct CompactionDecision: Sendable, Equatable {
    public var trigger: CompactionTrigger
    /// The first dirty offset: where the previous compaction stopped (or the log start).
    public var firstDirty: Int64
    /// Records below it may be compacted; it is a batch boundary (the first batch newer than
    /// min.compaction.lag.ms, or the high watermark). Never below `firstDirty`.
    public var cleanableEnd: Int64
    /// Stored bytes of the batches in [firstDirty, cleanableEnd).
    public var dirtyBytes: Int64
    /// Stored bytes of the clean part, as the checkpoint has them.
    public var cleanBytes: Int64

    public init(trigger: CompactionTrigger, firstDirty: Int64, cleanableEnd: Int64, dirtyBytes: Int64, cleanBytes: Int64) {
        self.trigger = trigger
        self.firstDirty = firstDirty
        self.cleanableEnd = cleanableEnd
        self.dirtyBytes = dirtyBytes
        self.cleanBytes = cleanBytes
    }
}

/// Kafka's log compaction (`cleanup.policy=compact`) as pure decisions: whether a partition is
/// compacted now, which part of it, and which records a compaction keeps. No I/O and no clock
/// of its own (`nowMs` is an argument); `PartitionLog.compact` reads, rewrites and records the
/// checkpoint.
///
/// Rules, with Kafka's meaning:
/// - The log splits at the checkpoint's `cleanedUpTo` into a clean part (already compacted) and
///   a dirty part. The dirty part is cleanable up to the first batch whose maxTimestamp is newer
///   than now − min.compaction.lag.ms (Kafka's "first uncleanable offset"; Weir has no active
///   segment, so with a lag of 0 everything up to the high watermark is cleanable).
/// - A partition is compacted when dirty / (clean + dirty) ≥ min.cleanable.dirty.ratio (Kafka
///   compares with >; the two differ only at equality) with some dirty bytes; or when its first
///   dirty batch is older than max.compaction.lag.ms, whatever the ratio; or when tombstones
///   it keeps have passed delete.retention.ms (so that they go without waiting for new data).
/// - A compaction keeps, of the records below the cleanable end, the latest record of each key.
///   A tombstone (null value) is kept until delete.retention.ms after the compaction that first
///   passed it (`CleanerCheckpoint`), then removed. A record without a key is removed (Kafka's
///   cleaner drops them too; Produce refuses them on compacted topics).
public struct CompactionPolicy: Sendable, Equatable {
    /// Whether `cleanup.policy` includes `compact`.
    public var compacts: Bool
    public var minCleanableDirtyRatio: Double
    public var minCompactionLagMs: Int64
    public var maxCompactionLagMs: Int64
    public var deleteRetentionMs: Int64

    /// Kafka's defaults: ratio 0.5, min lag 0, max lag unlimited, tombstones kept one day.
    public init(compacts: Bool, minCleanableDirtyRatio: Double = 0.5, minCompactionLagMs: Int64 = 0,
                maxCompactionLagMs: Int64 = Int64.max, deleteRetentionMs: Int64 = 86_400_000) {
        self.compacts = compacts
        self.minCleanableDirtyRatio = minCleanableDirtyRatio
        self.minCompactionLagMs = minCompactionLagMs
        self.maxCompactionLagMs = maxCompactionLagMs
        self.deleteRetentionMs = deleteRetentionMs
    }

    /// From a topic's explicit configs (`min.cleanable.dirty.ratio`, `min.compaction.lag.ms`,
    /// `max.compaction.lag.ms`, `delete.retention.ms`), Kafka's defaults for the rest.
    /// `compacts`: the effective `cleanup.policy` includes `compact`.
    public init(compacts: Bool, topicConfigs configs: [String: String]) {
        self.init(compacts: compacts,
                  minCleanableDirtyRatio: configs["min.cleanable.dirty.ratio"].flatMap(Double.init) ?? 0.5,
                  minCompactionLagMs: configs["min.compaction.lag.ms"].flatMap { Int64($0) } ?? 0,
                  maxCompactionLagMs: configs["max.compaction.lag.ms"].flatMap { Int64($0) } ?? Int64.max,
                  deleteRetentionMs: configs["delete.retention.ms"].flatMap { Int64($0) } ?? 86_400_000)
    }

    /// The first dirty offset, given the log start.
    public func firstDirty(_ checkpoint: CleanerCheckpoint, logStartOffset: Int64) -> Int64 {
        max(checkpoint.cleanedUpTo, logStartOffset)
    }

    /// Whether a walk over the dirty batches in offset order may stop after `batch`: it is the
    /// first one too new to clean, which ends the cleanable part.
    public func canStopScan(after batch: BatchSummary, nowMs: Int64) -> Bool {
        tooNew(batch, nowMs: nowMs)
    }

    /// Whether to compact now, and what.
    ///
    /// - Parameters:
    ///   - dirty: the batches from the one holding `firstDirty` on, in offset order (a walk cut
    ///     short by `canStopScan` is fine).
    ///   - checkpoint: the partition's cleaner checkpoint (a fresh one if never compacted).
    ///   - offsets: the partition's offsets as they were when `dirty` was read.
    public func decide(dirty: [BatchSummary], checkpoint: CleanerCheckpoint, offsets: LogOffsets,
                       nowMs: Int64) -> CompactionDecision? {
        guard compacts else { return nil }
        let first = firstDirty(checkpoint, logStartOffset: offsets.logStartOffset)
        var end = first
        var dirtyBytes: Int64 = 0
        var oldest: Int64?
        for batch in dirty where batch.lastOffset >= first {
            // Never past the last stable offset: an open transaction may still abort.
            guard batch.lastOffset < offsets.lastStableOffset, !tooNew(batch, nowMs: nowMs) else { break }
            end = batch.lastOffset + 1
            dirtyBytes += Int64(batch.bytes)
            oldest = oldest ?? batch.maxTimestamp
        }
        let cleanBytes = checkpoint.cleanedUpTo > offsets.logStartOffset ? max(checkpoint.cleanBytes, 0) : 0
        let trigger: CompactionTrigger
        let ratio = dirtyBytes > 0 ? Double(dirtyBytes) / Double(dirtyBytes + cleanBytes) : 0
        if dirtyBytes > 0, ratio >= minCleanableDirtyRatio {
            trigger = .dirtyRatio(ratio)
        } else if dirtyBytes > 0, let oldest, older(oldest, than: maxCompactionLagMs, nowMs: nowMs) {
            trigger = .maxCompactionLag
        } else if checkpoint.tombstonesDue(nowMs: nowMs, deleteRetentionMs: deleteRetentionMs) {
            trigger = .tombstonesDue
            end = first
            dirtyBytes = 0
        } else {
            return nil
        }
        return CompactionDecision(trigger: trigger, firstDirty: first, cleanableEnd: end,
                                  dirtyBytes: dirtyBytes, cleanBytes: cleanBytes)
    }

    /// Whether a compaction keeps one record below the cleanable end.
    ///
    /// - Parameters:
    ///   - offset: the record's offset.
    ///   - hasKey: false for a null key.
    ///   - isTombstone: a null value.
    ///   - latestOffsetForKey: the offset of the key's latest record in the dirty part, nil when
    ///     the dirty part does not have the key (a clean record is then the latest).
    ///   - firstCleanedAtMs: when a compaction first passed the record (`CleanerCheckpoint.
    ///     firstCleanedAtMs`), nil when none has.
    public func keeps(offset: Int64, hasKey: Bool, isTombstone: Bool, latestOffsetForKey: Int64?,
                      firstCleanedAtMs: Int64?, nowMs: Int64) -> Bool {
        guard hasKey else { return false }
        if let latest = latestOffsetForKey, latest > offset { return false }
        if isTombstone, let cleanedAt = firstCleanedAtMs,
           CleanerCheckpoint.due(cleanedAt, nowMs, deleteRetentionMs) {
            return false
        }
        return true
    }

    /// maxTimestamp > now − min.compaction.lag.ms: not to be compacted yet.
    private func tooNew(_ batch: BatchSummary, nowMs: Int64) -> Bool {
        guard minCompactionLagMs > 0 else { return false }
        return !older(batch.maxTimestamp, than: minCompactionLagMs - 1, nowMs: nowMs)
    }

    /// now − timestamp > lag, without overflow.
    private func older(_ timestamp: Int64, than lagMs: Int64, nowMs: Int64) -> Bool {
        let (age, overflow) = nowMs.subtractingReportingOverflow(timestamp)
        return !overflow && age > lagMs
    }
}

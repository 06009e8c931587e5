/// What retention needs to know about one stored batch: read from its 61-byte header and the
/// length of its stored value, never from its records.
public struct BatchSummary: Sendable, Equatable {
    public var baseOffset: Int64
    public var lastOffset: Int64
    /// The batch's maxTimestamp (CreateTime or LogAppendTime), ms since the epoch.
    public var maxTimestamp: Int64
    /// Stored bytes: the whole batch as Kafka counts it (header + records), before RocksDB's
    /// own block compression.
    public var bytes: Int

    public init(baseOffset: Int64, lastOffset: Int64, maxTimestamp: Int64, bytes: Int) {
        self.baseOffset = baseOffset
        self.lastOffset = lastOffset
        self.maxTimestamp = maxTimestamp
        self.bytes = bytes
    }
}

/// What one retention pass does to a partition: move its log start offset, dropping the
/// batches below it.
public struct RetentionDecision: Sendable, Equatable {
    /// The new log start offset: the base offset of the first kept batch, or the log end offset
    /// when every batch goes.
    public var newLogStartOffset: Int64
    /// Batches that go.
    public var batches: Int
    /// Their stored bytes.
    public var bytes: Int64

    public init(newLogStartOffset: Int64, batches: Int, bytes: Int64) {
        self.newLogStartOffset = newLogStartOffset
        self.batches = batches
        self.bytes = bytes
    }
}

/// Kafka's delete retention (`retention.ms`, `retention.bytes`, `cleanup.policy`) as a pure
/// decision: given a partition's batches and offsets and the time, which prefix goes. No I/O
/// and no clock of its own — `now` is an argument — so tests pass any time they like;
/// `PartitionLog.enforceRetention` does the reading and deleting.
///
/// Rules, with Kafka's meaning:
/// - Only a prefix of the log is deleted, in whole batches (Weir has no segments, so this is
///   finer than Kafka, which deletes whole segments and never part of one).
/// - Time: a batch expires when its maxTimestamp < now − retention.ms (Kafka's
///   `now - largestTimestamp > retention.ms`); deletion stops at the first batch that does not
///   expire, so a batch with a future timestamp holds back the later ones, as a segment does in
///   Kafka. A batch whose maxTimestamp is -1 (no timestamp) counts as expired: Kafka falls back
///   to the segment file's mtime, which Weir does not have per batch.
/// - Size: the oldest batches go until the partition's stored bytes are ≤ retention.bytes (the
///   documented "maximum size a partition can grow to"; Kafka's segment rule keeps the log at or
///   just above the limit instead — with batches the two differ by less than one batch).
/// - Both limits set: whichever deletes more.
/// - Never past the high watermark: a batch not wholly below it stays.
/// - An emptied partition keeps its offsets: the new start is then the log end offset, which
///   never moves back.
public struct RetentionPolicy: Sendable, Equatable {
    /// ms; -1 = unlimited.
    public var retentionMs: Int64
    /// bytes; -1 = unlimited.
    public var retentionBytes: Int64
    /// Whether `cleanup.policy` includes `delete` (a compact-only topic is never trimmed).
    public var deletes: Bool

    public init(retentionMs: Int64, retentionBytes: Int64, deletes: Bool) {
        self.retentionMs = retentionMs
        self.retentionBytes = retentionBytes
        self.deletes = deletes
    }

    /// From the topic's `cleanup.policy` value ("delete", "compact", "compact,delete", …).
    public init(retentionMs: Int64, retentionBytes: Int64, cleanupPolicy: String) {
        let parts = cleanupPolicy.split(separator: ",").map { $0.filter { $0 != " " } }
        self.init(retentionMs: retentionMs, retentionBytes: retentionBytes, deletes: parts.contains("delete"))
    }

    /// False when no rule can ever delete anything (then nothing need be read).
    public var isActive: Bool {
        deletes && (retentionMs >= 0 || retentionBytes >= 0)
    }

    /// Whether a walk over the batches in offset order may stop after `batch`: with no size
    /// limit, the first batch that time keeps ends the deletable prefix, so a pass over a
    /// time-only partition reads its expired batches plus one, not the whole log.
    public func canStopScan(after batch: BatchSummary, nowMs: Int64) -> Bool {
        guard retentionBytes < 0 else { return false }
        return !expired(batch, nowMs: nowMs)
    }

    /// The prefix to delete, or nil when nothing goes.
    ///
    /// - Parameters:
    ///   - batches: the partition's batches in offset order, from the one holding the log start
    ///     offset (batches wholly below it are ignored). A walk cut short by `canStopScan`
    ///     is fine.
    ///   - offsets: the partition's offsets as they were when `batches` were read.
    ///   - nowMs: the wall clock, ms since the epoch.
    public func decide(batches: [BatchSummary], offsets: LogOffsets, nowMs: Int64) -> RetentionDecision? {
        guard isActive else { return nil }
        let live = batches.drop(while: { $0.lastOffset < offsets.logStartOffset })
        // Batches that may go at all: those wholly below the high watermark.
        let deletable = live.prefix { $0.lastOffset < offsets.highWatermark }.count

        var byTime = 0
        if retentionMs >= 0 {
            byTime = live.prefix { expired($0, nowMs: nowMs) }.count
        }
        var bySize = 0
        if retentionBytes >= 0 {
            var remaining = live.reduce(Int64(0)) { $0 + Int64($1.bytes) }
            for batch in live where remaining > retentionBytes {
                remaining -= Int64(batch.bytes)
                bySize += 1
            }
        }
        let count = min(max(byTime, bySize), deletable)
        let gone = live.prefix(count)
        guard let lastGone = gone.last else { return nil }
        let newStart = lastGone.lastOffset + 1
        guard newStart > offsets.logStartOffset else { return nil }
        return RetentionDecision(newLogStartOffset: newStart, batches: count,
                                 bytes: gone.reduce(Int64(0)) { $0 + Int64($1.bytes) })
    }

    /// maxTimestamp < now − retention.ms; never when unlimited, or when the subtraction would
    /// overflow (a retention.ms so large that nothing can be that old).
    private func expired(_ batch: BatchSummary, nowMs: Int64) -> Bool {
        guard retentionMs >= 0 else { return false }
        let (cutoff, overflow) = nowMs.subtractingReportingOverflow(retentionMs)
        return !overflow && batch.maxTimestamp < cutoff
    }
}

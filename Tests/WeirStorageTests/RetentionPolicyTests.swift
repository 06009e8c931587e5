import Testing
@testable import WeirStorage

/// The retention decision alone: batches, offsets and a time in, a new log start offset out.
/// No database and no clock: `now` is whatever the test says.
@Suite struct RetentionPolicyTests {
    /// Four batches of 10 records: offsets 0–9, 10–19, 20–29, 30–39; bytes 100, 200, 300, 400.
    static func log(timestamps: [Int64] = [1_000, 2_000, 5_000, 1_500]) -> [BatchSummary] {
        timestamps.enumerated().map { i, ts in
            BatchSummary(baseOffset: Int64(i) * 10, lastOffset: Int64(i) * 10 + 9, maxTimestamp: ts, bytes: (i + 1) * 100)
        }
    }

    static let full = LogOffsets(logStartOffset: 0, logEndOffset: 40, highWatermark: 40)

    static func policy(ms: Int64 = -1, bytes: Int64 = -1, cleanup: String = "delete") -> RetentionPolicy {
        RetentionPolicy(retentionMs: ms, retentionBytes: bytes, cleanupPolicy: cleanup)
    }

    @Test func timeDeletesTheExpiredPrefixAndStopsAtTheFirstKeptBatch() {
        // cutoff = 10,000 − 7,000 = 3,000: batches 0 and 1 expire; batch 2 (5,000) stays and so
        // does batch 3 behind it although its timestamp (1,500) is older.
        let decision = Self.policy(ms: 7_000).decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000)
        #expect(decision == RetentionDecision(newLogStartOffset: 20, batches: 2, bytes: 300))
    }

    @Test func aBatchExactlyAtTheCutoffStays() {
        // cutoff = 2,000: batch 0 (1,000) expires, batch 1 (2,000) is not older than it.
        let decision = Self.policy(ms: 8_000).decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000)
        #expect(decision == RetentionDecision(newLogStartOffset: 10, batches: 1, bytes: 100))
    }

    @Test func nothingExpiredIsNil() {
        #expect(Self.policy(ms: 9_001).decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000) == nil)
    }

    @Test func sizeDeletesOldestUntilAtMostTheLimit() {
        // 1,000 bytes stored. Limit 600: −100 → 900, −200 → 700, −300 → 400 ≤ 600.
        #expect(Self.policy(bytes: 600).decide(batches: Self.log(), offsets: Self.full, nowMs: 0)
                == RetentionDecision(newLogStartOffset: 30, batches: 3, bytes: 600))
        // Limit 700: −100 → 900, −200 → 700 ≤ 700.
        #expect(Self.policy(bytes: 700).decide(batches: Self.log(), offsets: Self.full, nowMs: 0)
                == RetentionDecision(newLogStartOffset: 20, batches: 2, bytes: 300))
        // At the limit already: nothing.
        #expect(Self.policy(bytes: 1_000).decide(batches: Self.log(), offsets: Self.full, nowMs: 0) == nil)
    }

    @Test func bothLimitsDeleteWhicheverIsMore() {
        // Time alone: 1 batch (cutoff 2,000); size alone (700): 2 batches.
        #expect(Self.policy(ms: 8_000, bytes: 700).decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000)
                == RetentionDecision(newLogStartOffset: 20, batches: 2, bytes: 300))
        // Time alone: 2 batches (cutoff 3,000); size alone (900): 1 batch.
        #expect(Self.policy(ms: 7_000, bytes: 900).decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000)
                == RetentionDecision(newLogStartOffset: 20, batches: 2, bytes: 300))
    }

    @Test func unlimitedDeletesNothing() {
        let policy = Self.policy(ms: -1, bytes: -1)
        #expect(!policy.isActive)
        #expect(policy.decide(batches: Self.log(), offsets: Self.full, nowMs: Int64.max) == nil)
    }

    @Test func compactOnlyPolicyDeletesNothing() {
        let policy = Self.policy(ms: 0, bytes: 0, cleanup: "compact")
        #expect(!policy.isActive)
        #expect(policy.decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000) == nil)
        // "compact,delete" does delete.
        #expect(Self.policy(ms: 0, cleanup: "compact, delete").decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000)
                == RetentionDecision(newLogStartOffset: 40, batches: 4, bytes: 1_000))
    }

    @Test func anEmptiedPartitionStartsAtItsLogEndOffset() {
        // retention.ms = 0: everything older than now goes; the start becomes the end (40).
        #expect(Self.policy(ms: 0).decide(batches: Self.log(), offsets: Self.full, nowMs: 10_000)
                == RetentionDecision(newLogStartOffset: 40, batches: 4, bytes: 1_000))
        // retention.bytes = 0 likewise.
        #expect(Self.policy(bytes: 0).decide(batches: Self.log(), offsets: Self.full, nowMs: 0)
                == RetentionDecision(newLogStartOffset: 40, batches: 4, bytes: 1_000))
        // An already empty partition: nothing to do, offsets stay.
        let empty = LogOffsets(logStartOffset: 40, logEndOffset: 40, highWatermark: 40)
        #expect(Self.policy(ms: 0, bytes: 0).decide(batches: [], offsets: empty, nowMs: 10_000) == nil)
    }

    @Test func neverPastTheHighWatermark() {
        // High watermark inside batch 2: batches 0 and 1 may go, batch 2 may not.
        let offsets = LogOffsets(logStartOffset: 0, logEndOffset: 40, highWatermark: 25)
        #expect(Self.policy(ms: 0).decide(batches: Self.log(), offsets: offsets, nowMs: 10_000)
                == RetentionDecision(newLogStartOffset: 20, batches: 2, bytes: 300))
        let atBoundary = LogOffsets(logStartOffset: 0, logEndOffset: 40, highWatermark: 30)
        #expect(Self.policy(bytes: 0).decide(batches: Self.log(), offsets: atBoundary, nowMs: 0)
                == RetentionDecision(newLogStartOffset: 30, batches: 3, bytes: 600))
        let nothingCommitted = LogOffsets(logStartOffset: 0, logEndOffset: 40, highWatermark: 0)
        #expect(Self.policy(ms: 0).decide(batches: Self.log(), offsets: nothingCommitted, nowMs: 10_000) == nil)
    }

    @Test func aStartInsideABatchCountsThatBatchAndIgnoresOnesBelow() {
        // DeleteRecords left the start at 15, inside batch 1; batch 0 is still listed (ignored).
        let offsets = LogOffsets(logStartOffset: 15, logEndOffset: 40, highWatermark: 40)
        #expect(Self.policy(ms: 7_000).decide(batches: Self.log(), offsets: offsets, nowMs: 10_000)
                == RetentionDecision(newLogStartOffset: 20, batches: 1, bytes: 200))
        // Size counts batches 1–3 (900 bytes); limit 500 → −200 → 700, −300 → 400.
        #expect(Self.policy(bytes: 500).decide(batches: Self.log(), offsets: offsets, nowMs: 0)
                == RetentionDecision(newLogStartOffset: 30, batches: 2, bytes: 500))
        // Only batch 0 expired, and it is already below the start.
        #expect(Self.policy(ms: 8_000).decide(batches: Self.log(), offsets: offsets, nowMs: 10_000) == nil)
    }

    @Test func aHugeRetentionNeverOverflows() {
        #expect(Self.policy(ms: Int64.max).decide(batches: Self.log(timestamps: [Int64.min, 0, 0, 0]),
                                                 offsets: Self.full, nowMs: -10) == nil)
        #expect(Self.policy(ms: Int64.max).decide(batches: Self.log(), offsets: Self.full, nowMs: Int64.max) == nil)
    }

    @Test func aTimeOnlyWalkStopsAtTheFirstKeptBatch() {
        let batches = Self.log()
        let timeOnly = Self.policy(ms: 7_000)
        #expect(batches.map { timeOnly.canStopScan(after: $0, nowMs: 10_000) } == [false, false, true, false])
        // With a size limit the whole log must be read.
        let withSize = Self.policy(ms: 7_000, bytes: 1 << 30)
        #expect(batches.allSatisfy { !withSize.canStopScan(after: $0, nowMs: 10_000) })
        // Deciding from the cut-short walk gives the same answer as from the whole log.
        let walked = Array(batches.prefix(3))
        #expect(timeOnly.decide(batches: walked, offsets: Self.full, nowMs: 10_000)
                == timeOnly.decide(batches: batches, offsets: Self.full, nowMs: 10_000))
    }
}

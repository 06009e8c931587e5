import Testing
@testable import WeirStorage

/// The compaction decisions alone: batch headers, a checkpoint and a time in; whether to
/// compact, up to where, and which records stay out. No database and no clock.
@Suite struct CompactionPolicyTests {
    /// Four batches of 10 records: offsets 0–9, 10–19, 20–29, 30–39; 100 bytes each;
    /// maxTimestamps 1,000, 2,000, 3,000, 4,000 unless given.
    static func log(timestamps: [Int64] = [1_000, 2_000, 3_000, 4_000]) -> [BatchSummary] {
        timestamps.enumerated().map { i, ts in
            BatchSummary(baseOffset: Int64(i) * 10, lastOffset: Int64(i) * 10 + 9, maxTimestamp: ts, bytes: 100)
        }
    }

    static let full = LogOffsets(logStartOffset: 0, logEndOffset: 40, highWatermark: 40)
    static let day: Int64 = 86_400_000

    /// `dirty` as the I/O walks it: from the batch holding the first dirty offset.
    static func dirty(_ checkpoint: CleanerCheckpoint, _ batches: [BatchSummary] = log()) -> [BatchSummary] {
        batches.filter { $0.lastOffset >= checkpoint.cleanedUpTo }
    }

    @Test func configsAndDefaults() {
        let defaults = CompactionPolicy(compacts: true, topicConfigs: [:])
        #expect(defaults == CompactionPolicy(compacts: true, minCleanableDirtyRatio: 0.5, minCompactionLagMs: 0,
                                             maxCompactionLagMs: Int64.max, deleteRetentionMs: Self.day))
        let set = CompactionPolicy(compacts: true, topicConfigs: [
            "min.cleanable.dirty.ratio": "0.01", "min.compaction.lag.ms": "5", "max.compaction.lag.ms": "60000",
            "delete.retention.ms": "0", "retention.ms": "1",
        ])
        #expect(set == CompactionPolicy(compacts: true, minCleanableDirtyRatio: 0.01, minCompactionLagMs: 5,
                                        maxCompactionLagMs: 60_000, deleteRetentionMs: 0))
    }

    @Test func aNeverCompactedLogIsAllDirty() {
        let decision = CompactionPolicy(compacts: true).decide(dirty: Self.log(), checkpoint: CleanerCheckpoint(),
                                                               offsets: Self.full, nowMs: 10_000)
        #expect(decision == CompactionDecision(trigger: .dirtyRatio(1), firstDirty: 0, cleanableEnd: 40,
                                               dirtyBytes: 400, cleanBytes: 0))
    }

    @Test func notCompactingIsNil() {
        #expect(CompactionPolicy(compacts: false).decide(dirty: Self.log(), checkpoint: CleanerCheckpoint(),
                                                         offsets: Self.full, nowMs: 10_000) == nil)
    }

    @Test func theDirtyRatioDecides() {
        // Clean up to 20 (200 bytes stored, say), dirty 20–39: 200 / 400 = 0.5.
        let checkpoint = CleanerCheckpoint(cleanedUpTo: 20, cleanBytes: 200, lastCleanMs: 500)
        let at = { (ratio: Double) in
            CompactionPolicy(compacts: true, minCleanableDirtyRatio: ratio)
                .decide(dirty: Self.dirty(checkpoint), checkpoint: checkpoint, offsets: Self.full, nowMs: 10_000)
        }
        #expect(at(0.5) == CompactionDecision(trigger: .dirtyRatio(0.5), firstDirty: 20, cleanableEnd: 40,
                                              dirtyBytes: 200, cleanBytes: 200))
        #expect(at(0.51) == nil)
        // The clean part shrank to almost nothing (compaction removed most of it): 200 / 210.
        let small = CleanerCheckpoint(cleanedUpTo: 20, cleanBytes: 10, lastCleanMs: 500)
        #expect(CompactionPolicy(compacts: true, minCleanableDirtyRatio: 0.9)
            .decide(dirty: Self.dirty(small), checkpoint: small, offsets: Self.full, nowMs: 10_000)?.trigger
            == .dirtyRatio(200.0 / 210.0))
    }

    @Test func nothingDirtyIsNilWhateverTheRatio() {
        let checkpoint = CleanerCheckpoint(cleanedUpTo: 40, cleanBytes: 400, lastCleanMs: 500)
        #expect(CompactionPolicy(compacts: true, minCleanableDirtyRatio: 0)
            .decide(dirty: [], checkpoint: checkpoint, offsets: Self.full, nowMs: 10_000) == nil)
    }

    @Test func minCompactionLagKeepsTheHeadOut() {
        // now 10,000, lag 7,500: batches with maxTimestamp ≤ 2,500 are cleanable; batch 2
        // (3,000) is the first too new and ends the cleanable part at 20, even though batch 3
        // after it is no newer than needed by the order.
        let policy = CompactionPolicy(compacts: true, minCompactionLagMs: 7_500)
        let decision = policy.decide(dirty: Self.log(), checkpoint: CleanerCheckpoint(), offsets: Self.full, nowMs: 10_000)
        #expect(decision == CompactionDecision(trigger: .dirtyRatio(1), firstDirty: 0, cleanableEnd: 20,
                                               dirtyBytes: 200, cleanBytes: 0))
        // A walk may stop at that batch.
        #expect(!policy.canStopScan(after: Self.log()[1], nowMs: 10_000))
        #expect(policy.canStopScan(after: Self.log()[2], nowMs: 10_000))
        // Exactly at the lag is old enough (Kafka: largestTimestamp ≤ now − lag).
        #expect(policy.decide(dirty: Self.log(), checkpoint: CleanerCheckpoint(), offsets: Self.full,
                              nowMs: 10_500)?.cleanableEnd == 30)
        // Everything too new: nothing to do.
        #expect(policy.decide(dirty: Self.log(), checkpoint: CleanerCheckpoint(), offsets: Self.full, nowMs: 8_000) == nil)
        // Lag 0: never too new, even a batch from the future.
        #expect(!CompactionPolicy(compacts: true).canStopScan(after: Self.log(timestamps: [Int64.max])[0], nowMs: 0))
    }

    @Test func neverPastTheHighWatermark() {
        let offsets = LogOffsets(logStartOffset: 0, logEndOffset: 40, highWatermark: 25)
        #expect(CompactionPolicy(compacts: true).decide(dirty: Self.log(), checkpoint: CleanerCheckpoint(),
                                                        offsets: offsets, nowMs: 10_000)?.cleanableEnd == 20)
    }

    @Test func maxCompactionLagCompactsBelowTheRatio() {
        // 100 dirty of 1,000: ratio 0.1 < 0.5. The first dirty batch (30–39) has maxTimestamp 4,000.
        let checkpoint = CleanerCheckpoint(cleanedUpTo: 30, cleanBytes: 900, lastCleanMs: 500)
        let policy = CompactionPolicy(compacts: true, maxCompactionLagMs: 5_000)
        #expect(policy.decide(dirty: Self.dirty(checkpoint), checkpoint: checkpoint, offsets: Self.full, nowMs: 9_000) == nil)
        #expect(policy.decide(dirty: Self.dirty(checkpoint), checkpoint: checkpoint, offsets: Self.full, nowMs: 9_001)
            == CompactionDecision(trigger: .maxCompactionLag, firstDirty: 30, cleanableEnd: 40, dirtyBytes: 100, cleanBytes: 900))
    }

    @Test func tombstonesPastTheirHorizonTriggerAPassWithNothingDirty() {
        let checkpoint = CleanerCheckpoint(cleanedUpTo: 40, cleanBytes: 400, lastCleanMs: 5_000, tombstoneRanges: [
            .init(end: 40, cleanedAtMs: 5_000, tombstones: 2),
        ])
        let policy = CompactionPolicy(compacts: true, deleteRetentionMs: 1_000)
        #expect(policy.decide(dirty: [], checkpoint: checkpoint, offsets: Self.full, nowMs: 5_999) == nil)
        #expect(policy.decide(dirty: [], checkpoint: checkpoint, offsets: Self.full, nowMs: 6_000)
            == CompactionDecision(trigger: .tombstonesDue, firstDirty: 40, cleanableEnd: 40, dirtyBytes: 0, cleanBytes: 400))
    }

    @Test func theLogStartPastTheCleanPartMakesItAllDirty() {
        let checkpoint = CleanerCheckpoint(cleanedUpTo: 20, cleanBytes: 200, lastCleanMs: 500, tombstoneRanges: [
            .init(end: 10, cleanedAtMs: 100, tombstones: 1), .init(end: 20, cleanedAtMs: 500, tombstones: 1),
        ])
        #expect(checkpoint.relevant(from: 10).tombstoneRanges == [.init(end: 20, cleanedAtMs: 500, tombstones: 1)])
        #expect(checkpoint.relevant(from: 20) == CleanerCheckpoint(lastCleanMs: 500))
        let offsets = LogOffsets(logStartOffset: 25, logEndOffset: 40, highWatermark: 40)
        let decision = CompactionPolicy(compacts: true).decide(
            dirty: Array(Self.log()[2...]), checkpoint: checkpoint.relevant(from: 25), offsets: offsets, nowMs: 10_000)
        #expect(decision == CompactionDecision(trigger: .dirtyRatio(1), firstDirty: 25, cleanableEnd: 40,
                                               dirtyBytes: 200, cleanBytes: 0))
    }

    // MARK: Records

    @Test func theLatestRecordOfEachKeyStays() {
        let policy = CompactionPolicy(compacts: true)
        func keeps(_ offset: Int64, latest: Int64?, tombstone: Bool = false, hasKey: Bool = true,
                   cleanedAt: Int64? = nil) -> Bool {
            policy.keeps(offset: offset, hasKey: hasKey, isTombstone: tombstone, latestOffsetForKey: latest,
                         firstCleanedAtMs: cleanedAt, nowMs: 10_000)
        }
        #expect(!keeps(5, latest: 7))            // superseded
        #expect(keeps(7, latest: 7))             // the latest
        #expect(keeps(3, latest: nil, cleanedAt: 1)) // clean, key not in the dirty part
        #expect(!keeps(3, latest: nil, hasKey: false)) // no key: Kafka's cleaner drops it too
        #expect(keeps(7, latest: 7, tombstone: true)) // a tombstone not yet passed by a compaction
        #expect(!keeps(2, latest: 7, tombstone: true)) // a superseded tombstone
    }

    @Test func aTombstoneGoesDeleteRetentionAfterTheCompactionThatFirstPassedIt() {
        let policy = CompactionPolicy(compacts: true, deleteRetentionMs: 1_000)
        func keeps(cleanedAt: Int64?, now: Int64) -> Bool {
            policy.keeps(offset: 3, hasKey: true, isTombstone: true, latestOffsetForKey: nil,
                         firstCleanedAtMs: cleanedAt, nowMs: now)
        }
        #expect(keeps(cleanedAt: nil, now: Int64.max))
        #expect(keeps(cleanedAt: 5_000, now: 5_999))
        #expect(!keeps(cleanedAt: 5_000, now: 6_000))
        // delete.retention.ms=0: the next compaction after the first removes it.
        let zero = CompactionPolicy(compacts: true, deleteRetentionMs: 0)
        #expect(!zero.keeps(offset: 3, hasKey: true, isTombstone: true, latestOffsetForKey: nil,
                            firstCleanedAtMs: 5_000, nowMs: 5_000))
        // A value (not a tombstone) never expires.
        #expect(policy.keeps(offset: 3, hasKey: true, isTombstone: false, latestOffsetForKey: nil,
                             firstCleanedAtMs: 0, nowMs: Int64.max))
        // No overflow with an unlimited delete.retention.ms.
        #expect(CompactionPolicy(compacts: true, deleteRetentionMs: Int64.max)
            .keeps(offset: 3, hasKey: true, isTombstone: true, latestOffsetForKey: nil, firstCleanedAtMs: 5, nowMs: Int64.max))
    }

    // MARK: Checkpoint

    @Test func theCheckpointRemembersWhenEachTombstoneWasFirstCleaned() {
        // Pass 1 at 1,000 cleans 0–19 and keeps tombstones at 4 and 12.
        let one = CleanerCheckpoint().advanced(to: 20, cleanBytes: 150, nowMs: 1_000, keptTombstones: [4, 12])
        #expect(one == CleanerCheckpoint(cleanedUpTo: 20, cleanBytes: 150, lastCleanMs: 1_000,
                                         tombstoneRanges: [.init(end: 20, cleanedAtMs: 1_000, tombstones: 2)]))
        #expect(one.firstCleanedAtMs(4) == 1_000)
        #expect(one.firstCleanedAtMs(20) == nil)
        // Pass 2 at 2,000 cleans 20–39; 12 is still kept, 4 went, 30 is new.
        let two = one.advanced(to: 40, cleanBytes: 300, nowMs: 2_000, keptTombstones: [30, 12])
        #expect(two.tombstoneRanges == [.init(end: 20, cleanedAtMs: 1_000, tombstones: 1),
                                        .init(end: 40, cleanedAtMs: 2_000, tombstones: 1)])
        #expect(two.firstCleanedAtMs(12) == 1_000)
        #expect(two.firstCleanedAtMs(30) == 2_000)
        #expect(two.tombstonesDue(nowMs: 2_000, deleteRetentionMs: 1_000))
        #expect(!two.tombstonesDue(nowMs: 1_999, deleteRetentionMs: 1_000))
        // Pass 3 at 3,000, nothing new: 12 went; the range of 30 covers from 0 now.
        let three = two.advanced(to: 40, cleanBytes: 280, nowMs: 3_000, keptTombstones: [30])
        #expect(three == CleanerCheckpoint(cleanedUpTo: 40, cleanBytes: 280, lastCleanMs: 3_000,
                                           tombstoneRanges: [.init(end: 40, cleanedAtMs: 2_000, tombstones: 1)]))
        // No tombstone kept: no range; offsets past the last range answer the last pass's time.
        let four = three.advanced(to: 50, cleanBytes: 290, nowMs: 4_000, keptTombstones: [])
        #expect(four.tombstoneRanges.isEmpty)
        #expect(four.firstCleanedAtMs(45) == 4_000)
    }

    @Test func tooManyRangesMergeKeepingTheLaterTime() {
        var checkpoint = CleanerCheckpoint()
        for pass in 1...(CleanerCheckpoint.maxRanges + 3) {
            let end = Int64(pass) * 10
            let kept = (0..<pass).map { Int64($0) * 10 }   // one tombstone per range, all still kept
            checkpoint = checkpoint.advanced(to: end, cleanBytes: 0, nowMs: Int64(pass) * 100, keptTombstones: kept)
        }
        #expect(checkpoint.tombstoneRanges.count == CleanerCheckpoint.maxRanges)
        #expect(checkpoint.tombstoneRanges.reduce(0) { $0 + $1.tombstones } == Int32(CleanerCheckpoint.maxRanges + 3))
        // The first range now holds offsets 0–39, first cleaned at 100…400: it says 400.
        #expect(checkpoint.tombstoneRanges[0] == .init(end: 40, cleanedAtMs: 400, tombstones: 4))
        #expect(checkpoint.firstCleanedAtMs(0) == 400)
    }

    @Test func theCheckpointEncodingRoundTripsAndRejectsDamage() throws {
        let checkpoint = CleanerCheckpoint(cleanedUpTo: 1 << 40, cleanBytes: 123_456, lastCleanMs: 1_700_000_000_000,
                                           tombstoneRanges: [.init(end: 7, cleanedAtMs: 1, tombstones: 3),
                                                             .init(end: 1 << 40, cleanedAtMs: 2, tombstones: 1)])
        let bytes = checkpoint.encoded()
        #expect(bytes.count == 29 + 40)
        #expect(bytes[0] == 1)
        #expect(Array(bytes[1..<9]) == [0, 0, 1, 0, 0, 0, 0, 0])
        #expect(try bytes.withUnsafeBytes { try CleanerCheckpoint(decoding: $0) } == checkpoint)
        for damaged in [Array(bytes.dropLast()), [2] + bytes.dropFirst(), []] {
            #expect(throws: StorageError.self) { try damaged.withUnsafeBytes { try CleanerCheckpoint(decoding: $0) } }
        }
    }
}

import KafkaProtocol

/// How far key-based compaction has cleaned one partition, and when it first passed the
/// tombstones it still keeps: what `CompactionPolicy` needs from the previous passes.
///
/// On-disk layout — column family `catalog`, one key per partition:
///
///     key    "lso/" + topic id (base64url) + "/" + partition (decimal) + "/cleaner"
///     value  version     1 byte    (1)
///            cleanedUpTo 8 bytes   big-endian Int64: offsets below it have been through a compaction
///            cleanBytes  8 bytes   big-endian Int64: stored bytes of [log start, cleanedUpTo) after it
///            lastCleanMs 8 bytes   big-endian Int64: wall clock of the last pass that wrote it
///            count       4 bytes   big-endian Int32: tombstone ranges that follow
///            count × (end 8 bytes BE Int64, cleanedAtMs 8 bytes BE Int64, tombstones 4 bytes BE Int32)
///
/// The key lies under the partition's log start offset key (`TopicCatalog`'s "lso/<id>/<p>"),
/// on purpose: deleting a topic removes the "lso/<id>/" prefix with one range tombstone, which
/// takes the checkpoint along, and the startup sweep of stale topic ids sees it as the topic's.
/// Absent = never compacted (cleanedUpTo 0).
///
/// Tombstone ranges: range k covers the offsets [end of range k−1, end of range k) and says that
/// the tombstones compaction keeps there were first passed by a compaction at `cleanedAtMs`
/// (Kafka's delete horizon, KIP-534, which Kafka writes into each batch header instead). Only
/// ranges that still hold tombstones are kept; dropping one widens the next range downwards,
/// which is harmless because the dropped offsets hold no tombstone. At most `maxRanges` are
/// kept: beyond that the oldest two merge, keeping the later time (tombstones then live
/// longer, never shorter, than delete.retention.ms).
public struct CleanerCheckpoint: Sendable, Equatable {
    public struct TombstoneRange: Sendable, Equatable {
        public var end: Int64
        public var cleanedAtMs: Int64
        public var tombstones: Int32

        public init(end: Int64, cleanedAtMs: Int64, tombstones: Int32) {
            self.end = end
            self.cleanedAtMs = cleanedAtMs
            self.tombstones = tombstones
        }
    }

    public static let maxRanges = 64
    static let version: UInt8 = 1
    static let keySuffix = Array("/cleaner".utf8)

    /// Offsets below it have been through a compaction ("clean"); from it on they are "dirty".
    public var cleanedUpTo: Int64
    /// Stored bytes of the clean part when it was written. Retention and DeleteRecords shrink
    /// the clean part without rewriting this, so it may overstate it until the next compaction
    /// (the dirty ratio is then underestimated: compaction runs a little later, never earlier).
    public var cleanBytes: Int64
    /// When the last compaction ran (ms since the epoch).
    public var lastCleanMs: Int64
    /// Ranges of the clean part that hold kept tombstones, in offset order.
    public var tombstoneRanges: [TombstoneRange]

    public init(cleanedUpTo: Int64 = 0, cleanBytes: Int64 = 0, lastCleanMs: Int64 = 0,
                tombstoneRanges: [TombstoneRange] = []) {
        self.cleanedUpTo = cleanedUpTo
        self.cleanBytes = cleanBytes
        self.lastCleanMs = lastCleanMs
        self.tombstoneRanges = tombstoneRanges
    }

    /// When a compaction first passed `offset`: nil while it is dirty (no compaction passed it yet).
    /// Offsets past the last range (no tombstone was kept there) answer `lastCleanMs`, the latest
    /// possible time.
    public func firstCleanedAtMs(_ offset: Int64) -> Int64? {
        guard offset < cleanedUpTo else { return nil }
        return tombstoneRanges.first { $0.end > offset }?.cleanedAtMs ?? lastCleanMs
    }

    /// The checkpoint as it applies to a log starting at `logStartOffset`: ranges wholly below
    /// it are dropped, and when retention or DeleteRecords moved the start past `cleanedUpTo`
    /// nothing of the log is clean any more.
    public func relevant(from logStartOffset: Int64) -> CleanerCheckpoint {
        guard cleanedUpTo > logStartOffset else { return CleanerCheckpoint(lastCleanMs: lastCleanMs) }
        var copy = self
        copy.tombstoneRanges.removeAll { $0.end <= logStartOffset }
        return copy
    }

    /// Whether a kept tombstone has passed its horizon: first cleaned at t, due when
    /// now ≥ t + delete.retention.ms (Kafka removes it once `now >= deleteHorizonMs`).
    public func tombstonesDue(nowMs: Int64, deleteRetentionMs: Int64) -> Bool {
        tombstoneRanges.contains { $0.tombstones > 0 && Self.due($0.cleanedAtMs, nowMs, deleteRetentionMs) }
    }

    static func due(_ cleanedAtMs: Int64, _ nowMs: Int64, _ deleteRetentionMs: Int64) -> Bool {
        let (horizon, overflow) = cleanedAtMs.addingReportingOverflow(max(deleteRetentionMs, 0))
        return !overflow && nowMs >= horizon
    }

    /// The checkpoint after a compaction at `nowMs` that cleaned up to `newCleanedUpTo`, leaving
    /// `cleanBytes` in the clean part and keeping the tombstones at `keptTombstones` (offsets,
    /// any order). Each kept tombstone is counted in the range that first cleaned it; the newly
    /// cleaned ones in a new range stamped `nowMs`.
    public func advanced(to newCleanedUpTo: Int64, cleanBytes: Int64, nowMs: Int64,
                         keptTombstones: [Int64]) -> CleanerCheckpoint {
        var buckets = tombstoneRanges.map { TombstoneRange(end: $0.end, cleanedAtMs: $0.cleanedAtMs, tombstones: 0) }
        let lastEnd = buckets.last?.end ?? Int64.min
        if cleanedUpTo > lastEnd {
            buckets.append(TombstoneRange(end: cleanedUpTo, cleanedAtMs: lastCleanMs, tombstones: 0))
        }
        let newEnd = max(newCleanedUpTo, cleanedUpTo)
        if newEnd > cleanedUpTo {
            buckets.append(TombstoneRange(end: newEnd, cleanedAtMs: nowMs, tombstones: 0))
        }
        for offset in keptTombstones {
            guard let i = buckets.firstIndex(where: { $0.end > offset }) else { continue }
            buckets[i].tombstones &+= 1
        }
        var kept = buckets.filter { $0.tombstones > 0 }
        while kept.count > Self.maxRanges {
            let merged = TombstoneRange(end: kept[1].end, cleanedAtMs: max(kept[0].cleanedAtMs, kept[1].cleanedAtMs),
                                        tombstones: kept[0].tombstones &+ kept[1].tombstones)
            kept.replaceSubrange(0...1, with: [merged])
        }
        return CleanerCheckpoint(cleanedUpTo: newEnd, cleanBytes: cleanBytes, lastCleanMs: nowMs, tombstoneRanges: kept)
    }

    // MARK: Encoding

    static func key(topicId: KafkaUUID, partition: Int32) -> [UInt8] {
        TopicCatalog.logStartKey(topicId, partition) + keySuffix
    }

    func encoded() -> [UInt8] {
        var bytes: [UInt8] = [Self.version]
        bytes.reserveCapacity(29 + 20 * tombstoneRanges.count)
        bytes.appendBigEndian(cleanedUpTo)
        bytes.appendBigEndian(cleanBytes)
        bytes.appendBigEndian(lastCleanMs)
        bytes.appendBigEndian(Int32(tombstoneRanges.count))
        for range in tombstoneRanges {
            bytes.appendBigEndian(range.end)
            bytes.appendBigEndian(range.cleanedAtMs)
            bytes.appendBigEndian(range.tombstones)
        }
        return bytes
    }

    init(decoding raw: UnsafeRawBufferPointer) throws {
        guard raw.count >= 29, raw[0] == Self.version,
              let cleanedUpTo = raw.bigEndian(Int64.self, at: 1),
              let cleanBytes = raw.bigEndian(Int64.self, at: 9),
              let lastCleanMs = raw.bigEndian(Int64.self, at: 17),
              let count = raw.bigEndian(Int32.self, at: 25),
              count >= 0, raw.count == 29 + 20 * Int(count)
        else {
            throw StorageError.corrupt("cleaner checkpoint of \(raw.count) bytes (version \(raw.first ?? 0))")
        }
        var ranges: [TombstoneRange] = []
        for i in 0..<Int(count) {
            let at = 29 + 20 * i
            ranges.append(TombstoneRange(end: raw.bigEndian(Int64.self, at: at)!,
                                         cleanedAtMs: raw.bigEndian(Int64.self, at: at + 8)!,
                                         tombstones: raw.bigEndian(Int32.self, at: at + 16)!))
        }
        self.init(cleanedUpTo: cleanedUpTo, cleanBytes: cleanBytes, lastCleanMs: lastCleanMs, tombstoneRanges: ranges)
    }
}

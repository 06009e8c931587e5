import KafkaProtocol
import NIOCore

/// What one compaction did to a partition.
public struct CompactionOutcome: Sendable, Equatable {
    public var decision: CompactionDecision
    /// The checkpoint's new `cleanedUpTo`.
    public var cleanedUpTo: Int64
    /// Records removed (superseded, expired tombstones, keyless).
    public var recordsRemoved: Int = 0
    /// Batches stored again with fewer records (or as an empty batch).
    public var batchesRewritten: Int = 0
    /// Batches whose key was deleted, folded into the empty batch of their run.
    public var batchesDeleted: Int = 0
    /// Stored bytes of the batches changed, before and after.
    public var bytesBefore: Int64 = 0
    public var bytesAfter: Int64 = 0
    /// Batches left as they were because they changed during the pass (a DeleteRecords).
    public var batchesSkipped: Int = 0
    /// Set when the rewrite succeeded but giving the space back failed (RocksDB's own
    /// compactions reclaim it later).
    public var reclaimFailure: String?

    public init(decision: CompactionDecision, cleanedUpTo: Int64) {
        self.decision = decision
        self.cleanedUpTo = cleanedUpTo
    }

    public var bytesFreed: Int64 { bytesBefore - bytesAfter }
}

/// Key-based compaction's I/O for one partition: read the dirty batches' headers, ask
/// `CompactionPolicy`, build the key → latest offset map from the dirty part, then rewrite the
/// log below the cleanable end chunk by chunk. The decisions are all in the policy.
///
/// On-disk effect, in the partition's column family `log/<topic id>/<partition>` (8-byte
/// big-endian base offset → stored batch, see `PartitionLog`), batch by batch:
/// - every record kept: untouched;
/// - some kept: put again under the same key, re-encoded (`DecodedBatch.rewritten`: same base
///   offset, lastOffsetDelta, producer fields and codec; new records section and CRC);
/// - none kept, and it is its idempotent producer's last batch: put again as that producer's
///   empty batch (recordsCount 0, same header fields), as Kafka keeps it;
/// - none kept otherwise: part of a run of such batches, which becomes ONE empty batch (no
///   producer, recordsCount 0) under the run's first key spanning the run's offsets; the run's
///   other keys are deleted. Kafka deletes such batches and leaves a gap; Weir's log stays
///   contiguous batch by batch (Fetch, ListOffsets and `weir log verify` rely on it), at the
///   cost of one 61-byte header per run. Later runs absorb earlier empty batches next to them.
/// And the `CleanerCheckpoint` in the `catalog` column family.
///
/// Each chunk (≈ 4 MiB of rewritten bytes or 1,024 changed batches) is one WriteBatch, applied
/// under the partition's lock after checking that every batch it replaces still has the CRC
/// read (a DeleteRecords meanwhile may have removed it: that part is skipped). The checkpoint is
/// in the last WriteBatch. A crash between chunks loses nothing compaction keeps: a chunk only
/// removes records whose newer versions lie at higher offsets, which later chunks have not
/// touched yet, and the unchanged checkpoint makes the next pass start over. Reading and
/// decoding hold no lock: they run beside appends and fetches (appends only add keys past the
/// cleanable end), and readers see each chunk whole or not at all.
extension PartitionLog {
    /// Rewritten bytes per WriteBatch.
    static let compactionChunkBytes = 4 << 20
    /// Changed batches per WriteBatch.
    static let compactionChunkBatches = 1_024

    /// The partition's cleaner checkpoint (a fresh one when never compacted).
    public func cleanerCheckpoint() throws -> CleanerCheckpoint {
        let key = CleanerCheckpoint.key(topicId: topicId, partition: topicPartition.partition)
        guard let bytes = try db.get(catalog.cf, key: key) else { return CleanerCheckpoint() }
        return try bytes.withUnsafeBytes { try CleanerCheckpoint(decoding: $0) }
    }

    /// Applies `policy` at `nowMs`: the one call the retention service (and `weir log compact`)
    /// makes per compacted partition. Blocking (RocksDB reads, writes, a compaction): run it off
    /// any event loop.
    ///
    /// - Parameter maxDecompressedSize: the largest records section a batch may decompress to.
    /// - Returns: what was done, or nil when the policy says not now.
    /// - Throws: storage errors, and `StorageError.corrupt` for a stored batch that does not
    ///   decode (compaction stops there; chunks already written stay, the checkpoint does not move).
    public func compact(_ policy: CompactionPolicy, nowMs: Int64,
                        maxDecompressedSize: Int = 64 << 20) throws -> CompactionOutcome? {
        try compact(policy, nowMs: nowMs, maxDecompressedSize: maxDecompressedSize, beforeApplying: nil)
    }

    /// `compact`, with `beforeApplying(i)` called before chunk i is written (tests: a crash, or a
    /// DeleteRecords, between planning and writing).
    func compact(_ policy: CompactionPolicy, nowMs: Int64, maxDecompressedSize: Int,
                 beforeApplying: ((Int) throws -> Void)?) throws -> CompactionOutcome? {
        guard policy.compacts else { return nil }
        let current = offsets
        let checkpoint = try cleanerCheckpoint().relevant(from: current.logStartOffset)
        let first = policy.firstDirty(checkpoint, logStartOffset: current.logStartOffset)
        let dirty = try batchSummaries(from: first) { policy.canStopScan(after: $0, nowMs: nowMs) }
        guard let decision = policy.decide(dirty: dirty, checkpoint: checkpoint, offsets: current, nowMs: nowMs) else {
            return nil
        }
        // Aborted transactions' records go (Kafka's cleaner removes them too) and never shadow
        // a committed record of the same key.
        let aborted = try abortedTransactions(from: current.logStartOffset, upTo: decision.cleanableEnd)
        let isAborted: (RecordBatchHeader) -> Bool = { h in
            h.isTransactional && !h.isControl && aborted.contains {
                $0.producerId == h.producerId && h.baseOffset >= $0.firstOffset && h.baseOffset < $0.lastOffset
            }
        }
        let latest = try latestOffsets(from: decision.firstDirty, to: decision.cleanableEnd,
                                       maxDecompressedSize: maxDecompressedSize, skipping: isAborted)
        var plan = CompactionPlan(policy: policy, checkpoint: checkpoint, latest: latest, nowMs: nowMs,
                                  producers: { [self] in producerState($0)?.batches.last?.baseOffset },
                                  aborted: isAborted)
        var outcome = CompactionOutcome(decision: decision, cleanedUpTo: max(decision.cleanableEnd, checkpoint.cleanedUpTo))
        var cursor: Int64? = nil
        var changed: ClosedRange<Int64>?
        var chunkIndex = 0
        while true {
            let chunk = try planChunk(&plan, after: cursor, logStart: current.logStartOffset,
                                      end: decision.cleanableEnd, maxDecompressedSize: maxDecompressedSize)
            let next = chunk.isLast
                ? checkpoint.advanced(to: decision.cleanableEnd, cleanBytes: plan.cleanBytes, nowMs: nowMs,
                                      keptTombstones: plan.keptTombstones)
                : nil
            try beforeApplying?(chunkIndex)
            chunkIndex += 1
            let skipped = try apply(chunk.actions, checkpoint: next)
            for action in chunk.actions where !skipped.contains(action.key) {
                outcome.recordsRemoved += action.recordsRemoved
                outcome.batchesRewritten += 1
                outcome.batchesDeleted += action.deletes.count
                outcome.bytesBefore += action.bytesBefore
                outcome.bytesAfter += Int64(action.value.readableBytes)
                let last = action.deletes.last ?? action.key
                changed = changed.map { min($0.lowerBound, action.key)...max($0.upperBound, last) } ?? action.key...last
            }
            outcome.batchesSkipped += chunk.actions.filter { skipped.contains($0.key) }.reduce(0) { $0 + 1 + $1.deletes.count }
            guard let resume = chunk.resumeAfter else { break }
            cursor = resume
        }
        if let changed {
            do {
                try db.compactRange(cf, from: OffsetKey(changed.lowerBound), through: OffsetKey(changed.upperBound))
            } catch {
                outcome.reclaimFailure = "\(error)"
            }
        }
        return outcome
    }

    /// Pass 1: the offset of the latest record of each key among the batches holding
    /// [from, to) (an iterator, no lock, block cache untouched).
    func latestOffsets(from: Int64, to end: Int64, maxDecompressedSize: Int,
                       skipping aborted: (RecordBatchHeader) -> Bool = { _ in false }) throws -> [[UInt8]: Int64] {
        guard end > from else { return [:] }
        return try db.withIterator(cf, upperBound: Array(OffsetKey(end)), fillCache: false) { it in
            try it.seekToBatch(containing: from)
            var latest: [[UInt8]: Int64] = [:]
            while it.isValid {
                let batch = try Self.decode(it, maxDecompressedSize: maxDecompressedSize)
                if !batch.header.isControl && !aborted(batch.header) {
                    for entry in batch where entry.offset >= from {
                        if let key = entry.key { latest[Array(key.readableBytesView)] = entry.offset }
                    }
                }
                it.next()
            }
            try it.checkError()
            return latest
        }
    }

    /// Pass 2, one chunk: the actions for the batches after key `after` (from the batch holding
    /// the log start when nil), below `end`, up to the chunk limits.
    private func planChunk(_ plan: inout CompactionPlan, after: Int64?, logStart: Int64, end: Int64,
                           maxDecompressedSize: Int) throws -> CompactionChunk {
        guard end > logStart else { return CompactionChunk(actions: [], resumeAfter: nil, isLast: true) }
        return try db.withIterator(cf, upperBound: Array(OffsetKey(end)), fillCache: false) { it in
            if let after {
                it.seek(OffsetKey(after + 1))
            } else {
                try it.seekToBatch(containing: logStart)
            }
            var actions: [CompactionAction] = []
            var bytes = 0
            while it.isValid {
                let crc = it.value.bigEndian(UInt32.self, at: 17) ?? 0
                let size = it.value.count
                let batch = try Self.decode(it, maxDecompressedSize: maxDecompressedSize)
                let before = actions.count
                try plan.add(batch, crc: crc, size: size, into: &actions)
                for action in actions[before...] { bytes += action.value.readableBytes }
                if !plan.runOpen, bytes >= Self.compactionChunkBytes || actions.count >= Self.compactionChunkBatches {
                    return CompactionChunk(actions: actions, resumeAfter: batch.header.baseOffset, isLast: false)
                }
                it.next()
            }
            try it.checkError()
            try plan.closeRun(into: &actions)
            return CompactionChunk(actions: actions, resumeAfter: nil, isLast: true)
        }
    }

    /// Applies one chunk in one WriteBatch under the partition lock; an action whose batches
    /// changed since they were read is left out. Returns the keys of the actions left out.
    private func apply(_ actions: [CompactionAction], checkpoint: CleanerCheckpoint?) throws -> Set<Int64> {
        try state.withLock { _ in
            let writeBatch = WriteBatch()
            var skipped = Set<Int64>()
            for action in actions {
                let intact = try action.sources.allSatisfy { source in
                    guard let stored = try db.get(cf, key: OffsetKey(source.key)) else { return false }
                    return stored.withUnsafeBytes { $0.bigEndian(UInt32.self, at: 17) } == source.crc
                }
                guard intact else {
                    skipped.insert(action.key)
                    continue
                }
                try writeBatch.putv(cf, key: OffsetKey(action.key), parts: [action.value])
                for key in action.deletes { try writeBatch.delete(cf, key: OffsetKey(key)) }
            }
            if let checkpoint {
                try writeBatch.put(catalog.cf, key: CleanerCheckpoint.key(topicId: topicId, partition: topicPartition.partition),
                                   value: checkpoint.encoded())
            }
            if writeBatch.count > 0 { try db.write(writeBatch, sync: syncEveryWrite) }
            return skipped
        }
    }


    /// The batch under the iterator, decoded and its CRC checked.
    private static func decode(_ it: borrowing RocksDBIterator, maxDecompressedSize: Int) throws -> DecodedBatch {
        let stored = try StoredBatch(key: it.key, value: it.value)
        var reader = RecordBatchReader(ByteBuffer(bytes: it.value), verifyCRC: true, maxDecompressedSize: maxDecompressedSize)
        do {
            guard let batch = try reader.nextBatch(), reader.unreadBytes == 0 else {
                throw StorageError.corrupt("batch at offset \(stored.baseOffset) is not one whole batch")
            }
            return batch
        } catch let error as ProtocolError {
            throw StorageError.corrupt("batch at offset \(stored.baseOffset): \(error)")
        }
    }
}

/// One change: put `value` under `key` (a rewritten batch, or the empty batch of a run) and
/// delete `deletes` (the run's other keys), provided each of `sources` still has its CRC.
struct CompactionAction {
    var key: Int64
    var value: ByteBuffer
    var deletes: [Int64]
    var sources: [(key: Int64, crc: UInt32)]
    var recordsRemoved: Int
    var bytesBefore: Int64
}

struct CompactionChunk {
    var actions: [CompactionAction]
    /// The last key planned when the chunk stopped at its limits; nil when it reached the end.
    var resumeAfter: Int64?
    var isLast: Bool
}

/// Pass 2's running state over the batches in offset order: which records stay, the run of
/// emptied batches being collected, and what the checkpoint will need.
struct CompactionPlan {
    let policy: CompactionPolicy
    let checkpoint: CleanerCheckpoint
    let latest: [[UInt8]: Int64]
    let nowMs: Int64
    /// A producer's last batch's base offset (nil when unknown).
    let producers: (Int64) -> Int64?
    /// Whether a batch belongs to an aborted transaction (all its records go).
    let aborted: (RecordBatchHeader) -> Bool
    /// Stored bytes of the batches below the cleanable end, as they will be.
    var cleanBytes: Int64 = 0
    var keptTombstones: [Int64] = []
    /// Emptied batches waiting to become one empty batch.
    private var run: [(header: RecordBatchHeader, crc: UInt32, size: Int, removed: Int)] = []

    init(policy: CompactionPolicy, checkpoint: CleanerCheckpoint, latest: [[UInt8]: Int64], nowMs: Int64,
         producers: @escaping (Int64) -> Int64?, aborted: @escaping (RecordBatchHeader) -> Bool = { _ in false }) {
        self.aborted = aborted
        self.policy = policy
        self.checkpoint = checkpoint
        self.latest = latest
        self.nowMs = nowMs
        self.producers = producers
    }

    /// Whether a run is being collected (a chunk must not end inside one).
    var runOpen: Bool { !run.isEmpty }
    static let maxRun = 100_000

    mutating func add(_ batch: DecodedBatch, crc: UInt32, size: Int, into actions: inout [CompactionAction]) throws {
        let h = batch.header
        if h.isControl {
            try closeRun(into: &actions)
            cleanBytes += Int64(size)
            return
        }
        var kept: [Record] = []
        kept.reserveCapacity(batch.records.count)
        for (i, record) in batch.records.enumerated() where !aborted(h) {
            let offset = h.baseOffset &+ Int64(record.offsetDelta)
            let keeps = policy.keeps(offset: offset, hasKey: record.key != nil, isTombstone: record.value == nil,
                                     latestOffsetForKey: record.key.flatMap { latest[Array($0.readableBytesView)] },
                                     firstCleanedAtMs: checkpoint.firstCleanedAtMs(offset), nowMs: nowMs)
            if keeps {
                kept.append(batch.records[i])
                if record.value == nil { keptTombstones.append(offset) }
            }
        }
        let removed = batch.records.count - kept.count
        if !kept.isEmpty || (h.producerId >= 0 && producers(h.producerId) == h.baseOffset) {
            try closeRun(into: &actions)
            if removed == 0 {
                cleanBytes += Int64(size)
                return
            }
            let value = try batch.rewritten(keeping: kept)
            cleanBytes += Int64(value.readableBytes)
            actions.append(CompactionAction(key: h.baseOffset, value: value, deletes: [],
                                            sources: [(h.baseOffset, crc)], recordsRemoved: removed,
                                            bytesBefore: Int64(size)))
            return
        }
        run.append((h, crc, size, removed))
        if run.count >= Self.maxRun { try closeRun(into: &actions) }
    }

    /// Ends the run of emptied batches: one empty batch for all of them (nothing to do when it
    /// is a single batch that already is such an empty batch).
    mutating func closeRun(into actions: inout [CompactionAction]) throws {
        guard let first = run.first, let last = run.last else { return }
        defer { run.removeAll(keepingCapacity: true) }
        if run.count == 1, first.header.recordsCount == 0, first.header.producerId < 0 {
            cleanBytes += Int64(first.size)
            return
        }
        let value = try DecodedBatch.emptyBatch(
            baseOffset: first.header.baseOffset, lastOffset: last.header.lastOffset,
            baseTimestamp: first.header.baseTimestamp, maxTimestamp: run.map(\.header.maxTimestamp).max()!,
            logAppendTime: first.header.isLogAppendTime, partitionLeaderEpoch: last.header.partitionLeaderEpoch)
        cleanBytes += Int64(value.readableBytes)
        actions.append(CompactionAction(key: first.header.baseOffset, value: value,
                                        deletes: run.dropFirst().map(\.header.baseOffset),
                                        sources: run.map { ($0.header.baseOffset, $0.crc) },
                                        recordsRemoved: run.reduce(0) { $0 + $1.removed },
                                        bytesBefore: run.reduce(Int64(0)) { $0 + Int64($1.size) }))
    }
}

import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import Synchronization
import WeirStorage

/// One measured case: a fresh database in `directory`, the storage workload written into it in
/// the case's layout, memtables flushed, compactions waited out, then every partition read back.
struct LayoutRun {
    let spec: LayoutSpec
    let partitions: Int
    let knobs: LayoutKnobs
    let storage: StorageOptions
    let workload: Workload
    let bytes: Int
    let threads: Int
    let readBytes: Int
    let directory: String
    let settleTimeout: Double

    /// The case's fields for `Report.emit`.
    func run() throws -> [String: Any] {
        let loadAtStart = Self.loadAverage()
        let cpuAtStart = ProcessSample.selfCPUSeconds
        var knobs = spec.tuned ? knobs.merged(over: LayoutKnobs.tunedPreset) : knobs
        if spec.stallingBudget { knobs = knobs.merged(over: LayoutKnobs.stallPreset) }
        let familyCount = spec.familyCount(partitions: partitions)
        let budget = knobs.budget(partitions: partitions, base: storage.totalWriteBufferBytes)
        // §7.1: with writers held at the budget, the WAL limit can sit far above it, so that it
        // no longer forces every family pinning the oldest WAL file to flush at once.
        if knobs.stallingBudget, knobs.maxTotalWALBytes == nil {
            knobs.maxTotalWALBytes = max(4 * UInt64(budget), 1 << 30)
        }
        // Segmented: a segment is a quarter of the budget. While the sealed segment's memtable
        // waits for its flush, the next one fills: two segments of mutable memtable must stay
        // under the budget's flush trigger (7/8 of it) with room for arena slack, or RocksDB
        // would flush a family mid-segment and two files would overlap.
        let segmentBytes = spec.kind == .segmented ? (knobs.segmentBytes ?? budget / 4) : 0
        // A shared family holds many partitions' writes: give it its share of the budget (at
        // least Weir's per-partition size) so that K families use the same memory as Weir does.
        // A segmented family's memtable is sized past a segment (2×) so that it is switched by
        // the roll's flush, not by its own size.
        let writeBuffer: Int = knobs.writeBufferBytes ?? {
            switch spec.kind {
            case .perPartition: storage.partitionWriteBufferBytes
            case .shared: min(budget, max(storage.partitionWriteBufferBytes, budget / familyCount))
            case .segmented: 2 * segmentBytes
            }
        }()

        var s = storage
        s.totalWriteBufferBytes = budget
        s.partitionWriteBufferBytes = writeBuffer
        if let wal = knobs.maxTotalWALBytes { s.maxTotalWALBytes = wal }
        if let jobs = knobs.backgroundJobs { s.backgroundJobs = jobs }
        if let atomic = knobs.atomicFlush { s.atomicFlush = atomic }
        let cache = BlockCache(capacityBytes: s.blockCacheBytes)
        let dbOptions = RocksDBOptions.database(s, cache: cache)
        if knobs.stallingBudget {
            try LayoutWriteBufferManager.install(on: dbOptions, budgetBytes: budget, allowStall: true)
        }
        if let n = knobs.subcompactions { dbOptions.experimentSetMaxSubcompactions(n) }
        if let n = knobs.recycleLogFiles { dbOptions.experimentSetRecycleLogFileNum(n) }
        let familyOptions = RocksDBOptions.partition(s, cache: cache)
        familyOptions.experimentSetCompactionStyle(
            spec.style, universalSizeRatio: knobs.universalSizeRatio,
            universalMinMergeWidth: knobs.universalMinMergeWidth,
            universalMaxSizeAmplificationPercent: knobs.universalMaxSizeAmplificationPercent)
        if let n = knobs.level0CompactionTrigger { familyOptions.experimentSetLevel0FileNumCompactionTrigger(n) }
        if let n = knobs.targetFileSizeBytes { familyOptions.experimentSetTargetFileSizeBase(n) }
        if let n = knobs.maxBytesForLevelBase { familyOptions.experimentSetMaxBytesForLevelBase(n) }
        if let on = knobs.dynamicLevelBytes { familyOptions.experimentSetDynamicLevelBytes(on) }
        if knobs.prefixExtractor, spec.keyPrefixBytes > 0 {
            familyOptions.experimentSetFixedPrefixExtractor(length: spec.keyPrefixBytes)
        }

        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let db = try RocksDB.open(path: directory, options: dbOptions, columnFamilies: [])
        defer { db.close() }
        let names = (0..<familyCount).map { i in
            switch spec.kind {
            case .perPartition: "log/bench/\(i)"
            case .shared: "shared/\(i)"
            case .segmented: "segment/\(i)"
            }
        }
        let families = try db.createColumnFamilies(names, options: familyOptions)

        let batches = try StorageCommand.producedBatches(workload, count: 64)
        let total = max(1, bytes / workload.payloadBytesPerBatch)
        let wireBytes = batches.reduce(0) { $0 + $1.bytes.readableBytes } * total / batches.count
        let threadCount = min(threads, partitions)
        let prefixBytes = spec.keyPrefixBytes
        let endOffsets = (0..<partitions).map { _ in CountBox() }
        let failures = FailureBox()
        let segmented = spec.kind == .segmented
        let roller = SegmentRoller(rollBytes: max(1, segmentBytes))
        let indexes = segmented ? (0..<partitions).map { _ in SegmentIndex() } : []
        // Sealed segments' families are flushed here, off the write path; concurrently, so that a
        // segment's memtable is switched as soon as it is sealed even while the previous one's
        // flush still runs (`SegmentRoller` bounds how many are pending).
        let sealer = DispatchQueue(label: "weir-bench.layout.sealer", attributes: .concurrent)
        // Per writer: time spent in writes (segment id taken + db.write) that took ≥ 10 ms —
        // RocksDB's delays and stops, the stalling budget's waits (which RocksDB 7.8 counts in no
        // statistic) and the segmented layout's back-pressure. (At 1 ms the neighbours' builds
        // alone, preempting a writer on 2 cores, added ~0.3 s per case.)
        let waits = (0..<threadCount).map { _ in WriteWaits() }

        // Writes: as StorageCommand (thread t owns partitions t, t+threads, …; one WriteBatch
        // and one RocksDB write per produced batch; header re-stamped as PartitionLog.append).
        let writeClock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            let mine = Array(stride(from: t, to: partitions, by: threadCount))
            var next = [Int64](repeating: 0, count: mine.count)
            var key = [UInt8](repeating: 0, count: prefixBytes + 8)
            var waitNanos: UInt64 = 0
            var maxNanos: UInt64 = 0
            var i = t
            var n = 0
            while i < total {
                let slot = n % mine.count
                let p = mine[slot]
                let batch = batches[i % batches.count]
                let base = next[slot]
                let started = DispatchTime.now().uptimeNanoseconds
                let segment = segmented ? roller.begin() : 0
                Self.fill(&key, segment: segment, partition: p, prefixBytes: prefixBytes, offset: base)
                do {
                    let header = batch.stampedHeaderBytes(baseOffset: base, partitionLeaderEpoch: 0, logAppendTime: nil)
                    let size = batch.bytes.readableBytes
                    guard let body = batch.bytes.getSlice(at: batch.bytes.readerIndex + RecordBatchHeader.size,
                                                          length: size - RecordBatchHeader.size)
                    else { throw BatchWalker.Malformed(description: "batch shorter than its header") }
                    let writeBatch = WriteBatch()
                    try writeBatch.putv(families[spec.family(partition: p, segment: segment, familyCount: familyCount)],
                                        key: key, parts: [header, body])
                    try db.write(writeBatch, sync: false)
                    let took = DispatchTime.now().uptimeNanoseconds - started
                    if took >= 10_000_000 { waitNanos += took }
                    maxNanos = max(maxNanos, took)
                    if segmented {
                        indexes[p].noteBatch(segment: segment, baseOffset: base)
                        if let sealed = roller.end(segment: segment, bytes: size) {
                            sealer.async {
                                roller.waitForWrites(of: sealed)
                                do { try db.flush(families[Int(sealed) % familyCount]) } catch { failures.record(error) }
                                roller.flushed(sealed)
                            }
                        }
                    }
                } catch {
                    if segmented { _ = roller.end(segment: segment, bytes: 0) }
                    failures.record(error)
                    return
                }
                next[slot] = base + Int64(batch.header.lastOffsetDelta) + 1
                i += threadCount
                n += 1
            }
            for (slot, p) in mine.enumerated() { endOffsets[p].set(records: Int(next[slot]), bytes: 0) }
            waits[t].set(waitNanos: waitNanos, maxNanos: maxNanos)
        }
        let writeSeconds = writeClock.seconds
        // The last roll's flush may still run: it belongs to the final flush below.
        let sealerClock = Stopwatch()
        sealer.sync(flags: .barrier) {}
        let sealerSeconds = sealerClock.seconds
        try failures.check()
        let atEndOfWrites = statistics(dbOptions)
        let filesAtEndOfWrites = fileCounts(db, families)

        // Every memtable to SST, so that every appended byte is counted once it reached a file.
        // From 8 threads: one waiting flush at a time would serialize 1,000 families' fsyncs,
        // which RocksDB's background flushes never do.
        let flushClock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: min(8, familyCount)) { t in
            for i in stride(from: t, to: familyCount, by: min(8, familyCount)) {
                do { try db.flush(families[i]) } catch { failures.record(error) }
            }
        }
        try failures.check()
        let flushSeconds = flushClock.seconds + sealerSeconds
        let afterFlush = statistics(dbOptions)
        let filesAfterFlush = fileCounts(db, families)

        // Compactions the writes left to do.
        let settleClock = Stopwatch()
        let settled = try waitForCompactions(db, families)
        let settleSeconds = settleClock.seconds
        let afterSettle = statistics(dbOptions)
        let filesAfterSettle = fileCounts(db, families)
        let sstBytes = families.reduce(0) { $0 + Int((try? db.integerProperty($1, "rocksdb.total-sst-files-size")) ?? 0 ?? 0) }
        let liveSSTBytes = families.reduce(0) { $0 + Int((try? db.integerProperty($1, "rocksdb.live-sst-files-size")) ?? 0 ?? 0) }
        let diskBytes = directoryBytes(directory)

        // Reads: every partition from offset 0 in readBytes steps, as StorageCommand.
        let readTotals = (0..<threadCount).map { _ in CountBox() }
        let readClock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            var walker = BatchWalker()
            var buffer = ByteBufferAllocator().buffer(capacity: readBytes + 65536)
            for p in stride(from: t, to: partitions, by: threadCount) {
                let end = Int64(endOffsets[p].records)
                var offset: Int64 = 0
                walker.nextOffset = nil
                while offset < end {
                    buffer.clear()
                    do {
                        if segmented {
                            try readSegmented(db, families, index: indexes[p], partition: p, from: offset, into: &buffer)
                        } else {
                            try read(db, families[p % familyCount], partition: p, prefixBytes: prefixBytes,
                                     from: offset, end: end, into: &buffer)
                        }
                        try walker.walk(buffer)
                    } catch {
                        failures.record(error)
                        return
                    }
                    guard let nextOffset = walker.nextOffset, nextOffset > offset else {
                        failures.record(BatchWalker.Malformed(description: "partition \(p): no progress at offset \(offset)"))
                        return
                    }
                    offset = nextOffset
                }
            }
            readTotals[t].set(records: walker.records, bytes: walker.bytes)
        }
        let readSeconds = readClock.seconds
        try failures.check()

        let recordsWritten = total * workload.recordsPerBatch
        let recordsRead = readTotals.reduce(0) { $0 + $1.records }
        guard recordsRead == recordsWritten else {
            throw ValidationError("\(spec) × \(partitions): read back \(recordsRead) records, wrote \(recordsWritten)")
        }
        let payload = recordsWritten * workload.recordBytes
        let indexEntries = indexes.reduce(0) { $0 + $1.entries.count }
        let process = ProcessSample.of(getpid())
        let appended = UInt64(wireBytes)
        let baseBudget = storage.totalWriteBufferBytes
        return [
            "part": "layout", "layout": spec.text, "partitions": partitions, "families": familyCount,
            "compaction_style": spec.style.rawValue,
            "knobs": knobs.label(budget: budget, baseBudget: baseBudget, writeBuffer: writeBuffer,
                                 baseWriteBuffer: spec.kind == .perPartition ? storage.partitionWriteBufferBytes : writeBuffer),
            "memtable_budget_bytes": budget, "write_buffer_bytes": writeBuffer,
            "kind": workload.name, "record_bytes": workload.recordBytes, "codec": workload.codec.benchName,
            "threads": threadCount, "batches": total, "records": recordsWritten,
            "payload_bytes": payload, "stored_batch_bytes": wireBytes,
            "write_seconds": Report.round2(writeSeconds),
            "write_MB_per_s": Report.mbPerSecond(payload, writeSeconds),
            "flush_seconds": Report.round2(flushSeconds),
            "settle_seconds": Report.round2(settleSeconds),
            "settled": settled,
            // Payload over writes + final flush + compactions: what the disk sustained end to end.
            "write_to_settled_MB_per_s": Report.mbPerSecond(payload, writeSeconds + flushSeconds + settleSeconds),
            "read_seconds": Report.round2(readSeconds),
            "read_MB_per_s": Report.mbPerSecond(payload, readSeconds),
            "flushes_during_writes": Int(atEndOfWrites?.flushCount ?? 0),
            "flushes": Int(afterSettle?.flushCount ?? 0),
            "flush_write_bytes": Int(afterSettle?.flushWriteBytes ?? 0),
            "compactions_at_end_of_writes": Int(afterFlush?.compactionCount ?? 0),
            "compactions": Int(afterSettle?.compactionCount ?? 0),
            "compaction_write_bytes_at_end_of_writes": Int(afterFlush?.compactionWriteBytes ?? 0),
            "compaction_write_bytes": Int(afterSettle?.compactionWriteBytes ?? 0),
            "compaction_read_bytes": Int(afterSettle?.compactionReadBytes ?? 0),
            "write_amplification_at_end_of_writes": Report.round2(afterFlush?.writeAmplification(appendedBytes: appended) ?? 0),
            "write_amplification": Report.round2(afterSettle?.writeAmplification(appendedBytes: appended) ?? 0),
            "stall_ms": Int((afterSettle?.stallMicros ?? 0) / 1000),
            "stall_ms_during_writes": Int((atEndOfWrites?.stallMicros ?? 0) / 1000),
            "wal_bytes": Int(afterSettle?.walBytes ?? 0),
            "l0_files_at_end_of_writes": filesAtEndOfWrites.levelZero,
            "sst_files_at_end_of_writes": filesAtEndOfWrites.total,
            "sst_files_after_flush": filesAfterFlush.total,
            "l0_files": filesAfterSettle.levelZero,
            "sst_files": filesAfterSettle.total,
            "sst_bytes": sstBytes, "live_sst_bytes": liveSSTBytes, "db_bytes_on_disk": diskBytes,
            "peak_rss_bytes": process?.peakRSSBytes ?? 0,
            "peak_rss_MiB": (process?.peakRSSBytes ?? 0) >> 20,
            "cpu_seconds": Report.round2(ProcessSample.selfCPUSeconds - cpuAtStart),
            "loadavg_at_start": loadAtStart,
            "write_wait_ms": Int(waits.reduce(0) { $0 + $1.waitNanos } / 1_000_000),
            "max_write_ms": Report.round2(Double(waits.map(\.maxNanos).max() ?? 0) / 1e6),
            "segment_bytes": segmentBytes,
            "segments": segmented ? roller.segmentCount : 0,
            "segment_index_entries": indexEntries,
            "segment_index_bytes": indexEntries * SegmentIndex.bytesPerEntry,
        ]
    }

    /// Reads `partition` from `offset` until `readBytes` (at least one batch), with a fresh
    /// bounded iterator per call as `PartitionLog.read` does.
    private func read(_ db: RocksDB, _ cf: ColumnFamily, partition: Int, prefixBytes: Int,
                      from offset: Int64, end: Int64, into buffer: inout ByteBuffer) throws {
        var lower = [UInt8](repeating: 0, count: prefixBytes + 8)
        var upper = lower
        var target = lower
        Self.fill(&lower, partition: partition, prefixBytes: prefixBytes, offset: 0)
        Self.fill(&upper, partition: partition, prefixBytes: prefixBytes, offset: end)
        Self.fill(&target, partition: partition, prefixBytes: prefixBytes, offset: offset)
        let maxBytes = readBytes
        try db.withIterator(cf, lowerBound: prefixBytes > 0 ? lower : nil, upperBound: upper) { it in
            it.seekForPrev(target)
            if it.isValid {
                if try Self.lastOffset(key: it.key, value: it.value, prefixBytes: prefixBytes) < offset { it.next() }
            } else {
                try it.checkError()
                it.seek(target)
            }
            var total = 0
            while it.isValid {
                let value = it.value
                _ = try Self.lastOffset(key: it.key, value: value, prefixBytes: prefixBytes)
                if total > 0, total + value.count > maxBytes { break }
                buffer.writeBytes(value)
                total += value.count
                if total >= maxBytes { break }
                it.next()
            }
            try it.checkError()
        }
    }

    /// The last offset of the stored batch (key's base offset + the value's lastOffsetDelta), as
    /// `StoredBatch` checks it.
    static func lastOffset(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, prefixBytes: Int) throws -> Int64 {
        guard key.count == prefixBytes + 8, value.count >= RecordBatchHeader.size else {
            throw BatchWalker.Malformed(description: "stored batch: key \(key.count) bytes, value \(value.count) bytes")
        }
        var base: Int64 = 0
        for b in key[prefixBytes...] { base = base << 8 | Int64(b) }
        var delta: Int32 = 0
        for b in value[23..<27] { delta = delta << 8 | Int32(b) }
        return base + Int64(delta)
    }

    /// The key of `partition`'s batch at `offset`: [segment (segmented only)] [partition (shared
    /// and segmented)] base offset, each big-endian.
    static func fill(_ key: inout [UInt8], segment: UInt32 = 0, partition: Int, prefixBytes: Int, offset: Int64) {
        func put32(_ v: UInt32, at i: Int) {
            key[i] = UInt8(v >> 24); key[i + 1] = UInt8((v >> 16) & 0xFF)
            key[i + 2] = UInt8((v >> 8) & 0xFF); key[i + 3] = UInt8(v & 0xFF)
        }
        if prefixBytes == 8 { put32(segment, at: 0) }
        if prefixBytes >= 4 { put32(UInt32(partition), at: prefixBytes - 4) }
        let o = UInt64(bitPattern: offset)
        for i in 0..<8 { key[prefixBytes + i] = UInt8((o >> (56 - 8 * UInt64(i))) & 0xFF) }
    }

    private func statistics(_ options: RocksDBOptions) -> RocksDBStatistics? {
        options.statisticsText().map(RocksDBStatistics.init(parsing:))
    }

    private func fileCounts(_ db: RocksDB, _ families: [ColumnFamily]) -> (levelZero: Int, total: Int) {
        var levelZero = 0
        var total = 0
        for cf in families {
            for level in 0...6 {
                let n = (try? db.stringProperty(cf, "rocksdb.num-files-at-level\(level)")).flatMap { $0.flatMap { Int($0) } } ?? 0
                if level == 0 { levelZero += n }
                total += n
            }
        }
        return (levelZero, total)
    }

    /// Polls until no flush or compaction runs or is pending in any family, twice in a row
    /// 50 ms apart, or none has run for 2 s; false when `settleTimeout` passed first.
    private func waitForCompactions(_ db: RocksDB, _ families: [ColumnFamily]) throws -> Bool {
        let clock = Stopwatch()
        var quietPolls = 0
        var idlePolls = 0
        while clock.seconds < settleTimeout {
            let running = (try db.integerProperty(families[0], "rocksdb.num-running-compactions") ?? 0)
                + (try db.integerProperty(families[0], "rocksdb.num-running-flushes") ?? 0)
            var pending: UInt64 = 0
            if running == 0 {
                for cf in families {
                    pending += (try db.integerProperty(cf, "rocksdb.compaction-pending") ?? 0)
                        + (try db.integerProperty(cf, "rocksdb.mem-table-flush-pending") ?? 0)
                    if pending > 0 { break }
                }
            }
            // Universal compaction can report a compaction pending that its picker then finds
            // nothing to do for ("Compaction nothing to do" in the LOG), forever: 2 s with
            // nothing running counts as settled too.
            idlePolls = running == 0 ? idlePolls + 1 : 0
            quietPolls = running == 0 && pending == 0 ? quietPolls + 1 : 0
            if quietPolls >= 2 || idlePolls >= 40 { return true }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return false
    }

    static func loadAverage() -> Double {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
              let first = text.split(separator: " ").first, let value = Double(first) else { return 0 }
        return value
    }
}

/// One writer's time blocked in `RocksDB.write`, for the `write_wait_ms` / `max_write_ms` fields.
private final class WriteWaits: Sendable {
    private let totals = Mutex<(wait: UInt64, max: UInt64)>((0, 0))

    var waitNanos: UInt64 { totals.withLock { $0.wait } }
    var maxNanos: UInt64 { totals.withLock { $0.max } }

    func set(waitNanos: UInt64, maxNanos: UInt64) {
        totals.withLock { $0 = (waitNanos, maxNanos) }
    }
}

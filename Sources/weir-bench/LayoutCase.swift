import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import WeirStorage

/// Which storage layout a `weir-bench layout` case measures:
///
///     per-partition          one column family per partition, key = 8-byte base offset (Weir today)
///     per-partition-tuned    the same with `LayoutKnobs.tunedPreset` for knobs not given
///     shared:K               partitions in K column families (p → p mod K),
///                            key = 4-byte partition id + 8-byte base offset
///
/// Any of them may end in ":level", ":universal" or ":fifo" (the log families' compaction style).
struct LayoutSpec: Sendable, CustomStringConvertible {
    enum Kind: Sendable, Equatable { case perPartition, shared(Int) }
    var kind: Kind
    var tuned: Bool
    var style: RocksDBOptions.ExperimentCompactionStyle
    var text: String

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
        case "shared" where parts.count == 2:
            guard let k = Int(parts[1]), k > 0 else { throw ValidationError("bad family count in '\(text)'") }
            kind = .shared(k); tuned = false
        default:
            throw ValidationError("unknown layout '\(text)' (per-partition, per-partition-tuned, shared:K, with :level/:universal/:fifo)")
        }
    }

    var description: String { text }

    var keyPrefixBytes: Int { kind == .perPartition ? 0 : 4 }

    func familyCount(partitions: Int) -> Int {
        switch kind {
        case .perPartition: partitions
        case .shared(let k): min(k, partitions)
        }
    }
}

/// RocksDB knobs a case may override; nil = Weir's setting (or the tuned preset's).
struct LayoutKnobs: Sendable {
    var budgetBytes: Int?
    /// Budget = clamp(partitions × this, Weir's budget, `budgetCapBytes`); the tuned preset's rule.
    var budgetPerPartitionBytes: Int?
    var budgetCapBytes: Int?
    var maxTotalWALBytes: UInt64?
    var backgroundJobs: Int32?
    var subcompactions: UInt32?
    var recycleLogFiles: Int?
    var writeBufferBytes: Int?
    var level0CompactionTrigger: Int32?
    var targetFileSizeBytes: UInt64?
    var maxBytesForLevelBase: UInt64?
    var dynamicLevelBytes: Bool?
    var universalSizeRatio: Int32?
    var universalMaxSizeAmplificationPercent: Int32?
    var universalMinMergeWidth: Int32?
    var atomicFlush: Bool?
    var prefixExtractor = false

    /// `per-partition-tuned`: what `weir-bench layout` found best for one family per partition on
    /// this machine (see bench/layout-results.md), applied to every knob not given explicitly.
    static let tunedPreset: LayoutKnobs = {
        var k = LayoutKnobs()
        k.budgetPerPartitionBytes = 256 << 10
        k.budgetCapBytes = 256 << 20
        k.maxTotalWALBytes = 1 << 30
        k.recycleLogFiles = 16
        k.backgroundJobs = 8
        return k
    }()

    func merged(over base: LayoutKnobs) -> LayoutKnobs {
        var m = self
        m.budgetBytes = budgetBytes ?? base.budgetBytes
        m.budgetPerPartitionBytes = budgetPerPartitionBytes ?? base.budgetPerPartitionBytes
        m.budgetCapBytes = budgetCapBytes ?? base.budgetCapBytes
        m.maxTotalWALBytes = maxTotalWALBytes ?? base.maxTotalWALBytes
        m.backgroundJobs = backgroundJobs ?? base.backgroundJobs
        m.subcompactions = subcompactions ?? base.subcompactions
        m.recycleLogFiles = recycleLogFiles ?? base.recycleLogFiles
        m.writeBufferBytes = writeBufferBytes ?? base.writeBufferBytes
        m.level0CompactionTrigger = level0CompactionTrigger ?? base.level0CompactionTrigger
        m.targetFileSizeBytes = targetFileSizeBytes ?? base.targetFileSizeBytes
        m.maxBytesForLevelBase = maxBytesForLevelBase ?? base.maxBytesForLevelBase
        m.dynamicLevelBytes = dynamicLevelBytes ?? base.dynamicLevelBytes
        m.universalSizeRatio = universalSizeRatio ?? base.universalSizeRatio
        m.universalMaxSizeAmplificationPercent = universalMaxSizeAmplificationPercent ?? base.universalMaxSizeAmplificationPercent
        m.universalMinMergeWidth = universalMinMergeWidth ?? base.universalMinMergeWidth
        m.atomicFlush = atomicFlush ?? base.atomicFlush
        m.prefixExtractor = prefixExtractor || base.prefixExtractor
        return m
    }

    /// The memtable budget for `partitions` partitions over Weir's `base` budget.
    func budget(partitions: Int, base: Int) -> Int {
        if let budgetBytes { return budgetBytes }
        guard let per = budgetPerPartitionBytes else { return base }
        return min(max(base, partitions * per), budgetCapBytes ?? Int.max)
    }

    /// The knobs that differ from Weir's settings, as "name=value" (the case's label).
    func label(budget: Int, baseBudget: Int, writeBuffer: Int, baseWriteBuffer: Int) -> String {
        var parts: [String] = []
        if budget != baseBudget { parts.append("budget=\(budget >> 20)MiB") }
        if writeBuffer != baseWriteBuffer { parts.append("wbs=\(writeBuffer >> 10)KiB") }
        if let maxTotalWALBytes { parts.append("wal=\(maxTotalWALBytes >> 20)MiB") }
        if let backgroundJobs { parts.append("jobs=\(backgroundJobs)") }
        if let subcompactions { parts.append("subcompactions=\(subcompactions)") }
        if let recycleLogFiles { parts.append("recycle=\(recycleLogFiles)") }
        if let level0CompactionTrigger { parts.append("l0trigger=\(level0CompactionTrigger)") }
        if let targetFileSizeBytes { parts.append("target=\(targetFileSizeBytes >> 20)MiB") }
        if let maxBytesForLevelBase { parts.append("l1=\(maxBytesForLevelBase >> 20)MiB") }
        if let dynamicLevelBytes { parts.append("dynamic=\(dynamicLevelBytes)") }
        if let universalSizeRatio { parts.append("u.ratio=\(universalSizeRatio)") }
        if let universalMaxSizeAmplificationPercent { parts.append("u.sizeamp=\(universalMaxSizeAmplificationPercent)") }
        if let universalMinMergeWidth { parts.append("u.minmerge=\(universalMinMergeWidth)") }
        if let atomicFlush { parts.append("atomic_flush=\(atomicFlush)") }
        if prefixExtractor { parts.append("prefix_extractor") }
        return parts.joined(separator: " ")
    }
}

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
        let knobs = spec.tuned ? knobs.merged(over: LayoutKnobs.tunedPreset) : knobs
        let familyCount = spec.familyCount(partitions: partitions)
        let budget = knobs.budget(partitions: partitions, base: storage.totalWriteBufferBytes)
        // A shared family holds many partitions' writes: give it its share of the budget (at
        // least Weir's per-partition size) so that K families use the same memory as Weir does.
        let writeBuffer = knobs.writeBufferBytes
            ?? (spec.kind == .perPartition ? storage.partitionWriteBufferBytes
                : min(budget, max(storage.partitionWriteBufferBytes, budget / familyCount)))

        var s = storage
        s.totalWriteBufferBytes = budget
        s.partitionWriteBufferBytes = writeBuffer
        if let wal = knobs.maxTotalWALBytes { s.maxTotalWALBytes = wal }
        if let jobs = knobs.backgroundJobs { s.backgroundJobs = jobs }
        if let atomic = knobs.atomicFlush { s.atomicFlush = atomic }
        let cache = BlockCache(capacityBytes: s.blockCacheBytes)
        let dbOptions = RocksDBOptions.database(s, cache: cache)
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
        let names = (0..<familyCount).map { spec.kind == .perPartition ? "log/bench/\($0)" : "shared/\($0)" }
        let families = try db.createColumnFamilies(names, options: familyOptions)

        let batches = try StorageCommand.producedBatches(workload, count: 64)
        let total = max(1, bytes / workload.payloadBytesPerBatch)
        let wireBytes = batches.reduce(0) { $0 + $1.bytes.readableBytes } * total / batches.count
        let threadCount = min(threads, partitions)
        let prefixBytes = spec.keyPrefixBytes
        let endOffsets = (0..<partitions).map { _ in CountBox() }
        let failures = FailureBox()

        // Writes: as StorageCommand (thread t owns partitions t, t+threads, …; one WriteBatch
        // and one RocksDB write per produced batch; header re-stamped as PartitionLog.append).
        let writeClock = Stopwatch()
        DispatchQueue.concurrentPerform(iterations: threadCount) { t in
            let mine = Array(stride(from: t, to: partitions, by: threadCount))
            var next = [Int64](repeating: 0, count: mine.count)
            var key = [UInt8](repeating: 0, count: prefixBytes + 8)
            var i = t
            var n = 0
            while i < total {
                let slot = n % mine.count
                let p = mine[slot]
                let batch = batches[i % batches.count]
                let base = next[slot]
                Self.fill(&key, partition: p, prefixBytes: prefixBytes, offset: base)
                do {
                    let header = batch.stampedHeaderBytes(baseOffset: base, partitionLeaderEpoch: 0, logAppendTime: nil)
                    let size = batch.bytes.readableBytes
                    guard let body = batch.bytes.getSlice(at: batch.bytes.readerIndex + RecordBatchHeader.size,
                                                          length: size - RecordBatchHeader.size)
                    else { throw BatchWalker.Malformed(description: "batch shorter than its header") }
                    let writeBatch = WriteBatch()
                    try writeBatch.putv(families[p % familyCount], key: key, parts: [header, body])
                    try db.write(writeBatch, sync: false)
                } catch {
                    failures.record(error)
                    return
                }
                next[slot] = base + Int64(batch.header.lastOffsetDelta) + 1
                i += threadCount
                n += 1
            }
            for (slot, p) in mine.enumerated() { endOffsets[p].set(records: Int(next[slot]), bytes: 0) }
        }
        let writeSeconds = writeClock.seconds
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
        let flushSeconds = flushClock.seconds
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
                        try read(db, families[p % familyCount], partition: p, prefixBytes: prefixBytes,
                                 from: offset, end: end, into: &buffer)
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
    private static func lastOffset(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, prefixBytes: Int) throws -> Int64 {
        guard key.count == prefixBytes + 8, value.count >= RecordBatchHeader.size else {
            throw BatchWalker.Malformed(description: "stored batch: key \(key.count) bytes, value \(value.count) bytes")
        }
        var base: Int64 = 0
        for b in key[prefixBytes...] { base = base << 8 | Int64(b) }
        var delta: Int32 = 0
        for b in value[23..<27] { delta = delta << 8 | Int32(b) }
        return base + Int64(delta)
    }

    private static func fill(_ key: inout [UInt8], partition: Int, prefixBytes: Int, offset: Int64) {
        if prefixBytes == 4 {
            let p = UInt32(partition)
            key[0] = UInt8(p >> 24); key[1] = UInt8((p >> 16) & 0xFF); key[2] = UInt8((p >> 8) & 0xFF); key[3] = UInt8(p & 0xFF)
        }
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

import WeirStorage

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
    /// A WriteBufferManager of `budget` bytes with allow_stall: writers wait while all memtables
    /// together exceed the budget (RocksDB 7.8's `db_write_buffer_size` only triggers flushes).
    var stallingBudget = false
    /// Segmented layout: stored batch bytes after which the global segment id rolls.
    var segmentBytes: Int?

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

    /// `per-partition-stall`: §7.1 of layout-results.md — a memtable budget that holds writers
    /// back, so that max_total_wal_size can be raised above it (to max(4 × budget, 1 GiB), applied
    /// in `LayoutRun`) without memtables piling up past the budget.
    static let stallPreset: LayoutKnobs = {
        var k = LayoutKnobs()
        k.stallingBudget = true
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
        m.stallingBudget = stallingBudget || base.stallingBudget
        m.segmentBytes = segmentBytes ?? base.segmentBytes
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
        if stallingBudget { parts.append("wbm_allow_stall") }
        if let segmentBytes { parts.append("segment=\(segmentBytes >> 20)MiB") }
        return parts.joined(separator: " ")
    }
}

import CRocksDB

/// Experiment-only RocksDB knobs that `RocksDBOptions` has no setting for, for `weir-bench layout`
/// (storage layout and tuning measurements). Nothing in the broker uses them; a knob that proves
/// itself moves into `StorageOptions` / `RocksDBOptions` proper.
///
/// Database-wide knobs only take effect on the options passed to `RocksDB.open`; column-family
/// knobs on the options a family is opened or created with (RocksDB copies them then).
extension RocksDBOptions {
    public enum ExperimentCompactionStyle: String, Sendable, CaseIterable {
        case level, universal, fifo
    }

    // MARK: Database-wide

    /// `db_write_buffer_size`: the memtable budget of the whole database.
    public func experimentSetDBWriteBufferSize(_ bytes: Int) {
        rocksdb_options_set_db_write_buffer_size(pointer, bytes)
    }

    /// `max_total_wal_size`: WAL bytes after which the families pinning the oldest WAL file are flushed.
    public func experimentSetMaxTotalWALSize(_ bytes: UInt64) {
        rocksdb_options_set_max_total_wal_size(pointer, bytes)
    }

    /// `max_background_jobs`: flush + compaction threads.
    public func experimentSetMaxBackgroundJobs(_ jobs: Int32) {
        rocksdb_options_set_max_background_jobs(pointer, jobs)
    }

    /// `max_subcompactions`: threads one (L0→L1 or universal) compaction may split into.
    public func experimentSetMaxSubcompactions(_ n: UInt32) {
        rocksdb_options_set_max_subcompactions(pointer, n)
    }

    /// `recycle_log_file_num`: WAL files kept for reuse instead of deleted and created again.
    public func experimentSetRecycleLogFileNum(_ n: Int) {
        rocksdb_options_set_recycle_log_file_num(pointer, n)
    }

    /// `atomic_flush`.
    public func experimentSetAtomicFlush(_ on: Bool) {
        rocksdb_options_set_atomic_flush(pointer, on ? 1 : 0)
    }

    // MARK: Per column family

    /// `write_buffer_size`: one family's memtable size at which it is flushed on its own.
    public func experimentSetWriteBufferSize(_ bytes: Int) {
        rocksdb_options_set_write_buffer_size(pointer, bytes)
    }

    public func experimentSetMaxWriteBufferNumber(_ n: Int32) {
        rocksdb_options_set_max_write_buffer_number(pointer, n)
    }

    public func experimentSetLevel0FileNumCompactionTrigger(_ n: Int32) {
        rocksdb_options_set_level0_file_num_compaction_trigger(pointer, n)
    }

    public func experimentSetLevel0WriteTriggers(slowdown: Int32, stop: Int32) {
        rocksdb_options_set_level0_slowdown_writes_trigger(pointer, slowdown)
        rocksdb_options_set_level0_stop_writes_trigger(pointer, stop)
    }

    public func experimentSetTargetFileSizeBase(_ bytes: UInt64) {
        rocksdb_options_set_target_file_size_base(pointer, bytes)
    }

    public func experimentSetMaxBytesForLevelBase(_ bytes: UInt64) {
        rocksdb_options_set_max_bytes_for_level_base(pointer, bytes)
    }

    public func experimentSetDynamicLevelBytes(_ on: Bool) {
        rocksdb_options_set_level_compaction_dynamic_level_bytes(pointer, on ? 1 : 0)
    }

    /// `prefix_extractor` = a fixed-length prefix (e.g. the 4-byte partition id of a shared family).
    public func experimentSetFixedPrefixExtractor(length: Int) {
        // The options take ownership of the transform.
        rocksdb_options_set_prefix_extractor(pointer, rocksdb_slicetransform_create_fixed_prefix(length))
    }

    /// Compaction style; universal and FIFO with the given knobs (nil = RocksDB's default).
    public func experimentSetCompactionStyle(_ style: ExperimentCompactionStyle,
                                             universalSizeRatio: Int32? = nil,
                                             universalMinMergeWidth: Int32? = nil,
                                             universalMaxMergeWidth: Int32? = nil,
                                             universalMaxSizeAmplificationPercent: Int32? = nil,
                                             fifoMaxTableFilesBytes: UInt64? = nil) {
        switch style {
        case .level:
            rocksdb_options_set_compaction_style(pointer, Int32(rocksdb_level_compaction))
        case .universal:
            rocksdb_options_set_compaction_style(pointer, Int32(rocksdb_universal_compaction))
            let u = rocksdb_universal_compaction_options_create()!
            defer { rocksdb_universal_compaction_options_destroy(u) }
            if let universalSizeRatio { rocksdb_universal_compaction_options_set_size_ratio(u, universalSizeRatio) }
            if let universalMinMergeWidth { rocksdb_universal_compaction_options_set_min_merge_width(u, universalMinMergeWidth) }
            if let universalMaxMergeWidth { rocksdb_universal_compaction_options_set_max_merge_width(u, universalMaxMergeWidth) }
            if let universalMaxSizeAmplificationPercent {
                rocksdb_universal_compaction_options_set_max_size_amplification_percent(u, universalMaxSizeAmplificationPercent)
            }
            // Copied into the options.
            rocksdb_options_set_universal_compaction_options(pointer, u)
        case .fifo:
            rocksdb_options_set_compaction_style(pointer, Int32(rocksdb_fifo_compaction))
            let f = rocksdb_fifo_compaction_options_create()!
            defer { rocksdb_fifo_compaction_options_destroy(f) }
            rocksdb_fifo_compaction_options_set_max_table_files_size(f, fifoMaxTableFilesBytes ?? (1 << 40))
            rocksdb_options_set_fifo_compaction_options(pointer, f)
        }
    }
}

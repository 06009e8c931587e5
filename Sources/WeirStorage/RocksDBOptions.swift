import CRocksDB

/// Owns a `rocksdb_options_t`: database-wide settings for the options passed to `RocksDB.open`,
/// per-column-family settings for every other use. RocksDB copies options when a database or
/// column family is opened, so an instance only has to live as long as someone may still pass it.
// @unchecked: a C handle configured once in a factory method, then only read (copied) by RocksDB.
public final class RocksDBOptions: @unchecked Sendable {
    let pointer: OpaquePointer

    /// RocksDB's defaults.
    public init() {
        pointer = rocksdb_options_create()
    }

    deinit {
        rocksdb_options_destroy(pointer)
    }

    /// Database-wide settings (and the `default` column family's) for Weir's one database.
    public static func database(_ s: StorageOptions, cache: BlockCache) -> RocksDBOptions {
        let o = RocksDBOptions()
        rocksdb_options_set_create_if_missing(o.pointer, 1)
        rocksdb_options_set_create_missing_column_families(o.pointer, 1)
        rocksdb_options_set_db_write_buffer_size(o.pointer, s.totalWriteBufferBytes)
        rocksdb_options_set_max_total_wal_size(o.pointer, s.maxTotalWALBytes)
        rocksdb_options_set_max_open_files(o.pointer, s.maxOpenFiles)
        rocksdb_options_set_max_background_jobs(o.pointer, s.backgroundJobs)
        // At open RocksDB 7.8 starts and joins this many threads minus one per column family to
        // open SST files, even for a family with none: 16 (the default) made opening 1,000
        // partitions spend ~0.5 s of its ~0.75 s creating threads. With a bounded table cache it
        // opens at most 16 SST files in all at startup anyway, so one thread loses nothing.
        rocksdb_options_set_max_file_opening_threads(o.pointer, 1)
        rocksdb_options_set_keep_log_file_num(o.pointer, s.keepInfoLogFiles)
        rocksdb_options_set_max_log_file_size(o.pointer, s.maxInfoLogFileBytes)
        // Replaying a WAL whose tail was torn by a crash must still open the database: keep every
        // complete record, drop the torn one (RocksDB's default, stated for the reader).
        rocksdb_options_set_wal_recovery_mode(o.pointer, 2 /* kPointInTimeRecovery */)
        // RocksDB's tickers (flush and compaction bytes, stalls) for `make bench` and the metrics.
        // The default level leaves out per-operation timers, which are what would cost.
        if s.collectStatistics { rocksdb_options_enable_statistics(o.pointer) }
        rocksdb_options_set_atomic_flush(o.pointer, s.atomicFlush ? 1 : 0)
        o.applyColumnFamilySettings(s, writeBufferBytes: s.partitionWriteBufferBytes, lz4: false, cache: cache)
        return o
    }

    /// RocksDB's statistics as text; nil unless enabled (`StorageOptions.collectStatistics`).
    /// Only meaningful on the options a database was opened with (they share the counters).
    public func statisticsText() -> String? {
        guard let text = rocksdb_options_statistics_get_string(pointer) else { return nil }
        defer { rocksdb_free(text) }
        return String(cString: text)
    }

    /// Settings for a partition log's column family: LZ4-compressed SST files.
    public static func partition(_ s: StorageOptions, cache: BlockCache) -> RocksDBOptions {
        let o = RocksDBOptions()
        o.applyColumnFamilySettings(s, writeBufferBytes: s.partitionWriteBufferBytes,
                                    lz4: s.compressPartitions, cache: cache)
        return o
    }

    /// Settings for small metadata column families (catalog, committed offsets).
    public static func metadata(_ s: StorageOptions, cache: BlockCache) -> RocksDBOptions {
        let o = RocksDBOptions()
        o.applyColumnFamilySettings(s, writeBufferBytes: min(s.partitionWriteBufferBytes, 4 << 20),
                                    lz4: true, cache: cache)
        return o
    }

    private func applyColumnFamilySettings(_ s: StorageOptions, writeBufferBytes: Int, lz4: Bool, cache: BlockCache) {
        rocksdb_options_set_write_buffer_size(pointer, writeBufferBytes)
        rocksdb_options_set_arena_block_size(pointer, s.arenaBlockBytes)
        rocksdb_options_set_max_write_buffer_number(pointer, 2)
        rocksdb_options_set_level0_slowdown_writes_trigger(pointer, s.level0SlowdownWritesTrigger)
        rocksdb_options_set_level0_stop_writes_trigger(pointer, s.level0StopWritesTrigger)
        rocksdb_options_set_disable_auto_compactions(pointer, s.autoCompactions ? 0 : 1)
        rocksdb_options_set_compression(pointer, Int32(lz4 ? rocksdb_lz4_compression : rocksdb_no_compression))
        let table = rocksdb_block_based_options_create()
        defer { rocksdb_block_based_options_destroy(table) }
        rocksdb_block_based_options_set_block_cache(table, cache.pointer)
        // Fetches read batches sequentially and batches are often tens of KiB: bigger blocks mean
        // a smaller index per SST file.
        rocksdb_block_based_options_set_block_size(table, 32 << 10)
        // Index blocks live in the shared cache instead of each open table reader, so their memory
        // is bounded by `blockCacheBytes` however many partitions exist. No bloom filter: logs are
        // read with seeks, never point lookups of absent keys.
        rocksdb_block_based_options_set_cache_index_and_filter_blocks(table, 1)
        rocksdb_block_based_options_set_pin_l0_filter_and_index_blocks_in_cache(table, 1)
        rocksdb_options_set_block_based_table_factory(pointer, table)
    }
}

/// An LRU block cache shared by all column families of a database.
// @unchecked: RocksDB's LRU cache is thread-safe; the handle is immutable.
public final class BlockCache: @unchecked Sendable {
    let pointer: OpaquePointer

    public init(capacityBytes: Int) {
        pointer = rocksdb_cache_create_lru(capacityBytes)
    }

    deinit {
        // Tables hold their own reference (a shared_ptr); this only drops ours.
        rocksdb_cache_destroy(pointer)
    }

    public var usageBytes: Int { rocksdb_cache_get_usage(pointer) }
}

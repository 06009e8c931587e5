/// Tuning of the broker's single RocksDB database. The defaults aim at "many partitions stay
/// cheap": memory is bounded by one shared block cache and one shared memtable budget rather
/// than growing with the number of column families.
public struct StorageOptions: Sendable, Equatable {
    /// LRU block cache shared by every column family (uncompressed data and index blocks).
    /// Default 64 MiB.
    public var blockCacheBytes: Int = 64 << 20

    /// Memtable budget for the whole database (`db_write_buffer_size`: RocksDB's
    /// WriteBufferManager). When all memtables together reach it, RocksDB flushes the largest,
    /// so 10,000 idle partitions cost no more than 10 busy ones. Default 128 MiB.
    public var totalWriteBufferBytes: Int = 128 << 20

    /// Memtable size at which one partition's column family is flushed on its own
    /// (`write_buffer_size`). Default 8 MiB: big enough to batch a busy partition's writes into
    /// few SST files, small next to the shared budget.
    public var partitionWriteBufferBytes: Int = 8 << 20

    /// Arena block size of each memtable. RocksDB's default is write_buffer_size / 8 (1 MiB here),
    /// allocated by the first write to a memtable; a small block keeps a lightly written
    /// partition's memtable small. Default 64 KiB.
    public var arenaBlockBytes: Int = 64 << 10

    /// Total WAL size after which RocksDB flushes the column families that pin the oldest WAL
    /// file, so a quiet partition cannot keep gigabytes of WAL alive. Default 256 MiB.
    public var maxTotalWALBytes: UInt64 = 256 << 20

    /// Upper bound on SST files RocksDB keeps open (`max_open_files`; -1 = unbounded, which
    /// with thousands of partitions would exhaust file descriptors). Default 1,000.
    public var maxOpenFiles: Int32 = 1000

    /// Flush and compaction threads (`max_background_jobs`). Default 2.
    public var backgroundJobs: Int32 = 2

    /// Compress partition column families' SST files with LZ4. Producer-compressed batches gain
    /// little, but uncompressed ones (and the repeated batch headers) gain much, for a cheap codec.
    public var compressPartitions: Bool = true

    /// fsync the WAL on every write (Kafka's `log.flush.interval.messages=1`). When false, writes
    /// still go to the WAL (an acknowledged append survives a process kill) and the broker calls
    /// `LogStore.flushWAL(sync: true)` on a timer for `log.flush.interval.ms` (survives power loss
    /// up to that interval).
    public var syncEveryWrite: Bool = false

    /// L0 files in one column family at which RocksDB slows writes down, and at which it stops
    /// them (`level0_slowdown_writes_trigger` / `level0_stop_writes_trigger`; RocksDB's defaults).
    /// Produce on the event loop never waits for either: it moves to the I/O pool instead.
    public var level0SlowdownWritesTrigger: Int32 = 20
    public var level0StopWritesTrigger: Int32 = 36
    /// Background compactions on (tests turn them off to hold a stall in place).
    public var autoCompactions: Bool = true

    /// Flush every column family together when the shared memtable budget trips (`atomic_flush`):
    /// one flush job and one MANIFEST write for all of them, instead of one per family.
    public var atomicFlush: Bool = false

    /// Keep RocksDB's statistics (flush/compaction bytes, stalls; `LogStore.statistics()`).
    public var collectStatistics: Bool = true

    /// RocksDB's own info LOG files kept in the database directory.
    public var keepInfoLogFiles: Int = 5
    /// Size at which RocksDB's info LOG rolls over.
    public var maxInfoLogFileBytes: Int = 16 << 20

    public init() {}
}

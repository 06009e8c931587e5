import Foundation
import KafkaProtocol
import Logging
import Synchronization

/// The broker's storage: one RocksDB database (the broker's `log.dirs` directory) holding every
/// partition log, the topic catalog and committed offsets, so one WriteBatch can update several
/// of them together and one checkpoint snapshots everything.
///
/// On-disk layout — column families of the database:
///
///     default                            unused
///     catalog                            topics and log start offsets (see `TopicCatalog`)
///     offsets                            committed consumer offsets (see `OffsetStore`)
///     producers                          idempotent producers' state (see `ProducerStateStore`)
///     aborted-txns                       aborted transactions per partition (`AbortedTransactionIndex`)
///     transactions                       the transaction coordinator's state (`TransactionStore`)
///     scram                              SCRAM credentials (see `RocksDBMetadataStore`)
///     acls                               ACLs (see `RocksDBMetadataStore`)
///     log/<topic id base64url>/<p>       one per partition (see `PartitionLog`)
///
/// What is open comes from the catalog: at startup, a partition column family that no catalog
/// topic names (left by a crash between the steps of a create or delete) is dropped, and a
/// missing one is created empty.
///
/// Thread safety: the `openTopics` mutex guards the in-memory topic map and is held only briefly, so
/// lookups on the produce/fetch path never wait for an admin operation; `adminLock` serializes
/// create/delete/alter (which may create thousands of column families). Each `PartitionLog`
/// has its own lock.
public final class LogStore: Sendable {
    /// A topic and its open partition logs.
    private struct OpenTopic {
        var record: TopicRecord
        var logs: [PartitionLog]
    }

    public let directory: String
    public let options: StorageOptions
    public let catalog: TopicCatalog
    public let offsets: OffsetStore
    /// Producer ids for InitProducerId.
    public let producerIds: ProducerIdAllocator
    let producers: ProducerStateStore
    let abortedIndex: AbortedTransactionIndex
    /// The transaction coordinator's state (see `TransactionStore`).
    public let transactions: TransactionStore
    let db: RocksDB
    private let logger: Logger
    private let partitionOptions: RocksDBOptions
    /// The options the database was opened with: they hold RocksDB's statistics.
    private let databaseOptions: RocksDBOptions
    private let cache: BlockCache

    /// Open topics by name.
    private let openTopics = Mutex<[String: OpenTopic]>([:])
    private let adminLock = NSLock()

    private init(directory: String, options: StorageOptions, db: RocksDB, catalog: TopicCatalog,
                 offsets: OffsetStore, producerIds: ProducerIdAllocator, producers: ProducerStateStore,
                 abortedIndex: AbortedTransactionIndex, transactions: TransactionStore, partitionOptions: RocksDBOptions, databaseOptions: RocksDBOptions, cache: BlockCache, logger: Logger) {
        self.directory = directory
        self.options = options
        self.db = db
        self.catalog = catalog
        self.offsets = offsets
        self.producerIds = producerIds
        self.producers = producers
        self.abortedIndex = abortedIndex
        self.transactions = transactions
        self.partitionOptions = partitionOptions
        self.databaseOptions = databaseOptions
        self.cache = cache
        self.logger = logger
    }

    /// Opens (or creates) the store in `directory` and recovers every topic of the catalog.
    public static func open(directory: String, options: StorageOptions, logger: Logger) throws -> LogStore {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let cache = BlockCache(capacityBytes: options.blockCacheBytes)
        let dbOptions = RocksDBOptions.database(options, cache: cache)
        let partitionOptions = RocksDBOptions.partition(options, cache: cache)
        let metadataOptions = RocksDBOptions.metadata(options, cache: cache)

        let existing = try RocksDB.listColumnFamilies(path: directory, options: dbOptions)
        var families: [(name: String, options: RocksDBOptions)] = [
            (TopicCatalog.columnFamilyName, metadataOptions),
            (OffsetStore.columnFamilyName, metadataOptions),
            (ProducerStateStore.columnFamilyName, metadataOptions),
            (AbortedTransactionIndex.columnFamilyName, metadataOptions),
            (TransactionStore.columnFamilyName, metadataOptions),
            (RocksDBMetadataStore.scramColumnFamilyName, metadataOptions),
            (RocksDBMetadataStore.aclsColumnFamilyName, metadataOptions),
        ]
        for name in existing where name.hasPrefix("log/") {
            families.append((name, partitionOptions))
        }
        let db = try RocksDB.open(path: directory, options: dbOptions, columnFamilies: families)
        do {
            guard let catalogCF = db.columnFamily(named: TopicCatalog.columnFamilyName),
                  let offsetsCF = db.columnFamily(named: OffsetStore.columnFamilyName),
                  let producersCF = db.columnFamily(named: ProducerStateStore.columnFamilyName),
                  let abortedCF = db.columnFamily(named: AbortedTransactionIndex.columnFamilyName),
                  let transactionsCF = db.columnFamily(named: TransactionStore.columnFamilyName)
            else { throw StorageError.rocksDB("metadata column families missing after open") }
            let store = LogStore(directory: directory, options: options, db: db,
                                 catalog: TopicCatalog(db: db, cf: catalogCF),
                                 offsets: OffsetStore(db: db, cf: offsetsCF, sync: options.syncEveryWrite),
                                 producerIds: try ProducerIdAllocator(db: db, catalog: catalogCF),
                                 producers: ProducerStateStore(db: db, cf: producersCF),
                                 abortedIndex: AbortedTransactionIndex(db: db, cf: abortedCF),
                                 transactions: TransactionStore(db: db, cf: transactionsCF, sync: options.syncEveryWrite),
                                 partitionOptions: partitionOptions, databaseOptions: dbOptions, cache: cache,
                                 logger: logger)
            try store.recover()
            return store
        } catch {
            db.close()
            throw error
        }
    }

    private func recover() throws {
        let records = try catalog.topics()
        var wanted = Set<String>()
        for record in records {
            for p in 0..<record.partitionCount {
                wanted.insert(PartitionLog.columnFamilyName(topicId: record.id, partition: p))
            }
        }
        // Column families left by a crash between a create's or delete's steps, each set fixed in
        // one RocksDB call (one OPTIONS-file rewrite, see `createTopic`).
        let orphans = db.columnFamilyNames.filter { $0.hasPrefix("log/") && !wanted.contains($0) }.sorted()
        if !orphans.isEmpty {
            logger.warning("dropping partition column families of no catalog topic",
                           metadata: ["count": "\(orphans.count)", "first": "\(orphans[0])"])
            try db.dropColumnFamilies(orphans.compactMap { db.columnFamily(named: $0) })
        }
        let missing = wanted.filter { db.columnFamily(named: $0) == nil }.sorted()
        if !missing.isEmpty {
            logger.warning("creating missing partition column families",
                           metadata: ["count": "\(missing.count)", "first": "\(missing[0])"])
            _ = try db.createColumnFamilies(missing, options: partitionOptions)
        }
        for record in records {
            var logs: [PartitionLog] = []
            logs.reserveCapacity(Int(record.partitionCount))
            for p in 0..<record.partitionCount {
                let name = PartitionLog.columnFamilyName(topicId: record.id, partition: p)
                guard let cf = db.columnFamily(named: name) else {
                    throw StorageError.rocksDB("column family \(name) missing after recovery")
                }
                logs.append(try makeLog(record, p, cf))
            }
            openTopics.withLock { $0[record.name] = OpenTopic(record: record, logs: logs) }
        }
        let liveIds = Set(records.map(\.id.base64))
        let stale = try catalog.topicIdsWithLogStartOffsets().subtracting(liveIds)
        let staleProducers = try producers.topicIds().subtracting(records.map(\.id))
        if !stale.isEmpty || !staleProducers.isEmpty {
            let batch = WriteBatch()
            for id in stale {
                guard let uuid = TopicRecord.uuid(base64: id) else { continue }
                try catalog.deleteLogStartOffsets(topicId: uuid, in: batch)
            }
            for id in staleProducers {
                try producers.deleteTopic(id, in: batch)
            }
            try db.write(batch, sync: true)
        }
        logger.info("opened log store", metadata: [
            "directory": "\(directory)", "topics": "\(records.count)",
            "partitions": "\(records.reduce(0) { $0 + Int($1.partitionCount) })",
        ])
    }

    private func makeLog(_ record: TopicRecord, _ partition: Int32, _ cf: ColumnFamily) throws -> PartitionLog {
        try PartitionLog(topicPartition: TopicPartition(record.name, partition), topicId: record.id, db: db,
                         cf: cf, catalog: catalog, producerStore: producers, abortedIndex: abortedIndex,
                         syncEveryWrite: options.syncEveryWrite)
    }

    // MARK: Lookups (in memory)

    /// Every topic, in name order.
    public func topics() -> [TopicRecord] {
        openTopics.withLock { $0.values.map(\.record) }.sorted { $0.name < $1.name }
    }

    public func topic(named name: String) -> TopicRecord? {
        openTopics.withLock { $0[name]?.record }
    }

    /// The partition's log; nil for an unknown topic or partition.
    public func partition(_ tp: TopicPartition) -> PartitionLog? {
        openTopics.withLock { openTopics in
            guard let topic = openTopics[tp.topic], tp.partition >= 0, Int(tp.partition) < topic.logs.count else {
                return nil
            }
            return topic.logs[Int(tp.partition)]
        }
    }

    // MARK: Topic administration

    /// Creates the topic's partition column families, then its catalog entry (the commit point).
    ///
    /// Cost: the column families are created in one RocksDB call, because RocksDB 7.8 rewrites
    /// and re-verifies its OPTIONS file (which lists every column family) after each creation
    /// call: one call per partition made a 1,000-partition topic take ~95 s, one per topic ~0.5 s.
    /// Produce and fetch on other partitions continue meanwhile.
    /// - Throws: `topicExists`, or `invalidArgument` for a partition count below 1.
    @discardableResult
    public func createTopic(name: String, partitions: Int32, configs: [String: String],
                            id: KafkaUUID = .random()) throws -> TopicRecord {
        guard partitions > 0 else { throw StorageError.invalidArgument("partition count \(partitions)") }
        return try adminLock.withLock {
            guard topic(named: name) == nil else { throw StorageError.topicExists(name) }
            let record = TopicRecord(name: name, id: id, partitionCount: partitions, configs: configs,
                                     createdAtMs: Int64(Date().timeIntervalSince1970 * 1000))
            let families = try createPartitionFamilies(record, 0..<partitions)
            let logs = try families.enumerated().map { try makeLog(record, Int32($0.offset), $0.element) }
            openTopics.withLock { $0[name] = OpenTopic(record: record, logs: logs) }
            return record
        }
    }

    /// Deletes the catalog entry, the topic's log start offsets, its producers' state and its
    /// committed offsets in one write (the commit point), then drops the partition column families in one RocksDB call
    /// (one OPTIONS-file rewrite, see `createTopic`). Operations on the topic's `PartitionLog`s
    /// then throw `columnFamilyDropped`.
    public func deleteTopic(name: String) throws {
        try adminLock.withLock {
            guard let topic = openTopics.withLock({ $0[name] }) else { throw StorageError.unknownTopic(name) }
            let batch = WriteBatch()
            try catalog.deleteTopic(named: name, in: batch)
            try catalog.deleteLogStartOffsets(topicId: topic.record.id, in: batch)
            try producers.deleteTopic(topic.record.id, in: batch)
            try abortedIndex.deleteTopic(topic.record.id, in: batch)
            try offsets.deleteTopic(name, in: batch)
            try db.write(batch, sync: true)
            openTopics.withLock { $0[name] = nil }
            do {
                try db.dropColumnFamilies(topic.logs.map(\.cf))
            } catch {
                // RocksDB may have dropped some: retry one by one, so that each is either dropped
                // or logged. The catalog no longer names them: the next startup drops what is left.
                logger.error("dropping the topic's partition column families failed",
                             metadata: ["topic": "\(name)", "error": "\(error)"])
                for log in topic.logs {
                    do {
                        try db.dropColumnFamily(log.cf)
                    } catch {
                        logger.error("dropping partition column family failed",
                                     metadata: ["cf": "\(log.cf.name)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Grows the topic to `newTotal` partitions (Kafka never shrinks a topic).
    /// - Throws: `unknownTopic`, or `invalidArgument` when `newTotal` is not above the current count.
    @discardableResult
    public func createPartitions(name: String, newTotal: Int32) throws -> TopicRecord {
        try adminLock.withLock {
            guard let topic = openTopics.withLock({ $0[name] }) else { throw StorageError.unknownTopic(name) }
            let current = topic.record.partitionCount
            guard newTotal > current else {
                throw StorageError.invalidArgument("topic \(name) has \(current) partitions, asked for \(newTotal)")
            }
            var record = topic.record
            record.partitionCount = newTotal
            let families = try createPartitionFamilies(record, current..<newTotal)
            let added = try families.enumerated().map { try makeLog(record, current + Int32($0.offset), $0.element) }
            openTopics.withLock { $0[name] = OpenTopic(record: record, logs: topic.logs + added) }
            return record
        }
    }

    /// Creates the column families of `record`'s partitions `partitions` (one RocksDB call), then
    /// writes `record` to the catalog (the commit point). When the catalog write fails, the new
    /// column families are dropped again. Caller holds `adminLock`.
    private func createPartitionFamilies(_ record: TopicRecord, _ partitions: Range<Int32>) throws -> [ColumnFamily] {
        let names = partitions.map { PartitionLog.columnFamilyName(topicId: record.id, partition: $0) }
        let families = try db.createColumnFamilies(names, options: partitionOptions)
        do {
            let batch = WriteBatch()
            try catalog.put(record, in: batch)
            try db.write(batch, sync: true)
        } catch {
            // The catalog does not name them: if this drop fails too, the next open drops them.
            try? db.dropColumnFamilies(families)
            throw error
        }
        return families
    }

    /// Replaces the topic's explicitly set configs with `configs`.
    @discardableResult
    public func alterTopicConfigs(name: String, _ configs: [String: String]) throws -> TopicRecord {
        try adminLock.withLock {
            guard let topic = openTopics.withLock({ $0[name] }) else { throw StorageError.unknownTopic(name) }
            var record = topic.record
            record.configs = configs
            let batch = WriteBatch()
            try catalog.put(record, in: batch)
            try db.write(batch, sync: true)
            openTopics.withLock { $0[name]?.record = record }
            return record
        }
    }

    // MARK: Durability and maintenance

    /// Writes buffered WAL data to the OS and, with `sync`, fsyncs it (the broker's
    /// `log.flush.interval.ms` timer). Failures are logged; returns false on failure.
    @discardableResult
    public func flushWAL(sync: Bool) -> Bool {
        do {
            try db.flushWAL(sync: sync)
            return true
        } catch {
            logger.error("WAL flush failed", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Writes a consistent, openable copy of the whole store (every topic, offset and catalog
    /// entry) to `path`, which must not exist yet.
    public func checkpoint(to path: String) throws {
        try db.checkpoint(to: path)
    }

    /// RocksDB's statistics since the database opened; nil when not collected.
    public func statistics() -> RocksDBStatistics? {
        databaseOptions.statisticsText().map(RocksDBStatistics.init(parsing:))
    }

    /// `PartitionLog.expireProducers` on every partition; returns how many producers went.
    @discardableResult
    public func expireProducers(nowMs: Int64, expirationMs: Int64) throws -> Int {
        var total = 0
        for log in openTopics.withLock({ $0.values.flatMap(\.logs) }) where !log.isDeleted {
            do {
                total += try log.expireProducers(nowMs: nowMs, expirationMs: expirationMs)
            } catch StorageError.columnFamilyDropped {
                continue  // its topic was deleted meanwhile
            }
        }
        return total
    }

    /// Flushes every partition's memtables to SST files and waits (tools and benchmarks: so that
    /// what was appended is counted in the flush statistics).
    public func flushAllPartitions() throws {
        for log in openTopics.withLock({ $0.values.flatMap(\.logs) }) {
            try db.flush(log.cf)
        }
    }

    /// SST files of the partition logs: at level 0 (flushed, not yet compacted) and in all.
    public func partitionFileCounts() -> (levelZero: Int, total: Int) {
        let logs = openTopics.withLock { $0.values.flatMap(\.logs) }
        var levelZero = 0
        var total = 0
        for log in logs {
            for level in 0...6 {
                let n = (try? db.stringProperty(log.cf, "rocksdb.num-files-at-level\(level)")).flatMap { $0.flatMap { Int($0) } } ?? 0
                if level == 0 { levelZero += n }
                total += n
            }
        }
        return (levelZero, total)
    }

    /// Bytes currently held by the shared block cache.
    public var blockCacheUsageBytes: Int { cache.usageBytes }

    /// An integer RocksDB property summed over every column family (e.g.
    /// "rocksdb.cur-size-all-mem-tables", "rocksdb.estimate-pending-compaction-bytes"); the admin metrics.
    public func integerPropertyTotal(_ name: String) -> UInt64 {
        db.columnFamilyNames.reduce(0) { sum, family in
            sum &+ ((db.columnFamily(named: family)).flatMap { try? db.integerProperty($0, name) } ?? 0)
        }
    }

    /// Closes the database. Later operations on the store or its logs throw `closed`.
    public func close() {
        db.close()
        logger.info("closed log store", metadata: ["directory": "\(directory)"])
    }
}

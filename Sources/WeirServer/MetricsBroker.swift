import CoreMetrics
import Foundation
import KafkaProtocol
import Prometheus
import Synchronization
import WeirBroker
import WeirStorage
#if canImport(Glibc)
import Glibc
#endif

/// The broker's metrics, in one Prometheus registry of its own (never the process-global
/// `MetricsSystem`, so that several brokers — tests — can live in one process), made through
/// swift-metrics with swift-prometheus's factory. `GET /metrics` calls `scrape()`.
///
/// Counted as they happen: requests (`RequestMetrics`) and retention passes. Read at scrape time
/// (gauges refreshed, cumulative RocksDB tickers turned into counters by their increase):
///
///     weir_topics, weir_partitions                                  gauges
///     weir_partition_log_start_offset{topic,partition}              gauge
///     weir_partition_log_end_offset{topic,partition}                gauge
///     weir_consumer_group_lag{group,topic,partition}                gauge: log end − committed offset (≥ 0)
///     weir_retention_passes_total                                   counter
///     weir_retention_deleted_batches_total / _deleted_bytes_total   counters (stored batch bytes deleted)
///     weir_rocksdb_memtable_bytes                                   gauge (rocksdb.cur-size-all-mem-tables, all CFs)
///     weir_rocksdb_block_cache_bytes                                gauge (shared block cache usage)
///     weir_rocksdb_pending_compaction_bytes                         gauge (rocksdb.estimate-pending-compaction-bytes)
///     weir_rocksdb_write_stall_seconds_total                        counter (rocksdb.stall.micros)
///     weir_rocksdb_flush_write_bytes_total                          counter (rocksdb.flush.write.bytes)
///     weir_rocksdb_compaction_write_bytes_total                     counter (rocksdb.compact.write.bytes)
///     weir_data_dir_free_bytes                                      gauge (free space of log.dirs' file system)
///     weir_storage_failing                                          gauge (1 while storage writes fail, e.g. a full disk)
///     weir_transactions_open                                        gauge (transactional ids with an Ongoing transaction)
///     weir_transaction_oldest_open_seconds                          gauge (age of the oldest open transaction; 0 when none)
///
/// Series of deleted partitions and of lag that is gone are removed at the next scrape.
public final class BrokerMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Hand this to the dispatcher (`RequestDispatcher(…, observer: metrics.requests)`).
    public let requests: RequestMetrics
    let store: LogStore
    let groups: GroupCoordinator
    let startedAt = ContinuousClock.now
    private let factory: PrometheusMetricsFactory

    private let retentionPasses: CoreMetrics.Counter
    private let retentionBatches: CoreMetrics.Counter
    private let retentionBytes: CoreMetrics.Counter

    private let topicCount: CoreMetrics.Gauge
    private let partitionCount: CoreMetrics.Gauge
    private let memtableBytes: CoreMetrics.Gauge
    private let blockCacheBytes: CoreMetrics.Gauge
    private let pendingCompactionBytes: CoreMetrics.Gauge
    private let dataDirFreeBytes: CoreMetrics.Gauge
    private let stallSeconds: CoreMetrics.FloatingPointCounter
    private let flushWriteBytes: CoreMetrics.Counter
    private let compactionWriteBytes: CoreMetrics.Counter
    private let storageFailing: CoreMetrics.Gauge
    private let storageHealth: StorageHealth?
    private let transactions: TransactionCoordinator?
    private let transactionsOpen: CoreMetrics.Gauge
    private let oldestTransaction: CoreMetrics.Gauge

    /// What the last scrape left: per-series gauges to update or remove, tickers already counted.
    private struct ScrapeState {
        var partitions: [TopicPartition: (start: CoreMetrics.Gauge, end: CoreMetrics.Gauge)] = [:]
        var lag: [LagKey: CoreMetrics.Gauge] = [:]
        var stallMicros: UInt64 = 0
        var flushWriteBytes: UInt64 = 0
        var compactionWriteBytes: UInt64 = 0
    }

    struct LagKey: Hashable {
        var group: String
        var partition: TopicPartition
    }

    private let state = Mutex(ScrapeState())

    /// - Parameter apiKeys: the APIs the dispatcher serves (`HandlerRegistry.advertised`).
    public init(store: LogStore, groups: GroupCoordinator, apiKeys: [Int16], storageHealth: StorageHealth? = nil,
                transactions: TransactionCoordinator? = nil) {
        self.storageHealth = storageHealth
        self.transactions = transactions
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["weir_request_duration_seconds"] = RequestMetrics.durationBuckets
        self.registry = registry
        self.factory = factory
        self.store = store
        self.groups = groups
        requests = RequestMetrics(apiKeys: apiKeys, factory: factory)
        retentionPasses = CoreMetrics.Counter(label: "weir_retention_passes_total", factory: factory)
        retentionBatches = CoreMetrics.Counter(label: "weir_retention_deleted_batches_total", factory: factory)
        retentionBytes = CoreMetrics.Counter(label: "weir_retention_deleted_bytes_total", factory: factory)
        topicCount = CoreMetrics.Gauge(label: "weir_topics", factory: factory)
        partitionCount = CoreMetrics.Gauge(label: "weir_partitions", factory: factory)
        memtableBytes = CoreMetrics.Gauge(label: "weir_rocksdb_memtable_bytes", factory: factory)
        blockCacheBytes = CoreMetrics.Gauge(label: "weir_rocksdb_block_cache_bytes", factory: factory)
        pendingCompactionBytes = CoreMetrics.Gauge(label: "weir_rocksdb_pending_compaction_bytes", factory: factory)
        dataDirFreeBytes = CoreMetrics.Gauge(label: "weir_data_dir_free_bytes", factory: factory)
        storageFailing = CoreMetrics.Gauge(label: "weir_storage_failing", factory: factory)
        transactionsOpen = CoreMetrics.Gauge(label: "weir_transactions_open", factory: factory)
        oldestTransaction = CoreMetrics.Gauge(label: "weir_transaction_oldest_open_seconds", factory: factory)
        stallSeconds = CoreMetrics.FloatingPointCounter(label: "weir_rocksdb_write_stall_seconds_total", factory: factory)
        flushWriteBytes = CoreMetrics.Counter(label: "weir_rocksdb_flush_write_bytes_total", factory: factory)
        compactionWriteBytes = CoreMetrics.Counter(label: "weir_rocksdb_compaction_write_bytes_total", factory: factory)
    }

    /// One retention pass finished (`RetentionService`), whether or not it deleted anything.
    func retentionPassed(batches: Int, bytes: Int64) {
        retentionPasses.increment()
        if batches > 0 { retentionBatches.increment(by: batches) }
        if bytes > 0 { retentionBytes.increment(by: bytes) }
    }

    /// Milliseconds since these metrics (the broker) started.
    var uptimeMs: Int64 {
        let c = startedAt.duration(to: .now).components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    /// Refreshes the scrape-time gauges and counters, then renders the Prometheus text exposition.
    /// Blocking RocksDB property reads: call it off the event loops.
    public func scrape() async -> [UInt8] {
        let offsets = partitionOffsets()
        let lag = await consumerLag(logEndOffsets: offsets.mapValues(\.logEndOffset))
        let stats = store.statistics()
        memtableBytes.record(store.integerPropertyTotal("rocksdb.cur-size-all-mem-tables"))
        pendingCompactionBytes.record(store.integerPropertyTotal("rocksdb.estimate-pending-compaction-bytes"))
        blockCacheBytes.record(store.blockCacheUsageBytes)
        if let free = Self.freeBytes(of: store.directory) { dataDirFreeBytes.record(free) }
        storageFailing.record(storageHealth?.failing == nil ? 0 : 1)
        if let transactions {
            let open = transactions.records().values.filter { $0.state == .ongoing && $0.startTimestampMs >= 0 }
            let nowMs = WallClock.system.nowMs()
            transactionsOpen.record(open.count)
            oldestTransaction.record(open.map { Double(max(0, nowMs - $0.startTimestampMs)) / 1000 }.max() ?? 0)
        }
        topicCount.record(store.topics().count)
        partitionCount.record(offsets.count)
        let factory = self.factory
        state.withLock { s in
            for (tp, o) in offsets {
                let gauges = s.partitions[tp] ?? {
                    let dimensions = [("topic", tp.topic), ("partition", "\(tp.partition)")]
                    return (CoreMetrics.Gauge(label: "weir_partition_log_start_offset", dimensions: dimensions, factory: factory),
                            CoreMetrics.Gauge(label: "weir_partition_log_end_offset", dimensions: dimensions, factory: factory))
                }()
                gauges.start.record(o.logStartOffset)
                gauges.end.record(o.logEndOffset)
                s.partitions[tp] = gauges
            }
            for (tp, gauges) in s.partitions where offsets[tp] == nil {
                gauges.start.destroy()
                gauges.end.destroy()
                s.partitions[tp] = nil
            }
            for (key, value) in lag {
                let gauge = s.lag[key] ?? CoreMetrics.Gauge(label: "weir_consumer_group_lag", dimensions: [
                    ("group", key.group), ("topic", key.partition.topic), ("partition", "\(key.partition.partition)"),
                ], factory: factory)
                gauge.record(value)
                s.lag[key] = gauge
            }
            for (key, gauge) in s.lag where lag[key] == nil {
                gauge.destroy()
                s.lag[key] = nil
            }
            if let stats {
                if stats.stallMicros > s.stallMicros {
                    stallSeconds.increment(by: Double(stats.stallMicros - s.stallMicros) / 1_000_000)
                    s.stallMicros = stats.stallMicros
                }
                if stats.flushWriteBytes > s.flushWriteBytes {
                    flushWriteBytes.increment(by: stats.flushWriteBytes - s.flushWriteBytes)
                    s.flushWriteBytes = stats.flushWriteBytes
                }
                if stats.compactionWriteBytes > s.compactionWriteBytes {
                    compactionWriteBytes.increment(by: stats.compactionWriteBytes - s.compactionWriteBytes)
                    s.compactionWriteBytes = stats.compactionWriteBytes
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(16 << 10)
        registry.emit(into: &out)
        return out
    }

    /// Every open partition's offsets.
    func partitionOffsets() -> [TopicPartition: LogOffsets] {
        var result: [TopicPartition: LogOffsets] = [:]
        for topic in store.topics() {
            for p in 0..<topic.partitionCount {
                let tp = TopicPartition(topic.name, p)
                guard let log = store.partition(tp), log.topicId == topic.id else { continue }
                result[tp] = log.offsets
            }
        }
        return result
    }

    /// Per group and committed partition that still exists: log end offset − committed offset, at least 0.
    func consumerLag(logEndOffsets: [TopicPartition: Int64]) async -> [LagKey: Int64] {
        var lag: [LagKey: Int64] = [:]
        for listing in await groups.listGroups() {
            let outcome = await groups.fetchOffsets(groupId: listing.groupId, partitions: nil)
            for case let (tp, committed?) in outcome.offsets {
                guard let end = logEndOffsets[tp] else { continue }
                lag[LagKey(group: listing.groupId, partition: tp)] = max(0, end - max(0, committed.offset))
            }
        }
        return lag
    }

    /// Bytes an unprivileged process may still write on the file system holding `path`.
    static func freeBytes(of path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
    }
}

import Foundation
import KafkaProtocol
import NIOCore
import NIOHTTP1
import NIOPosix
import WeirBroker
import WeirStorage

/// The web console's JSON endpoints under `/v1/` — what the page and scripts both read — and its
/// write actions. `AdminAPI` routes here; every answer is JSON with snake_case keys, every error
/// `{"error": "…"}`. The README's "Web console" section lists the shapes.
///
/// Bounded work: storage reads (offsets, two-seek timestamp bounds, RocksDB size estimates, a
/// records page of at most `maxRecords` records and `maxPageBytes` of stored batches) run on the
/// broker's I/O pool, never on an event loop; nothing scans a whole log.
///
/// Writes (create/delete topic, reset a group's offsets) are refused with 403 unless
/// `admin.console.writable=true`.
public struct ConsoleAPI: Sendable {
    let brokerId: Int32
    let config: BrokerConfig
    let store: LogStore
    let topics: TopicManager
    let groups: GroupCoordinator
    let monitor: ConsoleMonitor
    let io: NIOThreadPool
    let writable: Bool
    let uptimeMs: @Sendable () -> Int64

    /// A records page holds at most this many records…
    static let maxRecords = 500
    /// …and reads at most this many bytes of stored batches (one larger batch is still read
    /// whole, so that it can be seen: it is bounded by message.max.bytes).
    static let maxPageBytes = 4 << 20
    static let defaultRecords = 50

    public init(brokerId: Int32, config: BrokerConfig, store: LogStore, topics: TopicManager, groups: GroupCoordinator,
                monitor: ConsoleMonitor, io: NIOThreadPool, writable: Bool, uptimeMs: @escaping @Sendable () -> Int64) {
        self.brokerId = brokerId
        self.config = config
        self.store = store
        self.topics = topics
        self.groups = groups
        self.monitor = monitor
        self.io = io
        self.writable = writable
        self.uptimeMs = uptimeMs
    }

    /// Runs `body` on the I/O pool; a storage failure is a 500 naming it.
    func onPool(_ body: @escaping @Sendable () throws -> AdminResponse) async -> AdminResponse {
        do {
            return try await io.runIfActive(body)
        } catch {
            return .error(.internalServerError, "storage read failed: \(error)")
        }
    }

    // MARK: Broker

    /// `GET /v1/broker`.
    func broker() async -> AdminResponse {
        let (store, monitor, brokerId, writable, uptime) = (store, monitor, brokerId, writable, uptimeMs())
        return await onPool {
            let topics = store.topics()
            let retention = monitor.retention
            let last: Any = retention.last.map { p -> [String: Any] in
                ["ended_at_ms": p.endedAtMs, "duration_ms": p.durationMs, "deleted_batches": p.deletedBatches,
                 "deleted_bytes": p.deletedBytes, "compacted_partitions": p.compactedPartitions,
                 "compacted_records": p.compactedRecords, "compacted_bytes": p.compactedBytes]
            } ?? NSNull()
            let rates = monitor.rates.map { p -> [String: Any] in
                ["time_ms": p.timeMs, "produce_records_per_sec": p.producedRecordsPerSecond,
                 "produce_bytes_per_sec": p.producedBytesPerSecond, "fetch_records_per_sec": p.fetchedRecordsPerSecond,
                 "fetch_bytes_per_sec": p.fetchedBytesPerSecond]
            }
            return .object(.ok, [
                "broker_id": brokerId, "version": WeirVersion.current, "uptime_ms": uptime, "writable": writable,
                "topics": topics.count, "partitions": topics.reduce(0) { $0 + Int($1.partitionCount) },
                "data_dir": store.directory, "bytes_on_disk": Self.directoryBytes(store.directory),
                "rocksdb": [
                    "memtable_bytes": store.integerPropertyTotal("rocksdb.cur-size-all-mem-tables"),
                    "block_cache_bytes": store.blockCacheUsageBytes,
                    "pending_compaction_bytes": store.integerPropertyTotal("rocksdb.estimate-pending-compaction-bytes"),
                ] as [String: Any],
                "retention": ["passes": retention.passes, "last_pass": last] as [String: Any],
                "rates": rates,
            ])
        }
    }

    /// Bytes of the regular files under `path` (the database directory: SSTs, WAL, manifest).
    static func directoryBytes(_ path: String) -> Int64 {
        guard let walk = FileManager.default.enumerator(atPath: path) else { return 0 }
        var total: Int64 = 0
        while let name = walk.nextObject() as? String {
            var s = stat()
            if stat(path + "/" + name, &s) == 0, (s.st_mode & S_IFMT) == S_IFREG { total += Int64(s.st_size) }
        }
        return total
    }

    // MARK: Topics

    /// One partition's figures. `records` is log end − log start (a compacted topic holds
    /// fewer); `bytes` is RocksDB's estimate of its on-disk size (compressed SSTs + memtables).
    static func partitionFigures(_ log: PartitionLog) throws -> [String: Any] {
        let offsets = log.offsets
        let bounds = try log.timestampBounds()
        let p = log.topicPartition.partition
        return [
            "partition": p, "log_start_offset": offsets.logStartOffset, "log_end_offset": offsets.logEndOffset,
            "high_watermark": offsets.highWatermark, "records": offsets.logEndOffset - offsets.logStartOffset,
            "bytes": try Self.sizeBytes(log),
            "first_timestamp": bounds.map { $0.first as Any } ?? NSNull(),
            "last_timestamp": bounds.map { $0.last as Any } ?? NSNull(),
            // One broker: it leads every partition. Replication will fill these from the controller.
            "leader": 1, "replicas": [1], "isr": [1],
        ]
    }

    /// RocksDB's size estimate, but 0 for a log holding no offsets: an empty memtable's arena
    /// (2 KiB) and not-yet-compacted deleted batches are not data the partition holds.
    static func sizeBytes(_ log: PartitionLog) throws -> UInt64 {
        let offsets = log.offsets
        return offsets.logEndOffset > offsets.logStartOffset ? try log.approximateSizeBytes() : 0
    }

    /// The open partitions of `record` (a topic deleted and re-created meanwhile is skipped).
    func logs(of record: TopicRecord) -> [PartitionLog] {
        (0..<record.partitionCount).compactMap { p in
            store.partition(TopicPartition(record.name, p)).flatMap { $0.topicId == record.id ? $0 : nil }
        }
    }

    func topicSummary(_ record: TopicRecord) throws -> [String: Any] {
        let effective = topics.effectiveConfig(of: record)
        var records: Int64 = 0
        var bytes: UInt64 = 0
        for log in logs(of: record) {
            records += log.logEndOffset - log.logStartOffset
            bytes += try Self.sizeBytes(log)
        }
        return [
            "name": record.name, "topic_id": record.id.base64, "partitions": record.partitionCount,
            "records": records, "bytes": bytes, "retention_ms": effective.retentionMs,
            "retention_bytes": effective.retentionBytes,
            "cleanup_policy": record.configs["cleanup.policy"] ?? config.cleanupPolicy,
        ]
    }

    /// `GET /v1/topics`: every topic, by name.
    func listTopics() async -> AdminResponse {
        let api = self
        return await onPool {
            let list = try api.store.topics().sorted { $0.name < $1.name }.map(api.topicSummary)
            return .object(.ok, ["topics": list])
        }
    }

    /// `GET /v1/topics/{name}`: the summary, each partition, and every topic config with its
    /// source (`topic` when set on the topic, else `default`, the broker's value).
    func topic(_ name: String) async -> AdminResponse {
        let api = self
        return await onPool {
            guard let record = api.store.topic(named: name) else { return .error(.notFound, "unknown topic: \(name)") }
            var body = try api.topicSummary(record)
            body["partition_details"] = try api.logs(of: record).map(Self.partitionFigures)
            body["configs"] = TopicConfigs.all.map { def -> [String: Any] in
                let explicit = record.configs[def.name]
                return ["name": def.name, "value": explicit ?? def.defaultValue(api.config),
                        "source": explicit == nil ? "default" : "topic",
                        "note": def.noEffect.map { $0 as Any } ?? NSNull()]
            }
            return .object(.ok, body)
        }
    }
}

/// The version the console and `/v1/broker` report.
public enum WeirVersion {
    public static let current = "0.1.0"
}

extension ConsoleAPI {
    /// Answers a console route (`AdminAPI` hands every one here).
    func respond(_ route: AdminRoute, uri: String, body: ByteBuffer, contentType: String? = nil) async -> AdminResponse {
        switch route {
        case .consoleAsset(let asset):
            var response = AdminResponse(status: .ok, contentType: asset.contentType, body: Array(asset.text.utf8))
            // The page is fixed per binary; its data comes from the JSON endpoints, never cached.
            response.headers.append(("Cache-Control", "no-cache"))
            return response
        case .broker: return await broker()
        case .listTopics: return await listTopics()
        case .createTopic: return await createTopic(body, contentType: contentType)
        case .topic(let name): return await topic(name)
        case .deleteTopic(let name): return await deleteTopic(name)
        case .records(let topic, let partition):
            return await records(topic: topic, partition: partition, query: AdminQuery.parse(uri))
        case .listGroups: return await listGroups()
        case .group(let id): return await group(id)
        case .resetOffsets(let id): return await resetOffsets(id, body, contentType: contentType)
        case .health, .metrics, .listSnapshots, .createSnapshot, .notFound, .methodNotAllowed:
            return .error(.notFound, "no such console endpoint: \(uri)")
        }
    }
}

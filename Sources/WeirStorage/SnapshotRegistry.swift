import Foundation
import KafkaProtocol
import Synchronization

/// The snapshots (RocksDB checkpoints) this broker has taken, kept in its own database so that
/// the list survives restarts, and the one place that takes them.
///
/// On-disk layout — column family `catalog` (shared with `TopicCatalog`, under a prefix of its own):
///
///     key                                              value
///     "snapshot/" + created_at_ms (8-byte BE Int64)    SnapshotRecord as JSON (UTF-8, keys sorted), e.g.
///                                                      {"created_at_ms":1700000000000,
///                                                       "partitions":[{"log_end_offset":42,
///                                                         "log_start_offset":0,"partition":0,"topic":"t"}],
///                                                       "path":"/backups/weir-1"}
///
/// Big-endian times make bytewise order time order, so listing is one prefix scan, oldest first.
/// `created_at_ms` is unique: a snapshot taken in the same millisecond as the previous one is
/// stamped one millisecond later. Each record is written in one WriteBatch, fsynced, after its
/// checkpoint is complete — so a checkpoint holds the records of the snapshots before it, not
/// its own, and a crash between the two leaves a checkpoint directory that is not listed.
///
/// Thread-safe; `take` is serialized by a lock of its own (a checkpoint flushes the memtables and
/// may take seconds, so call it off the event loops).
public final class SnapshotRegistry: Sendable {
    static let prefix = Array("snapshot/".utf8)

    /// Why a snapshot was not taken, for the caller to answer with.
    public enum Failure: Error, Equatable, CustomStringConvertible {
        /// The target path exists already (RocksDB creates the directory itself).
        case pathExists(String)
        /// The target's parent directory does not exist.
        case parentMissing(String)
        /// The path is empty.
        case emptyPath

        public var description: String {
            switch self {
            case .pathExists(let p): return "\(p) already exists"
            case .parentMissing(let p): return "parent directory \(p) does not exist"
            case .emptyPath: return "path is empty"
            }
        }
    }

    private let store: LogStore
    private let cf: ColumnFamily
    /// The last created_at_ms handed out (nil until read); held across a whole `take`.
    private let taking = Mutex<Int64?>(nil)

    public init(store: LogStore) throws {
        guard let cf = store.db.columnFamily(named: TopicCatalog.columnFamilyName) else {
            throw StorageError.rocksDB("column family \(TopicCatalog.columnFamilyName) missing")
        }
        self.store = store
        self.cf = cf
    }

    /// Every snapshot taken, oldest first.
    public func list() throws -> [SnapshotRecord] {
        try db.withIterator(cf, lowerBound: Self.prefix, upperBound: Self.prefix.prefixSuccessor()) { it in
            var records: [SnapshotRecord] = []
            it.seek(Self.prefix)
            while it.isValid {
                records.append(try Self.decode(it.value, key: it.keyBytes()))
                it.next()
            }
            try it.checkError()
            return records
        }
    }

    /// The log start and end offset of every partition now, by topic then partition.
    public func currentPartitions() -> [SnapshotRecord.Partition] {
        var partitions: [SnapshotRecord.Partition] = []
        for topic in store.topics() {
            for p in 0..<topic.partitionCount {
                guard let log = store.partition(TopicPartition(topic.name, p)), log.topicId == topic.id else { continue }
                let offsets = log.offsets
                partitions.append(.init(topic: topic.name, partition: p, logStartOffset: offsets.logStartOffset,
                                        logEndOffset: offsets.logEndOffset))
            }
        }
        return partitions
    }

    /// Reads every partition's offsets, checkpoints the whole database to `path` (made absolute),
    /// then records the snapshot. The checkpoint holds at least the listed end offsets; a log
    /// start offset that retention moves in between is later in the checkpoint than listed.
    /// Blocks: run it off the event loops.
    public func take(to path: String, nowMs: Int64) throws -> SnapshotRecord {
        guard !path.isEmpty else { throw Failure.emptyPath }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let absolute = url.path
        let parent = url.deletingLastPathComponent().path
        return try taking.withLock { last in
            if FileManager.default.fileExists(atPath: absolute) { throw Failure.pathExists(absolute) }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: parent, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw Failure.parentMissing(parent)
            }
            let previous = try last ?? latestCreatedAtMs()
            let createdAtMs = max(nowMs, (previous ?? Int64.min) &+ 1)
            let partitions = currentPartitions()
            do {
                try store.checkpoint(to: absolute)
            } catch {
                // Created between the check and the checkpoint.
                if FileManager.default.fileExists(atPath: absolute) { throw Failure.pathExists(absolute) }
                throw error
            }
            let record = SnapshotRecord(path: absolute, createdAtMs: createdAtMs, partitions: partitions)
            let batch = WriteBatch()
            try batch.put(cf, key: Self.key(createdAtMs), value: try Self.encode(record))
            try db.write(batch, sync: true)
            last = createdAtMs
            return record
        }
    }

    private var db: RocksDB { store.db }

    private func latestCreatedAtMs() throws -> Int64? {
        try db.withIterator(cf, lowerBound: Self.prefix, upperBound: Self.prefix.prefixSuccessor()) { it in
            it.seekToLast()
            guard it.isValid else {
                try it.checkError()
                return nil
            }
            return it.key.bigEndian(Int64.self, at: Self.prefix.count)
        }
    }

    static func key(_ createdAtMs: Int64) -> [UInt8] {
        prefix + withUnsafeBytes(of: createdAtMs.bigEndian) { Array($0) }
    }

    static func encode(_ record: SnapshotRecord) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(record))
    }

    static func decode(_ value: UnsafeRawBufferPointer, key: [UInt8]) throws -> SnapshotRecord {
        do {
            return try JSONDecoder().decode(SnapshotRecord.self, from: Data(value))
        } catch {
            throw StorageError.corrupt("catalog key \(String(decoding: key.prefix(prefix.count), as: UTF8.self))…: \(error)")
        }
    }
}

/// One snapshot: where its checkpoint is, when it was taken, and each partition's offsets read
/// just before it. Its JSON (snake_case keys) is both the stored value and the admin API's.
public struct SnapshotRecord: Sendable, Equatable, Codable {
    public struct Partition: Sendable, Equatable, Codable {
        public var topic: String
        public var partition: Int32
        public var logStartOffset: Int64
        public var logEndOffset: Int64

        public init(topic: String, partition: Int32, logStartOffset: Int64, logEndOffset: Int64) {
            self.topic = topic
            self.partition = partition
            self.logStartOffset = logStartOffset
            self.logEndOffset = logEndOffset
        }

        enum CodingKeys: String, CodingKey {
            case topic, partition
            case logStartOffset = "log_start_offset"
            case logEndOffset = "log_end_offset"
        }
    }

    public var path: String
    public var createdAtMs: Int64
    public var partitions: [Partition]

    public init(path: String, createdAtMs: Int64, partitions: [Partition]) {
        self.path = path
        self.createdAtMs = createdAtMs
        self.partitions = partitions
    }

    enum CodingKeys: String, CodingKey {
        case path
        case createdAtMs = "created_at_ms"
        case partitions
    }
}

import Foundation
import KafkaProtocol

/// The topic catalog: which topics exist, and per-partition state that must survive a restart.
///
/// On-disk layout — column family `catalog`:
///
///     key                                              value
///     "topic/" + topic name (UTF-8)                    TopicRecord as JSON (UTF-8, keys sorted), e.g.
///                                                      {"configs":{},"createdAtMs":1700000000000,
///                                                       "id":"<22-char base64url topic id>","name":"t",
///                                                       "partitionCount":3}
///     "lso/" + topic id (base64url) + "/" + partition  log start offset: 8-byte big-endian Int64
///               (partition in decimal ASCII)           (written only when DeleteRecords/retention
///                                                      moves it; absent = first stored batch)
///     "producer-ids"                                   end of the reserved producer id block:
///                                                      8-byte big-endian Int64 (see
///                                                      `ProducerIdAllocator`)
///
/// The catalog entry is the commit point of topic creation and deletion: `LogStore` creates the
/// partition column families before writing it and drops them after deleting it, and at startup
/// drops any partition column family the catalog does not name.
///
/// Thread-safe: it only issues RocksDB calls.
public final class TopicCatalog: Sendable {
    public static let columnFamilyName = "catalog"
    static let topicPrefix = Array("topic/".utf8)
    static let logStartPrefix = Array("lso/".utf8)

    let db: RocksDB
    let cf: ColumnFamily

    init(db: RocksDB, cf: ColumnFamily) {
        self.db = db
        self.cf = cf
    }

    // MARK: Topics

    /// Every stored topic, in name order.
    public func topics() throws -> [TopicRecord] {
        let prefix = Self.topicPrefix
        return try db.withIterator(cf, lowerBound: prefix, upperBound: prefix.prefixSuccessor()) { it in
            var records: [TopicRecord] = []
            it.seek(prefix)
            while it.isValid {
                records.append(try Self.decode(it.value, key: String(decoding: it.key, as: UTF8.self)))
                it.next()
            }
            try it.checkError()
            return records
        }
    }

    public func topic(named name: String) throws -> TopicRecord? {
        guard let bytes = try db.get(cf, key: Self.topicKey(name)) else { return nil }
        return try bytes.withUnsafeBytes { try Self.decode($0, key: "topic/\(name)") }
    }

    public func put(_ record: TopicRecord, in batch: WriteBatch) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try batch.put(cf, key: Self.topicKey(record.name), value: try encoder.encode(record))
    }

    public func deleteTopic(named name: String, in batch: WriteBatch) throws {
        try batch.delete(cf, key: Self.topicKey(name))
    }

    // MARK: Log start offsets

    public func logStartOffset(topicId: KafkaUUID, partition: Int32) throws -> Int64? {
        guard let bytes = try db.get(cf, key: Self.logStartKey(topicId, partition)) else { return nil }
        guard let value = bytes.withUnsafeBytes({ OffsetKey.decode($0) }) else {
            throw StorageError.corrupt("log start offset of \(topicId)/\(partition) has \(bytes.count) bytes")
        }
        return value
    }

    public func setLogStartOffset(_ offset: Int64, topicId: KafkaUUID, partition: Int32, in batch: WriteBatch) throws {
        try batch.put(cf, key: Self.logStartKey(topicId, partition), value: OffsetKey(offset))
    }

    /// Removes every partition's log start offset of the topic (one range tombstone).
    public func deleteLogStartOffsets(topicId: KafkaUUID, in batch: WriteBatch) throws {
        let prefix = Self.logStartPrefix + Array("\(topicId.base64)/".utf8)
        guard let end = prefix.prefixSuccessor() else { return }
        try batch.deleteRange(cf, from: prefix, to: end)
    }

    /// Topic IDs (base64url) that have log start offsets stored: lets startup remove those of
    /// topics whose deletion was interrupted.
    func topicIdsWithLogStartOffsets() throws -> Set<String> {
        let prefix = Self.logStartPrefix
        return try db.withIterator(cf, lowerBound: prefix, upperBound: prefix.prefixSuccessor()) { it in
            var ids = Set<String>()
            it.seek(prefix)
            while it.isValid {
                let rest = it.key.dropFirst(prefix.count)
                guard let slash = rest.firstIndex(of: UInt8(ascii: "/")) else {
                    throw StorageError.corrupt("catalog key without partition: \(String(decoding: it.key, as: UTF8.self))")
                }
                let id = String(decoding: rest[rest.startIndex..<slash], as: UTF8.self)
                ids.insert(id)
                // Skip the topic's other partitions.
                guard let next = (prefix + Array("\(id)/".utf8)).prefixSuccessor() else { break }
                it.seek(next)
            }
            try it.checkError()
            return ids
        }
    }

    // MARK: Encoding

    static func topicKey(_ name: String) -> [UInt8] {
        topicPrefix + Array(name.utf8)
    }

    static func logStartKey(_ topicId: KafkaUUID, _ partition: Int32) -> [UInt8] {
        logStartPrefix + Array("\(topicId.base64)/\(partition)".utf8)
    }

    private static func decode(_ value: UnsafeRawBufferPointer, key: String) throws -> TopicRecord {
        do {
            return try JSONDecoder().decode(TopicRecord.self, from: Data(value))
        } catch {
            throw StorageError.corrupt("catalog entry \(key): \(error)")
        }
    }
}

import Foundation
import KafkaProtocol

/// Committed consumer-group offsets.
///
/// On-disk layout — column family `offsets`:
///
///     key    UInt16 big-endian byte length of the group id, the group id (UTF-8),
///            the topic name (UTF-8), the partition as Int32 big-endian (last 4 bytes)
///     value  version byte 0,
///            offset Int64 BE, leaderEpoch Int32 BE, commitTimestampMs Int64 BE,
///            metadata: Int32 BE byte length (-1 = null) then UTF-8 bytes
///
/// The length prefix makes each group's keys one contiguous range that no other group's keys
/// share (group "a" never sees group "ab"), so fetching or deleting a group is a prefix scan.
///
/// Thread-safe: only RocksDB calls. Writes honour the store's durability (`sync`).
public final class OffsetStore: Sendable {
    public static let columnFamilyName = "offsets"

    let db: RocksDB
    let cf: ColumnFamily
    let sync: Bool

    init(db: RocksDB, cf: ColumnFamily, sync: Bool) {
        self.db = db
        self.cf = cf
        self.sync = sync
    }

    /// Stores all of `offsets` for `group` atomically (one write).
    public func commit(group: String, offsets: [TopicPartition: CommittedOffset]) throws {
        let batch = WriteBatch()
        try commit(group: group, offsets: offsets, in: batch)
        try db.write(batch, sync: sync)
    }

    /// Adds the commit to `batch` (a transaction's offsets, written with its end).
    func commit(group: String, offsets: [TopicPartition: CommittedOffset], in batch: WriteBatch) throws {
        let prefix = try Self.groupPrefix(group)
        for (tp, committed) in offsets {
            try batch.put(cf, key: Self.key(prefix: prefix, tp), value: Self.encode(committed))
        }
    }

    /// The committed offsets of `group` for `partitions` (those without a commit are absent),
    /// or for every partition the group committed when `partitions` is nil.
    public func fetch(group: String, partitions: [TopicPartition]?) throws -> [TopicPartition: CommittedOffset] {
        let prefix = try Self.groupPrefix(group)
        var result: [TopicPartition: CommittedOffset] = [:]
        if let partitions {
            for tp in partitions {
                guard let value = try db.get(cf, key: Self.key(prefix: prefix, tp)) else { continue }
                result[tp] = try value.withUnsafeBytes { try Self.decode($0) }
            }
            return result
        }
        try forEach(prefix: prefix) { tp, value in
            result[tp] = try Self.decode(value)
        }
        return result
    }

    /// Removes every committed offset of `group`.
    public func deleteGroup(_ group: String) throws {
        let prefix = try Self.groupPrefix(group)
        guard let end = prefix.prefixSuccessor() else { return }
        let batch = WriteBatch()
        try batch.deleteRange(cf, from: prefix, to: end)
        try db.write(batch, sync: sync)
    }

    /// Removes the listed partitions' committed offsets of `group` (OffsetDelete).
    public func deleteOffsets(group: String, partitions: [TopicPartition]) throws {
        let prefix = try Self.groupPrefix(group)
        let batch = WriteBatch()
        for tp in partitions {
            try batch.delete(cf, key: Self.key(prefix: prefix, tp))
        }
        try db.write(batch, sync: sync)
    }

    /// Every group with at least one committed offset, in key order (by id length, then bytes).
    public func groups() throws -> [String] {
        try db.withIterator(cf) { it in
            var groups: [String] = []
            it.seekToFirst()
            while it.isValid {
                let key = it.key
                guard let length = key.bigEndian(UInt16.self, at: 0), key.count >= 2 + Int(length) else {
                    throw StorageError.corrupt("offsets key of \(key.count) bytes")
                }
                let prefix = Array(key[0..<(2 + Int(length))])
                groups.append(String(decoding: prefix.dropFirst(2), as: UTF8.self))
                // Jump over the group's other keys.
                guard let next = prefix.prefixSuccessor() else { break }
                it.seek(next)
            }
            try it.checkError()
            return groups
        }
    }

    /// Removes the committed offsets of topic `name` in every group (the topic was deleted).
    public func deleteTopic(_ name: String) throws {
        let batch = WriteBatch()
        try deleteTopic(name, in: batch)
        try db.write(batch, sync: sync)
    }

    /// Adds the deletions of topic `name`'s committed offsets to `batch`. Scans all commits.
    func deleteTopic(_ name: String, in batch: WriteBatch) throws {
        var keys: [[UInt8]] = []
        try db.withIterator(cf, fillCache: false) { it in
            it.seekToFirst()
            while it.isValid {
                if try Self.parse(key: it.key).topic == name { keys.append(it.keyBytes()) }
                it.next()
            }
            try it.checkError()
        }
        for key in keys { try batch.delete(cf, key: key) }
    }

    // MARK: Encoding

    private func forEach(prefix: [UInt8], _ body: (TopicPartition, UnsafeRawBufferPointer) throws -> Void) throws {
        try db.withIterator(cf, lowerBound: prefix, upperBound: prefix.prefixSuccessor()) { it in
            it.seek(prefix)
            while it.isValid {
                try body(try Self.parse(key: it.key), it.value)
                it.next()
            }
            try it.checkError()
        }
    }

    static func groupPrefix(_ group: String) throws -> [UInt8] {
        let bytes = Array(group.utf8)
        guard bytes.count <= Int(UInt16.max) else {
            throw StorageError.invalidArgument("group id of \(bytes.count) bytes")
        }
        var prefix: [UInt8] = []
        prefix.reserveCapacity(2 + bytes.count)
        prefix.appendBigEndian(UInt16(bytes.count))
        prefix.append(contentsOf: bytes)
        return prefix
    }

    static func key(prefix: [UInt8], _ tp: TopicPartition) -> [UInt8] {
        var key = prefix
        key.append(contentsOf: tp.topic.utf8)
        key.appendBigEndian(tp.partition)
        return key
    }

    static func parse(key: UnsafeRawBufferPointer) throws -> TopicPartition {
        guard let length = key.bigEndian(UInt16.self, at: 0), key.count >= 2 + Int(length) + 4,
              let partition = key.bigEndian(Int32.self, at: key.count - 4)
        else {
            throw StorageError.corrupt("offsets key of \(key.count) bytes")
        }
        let topic = String(decoding: key[(2 + Int(length))..<(key.count - 4)], as: UTF8.self)
        return TopicPartition(topic, partition)
    }

    static func encode(_ c: CommittedOffset) -> [UInt8] {
        let metadata = c.metadata.map { Array($0.utf8) }
        var value: [UInt8] = [0]
        value.reserveCapacity(25 + (metadata?.count ?? 0))
        value.appendBigEndian(c.offset)
        value.appendBigEndian(c.leaderEpoch)
        value.appendBigEndian(c.commitTimestampMs)
        if let metadata {
            value.appendBigEndian(Int32(clamping: metadata.count))
            value.append(contentsOf: metadata.prefix(Int(Int32.max)))
        } else {
            value.appendBigEndian(Int32(-1))
        }
        return value
    }

    static func decode(_ value: UnsafeRawBufferPointer) throws -> CommittedOffset {
        guard value.first == 0,
              let offset = value.bigEndian(Int64.self, at: 1),
              let epoch = value.bigEndian(Int32.self, at: 9),
              let timestamp = value.bigEndian(Int64.self, at: 13),
              let length = value.bigEndian(Int32.self, at: 21)
        else {
            throw StorageError.corrupt("committed offset value of \(value.count) bytes")
        }
        var metadata: String?
        if length >= 0 {
            guard value.count - 25 == Int(length) else {
                throw StorageError.corrupt("committed offset metadata of \(length) bytes in \(value.count)")
            }
            metadata = String(decoding: value[25...], as: UTF8.self)
        }
        return CommittedOffset(offset: offset, leaderEpoch: epoch, metadata: metadata, commitTimestampMs: timestamp)
    }
}

import Foundation
import Synchronization
import KafkaProtocol
import Logging
import NIOCore
import WeirBroker
import WeirStorage

/// Committed offsets in a cluster: each commit is appended as Kafka's records to the group's
/// `__consumer_offsets` partition — which replication copies to the partition's followers — and
/// also kept in this broker's `OffsetStore`, which the coordinator reads. A broker that becomes
/// the leader of such a partition (the coordinator of its groups) first rebuilds its
/// `OffsetStore` entries of those groups from the partition's log (`load`).
public final class ReplicatedOffsets: OffsetPersistence, Sendable {
    let local: OffsetStore
    let store: LogStore
    let partitions: Int32
    let leaderEpoch: @Sendable (Int32) -> Int32

    init(local: OffsetStore, store: LogStore, partitions: Int32, leaderEpoch: @escaping @Sendable (Int32) -> Int32) {
        self.local = local
        self.store = store
        self.partitions = partitions
        self.leaderEpoch = leaderEpoch
    }

    /// The `__consumer_offsets` partition of a group (Kafka's: Java hash mod partitions).
    func partition(of group: String) -> Int32 {
        ClusterSettings.offsetsPartition(of: group, partitions: partitions)
    }

    /// Appends the records to the group's partition (as its leader) in one batch.
    func append(_ records: [OffsetCommitRecord], group: String) throws {
        guard !records.isEmpty else { return }
        let p = partition(of: group)
        guard let log = store.partition(TopicPartition(ClusterSettings.offsetsTopic, p)) else {
            throw StorageError.unknownTopic(ClusterSettings.offsetsTopic)
        }
        var builder = RecordBatchBuilder(baseTimestamp: Int64(Date().timeIntervalSince1970 * 1000))
        for r in records { builder.append(key: r.key, value: r.value) }
        let batch = try ProducedBatch.validate(try builder.build(), maxBatchBytes: Int.max).get()
        _ = try log.append(batch, leaderEpoch: leaderEpoch(p), logAppendTime: nil, sync: false)
    }

    public func commit(group: String, offsets: [TopicPartition: CommittedOffset]) throws {
        try append(offsets.sorted { "\($0.key)" < "\($1.key)" }.map {
            OffsetCommitRecord(group: group, partition: $0.key, committed: $0.value)
        }, group: group)
        try local.commit(group: group, offsets: offsets)
    }

    public func fetch(group: String, partitions: [TopicPartition]?) throws -> [TopicPartition: CommittedOffset] {
        try local.fetch(group: group, partitions: partitions)
    }

    public func deleteGroup(_ group: String) throws {
        let existing = try local.fetch(group: group, partitions: nil)
        try append(existing.keys.map { OffsetCommitRecord(group: group, partition: $0, committed: nil) }, group: group)
        try local.deleteGroup(group)
    }

    public func deleteOffsets(group: String, partitions: [TopicPartition]) throws {
        try append(partitions.map { OffsetCommitRecord(group: group, partition: $0, committed: nil) }, group: group)
        try local.deleteOffsets(group: group, partitions: partitions)
    }

    public func groups() throws -> [String] { try local.groups() }

    /// Rebuilds this broker's commits of the groups of `__consumer_offsets` partition `p` from
    /// the partition's log (the last record of each group and partition wins; a tombstone
    /// deletes). Run when this broker becomes the partition's leader, before it coordinates.
    /// - Returns: how many commits it holds afterwards.
    @discardableResult
    func load(partition p: Int32) throws -> Int {
        guard let log = store.partition(TopicPartition(ClusterSettings.offsetsTopic, p)) else { return 0 }
        var latest: [String: [TopicPartition: CommittedOffset?]] = [:]
        var offset = log.logStartOffset
        let end = log.logEndOffset
        while offset < end {
            var buffer = ByteBuffer()
            guard try log.read(from: offset, maxBytes: 4 << 20, toLogEnd: true, into: &buffer) > 0 else { break }
            var reader = RecordBatchReader(buffer, verifyCRC: false)
            while let batch = try reader.nextBatch() {
                offset = batch.header.lastOffset + 1
                guard !batch.header.isControl else { continue }
                for record in batch.records {
                    guard let r = OffsetCommitRecord(key: record.key, value: record.value) else { continue }
                    latest[r.group, default: [:]][r.partition] = .some(r.committed)
                }
            }
        }
        // Groups of this partition that the log no longer knows: stale local leftovers.
        for group in try local.groups() where partition(of: group) == p && latest[group] == nil {
            try local.deleteGroup(group)
        }
        var count = 0
        for (group, commits) in latest {
            try local.deleteGroup(group)
            let kept = commits.compactMapValues { $0 }
            if !kept.isEmpty { try local.commit(group: group, offsets: kept) }
            count += kept.count
        }
        return count
    }
}

/// The leader epochs of the offsets partitions this broker leads (stamped into the batches it
/// appends there).
final class EpochBook: Sendable {
    private let epochs = Mutex<[Int32: Int32]>([:])

    func set(_ led: [Int32: Int32]) { epochs.withLock { $0 = led } }
    func epoch(of partition: Int32) -> Int32 { epochs.withLock { $0[partition] ?? 0 } }
}

import KafkaProtocol
import WeirStorage

/// Where the group coordinator keeps committed offsets. `OffsetStore` (RocksDB) is the real
/// one; the protocol exists so the coordinator names exactly what it needs.
///
/// The calls are synchronous and the coordinator makes them inside its actor on purpose: two
/// commits of one group must reach the store in the order they were validated, and a RocksDB
/// write of a few keys costs microseconds (it is fsynced only with `log.flush.interval.messages=1`).
public protocol OffsetPersistence: Sendable {
    /// Stores all of `offsets` atomically.
    func commit(group: String, offsets: [TopicPartition: CommittedOffset]) throws
    /// The commits of `group` for `partitions` (missing ones absent), or all of them when nil.
    func fetch(group: String, partitions: [TopicPartition]?) throws -> [TopicPartition: CommittedOffset]
    /// Removes every commit of `group`.
    func deleteGroup(_ group: String) throws
    /// Removes the commits of `group` for `partitions`.
    func deleteOffsets(group: String, partitions: [TopicPartition]) throws
    /// Every group with at least one commit.
    func groups() throws -> [String]
}

extension OffsetStore: OffsetPersistence {}

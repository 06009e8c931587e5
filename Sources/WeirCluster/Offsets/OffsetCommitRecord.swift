import KafkaProtocol
import NIOCore
import WeirStorage

/// A committed offset as Kafka writes it to `__consumer_offsets` (GroupMetadataManager's
/// format), so that the internal partition a cluster replicates carries exactly Kafka's records:
///
///     key    int16 version = 1 (offset commit), string group, string topic, int32 partition
///     value  int16 version = 3, int64 offset, int32 leader epoch, string metadata,
///            int64 commit timestamp; a null value (tombstone) deletes the commit
///
/// Strings are int16-length-prefixed UTF-8 (-1 for null metadata is written as "").
/// Group metadata records (key version 2) are not written: the group's membership is rebuilt
/// by its members rejoining, as after any coordinator change.
public struct OffsetCommitRecord: Sendable, Equatable {
    public var group: String
    public var partition: TopicPartition
    /// nil: a tombstone.
    public var committed: CommittedOffset?

    public init(group: String, partition: TopicPartition, committed: CommittedOffset?) {
        self.group = group
        self.partition = partition
        self.committed = committed
    }

    public var key: ByteBuffer {
        var b = ByteBuffer()
        b.writeInteger(Int16(1))
        Self.write(group, to: &b)
        Self.write(partition.topic, to: &b)
        b.writeInteger(partition.partition)
        return b
    }

    public var value: ByteBuffer? {
        guard let c = committed else { return nil }
        var b = ByteBuffer()
        b.writeInteger(Int16(3))
        b.writeInteger(c.offset)
        b.writeInteger(c.leaderEpoch)
        Self.write(c.metadata ?? "", to: &b)
        b.writeInteger(c.commitTimestampMs)
        return b
    }

    /// Decodes a record of `__consumer_offsets`; nil for other record kinds (group metadata)
    /// and for bytes that are not such a record.
    public init?(key: ByteBuffer?, value: ByteBuffer?) {
        guard var k = key, let version: Int16 = k.readInteger(), version == 0 || version == 1,
              let group = Self.read(&k), let topic = Self.read(&k), let p: Int32 = k.readInteger() else { return nil }
        self.group = group
        self.partition = TopicPartition(topic, p)
        guard var v = value else {
            committed = nil
            return
        }
        guard let valueVersion: Int16 = v.readInteger(), let offset: Int64 = v.readInteger() else { return nil }
        var epoch: Int32 = -1
        if valueVersion >= 3 {
            guard let e: Int32 = v.readInteger() else { return nil }
            epoch = e
        }
        guard let metadata = Self.read(&v), let timestamp: Int64 = v.readInteger() else { return nil }
        committed = CommittedOffset(offset: offset, leaderEpoch: epoch, metadata: metadata.isEmpty ? nil : metadata,
                                    commitTimestampMs: timestamp)
    }

    static func write(_ s: String, to b: inout ByteBuffer) {
        let bytes = Array(s.utf8)
        b.writeInteger(Int16(truncatingIfNeeded: bytes.count))
        b.writeBytes(bytes)
    }

    static func read(_ b: inout ByteBuffer) -> String? {
        guard let n: Int16 = b.readInteger() else { return nil }
        if n < 0 { return "" }
        return b.readString(length: Int(n))
    }
}

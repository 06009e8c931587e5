import KafkaProtocol
import NIOCore

/// The "consumer" embedded protocol of JoinGroup/SyncGroup and Kafka's "range" assignor.
///
/// Member metadata and assignments are opaque bytes to the broker; Kafka's consumer writes
/// them as an int16 version followed by the ConsumerProtocolSubscription / Assignment struct
/// of that version. Readers accept any version, decoding a newer one with the newest layout
/// they know (newer versions only append fields), as Kafka's `ConsumerProtocol` does.
public enum ConsumerProtocol {
    public static let protocolType = "consumer"

    public static func subscriptionBytes(topics: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int16(0))
        ConsumerProtocolSubscription(topics: topics).write(to: &buffer, version: 0)
        return buffer
    }

    public static func subscription(from bytes: ByteBuffer) throws -> ConsumerProtocolSubscription {
        var buffer = bytes
        let version = try buffer.readKafka(Int16.self, "subscription version")
        guard version >= 0 else { throw ProtocolError.invalid("subscription version \(version)") }
        return try ConsumerProtocolSubscription(from: &buffer, version: min(version, ConsumerProtocolSubscription.validVersions.upperBound))
    }

    public static func assignmentBytes(_ partitions: [String: [Int32]]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(Int16(0))
        let assignment = ConsumerProtocolAssignment(assignedPartitions: partitions.keys.sorted().map {
            ConsumerProtocolAssignment.TopicPartition(topic: $0, partitions: partitions[$0]!.sorted())
        })
        assignment.write(to: &buffer, version: 0)
        return buffer
    }

    /// The partitions of an assignment; empty bytes (no assignment) give none.
    public static func assignment(from bytes: ByteBuffer) throws -> [TopicPartition] {
        var buffer = bytes
        guard buffer.readableBytes > 0 else { return [] }
        let version = try buffer.readKafka(Int16.self, "assignment version")
        guard version >= 0 else { throw ProtocolError.invalid("assignment version \(version)") }
        let assignment = try ConsumerProtocolAssignment(from: &buffer, version: min(version, ConsumerProtocolAssignment.validVersions.upperBound))
        return assignment.assignedPartitions.flatMap { tp in tp.partitions.map { TopicPartition(tp.topic, $0) } }
    }
}

/// Kafka's `RangeAssignor`: per topic, the members subscribed to it in member-id order each
/// get a contiguous range of partitions, the first `count % members` one partition more.
public enum RangeAssignor {
    public static let name = "range"

    /// `subscriptions`: member id → topics; `partitionCounts`: topic → number of partitions
    /// (topics without a count are skipped). Every member appears in the result, maybe empty.
    public static func assign(subscriptions: [String: [String]], partitionCounts: [String: Int32]) -> [String: [String: [Int32]]] {
        var result: [String: [String: [Int32]]] = [:]
        for member in subscriptions.keys { result[member] = [:] }
        let topics = Set(subscriptions.values.flatMap { $0 })
        for topic in topics.sorted() {
            guard let count = partitionCounts[topic], count > 0 else { continue }
            let members = subscriptions.filter { $0.value.contains(topic) }.keys.sorted()
            let perMember = Int(count) / members.count
            let extra = Int(count) % members.count
            for (i, member) in members.enumerated() {
                let start = perMember * i + min(i, extra)
                let length = perMember + (i < extra ? 1 : 0)
                if length > 0 {
                    result[member, default: [:]][topic] = (start ..< start + length).map { Int32($0) }
                }
            }
        }
        return result
    }
}

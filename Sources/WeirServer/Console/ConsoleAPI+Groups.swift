import Foundation
import KafkaProtocol
import NIOCore
import WeirBroker
import WeirStorage

// GET /v1/groups, GET /v1/groups/{id}
extension ConsoleAPI {
    /// One partition of a group: committed offset, log end offset and lag (log end − committed,
    /// at least 0). Log end and lag are null when the partition no longer exists; committed
    /// offset and lag are null for a partition a member is assigned but nobody committed yet
    /// (as kafka-consumer-groups.sh shows "-").
    struct Committed {
        var partition: TopicPartition
        var committed: Int64?
        var logEnd: Int64?

        var lag: Int64? {
            guard let logEnd, let committed else { return nil }
            return Swift.max(0, logEnd - Swift.max(0, committed))
        }

        var json: [String: Any] {
            ["topic": partition.topic, "partition": partition.partition,
             "committed_offset": committed.map { $0 as Any } ?? NSNull(),
             "log_end_offset": logEnd.map { $0 as Any } ?? NSNull(), "lag": lag.map { $0 as Any } ?? NSNull()]
        }
    }

    func committed(_ groupId: String) async -> [Committed] {
        let outcome = await groups.fetchOffsets(groupId: groupId, partitions: nil)
        return outcome.offsets.compactMap { tp, offset in
            offset.map { Committed(partition: tp, committed: $0.offset, logEnd: store.partition(tp)?.logEndOffset) }
        }
    }

    /// `GET /v1/groups`: every group the coordinator knows, by id, with its total lag.
    func listGroups() async -> AdminResponse {
        var list: [[String: Any]] = []
        for listing in await groups.listGroups() {
            guard let description = await groups.describeGroups([listing.groupId]).first else { continue }
            let offsets = await committed(listing.groupId)
            list.append([
                "group_id": listing.groupId, "state": description.state, "protocol_type": description.protocolType,
                "protocol": description.protocolName, "members": description.members.count,
                "partitions": offsets.count, "lag": offsets.reduce(Int64(0)) { $0 + ($1.lag ?? 0) },
            ])
        }
        return .object(.ok, ["groups": list])
    }

    /// `GET /v1/groups/{id}`: state, protocol, members with their assignments (decoded when the
    /// protocol type is `consumer`), and per committed partition its offset, log end and lag.
    func group(_ groupId: String) async -> AdminResponse {
        let known = await groups.listGroups().contains { $0.groupId == groupId }
        guard known, let description = await groups.describeGroups([groupId]).first else {
            return .error(.notFound, "unknown group: \(groupId)")
        }
        var offsets = await committed(groupId)
        // Assigned partitions nobody committed yet get a row too, sorted in with the others.
        let committedPartitions = Set(offsets.map(\.partition))
        let assigned = description.members.flatMap { Self.assignedPartitions($0.assignment, protocolType: description.protocolType) }
        for tp in Set(assigned).subtracting(committedPartitions) {
            offsets.append(Committed(partition: tp, committed: nil, logEnd: store.partition(tp)?.logEndOffset))
        }
        offsets.sort { $0.partition < $1.partition }
        let members = description.members.map { m -> [String: Any] in
            [
                "member_id": m.memberId, "group_instance_id": m.groupInstanceId.map { $0 as Any } ?? NSNull(),
                "client_id": m.clientId, "client_host": m.clientHost,
                "assignment": Self.assignment(m.assignment, protocolType: description.protocolType),
            ]
        }
        return .object(.ok, [
            "group_id": groupId, "state": description.state, "protocol_type": description.protocolType,
            "protocol": description.protocolName, "members": members, "offsets": offsets.map(\.json),
            "lag": offsets.reduce(Int64(0)) { $0 + ($1.lag ?? 0) },
        ])
    }

    /// A consumer-protocol assignment (version, then topics and partitions) as
    /// `[{"topic":…, "partitions":[…]}]`; empty when there is none or it is not the consumer protocol.
    static func assignment(_ bytes: ByteBuffer, protocolType: String) -> [[String: Any]] {
        decodeAssignment(bytes, protocolType: protocolType).map { ["topic": $0.topic, "partitions": $0.partitions.sorted()] }
    }

    static func assignedPartitions(_ bytes: ByteBuffer, protocolType: String) -> [TopicPartition] {
        decodeAssignment(bytes, protocolType: protocolType).flatMap { t in t.partitions.map { TopicPartition(t.topic, $0) } }
    }

    private static func decodeAssignment(_ bytes: ByteBuffer, protocolType: String) -> [ConsumerProtocolAssignment.TopicPartition] {
        var buffer = bytes
        guard protocolType == "consumer", let version = buffer.readInteger(as: Int16.self), version >= 0,
              let decoded = try? ConsumerProtocolAssignment(
                  from: &buffer, version: Swift.min(version, ConsumerProtocolAssignment.validVersions.upperBound)) else {
            return []
        }
        return decoded.assignedPartitions
    }
}

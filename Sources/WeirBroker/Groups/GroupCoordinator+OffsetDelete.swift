import KafkaProtocol
import NIOCore
import WeirStorage

/// What OffsetDelete answers: a group-level error (then nothing was deleted), else an error
/// per partition (NONE for each deleted commit).
public struct OffsetDeleteOutcome: Sendable, Equatable {
    public var error: ErrorCode
    public var partitions: [TopicPartition: ErrorCode]
}

// OffsetDelete, with Kafka's rules (GroupCoordinator.handleDeleteOffsets).
extension GroupCoordinator {
    /// Removes the committed offsets of `partitions` from `groupId`:
    /// - an unknown (or dead) group: GROUP_ID_NOT_FOUND;
    /// - an Empty group: every partition is deleted;
    /// - a consumer group with members: partitions of topics its members subscribe to get
    ///   GROUP_SUBSCRIBED_TO_TOPIC, the others are deleted. While the subscriptions are not
    ///   known (first rebalance, unreadable metadata) every topic counts as subscribed;
    /// - any other group with members: NON_EMPTY_GROUP.
    ///
    /// An Empty group left with no commit is forgotten, as Kafka turns it Dead.
    public func deleteOffsets(groupId: String, partitions: [TopicPartition]) -> OffsetDeleteOutcome {
        guard !isShutDown else { return OffsetDeleteOutcome(error: .coordinatorNotAvailable, partitions: [:]) }
        guard !groupId.isEmpty else { return OffsetDeleteOutcome(error: .invalidGroupId, partitions: [:]) }
        guard let group = groups[groupId], group.state != .dead else {
            return OffsetDeleteOutcome(error: .groupIdNotFound, partitions: [:])
        }
        var results: [TopicPartition: ErrorCode] = [:]
        var eligible: [TopicPartition] = []
        switch group.state {
        case .empty:
            eligible = partitions
        case .preparingRebalance, .completingRebalance, .stable:
            // (A `where` here would bind to `.stable` only.)
            guard group.protocolType == Self.consumerProtocolType else {
                return OffsetDeleteOutcome(error: .nonEmptyGroup, partitions: [:])
            }
            let subscribed = Self.subscribedTopics(of: group)
            for tp in partitions {
                if subscribed?.contains(tp.topic) ?? true {
                    results[tp] = .groupSubscribedToTopic
                } else {
                    eligible.append(tp)
                }
            }
        case .dead:
            return OffsetDeleteOutcome(error: .groupIdNotFound, partitions: [:])
        }
        guard !eligible.isEmpty else { return OffsetDeleteOutcome(error: .none, partitions: results) }
        do {
            try offsets.deleteOffsets(group: groupId, partitions: eligible)
            for tp in eligible { results[tp] = ErrorCode.none }
            logger.info("group \(groupId): deleted the committed offsets of \(eligible.count) partition(s)")
            if group.state == .empty, try offsets.fetch(group: groupId, partitions: nil).isEmpty {
                groups.removeValue(forKey: groupId)
                disarm(groupId)
                logger.info("group \(groupId): no offsets left, forgotten")
            }
        } catch {
            logger.error("cannot delete committed offsets of group \(groupId): \(error)")
            for tp in eligible { results[tp] = .unknownServerError }
        }
        return OffsetDeleteOutcome(error: .none, partitions: results)
    }

    static let consumerProtocolType = "consumer"

    /// The topics the members of a consumer group subscribe to, read from their metadata for the
    /// group's protocol (an int16 version, then ConsumerProtocolSubscription). Nil when unknown:
    /// no protocol chosen yet, or some member's metadata does not decode.
    static func subscribedTopics(of group: ConsumerGroup) -> Set<String>? {
        guard let name = group.protocolName else { return nil }
        var topics: Set<String> = []
        for member in group.allMembers {
            guard var bytes = member.metadata(for: name),
                  let version = try? bytes.readKafka(Int16.self, "subscription version"), version >= 0,
                  let subscription = try? ConsumerProtocolSubscription(
                      from: &bytes, version: min(version, ConsumerProtocolSubscription.validVersions.upperBound))
            else { return nil }
            topics.formUnion(subscription.topics)
        }
        return topics
    }
}

import KafkaProtocol
import WeirStorage

/// OffsetFetch (9): committed offsets of one group (v0-7) or several (v8+); offset -1 where
/// nothing was committed. With require_stable (v7+, KIP-447; read_committed consumers set it),
/// a partition whose offset an open transaction will commit answers UNSTABLE_OFFSET_COMMIT, so
/// the consumer retries instead of starting from the offset the transaction replaces. Needs
/// Describe on the group (GROUP_AUTHORIZATION_FAILED); partitions of topics the principal may
/// not Describe are left out, as in Kafka.
struct OffsetFetchHandler: ApiHandler {
    typealias Request = OffsetFetchRequest
    let groups: GroupCoordinator
    let transactions: TransactionCoordinator
    /// See the type's comment for what it asks.
    var authorizer: Authorizer = .allowAll
    /// In a cluster: NOT_COORDINATOR unless this broker coordinates the group.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...8 }

    func handle(_ request: OffsetFetchRequest, context: RequestContext) async throws -> OffsetFetchResponse? {
        var response = OffsetFetchResponse()
        if context.apiVersion >= 8 {
            for g in request.groups {
                guard authorizer.authorize(context, .describe, .group, g.groupId) else {
                    var group = OffsetFetchResponse.OffsetFetchResponseGroup(groupId: g.groupId)
                    group.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
                    response.groups.append(group)
                    continue
                }
                guard cluster.coordinates(group: g.groupId) else {
                    var group = OffsetFetchResponse.OffsetFetchResponseGroup(groupId: g.groupId)
                    group.errorCode = ErrorCode.notCoordinator.rawValue
                    response.groups.append(group)
                    continue
                }
                let wanted = g.topics.map { $0.flatMap { t in t.partitionIndexes.map { TopicPartition(t.name, $0) } } }
                let outcome = await groups.fetchOffsets(groupId: g.groupId, partitions: wanted)
                var group = OffsetFetchResponse.OffsetFetchResponseGroup(groupId: g.groupId)
                group.errorCode = outcome.error.rawValue
                group.topics = Self.byTopic(visible(outcome.offsets, context)).map { name, parts in
                    .init(name: name, partitions: parts.map { tp, committed in
                        let unstable = request.requireStable && transactions.hasPendingOffsets(groupId: g.groupId, partition: tp)
                        return .init(partitionIndex: tp.partition, committedOffset: unstable ? -1 : committed?.offset ?? -1,
                                     committedLeaderEpoch: committed?.leaderEpoch ?? -1, metadata: committed?.metadata ?? "",
                                     errorCode: unstable ? ErrorCode.unstableOffsetCommit.rawValue : 0)
                    })
                }
                response.groups.append(group)
            }
            return response
        }
        guard authorizer.authorize(context, .describe, .group, request.groupId) else {
            response.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return response
        }
        guard cluster.coordinates(group: request.groupId) else {
            response.errorCode = ErrorCode.notCoordinator.rawValue
            return response
        }
        // v0-1: an empty topic list is "nothing"; v2+: null means every committed partition.
        let wanted = request.topics.map { $0.flatMap { t in t.partitionIndexes.map { TopicPartition(t.name, $0) } } }
        let outcome = await groups.fetchOffsets(groupId: request.groupId, partitions: wanted)
        response.errorCode = outcome.error.rawValue
        response.topics = Self.byTopic(visible(outcome.offsets, context)).map { name, parts in
            .init(name: name, partitions: parts.map { tp, committed in
                let unstable = context.apiVersion >= 7 && request.requireStable
                    && transactions.hasPendingOffsets(groupId: request.groupId, partition: tp)
                return .init(partitionIndex: tp.partition, committedOffset: unstable ? -1 : committed?.offset ?? -1,
                             committedLeaderEpoch: committed?.leaderEpoch ?? -1, metadata: committed?.metadata ?? "",
                             errorCode: unstable ? ErrorCode.unstableOffsetCommit.rawValue
                                 : context.apiVersion < 2 ? outcome.error.rawValue : 0)
            })
        }
        return response
    }

    private func visible(_ offsets: [(TopicPartition, CommittedOffset?)], _ context: RequestContext) -> [(TopicPartition, CommittedOffset?)] {
        guard authorizer.isEnabled else { return offsets }
        return offsets.filter { authorizer.authorize(context, .describe, .topic, $0.0.topic) }
    }

    /// Groups (partition, offset) pairs by topic, keeping first-seen topic order.
    static func byTopic(_ offsets: [(TopicPartition, CommittedOffset?)]) -> [(String, [(TopicPartition, CommittedOffset?)])] {
        var order: [String] = []
        var parts: [String: [(TopicPartition, CommittedOffset?)]] = [:]
        for (tp, c) in offsets {
            if parts[tp.topic] == nil { order.append(tp.topic) }
            parts[tp.topic, default: []].append((tp, c))
        }
        return order.map { ($0, parts[$0]!) }
    }
}

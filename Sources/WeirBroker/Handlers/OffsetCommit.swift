import KafkaProtocol
import WeirStorage

/// OffsetCommit (8): the coordinator checks membership and generation, then stores all
/// partitions of the request in one write. Needs Read on the group (GROUP_AUTHORIZATION_FAILED
/// for every partition) and Read on each topic (TOPIC_AUTHORIZATION_FAILED), as in Kafka.
struct OffsetCommitHandler: ApiHandler {
    typealias Request = OffsetCommitRequest
    let store: LogStore
    let groups: GroupCoordinator
    let clock: WallClock
    /// See the type's comment for what it asks.
    var authorizer: Authorizer = .allowAll
    /// In a cluster: NOT_COORDINATOR unless this broker coordinates the group.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...8 }

    func handle(_ request: OffsetCommitRequest, context: RequestContext) async throws -> OffsetCommitResponse? {
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            return Self.failed(request, .groupAuthorizationFailed)
        }
        guard cluster.coordinates(group: request.groupId) else { return Self.failed(request, .notCoordinator) }
        if let replication = cluster?.replication {
            // In a cluster the commit counts once the offsets partition's ISR has it.
            let response = try await commit(request, context: context)
            let code = await replication.awaitOffsetsReplicated(group: request.groupId, timeoutMs: 5_000)
            return code == .none ? response : Self.failed(request, .coordinatorNotAvailable)
        }
        return try await commit(request, context: context)
    }

    private func commit(_ request: OffsetCommitRequest, context: RequestContext) async throws -> OffsetCommitResponse? {
        let now = clock.nowMs()
        var denied: Set<String> = []
        var offsets: [TopicPartition: CommittedOffset] = [:]
        var unknown: Set<TopicPartition> = []
        for t in request.topics {
            for p in t.partitions {
                let tp = TopicPartition(t.name, p.partitionIndex)
                guard authorizer.authorize(context, .read, .topic, t.name) else {
                    denied.insert(t.name)
                    continue
                }
                guard store.partition(tp) != nil else {
                    unknown.insert(tp)
                    continue
                }
                offsets[tp] = CommittedOffset(offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch,
                                              metadata: p.committedMetadata, commitTimestampMs: now)
            }
        }
        let generation = context.apiVersion >= 1 ? request.generationIdOrMemberEpoch : -1
        let memberId = context.apiVersion >= 1 ? request.memberId : ""
        let codes = offsets.isEmpty ? [:] : await groups.commitOffsets(
            groupId: request.groupId, generationId: generation, memberId: memberId,
            groupInstanceId: request.groupInstanceId, offsets: offsets)
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { t in
            .init(name: t.name, partitions: t.partitions.map { p in
                let tp = TopicPartition(t.name, p.partitionIndex)
                let code: ErrorCode = denied.contains(t.name) ? .topicAuthorizationFailed
                    : unknown.contains(tp) ? .unknownTopicOrPartition : (codes[tp] ?? .none)
                return .init(partitionIndex: p.partitionIndex, errorCode: code.rawValue)
            })
        }
        return response
    }

    static func failed(_ request: OffsetCommitRequest, _ code: ErrorCode) -> OffsetCommitResponse {
        var response = OffsetCommitResponse()
        response.topics = request.topics.map { t in
            .init(name: t.name, partitions: t.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: code.rawValue) })
        }
        return response
    }
}

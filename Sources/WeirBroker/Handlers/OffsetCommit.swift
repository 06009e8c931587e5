import KafkaProtocol
import WeirStorage

/// OffsetCommit (8): the coordinator checks membership and generation, then stores all
/// partitions of the request in one write.
struct OffsetCommitHandler: ApiHandler {
    typealias Request = OffsetCommitRequest
    let store: LogStore
    let groups: GroupCoordinator
    let clock: WallClock
    var versions: ClosedRange<Int16> { 0...8 }

    func handle(_ request: OffsetCommitRequest, context: RequestContext) async throws -> OffsetCommitResponse? {
        let now = clock.nowMs()
        var offsets: [TopicPartition: CommittedOffset] = [:]
        var unknown: Set<TopicPartition> = []
        for t in request.topics {
            for p in t.partitions {
                let tp = TopicPartition(t.name, p.partitionIndex)
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
                let code: ErrorCode = unknown.contains(tp) ? .unknownTopicOrPartition : (codes[tp] ?? .none)
                return .init(partitionIndex: p.partitionIndex, errorCode: code.rawValue)
            })
        }
        return response
    }
}

import KafkaProtocol
import WeirStorage

/// TxnOffsetCommit (28): consumer offsets that become visible when the transaction commits
/// (and vanish if it aborts). Kept with the transaction's record until then; OffsetFetch with
/// require_stable answers UNSTABLE_OFFSET_COMMIT for them meanwhile.
struct TxnOffsetCommitHandler: ApiHandler {
    typealias Request = TxnOffsetCommitRequest
    let transactions: TransactionCoordinator
    let io: IOPool
    let clock: WallClock
    /// Write on the transactional id, Read on the group and on each topic, as Kafka asks.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: TxnOffsetCommitRequest, context: RequestContext) async throws -> TxnOffsetCommitResponse? {
        let refused: ErrorCode? = !authorizer.authorize(context, .write, .transactionalId, request.transactionalId)
            ? .transactionalIdAuthorizationFailed
            : !authorizer.authorize(context, .read, .group, request.groupId) ? .groupAuthorizationFailed : nil
        if let refused {
            var response = TxnOffsetCommitResponse()
            response.topics = request.topics.map { t in
                .init(name: t.name, partitions: t.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: refused.rawValue) })
            }
            return response
        }
        let deniedTopics = Set(request.topics.map(\.name).filter { !authorizer.authorize(context, .read, .topic, $0) })
        let now = clock.nowMs()
        var offsets: [TopicPartition: CommittedOffset] = [:]
        for t in request.topics where !deniedTopics.contains(t.name) {
            for p in t.partitions {
                offsets[TopicPartition(t.name, p.partitionIndex)] = CommittedOffset(
                    offset: p.committedOffset, leaderEpoch: p.committedLeaderEpoch, metadata: p.committedMetadata,
                    commitTimestampMs: now)
            }
        }
        let (coordinator, committed) = (transactions, offsets)
        let code = try await io.run {
            coordinator.commitOffsets(transactionalId: request.transactionalId, producerId: request.producerId,
                                      epoch: request.producerEpoch, groupId: request.groupId, offsets: committed, nowMs: now)
        }
        var response = TxnOffsetCommitResponse()
        response.topics = request.topics.map { t in
            .init(name: t.name, partitions: t.partitions.map {
                .init(partitionIndex: $0.partitionIndex,
                      errorCode: deniedTopics.contains(t.name) ? ErrorCode.topicAuthorizationFailed.rawValue : code.rawValue)
            })
        }
        return response
    }
}

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
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: TxnOffsetCommitRequest, context: RequestContext) async throws -> TxnOffsetCommitResponse? {
        let now = clock.nowMs()
        var offsets: [TopicPartition: CommittedOffset] = [:]
        for t in request.topics {
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
            .init(name: t.name, partitions: t.partitions.map { .init(partitionIndex: $0.partitionIndex, errorCode: code.rawValue) })
        }
        return response
    }
}

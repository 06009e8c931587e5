import KafkaProtocol
import WeirStorage

/// AddPartitionsToTxn (24), v0–v3 (the client form; v4+ is KIP-890's broker-to-broker batch,
/// not served): the partitions join the producer's transaction. Unknown partitions fail the
/// whole request (UNKNOWN_TOPIC_OR_PARTITION for them, OPERATION_NOT_ATTEMPTED for the rest),
/// as in Kafka.
struct AddPartitionsToTxnHandler: ApiHandler {
    typealias Request = AddPartitionsToTxnRequest
    let store: LogStore
    let transactions: TransactionCoordinator
    let io: IOPool
    let clock: WallClock
    /// Write on the transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for every
    /// partition) and on each topic (TOPIC_AUTHORIZATION_FAILED, the rest OPERATION_NOT_ATTEMPTED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: AddPartitionsToTxnRequest, context: RequestContext) async throws -> AddPartitionsToTxnResponse? {
        let partitions = request.v3AndBelowTopics.flatMap { t in t.partitions.map { TopicPartition(t.name, $0) } }
        guard authorizer.authorize(context, .write, .transactionalId, request.v3AndBelowTransactionalId) else {
            return Self.all(request, .transactionalIdAuthorizationFailed)
        }
        let deniedTopics = Set(request.v3AndBelowTopics.map(\.name).filter { !authorizer.authorize(context, .write, .topic, $0) })
        guard deniedTopics.isEmpty else {
            var response = Self.all(request, .operationNotAttempted)
            for i in response.resultsByTopicV3AndBelow.indices where deniedTopics.contains(response.resultsByTopicV3AndBelow[i].name) {
                for j in response.resultsByTopicV3AndBelow[i].resultsByPartition.indices {
                    response.resultsByTopicV3AndBelow[i].resultsByPartition[j].partitionErrorCode = ErrorCode.topicAuthorizationFailed.rawValue
                }
            }
            return response
        }
        let unknown = Set(partitions.filter { store.partition($0) == nil })
        let (coordinator, now) = (transactions, clock.nowMs())
        let code: ErrorCode = unknown.isEmpty ? try await io.run {
            coordinator.addPartitions(transactionalId: request.v3AndBelowTransactionalId,
                                      producerId: request.v3AndBelowProducerId, epoch: request.v3AndBelowProducerEpoch,
                                      partitions: partitions, nowMs: now)
        } : .none
        var response = AddPartitionsToTxnResponse()
        response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { t in
            .init(name: t.name, resultsByPartition: t.partitions.map { p in
                let own: ErrorCode = unknown.isEmpty ? code
                    : unknown.contains(TopicPartition(t.name, p)) ? .unknownTopicOrPartition : .operationNotAttempted
                return .init(partitionIndex: p, partitionErrorCode: own.rawValue)
            })
        }
        return response
    }

    static func all(_ request: AddPartitionsToTxnRequest, _ code: ErrorCode) -> AddPartitionsToTxnResponse {
        var response = AddPartitionsToTxnResponse()
        response.resultsByTopicV3AndBelow = request.v3AndBelowTopics.map { t in
            .init(name: t.name, resultsByPartition: t.partitions.map { .init(partitionIndex: $0, partitionErrorCode: code.rawValue) })
        }
        return response
    }
}

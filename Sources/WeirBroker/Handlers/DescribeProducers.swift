import KafkaProtocol
import WeirStorage

/// DescribeProducers (61, KIP-664): the idempotent and transactional producers a partition
/// remembers — epoch, last sequence and timestamp, and the first offset of an open transaction
/// (kafka-transactions.sh describe-producers, find-hanging).
struct DescribeProducersHandler: ApiHandler {
    typealias Request = DescribeProducersRequest
    let store: LogStore
    /// Read on each topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...0 }

    func handleImmediately(_ request: DescribeProducersRequest, context: RequestContext) -> Immediate<DescribeProducersResponse> {
        var response = DescribeProducersResponse()
        response.topics = request.topics.map { t in
            .init(name: t.name, partitions: t.partitionIndexes.map { p in
                guard authorizer.authorize(context, .read, .topic, t.name) else {
                    return .init(partitionIndex: p, errorCode: ErrorCode.topicAuthorizationFailed.rawValue)
                }
                guard let log = store.partition(TopicPartition(t.name, p)) else {
                    return .init(partitionIndex: p, errorCode: ErrorCode.unknownTopicOrPartition.rawValue)
                }
                let states = log.producerStates
                return .init(partitionIndex: p, errorCode: 0, activeProducers: states.keys.sorted().map { id in
                    let s = states[id]!
                    return .init(producerId: id, producerEpoch: Int32(s.epoch), lastSequence: s.batches.last?.lastSequence ?? -1,
                                 lastTimestamp: s.batches.last?.maxTimestamp ?? -1, coordinatorEpoch: 0,
                                 currentTxnStartOffset: s.currentTxnFirstOffset ?? -1)
                })
            })
        }
        return .now(response)
    }

    func handle(_ request: DescribeProducersRequest, context: RequestContext) async throws -> DescribeProducersResponse? {
        guard case .now(let response) = handleImmediately(request, context: context) else { return nil }
        return response
    }
}

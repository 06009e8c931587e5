import KafkaProtocol

/// DescribeTransactions (65, KIP-664): each transactional id's state, producer, timeout, start
/// and partitions (kafka-transactions.sh describe); TRANSACTIONAL_ID_NOT_FOUND for unknown ids.
struct DescribeTransactionsHandler: ApiHandler {
    typealias Request = DescribeTransactionsRequest
    let transactions: TransactionCoordinator
    /// Describe on each transactional id (TRANSACTIONAL_ID_AUTHORIZATION_FAILED for the others).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...0 }

    func handleImmediately(_ request: DescribeTransactionsRequest, context: RequestContext) -> Immediate<DescribeTransactionsResponse> {
        let records = transactions.records()
        var response = DescribeTransactionsResponse()
        response.transactionStates = request.transactionalIds.map { id in
            guard authorizer.authorize(context, .describe, .transactionalId, id) else {
                return .init(errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue, transactionalId: id)
            }
            guard let r = records[id] else {
                return .init(errorCode: ErrorCode.transactionalIdNotFound.rawValue, transactionalId: id)
            }
            let byTopic = Dictionary(grouping: r.partitions, by: \.topic)
            return .init(errorCode: 0, transactionalId: id, transactionState: r.state.kafkaName,
                         transactionTimeoutMs: r.timeoutMs, transactionStartTimeMs: r.startTimestampMs,
                         producerId: r.producerId, producerEpoch: r.producerEpoch,
                         topics: byTopic.keys.sorted().map { .init(topic: $0, partitions: byTopic[$0]!.map(\.partition)) })
        }
        return .now(response)
    }

    func handle(_ request: DescribeTransactionsRequest, context: RequestContext) async throws -> DescribeTransactionsResponse? {
        guard case .now(let response) = handleImmediately(request, context: context) else { return nil }
        return response
    }
}

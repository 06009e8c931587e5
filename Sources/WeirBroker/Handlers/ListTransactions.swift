import KafkaProtocol
import WeirStorage

/// ListTransactions (66, KIP-664): transactional ids, filtered by state names, producer ids
/// and (v1) a minimum running time; unknown state names are echoed back, as in Kafka.
struct ListTransactionsHandler: ApiHandler {
    typealias Request = ListTransactionsRequest
    let transactions: TransactionCoordinator
    let clock: WallClock
    /// Lists only the ids the principal may Describe, as Kafka does.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...1 }

    func handleImmediately(_ request: ListTransactionsRequest, context: RequestContext) -> Immediate<ListTransactionsResponse> {
        let known = Set(TransactionRecord.State.allCases.map(\.kafkaName))
        let states = Set(request.stateFilters)
        let producers = Set(request.producerIdFilters)
        let now = clock.nowMs()
        var response = ListTransactionsResponse()
        response.unknownStateFilters = request.stateFilters.filter { !known.contains($0) }
        response.transactionStates = transactions.records().values
            .filter { states.isEmpty || states.contains($0.state.kafkaName) }
            .filter { producers.isEmpty || producers.contains($0.producerId) }
            .filter { authorizer.authorize(context, .describe, .transactionalId, $0.transactionalId) }
            .filter { request.durationFilter < 0 || ($0.startTimestampMs >= 0 && now - $0.startTimestampMs >= request.durationFilter) }
            .sorted { $0.transactionalId < $1.transactionalId }
            .map { .init(transactionalId: $0.transactionalId, producerId: $0.producerId, transactionState: $0.state.kafkaName) }
        return .now(response)
    }

    func handle(_ request: ListTransactionsRequest, context: RequestContext) async throws -> ListTransactionsResponse? {
        guard case .now(let response) = handleImmediately(request, context: context) else { return nil }
        return response
    }
}

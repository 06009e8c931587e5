import KafkaProtocol

/// EndTxn (26), v0–v3 (v4 adds TRANSACTION_ABORTABLE and v5 the epoch bump of KIP-890 part 2,
/// neither served): commits or aborts the producer's transaction — markers in every partition
/// it added, its offsets visible on commit — before answering.
struct EndTxnHandler: ApiHandler {
    typealias Request = EndTxnRequest
    let transactions: TransactionCoordinator
    let io: IOPool
    let clock: WallClock
    /// Write on the transactional id.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: EndTxnRequest, context: RequestContext) async throws -> EndTxnResponse? {
        guard authorizer.authorize(context, .write, .transactionalId, request.transactionalId) else {
            return EndTxnResponse(errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue)
        }
        let (coordinator, now) = (transactions, clock.nowMs())
        let code = try await io.run {
            coordinator.endTransaction(transactionalId: request.transactionalId, producerId: request.producerId,
                                       epoch: request.producerEpoch, commit: request.committed, nowMs: now)
        }
        return EndTxnResponse(errorCode: code.rawValue)
    }
}

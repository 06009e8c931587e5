import KafkaProtocol

/// AddOffsetsToTxn (25): the producer's transaction will commit offsets of `groupId`
/// (`send_offsets_to_transaction`), which TxnOffsetCommit then sends.
struct AddOffsetsToTxnHandler: ApiHandler {
    typealias Request = AddOffsetsToTxnRequest
    let transactions: TransactionCoordinator
    let io: IOPool
    let clock: WallClock
    /// Write on the transactional id, Read on the group.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: AddOffsetsToTxnRequest, context: RequestContext) async throws -> AddOffsetsToTxnResponse? {
        guard authorizer.authorize(context, .write, .transactionalId, request.transactionalId) else {
            return AddOffsetsToTxnResponse(errorCode: ErrorCode.transactionalIdAuthorizationFailed.rawValue)
        }
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            return AddOffsetsToTxnResponse(errorCode: ErrorCode.groupAuthorizationFailed.rawValue)
        }
        let (coordinator, now) = (transactions, clock.nowMs())
        let code = try await io.run {
            coordinator.addOffsets(transactionalId: request.transactionalId, producerId: request.producerId,
                                   epoch: request.producerEpoch, groupId: request.groupId, nowMs: now)
        }
        return AddOffsetsToTxnResponse(errorCode: code.rawValue)
    }
}

import KafkaProtocol

/// Heartbeat (12): keeps a member's session alive; tells it when a rebalance has begun.
struct HeartbeatHandler: ApiHandler {
    typealias Request = HeartbeatRequest
    let groups: GroupCoordinator
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: HeartbeatRequest, context: RequestContext) async throws -> HeartbeatResponse? {
        let code = await groups.heartbeat(groupId: request.groupId, generationId: request.generationId,
                                                 memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        var response = HeartbeatResponse()
        response.errorCode = code.rawValue
        return response
    }
}

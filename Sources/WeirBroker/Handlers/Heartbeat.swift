import KafkaProtocol
import WeirStorage

/// Heartbeat (12): keeps a member's session alive; tells it when a rebalance has begun.
struct HeartbeatHandler: ApiHandler {
    typealias Request = HeartbeatRequest
    let groups: GroupCoordinator
    /// Read on the group (GROUP_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: HeartbeatRequest, context: RequestContext) async throws -> HeartbeatResponse? {
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            var denied = HeartbeatResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        let code = await groups.heartbeat(groupId: request.groupId, generationId: request.generationId,
                                                 memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        var response = HeartbeatResponse()
        response.errorCode = code.rawValue
        return response
    }
}

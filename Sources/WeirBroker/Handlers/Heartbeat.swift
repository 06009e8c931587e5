import KafkaProtocol
import WeirStorage

/// Heartbeat (12): keeps a member's session alive; tells it when a rebalance has begun.
struct HeartbeatHandler: ApiHandler {
    typealias Request = HeartbeatRequest
    let groups: GroupCoordinator
    /// Read on the group (GROUP_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// In a cluster: NOT_COORDINATOR unless this broker coordinates the group.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: HeartbeatRequest, context: RequestContext) async throws -> HeartbeatResponse? {
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            var denied = HeartbeatResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        guard cluster.coordinates(group: request.groupId) else {
            var moved = HeartbeatResponse()
            moved.errorCode = ErrorCode.notCoordinator.rawValue
            return moved
        }
        let code = await groups.heartbeat(groupId: request.groupId, generationId: request.generationId,
                                                 memberId: request.memberId, groupInstanceId: request.groupInstanceId)
        var response = HeartbeatResponse()
        response.errorCode = code.rawValue
        return response
    }
}

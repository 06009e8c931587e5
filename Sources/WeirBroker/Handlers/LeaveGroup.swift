import KafkaProtocol
import WeirStorage

/// LeaveGroup (13): one member (v0-2) or a batch of members (v3+) leave.
struct LeaveGroupHandler: ApiHandler {
    typealias Request = LeaveGroupRequest
    let groups: GroupCoordinator
    /// Read on the group (GROUP_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// In a cluster: NOT_COORDINATOR unless this broker coordinates the group.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: LeaveGroupRequest, context: RequestContext) async throws -> LeaveGroupResponse? {
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            var denied = LeaveGroupResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        guard cluster.coordinates(group: request.groupId) else {
            var moved = LeaveGroupResponse()
            moved.errorCode = ErrorCode.notCoordinator.rawValue
            return moved
        }
        let members = context.apiVersion >= 3
            ? request.members.map { LeavingMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, reason: $0.reason) }
            : [LeavingMember(memberId: request.memberId)]
        let outcome = await groups.leave(groupId: request.groupId, members: members)
        var response = LeaveGroupResponse()
        if context.apiVersion >= 3 {
            response.errorCode = outcome.error.rawValue
            response.members = zip(members, outcome.memberErrors).map {
                .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, errorCode: $1.rawValue)
            }
        } else {
            // v0-2 carry one member: its error is the response's error.
            response.errorCode = outcome.error != .none ? outcome.error.rawValue : (outcome.memberErrors.first ?? .none).rawValue
        }
        return response
    }
}

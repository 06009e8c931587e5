import KafkaProtocol
import WeirStorage

/// SyncGroup (14): the leader hands in the assignment; every member gets its own share.
struct SyncGroupHandler: ApiHandler {
    typealias Request = SyncGroupRequest
    let groups: GroupCoordinator
    /// Read on the group (GROUP_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// In a cluster: NOT_COORDINATOR unless this broker coordinates the group.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...5 }

    func handle(_ request: SyncGroupRequest, context: RequestContext) async throws -> SyncGroupResponse? {
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            var denied = SyncGroupResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        guard cluster.coordinates(group: request.groupId) else {
            var moved = SyncGroupResponse()
            moved.errorCode = ErrorCode.notCoordinator.rawValue
            return moved
        }
        let outcome = await groups.sync(SyncGroupParams(
            groupId: request.groupId, generationId: request.generationId, memberId: request.memberId,
            groupInstanceId: request.groupInstanceId, protocolType: request.protocolType, protocolName: request.protocolName,
            assignments: request.assignments.map { MemberAssignment(memberId: $0.memberId, assignment: $0.assignment) }))
        var response = SyncGroupResponse()
        response.errorCode = outcome.error.rawValue
        response.protocolType = outcome.protocolType
        response.protocolName = outcome.protocolName
        response.assignment = outcome.assignment
        return response
    }
}

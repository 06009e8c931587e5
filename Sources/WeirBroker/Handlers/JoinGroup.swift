import KafkaProtocol
import WeirStorage

/// JoinGroup (11): waits in the coordinator until the group's rebalance completes.
struct JoinGroupHandler: ApiHandler {
    typealias Request = JoinGroupRequest
    let groups: GroupCoordinator
    /// Read on the group (GROUP_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// In a cluster: NOT_COORDINATOR unless this broker coordinates the group.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...7 }

    func handle(_ request: JoinGroupRequest, context: RequestContext) async throws -> JoinGroupResponse? {
        guard authorizer.authorize(context, .read, .group, request.groupId) else {
            var denied = JoinGroupResponse()
            denied.errorCode = ErrorCode.groupAuthorizationFailed.rawValue
            return denied
        }
        guard cluster.coordinates(group: request.groupId) else {
            var moved = JoinGroupResponse()
            moved.errorCode = ErrorCode.notCoordinator.rawValue
            return moved
        }
        let params = JoinGroupParams(
            groupId: request.groupId, memberId: request.memberId, groupInstanceId: request.groupInstanceId,
            clientId: context.clientId ?? "", clientHost: "/" + context.clientHost,
            sessionTimeoutMs: request.sessionTimeoutMs,
            // v0 has no rebalance timeout: Kafka uses the session timeout.
            rebalanceTimeoutMs: context.apiVersion == 0 ? request.sessionTimeoutMs : request.rebalanceTimeoutMs,
            protocolType: request.protocolType,
            protocols: request.protocols.map { GroupProtocol(name: $0.name, metadata: $0.metadata) },
            requireKnownMemberId: context.apiVersion >= 4,
            supportsSkippingAssignment: context.apiVersion >= 9,
            reason: request.reason)
        let outcome = await groups.join(params)
        var response = JoinGroupResponse()
        response.errorCode = outcome.error.rawValue
        response.generationId = outcome.generationId
        response.protocolType = outcome.protocolType
        // Before v7 the protocol name is not nullable: Kafka sends "" then.
        response.protocolName = outcome.protocolName ?? (context.apiVersion >= 7 ? nil : "")
        response.leader = outcome.leaderId
        response.memberId = outcome.memberId
        response.skipAssignment = outcome.skipAssignment
        response.members = outcome.members.map {
            .init(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId, metadata: $0.metadata)
        }
        return response
    }
}

import KafkaProtocol
import WeirStorage

/// ListGroups (16): every group this coordinator knows, optionally filtered by state (v4+).
struct ListGroupsHandler: ApiHandler {
    typealias Request = ListGroupsRequest
    let groups: GroupCoordinator
    /// Describe on the cluster lists every group; otherwise only the groups the principal may Describe.
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: ListGroupsRequest, context: RequestContext) async throws -> ListGroupsResponse? {
        var groups = await groups.listGroups(statesFilter: request.statesFilter)
        if authorizer.isEnabled, !authorizer.authorize(context, .describe, .cluster, AclResource.clusterName) {
            groups = groups.filter { authorizer.authorize(context, .describe, .group, $0.groupId) }
        }
        var response = ListGroupsResponse()
        response.groups = groups.map { .init(groupId: $0.groupId, protocolType: $0.protocolType, groupState: $0.state, groupType: $0.groupType) }
        return response
    }
}

import KafkaProtocol
import WeirStorage

/// DeleteGroups (42): removes empty groups and their committed offsets.
struct DeleteGroupsHandler: ApiHandler {
    typealias Request = DeleteGroupsRequest
    let groups: GroupCoordinator
    /// Delete on each group (GROUP_AUTHORIZATION_FAILED for that group).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...2 }

    func handle(_ request: DeleteGroupsRequest, context: RequestContext) async throws -> DeleteGroupsResponse? {
        let allowed = request.groupsNames.filter { authorizer.authorize(context, .delete, .group, $0) }
        var codes = await groups.deleteGroups(allowed)
        for name in request.groupsNames where !allowed.contains(name) { codes[name] = .groupAuthorizationFailed }
        var response = DeleteGroupsResponse()
        response.results = request.groupsNames.map { .init(groupId: $0, errorCode: (codes[$0] ?? .none).rawValue) }
        return response
    }
}

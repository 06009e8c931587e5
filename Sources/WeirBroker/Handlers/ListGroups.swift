import KafkaProtocol

/// ListGroups (16): every group this coordinator knows, optionally filtered by state (v4+).
struct ListGroupsHandler: ApiHandler {
    typealias Request = ListGroupsRequest
    let groups: GroupCoordinator
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: ListGroupsRequest, context: RequestContext) async throws -> ListGroupsResponse? {
        let groups = await groups.listGroups(statesFilter: request.statesFilter)
        var response = ListGroupsResponse()
        response.groups = groups.map { .init(groupId: $0.groupId, protocolType: $0.protocolType, groupState: $0.state, groupType: $0.groupType) }
        return response
    }
}

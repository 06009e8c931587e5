import KafkaProtocol

/// DeleteGroups (42): removes empty groups and their committed offsets.
struct DeleteGroupsHandler: ApiHandler {
    typealias Request = DeleteGroupsRequest
    let groups: GroupCoordinator
    var versions: ClosedRange<Int16> { 0...2 }

    func handle(_ request: DeleteGroupsRequest, context: RequestContext) async throws -> DeleteGroupsResponse? {
        let codes = await groups.deleteGroups(request.groupsNames)
        var response = DeleteGroupsResponse()
        response.results = request.groupsNames.map { .init(groupId: $0, errorCode: (codes[$0] ?? .none).rawValue) }
        return response
    }
}

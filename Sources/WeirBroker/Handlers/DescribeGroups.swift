import KafkaProtocol

/// DescribeGroups (15): state, protocol and members of each group.
struct DescribeGroupsHandler: ApiHandler {
    typealias Request = DescribeGroupsRequest
    let groups: GroupCoordinator
    var versions: ClosedRange<Int16> { 0...5 }

    func handle(_ request: DescribeGroupsRequest, context: RequestContext) async throws -> DescribeGroupsResponse? {
        let groups = await groups.describeGroups(request.groups)
        var response = DescribeGroupsResponse()
        response.groups = groups.map { g in
            .init(errorCode: g.error.rawValue, groupId: g.groupId, groupState: g.state, protocolType: g.protocolType,
                  protocolData: g.protocolName, members: g.members.map { m in
                      .init(memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
                            clientHost: m.clientHost, memberMetadata: m.metadata, memberAssignment: m.assignment)
                  })
        }
        return response
    }
}

import KafkaProtocol
import WeirStorage

/// DescribeGroups (15): state, protocol and members of each group.
struct DescribeGroupsHandler: ApiHandler {
    typealias Request = DescribeGroupsRequest
    let groups: GroupCoordinator
    /// Describe on each group (GROUP_AUTHORIZATION_FAILED for that group).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...5 }

    func handle(_ request: DescribeGroupsRequest, context: RequestContext) async throws -> DescribeGroupsResponse? {
        let allowed = request.groups.filter { authorizer.authorize(context, .describe, .group, $0) }
        let described = Dictionary(await groups.describeGroups(allowed).map { ($0.groupId, $0) }, uniquingKeysWith: { a, _ in a })
        var response = DescribeGroupsResponse()
        response.groups = request.groups.map { id in
            guard let g = described[id] else {
                return .init(errorCode: ErrorCode.groupAuthorizationFailed.rawValue, groupId: id, groupState: "",
                             protocolType: "", protocolData: "", members: [])
            }
            return .init(errorCode: g.error.rawValue, groupId: g.groupId, groupState: g.state, protocolType: g.protocolType,
                  protocolData: g.protocolName, members: g.members.map { m in
                      .init(memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
                            clientHost: m.clientHost, memberMetadata: m.metadata, memberAssignment: m.assignment)
                  })
        }
        return response
    }
}

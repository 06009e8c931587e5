import KafkaProtocol

/// SyncGroup (14): the leader hands in the assignment; every member gets its own share.
struct SyncGroupHandler: ApiHandler {
    typealias Request = SyncGroupRequest
    let groups: GroupCoordinator
    var versions: ClosedRange<Int16> { 0...5 }

    func handle(_ request: SyncGroupRequest, context: RequestContext) async throws -> SyncGroupResponse? {
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

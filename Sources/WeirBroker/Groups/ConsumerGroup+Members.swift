import KafkaProtocol
import NIOCore

// SyncGroup, Heartbeat, LeaveGroup and the membership check of OffsetCommit.
extension ConsumerGroup {
    /// A SyncGroup request arrived. Followers that sync before the leader wait for its
    /// assignment; the leader's sync settles the generation and answers everyone.
    public mutating func syncReceived(_ request: SyncGroupParams, waiter: GroupWaiterID, now: Int64) -> [Action] {
        func fail(_ error: ErrorCode) -> [Action] { [.completeSync(waiter, .failure(error))] }
        guard state != .dead else { return fail(.coordinatorNotAvailable) }
        let memberId = request.memberId
        if let error = validateCurrentMember(memberId, instanceId: request.groupInstanceId) { return fail(error) }
        guard request.generationId == generationId else { return fail(.illegalGeneration) }
        if let type = request.protocolType, type != protocolType { return fail(.inconsistentGroupProtocol) }
        if let name = request.protocolName, name != protocolName { return fail(.inconsistentGroupProtocol) }

        var actions: [Action] = []
        switch state {
        case .empty, .dead:
            return fail(.unknownMemberId)
        case .preparingRebalance:
            return fail(.rebalanceInProgress)
        case .completingRebalance:
            guard var member = members[memberId] else { return fail(.unknownMemberId) }
            if let previous = member.awaitingSync, previous != waiter {
                actions.append(.completeSync(previous, .failure(.rebalanceInProgress)))
            }
            member.awaitingSync = waiter
            members[memberId] = member
            syncArrived(from: memberId)
            if memberId == leaderId { assignmentReceived(request.assignments, now: now, into: &actions) }
        case .stable:
            guard let member = members[memberId] else { return fail(.unknownMemberId) }
            syncArrived(from: memberId)
            touch(memberId, now: now)
            actions.append(.completeSync(waiter, SyncGroupOutcome(
                error: .none, protocolType: protocolType, protocolName: protocolName, assignment: member.assignment)))
        }
        return actions
    }

    private mutating func syncArrived(from memberId: String) {
        pendingSyncMembers.remove(memberId)
        if pendingSyncMembers.isEmpty { syncDeadlineMs = nil }
    }

    /// The leader's assignment: stored per member (members it left out get an empty one,
    /// ids that are not members are ignored), the group becomes Stable, parked syncs are answered.
    private mutating func assignmentReceived(_ assignments: [MemberAssignment], now: Int64,
                                             into actions: inout [Action]) {
        var byMember: [String: ByteBuffer] = [:]
        for entry in assignments { byMember[entry.memberId] = entry.assignment }
        state = .stable
        for memberId in memberOrder {
            guard var member = members[memberId] else { continue }
            member.assignment = byMember[memberId] ?? ByteBuffer()
            if let waiter = member.awaitingSync {
                actions.append(.completeSync(waiter, SyncGroupOutcome(
                    error: .none, protocolType: protocolType, protocolName: protocolName,
                    assignment: member.assignment)))
                member.awaitingSync = nil
                // It could not heartbeat while it waited.
                member.sessionDeadlineMs = now + Int64(member.sessionTimeoutMs)
            }
            members[memberId] = member
        }
    }

    /// A Heartbeat arrived. REBALANCE_IN_PROGRESS is how members learn that they must rejoin.
    public mutating func heartbeatReceived(memberId: String, groupInstanceId: String?, generationId: Int32,
                                           now: Int64) -> ErrorCode {
        guard state != .dead else { return .coordinatorNotAvailable }
        if isFenced(instanceId: groupInstanceId, memberId: memberId) { return .fencedInstanceId }
        guard members[memberId] != nil else { return .unknownMemberId }
        guard generationId == self.generationId else { return .illegalGeneration }
        switch state {
        case .empty, .dead:
            return .unknownMemberId
        case .completingRebalance, .stable:
            // A member may heartbeat between its JoinGroup response and its SyncGroup.
            touch(memberId, now: now)
            return .none
        case .preparingRebalance:
            touch(memberId, now: now)
            return .rebalanceInProgress
        }
    }

    /// A LeaveGroup request arrived. Returns one error per member, in request order, and the
    /// actions of the rebalance the departures cause.
    public mutating func leaveReceived(_ leaving: [LeavingMember], now: Int64)
        -> (memberErrors: [ErrorCode], actions: [Action]) {
        guard state != .dead else { return (Array(repeating: .coordinatorNotAvailable, count: leaving.count), []) }
        var actions: [Action] = []
        var errors: [ErrorCode] = []
        for member in leaving {
            if member.memberId.isEmpty {
                // An administrator removing a static member by its instance id alone.
                if let instanceId = member.groupInstanceId, let current = staticMembers[instanceId] {
                    removeMemberAndUpdateGroup(current, now: now, into: &actions)
                    errors.append(.none)
                } else {
                    errors.append(.unknownMemberId)
                }
            } else if pendingMembers[member.memberId] != nil {
                removePendingMemberAndUpdateGroup(member.memberId, now: now, into: &actions)
                errors.append(.none)
            } else if let error = validateCurrentMember(member.memberId, instanceId: member.groupInstanceId) {
                errors.append(error)
            } else {
                removeMemberAndUpdateGroup(member.memberId, now: now, into: &actions)
                errors.append(.none)
            }
        }
        return (errors, actions)
    }

    /// May this OffsetCommit be stored? Returns NONE if so (and counts it as a sign of life).
    ///
    /// Generation -1 with no member id and no instance id is a commit from outside group
    /// management (`assign()` users, admin tools): allowed only while the group has no members.
    public mutating func offsetCommitValidated(generationId: Int32, memberId: String, groupInstanceId: String?,
                                               now: Int64) -> ErrorCode {
        guard state != .dead else { return .coordinatorNotAvailable }
        if generationId < 0 && memberId.isEmpty && groupInstanceId == nil {
            return state == .empty ? .none : .unknownMemberId
        }
        if let error = validateCurrentMember(memberId, instanceId: groupInstanceId) { return error }
        guard generationId == self.generationId else { return .illegalGeneration }
        switch state {
        case .completingRebalance:
            // The member has its new generation but not its assignment: committing now would
            // commit for partitions it may not own.
            return .rebalanceInProgress
        case .stable, .preparingRebalance:
            // During PreparingRebalance a member may not know of the rebalance yet; its commit
            // for the generation it holds is still valid.
            touch(memberId, now: now)
            return .none
        case .empty, .dead:
            return .unknownMemberId
        }
    }
}

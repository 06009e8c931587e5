import KafkaProtocol
import NIOCore

// JoinGroup: how a join request changes the group (Kafka's handleJoinGroup,
// doNewMemberJoinGroup, doCurrentMemberJoinGroup, doStaticMemberJoinGroup).
extension ConsumerGroup {
    /// A JoinGroup request arrived.
    ///
    /// - Parameters:
    ///   - waiter: names the suspended call; it is answered by a `.completeJoin(waiter, …)`
    ///     action, now or by a later event.
    ///   - newMemberId: the id to give the member if it is new (`clientId-UUID`, made by the
    ///     coordinator so that this stays deterministic).
    ///   - now: monotonic milliseconds.
    public mutating func joinReceived(_ request: JoinGroupParams, waiter: GroupWaiterID,
                                      newMemberId: String, now: Int64) -> [Action] {
        func fail(_ error: ErrorCode) -> [Action] {
            [.completeJoin(waiter, .failure(error, memberId: request.memberId))]
        }
        guard request.sessionTimeoutMs >= config.minSessionTimeoutMs,
              request.sessionTimeoutMs <= config.maxSessionTimeoutMs else {
            return fail(.invalidSessionTimeout)
        }
        // A Dead group is being deleted; the client rediscovers the coordinator and retries.
        guard state != .dead else { return fail(.coordinatorNotAvailable) }

        var join = request
        join.protocols = GroupMember.uniqueProtocols(request.protocols)
        if join.rebalanceTimeoutMs < 0 { join.rebalanceTimeoutMs = join.sessionTimeoutMs }
        guard supportsProtocols(type: join.protocolType, join.protocols) else {
            return fail(.inconsistentGroupProtocol)
        }

        var actions: [Action] = []
        if join.memberId.isEmpty {
            newMemberJoined(join, waiter: waiter, newMemberId: newMemberId, now: now, into: &actions)
        } else {
            knownMemberJoined(join, waiter: waiter, now: now, into: &actions)
        }
        if state == .preparingRebalance { tryCompleteJoin(now: now, into: &actions) }
        return actions
    }

    /// A parked JoinGroup call can no longer be answered: its connection closed (the
    /// coordinator learns it when the request's task is cancelled).
    ///
    /// A librdkafka consumer closed while it waits in JoinGroup sends no LeaveGroup, or sends one
    /// that waits behind the JoinGroup on the same connection until it times out (5 s) and the
    /// client disconnects. Kept, such a member would be counted as joined, answered into the
    /// next generation, and then neither sync, heartbeat nor rejoin: the following join phase
    /// would wait for it until its session expired (45 s by default) while the live members
    /// keep the old assignment. So a dynamic member goes at once, as if it had left; a client
    /// that only lost its connection rejoins with its id, gets UNKNOWN_MEMBER_ID and joins
    /// afresh. A static member stays (its instance id is meant to outlive a restart), no longer
    /// counted as joined, with its session clock running again.
    ///
    /// A waiter that is no longer parked (already answered, or replaced by a retried JoinGroup)
    /// changes nothing.
    public mutating func joinAbandoned(waiter: GroupWaiterID, now: Int64) -> [Action] {
        guard state != .dead,
              let memberId = memberOrder.first(where: { members[$0]?.awaitingJoin == waiter }),
              let member = members[memberId] else { return [] }
        var actions: [Action] = []
        if member.isStatic {
            members[memberId]?.awaitingJoin = nil
            touch(memberId, now: now)
            actions.append(.completeJoin(waiter, .failure(.unknownMemberId, memberId: memberId)))
        } else {
            removeMemberAndUpdateGroup(memberId, now: now, into: &actions)
        }
        return actions
    }

    private mutating func newMemberJoined(_ join: JoinGroupParams, waiter: GroupWaiterID, newMemberId: String,
                                          now: Int64, into actions: inout [Action]) {
        if let instanceId = join.groupInstanceId {
            // Static members skip the MEMBER_ID_REQUIRED round: the instance id identifies them.
            if let oldMemberId = staticMembers[instanceId] {
                staticMemberRejoined(join, instanceId: instanceId, oldMemberId: oldMemberId,
                                     newMemberId: newMemberId, waiter: waiter, now: now, into: &actions)
            } else {
                addMemberAndRebalance(join, memberId: newMemberId, waiter: waiter, now: now, into: &actions)
            }
        } else if join.requireKnownMemberId {
            // The id lapses after one session timeout unless the member rejoins with it; until
            // then it holds the rebalance open, so the member is not left out.
            pendingMembers[newMemberId] = now + Int64(join.sessionTimeoutMs)
            actions.append(.completeJoin(waiter, .failure(.memberIdRequired, memberId: newMemberId)))
        } else {
            addMemberAndRebalance(join, memberId: newMemberId, waiter: waiter, now: now, into: &actions)
        }
    }

    private mutating func knownMemberJoined(_ join: JoinGroupParams, waiter: GroupWaiterID, now: Int64,
                                            into actions: inout [Action]) {
        let memberId = join.memberId
        func fail(_ error: ErrorCode) {
            actions.append(.completeJoin(waiter, .failure(error, memberId: memberId)))
        }
        if pendingMembers[memberId] != nil {
            // Pending ids are only handed to dynamic members (Kafka treats the contrary as a bug).
            guard join.groupInstanceId == nil else { return fail(.unknownMemberId) }
            addMemberAndRebalance(join, memberId: memberId, waiter: waiter, now: now, into: &actions)
            return
        }
        if let error = validateCurrentMember(memberId, instanceId: join.groupInstanceId) { return fail(error) }
        guard let member = members[memberId] else { return fail(.unknownMemberId) }

        switch state {
        case .preparingRebalance:
            updateMemberAndRebalance(join, memberId: memberId, waiter: waiter, now: now, into: &actions)
        case .completingRebalance:
            if member.matches(join.protocols) {
                // The member probably lost the JoinGroup response: send it again.
                touch(memberId, now: now)
                actions.append(.completeJoin(waiter, currentGenerationOutcome(
                    for: memberId, includeMembers: leaderId == memberId)))
            } else {
                updateMemberAndRebalance(join, memberId: memberId, waiter: waiter, now: now, into: &actions)
            }
        case .stable:
            // A leader's rejoin always rebalances: it is how a leader reacts to changes the
            // member metadata does not show (new partitions of a subscribed topic).
            if leaderId == memberId || !member.matches(join.protocols) {
                updateMemberAndRebalance(join, memberId: memberId, waiter: waiter, now: now, into: &actions)
            } else {
                touch(memberId, now: now)
                actions.append(.completeJoin(waiter, currentGenerationOutcome(for: memberId, includeMembers: false)))
            }
        case .empty, .dead:
            fail(.unknownMemberId)
        }
    }

    /// A static member rejoined without its member id (a restarted process): it takes over
    /// its old identity under a new id. A Stable group does not rebalance unless the chosen
    /// protocol would change; the member gets the current generation back.
    private mutating func staticMemberRejoined(_ join: JoinGroupParams, instanceId: String, oldMemberId: String,
                                              newMemberId: String, waiter: GroupWaiterID, now: Int64,
                                              into actions: inout [Action]) {
        let previousLeader = leaderId
        replaceStaticMember(instanceId: instanceId, oldMemberId: oldMemberId, newMemberId: newMemberId,
                            into: &actions)
        touch(newMemberId, now: now)
        updateMember(join, memberId: newMemberId, waiter: waiter, into: &actions)

        switch state {
        case .stable:
            guard selectProtocol() == protocolName else {
                maybePrepareRebalance(now: now, into: &actions)
                return
            }
            members[newMemberId]?.awaitingJoin = nil
            let outcome: JoinGroupOutcome
            if join.supportsSkippingAssignment {
                // KIP-814: the leader learns it leads, gets the members, and is told not to reassign.
                let isLeader = leaderId == newMemberId
                outcome = currentGenerationOutcome(for: newMemberId, includeMembers: isLeader,
                                                   skipAssignment: isLeader)
            } else {
                // Older clients would run the assignment if they saw themselves as leader, so
                // they are shown the previous leader id (Kafka's behaviour).
                outcome = currentGenerationOutcome(for: newMemberId, includeMembers: false,
                                                   leaderId: previousLeader)
            }
            actions.append(.completeJoin(waiter, outcome))
        case .completingRebalance:
            // The leader may be assigning to the old id; only a new generation is consistent.
            prepareRebalance(now: now, into: &actions)
        case .preparingRebalance:
            break
        case .empty, .dead:
            // Unreachable: a group with a static member is not empty.
            maybePrepareRebalance(now: now, into: &actions)
        }
    }

    private mutating func replaceStaticMember(instanceId: String, oldMemberId: String, newMemberId: String,
                                              into actions: inout [Action]) {
        guard var member = members.removeValue(forKey: oldMemberId) else { return }
        // Whoever still waits under the old id is a duplicate of this instance: fence it.
        if let waiter = member.awaitingJoin {
            actions.append(.completeJoin(waiter, .failure(.fencedInstanceId, memberId: oldMemberId)))
            member.awaitingJoin = nil
        }
        if let waiter = member.awaitingSync {
            actions.append(.completeSync(waiter, .failure(.fencedInstanceId)))
            member.awaitingSync = nil
        }
        member.memberId = newMemberId
        members[newMemberId] = member
        if let index = memberOrder.firstIndex(of: oldMemberId) { memberOrder[index] = newMemberId }
        staticMembers[instanceId] = newMemberId
        if leaderId == oldMemberId { leaderId = newMemberId }
        if pendingSyncMembers.remove(oldMemberId) != nil { pendingSyncMembers.insert(newMemberId) }
    }

    private mutating func addMemberAndRebalance(_ join: JoinGroupParams, memberId: String, waiter: GroupWaiterID,
                                                now: Int64, into actions: inout [Action]) {
        // A new member cannot heartbeat before its first JoinGroup response, so its session
        // clock does not apply yet; the long join timeout removes it if it gave up instead.
        let member = GroupMember(
            memberId: memberId, groupInstanceId: join.groupInstanceId, clientId: join.clientId,
            clientHost: join.clientHost, protocolType: join.protocolType, protocols: join.protocols,
            sessionTimeoutMs: join.sessionTimeoutMs, rebalanceTimeoutMs: join.rebalanceTimeoutMs,
            sessionDeadlineMs: now + config.newMemberJoinTimeoutMs, awaitingJoin: waiter, isNew: true)
        if state == .preparingRebalance, case .initialDelay = joinTimer { newMemberAdded = true }
        add(member)
        maybePrepareRebalance(now: now, into: &actions)
    }

    private mutating func updateMemberAndRebalance(_ join: JoinGroupParams, memberId: String, waiter: GroupWaiterID,
                                                   now: Int64, into actions: inout [Action]) {
        updateMember(join, memberId: memberId, waiter: waiter, into: &actions)
        maybePrepareRebalance(now: now, into: &actions)
    }

    /// Takes the rejoin's protocols and timeouts and parks its call. A call already parked for
    /// this member (the client gave up on it and retried) is answered REBALANCE_IN_PROGRESS,
    /// which makes a client that still listens simply rejoin.
    private mutating func updateMember(_ join: JoinGroupParams, memberId: String, waiter: GroupWaiterID,
                                       into actions: inout [Action]) {
        guard var member = members[memberId] else { return }
        member.protocols = join.protocols
        member.rebalanceTimeoutMs = join.rebalanceTimeoutMs
        member.sessionTimeoutMs = join.sessionTimeoutMs
        member.clientId = join.clientId
        member.clientHost = join.clientHost
        if let previous = member.awaitingJoin, previous != waiter {
            actions.append(.completeJoin(previous, .failure(.rebalanceInProgress, memberId: memberId)))
        }
        member.awaitingJoin = waiter
        members[memberId] = member
    }
}

import KafkaProtocol
import NIOCore

// The join phase and the timers (Kafka's prepareRebalance, DelayedJoin, InitialDelayedJoin,
// onCompleteJoin, DelayedHeartbeat and DelayedSync).
extension ConsumerGroup {
    // MARK: Timer events

    /// Runs every timer that is due at `now`; the coordinator calls this when the deadline it
    /// armed from `nextTimerDeadlineMs` passes. Calling it early is harmless.
    public mutating func timersFired(now: Int64) -> [Action] {
        rebalanceTimerFired(now: now) + sessionTimersChecked(now: now)
    }

    /// The join phase's timer: the initial delay of an empty group's first rebalance, or the
    /// rebalance timeout after which members that did not rejoin are dropped.
    public mutating func rebalanceTimerFired(now: Int64) -> [Action] {
        var actions: [Action] = []
        guard state == .preparingRebalance, let timer = joinTimer else { return actions }
        switch timer {
        case .rebalance(let deadline):
            if deadline <= now { completeJoin(now: now, into: &actions) }
        case .initialDelay(let deadline, let remaining):
            guard deadline <= now else { break }
            if newMemberAdded && remaining > 0 {
                // Someone joined during the delay: more may follow, wait once more.
                newMemberAdded = false
                let delay = min(config.initialRebalanceDelayMs, remaining)
                joinTimer = .initialDelay(deadlineMs: now + delay, remainingMs: remaining - delay)
            } else {
                completeJoin(now: now, into: &actions)
            }
        }
        return actions
    }

    /// Expires what has not been heard from: lapsed MEMBER_ID_REQUIRED ids, members past their
    /// session deadline, and members that never sent SyncGroup within the rebalance timeout.
    public mutating func sessionTimersChecked(now: Int64) -> [Action] {
        var actions: [Action] = []
        for (memberId, deadline) in pendingMembers.sorted(by: { $0.key < $1.key }) where deadline <= now {
            removePendingMemberAndUpdateGroup(memberId, now: now, into: &actions)
        }
        for memberId in memberOrder {
            guard let member = members[memberId], !member.isExemptFromExpiry,
                  member.sessionDeadlineMs <= now else { continue }
            removeMemberAndUpdateGroup(memberId, now: now, into: &actions)
        }
        if let deadline = syncDeadlineMs, deadline <= now {
            pendingSyncExpired(now: now, into: &actions)
        }
        return actions
    }

    private mutating func pendingSyncExpired(now: Int64, into actions: inout [Action]) {
        syncDeadlineMs = nil
        guard state == .completingRebalance || state == .stable, !pendingSyncMembers.isEmpty else { return }
        for memberId in memberOrder where pendingSyncMembers.contains(memberId) {
            remove(memberId, into: &actions)
        }
        pendingSyncMembers = []
        prepareRebalance(now: now, into: &actions)
    }

    // MARK: The join phase

    mutating func maybePrepareRebalance(now: Int64, into actions: inout [Action]) {
        switch state {
        case .stable, .completingRebalance, .empty: prepareRebalance(now: now, into: &actions)
        case .preparingRebalance, .dead: break
        }
    }

    /// Enters PreparingRebalance: members awaiting their assignment are told to rejoin, and the
    /// join phase's timer starts.
    mutating func prepareRebalance(now: Int64, into actions: inout [Action]) {
        if state == .completingRebalance {
            resetAndPropagateAssignmentError(.rebalanceInProgress, now: now, into: &actions)
        }
        pendingSyncMembers = []
        syncDeadlineMs = nil
        let timeout = rebalanceTimeoutMs
        let delay = config.initialRebalanceDelayMs
        if state == .empty && delay > 0 {
            joinTimer = .initialDelay(deadlineMs: now + delay, remainingMs: max(timeout - delay, 0))
        } else {
            joinTimer = .rebalance(deadlineMs: now + timeout)
        }
        newMemberAdded = false
        state = .preparingRebalance
        tryCompleteJoin(now: now, into: &actions)
    }

    /// Clears every assignment and answers the parked SyncGroup calls with `error`.
    mutating func resetAndPropagateAssignmentError(_ error: ErrorCode, now: Int64, into actions: inout [Action]) {
        for memberId in memberOrder {
            guard var member = members[memberId] else { continue }
            member.assignment = ByteBuffer()
            if let waiter = member.awaitingSync {
                actions.append(.completeSync(waiter, .failure(error)))
                member.awaitingSync = nil
                member.sessionDeadlineMs = now + Int64(member.sessionTimeoutMs)
            }
            members[memberId] = member
        }
    }

    /// Completes the join phase early once every member (and every pending id) has joined;
    /// the initial delay never completes early.
    mutating func tryCompleteJoin(now: Int64, into actions: inout [Action]) {
        guard state == .preparingRebalance, case .rebalance = joinTimer, hasAllMembersJoined else { return }
        completeJoin(now: now, into: &actions)
    }

    var hasAllMembersJoined: Bool {
        pendingMembers.isEmpty && members.values.allSatisfy { $0.awaitingJoin != nil }
    }

    /// Ends the join phase (Kafka's onCompleteJoin): drops dynamic members that did not rejoin,
    /// starts the next generation and answers every parked JoinGroup.
    mutating func completeJoin(now: Int64, into actions: inout [Action]) {
        joinTimer = nil
        newMemberAdded = false
        for memberId in memberOrder {
            guard let member = members[memberId], member.awaitingJoin == nil, !member.isStatic else { continue }
            remove(memberId, into: &actions)
        }
        guard state != .dead else { return }
        if !electJoinedLeader() && !members.isEmpty {
            // Only static members that have not rejoined remain: wait for them (or for their
            // sessions to expire). The floor keeps a zero rebalance timeout from spinning.
            joinTimer = .rebalance(deadlineMs: now + max(rebalanceTimeoutMs, 1000))
            return
        }
        initNextGeneration()
        guard state == .completingRebalance else { return }

        let leaderMembers = currentMemberMetadata
        for memberId in memberOrder {
            guard var member = members[memberId] else { continue }
            if let waiter = member.awaitingJoin {
                let isLeader = memberId == leaderId
                actions.append(.completeJoin(waiter, JoinGroupOutcome(
                    error: .none, generationId: generationId, protocolType: protocolType,
                    protocolName: protocolName, leaderId: leaderId ?? "", memberId: memberId,
                    members: isLeader ? leaderMembers : [])))
                member.awaitingJoin = nil
            }
            member.sessionDeadlineMs = now + Int64(member.sessionTimeoutMs)
            member.isNew = false
            members[memberId] = member
            pendingSyncMembers.insert(memberId)
        }
        syncDeadlineMs = now + rebalanceTimeoutMs
    }

    /// Keeps the leader if it rejoined, else hands leadership to the first member that did.
    /// False when no member rejoined (or there is no leader at all).
    private mutating func electJoinedLeader() -> Bool {
        guard let current = leaderId, let leader = members[current] else { return false }
        if leader.awaitingJoin != nil { return true }
        guard let joined = memberOrder.first(where: { members[$0]?.awaitingJoin != nil }) else { return false }
        leaderId = joined
        return true
    }

    private mutating func initNextGeneration() {
        // Wrapping instead of trapping: two billion rebalances of one group are not a reason to crash.
        generationId = generationId == Int32.max ? 1 : generationId + 1
        if members.isEmpty {
            protocolName = nil
            state = .empty
        } else {
            protocolName = selectProtocol()
            state = .completingRebalance
        }
        pendingSyncMembers = []
        syncDeadlineMs = nil
    }

    /// Kafka's selectProtocol: among the protocols every member supports, each member votes for
    /// its most preferred; the most votes win. Ties (arbitrary in Kafka) go to the leader's
    /// preference, so the choice is deterministic.
    func selectProtocol() -> String? {
        let all = allMembers
        guard let first = all.first else { return nil }
        let candidates = Set(first.protocols.map(\.name).filter { name in all.allSatisfy { $0.supports(name) } })
        let preference = (leaderId.flatMap { members[$0] } ?? first).protocols.map(\.name)
        guard !candidates.isEmpty else { return preference.first }
        var votes: [String: Int] = [:]
        for member in all {
            if let vote = member.vote(among: candidates) { votes[vote, default: 0] += 1 }
        }
        let best = votes.values.max() ?? 0
        return preference.first { votes[$0] == best } ?? preference.first
    }
}

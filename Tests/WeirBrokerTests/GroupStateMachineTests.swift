import KafkaProtocol
import NIOCore
import Testing
@testable import WeirBroker

/// The `ConsumerGroup` state machine driven by plain calls with explicit times.
@Suite struct GroupStateMachineTests {
    typealias G = GroupTest

    /// One member: join → CompletingRebalance → leader's sync → Stable.
    @Test func singleMemberJoinSyncStable() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        let join = group.joinReceived(G.join(), waiter: 1, newMemberId: "c-1", now: 0)
        #expect(join == [.completeJoin(1, JoinGroupOutcome(
            error: .none, generationId: 1, protocolType: "consumer", protocolName: "range", leaderId: "c-1",
            memberId: "c-1", members: [JoinedMember(memberId: "c-1", groupInstanceId: nil, metadata: G.bytes("range:m"))]))])
        #expect(group.state == .completingRebalance)
        #expect(group.generationId == 1)

        let sync = group.syncReceived(G.sync(generation: 1, memberId: "c-1", assignments: [("c-1", "a1")]),
                                      waiter: 2, now: 10)
        #expect(sync == [.completeSync(2, SyncGroupOutcome(error: .none, protocolType: "consumer",
                                                           protocolName: "range", assignment: G.bytes("a1")))])
        #expect(group.state == .stable)
        #expect(group.groupDescription == GroupDescription(
            groupId: "g", error: .none, state: "Stable", protocolType: "consumer", protocolName: "range",
            members: [MemberDescription(memberId: "c-1", groupInstanceId: nil, clientId: "c", clientHost: "/127.0.0.1",
                                        metadata: G.bytes("range:m"), assignment: G.bytes("a1"))]))
        // A sync in Stable returns the current assignment.
        #expect(group.syncReceived(G.sync(generation: 1, memberId: "c-1"), waiter: 3, now: 20)
            == [.completeSync(3, SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range",
                                                  assignment: G.bytes("a1")))])
        #expect(group.heartbeatReceived(memberId: "c-1", groupInstanceId: nil, generationId: 1, now: 30) == .none)
    }

    /// JoinGroup v4+: the first join only hands out an id; the rejoin with it joins.
    @Test func memberIdRequiredRound() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        let first = group.joinReceived(G.join(requireKnownMemberId: true), waiter: 1, newMemberId: "c-1", now: 0)
        #expect(first == [.completeJoin(1, .failure(.memberIdRequired, memberId: "c-1"))])
        #expect(group.state == .empty)
        #expect(group.memberCount == 0)
        // The pending id lapses after one session timeout.
        #expect(group.nextTimerDeadlineMs == 10_000)

        let second = group.joinReceived(G.join(memberId: "c-1", requireKnownMemberId: true), waiter: 2,
                                        newMemberId: "c-2", now: 100)
        #expect(second.count == 1)
        guard case .completeJoin(2, let outcome) = second.first else {
            Issue.record("no join answer")
            return
        }
        #expect(outcome.error == .none)
        #expect(outcome.memberId == "c-1")
        #expect(outcome.generationId == 1)
        #expect(outcome.leaderId == "c-1")
    }

    @Test func unusedPendingIdLapses() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        _ = group.joinReceived(G.join(requireKnownMemberId: true), waiter: 1, newMemberId: "c-1", now: 0)
        #expect(group.timersFired(now: 9_999) == [])
        #expect(group.timersFired(now: 10_000) == [])
        #expect(group.nextTimerDeadlineMs == nil)
        #expect(group.isPristine)
        let late = group.joinReceived(G.join(memberId: "c-1"), waiter: 2, newMemberId: "c-2", now: 10_001)
        #expect(late == [.completeJoin(2, .failure(.unknownMemberId, memberId: "c-1"))])
    }

    /// The second member's join starts a rebalance; the first learns of it by heartbeat,
    /// rejoins, both get generation 2, the leader gets both metadata, the sync distributes.
    @Test func secondMemberTriggersRebalance() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        _ = group.joinReceived(G.join(client: "a", protocols: G.protocols(["range"], tag: "a")), waiter: 1,
                               newMemberId: "a-1", now: 0)
        _ = group.syncReceived(G.sync(generation: 1, memberId: "a-1", assignments: [("a-1", "all")]), waiter: 2, now: 0)
        #expect(group.state == .stable)

        let bJoin = group.joinReceived(G.join(client: "b", protocols: G.protocols(["range"], tag: "b")), waiter: 3,
                                       newMemberId: "b-1", now: 100)
        #expect(bJoin == [])
        #expect(group.state == .preparingRebalance)
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: nil, generationId: 1, now: 200)
            == .rebalanceInProgress)
        // Commits of the old generation are still accepted while the rebalance prepares.
        #expect(group.offsetCommitValidated(generationId: 1, memberId: "a-1", groupInstanceId: nil, now: 200) == .none)

        let aRejoin = group.joinReceived(G.join(memberId: "a-1", client: "a", protocols: G.protocols(["range"], tag: "a")),
                                         waiter: 4, newMemberId: "a-2", now: 300)
        let both = [JoinedMember(memberId: "a-1", groupInstanceId: nil, metadata: G.bytes("range:a")),
                    JoinedMember(memberId: "b-1", groupInstanceId: nil, metadata: G.bytes("range:b"))]
        #expect(aRejoin == [
            .completeJoin(4, JoinGroupOutcome(error: .none, generationId: 2, protocolType: "consumer", protocolName: "range",
                                              leaderId: "a-1", memberId: "a-1", members: both)),
            .completeJoin(3, JoinGroupOutcome(error: .none, generationId: 2, protocolType: "consumer", protocolName: "range",
                                              leaderId: "a-1", memberId: "b-1", members: [])),
        ])
        #expect(group.state == .completingRebalance)
        #expect(group.heartbeatReceived(memberId: "b-1", groupInstanceId: nil, generationId: 2, now: 350) == .none)
        #expect(group.offsetCommitValidated(generationId: 2, memberId: "b-1", groupInstanceId: nil, now: 350)
            == .rebalanceInProgress)

        // The follower syncs first and waits for the leader.
        #expect(group.syncReceived(G.sync(generation: 2, memberId: "b-1"), waiter: 5, now: 400) == [])
        let leaderSync = group.syncReceived(
            G.sync(generation: 2, memberId: "a-1", assignments: [("a-1", "p0"), ("b-1", "p1"), ("ghost", "p9")]),
            waiter: 6, now: 500)
        #expect(leaderSync == [
            .completeSync(6, SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range", assignment: G.bytes("p0"))),
            .completeSync(5, SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range", assignment: G.bytes("p1"))),
        ])
        #expect(group.state == .stable)
        #expect(group.member("b-1")?.assignment == G.bytes("p1"))
        #expect(group.offsetCommitValidated(generationId: 2, memberId: "b-1", groupInstanceId: nil, now: 600) == .none)
    }

    @Test func memberLeftOutOfAssignmentGetsEmptyOne() {
        var group = twoMemberStableGroup()
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 10, newMemberId: "x", now: 1_000)
        _ = group.joinReceived(G.join(memberId: "b-1", client: "b"), waiter: 11, newMemberId: "x", now: 1_000)
        #expect(group.syncReceived(G.sync(generation: 3, memberId: "b-1"), waiter: 12, now: 1_100) == [])
        let actions = group.syncReceived(G.sync(generation: 3, memberId: "a-1", assignments: [("a-1", "all")]),
                                         waiter: 13, now: 1_100)
        #expect(actions == [
            .completeSync(13, SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range", assignment: G.bytes("all"))),
            .completeSync(12, SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range", assignment: ByteBuffer())),
        ])
    }

    @Test func syncAndHeartbeatErrors() {
        var group = twoMemberStableGroup()
        #expect(group.syncReceived(G.sync(generation: 1, memberId: "a-1"), waiter: 20, now: 0)
            == [.completeSync(20, .failure(.illegalGeneration))])
        #expect(group.syncReceived(G.sync(generation: 2, memberId: "zz"), waiter: 21, now: 0)
            == [.completeSync(21, .failure(.unknownMemberId))])
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: nil, generationId: 7, now: 0) == .illegalGeneration)
        #expect(group.heartbeatReceived(memberId: "zz", groupInstanceId: nil, generationId: 2, now: 0) == .unknownMemberId)
        var wrongName = G.sync(generation: 2, memberId: "a-1")
        wrongName.protocolName = "roundrobin"
        #expect(group.syncReceived(wrongName, waiter: 22, now: 0) == [.completeSync(22, .failure(.inconsistentGroupProtocol))])

        // The leader's rejoin in Stable starts a rebalance; syncs then get REBALANCE_IN_PROGRESS.
        #expect(group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 23, newMemberId: "x", now: 0) == [])
        #expect(group.state == .preparingRebalance)
        #expect(group.syncReceived(G.sync(generation: 2, memberId: "b-1"), waiter: 24, now: 0)
            == [.completeSync(24, .failure(.rebalanceInProgress))])
    }

    @Test func joinValidation() {
        var group = twoMemberStableGroup()
        #expect(group.joinReceived(G.join(session: 5_999), waiter: 1, newMemberId: "n", now: 0)
            == [.completeJoin(1, .failure(.invalidSessionTimeout, memberId: ""))])
        #expect(group.joinReceived(G.join(session: 300_001), waiter: 2, newMemberId: "n", now: 0)
            == [.completeJoin(2, .failure(.invalidSessionTimeout, memberId: ""))])
        #expect(group.joinReceived(G.join(protocolType: "connect"), waiter: 3, newMemberId: "n", now: 0)
            == [.completeJoin(3, .failure(.inconsistentGroupProtocol, memberId: ""))])
        #expect(group.joinReceived(G.join(protocols: G.protocols(["sticky"])), waiter: 4, newMemberId: "n", now: 0)
            == [.completeJoin(4, .failure(.inconsistentGroupProtocol, memberId: ""))])
        #expect(group.joinReceived(G.join(memberId: "nobody"), waiter: 5, newMemberId: "n", now: 0)
            == [.completeJoin(5, .failure(.unknownMemberId, memberId: "nobody"))])
        #expect(group.state == .stable)

        var empty = ConsumerGroup(groupId: "g", config: G.noDelay)
        #expect(empty.joinReceived(G.join(protocols: []), waiter: 6, newMemberId: "n", now: 0)
            == [.completeJoin(6, .failure(.inconsistentGroupProtocol, memberId: ""))])
        #expect(empty.isPristine)
    }

    /// Each member votes for its most preferred protocol among those all support.
    @Test func protocolChosenByVote() {
        var group = ConsumerGroup(groupId: "g", config: GroupConfig(initialRebalanceDelayMs: 100))
        _ = group.joinReceived(G.join(client: "a", protocols: G.protocols(["x", "y"])), waiter: 1, newMemberId: "a", now: 0)
        _ = group.joinReceived(G.join(client: "b", protocols: G.protocols(["y", "x", "z"])), waiter: 2, newMemberId: "b", now: 0)
        _ = group.joinReceived(G.join(client: "c", protocols: G.protocols(["y", "x"])), waiter: 3, newMemberId: "c", now: 0)
        let actions = group.timersFired(now: 100) + group.timersFired(now: 200)
        #expect(actions.count == 3)
        #expect(group.protocolName == "y")
        #expect(group.leaderId == "a")
        guard case .completeJoin(1, let leader) = actions.first else {
            Issue.record("leader not answered first")
            return
        }
        #expect(leader.members.map(\.metadata) == [G.bytes("y:m"), G.bytes("y:m"), G.bytes("y:m")])
    }

    /// A member silent past its session timeout is removed and the group rebalances.
    @Test func sessionExpiryRemovesMember() {
        var group = twoMemberStableGroup()  // both synced at t=0 with 10 s sessions
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: nil, generationId: 2, now: 5_000) == .none)
        #expect(group.nextTimerDeadlineMs == 10_000)
        #expect(group.timersFired(now: 9_999) == [])
        #expect(group.timersFired(now: 10_000) == [])
        #expect(group.member("b-1") == nil)
        #expect(group.state == .preparingRebalance)
        #expect(group.heartbeatReceived(memberId: "b-1", groupInstanceId: nil, generationId: 2, now: 10_001) == .unknownMemberId)
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: nil, generationId: 2, now: 10_001) == .rebalanceInProgress)

        let rejoin = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 9, newMemberId: "x", now: 10_002)
        #expect(rejoin == [.completeJoin(9, JoinGroupOutcome(
            error: .none, generationId: 3, protocolType: "consumer", protocolName: "range", leaderId: "a-1", memberId: "a-1",
            members: [JoinedMember(memberId: "a-1", groupInstanceId: nil, metadata: G.bytes("range:m"))]))])
    }

    /// At the rebalance timeout, members that did not rejoin are dropped.
    @Test func rebalanceTimeoutDropsLaggards() {
        var group = twoMemberStableGroup(rebalance: 7_000)
        #expect(group.joinReceived(G.join(memberId: "a-1", client: "a", rebalance: 7_000), waiter: 9,
                                   newMemberId: "x", now: 1_000) == [])
        #expect(group.nextTimerDeadlineMs == 8_000)
        let actions = group.timersFired(now: 8_000)
        #expect(actions == [.completeJoin(9, JoinGroupOutcome(
            error: .none, generationId: 3, protocolType: "consumer", protocolName: "range", leaderId: "a-1", memberId: "a-1",
            members: [JoinedMember(memberId: "a-1", groupInstanceId: nil, metadata: G.bytes("range:m"))]))])
        #expect(group.allMembers.map(\.memberId) == ["a-1"])
    }

    /// A follower that rejoins alone while the leader does not becomes the leader.
    @Test func leadershipPassesToAJoinedMember() {
        var group = twoMemberStableGroup(rebalance: 7_000)
        _ = group.joinReceived(G.join(memberId: "b-1", client: "b", protocols: G.protocols(["range"], tag: "b2"),
                                      rebalance: 7_000), waiter: 9, newMemberId: "x", now: 0)
        let actions = group.timersFired(now: 7_000)
        #expect(actions == [.completeJoin(9, JoinGroupOutcome(
            error: .none, generationId: 3, protocolType: "consumer", protocolName: "range", leaderId: "b-1", memberId: "b-1",
            members: [JoinedMember(memberId: "b-1", groupInstanceId: nil, metadata: G.bytes("range:b2"))]))])
    }

    @Test func leaveRebalancesAndLastLeaveEmpties() {
        var group = twoMemberStableGroup()
        let (errors, actions) = group.leaveReceived([LeavingMember(memberId: "b-1"), LeavingMember(memberId: "ghost")], now: 100)
        #expect(errors == [.none, .unknownMemberId])
        #expect(actions == [])
        #expect(group.state == .preparingRebalance)
        #expect(group.generationId == 2)

        let last = group.leaveReceived([LeavingMember(memberId: "a-1")], now: 200)
        #expect(last.memberErrors == [.none])
        #expect(group.state == .empty)
        #expect(group.generationId == 3)
        #expect(group.protocolName == nil)
        #expect(group.protocolType == "consumer")
        #expect(group.leaderId == nil)
        #expect(group.nextTimerDeadlineMs == nil)
        #expect(group.listing == GroupListing(groupId: "g", protocolType: "consumer", state: "Empty"))
    }

    /// A member removed while its JoinGroup or SyncGroup waits gets an answer.
    @Test func removedMemberWaitingIsAnswered() {
        var group = ConsumerGroup(groupId: "g", config: GroupConfig(initialRebalanceDelayMs: 3_000))
        #expect(group.joinReceived(G.join(), waiter: 1, newMemberId: "c-1", now: 0) == [])
        let (errors, actions) = group.leaveReceived([LeavingMember(memberId: "c-1")], now: 10)
        #expect(errors == [.none])
        #expect(actions == [.completeJoin(1, .failure(.unknownMemberId, memberId: ""))])

        var stable = twoMemberStableGroup()
        _ = stable.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 5, newMemberId: "x", now: 0)
        _ = stable.joinReceived(G.join(memberId: "b-1", client: "b"), waiter: 6, newMemberId: "x", now: 0)
        #expect(stable.syncReceived(G.sync(generation: 3, memberId: "b-1"), waiter: 7, now: 0) == [])
        let left = stable.leaveReceived([LeavingMember(memberId: "b-1")], now: 0)
        #expect(left.actions == [.completeSync(7, .failure(.unknownMemberId))])
        // The other member's pending state is reset: it must rejoin.
        #expect(stable.state == .preparingRebalance)
    }

    /// A second JoinGroup from the same member answers the first one.
    @Test func supersededJoinIsAnswered() {
        var group = twoMemberStableGroup()
        #expect(group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 5, newMemberId: "x", now: 0) == [])
        #expect(group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 6, newMemberId: "x", now: 0)
            == [.completeJoin(5, .failure(.rebalanceInProgress, memberId: "a-1"))])
    }

    @Test func rebalanceWhileAwaitingSyncTellsMembersToRejoin() {
        var group = twoMemberStableGroup()
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 5, newMemberId: "x", now: 0)
        _ = group.joinReceived(G.join(memberId: "b-1", client: "b"), waiter: 6, newMemberId: "x", now: 0)
        #expect(group.syncReceived(G.sync(generation: 3, memberId: "b-1"), waiter: 7, now: 0) == [])
        // A new member arrives before the leader's sync.
        let actions = group.joinReceived(G.join(client: "c"), waiter: 8, newMemberId: "c-1", now: 0)
        #expect(actions == [.completeSync(7, .failure(.rebalanceInProgress))])
        #expect(group.state == .preparingRebalance)
    }

    /// Members that never send SyncGroup are dropped after the rebalance timeout.
    @Test func missingSyncExpires() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        _ = group.joinReceived(G.join(client: "a", rebalance: 8_000), waiter: 1, newMemberId: "a-1", now: 0)
        #expect(group.state == .completingRebalance)
        // Its heartbeats keep the session alive, but the sync deadline still passes.
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: nil, generationId: 1, now: 5_000) == .none)
        #expect(group.nextTimerDeadlineMs == 8_000)
        #expect(group.timersFired(now: 8_000) == [])
        #expect(group.memberCount == 0)
        #expect(group.state == .empty)
        #expect(group.generationId == 2)
    }

    @Test func offsetCommitValidation() {
        var empty = ConsumerGroup(groupId: "g", config: G.noDelay)
        #expect(empty.offsetCommitValidated(generationId: -1, memberId: "", groupInstanceId: nil, now: 0) == .none)
        #expect(empty.offsetCommitValidated(generationId: 1, memberId: "m", groupInstanceId: nil, now: 0) == .unknownMemberId)
        #expect(empty.offsetCommitValidated(generationId: -1, memberId: "", groupInstanceId: "i", now: 0) == .unknownMemberId)

        var group = twoMemberStableGroup()
        #expect(group.offsetCommitValidated(generationId: -1, memberId: "", groupInstanceId: nil, now: 0) == .unknownMemberId)
        #expect(group.offsetCommitValidated(generationId: 2, memberId: "zz", groupInstanceId: nil, now: 0) == .unknownMemberId)
        #expect(group.offsetCommitValidated(generationId: 1, memberId: "a-1", groupInstanceId: nil, now: 0) == .illegalGeneration)
        #expect(group.offsetCommitValidated(generationId: 2, memberId: "a-1", groupInstanceId: nil, now: 0) == .none)
    }

    /// group.initial.rebalance.delay.ms: an empty group's first rebalance waits for more members.
    @Test func initialDelayWaitsAndExtends() {
        var group = ConsumerGroup(groupId: "g", config: GroupConfig(initialRebalanceDelayMs: 3_000))
        #expect(group.joinReceived(G.join(client: "a"), waiter: 1, newMemberId: "a-1", now: 0) == [])
        #expect(group.state == .preparingRebalance)
        #expect(group.nextTimerDeadlineMs == 3_000)
        #expect(group.timersFired(now: 2_999) == [])
        // A second member during the delay extends it by another delay.
        #expect(group.joinReceived(G.join(client: "b"), waiter: 2, newMemberId: "b-1", now: 1_000) == [])
        #expect(group.timersFired(now: 3_000) == [])
        #expect(group.nextTimerDeadlineMs == 6_000)
        let actions = group.timersFired(now: 6_000)
        #expect(actions.count == 2)
        #expect(group.state == .completingRebalance)
        #expect(group.generationId == 1)
    }

    /// The extensions stop at the rebalance timeout.
    @Test func initialDelayCappedByRebalanceTimeout() {
        var group = ConsumerGroup(groupId: "g", config: GroupConfig(initialRebalanceDelayMs: 3_000))
        _ = group.joinReceived(G.join(client: "a", rebalance: 5_000), waiter: 1, newMemberId: "a-1", now: 0)
        _ = group.joinReceived(G.join(client: "b", rebalance: 5_000), waiter: 2, newMemberId: "b-1", now: 1_000)
        #expect(group.timersFired(now: 3_000) == [])
        #expect(group.nextTimerDeadlineMs == 5_000)
        _ = group.joinReceived(G.join(client: "c", rebalance: 5_000), waiter: 3, newMemberId: "c-1", now: 4_000)
        #expect(group.timersFired(now: 5_000).count == 3)
        #expect(group.state == .completingRebalance)
    }

    /// A restarted static member takes over its identity without a rebalance.
    @Test func staticMemberRejoinsWithoutRebalance() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        _ = group.joinReceived(G.join(client: "a", instanceId: "i-a"), waiter: 1, newMemberId: "a-1", now: 0)
        _ = group.syncReceived(G.sync(generation: 1, memberId: "a-1", assignments: [("a-1", "p0")]), waiter: 2, now: 0)
        #expect(group.state == .stable)

        let rejoin = group.joinReceived(G.join(client: "a", instanceId: "i-a", skipAssignmentSupported: true),
                                        waiter: 3, newMemberId: "a-2", now: 100)
        #expect(rejoin == [.completeJoin(3, JoinGroupOutcome(
            error: .none, generationId: 1, protocolType: "consumer", protocolName: "range", leaderId: "a-2", memberId: "a-2",
            skipAssignment: true, members: [JoinedMember(memberId: "a-2", groupInstanceId: "i-a", metadata: G.bytes("range:m"))]))])
        #expect(group.state == .stable)
        #expect(group.member("a-2")?.assignment == G.bytes("p0"))
        // The old incarnation is fenced.
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: "i-a", generationId: 1, now: 200) == .fencedInstanceId)
        #expect(group.joinReceived(G.join(memberId: "a-1", client: "a", instanceId: "i-a"), waiter: 4, newMemberId: "x", now: 200)
            == [.completeJoin(4, .failure(.fencedInstanceId, memberId: "a-1"))])
        #expect(group.heartbeatReceived(memberId: "a-2", groupInstanceId: "i-a", generationId: 1, now: 200) == .none)
        // An administrator can remove it by instance id.
        #expect(group.leaveReceived([LeavingMember(memberId: "", groupInstanceId: "i-a")], now: 300).memberErrors == [.none])
        #expect(group.state == .empty)
    }

    @Test func deleteOnlyWhenEmpty() {
        var group = twoMemberStableGroup()
        #expect(group.deleteRequested() == .nonEmptyGroup)
        var empty = ConsumerGroup(groupId: "g", config: G.noDelay)
        #expect(empty.deleteRequested() == .none)
        #expect(empty.state == .dead)
        #expect(empty.deleteRequested() == .groupIdNotFound)
        #expect(empty.joinReceived(G.join(), waiter: 1, newMemberId: "n", now: 0)
            == [.completeJoin(1, .failure(.coordinatorNotAvailable, memberId: ""))])
    }

    @Test func describeWhileRebalancingHidesMetadata() {
        var group = twoMemberStableGroup()
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 5, newMemberId: "x", now: 0)
        let described = group.groupDescription
        #expect(described.state == "PreparingRebalance")
        #expect(described.protocolName == "")
        #expect(described.members.map(\.memberId) == ["a-1", "b-1"])
        #expect(described.members.allSatisfy { $0.metadata.readableBytes == 0 && $0.assignment.readableBytes == 0 })
        #expect(ConsumerGroup.State.allCases.map(\.kafkaName)
            == ["Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead"])
    }

    // MARK: A parked JoinGroup whose connection closed

    /// The issue's stall: a consumer closed while its JoinGroup was parked (librdkafka sends no
    /// LeaveGroup then). Kept, it would be answered into generation 3, never sync nor rejoin, and
    /// hold generation 4's join phase until its session expired (10 s here, 45 s by default)
    /// while the live members waited with the old assignment. Dropped at once, generation 4
    /// completes as soon as the live members have rejoined.
    @Test func abandonedJoinOfNewMemberDoesNotHoldTheNextRebalance() {
        var group = twoMemberStableGroup()
        _ = group.joinReceived(G.join(client: "c"), waiter: 10, newMemberId: "c-1", now: 0)
        #expect(group.state == .preparingRebalance)
        #expect(group.joinAbandoned(waiter: 10, now: 50) == [.completeJoin(10, .failure(.unknownMemberId, memberId: ""))])
        #expect(group.allMembers.map(\.memberId) == ["a-1", "b-1"])

        _ = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 11, newMemberId: "x", now: 100)
        let third = group.joinReceived(G.join(memberId: "b-1", client: "b"), waiter: 12, newMemberId: "x", now: 100)
        #expect(group.state == .completingRebalance && group.generationId == 3)
        #expect(third.count == 2)
        #expect(group.currentMemberMetadata.map(\.memberId) == ["a-1", "b-1"])
        _ = group.syncReceived(G.sync(generation: 3, memberId: "b-1"), waiter: 13, now: 200)
        _ = group.syncReceived(G.sync(generation: 3, memberId: "a-1", assignments: [("a-1", "pa"), ("b-1", "pb")]),
                               waiter: 14, now: 200)
        #expect(group.state == .stable)

        // A cooperative leader rejoins after revoking; the follower learns it by heartbeat.
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a", protocols: G.protocols(["range"], tag: "revoked")),
                               waiter: 15, newMemberId: "x", now: 300)
        #expect(group.heartbeatReceived(memberId: "b-1", groupInstanceId: nil, generationId: 3, now: 400) == .rebalanceInProgress)
        let fourth = group.joinReceived(G.join(memberId: "b-1", client: "b"), waiter: 16, newMemberId: "x", now: 500)
        #expect(fourth.count == 2)
        #expect(group.state == .completingRebalance && group.generationId == 4)
    }

    /// An established dynamic member goes too (the leader here): leadership passes on, and the
    /// join phase completes when the others have rejoined.
    @Test func abandonedJoinOfEstablishedMemberRemovesIt() {
        var group = twoMemberStableGroup()
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 20, newMemberId: "x", now: 0)
        #expect(group.state == .preparingRebalance)
        #expect(group.joinAbandoned(waiter: 20, now: 10) == [.completeJoin(20, .failure(.unknownMemberId, memberId: ""))])
        #expect(group.allMembers.map(\.memberId) == ["b-1"])
        #expect(group.leaderId == "b-1")
        #expect(group.state == .preparingRebalance)
        let joined = group.joinReceived(G.join(memberId: "b-1", client: "b"), waiter: 21, newMemberId: "x", now: 20)
        #expect(joined.count == 1)
        #expect(group.generationId == 3 && group.leaderId == "b-1")
        // The gone client, had it only lost its connection, is told to join afresh.
        #expect(group.heartbeatReceived(memberId: "a-1", groupInstanceId: nil, generationId: 3, now: 30) == .unknownMemberId)
    }

    /// A static member keeps its place (its instance id outlives restarts) but no longer counts
    /// as joined, and its session clock runs again.
    @Test func abandonedJoinOfStaticMemberKeepsIt() {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        _ = group.joinReceived(G.join(client: "s", instanceId: "i"), waiter: 1, newMemberId: "s-1", now: 0)
        _ = group.syncReceived(G.sync(generation: 1, memberId: "s-1"), waiter: 2, now: 0)
        _ = group.joinReceived(G.join(client: "b"), waiter: 3, newMemberId: "b-1", now: 0)
        #expect(group.state == .preparingRebalance)
        _ = group.joinReceived(G.join(memberId: "s-1", client: "s", instanceId: "i"), waiter: 4, newMemberId: "x", now: 0)
        #expect(group.generationId == 2)
        _ = group.syncReceived(G.sync(generation: 2, memberId: "s-1"), waiter: 5, now: 0)
        _ = group.joinReceived(G.join(memberId: "s-1", client: "s", instanceId: "i"), waiter: 6, newMemberId: "x", now: 100)
        #expect(group.state == .preparingRebalance)

        #expect(group.joinAbandoned(waiter: 6, now: 200) == [.completeJoin(6, .failure(.unknownMemberId, memberId: "s-1"))])
        #expect(group.allMembers.map(\.memberId) == ["s-1", "b-1"])
        #expect(group.member("s-1")?.awaitingJoin == nil)
        let deadline = group.member("s-1")?.sessionDeadlineMs
        #expect(deadline == 10_200)
        #expect(group.state == .preparingRebalance)
    }

    /// A call that is no longer parked (answered, or replaced by a retried JoinGroup) changes nothing.
    @Test func abandonedStaleJoinChangesNothing() {
        var group = twoMemberStableGroup()
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 30, newMemberId: "x", now: 0)
        #expect(group.joinReceived(G.join(memberId: "a-1", client: "a"), waiter: 31, newMemberId: "x", now: 10)
            == [.completeJoin(30, .failure(.rebalanceInProgress, memberId: "a-1"))])
        #expect(group.joinAbandoned(waiter: 30, now: 20) == [])
        #expect(group.joinAbandoned(waiter: 999, now: 20) == [])
        #expect(group.member("a-1")?.awaitingJoin == 31)
        #expect(group.memberCount == 2)
    }

    /// Members "a-1" (leader) and "b-1", generation 2, Stable, both synced at t=0.
    private func twoMemberStableGroup(rebalance: Int32 = 30_000) -> ConsumerGroup {
        var group = ConsumerGroup(groupId: "g", config: G.noDelay)
        _ = group.joinReceived(G.join(client: "a", rebalance: rebalance), waiter: 100, newMemberId: "a-1", now: 0)
        _ = group.syncReceived(G.sync(generation: 1, memberId: "a-1"), waiter: 101, now: 0)
        _ = group.joinReceived(G.join(client: "b", rebalance: rebalance), waiter: 102, newMemberId: "b-1", now: 0)
        _ = group.joinReceived(G.join(memberId: "a-1", client: "a", rebalance: rebalance), waiter: 103,
                               newMemberId: "x", now: 0)
        _ = group.syncReceived(G.sync(generation: 2, memberId: "b-1"), waiter: 104, now: 0)
        _ = group.syncReceived(G.sync(generation: 2, memberId: "a-1", assignments: [("a-1", "pa"), ("b-1", "pb")]),
                               waiter: 105, now: 0)
        precondition(group.state == .stable && group.generationId == 2 && group.leaderId == "a-1")
        return group
    }
}

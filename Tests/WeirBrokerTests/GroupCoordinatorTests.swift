import KafkaProtocol
import NIOCore
import Testing
@testable import WeirBroker
import WeirStorage

/// The `GroupCoordinator` actor with a manual clock and a real RocksDB offset store.
@Suite struct GroupCoordinatorTests {
    typealias G = GroupTest

    private func makeCoordinator(_ store: LogStore, clock: ManualGroupClock,
                                 config: GroupConfig = GroupConfig(initialRebalanceDelayMs: 3_000)) -> GroupCoordinator {
        GroupCoordinator(config: config, offsets: store.offsets, clock: clock, logger: G.logger,
                         makeMemberId: G.counterIds())
    }

    /// Waits (without sleeping) until the coordinator has parked `count` members in group `g`.
    private func waitForMembers(_ coordinator: GroupCoordinator, _ count: Int, group: String = "g") async {
        for _ in 0..<10_000 {
            if await coordinator.describeGroups([group]).first?.members.count == count { return }
            await Task.yield()
        }
        Issue.record("group \(group) never reached \(count) members")
    }

    /// Two consumers join concurrently; the initial delay elapses on the manual clock; both get
    /// generation 1; the follower's sync waits for the leader's.
    @Test func concurrentJoinsAndSync() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let clock = ManualGroupClock()
        let coordinator = makeCoordinator(store, clock: clock)

        let a = Task { await coordinator.join(G.join(client: "a", protocols: G.protocols(["range"], tag: "a"))) }
        let b = Task { await coordinator.join(G.join(client: "b", protocols: G.protocols(["range"], tag: "b"))) }
        await waitForMembers(coordinator, 2)
        #expect(await coordinator.listGroups() == [GroupListing(groupId: "g", protocolType: "consumer", state: "PreparingRebalance")])

        // The second member extended the initial delay by one more delay.
        clock.advance(by: 3_000)
        await coordinator.runDueTimers()
        #expect(await coordinator.describeGroups(["g"]).first?.state == "PreparingRebalance")
        clock.advance(by: 3_000)  // this time the timer task wakes by itself
        let (ja, jb) = (await a.value, await b.value)
        #expect(ja.error == .none && jb.error == .none)
        #expect(ja.generationId == 1 && jb.generationId == 1)
        #expect(ja.leaderId == jb.leaderId)
        let (leader, follower) = ja.memberId == ja.leaderId ? (ja, jb) : (jb, ja)
        #expect([leader.memberId, follower.memberId].map { $0.prefix(2) }.sorted() == ["a-", "b-"])
        #expect(leader.members.count == 2)
        #expect(follower.members == [])
        #expect(Set(leader.members.map { String(buffer: $0.metadata) }) == ["range:a", "range:b"])

        let followerSync = Task { await coordinator.sync(G.sync(generation: 1, memberId: follower.memberId)) }
        await Task.yield()
        let leaderSync = await coordinator.sync(G.sync(generation: 1, memberId: leader.memberId,
                                                       assignments: [(leader.memberId, "L"), (follower.memberId, "F")]))
        #expect(leaderSync == SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range", assignment: G.bytes("L")))
        #expect(await followerSync.value == SyncGroupOutcome(error: .none, protocolType: "consumer", protocolName: "range",
                                                             assignment: G.bytes("F")))
        #expect(await coordinator.listGroups(statesFilter: ["stable"]).map(\.groupId) == ["g"])
        #expect(await coordinator.listGroups(statesFilter: ["Empty"]) == [])
        await coordinator.shutdown()
    }

    /// Session expiry through the coordinator's own timer, then the survivor rejoins.
    @Test func sessionExpiryViaTimer() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let clock = ManualGroupClock(startMs: 0)
        let coordinator = makeCoordinator(store, clock: clock, config: G.noDelay)

        let first = await coordinator.join(G.join(client: "a"))
        #expect(first.memberId == "a-1" && first.generationId == 1)
        _ = await coordinator.sync(G.sync(generation: 1, memberId: "a-1"))
        #expect(await coordinator.heartbeat(groupId: "g", generationId: 1, memberId: "a-1", groupInstanceId: nil) == .none)

        clock.advance(by: 10_000)
        await coordinator.runDueTimers()
        #expect(await coordinator.describeGroups(["g"]) == [GroupDescription(
            groupId: "g", error: .none, state: "Empty", protocolType: "consumer", protocolName: "", members: [])])
        #expect(await coordinator.heartbeat(groupId: "g", generationId: 1, memberId: "a-1", groupInstanceId: nil) == .unknownMemberId)
        await coordinator.shutdown()
    }

    /// MEMBER_ID_REQUIRED through the coordinator, and errors that never reach a group.
    @Test func memberIdRequiredAndFrontDoorErrors() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store, clock: ManualGroupClock(), config: G.noDelay)

        let first = await coordinator.join(G.join(client: "cli", requireKnownMemberId: true))
        #expect(first == .failure(.memberIdRequired, memberId: "cli-1"))
        let second = await coordinator.join(G.join(memberId: "cli-1", client: "cli", requireKnownMemberId: true))
        #expect(second.error == .none && second.memberId == "cli-1" && second.generationId == 1)

        #expect(await coordinator.join(G.join("")) == .failure(.invalidGroupId, memberId: ""))
        #expect(await coordinator.join(G.join("other", memberId: "m")) == .failure(.unknownMemberId, memberId: "m"))
        #expect(await coordinator.sync(G.sync("other", generation: 1, memberId: "m")) == .failure(.unknownMemberId))
        #expect(await coordinator.heartbeat(groupId: "other", generationId: 1, memberId: "m", groupInstanceId: nil) == .unknownMemberId)
        #expect(await coordinator.leave(groupId: "other", members: [LeavingMember(memberId: "m")])
            == LeaveGroupOutcome(error: .none, memberErrors: [.unknownMemberId]))
        // A rejected first join does not leave a group behind.
        #expect(await coordinator.join(G.join("bad", session: 1)) == .failure(.invalidSessionTimeout, memberId: ""))
        #expect(await coordinator.listGroups().map(\.groupId) == ["g"])
        await coordinator.shutdown()
    }

    /// Shutdown answers a parked JoinGroup; later calls are refused.
    @Test func shutdownResumesWaiters() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store, clock: ManualGroupClock())
        let parked = Task { await coordinator.join(G.join(client: "a")) }
        await waitForMembers(coordinator, 1)
        await coordinator.shutdown()
        #expect(await parked.value == .failure(.notCoordinator, memberId: ""))
        #expect(await coordinator.join(G.join()) == .failure(.coordinatorNotAvailable, memberId: ""))
    }

    /// Commits from outside group management create the group; fetch, list, delete, restart.
    @Test func offsetsCommitFetchDeleteAndRestart() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let clock = ManualGroupClock()
        let coordinator = makeCoordinator(store, clock: clock, config: G.noDelay)
        let t0 = TopicPartition("t", 0), t1 = TopicPartition("t", 1), u0 = TopicPartition("u", 0)
        let c0 = CommittedOffset(offset: 42, leaderEpoch: 3, metadata: "m", commitTimestampMs: 1_000)
        let c1 = CommittedOffset(offset: 7, leaderEpoch: -1, metadata: nil, commitTimestampMs: 1_001)
        let tooLarge = CommittedOffset(offset: 1, metadata: String(repeating: "x", count: 4_097), commitTimestampMs: 1)

        // Unknown group, generation >= 0: rejected, nothing created.
        #expect(await coordinator.commitOffsets(groupId: "simple", generationId: 1, memberId: "m", groupInstanceId: nil,
                                                offsets: [t0: c0]) == [t0: .illegalGeneration])
        #expect(await coordinator.listGroups() == [])
        let codes = await coordinator.commitOffsets(groupId: "simple", generationId: -1, memberId: "", groupInstanceId: nil,
                                                    offsets: [t0: c0, t1: c1, u0: tooLarge])
        #expect(codes == [t0: .none, t1: .none, u0: .offsetMetadataTooLarge])
        #expect(await coordinator.listGroups() == [GroupListing(groupId: "simple", protocolType: "", state: "Empty")])
        #expect(await coordinator.fetchOffsets(groupId: "simple", partitions: [t1, u0, t0])
            == OffsetFetchOutcome(error: .none, offsets: [(t1, c1), (u0, nil), (t0, c0)]))
        #expect(await coordinator.fetchOffsets(groupId: "simple", partitions: nil)
            == OffsetFetchOutcome(error: .none, offsets: [(t0, c0), (t1, c1)]))
        #expect(await coordinator.fetchOffsets(groupId: "nobody", partitions: nil) == OffsetFetchOutcome(error: .none, offsets: []))

        // A consumer group with a member: only the member may commit, at its generation.
        let joined = await coordinator.join(G.join("live", client: "a"))
        _ = await coordinator.sync(G.sync("live", generation: 1, memberId: joined.memberId))
        #expect(await coordinator.commitOffsets(groupId: "live", generationId: -1, memberId: "", groupInstanceId: nil,
                                                offsets: [t0: c0]) == [t0: .unknownMemberId])
        #expect(await coordinator.commitOffsets(groupId: "live", generationId: 1, memberId: joined.memberId,
                                                groupInstanceId: nil, offsets: [t0: c1]) == [t0: .none])

        #expect(await coordinator.deleteGroups(["live", "simple", "nobody", "simple"])
            == ["live": .nonEmptyGroup, "simple": .none, "nobody": .groupIdNotFound])
        #expect(try store.offsets.fetch(group: "simple", partitions: nil) == [:])
        #expect(await coordinator.deleteGroups(["simple"]) == ["simple": .groupIdNotFound])
        #expect(await coordinator.describeGroups(["simple"]) == [GroupDescription(
            groupId: "simple", error: .none, state: "Dead", protocolType: "", protocolName: "", members: [])])
        await coordinator.shutdown()

        // After a restart, the group known from its offsets is listed as Empty.
        let restarted = makeCoordinator(store, clock: clock, config: G.noDelay)
        #expect(await restarted.listGroups() == [GroupListing(groupId: "live", protocolType: "", state: "Empty")])
        #expect(await restarted.fetchOffsets(groupId: "live", partitions: [t0])
            == OffsetFetchOutcome(error: .none, offsets: [(t0, c1)]))
        #expect(await restarted.commitOffsets(groupId: "live", generationId: -1, memberId: "", groupInstanceId: nil,
                                              offsets: [t1: c0]) == [t1: .none])
        await restarted.shutdown()
    }

    /// LeaveGroup through the coordinator completes the other member's parked rebalance.
    @Test func leaveLetsRebalanceComplete() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store, clock: ManualGroupClock(), config: G.noDelay)
        let a = await coordinator.join(G.join(client: "a"))
        _ = await coordinator.sync(G.sync(generation: 1, memberId: a.memberId))
        let b = Task { await coordinator.join(G.join(client: "b")) }
        await waitForMembers(coordinator, 2)
        // a leaves instead of rejoining: b's rebalance completes without it.
        #expect(await coordinator.leave(groupId: "g", members: [LeavingMember(memberId: a.memberId)])
            == LeaveGroupOutcome(error: .none, memberErrors: [.none]))
        let joinedB = await b.value
        #expect(joinedB.error == .none)
        #expect(joinedB.generationId == 2)
        #expect(joinedB.leaderId == joinedB.memberId)
        #expect(joinedB.members.map(\.memberId) == [joinedB.memberId])
        await coordinator.shutdown()
    }

    /// A consumer closed while its JoinGroup is parked: the connection's close cancels the
    /// request's task, and the member goes at once. Before, it stayed, was answered into the
    /// next generation and then held the following join phase open until its session expired,
    /// while the live members waited with the old assignment (the issue's minute-long stall).
    /// The clock never moves here: everything must happen without a timeout.
    @Test func cancelledJoinDoesNotHoldTheGroup() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = makeCoordinator(store, clock: ManualGroupClock(startMs: 0), config: G.noDelay)
        let a = await coordinator.join(G.join(client: "a"))
        _ = await coordinator.sync(G.sync(generation: 1, memberId: a.memberId, assignments: [(a.memberId, "all")]))
        let b = Task { await coordinator.join(G.join(client: "b")) }
        await waitForMembers(coordinator, 2)
        let c = Task { await coordinator.join(G.join(client: "c")) }
        await waitForMembers(coordinator, 3)
        c.cancel()
        await waitForMembers(coordinator, 2)

        let rejoined = await coordinator.join(G.join(memberId: a.memberId, client: "a"))
        #expect(rejoined.generationId == 2)
        #expect(rejoined.members.map(\.memberId) == [a.memberId, "b-2"])
        #expect(await b.value.generationId == 2)
        #expect(await c.value == .failure(.unknownMemberId, memberId: ""))
        _ = await coordinator.sync(G.sync(generation: 2, memberId: a.memberId,
                                          assignments: [(a.memberId, "half"), ("b-2", "none yet")]))
        _ = await coordinator.sync(G.sync(generation: 2, memberId: "b-2"))

        // The cooperative leader rejoins after revoking; b learns it by heartbeat and rejoins.
        let next = Task { await coordinator.join(G.join(memberId: a.memberId, client: "a", protocols: G.protocols(["range"], tag: "r"))) }
        var code = ErrorCode.none
        for _ in 0..<10_000 where code == .none {
            code = await coordinator.heartbeat(groupId: "g", generationId: 2, memberId: "b-2", groupInstanceId: nil)
            await Task.yield()
        }
        #expect(code == .rebalanceInProgress)
        let bNext = Task { await coordinator.join(G.join(memberId: "b-2", client: "b")) }
        // Polled, not awaited: before the fix this join phase waited for c's session timeout,
        // which this clock never reaches; shutdown then answers the parked calls.
        var state = ""
        for _ in 0..<10_000 where state != "CompletingRebalance" {
            state = await coordinator.describeGroups(["g"]).first?.state ?? ""
            await Task.yield()
        }
        #expect(state == "CompletingRebalance", "the join phase waits for a member that is gone")
        if state != "CompletingRebalance" { await coordinator.shutdown() }
        #expect(await bNext.value.generationId == 3)
        #expect(await next.value.generationId == 3)
        await coordinator.shutdown()
    }
}

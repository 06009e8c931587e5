import KafkaProtocol
import Testing
@testable import WeirBroker
import WeirStorage

/// offsets.retention.minutes: commits of memberless groups expire; active groups keep theirs.
@Suite struct OffsetExpiryTests {
    typealias G = GroupTest

    @Test func oldCommitsOfEmptyGroupsExpireAndTheGroupIsForgotten() async throws {
        let (store, cleanup) = try G.openOffsetStore()
        defer { cleanup() }
        let coordinator = GroupCoordinator(config: GroupConfig(initialRebalanceDelayMs: 0), offsets: store.offsets,
                                           clock: ManualGroupClock(), logger: G.logger, makeMemberId: G.counterIds())
        let old = TopicPartition("t", 0), fresh = TopicPartition("t", 1)
        let codes = await coordinator.commitOffsets(
            groupId: "idle", generationId: -1, memberId: "", groupInstanceId: nil,
            offsets: [old: CommittedOffset(offset: 5, commitTimestampMs: 1_000),
                      fresh: CommittedOffset(offset: 9, commitTimestampMs: 50_000)])
        #expect(codes == [old: .none, fresh: .none])

        // Retention 10 s at t = 20 s: only the commit made at t = 1 s is older.
        #expect(await coordinator.expireOffsets(retentionMs: 10_000, nowMs: 20_000) == 1)
        let left = await coordinator.fetchOffsets(groupId: "idle", partitions: nil)
        #expect(left.offsets.map(\.0) == [fresh])
        #expect(await coordinator.listGroups().map(\.groupId) == ["idle"])

        // Later everything is old: the offsets go, and so does the group.
        #expect(await coordinator.expireOffsets(retentionMs: 10_000, nowMs: 100_000) == 1)
        #expect(await coordinator.fetchOffsets(groupId: "idle", partitions: nil).offsets.isEmpty)
        #expect(await coordinator.listGroups().isEmpty)
        #expect(try store.offsets.groups().isEmpty)
    }
}

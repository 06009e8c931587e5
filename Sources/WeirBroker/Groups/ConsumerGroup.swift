import KafkaProtocol
import NIOCore

/// One classic consumer group (Kafka's `GroupMetadata` plus the rebalance logic of its
/// `GroupCoordinator`), as a pure state machine.
///
/// Every event is a `mutating` method named for what happened (`joinReceived`,
/// `syncReceived`, `timersFired` …); it takes the current monotonic time in milliseconds where
/// time matters and returns the `Action`s that answer suspended JoinGroup/SyncGroup calls.
/// Nothing here reads a clock, sleeps or does I/O: `GroupCoordinator` performs the actions and
/// arms one timer per group at `nextTimerDeadlineMs`, so tests drive rebalances with plain
/// calls and explicit `now` values.
///
/// The lifecycle (Kafka 3.x classic protocol):
/// ```
/// Empty ──join──▶ PreparingRebalance ──all joined / timeout──▶ CompletingRebalance
///   ▲                  ▲    │                                        │ leader's SyncGroup
///   │                  │    └──no member left──▶ Empty               ▼
///   └── last member ───┴──── join, leave, expiry, metadata change ── Stable
/// ```
public struct ConsumerGroup: Sendable {
    public enum State: Sendable, Equatable, CaseIterable {
        case empty, preparingRebalance, completingRebalance, stable, dead

        /// The name Kafka prints in ListGroups/DescribeGroups.
        public var kafkaName: String {
            switch self {
            case .empty: return "Empty"
            case .preparingRebalance: return "PreparingRebalance"
            case .completingRebalance: return "CompletingRebalance"
            case .stable: return "Stable"
            case .dead: return "Dead"
            }
        }
    }

    /// What the coordinator must do after an event: answer a suspended call.
    public enum Action: Sendable, Equatable {
        case completeJoin(GroupWaiterID, JoinGroupOutcome)
        case completeSync(GroupWaiterID, SyncGroupOutcome)
    }

    /// The timer of the join phase (PreparingRebalance).
    enum JoinTimer: Sendable, Equatable {
        /// An empty group's first rebalance: never completes early; at the deadline it
        /// completes, or waits once more if a member arrived meanwhile and time remains.
        case initialDelay(deadlineMs: Int64, remainingMs: Int64)
        /// Completes as soon as every member has rejoined, at the latest at the deadline.
        case rebalance(deadlineMs: Int64)
    }

    public let groupId: String
    public let config: GroupConfig
    public internal(set) var state: State = .empty
    /// Bumped by every completed join phase, including one that leaves the group empty.
    public internal(set) var generationId: Int32 = 0
    /// Set by the first member; kept when the group empties (Kafka lists Empty groups with it).
    public internal(set) var protocolType: String?
    /// The protocol of the current generation; nil while Empty.
    public internal(set) var protocolName: String?
    public internal(set) var leaderId: String?

    /// Member ids in join order: the order of the leader's member list and of leader succession.
    var memberOrder: [String] = []
    var members: [String: GroupMember] = [:]
    /// Static members: group instance id → current member id.
    var staticMembers: [String: String] = [:]
    /// Ids handed out with MEMBER_ID_REQUIRED, with the time they lapse unless used.
    var pendingMembers: [String: Int64] = [:]
    /// Members of the current generation that have not sent SyncGroup yet.
    var pendingSyncMembers: Set<String> = []
    /// When members still in `pendingSyncMembers` are removed (Kafka's DelayedSync).
    var syncDeadlineMs: Int64?
    var joinTimer: JoinTimer?
    /// A member joined during the initial delay, so the delay is extended once more.
    var newMemberAdded = false

    public init(groupId: String, config: GroupConfig) {
        self.groupId = groupId
        self.config = config
    }

    // MARK: Queries

    /// Members in join order.
    public var allMembers: [GroupMember] { memberOrder.compactMap { members[$0] } }

    public func member(_ memberId: String) -> GroupMember? { members[memberId] }

    public var memberCount: Int { members.count }

    /// True for a group that holds nothing worth keeping: no members, no pending ids, never
    /// rebalanced. The coordinator forgets such a group (a failed first JoinGroup creates one).
    public var isPristine: Bool {
        state == .empty && members.isEmpty && pendingMembers.isEmpty && generationId == 0
    }

    /// The group's rebalance timeout: the longest of its members' (Kafka's rule).
    var rebalanceTimeoutMs: Int64 {
        members.values.map { Int64($0.rebalanceTimeoutMs) }.max() ?? 0
    }

    /// The earliest time at which `timersFired(now:)` has something to do, or nil.
    public var nextTimerDeadlineMs: Int64? {
        var deadlines: [Int64] = []
        switch joinTimer {
        case .initialDelay(let d, _), .rebalance(let d): deadlines.append(d)
        case nil: break
        }
        if let d = syncDeadlineMs { deadlines.append(d) }
        deadlines.append(contentsOf: pendingMembers.values)
        for m in members.values where !m.isExemptFromExpiry { deadlines.append(m.sessionDeadlineMs) }
        return deadlines.min()
    }

    /// ListGroups' view.
    public var listing: GroupListing {
        GroupListing(groupId: groupId, protocolType: protocolType ?? "", state: state.kafkaName)
    }

    /// DescribeGroups' view: metadata and assignments only for a Stable group (Kafka's rule:
    /// they are meaningless while a generation is being formed).
    public var groupDescription: GroupDescription {
        let stable = state == .stable
        let protocolName = stable ? (self.protocolName ?? "") : ""
        let described = allMembers.map { m in
            MemberDescription(
                memberId: m.memberId, groupInstanceId: m.groupInstanceId, clientId: m.clientId,
                clientHost: m.clientHost,
                metadata: stable ? (m.metadata(for: protocolName) ?? ByteBuffer()) : ByteBuffer(),
                assignment: stable ? m.assignment : ByteBuffer())
        }
        return GroupDescription(groupId: groupId, error: .none, state: state.kafkaName,
                                protocolType: protocolType ?? "", protocolName: protocolName,
                                members: described)
    }

    /// The member list the leader receives: every member's metadata for the chosen protocol.
    var currentMemberMetadata: [JoinedMember] {
        let name = protocolName ?? ""
        return allMembers.map {
            JoinedMember(memberId: $0.memberId, groupInstanceId: $0.groupInstanceId,
                         metadata: $0.metadata(for: name) ?? ByteBuffer())
        }
    }

    /// The JoinGroup answer describing the current generation to `memberId`.
    func currentGenerationOutcome(for memberId: String, includeMembers: Bool,
                                  skipAssignment: Bool = false, leaderId: String? = nil) -> JoinGroupOutcome {
        JoinGroupOutcome(error: .none, generationId: generationId, protocolType: protocolType,
                         protocolName: protocolName, leaderId: leaderId ?? self.leaderId ?? "",
                         memberId: memberId, skipAssignment: skipAssignment,
                         members: includeMembers ? currentMemberMetadata : [])
    }

    // MARK: Deletion

    /// DeleteGroups: only an Empty group may go (NON_EMPTY_GROUP otherwise); it becomes Dead,
    /// and the coordinator drops it and its offsets.
    public mutating func deleteRequested() -> ErrorCode {
        switch state {
        case .empty:
            state = .dead
            pendingMembers = [:]
            return .none
        case .dead:
            return .groupIdNotFound
        case .preparingRebalance, .completingRebalance, .stable:
            return .nonEmptyGroup
        }
    }

    // MARK: Membership bookkeeping (no rebalance decisions)

    /// Kafka's `supportsProtocols`: an empty group takes any non-empty protocol list; otherwise
    /// the type must match and one of the protocols must be supported by every member.
    func supportsProtocols(type: String, _ protocols: [GroupProtocol]) -> Bool {
        if members.isEmpty { return !type.isEmpty && !protocols.isEmpty }
        guard protocolType == type else { return false }
        return protocols.contains { p in members.values.allSatisfy { $0.supports(p.name) } }
    }

    /// A static member whose instance id now belongs to a different member id is fenced.
    func isFenced(instanceId: String?, memberId: String) -> Bool {
        guard let instanceId, let current = staticMembers[instanceId] else { return false }
        return current != memberId
    }

    /// Kafka's `validateCurrentMember`: the instance id (if any) must map to this member id,
    /// and the member must exist.
    func validateCurrentMember(_ memberId: String, instanceId: String?) -> ErrorCode? {
        if let instanceId {
            guard let current = staticMembers[instanceId] else { return .unknownMemberId }
            return current == memberId ? nil : .fencedInstanceId
        }
        return members[memberId] == nil ? .unknownMemberId : nil
    }

    mutating func add(_ member: GroupMember) {
        if members.isEmpty { protocolType = member.protocolType }
        members[member.memberId] = member
        memberOrder.append(member.memberId)
        if leaderId == nil { leaderId = member.memberId }
        pendingMembers[member.memberId] = nil
        if let instanceId = member.groupInstanceId { staticMembers[instanceId] = member.memberId }
    }

    /// Removes a member without deciding about a rebalance. Its suspended calls are answered
    /// UNKNOWN_MEMBER_ID (it must join afresh); leadership passes to the next member in join order.
    mutating func remove(_ memberId: String, into actions: inout [Action]) {
        guard let member = members.removeValue(forKey: memberId) else { return }
        memberOrder.removeAll { $0 == memberId }
        if let instanceId = member.groupInstanceId, staticMembers[instanceId] == memberId {
            staticMembers[instanceId] = nil
        }
        pendingSyncMembers.remove(memberId)
        if pendingSyncMembers.isEmpty { syncDeadlineMs = nil }
        if let waiter = member.awaitingJoin {
            actions.append(.completeJoin(waiter, .failure(.unknownMemberId, memberId: "")))
        }
        if let waiter = member.awaitingSync {
            actions.append(.completeSync(waiter, .failure(.unknownMemberId)))
        }
        if leaderId == memberId { leaderId = memberOrder.first }
    }

    /// Removes a member and lets the group react: a settled group rebalances, a rebalancing
    /// group may now be complete (Kafka's `removeMemberAndUpdateGroup`).
    mutating func removeMemberAndUpdateGroup(_ memberId: String, now: Int64, into actions: inout [Action]) {
        remove(memberId, into: &actions)
        switch state {
        case .dead, .empty: break
        case .stable, .completingRebalance: prepareRebalance(now: now, into: &actions)
        case .preparingRebalance: tryCompleteJoin(now: now, into: &actions)
        }
    }

    mutating func removePendingMemberAndUpdateGroup(_ memberId: String, now: Int64, into actions: inout [Action]) {
        pendingMembers[memberId] = nil
        if state == .preparingRebalance { tryCompleteJoin(now: now, into: &actions) }
    }

    /// Restarts a member's session clock ("heard from it now").
    mutating func touch(_ memberId: String, now: Int64) {
        guard let timeout = members[memberId]?.sessionTimeoutMs else { return }
        members[memberId]?.sessionDeadlineMs = now + Int64(timeout)
    }
}

import Foundation
import KafkaProtocol
import Logging
import WeirStorage

/// The classic group coordinator: owns every `ConsumerGroup` state machine and is the one
/// place that performs what they decide — it parks JoinGroup/SyncGroup calls until their
/// answer, runs one timer per group and reads and writes committed offsets.
///
/// Every parked call is resumed exactly once: by its group's answer, or by `shutdown()` with
/// NOT_COORDINATOR (so clients look for the coordinator again).
///
/// Groups live in memory; only committed offsets are persisted. After a restart, groups known
/// from their offsets reappear as Empty, and their consumers simply rejoin.
public actor GroupCoordinator {
    public let config: GroupConfig
    let offsets: any OffsetPersistence
    let clock: any GroupClock
    let logger: Logger
    /// Makes the id of a new member from its client id (Kafka: `clientId-UUID`).
    private let makeMemberId: @Sendable (String) -> String

    var groups: [String: ConsumerGroup]
    private var joinWaiters: [GroupWaiterID: (memberId: String, continuation: CheckedContinuation<JoinGroupOutcome, Never>)] = [:]
    private var syncWaiters: [GroupWaiterID: CheckedContinuation<SyncGroupOutcome, Never>] = [:]
    private var timers: [String: ArmedTimer] = [:]
    private var lastWaiterID: GroupWaiterID = 0
    var isShutDown = false

    private struct ArmedTimer {
        var deadlineMs: Int64
        var task: Task<Void, Never>
    }

    public init(config: GroupConfig = GroupConfig(), offsets: any OffsetPersistence,
                clock: any GroupClock = ContinuousGroupClock(), logger: Logger = Logger(label: "weir.groups"),
                makeMemberId: @escaping @Sendable (String) -> String = { "\($0)-\(UUID().uuidString.lowercased())" }) {
        self.config = config
        self.offsets = offsets
        self.clock = clock
        self.logger = logger
        self.makeMemberId = makeMemberId
        var known: [String: ConsumerGroup] = [:]
        do {
            for id in try offsets.groups() { known[id] = ConsumerGroup(groupId: id, config: config) }
        } catch {
            logger.error("cannot list the groups of committed offsets: \(error)")
        }
        self.groups = known
    }

    // MARK: Rebalance protocol

    /// JoinGroup: returns when the group's join phase completes (or at once on an error,
    /// MEMBER_ID_REQUIRED, or a rejoin that needs no rebalance).
    public func join(_ params: JoinGroupParams) async -> JoinGroupOutcome {
        guard !isShutDown else { return .failure(.coordinatorNotAvailable, memberId: params.memberId) }
        guard !params.groupId.isEmpty else { return .failure(.invalidGroupId, memberId: params.memberId) }
        let existing = groups.removeValue(forKey: params.groupId)
        // Only a new member may create a group; a known id for an unknown group is stale.
        guard existing != nil || params.memberId.isEmpty else {
            return .failure(.unknownMemberId, memberId: params.memberId)
        }
        var group = existing ?? ConsumerGroup(groupId: params.groupId, config: config)
        let waiter = nextWaiterID()
        let newMemberId = makeMemberId(params.clientId)
        let start = clock.nowMs()
        logger.debug("join received", metadata: [
            "group": "\(params.groupId)", "member": "\(params.memberId)", "state": "\(group.state.kafkaName)",
            "generation": "\(group.generationId)", "ms": "\(start)"])
        let outcome = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                joinWaiters[waiter] = (params.memberId, continuation)
                let before = group.state
                let actions = group.joinReceived(params, waiter: waiter, newMemberId: newMemberId, now: start)
                // A rejected first join leaves nothing worth keeping.
                if existing != nil || !group.isPristine { put(group, stateBefore: before) }
                perform(actions)
            }
        } onCancel: {
            // The connection closed: nobody will read the answer (see `joinAbandoned`). This
            // runs after the call is parked, because the actor is busy until then.
            Task { await self.joinAbandoned(groupId: params.groupId, waiter: waiter) }
        }
        logger.debug("join answered", metadata: [
            "group": "\(params.groupId)", "member": "\(outcome.memberId)", "error": "\(outcome.error)",
            "generation": "\(outcome.generationId)", "leader": "\(outcome.leaderId == outcome.memberId)",
            "waitedMs": "\(clock.nowMs() - start)"])
        return outcome
    }

    /// A parked JoinGroup's task was cancelled (its connection closed).
    func joinAbandoned(groupId: String, waiter: GroupWaiterID) {
        guard joinWaiters[waiter] != nil, var group = groups.removeValue(forKey: groupId) else { return }
        let before = group.state
        let memberId = group.allMembers.first { $0.awaitingJoin == waiter }?.memberId ?? ""
        let actions = group.joinAbandoned(waiter: waiter, now: clock.nowMs())
        if !actions.isEmpty {
            logger.debug("join abandoned (connection closed)", metadata: [
                "group": "\(groupId)", "member": "\(memberId)",
                "members": "\(group.memberCount)", "state": "\(group.state.kafkaName)"])
        }
        put(group, stateBefore: before)
        perform(actions)
    }

    /// SyncGroup: followers return when the leader's assignment arrives; the leader at once.
    public func sync(_ params: SyncGroupParams) async -> SyncGroupOutcome {
        guard !isShutDown else { return .failure(.coordinatorNotAvailable) }
        guard !params.groupId.isEmpty else { return .failure(.invalidGroupId) }
        guard var group = groups.removeValue(forKey: params.groupId) else { return .failure(.unknownMemberId) }
        let waiter = nextWaiterID()
        let start = clock.nowMs()
        let outcome = await withCheckedContinuation { continuation in
            syncWaiters[waiter] = continuation
            let before = group.state
            let actions = group.syncReceived(params, waiter: waiter, now: start)
            put(group, stateBefore: before)
            perform(actions)
        }
        logger.debug("sync answered", metadata: [
            "group": "\(params.groupId)", "member": "\(params.memberId)", "error": "\(outcome.error)",
            "generation": "\(params.generationId)", "waitedMs": "\(clock.nowMs() - start)"])
        return outcome
    }

    /// Heartbeat: NONE, or the reason the member must rejoin (REBALANCE_IN_PROGRESS,
    /// UNKNOWN_MEMBER_ID, ILLEGAL_GENERATION, FENCED_INSTANCE_ID).
    public func heartbeat(groupId: String, generationId: Int32, memberId: String,
                          groupInstanceId: String?) -> ErrorCode {
        guard !isShutDown else { return .coordinatorNotAvailable }
        guard !groupId.isEmpty else { return .invalidGroupId }
        guard var group = groups.removeValue(forKey: groupId) else { return .unknownMemberId }
        let now = clock.nowMs()
        let code = group.heartbeatReceived(memberId: memberId, groupInstanceId: groupInstanceId,
                                           generationId: generationId, now: now)
        put(group, stateBefore: group.state)
        if code != .none {
            logger.debug("heartbeat answered", metadata: [
                "group": "\(groupId)", "member": "\(memberId)", "error": "\(code)",
                "generation": "\(generationId)", "ms": "\(now)"])
        }
        return code
    }

    /// LeaveGroup: one error per member, in order. A group this coordinator does not know
    /// answers UNKNOWN_MEMBER_ID for each member (Kafka's behaviour).
    public func leave(groupId: String, members: [LeavingMember]) -> LeaveGroupOutcome {
        guard !isShutDown else { return LeaveGroupOutcome(error: .coordinatorNotAvailable, memberErrors: []) }
        guard !groupId.isEmpty else { return LeaveGroupOutcome(error: .invalidGroupId, memberErrors: []) }
        guard var group = groups.removeValue(forKey: groupId) else {
            return LeaveGroupOutcome(error: .none, memberErrors: members.map { _ in .unknownMemberId })
        }
        let before = group.state
        logger.debug("leave received", metadata: [
            "group": "\(groupId)", "members": "\(members.map(\.memberId))", "state": "\(before.kafkaName)"])
        let (errors, actions) = group.leaveReceived(members, now: clock.nowMs())
        put(group, stateBefore: before)
        perform(actions)
        return LeaveGroupOutcome(error: .none, memberErrors: errors)
    }

    /// Ends the coordinator: every parked call is answered NOT_COORDINATOR, timers stop, and
    /// later calls get COORDINATOR_NOT_AVAILABLE.
    public func shutdown() {
        isShutDown = true
        for timer in timers.values { timer.task.cancel() }
        timers = [:]
        let joins = joinWaiters
        let syncs = syncWaiters
        joinWaiters = [:]
        syncWaiters = [:]
        for (_, waiter) in joins.sorted(by: { $0.key < $1.key }) {
            waiter.continuation.resume(returning: .failure(.notCoordinator, memberId: waiter.memberId))
        }
        for (_, continuation) in syncs.sorted(by: { $0.key < $1.key }) {
            continuation.resume(returning: .failure(.notCoordinator))
        }
    }

    // MARK: Performing decisions

    private func nextWaiterID() -> GroupWaiterID {
        lastWaiterID += 1
        return lastWaiterID
    }

    /// Stores a group back after an event and re-arms its timer.
    func put(_ group: ConsumerGroup, stateBefore: ConsumerGroup.State) {
        groups[group.groupId] = group
        if group.state != stateBefore {
            logger.info("group \(group.groupId): \(stateBefore.kafkaName) → \(group.state.kafkaName)",
                        metadata: ["generation": "\(group.generationId)", "members": "\(group.memberCount)",
                                   "ms": "\(clock.nowMs())"])
        }
        arm(group.groupId, at: group.nextTimerDeadlineMs)
    }

    func perform(_ actions: [ConsumerGroup.Action]) {
        for action in actions {
            switch action {
            case .completeJoin(let waiter, let outcome):
                joinWaiters.removeValue(forKey: waiter)?.continuation.resume(returning: outcome)
            case .completeSync(let waiter, let outcome):
                syncWaiters.removeValue(forKey: waiter)?.resume(returning: outcome)
            }
        }
    }

    /// Makes sure the group's timer fires no later than `deadline`. A timer armed earlier is
    /// kept: when it fires, the group does what is due and the timer is re-armed for what is
    /// next. So heartbeats, which only push deadlines later, never touch the timer.
    private func arm(_ groupId: String, at deadline: Int64?) {
        guard let deadline, !isShutDown else { return }
        if let armed = timers[groupId], armed.deadlineMs <= deadline { return }
        timers[groupId]?.task.cancel()
        let clock = self.clock
        let task = Task { [weak self] in
            do { try await clock.sleep(untilMs: deadline) } catch { return }
            await self?.timerFired(groupId: groupId, deadlineMs: deadline)
        }
        timers[groupId] = ArmedTimer(deadlineMs: deadline, task: task)
    }

    func disarm(_ groupId: String) {
        timers.removeValue(forKey: groupId)?.task.cancel()
    }

    private func timerFired(groupId: String, deadlineMs: Int64) {
        // A timer replaced by an earlier one may still wake up: ignore it.
        guard timers[groupId]?.deadlineMs == deadlineMs else { return }
        timers[groupId] = nil
        runTimers(groupId, now: clock.nowMs())
    }

    private func runTimers(_ groupId: String, now: Int64) {
        guard var group = groups.removeValue(forKey: groupId) else { return }
        let before = group.state
        let actions = group.timersFired(now: now)
        if !actions.isEmpty || group.state != before {
            logger.debug("group timers fired", metadata: [
                "group": "\(groupId)", "answered": "\(actions.count)", "state": "\(group.state.kafkaName)",
                "members": "\(group.memberCount)", "ms": "\(now)"])
        }
        put(group, stateBefore: before)
        perform(actions)
    }

    /// Runs every group timer that is due now. The timer tasks do this by themselves; tests
    /// that move a manual clock call it to know the work is done when it returns.
    func runDueTimers() {
        let now = clock.nowMs()
        for (groupId, group) in groups.sorted(by: { $0.key < $1.key }) {
            guard let deadline = group.nextTimerDeadlineMs, deadline <= now else { continue }
            if let armed = timers[groupId], armed.deadlineMs <= now { disarm(groupId) }
            runTimers(groupId, now: now)
        }
    }
}

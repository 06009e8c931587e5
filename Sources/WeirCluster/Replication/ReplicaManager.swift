import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
import WeirBroker
import WeirStorage

/// Replication on this broker, for partitions with more than one replica: as a leader, it
/// tracks its followers (`LeaderReplicaState`), moves the high watermark as they fetch, holds
/// acks=all answers until the ISR has the batch, and proposes ISR changes to etcd; as a
/// follower, its `ReplicaFetcher`s copy the leaders' logs.
public final class ReplicaManager: ReplicationHooks, Sendable {
    let nodeId: Int32
    let store: LogStore
    let lagMs: Int64
    let defaultMinInSync: Int
    let logger: Logger
    let leading = Mutex<[TopicPartition: LeaderReplicaState]>([:])
    /// acks=all answers waiting for the high watermark: partition → (last offset, id).
    let pending = Mutex<[TopicPartition: [(lastOffset: Int64, id: Int)]]>([:])
    let continuations = Mutex<(next: Int, byId: [Int: CheckedContinuation<ErrorCode, Never>])>((0, [:]))
    /// Wakes consumers' long polls on a partition whose high watermark moved.
    let onHighWatermark = Mutex<(@Sendable (TopicPartition) -> Void)?>(nil)

    let offsetsPartitions: Int32

    init(nodeId: Int32, store: LogStore, lagMs: Int64, defaultMinInSync: Int, offsetsPartitions: Int32, logger: Logger) {
        self.offsetsPartitions = offsetsPartitions
        self.nodeId = nodeId
        self.store = store
        self.lagMs = lagMs
        self.defaultMinInSync = defaultMinInSync
        self.logger = logger
    }

    static func nowMs() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    // MARK: Following the cluster's state

    /// Brings the leader-side bookkeeping in line with the partitions' states: a new leadership
    /// (or a new leader epoch) starts fresh; a lost one releases its waiting acks=all answers.
    func apply(_ placements: [TopicPartition: PartitionPlacement]) {
        let now = Self.nowMs()
        var lost: [TopicPartition] = []
        leading.withLock { leading in
            for (tp, p) in placements where p.leader == nodeId && p.replicas.count > 1 {
                if var current = leading[tp], current.leaderEpoch == p.leaderEpoch {
                    current.update(replicas: p.replicas, isr: p.isr)
                    leading[tp] = current
                } else {
                    leading[tp] = LeaderReplicaState(leader: nodeId, leaderEpoch: p.leaderEpoch, replicas: p.replicas,
                                                     isr: p.isr, nowMs: now)
                }
            }
            for tp in leading.keys where placements[tp].map({ $0.leader != nodeId || $0.replicas.count < 2 }) ?? true {
                leading[tp] = nil
                lost.append(tp)
            }
        }
        for (tp, p) in placements where p.leader == nodeId {
            // With the leader alone in sync, everything it writes is committed at once.
            store.partition(tp)?.setReplicated(p.isr.count > 1)
            advance(tp)
        }
        for tp in lost { release(tp, with: .notLeaderOrFollower) }
    }

    // MARK: ReplicationHooks

    public func followerFetched(_ tp: TopicPartition, replica: Int32, fetchOffset: Int64) {
        guard let log = store.partition(tp) else { return }
        let end = log.logEndOffset
        let known = leading.withLock { leading -> Bool in
            guard leading[tp] != nil else { return false }
            leading[tp]!.fetched(by: replica, offset: fetchOffset, leaderEnd: end, nowMs: Self.nowMs())
            return true
        }
        if known { advance(tp) }
    }

    public func refuseAcksAll(_ tp: TopicPartition, minInSyncReplicas: Int) -> ErrorCode? {
        let isr = leading.withLock { $0[tp]?.isr.count } ?? 1
        return isr < minInSyncReplicas ? .notEnoughReplicas : nil
    }

    public func awaitReplicated(_ tp: TopicPartition, lastOffset: Int64, timeoutMs: Int64) async -> ErrorCode {
        guard let log = store.partition(tp) else { return .unknownTopicOrPartition }
        if log.highWatermark > lastOffset { return .none }
        let id = continuations.withLock { c -> Int in
            c.next += 1
            return c.next
        }
        let timeout = Task {
            try await Task.sleep(for: .milliseconds(max(1, timeoutMs)))
            self.resume(id, with: .requestTimedOut)
        }
        defer { timeout.cancel() }
        return await withCheckedContinuation { (continuation: CheckedContinuation<ErrorCode, Never>) in
            continuations.withLock { $0.byId[id] = continuation }
            pending.withLock { $0[tp, default: []].append((lastOffset, id)) }
            // The watermark may have moved between the check and the registration.
            advance(tp)
        }
    }

    public func awaitOffsetsReplicated(group: String, timeoutMs: Int64) async -> ErrorCode {
        let p = ClusterSettings.offsetsPartition(of: group, partitions: offsetsPartitions)
        let tp = TopicPartition(ClusterSettings.offsetsTopic, p)
        guard let end = store.partition(tp)?.logEndOffset else { return .coordinatorNotAvailable }
        return await awaitReplicated(tp, lastOffset: end - 1, timeoutMs: timeoutMs)
    }

    // MARK: High watermark

    /// Recomputes the partition's high watermark and answers the acks=all waits it satisfies.
    func advance(_ tp: TopicPartition) {
        guard let log = store.partition(tp) else { return }
        if let hw = leading.withLock({ $0[tp]?.highWatermark(leaderEnd: log.logEndOffset) }), log.advanceHighWatermark(to: hw) {
            onHighWatermark.withLock { $0 }?(tp)
        }
        let hw = log.highWatermark
        let done = pending.withLock { pending -> [Int] in
            guard let waits = pending[tp] else { return [] }
            let ready = waits.filter { $0.lastOffset < hw }.map(\.id)
            pending[tp] = waits.filter { $0.lastOffset >= hw }
            return ready
        }
        for id in done { resume(id, with: .none) }
    }

    /// A fenced leader answers every waiting acks=all at once (NOT_LEADER_OR_FOLLOWER), as a
    /// Kafka leader that loses leadership does: the producer then goes to the new leader instead
    /// of waiting out its request timeout on this one, whose followers have left.
    func releaseAll(with code: ErrorCode) {
        for tp in pending.withLock({ Array($0.keys) }) { release(tp, with: code) }
    }

    func release(_ tp: TopicPartition, with code: ErrorCode) {
        let ids = pending.withLock { $0.removeValue(forKey: tp)?.map(\.id) ?? [] }
        for id in ids { resume(id, with: code) }
    }

    func resume(_ id: Int, with code: ErrorCode) {
        continuations.withLock { $0.byId.removeValue(forKey: id) }?.resume(returning: code)
    }

    // MARK: ISR

    /// The ISR changes this broker's leaderships need now (followers lagging for
    /// `replica.lag.time.max.ms` out, caught-up ones in).
    func proposedISRChanges(live: Set<Int32>) -> [(TopicPartition, [Int32])] {
        let now = Self.nowMs()
        let snapshot = leading.withLock { $0 }
        return snapshot.compactMap { tp, state in
            guard let hw = store.partition(tp)?.highWatermark,
                  let isr = state.proposedISR(nowMs: now, lagMs: lagMs, highWatermark: hw, live: live) else { return nil }
            return (tp, isr)
        }
    }
}

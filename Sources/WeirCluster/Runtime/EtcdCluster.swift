import Foundation
import KafkaProtocol
import Logging
import NIOCore
import Synchronization
import WeirBroker
import WeirStorage

/// This broker as a member of a cluster whose metadata lives in etcd (`etcd.connect`).
///
/// It keeps a copy of everything under the cluster's root (`ClusterState`), rebuilt by a range
/// read and kept current by a watch, and answers the handlers from it (`ClusterView`). Its
/// tasks: renew the broker's lease (membership), campaign for the controller role when it is
/// free, carry out the controller's decisions when it holds it, and make the local store hold
/// the topics the cluster places on this broker. All etcd I/O is here; the decisions are the
/// pure `ControllerDecisions` and `ClusterState`.
public final class EtcdCluster: ClusterView, Sendable {
    public let settings: ClusterSettings
    let etcd: EtcdClient
    let store: LogStore
    let topicRules: TopicManager
    let io: IOPool
    let logger: Logger

    let state: Mutex<ClusterState>
    /// The broker's lease, and when it was last renewed (nil: not registered now).
    let lease = Mutex<(id: Int64, renewedAt: NIODeadline?)>((0, nil))
    /// Set when the first full read of etcd has been applied.
    let loaded = Mutex(false)
    /// Leaders' follower tracking and acks=all waits; followers' fetchers.
    let replicas: ReplicaManager
    let fetchers = Mutex<[Int32: Task<Void, Never>]>([:])
    /// Committed offsets, replicated through `__consumer_offsets` (the group coordinator's store).
    public let offsets: ReplicatedOffsets
    /// The offsets partitions this broker leads, by partition → leader epoch, and those loaded.
    let offsetEpochs = EpochBook()
    let loadedOffsets = Mutex<[Int32: Int32]>([:])
    let changes: AsyncStream<Void>
    let changed: AsyncStream<Void>.Continuation
    let incarnation = Int64.random(in: 1...Int64.max)

    public init(settings: ClusterSettings, group: any EventLoopGroup, store: LogStore, topicRules: TopicManager,
                io: IOPool, logger: Logger) {
        self.settings = settings
        self.etcd = EtcdClient(endpoints: settings.etcd, group: group)
        self.store = store
        self.topicRules = topicRules
        self.io = io
        var logger = logger
        logger[metadataKey: "node"] = "\(settings.nodeId)"
        self.logger = logger
        self.state = Mutex(ClusterState(keys: settings.keys))
        self.replicas = ReplicaManager(nodeId: settings.nodeId, store: store, lagMs: settings.replicaLagTimeMaxMs,
                                       defaultMinInSync: settings.minInSyncReplicas,
                                       offsetsPartitions: settings.offsetsTopicPartitions, logger: logger)
        let epochs = offsetEpochs
        self.offsets = ReplicatedOffsets(local: store.offsets, store: store, partitions: settings.offsetsTopicPartitions,
                                         leaderEpoch: { epochs.epoch(of: $0) })
        (changes, changed) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: ClusterView

    public var localNodeId: Int32 { settings.nodeId }
    public var isClustered: Bool { true }
    public var replication: (any ReplicationHooks)? { replicas }

    /// Consumers' long polls wake when a replicated partition's high watermark moves.
    public func onHighWatermarkAdvanced(_ wake: @escaping @Sendable (TopicPartition) -> Void) {
        replicas.onHighWatermark.withLock { $0 = wake }
    }

    public func brokers() -> [ClusterBroker] {
        state.withLock { s in
            s.brokers.keys.sorted().compactMap { id in
                s.brokers[id].map { ClusterBroker(id: id, rack: $0.value.rack, endpoints: $0.value.endpoints) }
            }
        }
    }

    public func controllerId() -> Int32 { state.withLock { $0.controller?.value.id ?? -1 } }

    public func topics() -> [ClusterTopic]? {
        state.withLock { s in s.topics.keys.sorted().compactMap { s.placedTopic($0) } }
    }

    public func placement(topic: String, partition: Int32) -> PartitionPlacement? {
        guard let placement = state.withLock({ $0.partitions[topic]?[partition]?.value.placement }) else { return nil }
        // A broker cut off from etcd stops leading before the controller can elect another
        // leader — where there is another to elect. A partition with no other candidate keeps
        // its leader, so that while etcd is down for everyone the leaders go on serving.
        let others = settings.uncleanLeaderElection ? placement.replicas : placement.isr
        if placement.leader == settings.nodeId && others.contains(where: { $0 != settings.nodeId }) && isFenced() {
            var p = placement
            p.leader = -1
            return p
        }
        return placement
    }

    public func coordinator(for key: String, transaction: Bool) -> Int32 {
        // Transactions are not coordinated across brokers yet: no coordinator (the handlers
        // answer COORDINATOR_NOT_AVAILABLE with a message saying so).
        guard !transaction else { return -1 }
        let partitions = settings.offsetsTopicPartitions
        let p = ClusterSettings.offsetsPartition(of: key, partitions: partitions)
        guard let placement = placement(topic: ClusterSettings.offsetsTopic, partition: p) else { return -1 }
        // Not before this broker has loaded the partition's commits (retriable for the client).
        if placement.leader == settings.nodeId && loadedOffsets.withLock({ $0[p] }) != placement.leaderEpoch { return -1 }
        return placement.leader
    }

    /// True when the lease has not been renewed for `fenceAfterMs` (or the broker is not registered).
    func isFenced() -> Bool {
        guard let renewed = lease.withLock({ $0.renewedAt }) else { return true }
        return NIODeadline.now() - renewed > .milliseconds(settings.fenceAfterMs)
    }

    func signalChange() { changed.yield(()) }

    // MARK: Running

    /// Joins the cluster: checks the cluster id, registers this broker under a new lease and
    /// reads the cluster's state. Throws when this broker may not join (another cluster's data,
    /// etcd unreachable for longer than the session timeout).
    public func join() async throws {
        try await checkClusterId()
        try await register()
        try await reload()
        // Before the listeners open: local topics as the cluster has them, and replicated
        // partitions' high watermarks held for their followers from the first produce on.
        await syncLocalTopics()
        applyReplication()
    }

    /// Runs until cancelled: lease renewal, the watch, and reconciliation (controller duties,
    /// local topics).
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.renewLoop() }
            group.addTask { await self.watchLoop() }
            group.addTask { await self.reconcileLoop() }
            group.addTask { await self.isrLoop() }
            await group.waitForAll()
        }
    }

    /// Leaves the cluster at once (graceful shutdown): revoking the lease deletes this broker's
    /// registration, so the controller moves its leaderships without waiting for the timeout.
    public func leave() async {
        let id = lease.withLock { l -> Int64 in
            defer { l = (0, nil) }
            return l.id
        }
        guard id != 0 else { return }
        do {
            try await etcd.revoke(lease: id)
            logger.info("left the cluster (lease revoked)")
        } catch {
            logger.warning("could not revoke the lease; the cluster will see this broker gone after the session timeout",
                           metadata: ["error": "\(error)"])
        }
    }

    /// Reads everything under the root and replaces the state with it.
    func reload() async throws {
        let (kvs, revision) = try await etcd.range(settings.keys.all, prefix: true)
        let fresh = ClusterState(keys: settings.keys, kvs: kvs, revision: revision)
        state.withLock { $0 = fresh }
        loaded.withLock { $0 = true }
        signalChange()
    }

    func watchLoop() async {
        while !Task.isCancelled {
            let from = state.withLock { $0.revision }
            do {
                try await etcd.watch(prefix: settings.keys.all, afterRevision: from) { [weak self] events in
                    guard let self else { return }
                    self.state.withLock { $0.apply(events) }
                    self.signalChange()
                }
            } catch {
                if Task.isCancelled { return }
                logger.debug("etcd watch ended; reading the state again", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .milliseconds(500))
            // A compacted revision or a missed event cannot hurt: the state is read afresh.
            do { try await reload() } catch {
                logger.warning("cannot read the cluster state from etcd", metadata: ["error": "\(error)"])
            }
        }
    }

    func reconcileLoop() async {
        for await _ in changes {
            if Task.isCancelled { return }
            guard loaded.withLock({ $0 }) else { continue }
            await campaignIfVacant()
            await runControllerDuties()
            await syncLocalTopics()
            applyReplication()
        }
        fetchers.withLock { f in
            for task in f.values { task.cancel() }
            f = [:]
        }
    }
}

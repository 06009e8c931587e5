import Foundation
import NIOCore

/// Membership: the cluster id, this broker's registration under a lease, its renewal, and
/// the campaign for the controller role.
extension EtcdCluster {
    struct JoinRefused: Error, CustomStringConvertible {
        var description: String
    }

    /// The first broker writes the cluster id; every other one must have the same, and its data
    /// directory's `meta.properties` (written at the first join, as Kafka's) must name it.
    func checkClusterId() async throws {
        let keys = settings.keys
        let ours = Data(settings.clusterId.utf8)
        if try await etcd.transaction([.absent(keys.clusterId)], then: [.put(keys.clusterId, ours, lease: 0)]) {
            logger.info("created the cluster in etcd", metadata: ["cluster.id": "\(settings.clusterId)", "root": "\(keys.root)"])
        }
        let (kvs, _) = try await etcd.range(keys.clusterId)
        let theirs = kvs.first.map { String(decoding: $0.value, as: UTF8.self) } ?? ""
        guard theirs == settings.clusterId else {
            throw JoinRefused(description: "cluster.id is \(settings.clusterId) but the cluster at \(keys.root) in etcd is \(theirs)")
        }
        try MetaProperties.check(directory: store.directory, clusterId: settings.clusterId, nodeId: settings.nodeId,
                                 hasTopics: !store.topics().isEmpty)
    }

    /// Registers `brokers/ID` under a new lease. A registration left by this node id's previous
    /// run (killed) lives until its lease expires: wait for that, up to twice the session timeout.
    func register() async throws {
        let keys = settings.keys
        let leaseId = try await etcd.grantLease(ttlSeconds: settings.leaseTTLSeconds)
        let record = BrokerRegistration(id: settings.nodeId, rack: settings.rack, endpoints: settings.endpoints,
                                        incarnation: incarnation)
        let value = ClusterJSON.encode(record)
        let deadline = NIODeadline.now() + .milliseconds(2 * settings.sessionTimeoutMs + 1_000)
        var waited = false
        while true {
            if try await etcd.transaction([.absent(keys.broker(settings.nodeId))],
                                          then: [.put(keys.broker(settings.nodeId), value, lease: leaseId)]) {
                break
            }
            guard NIODeadline.now() < deadline else {
                try? await etcd.revoke(lease: leaseId)
                throw JoinRefused(description: "node.id \(settings.nodeId) is registered by another live broker")
            }
            if !waited {
                logger.info("node.id is still registered by a previous run; waiting for its lease to expire")
                waited = true
            }
            _ = try await etcd.keepAlive(lease: leaseId)
            try await Task.sleep(for: .milliseconds(500))
        }
        lease.withLock { $0 = (leaseId, NIODeadline.now()) }
        logger.info("registered in the cluster", metadata: ["lease": "\(leaseId)", "ttl_s": "\(settings.leaseTTLSeconds)"])
    }

    /// Renews the lease every `renewIntervalMs`. When etcd says the lease is gone (this broker
    /// was cut off for longer than the session timeout), registers again under a new one.
    func renewLoop() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(settings.renewIntervalMs))
            if Task.isCancelled { return }
            let id = lease.withLock { $0.id }
            do {
                if id != 0, try await etcd.keepAlive(lease: id) > 0 {
                    lease.withLock { if $0.id == id { $0.renewedAt = NIODeadline.now() } }
                } else {
                    logger.warning("the broker's lease expired; registering again")
                    lease.withLock { $0 = (0, nil) }
                    try await register()
                }
            } catch {
                logger.warning("cannot renew the broker's lease", metadata: ["error": "\(error)",
                                                                             "fenced": "\(isFenced())"])
            }
            // Also a tick for reconciliation: a controller action that failed is retried.
            signalChange()
        }
    }

    /// When no broker holds the controller key, tries to take it (create-if-absent, under this
    /// broker's lease), bumping the controller epoch in the same transaction.
    func campaignIfVacant() async {
        let (vacant, epoch, epochRevision) = state.withLock { s in
            (s.controller == nil, s.controllerEpoch?.value ?? 0, s.controllerEpoch?.modRevision)
        }
        let leaseId = lease.withLock { $0.id }
        guard vacant, leaseId != 0, !isFenced() else { return }
        let keys = settings.keys
        let record = ControllerRecord(id: settings.nodeId, epoch: epoch + 1)
        let epochGuard: EtcdCompare = epochRevision.map { .modRevision(keys.controllerEpoch, $0) } ?? .absent(keys.controllerEpoch)
        do {
            if try await etcd.transaction([.absent(keys.controller), epochGuard],
                                          then: [.put(keys.controller, ClusterJSON.encode(record), lease: leaseId),
                                                 .put(keys.controllerEpoch, Data("\(epoch + 1)".utf8), lease: 0)]) {
                logger.info("elected controller", metadata: ["epoch": "\(epoch + 1)"])
            }
        } catch {
            logger.debug("controller campaign failed", metadata: ["error": "\(error)"])
        }
    }
}

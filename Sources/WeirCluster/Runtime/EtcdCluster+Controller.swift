import Foundation
import KafkaProtocol

/// The controller's duties: decide from the state (`ControllerDecisions`), write each decision
/// as one etcd transaction that also requires this broker to still hold the controller key
/// (its value and lease), so a deposed controller's writes fail instead of racing its successor.
extension EtcdCluster {
    func runControllerDuties() async {
        let leaseId = lease.withLock { $0.id }
        let (snapshot, mine) = state.withLock { s -> (ClusterState, Bool) in
            (s, s.controller?.value.id == settings.nodeId && s.controllerLease == leaseId && leaseId != 0)
        }
        guard mine, !isFenced(), let record = snapshot.controller?.value else { return }
        let decisions = ControllerDecisions(
            uncleanLeaderElection: settings.uncleanLeaderElection,
            offsetsTopic: (ClusterSettings.offsetsTopic, settings.offsetsTopicPartitions, settings.offsetsTopicReplicationFactor))
        let actions = decisions.actions(for: snapshot) { KafkaUUIDText.hex(.random()) }
        guard !actions.isEmpty else { return }
        let keys = settings.keys
        let stillController: EtcdCompare = .value(keys.controller, ClusterJSON.encode(record))
        for action in actions {
            do {
                let applied: Bool
                switch action {
                case .createTopic(let name, let spec):
                    applied = try await etcd.transaction([stillController, .absent(keys.topic(name))],
                                                         then: [.put(keys.topic(name), ClusterJSON.encode(spec), lease: 0)])
                case .createPartitions(let topic, let states):
                    guard let specRevision = snapshot.topics[topic]?.modRevision else { continue }
                    let compares = [stillController, .modRevision(keys.topic(topic), specRevision)]
                        + states.keys.map { EtcdCompare.absent(keys.partition(topic, $0)) }
                    applied = try await etcd.transaction(compares, then: states.sorted { $0.key < $1.key }.map {
                        .put(keys.partition(topic, $0.key), ClusterJSON.encode($0.value), lease: 0)
                    })
                    if applied {
                        logger.info("placed partitions", metadata: ["topic": "\(topic)", "partitions": "\(states.count)"])
                    }
                case .updatePartition(let topic, let p, let next, let revision):
                    applied = try await etcd.transaction([stillController, .modRevision(keys.partition(topic, p), revision)],
                                                         then: [.put(keys.partition(topic, p), ClusterJSON.encode(next), lease: 0)])
                    if applied {
                        logger.info("partition state changed", metadata: [
                            "topic": "\(topic)", "partition": "\(p)", "leader": "\(next.leader)",
                            "leader_epoch": "\(next.leaderEpoch)", "isr": "\(next.isr)"])
                    }
                case .deletePartitions(let topic):
                    applied = try await etcd.transaction([stillController, .absent(keys.topic(topic))],
                                                         then: [.deletePrefix(keys.partitions(of: topic))])
                }
                if !applied {
                    // The state moved under us: the watch brings the change, and the next round decides again.
                    logger.debug("controller write lost a compare-and-swap", metadata: ["action": "\(action)"])
                }
            } catch {
                logger.warning("controller write failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }
}

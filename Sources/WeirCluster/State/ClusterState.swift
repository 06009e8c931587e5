import Foundation
import KafkaProtocol
import WeirBroker

/// A broker's copy of everything under the cluster's etcd root, rebuilt from a range read and
/// kept current by applying the watch's events. A value: the controller's decisions and the
/// handlers' answers are functions of it, tested without etcd.
///
/// Each entry remembers its key's mod revision, which is what a compare-and-swap compares.
public struct ClusterState: Sendable, Equatable {
    public struct Versioned<Value: Sendable & Equatable>: Sendable, Equatable {
        public var value: Value
        public var modRevision: Int64
    }

    public let keys: ClusterKeys
    public var clusterId: String?
    public var brokers: [Int32: Versioned<BrokerRegistration>] = [:]
    public var controller: Versioned<ControllerRecord>?
    /// The lease the controller key is bound to (the controller's own).
    public var controllerLease: Int64 = 0
    public var controllerEpoch: Versioned<Int64>?
    public var topics: [String: Versioned<TopicSpec>] = [:]
    public var partitions: [String: [Int32: Versioned<PartitionState>]] = [:]
    public var producerIds: Versioned<Int64>?
    /// The etcd revision this state reflects.
    public var revision: Int64 = 0

    public init(keys: ClusterKeys) { self.keys = keys }

    /// The state of a range read of the whole root at `revision`.
    public init(keys: ClusterKeys, kvs: [EtcdKeyValue], revision: Int64) {
        self.keys = keys
        for kv in kvs { put(kv) }
        self.revision = revision
    }

    public mutating func apply(_ events: [EtcdEvent]) {
        for event in events {
            switch event {
            case .put(let kv):
                put(kv)
                revision = max(revision, kv.modRevision)
            case .delete(let key, let rev):
                delete(key)
                revision = max(revision, rev)
            }
        }
    }

    mutating func put(_ kv: EtcdKeyValue) {
        let rev = kv.modRevision
        switch keys.kind(of: kv.key) {
        case .clusterId:
            clusterId = String(decoding: kv.value, as: UTF8.self)
        case .broker(let id):
            if let b = ClusterJSON.decode(BrokerRegistration.self, kv.value) { brokers[id] = .init(value: b, modRevision: rev) }
        case .controller:
            if let c = ClusterJSON.decode(ControllerRecord.self, kv.value) {
                controller = .init(value: c, modRevision: rev)
                controllerLease = kv.lease
            }
        case .controllerEpoch:
            if let e = Int64(String(decoding: kv.value, as: UTF8.self)) { controllerEpoch = .init(value: e, modRevision: rev) }
        case .topic(let name):
            if let t = ClusterJSON.decode(TopicSpec.self, kv.value) { topics[name] = .init(value: t, modRevision: rev) }
        case .partition(let topic, let p):
            if let s = ClusterJSON.decode(PartitionState.self, kv.value) {
                partitions[topic, default: [:]][p] = .init(value: s, modRevision: rev)
            }
        case .producerIds:
            if let n = Int64(String(decoding: kv.value, as: UTF8.self)) { producerIds = .init(value: n, modRevision: rev) }
        case .other:
            break
        }
    }

    mutating func delete(_ key: String) {
        switch keys.kind(of: key) {
        case .clusterId: clusterId = nil
        case .broker(let id): brokers[id] = nil
        case .controller: controller = nil; controllerLease = 0
        case .controllerEpoch: controllerEpoch = nil
        case .topic(let name): topics[name] = nil
        case .partition(let topic, let p):
            partitions[topic]?[p] = nil
            if partitions[topic]?.isEmpty == true { partitions[topic] = nil }
        case .producerIds: producerIds = nil
        case .other: break
        }
    }

    // MARK: Questions the handlers ask

    /// The live brokers' ids, ascending.
    public var liveBrokerIds: [Int32] { brokers.keys.sorted() }

    /// A topic whose every partition has its state (what clients may see; a topic the
    /// controller has not placed yet is not listed).
    public func placedTopic(_ name: String) -> ClusterTopic? {
        guard let spec = topics[name]?.value, let states = partitions[name],
              let id = KafkaUUIDText.parse(spec.id) else { return nil }
        var placements: [PartitionPlacement] = []
        for p in 0..<spec.partitions {
            guard let s = states[p]?.value else { return nil }
            placements.append(s.placement)
        }
        return ClusterTopic(name: name, id: id, partitions: placements, configs: spec.configs)
    }
}

import Foundation

/// What the cluster keeps in etcd, under one root (the `etcd.connect` chroot, `/weir` by
/// default), so several clusters can share one etcd:
///
/// | key | value (JSON) | written by |
/// |---|---|---|
/// | `ROOT/cluster_id` | the cluster id (a string) | the first broker, create-if-absent |
/// | `ROOT/brokers/ID` | `BrokerRegistration`, bound to the broker's lease | each broker |
/// | `ROOT/controller` | `ControllerRecord`, bound to the controller's lease | the elected broker, create-if-absent |
/// | `ROOT/controller_epoch` | the last controller epoch (a number) | each newly elected controller |
/// | `ROOT/topics/NAME` | `TopicSpec`: id, partition count, replication factor, configs | any broker (CreateTopics) |
/// | `ROOT/partitions/NAME/P` | `PartitionState`: leader, epochs, replicas, ISR | the controller, compare-and-swap |
/// | `ROOT/producer_ids` | the next free producer id (a number) | any broker claiming a block, compare-and-swap |
///
/// A broker whose lease expires loses its `brokers/ID` key (and `controller`, if it held it);
/// that deletion is what the controller reacts to.
public struct ClusterKeys: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        var r = root.isEmpty ? "/weir" : root
        if !r.hasPrefix("/") { r = "/" + r }
        while r.count > 1 && r.hasSuffix("/") { r.removeLast() }
        self.root = r
    }

    public var all: String { root + "/" }
    public var clusterId: String { root + "/cluster_id" }
    public var brokersPrefix: String { root + "/brokers/" }
    public func broker(_ id: Int32) -> String { brokersPrefix + "\(id)" }
    public var controller: String { root + "/controller" }
    public var controllerEpoch: String { root + "/controller_epoch" }
    public var topicsPrefix: String { root + "/topics/" }
    public func topic(_ name: String) -> String { topicsPrefix + name }
    public var partitionsPrefix: String { root + "/partitions/" }
    public func partitions(of topic: String) -> String { partitionsPrefix + topic + "/" }
    public func partition(_ topic: String, _ p: Int32) -> String { partitions(of: topic) + "\(p)" }
    public var producerIds: String { root + "/producer_ids" }

    /// What a key under the root is.
    public enum Kind: Equatable {
        case clusterId, broker(Int32), controller, controllerEpoch, topic(String), partition(String, Int32), producerIds
        case other
    }

    public func kind(of key: String) -> Kind {
        guard key.hasPrefix(all) else { return .other }
        let rest = key.dropFirst(all.count)
        if rest == "cluster_id" { return .clusterId }
        if rest == "controller" { return .controller }
        if rest == "controller_epoch" { return .controllerEpoch }
        if rest == "producer_ids" { return .producerIds }
        if rest.hasPrefix("brokers/"), let id = Int32(rest.dropFirst("brokers/".count)) { return .broker(id) }
        if rest.hasPrefix("topics/") { return .topic(String(rest.dropFirst("topics/".count))) }
        if rest.hasPrefix("partitions/") {
            let tail = rest.dropFirst("partitions/".count)
            // Topic names cannot contain '/', so the last component is the partition.
            if let slash = tail.lastIndex(of: "/"), let p = Int32(tail[tail.index(after: slash)...]) {
                return .partition(String(tail[..<slash]), p)
            }
        }
        return .other
    }
}

import Foundation
import WeirBroker

/// `ROOT/brokers/ID`: a live broker (the key lives as long as the broker's lease).
public struct BrokerRegistration: Sendable, Equatable, Codable {
    public var id: Int32
    public var rack: String?
    /// Listener name → advertised address.
    public var endpoints: [String: BrokerEndpoint]
    /// A number chosen at each start, so a restart is told apart from a renewal.
    public var incarnation: Int64

    public init(id: Int32, rack: String?, endpoints: [String: BrokerEndpoint], incarnation: Int64) {
        self.id = id
        self.rack = rack
        self.endpoints = endpoints
        self.incarnation = incarnation
    }
}

/// `ROOT/controller`: who controls the cluster, and since which epoch.
public struct ControllerRecord: Sendable, Equatable, Codable {
    public var id: Int32
    public var epoch: Int64
}

/// `ROOT/topics/NAME`: a topic as created; the controller derives the partitions from it.
public struct TopicSpec: Sendable, Equatable, Codable {
    /// The topic id (32 hex digits of its UUID).
    public var id: String
    public var partitions: Int32
    public var replicationFactor: Int16
    public var configs: [String: String]

    public init(id: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) {
        self.id = id
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// `ROOT/partitions/NAME/P`: a partition's state, changed only by the controller with a
/// compare-and-swap on the key's revision. `partitionEpoch` grows with every change.
public struct PartitionState: Sendable, Equatable, Codable {
    public var leader: Int32
    public var leaderEpoch: Int32
    public var partitionEpoch: Int32
    public var replicas: [Int32]
    public var isr: [Int32]

    public init(leader: Int32, leaderEpoch: Int32, partitionEpoch: Int32, replicas: [Int32], isr: [Int32]) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.partitionEpoch = partitionEpoch
        self.replicas = replicas
        self.isr = isr
    }

    public var placement: PartitionPlacement {
        PartitionPlacement(leader: leader, leaderEpoch: leaderEpoch, replicas: replicas, isr: isr)
    }
}

enum ClusterJSON {
    static func encode<T: Encodable>(_ value: T) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Encoding these plain structs cannot fail.
        return (try? encoder.encode(value)) ?? Data()
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data) -> T? {
        try? JSONDecoder().decode(type, from: data)
    }
}

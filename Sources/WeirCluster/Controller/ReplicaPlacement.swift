/// Kafka's replica placement (AdminUtils.assignReplicasToBrokers), deterministic for a given
/// start: partition p's leader is the (start + p)-th broker, its followers the next brokers
/// with a shift that grows every full round, so leaders and follower pairs both spread. With
/// racks, brokers are first ordered rack by rack in turn, so consecutive brokers — one
/// partition's replicas — sit on different racks while there are racks enough.
public enum ReplicaPlacement {
    public struct Broker: Sendable, Equatable {
        public var id: Int32
        public var rack: String?
        public init(id: Int32, rack: String?) { self.id = id; self.rack = rack }
    }

    /// Replicas (leader first) for partitions `first..<first + count`.
    /// - Parameter start: where the round starts (Kafka picks it at random; the controller
    ///   passes the topic's hash so a retried placement is the same).
    public static func assign(brokers: [Broker], partitions range: Range<Int32>, replicationFactor: Int,
                              start: Int) -> [Int32: [Int32]] {
        let ordered = rackAlternated(brokers)
        let n = ordered.count
        let rackCount = Set(ordered.map(\.rack)).count
        guard n > 0, replicationFactor > 0, replicationFactor <= n else { return [:] }
        var result: [Int32: [Int32]] = [:]
        let startIndex = ((start % n) + n) % n
        for p in range {
            let i = Int(p)
            let leader = (startIndex + i) % n
            var replicas = [ordered[leader].id]
            let shift = n > 1 ? 1 + ((startIndex + i / n) % (n - 1)) : 0
            var racks: Set<String?> = [ordered[leader].rack]
            for j in 0..<(replicationFactor - 1) {
                // Kafka's replicaIndex: followers step by `shift`, never landing on the leader; as
                // in Kafka's rack-aware variant, a broker of a rack already used is skipped while
                // some rack is still unused.
                let candidates = (0..<(n - 1)).map { k in ordered[(leader + 1 + (shift + j + k) % (n - 1)) % n] }
                    .filter { !replicas.contains($0.id) }
                let pick = candidates.first { racks.count < rackCount && !racks.contains($0.rack) } ?? candidates[0]
                replicas.append(pick.id)
                racks.insert(pick.rack)
            }
            result[p] = replicas
        }
        return result
    }

    /// Brokers ordered so that racks alternate (Kafka's getRackAlternatedBrokerList); by id
    /// when no broker has a rack.
    static func rackAlternated(_ brokers: [Broker]) -> [Broker] {
        let sorted = brokers.sorted { $0.id < $1.id }
        guard sorted.contains(where: { $0.rack != nil }) else { return sorted }
        var byRack: [String: [Broker]] = [:]
        for b in sorted { byRack[b.rack ?? "", default: []].append(b) }
        let racks = byRack.keys.sorted()
        var out: [Broker] = []
        var round = 0
        while out.count < sorted.count {
            for rack in racks where round < byRack[rack]!.count {
                out.append(byRack[rack]![round])
            }
            round += 1
        }
        return out
    }

    /// Java's String.hashCode, as Kafka uses it for a group's offsets partition.
    public static func javaHash(_ s: String) -> Int32 {
        var h: Int32 = 0
        for unit in s.utf16 { h = h &* 31 &+ Int32(unit) }
        return h
    }
}

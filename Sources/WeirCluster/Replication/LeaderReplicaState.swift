/// The leader's view of one partition's followers, as Kafka's Partition keeps it: each
/// follower's log end (its fetch offset) and when it was last caught up. A value: the high
/// watermark and the ISR changes are functions of it, tested by feeding fetches and a clock.
public struct LeaderReplicaState: Sendable, Equatable {
    public let leader: Int32
    /// The leadership this state belongs to: a new epoch starts a new state.
    public let leaderEpoch: Int32
    public private(set) var replicas: [Int32]
    public private(set) var isr: [Int32]
    /// Followers' log end offsets, as their last fetch said.
    public private(set) var followerEnd: [Int32: Int64] = [:]
    /// When each follower last fetched from the leader's log end (or was found caught up).
    public private(set) var lastCaughtUpMs: [Int32: Int64] = [:]

    /// A new leadership at `nowMs`: followers start "caught up now", so a follower is given
    /// `replica.lag.time.max.ms` to fetch before it leaves the ISR, as in Kafka.
    public init(leader: Int32, leaderEpoch: Int32, replicas: [Int32], isr: [Int32], nowMs: Int64) {
        self.leader = leader
        self.leaderEpoch = leaderEpoch
        self.replicas = replicas
        self.isr = isr
        for r in replicas where r != leader { lastCaughtUpMs[r] = nowMs }
    }

    /// The partition's state in etcd changed (the ISR this leader proposed, or the controller's).
    public mutating func update(replicas: [Int32], isr: [Int32]) {
        self.replicas = replicas
        self.isr = isr
    }

    /// Follower `replica` fetched from `offset`, which is its log end; the leader's log ended at
    /// `leaderEnd` then.
    public mutating func fetched(by replica: Int32, offset: Int64, leaderEnd: Int64, nowMs: Int64) {
        guard replica != leader, replicas.contains(replica) else { return }
        followerEnd[replica] = offset
        if offset >= leaderEnd { lastCaughtUpMs[replica] = nowMs }
    }

    /// The minimum log end over the ISR (the leader's own is `leaderEnd`); nil while an
    /// in-sync follower has not fetched yet under this leadership.
    public func highWatermark(leaderEnd: Int64) -> Int64? {
        var hw = leaderEnd
        for r in isr where r != leader {
            guard let end = followerEnd[r] else { return nil }
            hw = min(hw, end)
        }
        return hw
    }

    /// The ISR this leader should propose, or nil to keep it: followers not caught up for
    /// `lagMs` leave; out-of-sync followers whose log end reached the high watermark join —
    /// only `live` ones (registered in etcd): a broker cut off from etcd may still fetch, but the
    /// controller has dropped it, and taking it back would make the two undo each other.
    public func proposedISR(nowMs: Int64, lagMs: Int64, highWatermark: Int64, live: Set<Int32>) -> [Int32]? {
        var next = isr.filter { r in r == leader || nowMs - (lastCaughtUpMs[r] ?? nowMs) <= lagMs }
        for r in replicas where !next.contains(r) && r != leader && live.contains(r) {
            if let end = followerEnd[r], end >= highWatermark, nowMs - (lastCaughtUpMs[r] ?? .min) <= lagMs {
                next.append(r)
            }
        }
        if !next.contains(leader) { next.insert(leader, at: 0) }
        let ordered = replicas.filter { next.contains($0) }
        return Set(ordered) == Set(isr) ? nil : ordered
    }
}

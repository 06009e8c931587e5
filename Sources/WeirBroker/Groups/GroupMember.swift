import NIOCore

/// Identifies one suspended JoinGroup or SyncGroup call. The state machine names the call it
/// answers by this token, not by member id, because a member may send a second JoinGroup
/// while its first still waits, and both calls must be answered exactly once.
public typealias GroupWaiterID = UInt64

/// One member of a classic group, as the coordinator tracks it (Kafka's `MemberMetadata`).
public struct GroupMember: Sendable, Equatable {
    /// Changes only when a static member rejoins and replaces its previous id.
    public internal(set) var memberId: String
    public let groupInstanceId: String?
    public internal(set) var clientId: String
    public internal(set) var clientHost: String
    public internal(set) var protocolType: String
    /// In the member's order of preference, names unique.
    public internal(set) var protocols: [GroupProtocol]
    public internal(set) var sessionTimeoutMs: Int32
    public internal(set) var rebalanceTimeoutMs: Int32
    /// What the leader assigned in the current generation; empty before the first SyncGroup.
    public internal(set) var assignment: ByteBuffer = ByteBuffer()

    /// When the member expires unless it is heard from (monotonic ms). A member waiting in a
    /// rebalance is exempt (see `isExemptFromExpiry`), and its deadline is reset when the wait ends.
    public internal(set) var sessionDeadlineMs: Int64
    /// The JoinGroup call waiting for this rebalance to complete, if any.
    public internal(set) var awaitingJoin: GroupWaiterID?
    /// The SyncGroup call waiting for the leader's assignment, if any.
    public internal(set) var awaitingSync: GroupWaiterID?
    /// Joined but not yet part of a completed generation.
    public internal(set) var isNew: Bool

    init(memberId: String, groupInstanceId: String?, clientId: String, clientHost: String,
         protocolType: String, protocols: [GroupProtocol], sessionTimeoutMs: Int32,
         rebalanceTimeoutMs: Int32, sessionDeadlineMs: Int64, awaitingJoin: GroupWaiterID?, isNew: Bool) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.protocolType = protocolType
        self.protocols = protocols
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.sessionDeadlineMs = sessionDeadlineMs
        self.awaitingJoin = awaitingJoin
        self.isNew = isNew
    }

    public var isStatic: Bool { groupInstanceId != nil }

    /// Kafka's `hasSatisfiedHeartbeat` inverted: an established member blocked in JoinGroup or
    /// SyncGroup cannot heartbeat, so it is not expired for silence while it waits. A new member
    /// is not exempt: its (long) join deadline is what removes a client that went away mid-join.
    var isExemptFromExpiry: Bool { !isNew && (awaitingJoin != nil || awaitingSync != nil) }

    func supports(_ protocolName: String) -> Bool { protocols.contains { $0.name == protocolName } }

    func metadata(for protocolName: String) -> ByteBuffer? {
        protocols.first { $0.name == protocolName }?.metadata
    }

    /// Same protocols, same order, same metadata: a rejoin that changes nothing.
    func matches(_ other: [GroupProtocol]) -> Bool { protocols == other }

    /// The member's most preferred protocol among the candidates (Kafka's `vote`).
    func vote(among candidates: Set<String>) -> String? {
        protocols.first { candidates.contains($0.name) }?.name
    }

    /// Drops repeated protocol names (a malformed request could send them) so that counting
    /// support per protocol stays one vote per member.
    static func uniqueProtocols(_ protocols: [GroupProtocol]) -> [GroupProtocol] {
        var seen = Set<String>()
        return protocols.filter { seen.insert($0.name).inserted }
    }
}

import KafkaProtocol
import NIOCore
import WeirStorage

// The coordinator's domain types. Request handlers translate Kafka messages to and from these,
// so that the coordinator never depends on a wire version: a field a version lacks is given
// its Kafka default by the handler (e.g. JoinGroup v0's rebalance timeout = session timeout).

/// The group settings of the broker (Kafka's `group.*` properties).
public struct GroupConfig: Sendable, Equatable {
    /// group.initial.rebalance.delay.ms: how long an empty group's first rebalance waits for more
    /// members, extended by this much each time one arrives (capped at the rebalance timeout).
    public var initialRebalanceDelayMs: Int64 = 3000
    /// group.min.session.timeout.ms / group.max.session.timeout.ms: the accepted session timeouts.
    public var minSessionTimeoutMs: Int32 = 6000
    public var maxSessionTimeoutMs: Int32 = 1_800_000
    /// offset.metadata.max.bytes: a longer commit metadata string gets OFFSET_METADATA_TOO_LARGE.
    public var offsetMetadataMaxBytes: Int = 4096
    /// How long a member that joined for the first time may wait for the rebalance before it is
    /// dropped (Kafka's fixed `NewMemberJoinTimeoutMs`, KIP-394): a client that gave up on its
    /// first JoinGroup must not hold the group in PreparingRebalance forever.
    public var newMemberJoinTimeoutMs: Int64 = 300_000

    public init(initialRebalanceDelayMs: Int64 = 3000, minSessionTimeoutMs: Int32 = 6000,
                maxSessionTimeoutMs: Int32 = 1_800_000) {
        self.initialRebalanceDelayMs = initialRebalanceDelayMs
        self.minSessionTimeoutMs = minSessionTimeoutMs
        self.maxSessionTimeoutMs = maxSessionTimeoutMs
    }
}

/// One protocol a member can speak ("range", "cooperative-sticky" …) with its opaque metadata.
public struct GroupProtocol: Sendable, Equatable {
    public var name: String
    public var metadata: ByteBuffer

    public init(name: String, metadata: ByteBuffer) {
        self.name = name
        self.metadata = metadata
    }
}

/// A JoinGroup request, any version.
public struct JoinGroupParams: Sendable {
    public var groupId: String
    /// "" for a member joining for the first time.
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    public var sessionTimeoutMs: Int32
    /// v0 has none: pass the session timeout (Kafka does). A negative value is treated the same.
    public var rebalanceTimeoutMs: Int32
    public var protocolType: String
    /// In the member's order of preference.
    public var protocols: [GroupProtocol]
    /// True from JoinGroup v4: a new member is first given an id (MEMBER_ID_REQUIRED) and rejoins with it.
    public var requireKnownMemberId: Bool
    /// True from JoinGroup v9 (KIP-814): the response may carry `skipAssignment`.
    public var supportsSkippingAssignment: Bool
    public var reason: String?

    public init(groupId: String, memberId: String, groupInstanceId: String? = nil, clientId: String,
                clientHost: String, sessionTimeoutMs: Int32, rebalanceTimeoutMs: Int32,
                protocolType: String, protocols: [GroupProtocol], requireKnownMemberId: Bool,
                supportsSkippingAssignment: Bool = false, reason: String? = nil) {
        self.groupId = groupId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.sessionTimeoutMs = sessionTimeoutMs
        self.rebalanceTimeoutMs = rebalanceTimeoutMs
        self.protocolType = protocolType
        self.protocols = protocols
        self.requireKnownMemberId = requireKnownMemberId
        self.supportsSkippingAssignment = supportsSkippingAssignment
        self.reason = reason
    }
}

/// A member as the leader sees it in its JoinGroup response.
public struct JoinedMember: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    /// The member's metadata for the chosen protocol.
    public var metadata: ByteBuffer

    public init(memberId: String, groupInstanceId: String?, metadata: ByteBuffer) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.metadata = metadata
    }
}

/// The JoinGroup response, any version.
public struct JoinGroupOutcome: Sendable, Equatable {
    public var error: ErrorCode
    public var generationId: Int32
    public var protocolType: String?
    public var protocolName: String?
    /// "" when there is none (errors).
    public var leaderId: String
    /// The member's id: the new one for MEMBER_ID_REQUIRED, "" when the member was removed.
    public var memberId: String
    /// JoinGroup v9: a static leader that rejoined without a protocol change must not reassign.
    public var skipAssignment: Bool
    /// Every member, for the leader only; empty for followers.
    public var members: [JoinedMember]

    public init(error: ErrorCode, generationId: Int32 = -1, protocolType: String? = nil,
                protocolName: String? = nil, leaderId: String = "", memberId: String,
                skipAssignment: Bool = false, members: [JoinedMember] = []) {
        self.error = error
        self.generationId = generationId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.leaderId = leaderId
        self.memberId = memberId
        self.skipAssignment = skipAssignment
        self.members = members
    }

    /// Kafka's error response: generation -1, no protocol, no leader, no members.
    public static func failure(_ error: ErrorCode, memberId: String) -> JoinGroupOutcome {
        JoinGroupOutcome(error: error, memberId: memberId)
    }
}

/// One entry of the leader's SyncGroup assignments.
public struct MemberAssignment: Sendable, Equatable {
    public var memberId: String
    public var assignment: ByteBuffer

    public init(memberId: String, assignment: ByteBuffer) {
        self.memberId = memberId
        self.assignment = assignment
    }
}

/// A SyncGroup request, any version.
public struct SyncGroupParams: Sendable {
    public var groupId: String
    public var generationId: Int32
    public var memberId: String
    public var groupInstanceId: String?
    /// v5+: when present, must match the group's (else INCONSISTENT_GROUP_PROTOCOL).
    public var protocolType: String?
    public var protocolName: String?
    /// Only the leader's are used; a member id listed twice keeps its last assignment.
    public var assignments: [MemberAssignment]

    public init(groupId: String, generationId: Int32, memberId: String, groupInstanceId: String? = nil,
                protocolType: String? = nil, protocolName: String? = nil,
                assignments: [MemberAssignment] = []) {
        self.groupId = groupId
        self.generationId = generationId
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignments = assignments
    }
}

/// The SyncGroup response, any version.
public struct SyncGroupOutcome: Sendable, Equatable {
    public var error: ErrorCode
    public var protocolType: String?
    public var protocolName: String?
    public var assignment: ByteBuffer

    public init(error: ErrorCode, protocolType: String? = nil, protocolName: String? = nil,
                assignment: ByteBuffer = ByteBuffer()) {
        self.error = error
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.assignment = assignment
    }

    public static func failure(_ error: ErrorCode) -> SyncGroupOutcome { SyncGroupOutcome(error: error) }
}

/// One member named in a LeaveGroup request (v0-2 send just a member id).
public struct LeavingMember: Sendable, Equatable {
    /// "" with a groupInstanceId: an administrator removing a static member by instance id.
    public var memberId: String
    public var groupInstanceId: String?
    public var reason: String?

    public init(memberId: String, groupInstanceId: String? = nil, reason: String? = nil) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.reason = reason
    }
}

/// The LeaveGroup response. v0-2 carry one error only: use the member's error when the
/// top-level one is NONE (Kafka does the same).
public struct LeaveGroupOutcome: Sendable, Equatable {
    public var error: ErrorCode
    /// One per requested member, in request order (empty when `error` is set).
    public var memberErrors: [ErrorCode]

    public init(error: ErrorCode, memberErrors: [ErrorCode]) {
        self.error = error
        self.memberErrors = memberErrors
    }
}

/// One committed offset as OffsetFetch reports it.
public struct OffsetFetchOutcome: Sendable, Equatable {
    /// A group-level error (INVALID_GROUP_ID, COORDINATOR_NOT_AVAILABLE …); `offsets` is then empty.
    public var error: ErrorCode
    /// For requested partitions without a commit the value is nil: answer offset -1, leader
    /// epoch -1, metadata "" (Kafka's "no offset") with error NONE. When all partitions were
    /// requested (partitions == nil), only committed ones appear, sorted.
    public var offsets: [(TopicPartition, CommittedOffset?)]

    public init(error: ErrorCode, offsets: [(TopicPartition, CommittedOffset?)]) {
        self.error = error
        self.offsets = offsets
    }

    public static func == (a: OffsetFetchOutcome, b: OffsetFetchOutcome) -> Bool {
        a.error == b.error && a.offsets.count == b.offsets.count
            && zip(a.offsets, b.offsets).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}

/// A ListGroups entry.
public struct GroupListing: Sendable, Equatable {
    public var groupId: String
    /// "" when unknown (a group known only from committed offsets).
    public var protocolType: String
    /// Kafka's state name: "Empty", "PreparingRebalance", "CompletingRebalance", "Stable", "Dead".
    public var state: String
    /// ListGroups v5: always "classic" here.
    public var groupType: String

    public init(groupId: String, protocolType: String, state: String, groupType: String = "classic") {
        self.groupId = groupId
        self.protocolType = protocolType
        self.state = state
        self.groupType = groupType
    }
}

/// A DescribeGroups member.
public struct MemberDescription: Sendable, Equatable {
    public var memberId: String
    public var groupInstanceId: String?
    public var clientId: String
    public var clientHost: String
    /// Empty unless the group is Stable (Kafka only describes metadata of a settled generation).
    public var metadata: ByteBuffer
    public var assignment: ByteBuffer

    public init(memberId: String, groupInstanceId: String?, clientId: String, clientHost: String,
                metadata: ByteBuffer, assignment: ByteBuffer) {
        self.memberId = memberId
        self.groupInstanceId = groupInstanceId
        self.clientId = clientId
        self.clientHost = clientHost
        self.metadata = metadata
        self.assignment = assignment
    }
}

/// A DescribeGroups entry. An unknown group is described as "Dead" with error NONE (Kafka up
/// to DescribeGroups v5).
public struct GroupDescription: Sendable, Equatable {
    public var groupId: String
    public var error: ErrorCode
    public var state: String
    public var protocolType: String
    /// The chosen protocol while Stable, else "".
    public var protocolName: String
    public var members: [MemberDescription]

    public init(groupId: String, error: ErrorCode, state: String, protocolType: String,
                protocolName: String, members: [MemberDescription]) {
        self.groupId = groupId
        self.error = error
        self.state = state
        self.protocolType = protocolType
        self.protocolName = protocolName
        self.members = members
    }
}

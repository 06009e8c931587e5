import KafkaProtocol

/// An error code returned by the broker, with Kafka's name for it (`TOPIC_ALREADY_EXISTS`) and
/// the broker's message or, when it sent none, the default message of Kafka's exception class,
/// so that the tools print what kafka-topics.sh and friends print.
public struct KafkaError: Error, CustomStringConvertible, Equatable {
    public var code: Int16
    /// The broker's error message, when the response carries one.
    public var serverMessage: String?
    /// What was being done, e.g. "topic 'orders'".
    public var context: String?

    public init(code: Int16, message: String? = nil, context: String? = nil) {
        self.code = code
        serverMessage = message.flatMap { $0.isEmpty ? nil : $0 }
        self.context = context
    }

    public init(_ code: ErrorCode, message: String? = nil, context: String? = nil) {
        self.init(code: code.rawValue, message: message, context: context)
    }

    /// Kafka's constant name, e.g. `NOT_LEADER_OR_FOLLOWER`.
    public var name: String { Self.table[code]?.name ?? "UNKNOWN_ERROR_CODE_\(code)" }

    /// The broker's message, else Kafka's default text for the code.
    public var message: String {
        serverMessage ?? Self.table[code]?.message ?? "The broker answered with error code \(code)."
    }

    public var description: String {
        if let context { return "\(context): \(message) (\(name))" }
        return "\(message) (\(name))"
    }

    /// Whether a Java client would retry after this error (it extends RetriableException).
    public var isRetriable: Bool { Self.retriable.contains(code) }

    public static func name(of code: Int16) -> String { KafkaError(code: code).name }

    /// Throws unless `code` is 0.
    public static func check(_ code: Int16, message: String? = nil, context: String? = nil) throws {
        guard code != 0 else { return }
        throw KafkaError(code: code, message: message, context: context)
    }

    static let retriable: Set<Int16> = [
        ErrorCode.corruptMessage, .unknownTopicOrPartition, .leaderNotAvailable, .notLeaderOrFollower,
        .requestTimedOut, .brokerNotAvailable, .replicaNotAvailable, .networkException,
        .coordinatorLoadInProgress, .coordinatorNotAvailable, .notCoordinator, .notEnoughReplicas,
        .notEnoughReplicasAfterAppend, .fencedLeaderEpoch, .unknownLeaderEpoch, .offsetNotAvailable,
        .preferredLeaderNotAvailable, .unknownTopicId,
    ].reduce(into: Set<Int16>()) { $0.insert($1.rawValue) }

    // Names and default messages as in Kafka's `Errors.java` and its exception classes.
    // (A table, because ErrorCode's own `description` cannot be used to derive them.)
    static let table: [Int16: (name: String, message: String)] = [
        -1: ("UNKNOWN_SERVER_ERROR", "The server experienced an unexpected error when processing the request."),
        1: ("OFFSET_OUT_OF_RANGE", "The requested offset is not within the range of offsets maintained by the server."),
        2: ("CORRUPT_MESSAGE", "This message has failed its CRC checksum, exceeds the valid size, has a null key for a compacted topic, or is otherwise corrupt."),
        3: ("UNKNOWN_TOPIC_OR_PARTITION", "This server does not host this topic-partition."),
        4: ("INVALID_FETCH_SIZE", "The requested fetch size is invalid."),
        5: ("LEADER_NOT_AVAILABLE", "There is no leader for this topic-partition as we are in the middle of a leadership election."),
        6: ("NOT_LEADER_OR_FOLLOWER", "For requests intended only for the leader, this error indicates that the broker is not the current leader."),
        7: ("REQUEST_TIMED_OUT", "The request timed out."),
        8: ("BROKER_NOT_AVAILABLE", "The broker is not available."),
        9: ("REPLICA_NOT_AVAILABLE", "The replica is not available for the requested topic-partition."),
        10: ("MESSAGE_TOO_LARGE", "The request included a message larger than the max message size the server will accept."),
        12: ("OFFSET_METADATA_TOO_LARGE", "The metadata field of the offset request was too large."),
        13: ("NETWORK_EXCEPTION", "The server disconnected before a response was received."),
        14: ("COORDINATOR_LOAD_IN_PROGRESS", "The coordinator is loading and hence can't process requests."),
        15: ("COORDINATOR_NOT_AVAILABLE", "The coordinator is not available."),
        16: ("NOT_COORDINATOR", "This is not the correct coordinator."),
        17: ("INVALID_TOPIC_EXCEPTION", "The request attempted to perform an operation on an invalid topic."),
        18: ("RECORD_LIST_TOO_LARGE", "The request included message batch larger than the configured segment size on the server."),
        19: ("NOT_ENOUGH_REPLICAS", "Messages are rejected since there are fewer in-sync replicas than required."),
        20: ("NOT_ENOUGH_REPLICAS_AFTER_APPEND", "Messages are written to the log, but to fewer in-sync replicas than required."),
        21: ("INVALID_REQUIRED_ACKS", "Produce request specified an invalid value for required acks."),
        22: ("ILLEGAL_GENERATION", "Specified group generation id is not valid."),
        23: ("INCONSISTENT_GROUP_PROTOCOL", "The group member's supported protocols are incompatible with those of existing members."),
        24: ("INVALID_GROUP_ID", "The configured groupId is invalid."),
        25: ("UNKNOWN_MEMBER_ID", "The coordinator is not aware of this member."),
        26: ("INVALID_SESSION_TIMEOUT", "The session timeout is not within the range allowed by the broker."),
        27: ("REBALANCE_IN_PROGRESS", "The group is rebalancing, so a rejoin is needed."),
        28: ("INVALID_COMMIT_OFFSET_SIZE", "The committing offset data size is not valid."),
        29: ("TOPIC_AUTHORIZATION_FAILED", "Topic authorization failed."),
        30: ("GROUP_AUTHORIZATION_FAILED", "Group authorization failed."),
        31: ("CLUSTER_AUTHORIZATION_FAILED", "Cluster authorization failed."),
        32: ("INVALID_TIMESTAMP", "The timestamp of the message is out of acceptable range."),
        35: ("UNSUPPORTED_VERSION", "The version of API is not supported."),
        36: ("TOPIC_ALREADY_EXISTS", "Topic with this name already exists."),
        37: ("INVALID_PARTITIONS", "Number of partitions is below 1."),
        38: ("INVALID_REPLICATION_FACTOR", "Replication factor is below 1 or larger than the number of available brokers."),
        39: ("INVALID_REPLICA_ASSIGNMENT", "Replica assignment is invalid."),
        40: ("INVALID_CONFIG", "Configuration is invalid."),
        41: ("NOT_CONTROLLER", "This is not the correct controller for this cluster."),
        42: ("INVALID_REQUEST", "This most likely occurs because of a request being malformed by the client library or the message was sent to an incompatible broker."),
        43: ("UNSUPPORTED_FOR_MESSAGE_FORMAT", "The message format version on the broker does not support the request."),
        44: ("POLICY_VIOLATION", "Request parameters do not satisfy the configured policy."),
        45: ("OUT_OF_ORDER_SEQUENCE_NUMBER", "The broker received an out of order sequence number."),
        46: ("DUPLICATE_SEQUENCE_NUMBER", "The broker received a duplicate sequence number."),
        47: ("INVALID_PRODUCER_EPOCH", "Producer attempted to produce with an old epoch."),
        33: ("UNSUPPORTED_SASL_MECHANISM", "The broker does not support the requested SASL mechanism."),
        34: ("ILLEGAL_SASL_STATE", "Request is not valid given the current SASL state."),
        53: ("TRANSACTIONAL_ID_AUTHORIZATION_FAILED", "Transactional Id authorization failed."),
        54: ("SECURITY_DISABLED", "Security features are disabled."),
        58: ("SASL_AUTHENTICATION_FAILED", "SASL Authentication failed."),
        59: ("UNKNOWN_PRODUCER_ID", "This exception is raised by the broker if it could not locate the producer metadata associated with the producerId in question."),
        60: ("REASSIGNMENT_IN_PROGRESS", "A partition reassignment is in progress."),
        68: ("NON_EMPTY_GROUP", "The group is not empty."),
        69: ("GROUP_ID_NOT_FOUND", "The group id does not exist."),
        73: ("TOPIC_DELETION_DISABLED", "Topic deletion is disabled."),
        74: ("FENCED_LEADER_EPOCH", "The leader epoch in the request is older than the epoch on the broker."),
        75: ("UNKNOWN_LEADER_EPOCH", "The leader epoch in the request is newer than the epoch on the broker."),
        76: ("UNSUPPORTED_COMPRESSION_TYPE", "The requesting client does not support the compression type of given partition."),
        78: ("OFFSET_NOT_AVAILABLE", "The leader high watermark has not caught up from a recent leader election so the offsets cannot be guaranteed to be monotonically increasing."),
        79: ("MEMBER_ID_REQUIRED", "The group member needs to have a valid member id before actually entering a consumer group."),
        80: ("PREFERRED_LEADER_NOT_AVAILABLE", "The preferred leader was not available."),
        81: ("GROUP_MAX_SIZE_REACHED", "The consumer group has reached its max size."),
        82: ("FENCED_INSTANCE_ID", "The broker rejected this static consumer since another consumer with the same group.instance.id has registered with a different member.id."),
        86: ("GROUP_SUBSCRIBED_TO_TOPIC", "Deleting offsets of a topic is forbidden while the consumer group is actively subscribed to it."),
        87: ("INVALID_RECORD", "This record has failed the validation on broker and hence will be rejected."),
        88: ("UNSTABLE_OFFSET_COMMIT", "There are unstable offsets that need to be cleared."),
        91: ("RESOURCE_NOT_FOUND", "A request illegally referred to a resource that does not exist."),
        92: ("DUPLICATE_RESOURCE", "A request illegally referred to the same resource twice."),
        93: ("UNACCEPTABLE_CREDENTIAL", "Requested credential would not meet criteria for acceptability."),
        100: ("UNKNOWN_TOPIC_ID", "This server does not host this topic ID."),
        103: ("INCONSISTENT_TOPIC_ID", "The log's topic ID did not match the topic ID in the request."),
    ]
}

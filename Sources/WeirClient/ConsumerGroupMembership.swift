import KafkaProtocol
import NIOConcurrencyHelpers
import NIOCore

/// Membership of one consumer group through the classic group protocol, as Kafka's consumer
/// does it: FindCoordinator, JoinGroup (protocol type "consumer", assignor "range"), and
/// SyncGroup, where the elected leader sends the range assignment of every member; then a
/// background heartbeat, OffsetFetch/OffsetCommit for positions, and LeaveGroup at the end.
///
/// All group requests use one dedicated connection to the coordinator, so that heartbeats
/// never wait behind a long-polling Fetch. The heartbeat task only raises `needsRejoin`;
/// the owner decides when to rejoin (after committing what it has processed).
public final class ConsumerGroupMembership {
    public struct Options: Sendable {
        public var sessionTimeoutMs: Int32 = 10000
        public var rebalanceTimeoutMs: Int32 = 30000
        public var heartbeatIntervalMs: Int = 3000
        public init() {}
    }

    public let client: KafkaClient
    public let groupId: String
    public let topics: [String]
    public let options: Options
    public private(set) var memberId = ""
    public private(set) var generationId: Int32 = -1
    public private(set) var assignment: [TopicPartition] = []

    private var coordinator: KafkaConnection?
    private var heartbeat: Task<Void, Never>?
    private let rejoin = NIOLockedValueBox(false)

    public init(client: KafkaClient, groupId: String, topics: [String], options: Options = Options()) {
        self.client = client
        self.groupId = groupId
        self.topics = topics
        self.options = options
    }

    /// Set when the coordinator asks for a rebalance (or forgot this member).
    public var needsRejoin: Bool { rejoin.withLockedValue { $0 } }

    /// Joins (or rejoins) the group and returns this member's partitions.
    @discardableResult
    public func join() async throws -> [TopicPartition] {
        heartbeat?.cancel()
        heartbeat = nil
        rejoin.withLockedValue { $0 = false }
        var attempts = 0
        while true {
            attempts += 1
            do {
                let partitions = try await joinOnce()
                startHeartbeat()
                return partitions
            } catch let error as KafkaError where attempts < 20 && Self.rejoinable.contains(error.code) {
                if error.code == ErrorCode.unknownMemberId.rawValue { memberId = "" }
                if error.code == ErrorCode.notCoordinator.rawValue || error.code == ErrorCode.coordinatorNotAvailable.rawValue {
                    await dropCoordinator()
                }
                try await Task.sleep(nanoseconds: 200_000_000)
            } catch where attempts < 20 && !(error is KafkaError) && !(error is ProtocolError) {
                // The coordinator connection broke (e.g. a broker restart): find it again.
                await dropCoordinator()
                try await Task.sleep(nanoseconds: 500_000_000)
            }
        }
    }

    /// Errors after which joining again is the cure.
    static let rejoinable: Set<Int16> = [
        ErrorCode.rebalanceInProgress.rawValue, ErrorCode.illegalGeneration.rawValue, ErrorCode.unknownMemberId.rawValue,
        ErrorCode.notCoordinator.rawValue, ErrorCode.coordinatorNotAvailable.rawValue,
        ErrorCode.coordinatorLoadInProgress.rawValue,
    ]

    private func joinOnce() async throws -> [TopicPartition] {
        let connection = try await coordinatorConnection()
        var join = JoinGroupRequest()
        join.groupId = groupId
        join.sessionTimeoutMs = options.sessionTimeoutMs
        join.rebalanceTimeoutMs = options.rebalanceTimeoutMs
        join.memberId = memberId
        join.protocolType = ConsumerProtocol.protocolType
        join.protocols = [.init(name: RangeAssignor.name, metadata: ConsumerProtocol.subscriptionBytes(topics: topics))]
        let joinVersion = try client.version(for: JoinGroupRequest.self)
        let joinWait = Double(options.rebalanceTimeoutMs) / 1000 + 30
        var joined = try await withDeadline(joinWait, "JoinGroup") { [join] in try await connection.send(join, version: joinVersion) }
        if joined.errorCode == ErrorCode.memberIdRequired.rawValue {
            // KIP-394: the first JoinGroup only hands out a member id.
            memberId = joined.memberId
            join.memberId = joined.memberId
            joined = try await withDeadline(joinWait, "JoinGroup") { [join] in try await connection.send(join, version: joinVersion) }
        }
        try KafkaError.check(joined.errorCode, context: "joining group '\(groupId)'")
        memberId = joined.memberId
        generationId = joined.generationId

        var sync = SyncGroupRequest()
        sync.groupId = groupId
        sync.generationId = joined.generationId
        sync.memberId = joined.memberId
        sync.protocolType = ConsumerProtocol.protocolType
        sync.protocolName = joined.protocolName ?? RangeAssignor.name
        if joined.leader == joined.memberId {
            sync.assignments = try await leaderAssignments(joined.members)
        }
        let syncVersion = try client.version(for: SyncGroupRequest.self)
        let synced = try await withDeadline(joinWait, "SyncGroup") { [sync] in try await connection.send(sync, version: syncVersion) }
        try KafkaError.check(synced.errorCode, context: "syncing group '\(groupId)'")
        assignment = try ConsumerProtocol.assignment(from: synced.assignment).sorted()
        return assignment
    }

    /// As the leader: the range assignment of every member's subscription.
    private func leaderAssignments(_ members: [JoinGroupResponse.JoinGroupResponseMember]) async throws
        -> [SyncGroupRequest.SyncGroupRequestAssignment] {
        var subscriptions: [String: [String]] = [:]
        for member in members {
            // A member whose metadata cannot be read gets nothing rather than failing the group.
            subscriptions[member.memberId] = (try? ConsumerProtocol.subscription(from: member.metadata).topics) ?? []
        }
        var counts: [String: Int32] = [:]
        let wanted = Set(subscriptions.values.flatMap { $0 }).sorted()
        if !wanted.isEmpty {
            let metadata = try await client.metadata(topics: wanted)
            for topic in metadata.topics where topic.errorCode == 0 {
                if let name = topic.name { counts[name] = Int32(clamping: topic.partitions.count) }
            }
        }
        let plan = RangeAssignor.assign(subscriptions: subscriptions, partitionCounts: counts)
        return plan.keys.sorted().map {
            SyncGroupRequest.SyncGroupRequestAssignment(memberId: $0, assignment: ConsumerProtocol.assignmentBytes(plan[$0] ?? [:]))
        }
    }

    private func startHeartbeat() {
        guard let connection = coordinator else { return }
        let request = HeartbeatRequest(groupId: groupId, generationId: generationId, memberId: memberId)
        let version = (try? client.version(for: HeartbeatRequest.self)) ?? 0
        let interval = UInt64(options.heartbeatIntervalMs) * 1_000_000
        let rejoin = self.rejoin
        heartbeat = Task {
            while !Task.isCancelled {
                try? await Task.sleep(nanoseconds: interval)
                if Task.isCancelled { return }
                guard let response = try? await withDeadline(10, "Heartbeat", { [request] in try await connection.send(request, version: version) }) else {
                    // A closed coordinator connection needs a rejoin; a slow answer does not.
                    if !connection.isActive {
                        rejoin.withLockedValue { $0 = true }
                        return
                    }
                    continue
                }
                if response.errorCode != 0 && response.errorCode != ErrorCode.coordinatorLoadInProgress.rawValue {
                    rejoin.withLockedValue { $0 = true }
                    return
                }
            }
        }
    }

    /// Committed offsets of `partitions` (absent: nothing committed).
    public func committed(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        let connection = try await coordinatorConnection()
        var request = OffsetFetchRequest()
        request.groupId = groupId
        let byTopic = Dictionary(grouping: partitions, by: { $0.topic })
        request.topics = byTopic.keys.sorted().map {
            OffsetFetchRequest.OffsetFetchRequestTopic(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition))
        }
        let version = try client.version(for: OffsetFetchRequest.self)
        let response = try await withDeadline(30, "OffsetFetch") { [request] in try await connection.send(request, version: version) }
        try KafkaError.check(response.errorCode, context: "fetching offsets of group '\(groupId)'")
        var result: [TopicPartition: Int64] = [:]
        for topic in response.topics {
            for p in topic.partitions {
                try KafkaError.check(p.errorCode, context: "fetching the offset of \(topic.name)-\(p.partitionIndex)")
                if p.committedOffset >= 0 { result[TopicPartition(topic.name, p.partitionIndex)] = p.committedOffset }
            }
        }
        return result
    }

    /// Commits `offsets` (the next offset to consume, per partition) for this generation.
    public func commit(_ offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        let connection = try await coordinatorConnection()
        var request = OffsetCommitRequest()
        request.groupId = groupId
        request.generationIdOrMemberEpoch = generationId
        request.memberId = memberId
        let byTopic = Dictionary(grouping: offsets.keys, by: { $0.topic })
        request.topics = byTopic.keys.sorted().map { topic in
            OffsetCommitRequest.OffsetCommitRequestTopic(name: topic, partitions: byTopic[topic]!.sorted().map {
                OffsetCommitRequest.OffsetCommitRequestPartition(partitionIndex: $0.partition, committedOffset: offsets[$0]!)
            })
        }
        let version = try client.version(for: OffsetCommitRequest.self)
        let response = try await withDeadline(30, "OffsetCommit") { [request] in try await connection.send(request, version: version) }
        for topic in response.topics {
            for p in topic.partitions {
                try KafkaError.check(p.errorCode, context: "committing the offset of \(topic.name)-\(p.partitionIndex)")
            }
        }
    }

    /// Leaves the group (best effort) and closes the coordinator connection.
    public func leave() async {
        heartbeat?.cancel()
        heartbeat = nil
        if let connection = coordinator, !memberId.isEmpty {
            var request = LeaveGroupRequest()
            request.groupId = groupId
            request.memberId = memberId
            request.members = [.init(memberId: memberId, reason: "the consumer is being closed")]
            if let version = try? client.version(for: LeaveGroupRequest.self) {
                _ = try? await withDeadline(5, "LeaveGroup") { [request] in try await connection.send(request, version: version) }
            }
        }
        memberId = ""
        generationId = -1
        assignment = []
        await dropCoordinator()
    }

    private func coordinatorConnection() async throws -> KafkaConnection {
        if let coordinator, coordinator.isActive { return coordinator }
        var request = FindCoordinatorRequest()
        request.key = groupId
        request.keyType = 0
        request.coordinatorKeys = [groupId]
        let client = self.client
        for attempt in 0 ..< 30 {
            let response = try await withDeadline(30, "FindCoordinator") { [request] in try await client.send(request) }
            // v4+ answers in `coordinators`; older versions in the top-level fields.
            let entry = response.coordinators.first
            let code = entry?.errorCode ?? response.errorCode
            if code == 0 {
                let host = entry?.host ?? response.host
                let port = Int(entry?.port ?? response.port)
                let connection = try await KafkaConnection.connect(host: host, port: port, clientId: client.clientId, security: client.security)
                coordinator = connection
                return connection
            }
            let error = KafkaError(code: code, message: entry?.errorMessage ?? response.errorMessage,
                                   context: "finding the coordinator of group '\(groupId)'")
            guard error.isRetriable, attempt < 29 else { throw error }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw KafkaError(.coordinatorNotAvailable, context: "group '\(groupId)'")
    }

    private func dropCoordinator() async {
        await coordinator?.close()
        coordinator = nil
    }
}

import KafkaProtocol
import NIOCore

public struct PartitionDescription: Sendable, Equatable {
    public var partition: Int32
    public var leader: Int32
    public var replicas: [Int32]
    public var isr: [Int32]
}

public struct TopicDescription: Sendable, Equatable {
    public var name: String
    public var topicId: KafkaUUID
    public var isInternal: Bool
    public var partitions: [PartitionDescription]
}

public struct ConfigEntry: Sendable, Equatable {
    public var name: String
    public var value: String?
    public var isDefault: Bool
    public var isReadOnly: Bool
    public var isSensitive: Bool
}

public struct ConsumerGroupListing: Sendable, Equatable {
    public var groupId: String
    public var protocolType: String
    public var state: String
}

public struct ConsumerGroupMemberDescription: Sendable, Equatable {
    public var memberId: String
    public var clientId: String
    public var host: String
    /// Decoded from the consumer protocol; empty for other protocol types.
    public var assignment: [TopicPartition]
}

public struct ConsumerGroupDescription: Sendable, Equatable {
    public var groupId: String
    public var state: String
    public var protocolType: String
    public var members: [ConsumerGroupMemberDescription]
}

/// Topic, config and group administration, as Kafka's AdminClient offers it to
/// kafka-topics.sh and kafka-consumer-groups.sh. Every call is bounded by `timeoutSeconds`.
/// Errors carry Kafka's error name and the broker's message (`KafkaError`).
public final class Admin {
    public let client: KafkaClient
    public var timeoutSeconds: Double = 30

    public init(client: KafkaClient) {
        self.client = client
    }

    func call<R: KafkaRequest>(_ request: R, to node: Int32? = nil) async throws -> R.Response {
        let client = self.client
        return try await withDeadline(timeoutSeconds, R.apiKey.name) { [request] in try await client.send(request, to: node) }
    }

    // MARK: topics

    /// Creates a topic; `partitions` / `replicationFactor` of -1 take the broker's defaults.
    /// Returns the new topic's id (zero when the broker's version does not report it).
    @discardableResult
    public func createTopic(_ name: String, partitions: Int32 = -1, replicationFactor: Int16 = -1,
                            configs: [(String, String)] = []) async throws -> KafkaUUID {
        var request = CreateTopicsRequest()
        request.timeoutMs = Int32(timeoutSeconds * 1000)
        request.topics = [.init(name: name, numPartitions: partitions, replicationFactor: replicationFactor,
                                configs: configs.map { .init(name: $0.0, value: $0.1) })]
        let response = try await call(request)
        guard let result = response.topics.first(where: { $0.name == name }) else {
            throw KafkaError(.unknownServerError, message: "CreateTopics did not answer for topic '\(name)'")
        }
        try KafkaError.check(result.errorCode, message: result.errorMessage)
        return result.topicId
    }

    public func deleteTopics(_ names: [String]) async throws {
        var request = DeleteTopicsRequest()
        request.timeoutMs = Int32(timeoutSeconds * 1000)
        // Versions up to 5 send names, 6+ the topic states: fill both, the encoder picks.
        request.topicNames = names
        request.topics = names.map { .init(name: $0) }
        let response = try await call(request)
        for result in response.responses {
            try KafkaError.check(result.errorCode, message: result.errorMessage)
        }
    }

    /// Every topic name, sorted.
    public func listTopics() async throws -> [String] {
        let metadata = try await client.metadata(topics: nil)
        return metadata.topics.compactMap(\.name).sorted()
    }

    /// Descriptions of `names` (nil: every topic), sorted by name. Unknown topics throw.
    public func describeTopics(_ names: [String]?) async throws -> [TopicDescription] {
        let metadata = try await client.metadata(topics: names)
        var out: [TopicDescription] = []
        for topic in metadata.topics {
            let name = topic.name ?? ""
            try KafkaError.check(topic.errorCode, context: "topic '\(name)'")
            out.append(TopicDescription(
                name: name, topicId: topic.topicId, isInternal: topic.isInternal,
                partitions: topic.partitions.sorted { $0.partitionIndex < $1.partitionIndex }.map {
                    PartitionDescription(partition: $0.partitionIndex, leader: $0.leaderId, replicas: $0.replicaNodes, isr: $0.isrNodes)
                }))
        }
        return out.sorted { $0.name < $1.name }
    }

    /// Grows `topic` to `count` partitions (CreatePartitions).
    public func createPartitions(_ topic: String, count: Int32) async throws {
        var request = CreatePartitionsRequest()
        request.timeoutMs = Int32(timeoutSeconds * 1000)
        request.topics = [.init(name: topic, count: count, assignments: nil)]
        let response = try await call(request)
        for result in response.results {
            try KafkaError.check(result.errorCode, message: result.errorMessage)
        }
    }

    // MARK: configs

    /// ConfigResource type of a topic, as DescribeConfigs and the AlterConfigs APIs number it.
    public static let topicResource: Int8 = 2
    /// DescribeConfigs `configSource` of a value nobody set.
    static let defaultConfigSource: Int8 = 5

    public func describeTopicConfigs(_ topic: String) async throws -> [ConfigEntry] {
        var request = DescribeConfigsRequest()
        request.resources = [.init(resourceType: Self.topicResource, resourceName: topic, configurationKeys: nil)]
        let version = try client.version(for: DescribeConfigsRequest.self)
        let response = try await call(request)
        guard let result = response.results.first else {
            throw KafkaError(.unknownServerError, message: "DescribeConfigs did not answer for topic '\(topic)'")
        }
        try KafkaError.check(result.errorCode, message: result.errorMessage, context: "topic '\(topic)'")
        return result.configs.map {
            // v0 has `isDefault`; from v1 on the source says it.
            ConfigEntry(name: $0.name, value: $0.value,
                        isDefault: version == 0 ? $0.isDefault : $0.configSource == Self.defaultConfigSource,
                        isReadOnly: $0.readOnly, isSensitive: $0.isSensitive)
        }.sorted { $0.name < $1.name }
    }

    /// IncrementalAlterConfigs on a topic: SET each of `set`, DELETE each of `delete`.
    public func alterTopicConfigs(_ topic: String, set: [(String, String)], delete: [String] = []) async throws {
        var request = IncrementalAlterConfigsRequest()
        request.resources = [.init(resourceType: Self.topicResource, resourceName: topic,
                                   configs: set.map { .init(name: $0.0, configOperation: 0, value: $0.1) }
                                       + delete.map { .init(name: $0, configOperation: 1, value: nil) })]
        let response = try await call(request)
        for result in response.responses {
            try KafkaError.check(result.errorCode, message: result.errorMessage, context: "topic '\(topic)'")
        }
    }

    // MARK: groups

    /// Groups known to every broker, sorted by id.
    public func listGroups() async throws -> [ConsumerGroupListing] {
        let metadata = try await client.metadata(topics: [])
        var groups: [String: ConsumerGroupListing] = [:]
        for broker in metadata.brokers.map(\.nodeId).sorted() {
            let response = try await call(ListGroupsRequest(), to: broker)
            try KafkaError.check(response.errorCode, context: "listing groups on broker \(broker)")
            for g in response.groups {
                groups[g.groupId] = ConsumerGroupListing(groupId: g.groupId, protocolType: g.protocolType, state: g.groupState)
            }
        }
        return groups.values.sorted { $0.groupId < $1.groupId }
    }

    /// The broker coordinating `group`.
    public func coordinator(of group: String) async throws -> Int32 {
        var request = FindCoordinatorRequest()
        request.key = group
        request.keyType = 0
        request.coordinatorKeys = [group]
        for attempt in 0 ..< 20 {
            let response = try await call(request)
            let entry = response.coordinators.first
            let code = entry?.errorCode ?? response.errorCode
            if code == 0 { return entry?.nodeId ?? response.nodeId }
            let error = KafkaError(code: code, message: entry?.errorMessage ?? response.errorMessage, context: "group '\(group)'")
            guard error.isRetriable, attempt < 19 else { throw error }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        throw KafkaError(.coordinatorNotAvailable, context: "group '\(group)'")
    }

    public func describeGroup(_ group: String) async throws -> ConsumerGroupDescription {
        let node = try await coordinator(of: group)
        let response = try await call(DescribeGroupsRequest(groups: [group]), to: node)
        guard let g = response.groups.first(where: { $0.groupId == group }) ?? response.groups.first else {
            throw KafkaError(.unknownServerError, message: "DescribeGroups did not answer for group '\(group)'")
        }
        try KafkaError.check(g.errorCode, context: "group '\(group)'")
        let isConsumer = g.protocolType == ConsumerProtocol.protocolType
        return ConsumerGroupDescription(
            groupId: g.groupId, state: g.groupState, protocolType: g.protocolType,
            members: g.members.map { m in
                ConsumerGroupMemberDescription(
                    memberId: m.memberId, clientId: m.clientId, host: m.clientHost,
                    assignment: isConsumer ? ((try? ConsumerProtocol.assignment(from: m.memberAssignment)) ?? []) : [])
            })
    }

    /// Committed offsets of `group` (every partition it has committed, when `partitions` is nil).
    public func committedOffsets(_ group: String, partitions: [TopicPartition]? = nil) async throws -> [TopicPartition: Int64] {
        let node = try await coordinator(of: group)
        var request = OffsetFetchRequest()
        request.groupId = group
        if let partitions {
            let byTopic = Dictionary(grouping: partitions, by: { $0.topic })
            request.topics = byTopic.keys.sorted().map { .init(name: $0, partitionIndexes: byTopic[$0]!.map(\.partition)) }
        } else {
            request.topics = nil
        }
        let response = try await call(request, to: node)
        try KafkaError.check(response.errorCode, context: "group '\(group)'")
        var out: [TopicPartition: Int64] = [:]
        for topic in response.topics {
            for p in topic.partitions where p.errorCode == 0 && p.committedOffset >= 0 {
                out[TopicPartition(topic.name, p.partitionIndex)] = p.committedOffset
            }
        }
        return out
    }

    /// Deletes groups; returns the error per group that could not be deleted.
    public func deleteGroups(_ groups: [String]) async throws -> [String: KafkaError] {
        var failures: [String: KafkaError] = [:]
        for group in groups {
            do {
                let node = try await coordinator(of: group)
                let response = try await call(DeleteGroupsRequest(groupsNames: [group]), to: node)
                for result in response.results where result.errorCode != 0 {
                    failures[result.groupId] = KafkaError(code: result.errorCode)
                }
            } catch let error as KafkaError {
                failures[group] = error
            }
        }
        return failures
    }

    /// Log end offsets (ListOffsets latest) of `partitions`.
    public func endOffsets(_ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let consumer = Consumer(client: client)
        return try await consumer.listOffsets(partitions, timestamp: Consumer.latestTimestamp)
    }
}

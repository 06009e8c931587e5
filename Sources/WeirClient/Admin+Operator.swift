import KafkaProtocol

/// One config of a topic or broker as DescribeConfigs (v1+) reports it, with its source and
/// synonyms: what kafka-configs.sh --describe prints.
public struct ConfigDescription: Sendable, Equatable {
    public struct Synonym: Sendable, Equatable {
        public var name: String
        public var value: String?
        public var source: Int8
    }
    public var name: String
    public var value: String?
    public var source: Int8
    public var isReadOnly: Bool
    public var isSensitive: Bool
    public var synonyms: [Synonym]

    /// DescribeConfigs' `configSource` numbers, named as Kafka's `ConfigEntry.ConfigSource`.
    public static let dynamicTopic: Int8 = 1
    public static let dynamicBroker: Int8 = 2
    public static let dynamicDefaultBroker: Int8 = 3
    public static let staticBroker: Int8 = 4
    public static let defaultConfig: Int8 = 5

    public static func sourceName(_ source: Int8) -> String {
        switch source {
        case 1: return "DYNAMIC_TOPIC_CONFIG"
        case 2: return "DYNAMIC_BROKER_CONFIG"
        case 3: return "DYNAMIC_DEFAULT_BROKER_CONFIG"
        case 4: return "STATIC_BROKER_CONFIG"
        case 5: return "DEFAULT_CONFIG"
        case 6: return "DYNAMIC_BROKER_LOGGER_CONFIG"
        default: return "UNKNOWN"
        }
    }
}

/// What OffsetDelete answered: a group-level error, or one per partition (nil: deleted).
public struct OffsetDeleteResult: Sendable, Equatable {
    public var groupError: KafkaError?
    public var partitions: [TopicPartition: KafkaError?]
}

// What kafka-configs.sh, kafka-delete-records.sh and kafka-consumer-groups.sh --reset-offsets /
// --delete-offsets ask of Kafka's AdminClient.
extension Admin {
    /// ConfigResource type of a broker (its name is the node id, "" for the cluster default).
    public static let brokerResource: Int8 = 4

    /// DescribeConfigs with synonyms, sorted by name.
    public func describeConfigs(resourceType: Int8, name: String) async throws -> [ConfigDescription] {
        var request = DescribeConfigsRequest()
        request.resources = [.init(resourceType: resourceType, resourceName: name, configurationKeys: nil)]
        request.includeSynonyms = true
        let version = try client.version(for: DescribeConfigsRequest.self)
        let response = try await call(request)
        let what = resourceType == Self.topicResource ? "topic '\(name)'" : "broker '\(name)'"
        guard let result = response.results.first else {
            throw KafkaError(.unknownServerError, message: "DescribeConfigs did not answer for \(what)")
        }
        try KafkaError.check(result.errorCode, message: result.errorMessage, context: what)
        return result.configs.map { c in
            // v0 has no source: a default is DEFAULT_CONFIG, anything else the resource's own.
            let source = version == 0
                ? (c.isDefault ? ConfigDescription.defaultConfig
                    : resourceType == Self.topicResource ? ConfigDescription.dynamicTopic : ConfigDescription.staticBroker)
                : c.configSource
            return ConfigDescription(name: c.name, value: c.value, source: source, isReadOnly: c.readOnly,
                                     isSensitive: c.isSensitive,
                                     synonyms: c.synonyms.map { .init(name: $0.name, value: $0.value, source: $0.source) })
        }.sorted { $0.name < $1.name }
    }

    /// The node ids of the cluster's brokers, sorted.
    public func brokerIds() async throws -> [Int32] {
        try await client.metadata(topics: []).brokers.map(\.nodeId).sorted()
    }

    /// OffsetCommit as an admin: generation -1 and no member id, which the coordinator accepts
    /// only while the group has no members. Throws the first partition error.
    public func commitOffsets(_ group: String, _ offsets: [TopicPartition: Int64]) async throws {
        guard !offsets.isEmpty else { return }
        let node = try await coordinator(of: group)
        var request = OffsetCommitRequest()
        request.groupId = group
        request.generationIdOrMemberEpoch = -1
        request.memberId = ""
        let byTopic = Dictionary(grouping: offsets.keys, by: \.topic)
        request.topics = byTopic.keys.sorted().map { topic in
            .init(name: topic, partitions: byTopic[topic]!.sorted().map {
                .init(partitionIndex: $0.partition, committedOffset: offsets[$0]!)
            })
        }
        let response = try await call(request, to: node)
        for topic in response.topics {
            for p in topic.partitions {
                try KafkaError.check(p.errorCode, context: "committing the offset of \(topic.name)-\(p.partitionIndex) for group '\(group)'")
            }
        }
    }

    /// OffsetDelete: removes the group's commits of `partitions`.
    public func deleteOffsets(_ group: String, partitions: [TopicPartition]) async throws -> OffsetDeleteResult {
        let node = try await coordinator(of: group)
        var request = OffsetDeleteRequest()
        request.groupId = group
        let byTopic = Dictionary(grouping: partitions, by: \.topic)
        request.topics = byTopic.keys.sorted().map { topic in
            .init(name: topic, partitions: byTopic[topic]!.sorted().map { .init(partitionIndex: $0.partition) })
        }
        let response = try await call(request, to: node)
        if response.errorCode != 0 {
            return OffsetDeleteResult(groupError: KafkaError(code: response.errorCode), partitions: [:])
        }
        var out: [TopicPartition: KafkaError?] = [:]
        for topic in response.topics {
            for p in topic.partitions {
                out[TopicPartition(topic.name, p.partitionIndex)] = p.errorCode == 0 ? nil : KafkaError(code: p.errorCode)
            }
        }
        return OffsetDeleteResult(groupError: nil, partitions: out)
    }

    /// DeleteRecords, sent to each partition's leader: the new low watermark per partition,
    /// or its error.
    public func deleteRecords(_ offsets: [TopicPartition: Int64]) async throws -> [TopicPartition: Result<Int64, KafkaError>] {
        var byLeader: [Int32: [TopicPartition]] = [:]
        var out: [TopicPartition: Result<Int64, KafkaError>] = [:]
        var leaders: [String: [Int32: Int32]] = [:]
        for tp in offsets.keys.sorted() {
            if leaders[tp.topic] == nil {
                do {
                    leaders[tp.topic] = try await client.partitions(of: tp.topic)
                } catch let error as KafkaError {
                    leaders[tp.topic] = [:]
                    out[tp] = .failure(KafkaError(code: error.code))
                    continue
                }
            }
            guard let leader = leaders[tp.topic]?[tp.partition] else {
                out[tp] = .failure(KafkaError(.unknownTopicOrPartition))
                continue
            }
            byLeader[leader, default: []].append(tp)
        }
        for (leader, tps) in byLeader.sorted(by: { $0.key < $1.key }) {
            var request = DeleteRecordsRequest()
            request.timeoutMs = Int32(timeoutSeconds * 1000)
            let byTopic = Dictionary(grouping: tps, by: \.topic)
            request.topics = byTopic.keys.sorted().map { topic in
                .init(name: topic, partitions: byTopic[topic]!.map { .init(partitionIndex: $0.partition, offset: offsets[$0]!) })
            }
            let response = try await call(request, to: leader)
            for topic in response.topics {
                for p in topic.partitions {
                    let tp = TopicPartition(topic.name, p.partitionIndex)
                    out[tp] = p.errorCode == 0 ? .success(p.lowWatermark) : .failure(KafkaError(code: p.errorCode))
                }
            }
        }
        for tp in offsets.keys where out[tp] == nil {
            out[tp] = .failure(KafkaError(.unknownServerError, message: "DeleteRecords did not answer for \(tp)"))
        }
        return out
    }

    /// ListOffsets for `timestamp` (-1 latest, -2 earliest, -3 max timestamp, or a time in
    /// ms): the offset per partition, nil where the broker found none (no record at or after
    /// the time, an empty partition for -3).
    public func offsets(_ partitions: [TopicPartition], at timestamp: Int64) async throws -> [TopicPartition: Int64?] {
        guard !partitions.isEmpty else { return [:] }
        let found = try await Consumer(client: client).listOffsets(partitions, timestamp: timestamp)
        return found.mapValues { $0 >= 0 ? $0 : nil }
    }
}

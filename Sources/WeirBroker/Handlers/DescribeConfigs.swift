import KafkaProtocol
import WeirStorage

/// DescribeConfigs (32): every topic config with its value and source (topic override or
/// default), or the broker's own settings.
struct DescribeConfigsHandler: ApiHandler {
    typealias Request = DescribeConfigsRequest
    let config: BrokerConfig
    let store: LogStore
    /// DescribeConfigs on the topic (TOPIC_AUTHORIZATION_FAILED) or the cluster, for broker
    /// configs (CLUSTER_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...4 }

    static let topicResource: Int8 = 2
    static let brokerResource: Int8 = 4

    func handle(_ request: DescribeConfigsRequest, context: RequestContext) async throws -> DescribeConfigsResponse? {
        var response = DescribeConfigsResponse()
        response.results = request.resources.map { resource in
            var result = DescribeConfigsResponse.DescribeConfigsResult(resourceType: resource.resourceType, resourceName: resource.resourceName)
            let entries: [DescribeConfigsResponse.DescribeConfigsResourceResult]
            switch resource.resourceType {
            case Self.topicResource:
                guard authorizer.authorize(context, .describeConfigs, .topic, resource.resourceName) else {
                    result.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    return result
                }
                guard let topic = store.topic(named: resource.resourceName) else {
                    result.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    result.errorMessage = "Topic \(resource.resourceName) does not exist."
                    return result
                }
                entries = topicEntries(topic, synonyms: request.includeSynonyms)
            case Self.brokerResource:
                guard authorizer.authorize(context, .describeConfigs, .cluster, AclResource.clusterName) else {
                    result.errorCode = ErrorCode.clusterAuthorizationFailed.rawValue
                    return result
                }
                guard resource.resourceName.isEmpty || resource.resourceName == String(config.nodeId) else {
                    result.errorCode = ErrorCode.invalidRequest.rawValue
                    result.errorMessage = "Broker \(resource.resourceName) is not this broker (\(config.nodeId))"
                    return result
                }
                entries = brokerEntries()
            default:
                result.errorCode = ErrorCode.invalidRequest.rawValue
                result.errorMessage = "Unsupported resource type \(resource.resourceType)"
                return result
            }
            let keys = resource.configurationKeys.map(Set.init)
            result.configs = entries.filter { keys?.contains($0.name) ?? true }
            return result
        }
        return response
    }

    private func topicEntries(_ topic: TopicRecord, synonyms: Bool) -> [DescribeConfigsResponse.DescribeConfigsResourceResult] {
        TopicConfigs.all.map { def in
            let explicit = topic.configs[def.name]
            let defaultValue = def.defaultValue(config)
            var e = DescribeConfigsResponse.DescribeConfigsResourceResult(
                name: def.name, value: explicit ?? defaultValue, readOnly: false, isDefault: explicit == nil,
                configSource: explicit == nil ? ConfigSource.defaultConfig : ConfigSource.dynamicTopic, isSensitive: false)
            e.configType = Self.configType(def.kind)
            e.documentation = def.noEffect
            if synonyms {
                if let explicit { e.synonyms.append(.init(name: def.name, value: explicit, source: ConfigSource.dynamicTopic)) }
                if let property = def.brokerProperty {
                    e.synonyms.append(.init(name: property, value: defaultValue, source: ConfigSource.defaultConfig))
                }
            }
            return e
        }
    }

    private func brokerEntries() -> [DescribeConfigsResponse.DescribeConfigsResourceResult] {
        let c = config
        let values: [(String, String)] = [
            ("node.id", String(c.nodeId)), ("broker.id", String(c.nodeId)),
            ("advertised.listeners", c.advertisedListenersText),
            ("num.partitions", String(c.numPartitions)), ("default.replication.factor", String(c.defaultReplicationFactor)),
            ("auto.create.topics.enable", String(c.autoCreateTopics)), ("delete.topic.enable", String(c.deleteTopicEnable)),
            ("message.max.bytes", String(c.messageMaxBytes)), ("socket.request.max.bytes", String(c.socketRequestMaxBytes)),
            ("log.message.timestamp.type", c.logAppendTime ? "LogAppendTime" : "CreateTime"),
            ("log.retention.ms", String(c.retentionMs)), ("log.retention.bytes", String(c.retentionBytes)),
            ("log.cleanup.policy", c.cleanupPolicy), ("log.retention.check.interval.ms", String(c.retentionCheckIntervalMs)),
            ("group.initial.rebalance.delay.ms", String(c.groupInitialRebalanceDelayMs)),
            ("group.min.session.timeout.ms", String(c.groupMinSessionTimeoutMs)),
            ("group.max.session.timeout.ms", String(c.groupMaxSessionTimeoutMs)),
            ("offsets.retention.minutes", String(c.offsetsRetentionMinutes)),
        ]
        return values.map { name, value in
            .init(name: name, value: value, readOnly: true, isDefault: false, configSource: ConfigSource.staticBroker, isSensitive: false)
        }
    }

    static func configType(_ kind: TopicConfigDefinition.Kind) -> Int8 {
        switch kind {
        case .bool: return 1
        case .string: return 2
        case .int: return 3
        case .long: return 5
        case .double: return 6
        case .list: return 7
        }
    }
}

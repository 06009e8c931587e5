import KafkaProtocol
import WeirStorage

/// CreateTopics (19): names, partition counts, replication factor against the live brokers,
/// configs; `validate_only` checks everything and creates nothing.
struct CreateTopicsHandler: ApiHandler {
    typealias Request = CreateTopicsRequest
    let config: BrokerConfig
    let topics: TopicManager
    let io: IOPool
    /// Create on the cluster or on the topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// In a cluster, topics are created through etcd and placed by the controller.
    var cluster: (any ClusterView)? = nil
    var versions: ClosedRange<Int16> { 0...7 }

    func handle(_ request: CreateTopicsRequest, context: RequestContext) async throws -> CreateTopicsResponse? {
        if let cluster, cluster.isClustered { return await handleInCluster(request, cluster: cluster, context: context) }
        let topics = self.topics
        let config = self.config
        var response = CreateTopicsResponse()
        let clusterCreate = authorizer.authorize(context, .create, .cluster, AclResource.clusterName)
        let denied = Set(request.topics.map(\.name).filter { !clusterCreate && !authorizer.authorize(context, .create, .topic, $0) })
        response.topics = try await io.run {
            var seen: [String: Int] = [:]
            for t in request.topics { seen[t.name, default: 0] += 1 }
            return request.topics.map { t in
                var result = CreateTopicsResponse.CreatableTopicResult(name: t.name)
                let configs = Dictionary(t.configs.compactMap { c in c.value.map { (c.name, $0) } }, uniquingKeysWith: { _, last in last })
                do {
                    if denied.contains(t.name) {
                        throw TopicManager.Failure(code: .topicAuthorizationFailed, message: "Authorization failed.")
                    }
                    if seen[t.name, default: 0] > 1 {
                        throw TopicManager.Failure(code: .invalidRequest, message: "Duplicate topic name \(t.name) in the request")
                    }
                    if !t.assignments.isEmpty {
                        // Manual assignment: accept only this broker, and take the partition count from it.
                        guard t.numPartitions == -1, t.replicationFactor == -1,
                              t.assignments.allSatisfy({ $0.brokerIds == [config.nodeId] }) else {
                            throw TopicManager.Failure(code: .invalidReplicaAssignment,
                                                       message: "Replica assignment must name only broker \(config.nodeId)")
                        }
                    }
                    let partitions = t.assignments.isEmpty ? t.numPartitions : Int32(t.assignments.count)
                    let replication = t.assignments.isEmpty ? t.replicationFactor : 1
                    let record: TopicRecord?
                    if request.validateOnly {
                        let (p, _) = try topics.checkCreate(name: t.name, partitions: partitions, replicationFactor: replication, configs: configs)
                        result.numPartitions = p
                        record = nil
                    } else {
                        record = try topics.create(name: t.name, partitions: partitions, replicationFactor: replication, configs: configs)
                        result.numPartitions = record!.partitionCount
                        result.topicId = record!.id
                    }
                    result.replicationFactor = 1
                    result.configs = Self.describedConfigs(record?.configs ?? configs, config: config)
                } catch {
                    let answer = TopicManager.Failure.answer(for: error)
                    result.errorCode = answer.code.rawValue
                    result.errorMessage = answer.message
                }
                return result
            }
        }
        return response
    }
}

extension CreateTopicsHandler {
    /// Every topic config with its value and source, as CreateTopics v5+ reports them.
    static func describedConfigs(_ explicit: [String: String],
                                 config: BrokerConfig) -> [CreateTopicsResponse.CreatableTopicConfigs] {
        TopicConfigs.all.map { def in
            let value = explicit[def.name]
            return .init(name: def.name, value: value ?? def.defaultValue(config), readOnly: false,
                         configSource: value == nil ? ConfigSource.defaultConfig : ConfigSource.dynamicTopic,
                         isSensitive: false)
        }
    }

    /// In a cluster: each topic written to etcd, answered once the controller has placed it.
    func handleInCluster(_ request: CreateTopicsRequest, cluster: any ClusterView,
                         context: RequestContext) async -> CreateTopicsResponse {
        var response = CreateTopicsResponse()
        let clusterCreate = authorizer.authorize(context, .create, .cluster, AclResource.clusterName)
        var seen: [String: Int] = [:]
        for t in request.topics { seen[t.name, default: 0] += 1 }
        for t in request.topics {
            var result = CreateTopicsResponse.CreatableTopicResult(name: t.name)
            let configs = Dictionary(t.configs.compactMap { c in c.value.map { (c.name, $0) } }, uniquingKeysWith: { _, last in last })
            do {
                guard clusterCreate || authorizer.authorize(context, .create, .topic, t.name) else {
                    throw TopicManager.Failure(code: .topicAuthorizationFailed, message: "Authorization failed.")
                }
                guard seen[t.name, default: 0] == 1 else {
                    throw TopicManager.Failure(code: .invalidRequest, message: "Duplicate topic name \(t.name) in the request")
                }
                guard t.assignments.isEmpty else {
                    throw TopicManager.Failure(code: .invalidReplicaAssignment,
                                               message: "Manual replica assignment is not supported by a Weir cluster yet")
                }
                let created = try await cluster.createTopic(name: t.name, partitions: t.numPartitions,
                                                            replicationFactor: t.replicationFactor, configs: configs,
                                                            validateOnly: request.validateOnly)
                result.numPartitions = created.partitions
                result.replicationFactor = created.replicationFactor
                if !request.validateOnly { result.topicId = created.id }
                result.configs = Self.describedConfigs(configs, config: config)
            } catch {
                let answer = TopicManager.Failure.answer(for: error)
                result.errorCode = answer.code.rawValue
                result.errorMessage = answer.message
            }
            response.topics.append(result)
        }
        return response
    }
}

/// Where a config value comes from (DescribeConfigs' `config_source`).
enum ConfigSource {
    static let dynamicTopic: Int8 = 1
    static let staticBroker: Int8 = 4
    static let defaultConfig: Int8 = 5
}

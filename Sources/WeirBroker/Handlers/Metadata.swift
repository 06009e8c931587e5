import KafkaProtocol
import WeirStorage

/// Metadata (3): brokers, and topics with their partitions (leader, replicas, ISR). On a single
/// broker that is this broker and its store's topics; in a cluster, the cluster's view.
/// Unknown topics are created here when `auto.create.topics.enable` and the client allow it.
struct MetadataHandler: ApiHandler {
    typealias Request = MetadataRequest
    let config: BrokerConfig
    let store: LogStore
    let topics: TopicManager
    let io: IOPool
    /// Topics the principal may not Describe are left out of "all topics" and answered
    /// TOPIC_AUTHORIZATION_FAILED when named; auto-creation needs Create on the cluster or topic.
    var authorizer: Authorizer = .allowAll
    /// The brokers, the controller and, in a cluster, the topics and their placement.
    var cluster: any ClusterView
    var versions: ClosedRange<Int16> { 0...11 }

    func handle(_ request: MetadataRequest, context: RequestContext) async throws -> MetadataResponse? {
        let config = self.config
        var response = MetadataResponse()
        response.brokers = cluster.brokers().compactMap { b in
            b.endpoint(for: context.listenerName).map { .init(nodeId: b.id, host: $0.host, port: $0.port, rack: b.rack) }
        }
        response.clusterId = config.clusterId
        response.controllerId = cluster.controllerId()
        if let clusterTopics = cluster.topics() {
            return try await describeCluster(request, topics: clusterTopics, response: response, context: context)
        }

        // v0: an empty list means all topics; v1+: null means all, empty means none.
        let wanted: [String]?
        if let topics = request.topics, !(context.apiVersion == 0 && topics.isEmpty) {
            wanted = topics.compactMap(\.name)
        } else {
            wanted = nil
        }
        guard let wanted else {
            response.topics = store.topics().sorted { $0.name < $1.name }
                .filter { authorizer.authorize(context, .describe, .topic, $0.name) }.map { describe($0) }
            return response
        }
        let autoCreate = config.autoCreateTopics && (context.apiVersion < 4 || request.allowAutoTopicCreation)
        var described: [MetadataResponse.MetadataResponseTopic] = []
        for name in wanted {
            guard authorizer.authorize(context, .describe, .topic, name) else {
                described.append(.init(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name))
                continue
            }
            if let record = store.topic(named: name) {
                described.append(describe(record))
                continue
            }
            guard autoCreate else {
                described.append(.init(errorCode: ErrorCode.unknownTopicOrPartition.rawValue, name: name))
                continue
            }
            guard authorizer.authorize(context, .create, .cluster, AclResource.clusterName)
                    || authorizer.authorize(context, .create, .topic, name) else {
                described.append(.init(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name))
                continue
            }
            do {
                let record = try await io.run { [topics] in
                    try topics.create(name: name, partitions: -1, replicationFactor: -1, configs: [:])
                }
                described.append(describe(record))
            } catch let failure as TopicManager.Failure {
                // A racing creation by another client is fine: describe what exists.
                if failure.code == .topicAlreadyExists, let record = store.topic(named: name) {
                    described.append(describe(record))
                } else {
                    described.append(.init(errorCode: failure.code.rawValue, name: name))
                }
            }
        }
        response.topics = described
        return response
    }

    /// The cluster's answer: its placed topics (the offsets topic marked internal).
    private func describeCluster(_ request: MetadataRequest, topics clusterTopics: [ClusterTopic],
                                 response: MetadataResponse, context: RequestContext) async throws -> MetadataResponse {
        var response = response
        let byName = Dictionary(uniqueKeysWithValues: clusterTopics.map { ($0.name, $0) })
        let wanted: [String]
        if let topics = request.topics, !(context.apiVersion == 0 && topics.isEmpty) {
            wanted = topics.compactMap(\.name)
        } else {
            wanted = clusterTopics.map(\.name).filter { authorizer.authorize(context, .describe, .topic, $0) }
        }
        let autoCreate = config.autoCreateTopics && (context.apiVersion < 4 || request.allowAutoTopicCreation)
        for name in wanted {
            guard authorizer.authorize(context, .describe, .topic, name) else {
                response.topics.append(.init(errorCode: ErrorCode.topicAuthorizationFailed.rawValue, name: name))
                continue
            }
            var topic = byName[name]
            if topic == nil, autoCreate, TopicManager.validateName(name) == nil,
               authorizer.authorize(context, .create, .cluster, AclResource.clusterName)
                || authorizer.authorize(context, .create, .topic, name) {
                _ = try? await cluster.createTopic(name: name, partitions: -1, replicationFactor: -1, configs: [:],
                                                   validateOnly: false)
                topic = cluster.topics()?.first { $0.name == name }
            }
            guard let topic else {
                response.topics.append(.init(errorCode: ErrorCode.unknownTopicOrPartition.rawValue, name: name))
                continue
            }
            var t = MetadataResponse.MetadataResponseTopic(errorCode: 0, name: topic.name)
            t.topicId = topic.id
            t.isInternal = topic.name.hasPrefix("__")
            t.partitions = topic.partitions.enumerated().map { p, placement in
                let live = Set(response.brokers.map(\.nodeId))
                return MetadataResponse.MetadataResponsePartition(
                    errorCode: placement.leader < 0 ? ErrorCode.leaderNotAvailable.rawValue : 0,
                    partitionIndex: Int32(p), leaderId: placement.leader, leaderEpoch: placement.leaderEpoch,
                    replicaNodes: placement.replicas, isrNodes: placement.isr,
                    offlineReplicas: placement.replicas.filter { !live.contains($0) })
            }
            response.topics.append(t)
        }
        return response
    }

    private func describe(_ topic: TopicRecord) -> MetadataResponse.MetadataResponseTopic {
        let node = config.nodeId
        var t = MetadataResponse.MetadataResponseTopic(errorCode: 0, name: topic.name)
        t.topicId = topic.id
        t.partitions = (0..<topic.partitionCount).map { p in
            MetadataResponse.MetadataResponsePartition(
                errorCode: 0, partitionIndex: p, leaderId: node, leaderEpoch: 0,
                replicaNodes: [node], isrNodes: [node], offlineReplicas: [])
        }
        return t
    }
}

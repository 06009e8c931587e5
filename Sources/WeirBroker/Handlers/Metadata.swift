import KafkaProtocol
import WeirStorage

/// Metadata (3): brokers, and topics with their partitions (leader, replicas, ISR: this broker).
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
    var versions: ClosedRange<Int16> { 0...11 }

    func handle(_ request: MetadataRequest, context: RequestContext) async throws -> MetadataResponse? {
        let config = self.config
        var response = MetadataResponse()
        let address = config.advertised(for: context.listenerName)
        response.brokers = [.init(nodeId: config.nodeId, host: address.host, port: address.port, rack: config.rack)]
        response.clusterId = config.clusterId
        response.controllerId = config.nodeId

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

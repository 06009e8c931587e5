import Logging
import KafkaProtocol
import WeirStorage

/// CreatePartitions (37): grows a topic to `count` partitions (never shrinks).
struct CreatePartitionsHandler: ApiHandler {
    typealias Request = CreatePartitionsRequest
    let store: LogStore
    let io: IOPool
    let logger: Logger
    /// Alter on each topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// Where partitions are added: this broker's store, or the cluster (etcd, the controller).
    let cluster: any ClusterView
    var versions: ClosedRange<Int16> { 0...3 }

    func handle(_ request: CreatePartitionsRequest, context: RequestContext) async throws -> CreatePartitionsResponse? {
        let store = self.store
        let cluster = self.cluster
        let logger = self.logger
        let authorizer = self.authorizer
        var response = CreatePartitionsResponse()
        response.results = try await io.run {
            request.topics.map { t in
                var r = CreatePartitionsResponse.CreatePartitionsTopicResult(name: t.name)
                guard authorizer.authorize(context, .alter, .topic, t.name) else {
                    r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    return r
                }
                guard let topic = store.topic(named: t.name) else {
                    r.errorCode = ErrorCode.unknownTopicOrPartition.rawValue
                    r.errorMessage = "The topic '\(t.name)' does not exist."
                    return r
                }
                guard t.count > topic.partitionCount else {
                    r.errorCode = ErrorCode.invalidPartitions.rawValue
                    r.errorMessage = t.count == topic.partitionCount
                        ? "Topic already has \(topic.partitionCount) partitions."
                        : "Topic currently has \(topic.partitionCount) partitions, which is higher than the requested \(t.count)."
                    return r
                }
                if request.validateOnly { return r }
                do {
                    try cluster.createPartitions(name: t.name, newTotal: t.count)
                    logger.info("added partitions", metadata: ["topic": "\(t.name)", "partitions": "\(t.count)"])
                } catch {
                    let answer = TopicManager.Failure.answer(for: error)
                    r.errorCode = answer.code.rawValue
                    r.errorMessage = answer.message
                }
                return r
            }
        }
        return response
    }
}

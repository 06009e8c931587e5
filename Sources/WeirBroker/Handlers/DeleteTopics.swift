import KafkaProtocol
import WeirStorage

/// DeleteTopics (20): by name (v0-5) or by name or topic ID (v6).
struct DeleteTopicsHandler: ApiHandler {
    typealias Request = DeleteTopicsRequest
    let store: LogStore
    let topics: TopicManager
    let io: IOPool
    /// Delete on each topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...6 }

    func handle(_ request: DeleteTopicsRequest, context: RequestContext) async throws -> DeleteTopicsResponse? {
        let store = self.store
        let topics = self.topics
        // v6 names topics by name or ID; older versions by name only.
        let targets: [(name: String?, id: KafkaUUID)] = context.apiVersion >= 6
            ? request.topics.map { ($0.name, $0.topicId) }
            : request.topicNames.map { ($0, KafkaUUID.zero) }
        var response = DeleteTopicsResponse()
        let authorizer = self.authorizer
        response.responses = try await io.run {
            targets.map { target in
                let name = target.name ?? store.topics().first { $0.id == target.id }?.name
                var r = DeleteTopicsResponse.DeletableTopicResult(name: target.name, topicId: target.id)
                guard let name else {
                    r.errorCode = ErrorCode.unknownTopicId.rawValue
                    return r
                }
                r.name = name
                guard authorizer.authorize(context, .delete, .topic, name) else {
                    r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
                    return r
                }
                do {
                    if let id = store.topic(named: name)?.id { r.topicId = id }
                    try topics.delete(name: name)
                } catch let failure as TopicManager.Failure {
                    r.errorCode = failure.code.rawValue
                    r.errorMessage = failure.message
                } catch {
                    r.errorCode = ErrorCode.unknownServerError.rawValue
                    r.errorMessage = "\(error)"
                }
                return r
            }
        }
        return response
    }
}

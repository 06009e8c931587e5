import KafkaProtocol
import WeirStorage

/// DeleteTopics (20): by name (v0-5) or by name or topic ID (v6).
struct DeleteTopicsHandler: ApiHandler {
    typealias Request = DeleteTopicsRequest
    let store: LogStore
    /// Deletes a topic: in this broker's store, or through the cluster's controller.
    let cluster: any ClusterView
    /// Delete on each topic (TOPIC_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...6 }

    func handle(_ request: DeleteTopicsRequest, context: RequestContext) async throws -> DeleteTopicsResponse? {
        // v6 names topics by name or ID; older versions by name only.
        let targets: [(name: String?, id: KafkaUUID)] = context.apiVersion >= 6
            ? request.topics.map { ($0.name, $0.topicId) }
            : request.topicNames.map { ($0, KafkaUUID.zero) }
        var response = DeleteTopicsResponse()
        for target in targets {
            response.responses.append(await delete(name: target.name, id: target.id, context: context))
        }
        return response
    }

    private func known() -> [(name: String, id: KafkaUUID)] {
        cluster.topics()?.map { ($0.name, $0.id) } ?? store.topics().map { ($0.name, $0.id) }
    }

    private func delete(name: String?, id: KafkaUUID, context: RequestContext) async -> DeleteTopicsResponse.DeletableTopicResult {
        var r = DeleteTopicsResponse.DeletableTopicResult(name: name, topicId: id)
        guard let name = name ?? known().first(where: { $0.id == id })?.name else {
            r.errorCode = ErrorCode.unknownTopicId.rawValue
            return r
        }
        r.name = name
        guard authorizer.authorize(context, .delete, .topic, name) else {
            r.errorCode = ErrorCode.topicAuthorizationFailed.rawValue
            return r
        }
        do {
            if let found = known().first(where: { $0.name == name })?.id { r.topicId = found }
            try await cluster.deleteTopic(name: name)
        } catch {
            let answer = TopicManager.Failure.answer(for: error)
            r.errorCode = answer.code.rawValue
            r.errorMessage = answer.message
        }
        return r
    }
}

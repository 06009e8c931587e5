import KafkaProtocol
import WeirStorage

/// AlterConfigs (33): replaces a topic's whole set of explicit configs (the legacy,
/// non-incremental semantics: anything not named returns to its default).
struct AlterConfigsHandler: ApiHandler {
    typealias Request = AlterConfigsRequest
    let broker: Broker
    var versions: ClosedRange<Int16> { 0...2 }

    func handle(_ request: AlterConfigsRequest, context: RequestContext) async throws -> AlterConfigsResponse? {
        let broker = self.broker
        var response = AlterConfigsResponse()
        response.responses = try await broker.onIO {
            request.resources.map { resource in
                let configs = Dictionary(resource.configs.compactMap { c in c.value.map { (c.name, $0) } }, uniquingKeysWith: { _, b in b })
                let (code, message) = TopicConfigUpdate.apply(broker: broker, resourceType: resource.resourceType,
                                                             topic: resource.resourceName, validateOnly: request.validateOnly) { _ in configs }
                return .init(errorCode: code.rawValue, errorMessage: message, resourceType: resource.resourceType,
                             resourceName: resource.resourceName)
            }
        }
        return response
    }
}

/// Shared by AlterConfigs and IncrementalAlterConfigs: compute the new explicit set, validate
/// it, store it.
enum TopicConfigUpdate {
    static func apply(broker: Broker, resourceType: Int8, topic name: String, validateOnly: Bool,
                      change: ([String: String]) throws -> [String: String]) -> (ErrorCode, String?) {
        guard resourceType == DescribeConfigsHandler.topicResource else {
            return (.invalidRequest, "Weir supports altering topic configs only (resource type 2), not type \(resourceType)")
        }
        guard let topic = broker.store.topic(named: name) else {
            return (.unknownTopicOrPartition, "Topic \(name) does not exist.")
        }
        do {
            let updated = try change(topic.configs)
            if let problem = TopicConfigs.problem(in: updated) { return (.invalidConfig, problem) }
            if validateOnly { return (.none, nil) }
            try broker.store.alterTopicConfigs(name: name, updated)
            broker.logger.info("altered topic configs", metadata: ["topic": "\(name)", "configs": "\(updated.sorted { $0.key < $1.key })"])
            return (.none, nil)
        } catch let failure as TopicManager.Failure {
            return (failure.code, failure.message)
        } catch {
            return (.unknownServerError, "\(error)")
        }
    }
}

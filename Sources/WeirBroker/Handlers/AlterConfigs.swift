import Logging
import KafkaProtocol
import WeirStorage

/// AlterConfigs (33): replaces a topic's whole set of explicit configs (the legacy,
/// non-incremental semantics: anything not named returns to its default).
struct AlterConfigsHandler: ApiHandler {
    typealias Request = AlterConfigsRequest
    let store: LogStore
    let config: BrokerConfig
    let io: IOPool
    let logger: Logger
    /// AlterConfigs on the topic (TOPIC_AUTHORIZATION_FAILED) or the cluster (CLUSTER_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// Where topic configs are written: this broker's store, or the cluster's etcd.
    let cluster: any ClusterView
    var versions: ClosedRange<Int16> { 0...2 }

    func handle(_ request: AlterConfigsRequest, context: RequestContext) async throws -> AlterConfigsResponse? {
        var response = AlterConfigsResponse()
        let authorizer = self.authorizer
        response.responses = try await io.run {
            request.resources.map { resource in
                if let denied = AlterConfigsAuthorization.denied(authorizer, context, resource.resourceType, resource.resourceName) {
                    return .init(errorCode: denied.rawValue, errorMessage: nil, resourceType: resource.resourceType,
                                 resourceName: resource.resourceName)
                }
                let configs = Dictionary(resource.configs.compactMap { c in c.value.map { (c.name, $0) } }, uniquingKeysWith: { _, b in b })
                let (code, message) = TopicConfigUpdate.apply(store: store, cluster: cluster, broker: config, logger: logger, resourceType: resource.resourceType,
                                                             topic: resource.resourceName, validateOnly: request.validateOnly) { _ in configs }
                return .init(errorCode: code.rawValue, errorMessage: message, resourceType: resource.resourceType,
                             resourceName: resource.resourceName)
            }
        }
        return response
    }
}

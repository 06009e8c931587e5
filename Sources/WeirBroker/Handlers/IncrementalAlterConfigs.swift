import Logging
import KafkaProtocol
import WeirStorage

/// IncrementalAlterConfigs (44): SET (0), DELETE (1), APPEND (2), SUBTRACT (3) on topic configs.
struct IncrementalAlterConfigsHandler: ApiHandler {
    typealias Request = IncrementalAlterConfigsRequest
    let store: LogStore
    let config: BrokerConfig
    let io: IOPool
    let logger: Logger
    /// AlterConfigs on the topic (TOPIC_AUTHORIZATION_FAILED) or the cluster (CLUSTER_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    /// Where topic configs are written: this broker's store, or the cluster's etcd.
    let cluster: any ClusterView
    var versions: ClosedRange<Int16> { 0...1 }

    func handle(_ request: IncrementalAlterConfigsRequest, context: RequestContext) async throws -> IncrementalAlterConfigsResponse? {
        var response = IncrementalAlterConfigsResponse()
        let authorizer = self.authorizer
        response.responses = try await io.run {
            request.resources.map { resource in
                if let denied = AlterConfigsAuthorization.denied(authorizer, context, resource.resourceType, resource.resourceName) {
                    return .init(errorCode: denied.rawValue, errorMessage: nil, resourceType: resource.resourceType,
                                 resourceName: resource.resourceName)
                }
                let (code, message) = TopicConfigUpdate.apply(store: store, cluster: cluster, broker: config, logger: logger, resourceType: resource.resourceType,
                                                             topic: resource.resourceName, validateOnly: request.validateOnly) { current in
                    var configs = current
                    for op in resource.configs {
                        switch op.configOperation {
                        case 0:
                            configs[op.name] = op.value
                        case 1:
                            configs[op.name] = nil
                        case 2, 3:
                            guard TopicConfigs.byName[op.name]?.kind == .list else {
                                throw TopicManager.Failure(code: .invalidConfig, message: "Config \(op.name) is not a list")
                            }
                            let currentValue = configs[op.name] ?? TopicConfigs.byName[op.name]!.defaultValue(config)
                            var items = currentValue.split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
                            let given = (op.value ?? "").split(separator: ",").map { $0.trimmingSpaces }
                            if op.configOperation == 2 {
                                for g in given where !items.contains(g) { items.append(g) }
                            } else {
                                items.removeAll { given.contains($0) }
                            }
                            configs[op.name] = items.joined(separator: ",")
                        default:
                            throw TopicManager.Failure(code: .invalidRequest, message: "Unknown config operation \(op.configOperation)")
                        }
                    }
                    return configs
                }
                return .init(errorCode: code.rawValue, errorMessage: message, resourceType: resource.resourceType,
                             resourceName: resource.resourceName)
            }
        }
        return response
    }
}

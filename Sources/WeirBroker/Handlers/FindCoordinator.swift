import KafkaProtocol
import WeirStorage

/// FindCoordinator (10): the broker that coordinates a group (key type 0) or a transactional
/// id (key type 1). On a single broker that is this broker for both — for transactional ids
/// too, so a transactional producer reaches InitProducerId. In a cluster, the leader of the
/// group's offsets partition; a cluster does not coordinate transactions yet, which is said in
/// the error message of COORDINATOR_NOT_AVAILABLE.
struct FindCoordinatorHandler: ApiHandler {
    typealias Request = FindCoordinatorRequest
    let config: BrokerConfig
    /// Describe on the group (GROUP_AUTHORIZATION_FAILED) or transactional id
    /// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    let cluster: any ClusterView
    var versions: ClosedRange<Int16> { 0...4 }

    private struct Answer {
        var nodeId: Int32 = -1
        var host = ""
        var port: Int32 = -1
        var code: ErrorCode = .none
        var message: String?
    }

    private func answer(_ key: String, keyType: Int8, context: RequestContext) -> Answer {
        guard keyType == 0 || keyType == 1 else {
            return Answer(code: .invalidRequest, message: "Unknown coordinator key type \(keyType)")
        }
        let transaction = keyType == 1
        guard authorizer.authorize(context, .describe, transaction ? .transactionalId : .group, key) else {
            return Answer(code: transaction ? .transactionalIdAuthorizationFailed : .groupAuthorizationFailed)
        }
        let node = cluster.coordinator(for: key, transaction: transaction)
        guard node >= 0, let broker = cluster.brokers().first(where: { $0.id == node }),
              let address = broker.endpoint(for: context.listenerName) else {
            let why = transaction && cluster.isClustered
                ? "Transactions are not coordinated across the brokers of a Weir cluster yet."
                : "The coordinator is not available."
            return Answer(code: .coordinatorNotAvailable, message: why)
        }
        return Answer(nodeId: node, host: address.host, port: address.port)
    }

    func handle(_ request: FindCoordinatorRequest, context: RequestContext) async throws -> FindCoordinatorResponse? {
        var response = FindCoordinatorResponse()
        if context.apiVersion >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                let a = answer(key, keyType: request.keyType, context: context)
                return .init(key: key, nodeId: a.nodeId, host: a.host, port: a.port, errorCode: a.code.rawValue,
                             errorMessage: a.message)
            }
        } else {
            let a = answer(request.key, keyType: request.keyType, context: context)
            response.errorCode = a.code.rawValue
            response.errorMessage = a.message
            response.nodeId = a.nodeId
            response.host = a.host
            response.port = a.port
        }
        return response
    }
}

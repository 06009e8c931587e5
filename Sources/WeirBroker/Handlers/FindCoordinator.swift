import KafkaProtocol
import WeirStorage

/// FindCoordinator (10): this broker coordinates every group (key type 0) and answers for
/// transactional ids (key type 1) too, so that a transactional producer reaches
/// InitProducerId and stops at once with its clear error instead of retrying a lookup.
struct FindCoordinatorHandler: ApiHandler {
    typealias Request = FindCoordinatorRequest
    let config: BrokerConfig
    /// Describe on the group (GROUP_AUTHORIZATION_FAILED) or transactional id
    /// (TRANSACTIONAL_ID_AUTHORIZATION_FAILED).
    var authorizer: Authorizer = .allowAll
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: FindCoordinatorRequest, context: RequestContext) async throws -> FindCoordinatorResponse? {
        let c = config
        let supported = request.keyType == 0 || request.keyType == 1
        let code: ErrorCode = supported ? .none : .invalidRequest
        let message: String? = supported ? nil : "Unknown coordinator key type \(request.keyType)"
        let address = c.advertised(for: context.listenerName)
        var response = FindCoordinatorResponse()
        let resourceType: AclResourceType = request.keyType == 1 ? .transactionalId : .group
        let deniedCode: ErrorCode = request.keyType == 1 ? .transactionalIdAuthorizationFailed : .groupAuthorizationFailed
        if context.apiVersion >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                if supported, !authorizer.authorize(context, .describe, resourceType, key) {
                    return .init(key: key, nodeId: -1, host: "", port: -1, errorCode: deniedCode.rawValue, errorMessage: nil)
                }
                return .init(key: key, nodeId: supported ? c.nodeId : -1, host: supported ? address.host : "",
                      port: supported ? address.port : -1, errorCode: code.rawValue, errorMessage: message)
            }
        } else if supported, !authorizer.authorize(context, .describe, resourceType, request.key) {
            response.errorCode = deniedCode.rawValue
            response.nodeId = -1
            response.host = ""
            response.port = -1
        } else {
            response.errorCode = code.rawValue
            response.errorMessage = message
            response.nodeId = supported ? c.nodeId : -1
            response.host = supported ? address.host : ""
            response.port = supported ? address.port : -1
        }
        return response
    }
}

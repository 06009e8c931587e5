import KafkaProtocol

/// FindCoordinator (10): this broker coordinates every group (key type 0). Transaction
/// coordinators (key type 1) are not offered: Weir has no transactions yet.
struct FindCoordinatorHandler: ApiHandler {
    typealias Request = FindCoordinatorRequest
    let broker: Broker
    var versions: ClosedRange<Int16> { 0...4 }

    func handle(_ request: FindCoordinatorRequest, context: RequestContext) async throws -> FindCoordinatorResponse? {
        let c = broker.config
        let supported = request.keyType == 0
        let code: ErrorCode = supported ? .none : .coordinatorNotAvailable
        let message: String? = supported ? nil : "Weir has no transaction coordinator"
        var response = FindCoordinatorResponse()
        if context.apiVersion >= 4 {
            response.coordinators = request.coordinatorKeys.map { key in
                .init(key: key, nodeId: supported ? c.nodeId : -1, host: supported ? c.advertisedHost : "",
                      port: supported ? c.advertisedPort : -1, errorCode: code.rawValue, errorMessage: message)
            }
        } else {
            response.errorCode = code.rawValue
            response.errorMessage = message
            response.nodeId = supported ? c.nodeId : -1
            response.host = supported ? c.advertisedHost : ""
            response.port = supported ? c.advertisedPort : -1
        }
        return response
    }
}

import KafkaProtocol
import WeirStorage

/// DescribeCluster (60): this broker, the cluster id, and this broker as controller.
struct DescribeClusterHandler: ApiHandler {
    typealias Request = DescribeClusterRequest
    let config: BrokerConfig
    var versions: ClosedRange<Int16> { 0...0 }

    func handle(_ request: DescribeClusterRequest, context: RequestContext) async throws -> DescribeClusterResponse? {
        let c = config
        var response = DescribeClusterResponse()
        response.clusterId = c.clusterId
        response.controllerId = c.nodeId
        let address = c.advertised(for: context.listenerName)
        response.brokers = [.init(brokerId: c.nodeId, host: address.host, port: address.port, rack: c.rack)]
        return response
    }
}

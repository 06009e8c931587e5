import KafkaProtocol
import WeirStorage

/// DescribeCluster (60): the live brokers, the cluster id and the controller.
struct DescribeClusterHandler: ApiHandler {
    typealias Request = DescribeClusterRequest
    let config: BrokerConfig
    let cluster: any ClusterView
    var versions: ClosedRange<Int16> { 0...0 }

    func handle(_ request: DescribeClusterRequest, context: RequestContext) async throws -> DescribeClusterResponse? {
        var response = DescribeClusterResponse()
        response.clusterId = config.clusterId
        response.controllerId = cluster.controllerId()
        response.brokers = cluster.brokers().compactMap { b in
            b.endpoint(for: context.listenerName).map { .init(brokerId: b.id, host: $0.host, port: $0.port, rack: b.rack) }
        }
        return response
    }
}

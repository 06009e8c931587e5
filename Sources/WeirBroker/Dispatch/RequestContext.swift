/// What a handler may know about the request beyond its body: who sent it and at which version.
public struct RequestContext: Sendable {
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?
    /// The peer's address, as DescribeGroups reports it (Kafka prints "/127.0.0.1").
    public var clientHost: String

    public init(apiVersion: Int16, correlationId: Int32, clientId: String?, clientHost: String) {
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.clientHost = clientHost
    }
}

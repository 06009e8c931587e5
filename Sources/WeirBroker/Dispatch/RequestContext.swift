/// What a handler may know about the request beyond its body: who sent it, on which listener,
/// and at which version.
public struct RequestContext: Sendable {
    public var apiVersion: Int16
    public var correlationId: Int32
    public var clientId: String?
    /// The peer's address, as DescribeGroups reports it (Kafka prints "/127.0.0.1").
    public var clientHost: String
    /// The listener the request came in on (`PLAINTEXT`, `SSL`, or a name of `listeners`):
    /// Metadata and FindCoordinator answer with that listener's advertised address, as Kafka does.
    public var listenerName: String
    /// The authenticated principal of the connection (`User:ANONYMOUS` when none).
    public var principal: KafkaPrincipal

    public init(apiVersion: Int16, correlationId: Int32, clientId: String?, clientHost: String,
                listenerName: String = "PLAINTEXT", principal: KafkaPrincipal = .anonymous) {
        self.apiVersion = apiVersion
        self.correlationId = correlationId
        self.clientId = clientId
        self.clientHost = clientHost
        self.listenerName = listenerName
        self.principal = principal
    }
}

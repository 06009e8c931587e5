import KafkaProtocol

/// The APIs this broker serves, by key. ApiVersions is built from this table, so the broker
/// advertises exactly what it implements and nothing more.
public struct HandlerRegistry: Sendable {
    private var handlers: [Int16: AnyApiHandler] = [:]

    public init() {}

    public mutating func register<H: ApiHandler>(_ handler: H) {
        handlers[H.Request.apiKey.rawValue] = AnyApiHandler(handler)
    }

    public subscript(apiKey: Int16) -> AnyApiHandler? { handlers[apiKey] }

    /// (key, min, max) of every registered API, ascending by key.
    public var advertised: [(apiKey: Int16, min: Int16, max: Int16)] {
        handlers.keys.sorted().map { key in
            let h = handlers[key]!
            return (key, h.versions.lowerBound, h.versions.upperBound)
        }
    }
}

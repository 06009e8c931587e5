import NIOCore

/// A message generated from Kafka's JSON schema (tools/codegen). Each type decodes and encodes
/// every version in `validVersions`, switching to compact encodings and tagged fields from its
/// first flexible version on.
public protocol KafkaMessage: Sendable, Equatable {
    static var validVersions: ClosedRange<Int16> { get }
    /// The first flexible version, or nil when the message has none.
    static var firstFlexibleVersion: Int16? { get }
    init()
    init(from buffer: inout ByteBuffer, version: Int16) throws
    func write(to buffer: inout ByteBuffer, version: Int16)
}

extension KafkaMessage {
    public static func isFlexible(_ version: Int16) -> Bool {
        guard let first = firstFlexibleVersion else { return false }
        return version >= first
    }
}

/// A request message: knows its API key and its response type.
public protocol KafkaRequest: KafkaMessage {
    associatedtype Response: KafkaResponse
    static var apiKey: ApiKey { get }
}

public protocol KafkaResponse: KafkaMessage {
    static var apiKey: ApiKey { get }
}

extension KafkaRequest {
    /// Request header version: 2 for flexible versions, 1 otherwise (ControlledShutdown v0,
    /// the one exception that uses header v0, is not implemented by Weir).
    public static func requestHeaderVersion(_ version: Int16) -> Int16 {
        isFlexible(version) ? 2 : 1
    }
}

extension KafkaResponse {
    /// Response header version: 1 (with tagged fields) for flexible versions, 0 otherwise.
    /// ApiVersions always answers with header v0, so that a client that sent a version the
    /// broker does not know can still read the error.
    public static func responseHeaderVersion(_ version: Int16) -> Int16 {
        if apiKey == .apiVersions { return 0 }
        return isFlexible(version) ? 1 : 0
    }
}

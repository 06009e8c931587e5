import KafkaProtocol
import Logging
import NIOCore

/// Turns one request frame into its framed response: reads the header, finds the handler,
/// checks the version and runs it. Anything it cannot make sense of throws `Rejected`, which the
/// connection logs once and answers by closing — Kafka's own answer to a malformed request.
public struct RequestDispatcher: Sendable {
    public struct Rejected: Error, CustomStringConvertible {
        public var description: String
    }

    public let registry: HandlerRegistry
    let logger: Logger
    /// Told about each answered request (the admin listener's metrics); a no-op by default.
    let observer: any RequestObserver

    public init(registry: HandlerRegistry, logger: Logger, observer: any RequestObserver = NoRequestObserver()) {
        self.registry = registry
        self.logger = logger
        self.observer = observer
    }

    /// Runs on the connection's event loop: decodes the request and either answers it there or
    /// returns the work to do off the loop. Throws `Rejected` for anything malformed.
    public func dispatch(_ frame: ByteBuffer, clientHost: String, listenerName: String = "PLAINTEXT",
                         principal: KafkaPrincipal = .anonymous, allocator: ByteBufferAllocator) throws -> Dispatch {
        let startedNanos = NIODeadline.now().uptimeNanoseconds
        let original = frame
        var frame = frame
        guard let apiKey = frame.getInteger(at: frame.readerIndex, endianness: .big, as: Int16.self),
              let apiVersion = frame.getInteger(at: frame.readerIndex + 2, endianness: .big, as: Int16.self),
              let correlationId = frame.getInteger(at: frame.readerIndex + 4, endianness: .big, as: Int32.self)
        else {
            throw Rejected(description: "request of \(frame.readableBytes) bytes is shorter than a request header")
        }
        guard let handler = registry[apiKey] else {
            let name = ApiKey(rawValue: apiKey).map { $0.name } ?? "unknown"
            throw Rejected(description: "unsupported api key \(apiKey) (\(name)) v\(apiVersion)")
        }
        guard handler.versions.contains(apiVersion) else {
            if handler.apiKey == .apiVersions {
                // KIP-511: answer an unknown ApiVersions version with v0 + UNSUPPORTED_VERSION and
                // our ranges, so that the client retries with a version we speak.
                return .done(unsupportedApiVersions(correlationId: correlationId, allocator: allocator))
            }
            throw Rejected(description: "\(handler.apiKey.name) v\(apiVersion) is not supported (supported: \(handler.versions))")
        }
        let header: RequestHeader
        do {
            header = try RequestHeader(from: &frame, version: handler.requestHeaderVersion(apiVersion))
        } catch {
            throw Rejected(description: "\(handler.apiKey.name) v\(apiVersion): bad request header: \(error)")
        }
        let context = RequestContext(apiVersion: apiVersion, correlationId: correlationId,
                                     clientId: header.clientId, clientHost: clientHost,
                                     listenerName: listenerName, principal: principal)
        do {
            return observer.observing(try handler.dispatch(&frame, context: context, allocator: allocator),
                                      apiKey: apiKey, requestBytes: original.readableBytes + 4, startedNanos: startedNanos)
        } catch let error as ProtocolError {
            throw Rejected(description: "\(handler.apiKey.name) v\(apiVersion) from \(header.clientId ?? "-"): \(error) "
                                      + "(request starts \(original.hexPrefix(96)))")
        }
    }

    private func unsupportedApiVersions(correlationId: Int32, allocator: ByteBufferAllocator) -> ResponseBytes {
        var response = ApiVersionsResponse()
        response.errorCode = ErrorCode.unsupportedVersion.rawValue
        response.apiKeys = registry.advertised.map {
            ApiVersionsResponse.ApiVersion(apiKey: $0.apiKey, minVersion: $0.min, maxVersion: $0.max)
        }
        let context = RequestContext(apiVersion: 0, correlationId: correlationId, clientId: nil, clientHost: "")
        return AnyApiHandler.frame(response, context: context, allocator: allocator)
    }
}

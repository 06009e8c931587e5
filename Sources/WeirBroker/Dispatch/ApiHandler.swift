import KafkaProtocol
import NIOCore

/// One Kafka API, implemented in its own file under Handlers/. `versions` is what Weir
/// implements completely; the registry advertises exactly that through ApiVersions.
public protocol ApiHandler: Sendable {
    associatedtype Request: KafkaRequest
    var versions: ClosedRange<Int16> { get }
    /// nil means "send no response" (Produce with acks=0).
    func handle(_ request: Request, context: RequestContext) async throws -> Request.Response?
}

/// A handler with its message types erased, so that the registry can hold all of them and the
/// connection can drive any of them from raw bytes.
public struct AnyApiHandler: Sendable {
    public let apiKey: ApiKey
    public let versions: ClosedRange<Int16>
    /// Header version of a request at `version` (flexible versions use header v2).
    public let requestHeaderVersion: @Sendable (Int16) -> Int16
    private let respond: @Sendable (inout ByteBuffer, RequestContext, ByteBufferAllocator) async throws -> ByteBuffer?

    public init<H: ApiHandler>(_ handler: H) {
        apiKey = H.Request.apiKey
        versions = handler.versions
        requestHeaderVersion = { H.Request.requestHeaderVersion($0) }
        respond = { body, context, allocator in
            // Bytes after the request are ignored, as Kafka ignores them: librdkafka's "all topics"
            // Metadata v9+ request, for one, leaves three bytes of its array-count placeholder behind.
            let request = try H.Request(from: &body, version: context.apiVersion)
            guard let response = try await handler.handle(request, context: context) else { return nil }
            return Self.frame(response, context: context, allocator: allocator)
        }
    }

    /// Decodes the body, runs the handler and returns the framed response (size prefix,
    /// response header, body), or nil when no response is due.
    public func respond(to body: inout ByteBuffer, context: RequestContext, allocator: ByteBufferAllocator) async throws -> ByteBuffer? {
        try await respond(&body, context, allocator)
    }

    /// Size prefix + response header + body, in one buffer.
    public static func frame<R: KafkaResponse>(_ response: R, context: RequestContext, allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 256)
        out.writeInteger(Int32(0))  // size, patched below
        var header = ResponseHeader()
        header.correlationId = context.correlationId
        header.write(to: &out, version: R.responseHeaderVersion(context.apiVersion))
        response.write(to: &out, version: context.apiVersion)
        out.setInteger(Int32(out.readableBytes - 4), at: out.readerIndex)
        return out
    }
}

extension ByteBuffer {
    /// The first `count` readable bytes in hex, for log lines about malformed input.
    func hexPrefix(_ count: Int) -> String {
        let bytes = getBytes(at: readerIndex, length: Swift.min(count, readableBytes)) ?? []
        let hex = bytes.map { b in String(b, radix: 16).count == 1 ? "0" + String(b, radix: 16) : String(b, radix: 16) }.joined()
        return readableBytes > count ? hex + "…" : hex
    }
}

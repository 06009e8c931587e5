import KafkaProtocol
import NIOCore

/// One Kafka API, implemented in its own file under Handlers/. `versions` is what Weir
/// implements completely; the registry advertises exactly that through ApiVersions.
public protocol ApiHandler: Sendable {
    associatedtype Request: KafkaRequest
    var versions: ClosedRange<Int16> { get }
    /// Called on the connection's event loop. A handler that can answer without waiting and
    /// without blocking (no fsync, no disk scan, no lock held for long) returns `.now`; the
    /// default defers to `handle`, which runs off the event loop.
    func handleImmediately(_ request: Request, context: RequestContext) -> Immediate<Request.Response>
    /// nil means "send no response" (Produce with acks=0).
    func handle(_ request: Request, context: RequestContext) async throws -> Request.Response?
}

/// A handler's answer on the event loop: the response (nil: none is due); "later" (run
/// `handle` off the loop); or "continue later" with work that finishes what the loop began
/// (a Produce whose appends RocksDB would have stalled).
public enum Immediate<Response> {
    case now(Response?)
    case later
    case continueLater(@Sendable () async throws -> Response?)
}

extension ApiHandler {
    public func handleImmediately(_ request: Request, context: RequestContext) -> Immediate<Request.Response> { .later }
}

/// A framed response ready for the socket: one buffer, or several written with one writev so
/// that large record buffers are not copied into the frame.
public enum ResponseBytes: Sendable {
    case single(ByteBuffer)
    case parts([ByteBuffer])
}

/// What the dispatcher makes of a request on the event loop.
public enum Dispatch: Sendable {
    /// Answered already (nil: nothing to send).
    case done(ResponseBytes?)
    /// Must run off the event loop; the closure produces the answer.
    case later(@Sendable () async throws -> ResponseBytes?)
}

/// A handler with its message types erased, so that the registry can hold all of them and the
/// connection can drive any of them from raw bytes.
public struct AnyApiHandler: Sendable {
    public let apiKey: ApiKey
    public let versions: ClosedRange<Int16>
    /// Header version of a request at `version` (flexible versions use header v2).
    public let requestHeaderVersion: @Sendable (Int16) -> Int16
    private let dispatch: @Sendable (inout ByteBuffer, RequestContext, ByteBufferAllocator) throws -> Dispatch

    public init<H: ApiHandler>(_ handler: H) {
        apiKey = H.Request.apiKey
        versions = handler.versions
        requestHeaderVersion = { H.Request.requestHeaderVersion($0) }
        dispatch = { body, context, allocator in
            // Bytes after the request are ignored, as Kafka ignores them: librdkafka's "all topics"
            // Metadata v9+ request, for one, leaves three bytes of its array-count placeholder behind.
            let request = try H.Request(from: &body, version: context.apiVersion)
            switch handler.handleImmediately(request, context: context) {
            case .now(let response):
                return .done(response.map { Self.frame($0, context: context, allocator: allocator) })
            case .later:
                return .later {
                    guard let response = try await handler.handle(request, context: context) else { return nil }
                    return Self.frame(response, context: context, allocator: allocator)
                }
            case .continueLater(let work):
                return .later {
                    guard let response = try await work() else { return nil }
                    return Self.frame(response, context: context, allocator: allocator)
                }
            }
        }
    }

    /// Decodes the body and either answers at once or says how to answer later.
    public func dispatch(_ body: inout ByteBuffer, context: RequestContext, allocator: ByteBufferAllocator) throws -> Dispatch {
        try dispatch(&body, context, allocator)
    }

    /// Size prefix + response header + body, in one buffer — or, for responses that carry
    /// record batches (Fetch), in parts: the framing in small buffers, each large records buffer
    /// as its own part, so that batches read from RocksDB are not copied again.
    public static func frame<R: KafkaResponse>(_ response: R, context: RequestContext, allocator: ByteBufferAllocator) -> ResponseBytes {
        if let scatter = response as? any KafkaScatterEncodable {
            return scattered(scatter, responseHeaderVersion: R.responseHeaderVersion(context.apiVersion),
                             context: context, allocator: allocator)
        }
        var out = allocator.buffer(capacity: 256)
        out.writeInteger(Int32(0))  // size, patched below
        var header = ResponseHeader()
        header.correlationId = context.correlationId
        header.write(to: &out, version: R.responseHeaderVersion(context.apiVersion))
        response.write(to: &out, version: context.apiVersion)
        out.setInteger(Int32(out.readableBytes - 4), at: out.readerIndex)
        return .single(out)
    }

    private static func scattered(_ response: any KafkaScatterEncodable, responseHeaderVersion: Int16,
                                  context: RequestContext, allocator: ByteBufferAllocator) -> ResponseBytes {
        var out = KafkaScatterWriter(allocator: allocator, headroom: 1024)
        out.current.writeInteger(Int32(0))  // size, patched below
        var header = ResponseHeader()
        header.correlationId = context.correlationId
        header.write(to: &out.current, version: responseHeaderVersion)
        response.write(to: &out, version: context.apiVersion)
        let size = Int32(out.totalBytes - 4)
        var parts = out.finish()
        parts[0].setInteger(size, at: parts[0].readerIndex)
        return parts.count == 1 ? .single(parts[0]) : .parts(parts)
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

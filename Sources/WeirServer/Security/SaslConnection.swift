import KafkaProtocol
import NIOCore
import WeirBroker

/// The SASL requests of one connection on a SASL listener: decodes SaslHandshake and
/// SaslAuthenticate frames (and raw tokens after SaslHandshake v0), runs them through the
/// connection's `SaslSession` and frames the answers. No I/O: `KafkaConnectionHandler` writes
/// and closes as the returned `Action` says.
struct SaslConnection {
    enum Action {
        /// Write this answer; go on.
        case respond(ByteBuffer)
        /// Write this answer, then close after `connection.failed.authentication.delay.ms`.
        case respondAndClose(ByteBuffer?, reason: String)
        /// Close now (malformed input).
        case close(reason: String)
    }

    var session: SaslSession

    init(config: SaslServerConfig) {
        session = SaslSession(config: config)
    }

    mutating func handle(_ frame: ByteBuffer, admission: SaslSession.Admission, nowMs: Int64,
                         allocator: ByteBufferAllocator) -> Action {
        switch admission {
        case .rawToken:
            // SaslHandshake v0: the frame is the token; the answer is a size-prefixed token.
            let token = frame.getBytes(at: frame.readerIndex, length: frame.readableBytes) ?? []
            switch session.authenticate(token, nowMs: nowMs) {
            case .challenge(let bytes), .authenticated(let bytes, _):
                return .respond(Self.raw(bytes, allocator: allocator))
            case .failed(let reason):
                return .respondAndClose(nil, reason: reason)
            }
        case .handshake:
            return handshake(frame, allocator: allocator)
        case .authenticate:
            return authenticate(frame, nowMs: nowMs, allocator: allocator)
        case .dispatch, .close:
            return .close(reason: "not a SASL request")
        }
    }

    private mutating func handshake(_ frame: ByteBuffer, allocator: ByteBufferAllocator) -> Action {
        guard let (request, context) = Self.decode(SaslHandshakeRequest.self, frame) else {
            return .close(reason: "malformed SaslHandshake request")
        }
        let (code, mechanisms, closes) = session.handshake(mechanism: request.mechanism, version: context.apiVersion)
        let response = Self.frame(SaslHandshakeResponse(errorCode: code.rawValue, mechanisms: mechanisms),
                                  context: context, allocator: allocator)
        if closes {
            return .respondAndClose(response, reason: "SaslHandshake for \(request.mechanism.prefix(64)): \(code)")
        }
        return .respond(response)
    }

    private mutating func authenticate(_ frame: ByteBuffer, nowMs: Int64, allocator: ByteBufferAllocator) -> Action {
        guard let (request, context) = Self.decode(SaslAuthenticateRequest.self, frame) else {
            return .close(reason: "malformed SaslAuthenticate request")
        }
        let token = request.authBytes.getBytes(at: request.authBytes.readerIndex, length: request.authBytes.readableBytes) ?? []
        var response = SaslAuthenticateResponse()
        switch session.authenticate(token, nowMs: nowMs) {
        case .challenge(let bytes):
            response.authBytes = allocator.buffer(bytes: bytes)
            return .respond(Self.frame(response, context: context, allocator: allocator))
        case .authenticated(let bytes, let lifetime):
            response.authBytes = allocator.buffer(bytes: bytes)
            response.sessionLifetimeMs = lifetime
            return .respond(Self.frame(response, context: context, allocator: allocator))
        case .failed(let reason):
            response.errorCode = ErrorCode.saslAuthenticationFailed.rawValue
            response.errorMessage = SaslSession.failureMessage
            return .respondAndClose(Self.frame(response, context: context, allocator: allocator), reason: reason)
        }
    }

    /// The request and its context; nil for anything that does not decode (the connection closes).
    private static func decode<R: KafkaRequest>(_ type: R.Type, _ frame: ByteBuffer) -> (R, RequestContext)? {
        var frame = frame
        guard let version = frame.getInteger(at: frame.readerIndex + 2, endianness: .big, as: Int16.self),
              R.validVersions.contains(version), version <= maxVersion(R.apiKey),
              let header = try? RequestHeader(from: &frame, version: R.requestHeaderVersion(version)),
              let request = try? R(from: &frame, version: version)
        else { return nil }
        return (request, RequestContext(apiVersion: version, correlationId: header.correlationId,
                                        clientId: header.clientId, clientHost: ""))
    }

    /// The versions served (SaslHandshake 0–1, SaslAuthenticate 0–2), as the registry advertises.
    private static func maxVersion(_ key: ApiKey) -> Int16 {
        key == .saslHandshake ? 1 : 2
    }

    private static func frame<R: KafkaResponse>(_ response: R, context: RequestContext, allocator: ByteBufferAllocator) -> ByteBuffer {
        switch AnyApiHandler.frame(response, context: context, allocator: allocator) {
        case .single(let buffer): return buffer
        case .parts(var parts):
            var first = parts.removeFirst()
            for var p in parts { first.writeBuffer(&p) }
            return first
        }
    }

    private static func raw(_ bytes: [UInt8], allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 4 + bytes.count)
        out.writeInteger(Int32(bytes.count))
        out.writeBytes(bytes)
        return out
    }
}

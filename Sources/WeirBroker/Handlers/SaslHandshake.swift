import KafkaProtocol
import WeirStorage

/// SaslHandshake (17) where no SASL exchange is due: on a listener without SASL, or on an
/// authenticated connection that is not re-authenticating. A SASL listener's connection answers
/// the real handshakes itself (`SaslSession`); this registration is what ApiVersions advertises.
/// Kafka answers these with ILLEGAL_SASL_STATE, and so does Weir.
struct SaslHandshakeHandler: ApiHandler {
    typealias Request = SaslHandshakeRequest
    var versions: ClosedRange<Int16> { 0...1 }

    func handleImmediately(_ request: SaslHandshakeRequest, context: RequestContext) -> Immediate<SaslHandshakeResponse> {
        .now(SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: []))
    }

    func handle(_ request: SaslHandshakeRequest, context: RequestContext) async throws -> SaslHandshakeResponse? {
        SaslHandshakeResponse(errorCode: ErrorCode.illegalSaslState.rawValue, mechanisms: [])
    }
}

/// SaslAuthenticate (36) where no SASL exchange is due (see `SaslHandshakeHandler`).
struct SaslAuthenticateHandler: ApiHandler {
    typealias Request = SaslAuthenticateRequest
    var versions: ClosedRange<Int16> { 0...2 }

    func handleImmediately(_ request: SaslAuthenticateRequest, context: RequestContext) -> Immediate<SaslAuthenticateResponse> {
        .now(response())
    }

    func handle(_ request: SaslAuthenticateRequest, context: RequestContext) async throws -> SaslAuthenticateResponse? {
        response()
    }

    private func response() -> SaslAuthenticateResponse {
        var r = SaslAuthenticateResponse()
        r.errorCode = ErrorCode.illegalSaslState.rawValue
        r.errorMessage = "Unexpected SaslAuthenticate: no SASL authentication is in progress on this connection"
        return r
    }
}

import KafkaProtocol
import WeirStorage

/// What a SASL listener needs to authenticate its clients.
public struct SaslServerConfig: Sendable {
    /// `sasl.enabled.mechanisms`, in order: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512.
    public var mechanisms: [String]
    /// PLAIN's users for this listener (`listener.name.<l>.plain.sasl.jaas.config`).
    public var plainUsers: [String: String]
    /// SCRAM credentials.
    public var credentials: any MetadataStore
    /// `connections.max.reauth.ms`; nil (0) = sessions do not expire.
    public var maxReauthMs: Int64?
    /// `connection.failed.authentication.delay.ms`.
    public var failedAuthenticationDelayMs: Int64
    /// Keys SCRAM's fake salts of unknown users.
    public var fakeSaltKey: [UInt8]
    /// `sasl.server.max.receive.size`: the largest frame before authentication.
    public var maxReceiveBytes: Int = 524_288

    public init(mechanisms: [String], plainUsers: [String: String], credentials: any MetadataStore,
                maxReauthMs: Int64? = nil, failedAuthenticationDelayMs: Int64 = 100, fakeSaltKey: [UInt8]) {
        self.mechanisms = mechanisms
        self.plainUsers = plainUsers
        self.credentials = credentials
        self.maxReauthMs = maxReauthMs
        self.failedAuthenticationDelayMs = failedAuthenticationDelayMs
        self.fakeSaltKey = fakeSaltKey
    }

    public static let supportedMechanisms = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
}

/// The SASL authentication of one connection (Kafka's `SaslServerAuthenticator`), as a pure
/// state machine: the connection asks it what to do with each request (`admit`) and hands it
/// the SASL requests; it answers with what to send and whether to go on or close. No I/O, and
/// the time is a parameter, so tests drive it with plain values.
///
/// Kafka's rules, which it keeps:
/// - Before authentication only ApiVersions and SaslHandshake, then only SaslAuthenticate
///   (SaslHandshake v0: raw SASL tokens, without Kafka framing); anything else closes.
/// - A failed authentication answers SASL_AUTHENTICATION_FAILED with one message for every
///   cause, so that it never tells whether the user exists; the connection then closes (after
///   `connection.failed.authentication.delay.ms`, which the connection applies).
/// - KIP-368: with `connections.max.reauth.ms`, SaslAuthenticate v1+ tells the client its session
///   lifetime; a SaslHandshake on an authenticated connection starts a re-authentication, which
///   must use the same mechanism and name the same principal; a request other than SaslHandshake
///   after the session expired closes the connection.
public struct SaslSession: Sendable {
    public enum Admission: Equatable, Sendable {
        /// Serve it normally, as this principal.
        case dispatch(KafkaPrincipal)
        /// A SaslHandshake: call `handshake`.
        case handshake
        /// A SaslAuthenticate: call `authenticate`.
        case authenticate
        /// The frame is a raw SASL token (after SaslHandshake v0): call `authenticate`.
        case rawToken
        /// Close the connection; the reason is for the log.
        case close(String)
    }

    public enum Outcome: Equatable, Sendable {
        /// Send the answer and wait for the next message.
        case challenge([UInt8])
        /// Authenticated; send the answer (may be empty) with this session lifetime (0 = none).
        case authenticated([UInt8], sessionLifetimeMs: Int64)
        /// Send SASL_AUTHENTICATION_FAILED (or, for raw tokens, nothing) and close. The reason is for the log.
        case failed(reason: String)
    }

    private enum Exchange: Sendable {
        case plain(PlainAuthenticator)
        case scram(ScramServerExchange)
    }

    private enum State: Sendable {
        case awaitingHandshake
        case awaitingToken(mechanism: String, Exchange, raw: Bool)
        case authenticated(KafkaPrincipal, mechanism: String, expiresAtMs: Int64?)
        case failed
    }

    public let config: SaslServerConfig
    private var state = State.awaitingHandshake
    /// The principal of the first authentication, which a re-authentication must repeat.
    public private(set) var principal: KafkaPrincipal?
    private var mechanismOfSession: String?

    /// The message of every failed authentication (Kafka's, for invalid credentials).
    public static let failureMessage = "Authentication failed: Invalid username or password"

    public init(config: SaslServerConfig) {
        self.config = config
    }

    public var isAuthenticated: Bool {
        if case .authenticated = state { return true }
        return false
    }

    public mutating func admit(apiKey: Int16, nowMs: Int64) -> Admission {
        switch state {
        case .awaitingHandshake:
            if apiKey == ApiKey.apiVersions.rawValue { return .dispatch(.anonymous) }
            if apiKey == ApiKey.saslHandshake.rawValue { return .handshake }
            state = .failed
            return .close("\(Self.name(apiKey)) request before SASL authentication")
        case .awaitingToken(_, _, let raw):
            if raw { return .rawToken }
            if apiKey == ApiKey.saslAuthenticate.rawValue { return .authenticate }
            state = .failed
            return .close("\(Self.name(apiKey)) request during SASL authentication (expected SaslAuthenticate)")
        case .authenticated(let principal, _, let expiresAtMs):
            if apiKey == ApiKey.saslHandshake.rawValue { return .handshake }
            if let expiresAtMs, nowMs >= expiresAtMs {
                state = .failed
                return .close("SASL session of \(principal) expired (connections.max.reauth.ms) without re-authentication")
            }
            return .dispatch(principal)
        case .failed:
            return .close("request after a failed SASL authentication")
        }
    }

    /// SaslHandshake: the mechanisms on offer, and the chosen one's exchange started. An
    /// unsupported mechanism answers UNSUPPORTED_SASL_MECHANISM and `closes` is true.
    public mutating func handshake(mechanism: String, version: Int16) -> (errorCode: ErrorCode, mechanisms: [String], closes: Bool) {
        let reauthenticating: Bool
        switch state {
        case .awaitingHandshake: reauthenticating = false
        case .authenticated: reauthenticating = true
        default:
            state = .failed
            return (.illegalSaslState, config.mechanisms, true)
        }
        guard config.mechanisms.contains(mechanism) else {
            state = .failed
            return (.unsupportedSaslMechanism, config.mechanisms, true)
        }
        if reauthenticating, version == 0 || mechanism != mechanismOfSession {
            state = .failed
            return (.illegalSaslState, config.mechanisms, true)
        }
        let exchange: Exchange
        switch mechanism {
        case "PLAIN":
            exchange = .plain(PlainAuthenticator(users: config.plainUsers))
        default:
            guard let scram = ScramMechanism(rawValue: mechanism) else {
                state = .failed
                return (.unsupportedSaslMechanism, config.mechanisms, true)
            }
            let store = config.credentials
            exchange = .scram(ScramServerExchange(mechanism: scram, fakeSaltKey: config.fakeSaltKey,
                                                  lookup: { store.scramCredential(user: $0, mechanism: scram) }))
        }
        state = .awaitingToken(mechanism: mechanism, exchange, raw: version == 0)
        return (.none, config.mechanisms, false)
    }

    /// A SASL token (SaslAuthenticate's auth bytes, or a raw token after SaslHandshake v0).
    public mutating func authenticate(_ token: [UInt8], nowMs: Int64) -> Outcome {
        guard case .awaitingToken(let mechanism, var exchange, let raw) = state else {
            state = .failed
            return .failed(reason: "SaslAuthenticate without a SaslHandshake")
        }
        let user: String
        let answer: [UInt8]
        switch exchange {
        case .plain(let plain):
            switch plain.authenticate(token) {
            case .success(let u):
                user = u
                answer = []
            case .failure(let f):
                state = .failed
                return .failed(reason: f.reason)
            }
        case .scram(var scram):
            let step = scram.receive(token)
            exchange = .scram(scram)
            switch step {
            case .challenge(let bytes):
                state = .awaitingToken(mechanism: mechanism, exchange, raw: raw)
                return .challenge(bytes)
            case .authenticated(let u, let serverFinal):
                user = u
                answer = serverFinal
            case .failed(let reason):
                state = .failed
                return .failed(reason: reason)
            }
        }
        let principal = KafkaPrincipal.user(user)
        if let previous = self.principal, previous != principal {
            state = .failed
            return .failed(reason: "re-authentication as \(principal), not \(previous)")
        }
        self.principal = principal
        mechanismOfSession = mechanism
        let lifetime = config.maxReauthMs ?? 0
        state = .authenticated(principal, mechanism: mechanism, expiresAtMs: config.maxReauthMs.map { nowMs + $0 })
        return .authenticated(answer, sessionLifetimeMs: lifetime)
    }

    private static func name(_ apiKey: Int16) -> String {
        ApiKey(rawValue: apiKey).map { $0.name } ?? "api key \(apiKey)"
    }
}

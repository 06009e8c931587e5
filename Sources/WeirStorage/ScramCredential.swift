import Foundation

/// The SCRAM mechanisms (RFC 5802, RFC 7677), with the codes AlterUserScramCredentials and
/// DescribeUserScramCredentials carry (KIP-554).
public enum ScramMechanism: String, Sendable, CaseIterable, Hashable, Codable {
    case sha256 = "SCRAM-SHA-256"
    case sha512 = "SCRAM-SHA-512"

    /// KIP-554's mechanism byte: 1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512.
    public var kafkaCode: Int8 { self == .sha256 ? 1 : 2 }

    public init?(kafkaCode: Int8) {
        switch kafkaCode {
        case 1: self = .sha256
        case 2: self = .sha512
        default: return nil
        }
    }

    /// Kafka's bounds on the iteration count.
    public static let minIterations: Int32 = 4096
    public static let maxIterations: Int32 = 16384
}

/// What the broker keeps of a SCRAM password (RFC 5802 §3): never the password, only what
/// verifies a client proof and signs the server's answer.
public struct ScramCredential: Sendable, Equatable, Codable {
    public var salt: [UInt8]
    public var iterations: Int32
    /// H(HMAC(SaltedPassword, "Client Key")).
    public var storedKey: [UInt8]
    /// HMAC(SaltedPassword, "Server Key").
    public var serverKey: [UInt8]

    public init(salt: [UInt8], iterations: Int32, storedKey: [UInt8], serverKey: [UInt8]) {
        self.salt = salt
        self.iterations = iterations
        self.storedKey = storedKey
        self.serverKey = serverKey
    }
}

extension ScramCredential {
    private enum CodingKeys: String, CodingKey { case salt, iterations, storedKey, serverKey }

    // The byte strings as base64, so that the stored JSON reads like Kafka's own
    // `SCRAM-SHA-256=[salt=…,stored_key=…,server_key=…,iterations=4096]`.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        salt = Array(try c.decode(Data.self, forKey: .salt))
        iterations = try c.decode(Int32.self, forKey: .iterations)
        storedKey = Array(try c.decode(Data.self, forKey: .storedKey))
        serverKey = Array(try c.decode(Data.self, forKey: .serverKey))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Data(salt), forKey: .salt)
        try c.encode(iterations, forKey: .iterations)
        try c.encode(Data(storedKey), forKey: .storedKey)
        try c.encode(Data(serverKey), forKey: .serverKey)
    }
}

/// One change of AlterUserScramCredentials.
public enum ScramCredentialChange: Sendable, Equatable {
    case upsert(user: String, mechanism: ScramMechanism, credential: ScramCredential)
    case delete(user: String, mechanism: ScramMechanism)
}

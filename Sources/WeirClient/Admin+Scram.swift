import KafkaProtocol
import NIOCore

/// A user's SCRAM credential as DescribeUserScramCredentials reports it: mechanism and iterations.
public struct ScramCredentialInfo: Sendable, Equatable {
    /// KIP-554's code: 1 = SCRAM-SHA-256, 2 = SCRAM-SHA-512.
    public var mechanism: Int8
    public var iterations: Int32

    public var mechanismName: String {
        switch mechanism {
        case 1: return "SCRAM-SHA-256"
        case 2: return "SCRAM-SHA-512"
        default: return "UNKNOWN"
        }
    }
}

/// SCRAM credential administration (KIP-554), as kafka-configs.sh does it for `--entity-type users`.
extension Admin {
    /// One upsertion: the client salts the password (`saltedPassword` = Hi(password, salt, iterations)).
    public struct ScramUpsertion: Sendable {
        public var user: String
        public var mechanism: Int8
        public var iterations: Int32
        public var salt: [UInt8]
        public var saltedPassword: [UInt8]

        public init(user: String, mechanism: Int8, iterations: Int32, salt: [UInt8], saltedPassword: [UInt8]) {
            self.user = user
            self.mechanism = mechanism
            self.iterations = iterations
            self.salt = salt
            self.saltedPassword = saltedPassword
        }
    }

    /// AlterUserScramCredentials; throws the first user's error.
    public func alterScramCredentials(upsert: [ScramUpsertion], delete: [(user: String, mechanism: Int8)]) async throws {
        var request = AlterUserScramCredentialsRequest()
        request.upsertions = upsert.map {
            .init(name: $0.user, mechanism: $0.mechanism, iterations: $0.iterations,
                  salt: ByteBuffer(bytes: $0.salt), saltedPassword: ByteBuffer(bytes: $0.saltedPassword))
        }
        request.deletions = delete.map { .init(name: $0.user, mechanism: $0.mechanism) }
        let response = try await call(request)
        for result in response.results {
            try KafkaError.check(result.errorCode, message: result.errorMessage, context: "user '\(result.user)'")
        }
    }

    /// DescribeUserScramCredentials of `users` (nil: every user).
    public func describeScramCredentials(_ users: [String]?) async throws -> [(user: String, credentials: [ScramCredentialInfo])] {
        var request = DescribeUserScramCredentialsRequest()
        request.users = users?.map { .init(name: $0) }
        let response = try await call(request)
        try KafkaError.check(response.errorCode, message: response.errorMessage, context: "describing SCRAM credentials")
        return try response.results.map { r in
            try KafkaError.check(r.errorCode, message: r.errorMessage, context: "user '\(r.user)'")
            return (r.user, r.credentialInfos.map { ScramCredentialInfo(mechanism: $0.mechanism, iterations: $0.iterations) })
        }
    }
}

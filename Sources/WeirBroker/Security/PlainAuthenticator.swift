/// SASL/PLAIN (RFC 4616) against the users of Kafka's JAAS property
/// (`listener.name.<listener>.plain.sasl.jaas.config=… user_alice="alice-secret";`).
/// PLAIN sends the password itself, so use it on SASL_SSL listeners.
public struct PlainAuthenticator: Sendable {
    /// user name → password.
    let users: [String: String]

    public init(users: [String: String]) {
        self.users = users
    }

    /// `authzid NUL authcid NUL password`; the authzid must be empty or the user itself, as in
    /// Kafka. Returns the user, or the reason it failed (for the log only).
    public func authenticate(_ token: [UInt8]) -> Result<String, PlainFailure> {
        let parts = token.split(separator: 0, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3,
              let authzid = String(validating: parts[0], as: UTF8.self),
              let user = String(validating: parts[1], as: UTF8.self),
              let password = String(validating: parts[2], as: UTF8.self),
              !user.isEmpty, !password.isEmpty
        else { return .failure(PlainFailure(reason: "malformed PLAIN token")) }
        guard authzid.isEmpty || authzid == user else {
            return .failure(PlainFailure(reason: "authorization id \(authzid) differs from \(user)"))
        }
        // Compare against something even for an unknown user, so that timing tells nothing.
        let expected = users[user] ?? "\u{0}unknown-user\u{0}"
        guard ScramFormatter.constantTimeEqual(Array(expected.utf8), Array(password.utf8)), users[user] != nil else {
            return .failure(PlainFailure(reason: "invalid credentials for \(user)"))
        }
        return .success(user)
    }
}

public struct PlainFailure: Error, Equatable {
    public var reason: String
}

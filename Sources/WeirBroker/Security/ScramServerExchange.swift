import Foundation
import WeirStorage

/// The server side of one SCRAM exchange (RFC 5802 §5), as a pure state machine: it is given the
/// client's messages and answers with the server's, or with a failure. Credentials come from a
/// lookup closure (the metadata store), nonces from an injected generator, so tests run it with
/// RFC 7677's own vectors.
///
/// It never tells whether a user exists: an unknown user gets a server-first message with a
/// salt derived from the name (stable, so that two attempts look alike) and the default
/// iterations, and fails at the proof exactly as a wrong password does.
///
/// Refused: channel binding (`p=`; Kafka does not support it either), extensions other than
/// none (Kafka's `tokenauth` is for delegation tokens, which Weir has not), a nonce in the final
/// message other than the one the server sent, and anything malformed.
public struct ScramServerExchange: Sendable {
    public enum Step: Equatable, Sendable {
        /// Send these bytes and wait for the client's next message.
        case challenge([UInt8])
        /// Authenticated as `user`; send these bytes (server-final) as the last answer.
        case authenticated(user: String, serverFinal: [UInt8])
        /// Fail; `reason` is for the log, never for the client.
        case failed(reason: String)
    }

    private enum State: Sendable {
        case awaitingClientFirst
        case awaitingClientFinal(user: String, clientFirstBare: String, serverFirst: String, nonce: String,
                                 gs2Header: String, credential: ScramCredential?)
        case done
    }

    public let mechanism: ScramMechanism
    private let formatter: ScramFormatter
    private let lookup: @Sendable (String) -> ScramCredential?
    private let serverNonce: @Sendable () -> String
    /// Keys the fake salt of unknown users (random per broker start).
    private let fakeSaltKey: [UInt8]
    private var state = State.awaitingClientFirst

    public init(mechanism: ScramMechanism, fakeSaltKey: [UInt8],
                lookup: @escaping @Sendable (String) -> ScramCredential?,
                serverNonce: @escaping @Sendable () -> String = ScramServerExchange.randomNonce) {
        self.mechanism = mechanism
        self.formatter = ScramFormatter(mechanism)
        self.fakeSaltKey = fakeSaltKey
        self.lookup = lookup
        self.serverNonce = serverNonce
    }

    /// 32 characters of [0-9a-z], as Kafka's own server nonces (`ScramFormatter.secureRandomString`).
    public static func randomNonce() -> String {
        var g = SystemRandomNumberGenerator()
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<32).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &g)] })
    }

    public mutating func receive(_ bytes: [UInt8]) -> Step {
        switch state {
        case .awaitingClientFirst:
            return clientFirst(bytes)
        case let .awaitingClientFinal(user, clientFirstBare, serverFirst, nonce, gs2Header, credential):
            state = .done
            return clientFinal(bytes, user: user, clientFirstBare: clientFirstBare, serverFirst: serverFirst,
                               nonce: nonce, gs2Header: gs2Header, credential: credential)
        case .done:
            return .failed(reason: "SCRAM message after the exchange ended")
        }
    }

    /// `n,,n=user,r=nonce` (gs2 header `n` or `y`, no authzid or one equal to the user).
    private mutating func clientFirst(_ bytes: [UInt8]) -> Step {
        state = .done
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failed(reason: "client-first is not UTF-8") }
        let parts = text.split(separator: ",", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "n" || parts[0] == "y" else {
            return .failed(reason: "client-first: unsupported or malformed gs2 header (channel binding is not supported)")
        }
        let bare = String(parts[2])
        let attributes = Self.attributes(bare)
        guard let encodedUser = attributes.first(where: { $0.0 == "n" })?.1, attributes.first?.0 == "n",
              let clientNonce = attributes.first(where: { $0.0 == "r" })?.1, !clientNonce.isEmpty,
              let user = Self.saslName(encodedUser), !user.isEmpty
        else { return .failed(reason: "client-first: malformed '\(bare.prefix(64))'") }
        guard attributes.allSatisfy({ $0.0 == "n" || $0.0 == "r" }) else {
            return .failed(reason: "client-first: extensions are not supported")
        }
        if !parts[1].isEmpty {
            guard parts[1].hasPrefix("a="), Self.saslName(String(parts[1].dropFirst(2))) == user else {
                return .failed(reason: "client-first: authorization id differs from the user")
            }
        }
        let credential = lookup(user)
        let salt = credential?.salt ?? Array(formatter.hmac(key: fakeSaltKey, Array(user.utf8)).prefix(32))
        let iterations = credential?.iterations ?? ScramMechanism.minIterations
        let nonce = clientNonce + serverNonce()
        let serverFirst = "r=\(nonce),s=\(Data(salt).base64EncodedString()),i=\(iterations)"
        state = .awaitingClientFinal(user: user, clientFirstBare: bare, serverFirst: serverFirst, nonce: nonce,
                                     gs2Header: String(parts[0]) + "," + String(parts[1]) + ",", credential: credential)
        return .challenge(Array(serverFirst.utf8))
    }

    /// `c=biws,r=nonce,p=proof`.
    private func clientFinal(_ bytes: [UInt8], user: String, clientFirstBare: String, serverFirst: String,
                             nonce: String, gs2Header: String, credential: ScramCredential?) -> Step {
        guard let text = String(validating: bytes, as: UTF8.self) else { return .failed(reason: "client-final is not UTF-8") }
        guard let proofRange = text.range(of: ",p=", options: .backwards) else {
            return .failed(reason: "client-final: no proof")
        }
        let withoutProof = String(text[..<proofRange.lowerBound])
        let attributes = Self.attributes(withoutProof)
        guard attributes.count == 2, attributes[0].0 == "c", attributes[1].0 == "r" else {
            return .failed(reason: "client-final: malformed")
        }
        guard attributes[0].1 == Data(gs2Header.utf8).base64EncodedString() else {
            return .failed(reason: "client-final: channel binding differs from the gs2 header")
        }
        guard attributes[1].1 == nonce else { return .failed(reason: "client-final: nonce mismatch") }
        guard let proof = Data(base64Encoded: String(text[proofRange.upperBound...])).map(Array.init),
              proof.count == formatter.hash([]).count
        else { return .failed(reason: "client-final: malformed proof") }
        guard let credential else { return .failed(reason: "unknown user \(user)") }
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let clientSignature = formatter.hmac(key: credential.storedKey, authMessage)
        let clientKey = zip(proof, clientSignature).map { $0 ^ $1 }
        guard ScramFormatter.constantTimeEqual(formatter.hash(clientKey), credential.storedKey) else {
            return .failed(reason: "invalid proof for \(user)")
        }
        let serverSignature = formatter.hmac(key: credential.serverKey, authMessage)
        return .authenticated(user: user, serverFinal: Array("v=\(Data(serverSignature).base64EncodedString())".utf8))
    }

    /// `k=v,k=v` → [(k, v)]; an attribute without `=` gives an empty key (refused by the callers).
    static func attributes(_ s: String) -> [(String, String)] {
        s.split(separator: ",", omittingEmptySubsequences: false).map { part in
            guard part.count >= 2, part.dropFirst().first == "=" else { return ("", String(part)) }
            return (String(part.prefix(1)), String(part.dropFirst(2)))
        }
    }

    /// RFC 5802's saslname: `=2C` is `,` and `=3D` is `=`; any other `=` is malformed.
    static func saslName(_ s: String) -> String? {
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "=" {
                let code = s[s.index(after: i)...].prefix(2)
                switch code {
                case "2C": out.append(",")
                case "3D": out.append("=")
                default: return nil
                }
                i = s.index(i, offsetBy: 3)
            } else {
                out.append(s[i])
                i = s.index(after: i)
            }
        }
        return out
    }
}

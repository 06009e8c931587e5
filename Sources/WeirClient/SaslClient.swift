import Crypto
import Foundation
import KafkaProtocol
import NIOCore

/// The client side of SASL for the tools: SaslHandshake v1, then SaslAuthenticate v1 with PLAIN
/// (one message) or SCRAM (RFC 5802: client-first, client-final, and the server's signature
/// checked, so that a server that does not know the password cannot pass).
enum SaslClient {
    struct Failed: Error, CustomStringConvertible {
        var description: String
    }

    static func authenticate(_ c: KafkaConnection, _ sasl: ClientSecurity.Sasl) async throws {
        let handshake = try await c.send(SaslHandshakeRequest(mechanism: sasl.mechanism.rawValue), version: 1)
        guard handshake.errorCode == 0 else {
            throw KafkaError(code: handshake.errorCode, context: "SASL handshake (\(sasl.mechanism.rawValue); the broker offers \(handshake.mechanisms.joined(separator: ", ")))")
        }
        switch sasl.mechanism {
        case .plain:
            _ = try await step(c, Array("\0\(sasl.username)\0\(sasl.password)".utf8))
        case .scramSha256, .scramSha512:
            try await scram(c, sasl)
        }
    }

    private static func step(_ c: KafkaConnection, _ token: [UInt8]) async throws -> [UInt8] {
        var request = SaslAuthenticateRequest()
        request.authBytes = ByteBuffer(bytes: token)
        let response = try await c.send(request, version: 1)
        guard response.errorCode == 0 else {
            throw KafkaError(code: response.errorCode, message: response.errorMessage, context: "SASL authentication")
        }
        return response.authBytes.getBytes(at: response.authBytes.readerIndex, length: response.authBytes.readableBytes) ?? []
    }

    private static func scram(_ c: KafkaConnection, _ sasl: ClientSecurity.Sasl) async throws {
        let sha512 = sasl.mechanism == .scramSha512
        func hmac(_ key: [UInt8], _ data: [UInt8]) -> [UInt8] {
            sha512 ? Array(HMAC<SHA512>.authenticationCode(for: data, using: SymmetricKey(data: key)))
                : Array(HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: key)))
        }
        func hash(_ data: [UInt8]) -> [UInt8] { sha512 ? Array(SHA512.hash(data: data)) : Array(SHA256.hash(data: data)) }

        let user = sasl.username.replacingOccurrences(of: "=", with: "=3D").replacingOccurrences(of: ",", with: "=2C")
        var g = SystemRandomNumberGenerator()
        let nonce = Data((0..<24).map { _ in UInt8.random(in: 0...255, using: &g) }).base64EncodedString()
        let clientFirstBare = "n=\(user),r=\(nonce)"
        let serverFirst = String(decoding: try await step(c, Array("n,,\(clientFirstBare)".utf8)), as: UTF8.self)
        var fields: [Character: String] = [:]
        for part in serverFirst.split(separator: ",") where part.count >= 2 {
            fields[part.first!] = String(part.dropFirst(2))
        }
        guard let combined = fields["r"], combined.hasPrefix(nonce), let saltText = fields["s"],
              let salt = Data(base64Encoded: saltText), let iterations = fields["i"].flatMap({ Int($0) }), iterations > 0
        else { throw Failed(description: "SCRAM: malformed server-first message") }
        var u = hmac(Array(sasl.password.utf8), Array(salt) + [0, 0, 0, 1])
        var salted = u
        for _ in 1..<max(iterations, 1) {
            u = hmac(Array(sasl.password.utf8), u)
            for j in 0..<salted.count { salted[j] ^= u[j] }
        }
        let clientKey = hmac(salted, Array("Client Key".utf8))
        let withoutProof = "c=biws,r=\(combined)"
        let authMessage = Array("\(clientFirstBare),\(serverFirst),\(withoutProof)".utf8)
        let signature = hmac(hash(clientKey), authMessage)
        let proof = zip(clientKey, signature).map { $0 ^ $1 }
        let serverFinal = String(decoding: try await step(c, Array("\(withoutProof),p=\(Data(proof).base64EncodedString())".utf8)),
                                 as: UTF8.self)
        let expected = "v=" + Data(hmac(hmac(salted, Array("Server Key".utf8)), authMessage)).base64EncodedString()
        guard serverFinal == expected else { throw Failed(description: "SCRAM: the broker's signature does not verify") }
    }
}

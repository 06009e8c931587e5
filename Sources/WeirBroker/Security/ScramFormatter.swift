import Crypto
import WeirStorage

/// SCRAM's functions (RFC 5802 §2.2) for one hash: HMAC, H, Hi (PBKDF2 with HMAC), and the
/// stored credential derived from a salted password. Shared by the broker (verifying proofs,
/// turning AlterUserScramCredentials' salted passwords into credentials) and the tools
/// (`weir configs --add-config 'SCRAM-SHA-256=[password=…]'` salts on the client, as Kafka's does).
public struct ScramFormatter: Sendable {
    public let mechanism: ScramMechanism

    public init(_ mechanism: ScramMechanism) {
        self.mechanism = mechanism
    }

    public func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        let key = SymmetricKey(data: key)
        switch mechanism {
        case .sha256: return Array(HMAC<SHA256>.authenticationCode(for: data, using: key))
        case .sha512: return Array(HMAC<SHA512>.authenticationCode(for: data, using: key))
        }
    }

    public func hash(_ data: [UInt8]) -> [UInt8] {
        switch mechanism {
        case .sha256: return Array(SHA256.hash(data: data))
        case .sha512: return Array(SHA512.hash(data: data))
        }
    }

    /// Hi(password, salt, i): PBKDF2 with this HMAC, one block.
    public func saltedPassword(_ password: [UInt8], salt: [UInt8], iterations: Int32) -> [UInt8] {
        var u = hmac(key: password, salt + [0, 0, 0, 1])
        var result = u
        if iterations > 1 {
            for _ in 1..<iterations {
                u = hmac(key: password, u)
                for j in 0..<result.count { result[j] ^= u[j] }
            }
        }
        return result
    }

    public func clientKey(saltedPassword: [UInt8]) -> [UInt8] { hmac(key: saltedPassword, Array("Client Key".utf8)) }

    /// The credential the broker keeps: StoredKey = H(ClientKey), ServerKey = HMAC(SaltedPassword, "Server Key").
    public func credential(saltedPassword: [UInt8], salt: [UInt8], iterations: Int32) -> ScramCredential {
        ScramCredential(salt: salt, iterations: iterations,
                        storedKey: hash(clientKey(saltedPassword: saltedPassword)),
                        serverKey: hmac(key: saltedPassword, Array("Server Key".utf8)))
    }

    public func credential(password: String, salt: [UInt8], iterations: Int32) -> ScramCredential {
        credential(saltedPassword: saltedPassword(Array(password.utf8), salt: salt, iterations: iterations),
                   salt: salt, iterations: iterations)
    }

    /// Byte arrays equal, in time independent of where they differ.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<a.count { diff |= a[i] ^ b[i] }
        return diff == 0
    }
}

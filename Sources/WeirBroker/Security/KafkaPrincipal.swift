/// Who sent a request, as Kafka names it: `User:alice`. Kafka's default principal builder gives
/// `User:ANONYMOUS` on a PLAINTEXT listener (and on SSL without a client certificate), `User:` +
/// the certificate's subject (RFC 2253) with mutual TLS, and `User:` + the SASL user name after
/// SASL. ACLs name principals in this form, so it is also their storage form.
public struct KafkaPrincipal: Hashable, Sendable, CustomStringConvertible {
    public var type: String
    public var name: String

    public init(type: String, name: String) {
        self.type = type
        self.name = name
    }

    public static func user(_ name: String) -> KafkaPrincipal { KafkaPrincipal(type: "User", name: name) }

    public static let anonymous = KafkaPrincipal.user("ANONYMOUS")

    /// `Type:name` (split at the first colon, as Kafka's `SecurityUtils.parseKafkaPrincipal`);
    /// nil when there is no colon or either side is empty.
    public init?(parsing text: String) {
        guard let colon = text.firstIndex(of: ":") else { return nil }
        let type = String(text[..<colon])
        let name = String(text[text.index(after: colon)...])
        guard !type.isEmpty, !name.isEmpty else { return nil }
        self.init(type: type, name: name)
    }

    public var description: String { "\(type):\(name)" }
}

import WeirBroker

/// `authorizer.class.name`, `super.users` and `allow.everyone.if.no.acl.found`, Kafka's names.
/// Either of Kafka's authorizer class names turns Weir's ACL authorizer on (both decide the
/// same way); any other class is refused, since Weir cannot load Java code.
public struct AuthorizerSettings: Sendable, Equatable {
    public var enabled = false
    /// `User:admin;User:ops` (semicolon-separated, as Kafka).
    public var superUsers: Set<String> = []
    public var allowEveryoneIfNoAclFound = false

    public init() {}

    static let kafkaAuthorizers = [
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "kafka.security.authorizer.AclAuthorizer",
    ]

    static let setters: [String: @Sendable (inout AuthorizerSettings, String) throws -> Void] = [
        "authorizer.class.name": { s, v in
            let name = v.trimmingSpaces()
            if name.isEmpty {
                s.enabled = false
                return
            }
            guard kafkaAuthorizers.contains(name) else {
                throw BrokerProperties.Invalid(description: "authorizer.class.name=\(name) is not supported; use "
                    + kafkaAuthorizers.joined(separator: " or ") + " (Weir's ACL authorizer), or leave it unset")
            }
            s.enabled = true
        },
        "super.users": { s, v in
            var users = Set<String>()
            for entry in v.split(separator: ";").map({ $0.trimmingSpaces() }) where !entry.isEmpty {
                guard let principal = KafkaPrincipal(parsing: entry) else {
                    throw BrokerProperties.Invalid(description: "super.users: '\(entry)' is not a principal like User:admin")
                }
                users.insert(principal.description)
            }
            s.superUsers = users
        },
        "allow.everyone.if.no.acl.found": { s, v in
            switch v.lowercased() {
            case "true": s.allowEveryoneIfNoAclFound = true
            case "false": s.allowEveryoneIfNoAclFound = false
            default: throw BrokerProperties.Invalid(description: "allow.everyone.if.no.acl.found must be true or false, not '\(v)'")
            }
        },
    ]

    public var rules: AclRules.Config {
        AclRules.Config(superUsers: superUsers, allowEveryoneIfNoAclFound: allowEveryoneIfNoAclFound)
    }
}

import WeirStorage

/// Kafka's authorization decision (StandardAuthorizer and AclAuthorizer agree on it), as a pure
/// function of the principal, the client's host, the operation, the resource and the ACLs:
///
/// 1. A super user (`super.users`) may do anything.
/// 2. The ACLs that apply are those whose pattern covers the resource (its literal name, the
///    literal `*`, or a prefix of its name), whose principal is the client's or `User:*`, and
///    whose host is the client's or `*`.
/// 3. A resource no ACL covers at all (whoever they name) is allowed only with
///    `allow.everyone.if.no.acl.found=true`.
/// 4. A DENY of the operation (or of ALL) wins over any ALLOW.
/// 5. Otherwise an ALLOW of the operation or of ALL allows; so does an ALLOW that implies it:
///    READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS.
/// 6. Anything else is denied.
public enum AclRules {
    public struct Config: Sendable, Equatable {
        public var superUsers: Set<String>
        public var allowEveryoneIfNoAclFound: Bool

        public init(superUsers: Set<String> = [], allowEveryoneIfNoAclFound: Bool = false) {
            self.superUsers = superUsers
            self.allowEveryoneIfNoAclFound = allowEveryoneIfNoAclFound
        }
    }

    public static func authorize(principal: KafkaPrincipal, host: String, operation: AclOperation,
                                 resourceType: AclResourceType, resourceName: String,
                                 acls: [AclBinding], config: Config) -> Bool {
        let who = principal.description
        if config.superUsers.contains(who) { return true }
        let wildcardPrincipal = "\(principal.type):*"
        var anyForResource = false
        var allowed = false
        for acl in acls where acl.covers(resourceType, resourceName) {
            anyForResource = true
            guard acl.principal == who || acl.principal == wildcardPrincipal, acl.host == host || acl.host == "*" else { continue }
            switch acl.permission {
            case .deny:
                if acl.operation == operation || acl.operation == .all { return false }
            case .allow:
                if acl.operation == operation || acl.operation == .all || implies(acl.operation, operation) { allowed = true }
            default:
                continue
            }
        }
        if !anyForResource { return config.allowEveryoneIfNoAclFound }
        return allowed
    }

    static func implies(_ granted: AclOperation, _ wanted: AclOperation) -> Bool {
        switch wanted {
        case .describe: return [.read, .write, .delete, .alter].contains(granted)
        case .describeConfigs: return granted == .alterConfigs
        default: return false
        }
    }
}

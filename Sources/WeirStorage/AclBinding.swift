/// Kafka's ACL model (KIP-290's patterns included), as CreateAcls, DescribeAcls and DeleteAcls
/// carry it: the raw values are Kafka's wire codes, and `name` is what kafka-acls.sh prints.

public enum AclResourceType: Int8, Sendable, Hashable, CaseIterable {
    case unknown = 0, any = 1, topic = 2, group = 3, cluster = 4, transactionalId = 5, delegationToken = 6, user = 7

    public var name: String {
        switch self {
        case .unknown: return "UNKNOWN"
        case .any: return "ANY"
        case .topic: return "TOPIC"
        case .group: return "GROUP"
        case .cluster: return "CLUSTER"
        case .transactionalId: return "TRANSACTIONAL_ID"
        case .delegationToken: return "DELEGATION_TOKEN"
        case .user: return "USER"
        }
    }
}

public enum AclPatternType: Int8, Sendable, Hashable, CaseIterable {
    case unknown = 0, any = 1, match = 2, literal = 3, prefixed = 4

    public var name: String {
        switch self {
        case .unknown: return "UNKNOWN"
        case .any: return "ANY"
        case .match: return "MATCH"
        case .literal: return "LITERAL"
        case .prefixed: return "PREFIXED"
        }
    }
}

public enum AclOperation: Int8, Sendable, Hashable, CaseIterable {
    case unknown = 0, any = 1, all = 2, read = 3, write = 4, create = 5, delete = 6, alter = 7, describe = 8
    case clusterAction = 9, describeConfigs = 10, alterConfigs = 11, idempotentWrite = 12
    case createTokens = 13, describeTokens = 14

    public var name: String {
        switch self {
        case .unknown: return "UNKNOWN"
        case .any: return "ANY"
        case .all: return "ALL"
        case .read: return "READ"
        case .write: return "WRITE"
        case .create: return "CREATE"
        case .delete: return "DELETE"
        case .alter: return "ALTER"
        case .describe: return "DESCRIBE"
        case .clusterAction: return "CLUSTER_ACTION"
        case .describeConfigs: return "DESCRIBE_CONFIGS"
        case .alterConfigs: return "ALTER_CONFIGS"
        case .idempotentWrite: return "IDEMPOTENT_WRITE"
        case .createTokens: return "CREATE_TOKENS"
        case .describeTokens: return "DESCRIBE_TOKENS"
        }
    }
}

public enum AclPermission: Int8, Sendable, Hashable, CaseIterable {
    case unknown = 0, any = 1, deny = 2, allow = 3

    public var name: String {
        switch self {
        case .unknown: return "UNKNOWN"
        case .any: return "ANY"
        case .deny: return "DENY"
        case .allow: return "ALLOW"
        }
    }
}

/// One ACL: who (principal `User:alice` or `User:*`, from host `*` or an address) may or may not
/// do what (operation) to which resources (a literal name, `*`, or a name prefix).
public struct AclBinding: Hashable, Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String
    /// `.literal` or `.prefixed`.
    public var patternType: AclPatternType
    public var principal: String
    public var host: String
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType, resourceName: String, patternType: AclPatternType, principal: String,
                host: String, operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    /// Whether this binding's pattern covers the resource `(type, name)`: the same type, and the
    /// same name, the wildcard `*` (literal), or a prefix of the name (prefixed).
    public func covers(_ type: AclResourceType, _ name: String) -> Bool {
        guard resourceType == type else { return false }
        switch patternType {
        case .literal: return resourceName == name || resourceName == "*"
        case .prefixed: return name.hasPrefix(resourceName)
        default: return false
        }
    }
}

/// DescribeAcls' and DeleteAcls' filter: nil and ANY match everything; MATCH matches every
/// binding that covers the named resource (its literal, `*` and prefixed patterns).
public struct AclBindingFilter: Hashable, Sendable {
    public var resourceType: AclResourceType
    public var resourceName: String?
    public var patternType: AclPatternType
    public var principal: String?
    public var host: String?
    public var operation: AclOperation
    public var permission: AclPermission

    public init(resourceType: AclResourceType, resourceName: String?, patternType: AclPatternType, principal: String?,
                host: String?, operation: AclOperation, permission: AclPermission) {
        self.resourceType = resourceType
        self.resourceName = resourceName
        self.patternType = patternType
        self.principal = principal
        self.host = host
        self.operation = operation
        self.permission = permission
    }

    public func matches(_ b: AclBinding) -> Bool {
        if resourceType != .any && resourceType != b.resourceType { return false }
        switch patternType {
        case .any:
            if let resourceName, resourceName != b.resourceName { return false }
        case .match:
            if let resourceName {
                switch b.patternType {
                case .literal: if b.resourceName != resourceName && b.resourceName != "*" { return false }
                case .prefixed: if !resourceName.hasPrefix(b.resourceName) { return false }
                default: return false
                }
            }
        default:
            if patternType != b.patternType { return false }
            if let resourceName, resourceName != b.resourceName { return false }
        }
        if let principal, principal != b.principal { return false }
        if let host, host != b.host { return false }
        if operation != .any && operation != b.operation { return false }
        if permission != .any && permission != b.permission { return false }
        return true
    }
}

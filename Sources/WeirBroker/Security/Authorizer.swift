import Synchronization
import WeirStorage

/// What request handlers ask before they act: may this request's principal, from its host, do
/// this operation to this resource? Handlers get this narrow object, not the ACL store.
///
/// Off (`authorizer.class.name` unset): everything is allowed, at the cost of one branch.
/// On: `AclRules` over the store's ACLs, with each decision cached — keyed by principal, host,
/// operation and resource, and dropped whole when the ACLs change (the store's `aclVersion`) —
/// so that the produce and fetch paths look up a dictionary instead of scanning the ACLs.
public final class Authorizer: Sendable {
    private struct Key: Hashable {
        var principal: KafkaPrincipal
        var host: String
        var operation: AclOperation
        var resourceType: AclResourceType
        var resourceName: String
    }

    private struct Cache {
        var version: UInt64 = .max
        var decisions: [Key: Bool] = [:]
    }

    /// Decisions kept before the cache starts over (a bound on memory, not a tuning knob).
    static let maxCachedDecisions = 100_000

    private let store: (any MetadataStore)?
    public let config: AclRules.Config
    private let cache = Mutex(Cache())

    /// Everything allowed: no authorizer configured.
    public static let allowAll = Authorizer(store: nil, config: AclRules.Config())

    /// - Parameter store: the ACLs; nil turns authorization off.
    public init(store: (any MetadataStore)?, config: AclRules.Config) {
        self.store = store
        self.config = config
    }

    public var isEnabled: Bool { store != nil }

    public func authorize(_ context: RequestContext, _ operation: AclOperation, _ type: AclResourceType, _ name: String) -> Bool {
        authorize(principal: context.principal, host: context.clientHost, operation, type, name)
    }

    public func authorize(principal: KafkaPrincipal, host: String, _ operation: AclOperation,
                          _ type: AclResourceType, _ name: String) -> Bool {
        guard let store else { return true }
        let key = Key(principal: principal, host: host, operation: operation, resourceType: type, resourceName: name)
        let version = store.aclVersion
        if let hit = cache.withLock({ c -> Bool? in c.version == version ? c.decisions[key] : nil }) {
            return hit
        }
        let decision = AclRules.authorize(principal: principal, host: host, operation: operation, resourceType: type,
                                          resourceName: name, acls: store.acls(), config: config)
        cache.withLock { c in
            if c.version != version || c.decisions.count >= Self.maxCachedDecisions {
                c = Cache(version: version, decisions: [:])
            }
            c.decisions[key] = decision
        }
        return decision
    }

    /// KIP-679's rule for idempotent producers: IdempotentWrite on the cluster, or Write on any
    /// topic (an ALLOW of Write on some topic pattern that no DENY of the principal overrides
    /// entirely is enough, as Kafka's `authorizeByResourceType`).
    public func authorizeIdempotentWrite(_ context: RequestContext) -> Bool {
        guard let store else { return true }
        if authorize(context, .idempotentWrite, .cluster, "kafka-cluster") { return true }
        return authorizeAnyTopicWrite(principal: context.principal, host: context.clientHost, acls: store.acls())
    }

    /// Kafka's `authorizeByResourceType(WRITE, TOPIC)`: a super user; or an ALLOW of WRITE/ALL on
    /// some topic pattern for the principal (or `User:*`) and host, not denied by a DENY of the
    /// same operation on the wildcard `*` or on a pattern that covers it; or, with
    /// `allow.everyone.if.no.acl.found`, no topic ACLs at all.
    func authorizeAnyTopicWrite(principal: KafkaPrincipal, host: String, acls: [AclBinding]) -> Bool {
        if config.superUsers.contains(principal.description) { return true }
        let who = [principal.description, "\(principal.type):*"]
        let mine = acls.filter { $0.resourceType == .topic && who.contains($0.principal) && ($0.host == host || $0.host == "*")
            && ($0.operation == .write || $0.operation == .all) }
        let denies = mine.filter { $0.permission == .deny }
        if denies.contains(where: { $0.patternType == .literal && $0.resourceName == "*" }) { return false }
        for allow in mine where allow.permission == .allow {
            let denied = denies.contains { d in
                (d.patternType == .literal && d.resourceName == allow.resourceName)
                    || (d.patternType == .prefixed && allow.resourceName.hasPrefix(d.resourceName))
            }
            if !denied { return true }
        }
        if config.allowEveryoneIfNoAclFound, !acls.contains(where: { $0.resourceType == .topic }) { return true }
        return false
    }
}

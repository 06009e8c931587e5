import Testing
import WeirBroker
import WeirStorage

/// The authorization decision as a pure function, exhaustively over operations, patterns,
/// principals and hosts; then the cached Authorizer and KIP-679's idempotent-write rule.
@Suite struct AuthorizerTests {
    static let alice = KafkaPrincipal.user("alice")
    static let bob = KafkaPrincipal.user("bob")
    static let concrete: [AclOperation] = [.read, .write, .create, .delete, .alter, .describe, .clusterAction,
                                           .describeConfigs, .alterConfigs, .idempotentWrite, .createTokens, .describeTokens]

    static func acl(_ op: AclOperation, _ permission: AclPermission = .allow, principal: String = "User:alice",
                    host: String = "*", type: AclResourceType = .topic, name: String = "orders",
                    pattern: AclPatternType = .literal) -> AclBinding {
        AclBinding(resourceType: type, resourceName: name, patternType: pattern, principal: principal, host: host,
                   operation: op, permission: permission)
    }

    static func decide(_ acls: [AclBinding], _ op: AclOperation, principal: KafkaPrincipal = alice, host: String = "10.0.0.1",
                       type: AclResourceType = .topic, name: String = "orders", config: AclRules.Config = .init()) -> Bool {
        AclRules.authorize(principal: principal, host: host, operation: op, resourceType: type, resourceName: name,
                           acls: acls, config: config)
    }

    /// Kafka's implication table: an ALLOW of `granted` allows `wanted` exactly when they are
    /// equal, `granted` is ALL, or it implies it (READ/WRITE/DELETE/ALTER → DESCRIBE,
    /// ALTER_CONFIGS → DESCRIBE_CONFIGS). A DENY denies only the same operation or ALL.
    @Test func everyGrantedOperationAgainstEveryWantedOne() {
        for granted in Self.concrete + [.all] {
            for wanted in Self.concrete {
                let implied = granted == wanted || granted == .all
                    || (wanted == .describe && [.read, .write, .delete, .alter].contains(granted))
                    || (wanted == .describeConfigs && granted == .alterConfigs)
                #expect(Self.decide([Self.acl(granted)], wanted) == implied, "ALLOW \(granted.name) → \(wanted.name)")
                // A DENY of `granted` beside an ALLOW ALL: denied exactly for the same operation or ALL.
                let denied = granted == wanted || granted == .all
                #expect(Self.decide([Self.acl(.all), Self.acl(granted, .deny)], wanted) == !denied,
                        "DENY \(granted.name) + ALLOW ALL → \(wanted.name)")
            }
        }
    }

    @Test func noAclMeansDenyUnlessAllowEveryone() {
        for op in Self.concrete {
            #expect(!Self.decide([], op))
            #expect(Self.decide([], op, config: .init(allowEveryoneIfNoAclFound: true)))
            // An ACL on the resource for someone else: no longer "no ACL found".
            let forBob = [Self.acl(.read, principal: "User:bob")]
            #expect(!Self.decide(forBob, op, config: .init(allowEveryoneIfNoAclFound: true)))
            // An ACL on another resource does not count.
            #expect(Self.decide([Self.acl(.read, name: "payments")], op, config: .init(allowEveryoneIfNoAclFound: true)))
        }
    }

    @Test func superUsersMayDoAnythingEvenWhenDenied() {
        let config = AclRules.Config(superUsers: ["User:alice"])
        for op in Self.concrete {
            #expect(Self.decide([Self.acl(.all, .deny)], op, config: config))
            #expect(Self.decide([], op, type: .cluster, name: "kafka-cluster", config: config))
            #expect(!Self.decide([], op, principal: Self.bob, config: config))
        }
    }

    @Test func patternsLiteralWildcardAndPrefixed() {
        let cases: [(AclBinding, String, Bool)] = [
            (Self.acl(.read, name: "orders"), "orders", true),
            (Self.acl(.read, name: "orders"), "orders-eu", false),
            (Self.acl(.read, name: "*"), "anything", true),
            (Self.acl(.read, name: "orders", pattern: .prefixed), "orders-eu", true),
            (Self.acl(.read, name: "orders", pattern: .prefixed), "orders", true),
            (Self.acl(.read, name: "orders", pattern: .prefixed), "order", false),
            (Self.acl(.read, name: "*", pattern: .prefixed), "orders", false),  // a prefix, not a wildcard
            (Self.acl(.read, type: .group, name: "orders"), "orders", false),   // another resource type
        ]
        for (acl, topic, expected) in cases {
            #expect(Self.decide([acl], .read, name: topic) == expected, "\(acl) on \(topic)")
        }
    }

    @Test func principalsAndHosts() {
        #expect(Self.decide([Self.acl(.read, principal: "User:*")], .read, principal: Self.bob))
        #expect(!Self.decide([Self.acl(.read, principal: "User:alice")], .read, principal: Self.bob))
        #expect(Self.decide([Self.acl(.read, host: "10.0.0.1")], .read, host: "10.0.0.1"))
        #expect(!Self.decide([Self.acl(.read, host: "10.0.0.1")], .read, host: "10.0.0.2"))
        // A DENY for everyone from one host beats alice's ALLOW there, not elsewhere.
        let acls = [Self.acl(.read), Self.acl(.read, .deny, principal: "User:*", host: "10.0.0.9")]
        #expect(!Self.decide(acls, .read, host: "10.0.0.9"))
        #expect(Self.decide(acls, .read, host: "10.0.0.1"))
        // Deny on a prefix beats allow on the literal name.
        let prefixDeny = [Self.acl(.write), Self.acl(.write, .deny, name: "ord", pattern: .prefixed)]
        #expect(!Self.decide(prefixDeny, .write))
    }

    @Test func cachedDecisionsFollowAclChanges() throws {
        let store = InMemoryMetadataStore()
        let authorizer = Authorizer(store: store, config: .init())
        let context = RequestContext(apiVersion: 0, correlationId: 0, clientId: nil, clientHost: "10.0.0.1", principal: Self.alice)
        #expect(!authorizer.authorize(context, .write, .topic, "orders"))
        try store.createAcls([Self.acl(.write)])
        #expect(authorizer.authorize(context, .write, .topic, "orders"))
        #expect(authorizer.authorize(context, .write, .topic, "orders"))
        try store.deleteAcls([Self.acl(.write)])
        #expect(!authorizer.authorize(context, .write, .topic, "orders"))
        #expect(Authorizer.allowAll.authorize(context, .alter, .cluster, "kafka-cluster"))
        #expect(!Authorizer.allowAll.isEnabled)
    }

    /// KIP-679: IdempotentWrite on the cluster, or Write on any topic not wholly denied.
    @Test func idempotentWriteByClusterOrAnyTopicWrite() throws {
        func allowed(_ acls: [AclBinding], config: AclRules.Config = .init()) throws -> Bool {
            let store = InMemoryMetadataStore()
            try store.createAcls(acls)
            let context = RequestContext(apiVersion: 0, correlationId: 0, clientId: nil, clientHost: "10.0.0.1", principal: Self.alice)
            return Authorizer(store: store, config: config).authorizeIdempotentWrite(context)
        }
        #expect(try !allowed([]))
        #expect(try allowed([], config: .init(allowEveryoneIfNoAclFound: true)))
        #expect(try allowed([Self.acl(.idempotentWrite, type: .cluster, name: "kafka-cluster")]))
        #expect(try allowed([Self.acl(.write, name: "anything")]))
        #expect(try allowed([Self.acl(.all, name: "logs-", pattern: .prefixed)]))
        #expect(try !allowed([Self.acl(.read, name: "anything")]))
        #expect(try !allowed([Self.acl(.write, name: "a"), Self.acl(.write, .deny, name: "*")]))
        #expect(try !allowed([Self.acl(.write, name: "logs-x"), Self.acl(.write, .deny, name: "logs-", pattern: .prefixed)]))
        #expect(try allowed([Self.acl(.write, name: "logs-x"), Self.acl(.write, .deny, name: "other")]))
        #expect(try !allowed([Self.acl(.write, principal: "User:bob")]))
    }

    @Test func filtersMatchAsDescribeAndDeleteAclsDo() {
        let literal = Self.acl(.read, name: "orders")
        let wildcard = Self.acl(.read, name: "*")
        let prefixed = Self.acl(.read, name: "ord", pattern: .prefixed)
        let other = Self.acl(.write, principal: "User:bob", type: .group, name: "g")
        let all = [literal, wildcard, prefixed, other]
        func f(_ type: AclResourceType = .any, _ name: String? = nil, _ pattern: AclPatternType = .any,
               principal: String? = nil, op: AclOperation = .any, permission: AclPermission = .any) -> [AclBinding] {
            let filter = AclBindingFilter(resourceType: type, resourceName: name, patternType: pattern, principal: principal,
                                          host: nil, operation: op, permission: permission)
            return all.filter { filter.matches($0) }
        }
        #expect(f() == all)
        #expect(f(.topic) == [literal, wildcard, prefixed])
        #expect(f(.topic, "orders", .match) == [literal, wildcard, prefixed])
        #expect(f(.topic, "orders", .literal) == [literal])
        #expect(f(.topic, "orders", .any) == [literal])
        #expect(f(.topic, nil, .prefixed) == [prefixed])
        #expect(f(principal: "User:bob") == [other])
        #expect(f(op: .write) == [other])
        #expect(f(permission: .deny) == [])
    }
}

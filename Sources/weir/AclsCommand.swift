import ArgumentParser
import Foundation
import WeirClient
import WeirStorage

/// `weir acls`: kafka-acls.sh over CreateAcls, DescribeAcls and DeleteAcls, with its flags and
/// its output.
struct AclsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "acls",
        abstract: "Add, remove or list ACLs (like kafka-acls.sh).",
        discussion: """
        --add and --remove need a resource (--topic, --group, --cluster, --transactional-id) and, \
        for --add, a principal (--allow-principal / --deny-principal, repeatable) and operations \
        (--operation, repeatable: Read, Write, Create, Delete, Alter, Describe, ClusterAction, \
        DescribeConfigs, AlterConfigs, IdempotentWrite, All) or a shortcut: --producer (Write, \
        Describe, Create on the topics; IdempotentWrite on the cluster with --idempotent) or \
        --consumer (Read, Describe on the topics, Read on the group). --resource-pattern-type is \
        LITERAL (default) or PREFIXED, and also MATCH or ANY for --list/--remove. Hosts default to *.

        --list prints `Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=orders, \
        patternType=LITERAL)`:` and one line per ACL, as kafka-acls.sh.

        Exit codes: 0 done, 1 failure (not authorized, no authorizer configured), 2 usage.

        Example:
          weir acls --bootstrap-server 127.0.0.1:9092 --add --allow-principal User:alice \\
            --operation Read --topic orders --group billing
        """
    )

    @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String?
    @Option(name: .customLong("command-config"), help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Flag(help: "Add ACLs.") var add = false
    @Flag(help: "Remove ACLs.") var remove = false
    @Flag(help: "List ACLs.") var list = false
    @Flag(help: "Remove without asking (kafka-acls.sh asks; Weir never does).") var force = false

    @Option(name: .customLong("allow-principal"), help: "Principal the ALLOW ACLs name, e.g. User:alice (repeatable).")
    var allowPrincipal: [String] = []
    @Option(name: .customLong("deny-principal"), help: "Principal the DENY ACLs name (repeatable).")
    var denyPrincipal: [String] = []
    @Option(name: .customLong("allow-host"), help: "Host of the ALLOW ACLs (default *; repeatable).")
    var allowHost: [String] = []
    @Option(name: .customLong("deny-host"), help: "Host of the DENY ACLs (default *; repeatable).")
    var denyHost: [String] = []
    @Option(help: "With --list: only ACLs of this principal.")
    var principal: String?
    @Option(help: "Operation (repeatable).")
    var operation: [String] = []

    @Option(help: "Topic (repeatable; * for all).") var topic: [String] = []
    @Option(help: "Consumer group (repeatable; * for all).") var group: [String] = []
    @Option(name: .customLong("transactional-id"), help: "Transactional id (repeatable).") var transactionalId: [String] = []
    @Flag(help: "The cluster resource.") var cluster = false
    @Option(name: .customLong("resource-pattern-type"), help: "LITERAL, PREFIXED, MATCH or ANY.")
    var resourcePatternType: String = "LITERAL"

    @Flag(help: "Producer shortcut: Write, Describe, Create on the topics.") var producer = false
    @Flag(help: "Consumer shortcut: Read, Describe on the topics, Read on the group.") var consumer = false
    @Flag(help: "With --producer: IdempotentWrite on the cluster.") var idempotent = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    static let command = "acls"

    struct Resource: Hashable {
        var type: AclResourceType
        var name: String
    }

    func run() async throws {
        try DatabaseTool.checkUsage(Self.command, unrecognized: unrecognized, required: [("--bootstrap-server", bootstrapServer)])
        guard [add, remove, list].filter({ $0 }).count == 1 else {
            throw DatabaseTool.usage(Self.command, "Command must include exactly one action: --list, --add, --remove.")
        }
        guard let pattern = AclPatternType.allCases.first(where: { $0.name == resourcePatternType.uppercased() }),
              pattern != .unknown else {
            throw DatabaseTool.usage(Self.command, "--resource-pattern-type must be LITERAL, PREFIXED, MATCH or ANY, not '\(resourcePatternType)'")
        }
        if add, pattern != .literal && pattern != .prefixed {
            throw DatabaseTool.usage(Self.command, "A '--resource-pattern-type' value of '\(pattern.name)' is not valid when adding acls.")
        }
        if (producer || consumer) && !operation.isEmpty {
            throw DatabaseTool.usage(Self.command, "--operation cannot be combined with --producer or --consumer")
        }
        if consumer && group.isEmpty && add {
            throw DatabaseTool.usage(Self.command, "With --consumer you must specify a --group")
        }
        let operations = try operation.map { name -> AclOperation in
            let normalized = name.replacingOccurrences(of: "_", with: "").lowercased()
            guard let op = AclOperation.allCases.first(where: { $0.name.replacingOccurrences(of: "_", with: "").lowercased() == normalized }),
                  ![.unknown, .any].contains(op) else {
                throw DatabaseTool.usage(Self.command, "Unknown operation '\(name)'")
            }
            return op
        }
        var resources: [Resource] = topic.map { Resource(type: .topic, name: $0) } + group.map { Resource(type: .group, name: $0) }
            + transactionalId.map { Resource(type: .transactionalId, name: $0) }
        if cluster || (producer && idempotent) { resources.append(Resource(type: .cluster, name: "kafka-cluster")) }
        if (add || remove) && resources.isEmpty {
            throw DatabaseTool.usage(Self.command, "You must specify one of: --topic, --cluster, --group, --transactional-id")
        }

        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-acls", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            if list {
                let filters: [AclEntry] = resources.isEmpty
                    ? [Self.filter(type: .any, name: nil, pattern: .any, principal: principal)]
                    : resources.map { Self.filter(type: $0.type, name: $0.name, pattern: pattern, principal: principal) }
                var found: [AclEntry] = []
                for f in filters { found += try await admin.describeAcls(f) }
                Self.printGrouped(found, title: "Current ACLs for resource")
                return
            }
            var entries: [AclEntry] = []
            let allow = (allowPrincipal, allowHost.isEmpty ? ["*"] : allowHost, AclPermission.allow)
            let deny = (denyPrincipal, denyHost.isEmpty ? ["*"] : denyHost, AclPermission.deny)
            for r in resources {
                let ops = operationsFor(r, explicit: operations)
                for (principals, hosts, permission) in [allow, deny] {
                    for p in principals {
                        for h in hosts {
                            for op in ops {
                                entries.append(AclEntry(resourceType: r.type.rawValue, resourceName: r.name, patternType: pattern.rawValue,
                                                        principal: p, host: h, operation: op.rawValue, permission: permission.rawValue))
                            }
                        }
                    }
                }
            }
            if add {
                guard !entries.isEmpty else { throw CLIError("You must specify one of: --allow-principal, --deny-principal when trying to add ACLs.") }
                Self.printGrouped(entries, title: "Adding ACLs for resource")
                try await admin.createAcls(entries)
                return
            }
            // --remove: the given ACLs, or everything on the resources when no principal is named.
            let filters = entries.isEmpty
                ? resources.map { Self.filter(type: $0.type, name: $0.name, pattern: pattern, principal: nil) }
                : entries
            let removed = try await admin.deleteAcls(filters)
            Self.printGrouped(removed, title: "Removed ACLs for resource")
        }
    }

    /// The operations for one resource: the explicit ones, or the shortcut's.
    private func operationsFor(_ r: Resource, explicit: [AclOperation]) -> [AclOperation] {
        if !explicit.isEmpty { return explicit }
        switch r.type {
        case .topic:
            return (producer ? [.write, .describe, .create] : []) + (consumer ? [.read, .describe] : [])
        case .group:
            return consumer ? [.read] : []
        case .cluster:
            return producer && idempotent ? [.idempotentWrite] : []
        case .transactionalId:
            return producer ? [.write, .describe] : []
        default:
            return []
        }
    }

    static func filter(type: AclResourceType, name: String?, pattern: AclPatternType, principal: String?) -> AclEntry {
        AclEntry(resourceType: type.rawValue, resourceName: name, patternType: pattern.rawValue, principal: principal, host: nil,
                 operation: AclOperation.any.rawValue, permission: AclPermission.any.rawValue)
    }

    /// kafka-acls.sh's listing: per resource pattern, a header line and one line per ACL.
    static func printGrouped(_ entries: [AclEntry], title: String) {
        var order: [String] = []
        var lines: [String: [String]] = [:]
        for e in entries {
            let type = AclResourceType(rawValue: e.resourceType)?.name ?? "UNKNOWN"
            let pattern = AclPatternType(rawValue: e.patternType)?.name ?? "UNKNOWN"
            let key = "ResourcePattern(resourceType=\(type), name=\(e.resourceName ?? ""), patternType=\(pattern))"
            if lines[key] == nil { order.append(key) }
            let op = AclOperation(rawValue: e.operation)?.name ?? "UNKNOWN"
            let permission = AclPermission(rawValue: e.permission)?.name ?? "UNKNOWN"
            let line = "\t(principal=\(e.principal ?? ""), host=\(e.host ?? "*"), operation=\(op), permissionType=\(permission))"
            if !(lines[key]?.contains(line) ?? false) { lines[key, default: []].append(line) }
        }
        for key in order {
            print("\(title) `\(key)`: ")
            for line in lines[key]!.sorted() { print(" " + line) }
            print("")
        }
    }
}

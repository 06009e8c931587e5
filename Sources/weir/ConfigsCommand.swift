import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir configs`: kafka-configs.sh for topics and brokers over DescribeConfigs and
/// IncrementalAlterConfigs.
struct ConfigsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "configs",
        abstract: "Describe or alter topic configs, describe broker configs (like kafka-configs.sh).",
        discussion: """
        --describe prints, per entity, `Dynamic configs for topic orders are:` and one line per \
        config set on it: `  retention.ms=60000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=60000, \
        DEFAULT_CONFIG:log.retention.ms=604800000}` — exactly kafka-configs.sh's format. --all \
        prints every config, defaults included (`All configs for topic orders are:`). Without \
        --entity-name every topic (or every broker, then the cluster default) is described.

        --alter --add-config k=v,k2=v2 sets configs (a value holding commas goes in brackets: \
        k=[a,b]); --delete-config k,k2 removes them, back to the broker's default. One \
        IncrementalAlterConfigs request; the broker validates names and values.

        --entity-type users manages SCRAM credentials (KIP-554), as kafka-configs.sh: \
        --add-config 'SCRAM-SHA-256=[iterations=8192,password=alice-secret],SCRAM-SHA-512=[password=…]' \
        (the password is salted here, only the salted form is sent), --delete-config SCRAM-SHA-512, and \
        --describe (mechanisms and iterations, never secrets).

        Broker configs are static in Weir (server.properties and --override, read at start): \
        brokers can be described, not altered. Their Dynamic view is therefore empty; use --all.

        --json (with --describe) prints one object per line and config: {"entity_type":"topics",\
        "entity_name":"orders","name":…,"value":…,"source":…,"sensitive":false,"read_only":false}.

        Exit codes: 0 done, 1 failure (unknown topic, a refused config), 2 usage.

        Example:
          weir configs --bootstrap-server 127.0.0.1:9092 --entity-type topics \\
            --entity-name orders --alter --add-config retention.ms=60000
        """
    )

    @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String?
    @Option(name: .customLong("command-config"), help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Option(name: .customLong("entity-type"), help: "topics, brokers or users (SCRAM credentials).")
    var entityType: String?

    @Option(name: .customLong("entity-name"), help: "The topic name or broker id (default: all of them).")
    var entityName: String?

    @Flag(name: .customLong("entity-default"), help: "The cluster-wide default of brokers.")
    var entityDefault = false

    @Flag(help: "Print the configs set on the entity.") var describe = false
    @Flag(help: "With --describe: every config, defaults included.") var all = false
    @Flag(help: "Change the entity's configs.") var alter = false

    @Option(name: .customLong("add-config"), help: "k=v,k2=v2 to set (repeatable); k=[a,b] for a value with commas.")
    var addConfig: [String] = []

    @Option(name: .customLong("delete-config"), help: "k,k2 to remove (repeatable).")
    var deleteConfig: [String] = []

    @Flag(help: "With --describe: one JSON object per line, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    static let command = "configs"

    func run() async throws {
        try DatabaseTool.checkUsage(Self.command, unrecognized: unrecognized,
                                    required: [("--bootstrap-server", bootstrapServer), ("--entity-type", entityType)])
        let type = entityType!
        guard type == "topics" || type == "brokers" || type == "users" else {
            throw DatabaseTool.usage(Self.command, "--entity-type must be topics, brokers or users, not '\(type)'")
        }
        guard describe != alter else { throw DatabaseTool.usage(Self.command, "Command must include exactly one action: --describe, --alter") }
        if type == "users" {
            try await runUsers()
            return
        }
        if entityDefault && type != "brokers" { throw DatabaseTool.usage(Self.command, "--entity-default applies to brokers only") }
        if entityDefault && entityName != nil { throw DatabaseTool.usage(Self.command, "give --entity-name or --entity-default, not both") }
        if type == "brokers", let name = entityName, Int32(name) == nil {
            throw DatabaseTool.usage(Self.command, "The entity name for brokers must be a valid integer broker id, but it is: \(name)")
        }
        if alter {
            guard !addConfig.isEmpty || !deleteConfig.isEmpty else {
                throw DatabaseTool.usage(Self.command, "--alter needs --add-config or --delete-config")
            }
            if type == "brokers" {
                CLI.printError("Error: Weir's broker configs are static: set them in server.properties (or with --override) and restart the broker.")
                throw ExitCode(1)
            }
            guard let name = entityName else { throw DatabaseTool.usage(Self.command, "--alter needs --entity-name") }
            let set = try addConfig.flatMap { try Self.parseAddConfig($0) }
            let delete = deleteConfig.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
                .filter { !$0.isEmpty }
            try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-configs", commandConfig: commandConfig) { client in
                let admin = Admin(client: client)
                // As kafka-configs.sh: a key to delete must be a config of the topic.
                let known = Set(try await admin.describeConfigs(resourceType: Admin.topicResource, name: name).map(\.name))
                let invalid = delete.filter { !known.contains($0) }
                guard invalid.isEmpty else { throw CLIError("Invalid config(s): \(invalid.joined(separator: ","))") }
                try await admin.alterTopicConfigs(name, set: set, delete: delete)
                print("Completed updating config for topic \(name).")
            }
            return
        }
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-configs", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            let resourceType = type == "topics" ? Admin.topicResource : Admin.brokerResource
            var entities: [String]
            if let entityName {
                entities = [entityName]
            } else if entityDefault {
                entities = [""]
            } else if type == "topics" {
                entities = try await admin.listTopics()
            } else {
                entities = try await admin.brokerIds().map(String.init) + [""]
            }
            for entity in entities {
                let configs = try await admin.describeConfigs(resourceType: resourceType, name: entity)
                let shown = all ? configs : configs.filter { $0.source == Self.dynamicSource(type: type, entity: entity) }
                if json {
                    for c in shown {
                        print(DatabaseTool.jsonLine([
                            "entity_type": type, "entity_name": entity, "name": c.name, "value": DatabaseTool.null(c.value),
                            "source": ConfigDescription.sourceName(c.source), "sensitive": c.isSensitive, "read_only": c.isReadOnly,
                        ]))
                    }
                    continue
                }
                if entity.isEmpty {
                    print("Default configs for brokers in the cluster are:")
                } else {
                    print("\(all ? "All" : "Dynamic") configs for \(type == "topics" ? "topic" : "broker") \(entity) are:")
                }
                for c in shown { print("  " + Self.line(c)) }
            }
        }
    }

    /// The source kafka-configs.sh shows without --all.
    static func dynamicSource(type: String, entity: String) -> Int8 {
        if type == "topics" { return ConfigDescription.dynamicTopic }
        return entity.isEmpty ? ConfigDescription.dynamicDefaultBroker : ConfigDescription.dynamicBroker
    }

    /// `name=value sensitive=false synonyms={SOURCE:name=value, …}`; a sensitive or unset value
    /// prints as Java prints null.
    static func line(_ c: ConfigDescription) -> String {
        let synonyms = c.synonyms.map { "\(ConfigDescription.sourceName($0.source)):\($0.name)=\($0.value ?? "null")" }
        return "\(c.name)=\(c.isSensitive ? "null" : (c.value ?? "null")) sensitive=\(c.isSensitive) synonyms={\(synonyms.joined(separator: ", "))}"
    }

    /// `k=v,k2=[a,b]` → pairs; commas inside brackets belong to the value, which loses its brackets.
    static func parseAddConfig(_ text: String) throws -> [(String, String)] {
        var items: [String] = []
        var current = ""
        var depth = 0
        for ch in text {
            if ch == "[" { depth += 1 } else if ch == "]" { depth = max(0, depth - 1) }
            if ch == "," && depth == 0 {
                items.append(current)
                current = ""
            } else {
                current.append(ch)
            }
        }
        items.append(current)
        return try items.filter { !$0.isEmpty }.map { item in
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw DatabaseTool.usage(command, "--add-config expects k=v[,k2=v2], got '\(item)'")
            }
            var value = String(item[item.index(after: eq)...])
            if value.hasPrefix("[") && value.hasSuffix("]") { value = String(value.dropFirst().dropLast()) }
            return (String(item[..<eq]).trimmingCharacters(in: .whitespaces), value)
        }
    }
}

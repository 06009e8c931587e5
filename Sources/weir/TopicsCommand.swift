import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir topics`: kafka-topics.sh over the Kafka protocol (CreateTopics, DeleteTopics,
/// Metadata, DescribeConfigs, CreatePartitions, IncrementalAlterConfigs). Output and error
/// texts follow kafka-topics.sh so that scripts written for Kafka keep working.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Create, delete, describe, list or change topics (like kafka-topics.sh)."
    )

    @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String
    @Option(name: .customLong("command-config"), help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Flag(help: "Create a new topic.") var create = false
    @Flag(help: "List all topics.") var list = false
    @Flag(help: "Describe topics (all, or those matching --topic).") var describe = false
    @Flag(help: "Delete a topic.") var delete = false
    @Flag(help: "Add partitions (--partitions) or set configs (--config) of a topic.") var alter = false

    @Option(help: "The topic name; for --describe, --delete, --alter and --list also a regular expression.")
    var topic: String?

    @Option(help: "The number of partitions (--create), or the new number (--alter).")
    var partitions: Int32?

    @Option(name: .customLong("replication-factor"), help: "The replication factor (--create).")
    var replicationFactor: Int16?

    @Option(name: .customLong("config"), help: "A topic config override key=value (repeatable).")
    var configs: [String] = []

    @Option(name: .customLong("delete-config"), help: "A topic config to remove with --alter (repeatable).")
    var deleteConfigs: [String] = []

    @Flag(name: .customLong("if-not-exists"), help: "With --create: do nothing if the topic exists.")
    var ifNotExists = false

    @Flag(name: .customLong("if-exists"), help: "With --alter, --delete or --describe: do nothing if the topic does not exist.")
    var ifExists = false

    @Flag(name: .customLong("exclude-internal"), help: "Leave internal topics out of --list and --describe.")
    var excludeInternal = false

    func run() async throws {
        let actions = [create, list, describe, delete, alter].filter { $0 }.count
        guard actions == 1 else {
            CLI.printError("Command must include exactly one action: --list, --describe, --create, --alter or --delete")
            throw ExitCode(1)
        }
        try await CLI.run(bootstrap: bootstrapServer, clientId: "weir-topics", commandConfig: commandConfig,
                          errorPrefix: "Error while executing topic command : ") { client in
            let admin = Admin(client: client)
            if create { try await createTopic(admin) }
            if list { try await listTopics(admin) }
            if describe { try await describeTopics(admin) }
            if delete { try await deleteTopics(admin) }
            if alter { try await alterTopics(admin) }
        }
    }

    private func requiredTopic() throws -> String {
        guard let topic, !topic.isEmpty else { throw CLIError("Missing required argument \"[topic]\"") }
        return topic
    }

    private func createTopic(_ admin: Admin) async throws {
        let name = try requiredTopic()
        let overrides = try CLI.keyValues(configs, option: "--config")
        do {
            try await admin.createTopic(name, partitions: partitions ?? -1, replicationFactor: replicationFactor ?? -1,
                                        configs: overrides)
        } catch let error as KafkaError where error.code == ErrorCode.topicAlreadyExists.rawValue {
            if ifNotExists { return }
            throw CLIError(error.serverMessage ?? "Topic '\(name)' already exists.")
        } catch let error as KafkaError {
            throw CLIError(error.message)
        }
        print("Created topic \(name).")
    }

    /// Topic names matching `--topic` (all when absent): an exact name, or a regular
    /// expression when it uses characters a topic name cannot contain, as kafka-topics.sh does.
    private func matchingTopics(_ admin: Admin) async throws -> [String] {
        var names = try await admin.listTopics()
        if excludeInternal {
            let internalTopics = Set(try await admin.describeTopics(names).filter(\.isInternal).map(\.name))
            names = names.filter { !internalTopics.contains($0) }
        }
        guard let topic else { return names }
        let legal = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        if topic.unicodeScalars.allSatisfy({ legal.contains($0) }) {
            return names.filter { $0 == topic }
        }
        guard let regex = try? NSRegularExpression(pattern: "^(?:\(topic))$") else {
            throw CLIError("'\(topic)' is neither a topic name nor a valid regular expression")
        }
        return names.filter { regex.firstMatch(in: $0, range: NSRange($0.startIndex..., in: $0)) != nil }
    }

    /// The topics an action applies to; none while --topic was given is an error unless --if-exists.
    private func targetTopics(_ admin: Admin) async throws -> [String] {
        let names = try await matchingTopics(admin)
        if names.isEmpty, let topic, !ifExists {
            throw CLIError("Topic '\(topic)' does not exist as expected")
        }
        return names
    }

    private func listTopics(_ admin: Admin) async throws {
        for name in try await matchingTopics(admin) { print(name) }
    }

    private func describeTopics(_ admin: Admin) async throws {
        let names = try await targetTopics(admin)
        guard !names.isEmpty else { return }
        var out = ""
        for description in try await admin.describeTopics(names) {
            // Configs are part of the description, but a broker that cannot describe them
            // should not hide the partitions.
            let entries = (try? await admin.describeTopicConfigs(description.name)) ?? []
            out += Self.format(description, configs: entries)
        }
        print(out, terminator: "")
    }

    /// kafka-topics.sh --describe: a topic line, then one indented line per partition.
    static func format(_ t: TopicDescription, configs: [ConfigEntry]) -> String {
        let shown = configs.filter { !$0.isDefault && !$0.isSensitive && $0.value != nil }
            .map { "\($0.name)=\($0.value ?? "")" }.joined(separator: ",")
        var line = "Topic: \(t.name)"
        if t.topicId != .zero { line += "\tTopicId: \(t.topicId)" }
        line += "\tPartitionCount: \(t.partitions.count)"
        line += "\tReplicationFactor: \(t.partitions.first?.replicas.count ?? 0)"
        line += "\tConfigs: \(shown)\n"
        for p in t.partitions {
            let leader = p.leader >= 0 ? "\(p.leader)" : "none"
            line += "\tTopic: \(t.name)\tPartition: \(p.partition)\tLeader: \(leader)"
            line += "\tReplicas: \(p.replicas.map(String.init).joined(separator: ","))"
            line += "\tIsr: \(p.isr.map(String.init).joined(separator: ","))\n"
        }
        return line
    }

    private func deleteTopics(_ admin: Admin) async throws {
        _ = try requiredTopic()
        let names = try await targetTopics(admin)
        guard !names.isEmpty else { return }
        do {
            try await admin.deleteTopics(names)
        } catch let error as KafkaError {
            throw CLIError(error.message)
        }
    }

    private func alterTopics(_ admin: Admin) async throws {
        _ = try requiredTopic()
        let overrides = try CLI.keyValues(configs, option: "--config")
        guard partitions != nil || !overrides.isEmpty || !deleteConfigs.isEmpty else {
            throw CLIError("--alter needs --partitions, --config or --delete-config")
        }
        let names = try await targetTopics(admin)
        for name in names {
            do {
                if let partitions {
                    try await admin.createPartitions(name, count: partitions)
                }
                if !overrides.isEmpty || !deleteConfigs.isEmpty {
                    try await admin.alterTopicConfigs(name, set: overrides, delete: deleteConfigs)
                    print("Completed updating config for topic \(name).")
                }
            } catch let error as KafkaError {
                throw CLIError(error.message)
            }
        }
    }
}

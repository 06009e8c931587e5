import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir delete-records`: kafka-delete-records.sh over DeleteRecords.
struct DeleteRecordsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete-records",
        abstract: "Delete records up to an offset, per partition (like kafka-delete-records.sh).",
        discussion: """
        The JSON file names, per partition, the offset before which records go: \
        {"partitions":[{"topic":"orders","partition":0,"offset":5}],"version":1}. An offset of \
        -1 means the high watermark (everything). Each partition's log start offset moves to \
        that offset; the broker answers with the new low watermark.

        Output, as Kafka's: `Executing records delete operation`, \
        `Records delete operation completed:`, then per partition (in the file's order) \
        `partition: orders-0<TAB>low_watermark: 5` or `partition: orders-0<TAB>error: <the \
        exception Kafka's client would raise>`.

        Exit codes: 0 every partition done, 1 some partition failed (or the file is unreadable), \
        2 usage.

        Example:
          weir delete-records --bootstrap-server 127.0.0.1:9092 \\
            --offset-json-file delete.json
        """
    )

    @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String?
    @Option(name: .customLong("command-config"), help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Option(name: .customLong("offset-json-file"), help: "The JSON file of partitions and offsets.")
    var offsetJsonFile: String?

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    static let command = "delete-records"

    func run() async throws {
        try DatabaseTool.checkUsage(Self.command, unrecognized: unrecognized,
                                    required: [("--bootstrap-server", bootstrapServer), ("--offset-json-file", offsetJsonFile)])
        let plan: [(TopicPartition, Int64)]
        do {
            plan = try Self.parse(try Data(contentsOf: URL(fileURLWithPath: offsetJsonFile!)))
        } catch let error as CLIError {
            throw DatabaseTool.failure(Self.command, error.description)
        } catch {
            throw DatabaseTool.failure(Self.command, "cannot read \(offsetJsonFile!): \(error.localizedDescription)")
        }
        var failed = false
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-delete-records", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            print("Executing records delete operation")
            let results = try await admin.deleteRecords(Dictionary(plan, uniquingKeysWith: { a, _ in a }))
            print("Records delete operation completed:")
            for (tp, _) in plan {
                switch results[tp] {
                case .success(let low):
                    print("partition: \(tp)\tlow_watermark: \(low)")
                case .failure(let error):
                    failed = true
                    print("partition: \(tp)\terror: \(Self.javaException(error))")
                case nil:
                    failed = true
                    print("partition: \(tp)\terror: no answer")
                }
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Kafka's offset JSON: version 1, partitions of topic/partition/offset, no duplicates.
    static func parse(_ data: Data) throws -> [(TopicPartition, Int64)] {
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CLIError("the offset JSON file is not a JSON object")
        }
        if let version = root["version"], (version as? Int) != 1 {
            throw CLIError("Not supported version field value \(version)")
        }
        guard let partitions = root["partitions"] as? [[String: Any]] else {
            throw CLIError("The offset JSON file has no \"partitions\" array")
        }
        var out: [(TopicPartition, Int64)] = []
        var seen: Set<TopicPartition> = []
        var duplicates: [TopicPartition] = []
        for entry in partitions {
            guard let topic = entry["topic"] as? String, let partition = entry["partition"] as? Int,
                  let offset = entry["offset"] as? Int, let p = Int32(exactly: partition) else {
                throw CLIError("each partition needs \"topic\" (string), \"partition\" and \"offset\" (integers)")
            }
            let tp = TopicPartition(topic, p)
            if !seen.insert(tp).inserted { duplicates.append(tp) }
            out.append((tp, Int64(offset)))
        }
        guard duplicates.isEmpty else {
            throw CLIError("Offset json file contains duplicate topic partitions: \(duplicates.map(\.description).joined(separator: ","))")
        }
        guard !out.isEmpty else { throw CLIError("The offset JSON file names no partition") }
        return out
    }

    /// What `ExecutionException.getCause` prints in Kafka's tool: the exception class Kafka's
    /// client raises for the code (OFFSET_OUT_OF_RANGE → OffsetOutOfRangeException) and its message.
    static func javaException(_ error: KafkaError) -> String {
        let words = error.name.lowercased().split(separator: "_").map { $0.prefix(1).uppercased() + $0.dropFirst() }
        let base = words.joined()
        let name = base.hasSuffix("Exception") ? base : base + "Exception"
        return "org.apache.kafka.common.errors.\(name): \(error.message)"
    }
}

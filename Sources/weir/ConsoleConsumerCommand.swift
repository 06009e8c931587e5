import ArgumentParser
import Foundation
import KafkaProtocol
import NIOCore
import WeirClient

/// `weir console-consumer`: kafka-console-consumer.sh. Prints each record (by default only its
/// value, "null" for none) as one line on stdout, flushed after every fetch so that a pipe into
/// another tool flows. Without `--group` it reads the partitions directly; with `--group` it
/// joins the group, resumes from the committed offsets and commits what it printed (every
/// 5 s and before exiting). Exits 0 after `--max-messages`, after `--timeout-ms` without a
/// record, or on SIGINT/SIGTERM.
struct ConsoleConsumerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-consumer",
        abstract: "Print the records of a topic (like kafka-console-consumer.sh)."
    )

    @Option(name: [.customLong("bootstrap-server"), .customLong("broker-list")], help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String

    @Option(name: [.customLong("command-config"), .customLong("consumer.config")],
            help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Option(help: "The topic to read.")
    var topic: String

    @Flag(name: .customLong("from-beginning"), help: "Start at the earliest offset when there is no committed one.")
    var fromBeginning = false

    @Option(name: .customLong("max-messages"), help: "Exit after printing this many records.")
    var maxMessages: Int?

    @Option(help: "Read only this partition.")
    var partition: Int32?

    @Option(help: "Start offset with --partition: a number, earliest or latest.")
    var offset: String?

    @Option(help: "Consume as a member of this consumer group.")
    var group: String?

    @Option(name: .customLong("timeout-ms"), help: "Exit if no record arrives for this many milliseconds.")
    var timeoutMs: Int?

    @Option(name: .customLong("property"), help: "Formatter properties: print.key, print.value, print.offset, print.partition, print.timestamp, print.headers, key.separator, line.separator, headers.separator, headers.key.separator, null.literal (repeatable).")
    var properties: [String] = []

    @Option(name: .customLong("isolation-level"), help: "read_committed to skip aborted transactions' records and stop at the last stable offset (default read_uncommitted).")
    var isolationLevel: String?

    @Option(name: .customLong("consumer-property"), help: "Consumer settings key=value: group.id, auto.offset.reset, isolation.level (repeatable).")
    var consumerProperties: [String] = []

    func run() async throws {
        let formatter: RecordFormatter
        let plan: ConsumePlan
        do {
            formatter = RecordFormatter(try CLI.properties(properties))
            plan = try makePlan(try CLI.properties(consumerProperties, option: "--consumer-property"))
        } catch {
            CLI.printError("Error: \(CLI.message(of: error))")
            throw ExitCode(1)
        }
        let stop = StopSignal()
        var processed = 0
        try await CLI.run(bootstrap: bootstrapServer, clientId: "weir-console-consumer", commandConfig: commandConfig) { client in
            var session = ConsoleConsumerSession(client: client, plan: plan, formatter: formatter, stop: stop)
            defer { processed = session.printed }
            try await session.run()
        }
        CLI.printError("Processed a total of \(processed) messages")
    }

    private func makePlan(_ settings: [String: String]) throws -> ConsumePlan {
        let groupId = group ?? settings["group.id"]
        if groupId != nil && partition != nil {
            throw CLIError("Options group and partition cannot be specified together.")
        }
        if offset != nil && partition == nil {
            throw CLIError("The partition is required when offset is specified.")
        }
        if offset != nil && fromBeginning {
            throw CLIError("Options from-beginning and offset cannot be specified together.")
        }
        if let maxMessages, maxMessages < 0 { throw CLIError("--max-messages must not be negative") }
        var start: ConsumePlan.Start = fromBeginning ? .earliest : .latest
        if let reset = settings["auto.offset.reset"] {
            switch reset.lowercased() {
            case "earliest": start = .earliest
            case "latest": start = .latest
            case "none": start = .none
            default: throw CLIError("auto.offset.reset must be earliest, latest or none, not '\(reset)'")
            }
        }
        if let offset {
            switch offset.lowercased() {
            case "earliest": start = .earliest
            case "latest": start = .latest
            default:
                guard let value = Int64(offset), value >= 0 else {
                    throw CLIError("The provided offset value '\(offset)' is incorrect. Valid values are 'earliest', 'latest', or a non-negative long.")
                }
                start = .offset(value)
            }
        }
        let isolation = isolationLevel ?? settings["isolation.level"] ?? "read_uncommitted"
        guard isolation == "read_committed" || isolation == "read_uncommitted" else {
            throw CLIError("isolation level must be read_committed or read_uncommitted, not '\(isolation)'")
        }
        return ConsumePlan(topic: topic, partition: partition, start: start, group: groupId,
                           maxMessages: maxMessages, timeoutMs: timeoutMs.flatMap { $0 < 0 ? nil : min($0, 1 << 40) },
                           readCommitted: isolation == "read_committed")
    }
}

import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir get-offsets`: kafka-get-offsets.sh (GetOffsetShell) over Metadata and ListOffsets.
struct GetOffsetsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-offsets",
        abstract: "Print an offset of each topic-partition (like kafka-get-offsets.sh).",
        discussion: """
        One line per partition, `topic:partition:offset`, sorted by topic then partition. \
        --time picks the offset: -1 (or latest) the log end offset, -2 (or earliest) the log \
        start offset, -3 (or max-timestamp) the offset of the record with the largest \
        timestamp, or a time in ms since the epoch: the first offset whose record timestamp is \
        at or after it. Where the broker finds none (a time after the last record, -3 on an \
        empty partition) the offset is left empty (`orders:0:`), as Kafka prints it.

        --topic is a regular expression matched against whole topic names (a plain name \
        matches itself); without it every topic is listed.

        --json prints one object per line: {"offset":42,"partition":0,"topic":"orders"} \
        (offset null where none was found).

        Exit codes: 0 done, 1 failure (no partition matches, a broker error), 2 usage.

        Example:
          weir get-offsets --bootstrap-server 127.0.0.1:9092 --topic orders --time -1
        """
    )

    @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String?
    @Option(name: .customLong("command-config"), help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Option(help: "A topic name or a regular expression matching whole topic names (default: all topics).")
    var topic: String?

    @Option(help: "Comma-separated partition ids (default: all partitions).")
    var partitions: String?

    @Option(parsing: .unconditional, help: "-1/latest, -2/earliest, -3/max-timestamp, or a time in ms since the epoch (default -1).")
    var time: String = "-1"

    @Flag(help: "One JSON object per line, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    static let command = "get-offsets"

    func run() async throws {
        try DatabaseTool.checkUsage(Self.command, unrecognized: unrecognized, required: [("--bootstrap-server", bootstrapServer)])
        let timestamp = try Self.parseTime(time)
        let wanted: Set<Int32>? = try partitions.map { list in
            Set(try list.split(separator: ",").map { item in
                guard let p = Int32(item.trimmingCharacters(in: .whitespaces)), p >= 0 else {
                    throw DatabaseTool.usage(Self.command, "--partitions expects comma-separated partition ids, not '\(list)'")
                }
                return p
            })
        }
        let pattern: NSRegularExpression? = try topic.map { t in
            do {
                return try NSRegularExpression(pattern: "^(?:\(t))$")
            } catch {
                throw DatabaseTool.usage(Self.command, "--topic '\(t)' is not a valid regular expression")
            }
        }
        var failed = false
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-get-offsets", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            var tps: [TopicPartition] = []
            for description in try await admin.describeTopics(nil) {
                if let pattern, pattern.firstMatch(in: description.name, range: NSRange(description.name.startIndex..., in: description.name)) == nil {
                    continue
                }
                for p in description.partitions where wanted?.contains(p.partition) ?? true {
                    tps.append(TopicPartition(description.name, p.partition))
                }
            }
            guard !tps.isEmpty else {
                CLI.printError("Error: Could not match any topic-partitions with the specified filters")
                failed = true
                return
            }
            let offsets = try await admin.offsets(tps, at: timestamp)
            for tp in tps.sorted() {
                let offset = offsets[tp] ?? nil
                if json {
                    print(DatabaseTool.jsonLine(["topic": tp.topic, "partition": tp.partition, "offset": DatabaseTool.null(offset)]))
                } else {
                    print("\(tp.topic):\(tp.partition):\(offset.map(String.init) ?? "")")
                }
            }
        }
        if failed { throw ExitCode(1) }
    }

    static func parseTime(_ text: String) throws -> Int64 {
        switch text.lowercased() {
        case "latest": return -1
        case "earliest": return -2
        case "max-timestamp": return -3
        default:
            guard let value = Int64(text), value >= -3 else {
                throw DatabaseTool.usage(command, "--time expects -1, -2, -3, latest, earliest, max-timestamp or a time in ms, not '\(text)'")
            }
            return value
        }
    }
}

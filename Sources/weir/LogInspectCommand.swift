import ArgumentParser
import Foundation
import KafkaProtocol
import WeirBroker
import WeirStorage

/// `weir log inspect`: one line per topic-partition of a broker's database.
struct LogInspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "One line per topic-partition: offsets, records, batches, bytes, timestamps, cleanup policy.",
        discussion: """
        Opens the database read-only (works beside a running broker) and reads every batch \
        header. Every partition is listed, empty ones too.

        Columns: the log start and end offsets as the broker computes them; records (the \
        batches' record counts; a batch that the log start offset cuts counts whole); batches; \
        bytes (the stored batches as Kafka counts them, before RocksDB's LZ4); the first \
        record's and the last batch's timestamp (UTC); the topic's cleanup.policy (default \
        delete).

        --json prints one JSON object per line and partition, keys: topic, topic_id, partition, \
        log_start_offset, log_end_offset, records, batches, bytes, first_timestamp, \
        last_timestamp (ms, null when empty), cleanup_policy, column_family_missing.

        Exit codes: 0 done, 1 the database could not be read, 2 usage.

        Example:
          weir log inspect --data-dir ./data --topic orders
        """
    )

    @Option(name: .customLong("data-dir"), help: "The broker's database directory (log.dirs).")
    var dataDir: String?

    @Option(help: "Only this topic.")
    var topic: String?

    @Option(help: "Only this partition of --topic.")
    var partition: String?

    @Flag(help: "One JSON object per line, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func run() throws {
        let command = "log inspect"
        try DatabaseTool.checkUsage(command, unrecognized: unrecognized, required: [("--data-dir", dataDir)])
        let partition: Int32? = try DatabaseTool.integer(partition, "--partition", command)
        if partition != nil && topic == nil { throw DatabaseTool.usage(command, "--partition needs --topic") }
        let store = try DatabaseTool.openReadOnly(dataDir!, command)
        defer { store.close() }
        let bar = ProgressBar("inspecting")
        let summaries: [PartitionSummary]
        let topics: [TopicRecord]
        do {
            topics = try store.topics()
            summaries = try LogInspector(store).summaries(topic: topic, partition: partition, progress: bar.update)
            bar.finish()
        } catch let error as StorageError {
            bar.finish()
            if case .unknownTopic = error { throw DatabaseTool.failure(command, "\(error)") }
            if case .invalidArgument(let what) = error { throw DatabaseTool.failure(command, what) }
            throw DatabaseTool.failure(command, "\(error)")
        }
        let policies = Dictionary(topics.map { ($0.name, Self.cleanupPolicy($0)) }, uniquingKeysWith: { a, _ in a })
        var out = StdoutWriter()
        if json {
            for s in summaries {
                out.write(DatabaseTool.jsonLine([
                    "topic": s.topic, "topic_id": s.topicId, "partition": s.partition,
                    "log_start_offset": s.logStartOffset, "log_end_offset": s.logEndOffset,
                    "records": s.records, "batches": s.batches, "bytes": s.bytes,
                    "first_timestamp": DatabaseTool.null(s.firstTimestamp),
                    "last_timestamp": DatabaseTool.null(s.lastTimestamp),
                    "cleanup_policy": policies[s.topic] ?? "delete",
                    "column_family_missing": s.columnFamilyMissing,
                ]) + "\n")
            }
        } else {
            let rows = summaries.map { s -> [String] in
                [s.topic, "\(s.partition)", "\(s.logStartOffset)", "\(s.logEndOffset)", "\(s.records)", "\(s.batches)",
                 "\(s.bytes)", DatabaseTool.timestamp(s.firstTimestamp), DatabaseTool.timestamp(s.lastTimestamp),
                 (policies[s.topic] ?? "delete") + (s.columnFamilyMissing ? "  (column family missing: run weir log verify)" : "")]
            }
            out.write(DatabaseTool.table(["TOPIC", "PARTITION", "LOG-START", "LOG-END", "RECORDS", "BATCHES", "BYTES",
                                          "FIRST-TIMESTAMP", "LAST-TIMESTAMP", "CLEANUP-POLICY"], rows) + "\n")
        }
        out.flush()
    }

    /// The topic's cleanup.policy, or the broker's default (Kafka's: delete).
    static func cleanupPolicy(_ topic: TopicRecord) -> String {
        topic.configs["cleanup.policy"] ?? BrokerConfig().cleanupPolicy
    }
}

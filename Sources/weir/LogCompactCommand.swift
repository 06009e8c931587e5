import ArgumentParser
import Foundation
import KafkaProtocol
import WeirBroker
import WeirServer
import WeirStorage

/// `weir log compact`: the broker's retention and log compaction, run offline on a stopped
/// broker's database, with the same code as the broker's retention service.
struct LogCompactCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Apply retention and log compaction offline to a stopped broker's database.",
        discussion: """
        Runs the broker's own retention pass once, now. For each partition of each topic whose \
        cleanup.policy includes delete, the oldest batches go while they are older than \
        retention.ms or the partition holds more than retention.bytes, and their disk space is \
        given back. Then each partition of a topic whose cleanup.policy includes compact is \
        compacted when the broker would compact it (min.cleanable.dirty.ratio, \
        min.compaction.lag.ms, max.compaction.lag.ms, delete.retention.ms): the latest record \
        of each key stays, at its offset. Each topic's settings are its own configs over the \
        broker defaults; give the broker's properties file with --config and/or defaults with \
        --override (log.retention.ms, log.retention.hours, log.retention.bytes, \
        log.cleanup.policy …), as for weir broker.

        Opening the database for writing also does what a broker does at startup (e.g. drop a \
        partition column family that no topic names). The broker must be stopped: while one \
        holds the database this exits 1 saying so.

        Prints per partition what went; --json prints one JSON object per line and partition: \
        topic, partition, deleted_batches, deleted_bytes, log_start_offset_before, \
        log_start_offset, log_end_offset, compacted_records, compacted_bytes (stored bytes \
        freed), cleaned_up_to (null when not compacted), skipped (null, or why).

        Exit codes: 0 done, 1 could not (database in use, a partition failed), 2 usage.

        Example:
          weir log compact --data-dir ./data --override log.retention.hours=24
        """
    )

    @Option(name: .customLong("data-dir"), help: "The broker's database directory (log.dirs).")
    var dataDir: String?

    @Option(help: "Only this topic.")
    var topic: String?

    @Option(help: "The broker's properties file, for its retention defaults.")
    var config: String?

    @Option(name: .customLong("override"), help: "A broker default: --override key=value (repeatable).")
    var overrides: [String] = []

    @Flag(help: "One JSON object per line and partition, for scripts.")
    var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    func run() throws {
        let command = "log compact"
        try DatabaseTool.checkUsage(command, unrecognized: unrecognized, required: [("--data-dir", dataDir)])
        let broker: BrokerConfig
        do {
            let text = try config.map { try String(contentsOfFile: $0, encoding: .utf8) } ?? ""
            broker = try BrokerProperties(text: text, overrides: overrides).broker
        } catch let error as BrokerProperties.Invalid {
            throw DatabaseTool.usage(command, "configuration error: \(error)")
        } catch {
            throw DatabaseTool.usage(command, "cannot read \(config ?? "-"): \(error)")
        }
        let store = try DatabaseTool.openForWriting(dataDir!, command)
        defer { store.close() }
        var topics = store.topics()
        if let topic {
            topics = topics.filter { $0.name == topic }
            guard !topics.isEmpty else { throw DatabaseTool.failure(command, "unknown topic \(topic)") }
        }
        var out = StdoutWriter()
        var failed = 0
        var totals = (partitions: 0, batches: 0, bytes: Int64(0), compacted: 0, records: 0, freed: Int64(0))
        let nowMs = Int64(Date().timeIntervalSince1970 * 1000)
        let bar = ProgressBar("compacting")
        let count = topics.reduce(0) { $0 + Int($1.partitionCount) }
        var done = 0
        for record in topics {
            let config = EffectiveTopicConfig(explicit: record.configs, broker: broker)
            let policy = RetentionPolicy(retentionMs: config.retentionMs, retentionBytes: config.retentionBytes,
                                         deletes: config.deleteRetention)
            let compaction = CompactionPolicy(compacts: config.compact, topicConfigs: record.configs)
            var skipped: String?
            if !policy.isActive && !compaction.compacts {
                skipped = config.deleteRetention ? "retention.ms and retention.bytes are both unlimited"
                    : "cleanup.policy has neither delete nor compact"
            }
            for p in 0..<record.partitionCount {
                let tp = TopicPartition(record.name, p)
                guard let log = store.partition(tp) else { continue }
                let before = log.offsets
                var outcome: RetentionOutcome?
                var compacted: CompactionOutcome?
                if skipped == nil {
                    var stage = "retention"
                    do {
                        if policy.isActive { outcome = try log.enforceRetention(policy, nowMs: nowMs) }
                        stage = "compaction"
                        if compaction.compacts { compacted = try log.compact(compaction, nowMs: nowMs) }
                    } catch {
                        bar.finish()
                        CLI.printError("weir \(command): \(tp): \(stage) failed: \(error)")
                        failed += 1
                        continue
                    }
                }
                done += 1
                bar.update(Double(done) / Double(max(count, 1)))
                if let failure = outcome?.reclaimFailure ?? compacted?.reclaimFailure {
                    CLI.printError("weir \(command): \(tp): records removed, but giving their space back failed: \(failure)")
                }
                let after = log.offsets
                if let outcome {
                    totals.partitions += 1
                    totals.batches += outcome.decision.batches
                    totals.bytes += outcome.decision.bytes
                }
                if let compacted {
                    totals.compacted += 1
                    totals.records += compacted.recordsRemoved
                    totals.freed += compacted.bytesFreed
                }
                let line: String
                if json {
                    line = DatabaseTool.jsonLine([
                        "topic": record.name, "partition": p,
                        "deleted_batches": outcome?.decision.batches ?? 0, "deleted_bytes": outcome?.decision.bytes ?? 0,
                        "log_start_offset_before": before.logStartOffset, "log_start_offset": after.logStartOffset,
                        "log_end_offset": after.logEndOffset,
                        "compacted_records": compacted?.recordsRemoved ?? 0, "compacted_bytes": compacted?.bytesFreed ?? 0,
                        "cleaned_up_to": DatabaseTool.null(compacted?.cleanedUpTo), "skipped": DatabaseTool.null(skipped),
                    ])
                } else if let skipped {
                    line = "\(tp): skipped: \(skipped)"
                } else {
                    var parts: [String] = []
                    if let outcome {
                        parts.append("deleted \(outcome.decision.batches) batches, \(outcome.decision.bytes) bytes; "
                            + "log start offset \(before.logStartOffset) -> \(after.logStartOffset) (log end offset \(after.logEndOffset))")
                    }
                    if let compacted {
                        parts.append("compacted: removed \(compacted.recordsRemoved) records, \(compacted.bytesFreed) bytes; "
                            + "cleaned up to offset \(compacted.cleanedUpTo)")
                    }
                    if parts.isEmpty {
                        let what = compaction.compacts ? (policy.isActive ? "nothing to delete or compact" : "nothing to compact")
                            : "nothing to delete"
                        parts.append("\(what) (log start offset \(after.logStartOffset), log end offset \(after.logEndOffset))")
                    }
                    line = "\(tp): " + parts.joined(separator: "; ")
                }
                bar.finish()
                out.write(line + "\n")
            }
        }
        bar.finish()
        if !json {
            out.write("deleted \(totals.batches) batches, \(totals.bytes) bytes from \(totals.partitions) partitions\n")
            if totals.compacted > 0 {
                out.write("compacted \(totals.compacted) partitions: removed \(totals.records) records, \(totals.freed) bytes\n")
            }
        }
        out.flush()
        if failed > 0 { throw ExitCode(1) }
    }
}

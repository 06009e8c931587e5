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

    @Option(name: .customLong("consumer-property"), help: "Consumer settings key=value: group.id, auto.offset.reset (repeatable).")
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
        try await CLI.run(bootstrap: bootstrapServer, clientId: "weir-console-consumer") { client in
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
        return ConsumePlan(topic: topic, partition: partition, start: start, group: groupId,
                           maxMessages: maxMessages, timeoutMs: timeoutMs)
    }
}

struct ConsumePlan {
    enum Start { case earliest, latest, none, offset(Int64) }
    var topic: String
    var partition: Int32?
    var start: Start
    var group: String?
    var maxMessages: Int?
    var timeoutMs: Int?
}

/// The fetch-print-commit loop of one console-consumer run.
struct ConsoleConsumerSession {
    let client: KafkaClient
    let plan: ConsumePlan
    let formatter: RecordFormatter
    let stop: StopSignal
    private(set) var printed = 0
    /// Next offset after the last printed record, per partition: what a group commits.
    private var done: [TopicPartition: Int64] = [:]
    private var committed: [TopicPartition: Int64] = [:]
    private var out = StdoutWriter()

    init(client: KafkaClient, plan: ConsumePlan, formatter: RecordFormatter, stop: StopSignal) {
        self.client = client
        self.plan = plan
        self.formatter = formatter
        self.stop = stop
    }

    mutating func run() async throws {
        var options = Consumer.Options()
        switch plan.start {
        case .earliest: options.reset = .earliest
        case .none: options.reset = .none
        case .latest, .offset: options.reset = .latest
        }
        if let timeout = plan.timeoutMs { options.maxWaitMs = Int32(clamping: max(10, min(500, timeout))) }
        let consumer = Consumer(client: client, options: options)
        var membership: ConsumerGroupMembership?
        if let group = plan.group {
            let m = ConsumerGroupMembership(client: client, groupId: group, topics: [plan.topic])
            membership = m
            try await assignFromGroup(m, consumer)
        } else {
            try await assignDirectly(consumer)
        }
        do {
            try await loop(consumer, membership)
        } catch {
            if let membership { await membership.leave() }
            throw error
        }
        if let membership {
            try await commit(membership)
            await membership.leave()
        }
    }

    private mutating func loop(_ consumer: Consumer, _ membership: ConsumerGroupMembership?) async throws {
        let clock = ContinuousClock()
        var lastRecord = clock.now
        var lastCommit = clock.now
        if plan.maxMessages == 0 { return }
        while !stop.isSet {
            if let membership, membership.needsRejoin {
                try? await commit(membership)
                try await assignFromGroup(membership, consumer)
            }
            let records = try await consumer.poll()
            for record in records {
                out.write(formatter.format(record))
                printed += 1
                done[TopicPartition(record.topic, record.partition)] = record.offset &+ 1
                if let max = plan.maxMessages, printed >= max { break }
            }
            out.flush()
            if out.broken { return }
            if let max = plan.maxMessages, printed >= max { return }
            if !records.isEmpty { lastRecord = clock.now }
            if let timeout = plan.timeoutMs, clock.now - lastRecord >= .milliseconds(timeout) { return }
            if let membership, clock.now - lastCommit >= .seconds(5) {
                // Periodic commit, as enable.auto.commit does; failures are retried next time.
                try? await commit(membership)
                lastCommit = clock.now
            }
        }
    }

    /// Reads the partitions directly: all of them, or `--partition`, from the start position.
    private mutating func assignDirectly(_ consumer: Consumer) async throws {
        var partitions = try await consumer.partitions(of: plan.topic)
        if let only = plan.partition {
            guard partitions.contains(only) else {
                throw CLIError("Topic '\(plan.topic)' has no partition \(only)")
            }
            partitions = [only]
        }
        let tps = partitions.map { TopicPartition(plan.topic, $0) }
        var positions: [TopicPartition: Int64] = [:]
        switch plan.start {
        case .offset(let value):
            for tp in tps { positions[tp] = value }
        case .earliest:
            positions = try await consumer.listOffsets(tps, timestamp: Consumer.earliestTimestamp)
        case .latest, .none:
            positions = try await consumer.listOffsets(tps, timestamp: Consumer.latestTimestamp)
        }
        consumer.assign(positions)
    }

    /// Joins the group and positions each assigned partition at its committed offset, or by
    /// the reset policy when nothing is committed.
    private mutating func assignFromGroup(_ membership: ConsumerGroupMembership, _ consumer: Consumer) async throws {
        let assigned = try await membership.join()
        var positions = try await membership.committed(assigned)
        committed = positions
        let missing = assigned.filter { positions[$0] == nil }
        if !missing.isEmpty {
            switch plan.start {
            case .none:
                throw CLIError("No committed offset for \(missing.map(\.description).joined(separator: ", ")) and auto.offset.reset is none")
            case .earliest:
                positions.merge(try await consumer.listOffsets(missing, timestamp: Consumer.earliestTimestamp)) { a, _ in a }
            case .latest, .offset:
                positions.merge(try await consumer.listOffsets(missing, timestamp: Consumer.latestTimestamp)) { a, _ in a }
            }
        }
        consumer.assign(positions)
    }

    private mutating func commit(_ membership: ConsumerGroupMembership) async throws {
        let changed = done.filter { committed[$0.key] != $0.value }
        guard !changed.isEmpty else { return }
        try await membership.commit(changed)
        committed.merge(changed) { _, new in new }
    }
}

/// Kafka's `DefaultMessageFormatter`: optional timestamp, partition, offset, headers and key
/// columns before the value, separated by `key.separator`, each record ending with
/// `line.separator`. Key, value and header bytes are written as they are.
struct RecordFormatter {
    let printTimestamp: Bool
    let printPartition: Bool
    let printOffset: Bool
    let printHeaders: Bool
    let printKey: Bool
    let printValue: Bool
    let keySeparator: [UInt8]
    let lineSeparator: [UInt8]
    let headersSeparator: [UInt8]
    let headersKeySeparator: [UInt8]
    let nullLiteral: [UInt8]

    init(_ properties: [String: String]) {
        printTimestamp = CLI.flag(properties, "print.timestamp")
        printPartition = CLI.flag(properties, "print.partition")
        printOffset = CLI.flag(properties, "print.offset")
        printHeaders = CLI.flag(properties, "print.headers")
        printKey = CLI.flag(properties, "print.key")
        printValue = CLI.flag(properties, "print.value", default: true)
        keySeparator = Array(CLI.unescape(properties["key.separator"] ?? "\t").utf8)
        lineSeparator = Array(CLI.unescape(properties["line.separator"] ?? "\n").utf8)
        headersSeparator = Array(CLI.unescape(properties["headers.separator"] ?? ",").utf8)
        headersKeySeparator = Array(CLI.unescape(properties["headers.key.separator"] ?? ":").utf8)
        nullLiteral = Array((properties["null.literal"] ?? "null").utf8)
    }

    func format(_ record: ConsumedRecord) -> [UInt8] {
        var out: [UInt8] = []
        // Each column is followed by the key separator if another column follows, else by
        // the line separator; the value column always ends the line.
        func separator(more: Bool) { out += more ? keySeparator : lineSeparator }
        func bytes(_ buffer: ByteBuffer?) { if let buffer { out += buffer.readableBytesView } else { out += nullLiteral } }
        if printTimestamp {
            out += Array("\(record.isLogAppendTime ? "LogAppendTime" : "CreateTime"):\(record.timestamp)".utf8)
            separator(more: printPartition || printOffset || printHeaders || printKey || printValue)
        }
        if printPartition {
            out += Array("Partition:\(record.partition)".utf8)
            separator(more: printOffset || printHeaders || printKey || printValue)
        }
        if printOffset {
            out += Array("Offset:\(record.offset)".utf8)
            separator(more: printHeaders || printKey || printValue)
        }
        if printHeaders {
            if record.headers.isEmpty {
                out += Array("NO_HEADERS".utf8)
            } else {
                for (i, header) in record.headers.enumerated() {
                    if i > 0 { out += headersSeparator }
                    out += Array(header.key.utf8)
                    out += headersKeySeparator
                    bytes(header.value)
                }
            }
            separator(more: printKey || printValue)
        }
        if printKey {
            bytes(record.key)
            separator(more: printValue)
        }
        if printValue {
            bytes(record.value)
            out += lineSeparator
        }
        return out
    }
}

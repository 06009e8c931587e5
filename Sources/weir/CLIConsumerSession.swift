import Foundation
import KafkaProtocol
import WeirClient

/// What one console-consumer run reads: the parsed and validated options.
struct ConsumePlan {
    enum Start { case earliest, latest, none, offset(Int64) }
    var topic: String
    var partition: Int32?
    var start: Start
    var group: String?
    var maxMessages: Int?
    var timeoutMs: Int?
    /// --isolation-level read_committed (or isolation.level in --consumer-property).
    var readCommitted = false
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
        options.readCommitted = plan.readCommitted
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

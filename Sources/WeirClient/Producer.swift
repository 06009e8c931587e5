import KafkaProtocol
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A batching producer for the tools: records are appended to one open `RecordBatchBuilder`
/// per partition, and a batch is sent (Produce, one batch per partition per request, as Kafka
/// requires from v3 on) when it reaches `batchBytes` or `batchRecords`, or on `flush()`.
///
/// Partitioning follows Kafka's default partitioner: a keyed record goes to
/// `murmur2(key) % partitions`; records without a key stick to one partition until its batch
/// is full, then move to the next (the "sticky" round-robin of KIP-480), which keeps batches
/// large. Requests go out one at a time, so a retried batch can never be overtaken by a later
/// one and each partition's records keep their order.
public final class Producer {
    public struct Options: Sendable {
        /// -1 (all), 0 or 1, as Kafka's `acks`.
        public var acks: Int16 = -1
        public var codec: CompressionCodec = .none
        public var batchBytes = 16 * 1024
        public var batchRecords = 1000
        /// Attempts after the first for retriable errors (Kafka's `retries`, bounded here);
        /// with the growing backoff (capped at 1 s) they span about 5 s.
        public var retries = 10
        public var retryBackoffMs = 100
        public var requestTimeoutMs: Int32 = 30000
        /// Ask the broker to create a topic that does not exist (Kafka's default).
        public var allowAutoCreateTopics = true
        public init() {}
    }

    public let client: KafkaClient
    public let options: Options
    /// Records the broker has acknowledged (with acks=0: records sent).
    public private(set) var acknowledged = 0

    private var leaders: [String: [Int32: Int32]] = [:]
    private var open: [TopicPartition: RecordBatchBuilder] = [:]
    /// Partitions whose batch is complete and waiting to be sent, in completion order.
    private var ready: [(TopicPartition, RecordBatchBuilder)] = []
    private var sticky: [String: Int32] = [:]

    public init(client: KafkaClient, options: Options = Options()) {
        self.client = client
        self.options = options
    }

    /// The number of partitions of `topic` (from metadata, cached).
    public func partitionCount(of topic: String) async throws -> Int32 {
        Int32(clamping: try await leaderMap(topic).count)
    }

    /// Queues one record; sends whatever batches it completes. `partition` overrides the
    /// partitioner. `timestamp` (CreateTime, ms) defaults to now.
    public func send(topic: String, partition: Int32? = nil, key: ByteBuffer?, value: ByteBuffer?,
                     headers: [RecordHeader] = [], timestamp: Int64? = nil) async throws {
        let count = try await partitionCount(of: topic)
        guard count > 0 else { throw KafkaClient.ClientError("topic \(topic) has no partitions") }
        let target: Int32
        if let partition {
            guard partition >= 0 && partition < count else {
                throw KafkaClient.ClientError("topic \(topic) has no partition \(partition) (it has \(count))")
            }
            target = partition
        } else if let key {
            target = Murmur2.partition(forKey: key.readableBytesView, partitionCount: count)
        } else {
            target = (sticky[topic] ?? Int32.random(in: 0 ..< count)) % count
            sticky[topic] = target
        }
        let tp = TopicPartition(topic, target)
        let now = timestamp ?? currentTimeMillis()
        var builder = open.removeValue(forKey: tp) ?? RecordBatchBuilder(codec: options.codec, baseTimestamp: now)
        builder.append(key: key, value: value, headers: headers, timestamp: now)
        if builder.estimatedSize >= options.batchBytes || builder.count >= options.batchRecords {
            ready.append((tp, builder))
            if partition == nil && key == nil { sticky[topic] = (target + 1) % count }
            try await sendReady()
        } else {
            open[tp] = builder
        }
    }

    /// Sends every open batch and waits for all acknowledgements.
    public func flush() async throws {
        for tp in open.keys.sorted() {
            if let builder = open.removeValue(forKey: tp) { ready.append((tp, builder)) }
        }
        try await sendReady()
    }

    /// Records appended but not yet sent.
    public var pendingRecords: Int {
        open.values.reduce(0) { $0 + $1.count } + ready.reduce(0) { $0 + $1.1.count }
    }

    private func leaderMap(_ topic: String, refresh: Bool = false) async throws -> [Int32: Int32] {
        if !refresh, let known = leaders[topic] { return known }
        // Like Kafka's producer, ask the broker to create a missing topic (it decides, by its
        // auto.create.topics.enable); a topic being created reports LEADER_NOT_AVAILABLE.
        for attempt in 0 ..< 50 {
            let metadata = try await client.metadata(topics: [topic], allowAutoCreate: options.allowAutoCreateTopics)
            if let t = metadata.topics.first(where: { $0.name == topic }) {
                if t.errorCode == 0 && !t.partitions.isEmpty {
                    let map = Dictionary(t.partitions.map { ($0.partitionIndex, $0.leaderId) }, uniquingKeysWith: { a, _ in a })
                    leaders[topic] = map
                    return map
                }
                let error = KafkaError(code: t.errorCode == 0 ? ErrorCode.leaderNotAvailable.rawValue : t.errorCode,
                                       context: "topic '\(topic)'")
                guard error.code == ErrorCode.leaderNotAvailable.rawValue, attempt < 49 else { throw error }
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw KafkaError(.leaderNotAvailable, context: "topic '\(topic)'")
    }

    /// Sends the ready batches: at most one per partition per request, grouped by leader.
    private func sendReady() async throws {
        while !ready.isEmpty {
            var round: [TopicPartition: ByteBuffer] = [:]
            var counts: [TopicPartition: Int] = [:]
            var rest: [(TopicPartition, RecordBatchBuilder)] = []
            for (tp, builder) in ready {
                if round[tp] == nil {
                    round[tp] = try builder.build()
                    counts[tp] = builder.count
                } else {
                    rest.append((tp, builder))
                }
            }
            ready = rest
            try await produceWithRetries(round, counts: counts)
        }
    }

    private func produceWithRetries(_ batches: [TopicPartition: ByteBuffer], counts: [TopicPartition: Int]) async throws {
        var pending = batches
        var attempt = 0
        while true {
            var failures: [TopicPartition: KafkaError] = [:]
            var byLeader: [Int32: [TopicPartition: ByteBuffer]] = [:]
            for (tp, batch) in pending {
                let leader: Int32
                do {
                    leader = try await leaderMap(tp.topic, refresh: attempt > 0)[tp.partition] ?? -1
                } catch where Consumer.isTransient(error) {
                    // Metadata unreachable (a broker restarting): retried like a lost connection.
                    failures[tp] = KafkaError(.networkException, message: "\(error)", context: "\(tp)")
                    continue
                }
                if leader < 0 {
                    failures[tp] = KafkaError(.leaderNotAvailable, context: "\(tp)")
                } else {
                    byLeader[leader, default: [:]][tp] = batch
                }
            }
            for (leader, group) in byLeader.sorted(by: { $0.key < $1.key }) {
                do {
                    let errors = try await produce(group, to: leader)
                    for (tp, error) in errors { failures[tp] = error }
                } catch {
                    // A lost connection is retried like NETWORK_EXCEPTION.
                    for tp in group.keys { failures[tp] = KafkaError(.networkException, message: "\(error)", context: "\(tp)") }
                }
                for tp in group.keys where failures[tp] == nil { acknowledged += counts[tp] ?? 0 }
            }
            if failures.isEmpty { return }
            if let fatal = failures.values.first(where: { !$0.isRetriable }) ?? (attempt >= options.retries ? failures.values.first : nil) {
                throw fatal
            }
            attempt += 1
            pending = pending.filter { failures[$0.key] != nil }
            try await Task.sleep(nanoseconds: UInt64(min(options.retryBackoffMs * attempt, 1000)) * 1_000_000)
        }
    }

    /// One Produce request to `leader`; returns the partitions that failed.
    private func produce(_ batches: [TopicPartition: ByteBuffer], to leader: Int32) async throws -> [TopicPartition: KafkaError] {
        var request = ProduceRequest()
        request.acks = options.acks
        request.timeoutMs = options.requestTimeoutMs
        let byTopic = Dictionary(grouping: batches.keys, by: { $0.topic })
        request.topicData = byTopic.keys.sorted().map { topic in
            ProduceRequest.TopicProduceData(name: topic, partitionData: byTopic[topic]!.sorted().map {
                ProduceRequest.PartitionProduceData(index: $0.partition, records: batches[$0])
            })
        }
        let connection = try await client.connection(to: leader)
        let version = try client.version(for: ProduceRequest.self)
        if options.acks == 0 {
            try await connection.sendOneWay(request, version: version)
            return [:]
        }
        let timeout = Double(options.requestTimeoutMs) / 1000 + 15
        let response = try await withDeadline(timeout, "Produce to broker \(leader)") { [request] in
            try await connection.send(request, version: version)
        }
        var failures: [TopicPartition: KafkaError] = [:]
        var answered = Set<TopicPartition>()
        for topic in response.responses {
            for p in topic.partitionResponses {
                let tp = TopicPartition(topic.name, p.index)
                answered.insert(tp)
                if p.errorCode != 0 {
                    failures[tp] = KafkaError(code: p.errorCode, message: p.errorMessage, context: "producing to \(tp)")
                }
            }
        }
        for tp in batches.keys where !answered.contains(tp) {
            failures[tp] = KafkaError(.unknownServerError, message: "the Produce response does not mention \(tp)")
        }
        return failures
    }
}

/// Wall-clock milliseconds since the epoch (record timestamps).
func currentTimeMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}

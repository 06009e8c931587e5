import KafkaProtocol
import NIOCore

/// One record as the consumer hands it out.
public struct ConsumedRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var timestamp: Int64
    /// True for LogAppendTime (the broker's clock), false for CreateTime.
    public var isLogAppendTime: Bool
    public var key: ByteBuffer?
    public var value: ByteBuffer?
    public var headers: [RecordHeader]
}

/// Fetches assigned partitions from their leaders: one Fetch request per leader per `poll()`,
/// sessionless (session id 0, epoch -1, so every request names every partition), read
/// uncommitted, or read_committed (`Options.readCommitted`: the broker stops at the last stable
/// offset and lists the aborted transactions, whose records are dropped here as Kafka's
/// consumers drop them). Records come out in offset order per partition; batches that start before the
/// fetch position (a compressed batch is served whole) are trimmed, and control batches
/// (transaction markers) are skipped but still advance the position.
public final class Consumer {
    public enum OffsetReset: Sendable { case earliest, latest, none }

    public struct Options: Sendable {
        public var maxWaitMs: Int32 = 500
        public var minBytes: Int32 = 1
        public var maxBytes: Int32 = 50 << 20
        public var partitionMaxBytes: Int32 = 1 << 20
        public var reset: OffsetReset = .latest
        /// isolation.level=read_committed.
        public var readCommitted = false
        public init() {}
    }

    /// ListOffsets' special timestamps.
    public static let earliestTimestamp: Int64 = -2
    public static let latestTimestamp: Int64 = -1

    public let client: KafkaClient
    public var options: Options
    /// The next offset to fetch, per assigned partition.
    public private(set) var positions: [TopicPartition: Int64] = [:]
    private var leaders: [String: [Int32: Int32]] = [:]
    private var staleTopics: Set<String> = []
    /// Raised for a partition whose next batch did not fit `partitionMaxBytes`.
    private var partitionMaxBytes: [TopicPartition: Int32] = [:]

    public init(client: KafkaClient, options: Options = Options()) {
        self.client = client
        self.options = options
    }

    /// Replaces the assignment: fetching continues from the given offsets.
    public func assign(_ positions: [TopicPartition: Int64]) {
        self.positions = positions
        partitionMaxBytes = partitionMaxBytes.filter { positions[$0.key] != nil }
    }

    /// Moves one partition's position (e.g. after printing fewer records than fetched).
    public func seek(_ tp: TopicPartition, to offset: Int64) {
        positions[tp] = offset
    }

    /// The partition ids of `topic`.
    public func partitions(of topic: String) async throws -> [Int32] {
        try await leaderMap(topic).keys.sorted()
    }

    /// ListOffsets for `timestamp` (`earliestTimestamp`, `latestTimestamp`, or a time in ms),
    /// sent to each partition's leader.
    public func listOffsets(_ tps: [TopicPartition], timestamp: Int64) async throws -> [TopicPartition: Int64] {
        var result: [TopicPartition: Int64] = [:]
        var byLeader: [Int32: [TopicPartition]] = [:]
        for tp in tps {
            guard let leader = try await leaderMap(tp.topic)[tp.partition] else {
                throw KafkaError(.unknownTopicOrPartition, context: "\(tp)")
            }
            byLeader[leader, default: []].append(tp)
        }
        for (leader, group) in byLeader.sorted(by: { $0.key < $1.key }) {
            var request = ListOffsetsRequest()
            request.replicaId = -1
            let byTopic = Dictionary(grouping: group, by: { $0.topic })
            request.topics = byTopic.keys.sorted().map { topic in
                ListOffsetsRequest.ListOffsetsTopic(name: topic, partitions: byTopic[topic]!.map {
                    ListOffsetsRequest.ListOffsetsPartition(partitionIndex: $0.partition, timestamp: timestamp)
                })
            }
            let client = self.client
            let response = try await withDeadline(30, "ListOffsets") { [request] in try await client.send(request, to: leader) }
            for topic in response.topics {
                for p in topic.partitions {
                    let tp = TopicPartition(topic.name, p.partitionIndex)
                    try KafkaError.check(p.errorCode, context: "ListOffsets for \(tp)")
                    // v0 answers with a list of offsets instead of one.
                    result[tp] = p.offset >= 0 ? p.offset : (p.oldStyleOffsets.first ?? -1)
                }
            }
        }
        for tp in tps where result[tp] == nil {
            throw KafkaError(.unknownServerError, message: "ListOffsets did not answer for \(tp)")
        }
        return result
    }

    /// One fetch round: every leader of an assigned partition is asked once (waiting up to
    /// `maxWaitMs` for data). Returns the records past each position, in offset order per
    /// partition, and advances the positions past them.
    public func poll() async throws -> [ConsumedRecord] {
        do {
            let records = try await pollOnce()
            transientFailures = 0
            return records
        } catch where Self.isTransient(error) && transientFailures < Self.maxTransientFailures {
            // A broker restart or a leader change: find the leaders again and retry, as Kafka's
            // consumer does, for about ten seconds before giving up.
            transientFailures += 1
            staleTopics.formUnion(positions.keys.map(\.topic))
            try await Task.sleep(nanoseconds: 500_000_000)
            return []
        }
    }

    private var transientFailures = 0
    static let maxTransientFailures = 20

    /// Lost connections, timeouts and retriable error codes; not corrupt data or fatal codes.
    static func isTransient(_ error: any Error) -> Bool {
        switch error {
        case is ProtocolError: return false
        case let e as KafkaError: return e.isRetriable
        default: return true
        }
    }

    private func pollOnce() async throws -> [ConsumedRecord] {
        var byLeader: [Int32: [TopicPartition]] = [:]
        for tp in positions.keys.sorted() {
            let leader = try await leaderMap(tp.topic, refresh: staleTopics.contains(tp.topic))[tp.partition] ?? -1
            if leader >= 0 { byLeader[leader, default: []].append(tp) }
        }
        staleTopics = []
        if byLeader.isEmpty {
            // Nothing fetchable (no assignment, or leaders unknown): wait like an empty fetch.
            try await Task.sleep(nanoseconds: UInt64(max(options.maxWaitMs, 10)) * 1_000_000)
            return []
        }
        var out: [ConsumedRecord] = []
        for (leader, tps) in byLeader.sorted(by: { $0.key < $1.key }) {
            out += try await fetch(tps, from: leader)
        }
        return out
    }

    private func fetch(_ tps: [TopicPartition], from leader: Int32) async throws -> [ConsumedRecord] {
        var request = FetchRequest()
        request.replicaId = -1
        request.maxWaitMs = options.maxWaitMs
        request.minBytes = options.minBytes
        request.maxBytes = options.maxBytes
        request.isolationLevel = options.readCommitted ? 1 : 0
        request.sessionId = 0
        request.sessionEpoch = -1
        let byTopic = Dictionary(grouping: tps, by: { $0.topic })
        request.topics = byTopic.keys.sorted().map { topic in
            FetchRequest.FetchTopic(topic: topic, partitions: byTopic[topic]!.map { tp in
                FetchRequest.FetchPartition(partition: tp.partition, fetchOffset: positions[tp] ?? 0,
                                            partitionMaxBytes: partitionMaxBytes[tp] ?? options.partitionMaxBytes)
            })
        }
        let client = self.client
        let wait = Double(options.maxWaitMs) / 1000 + 30
        let response = try await withDeadline(wait, "Fetch from broker \(leader)") { [request] in try await client.send(request, to: leader) }
        try KafkaError.check(response.errorCode, context: "Fetch")
        var out: [ConsumedRecord] = []
        for topic in response.responses {
            for p in topic.partitions {
                let tp = TopicPartition(topic.topic, p.partitionIndex)
                guard let position = positions[tp] else { continue }
                out += try handle(p, tp, position: position)
            }
        }
        // Offsets out of range are reset after the round, so that a reset needs no second pass.
        for (tp, reset) in pendingResets {
            positions[tp] = try await listOffsets([tp], timestamp: reset)[tp] ?? 0
        }
        pendingResets = [:]
        return out
    }

    private var pendingResets: [TopicPartition: Int64] = [:]

    private func handle(_ p: FetchResponse.PartitionData, _ tp: TopicPartition, position: Int64) throws -> [ConsumedRecord] {
        if p.errorCode == ErrorCode.offsetOutOfRange.rawValue {
            switch options.reset {
            case .earliest: pendingResets[tp] = Self.earliestTimestamp
            case .latest: pendingResets[tp] = Self.latestTimestamp
            case .none: throw KafkaError(code: p.errorCode, context: "fetching \(tp) at offset \(position)")
            }
            return []
        }
        if p.errorCode != 0 {
            let error = KafkaError(code: p.errorCode, context: "fetching \(tp)")
            guard error.isRetriable else { throw error }
            staleTopics.insert(tp.topic)
            return []
        }
        guard let records = p.records, records.readableBytes > 0 else { return [] }
        var reader = RecordBatchReader(records)
        var out: [ConsumedRecord] = []
        var next = position
        var sawBatch = false
        // read_committed: the aborted transactions not yet reached, by first offset, and the
        // producers inside one (until their abort marker).
        var pendingAborts = (p.abortedTransactions ?? []).sorted { $0.firstOffset < $1.firstOffset }[...]
        var aborting = Set<Int64>()
        while let batch = try reader.nextBatch() {
            sawBatch = true
            let header = batch.header
            let last = header.baseOffset &+ Int64(header.lastOffsetDelta)
            while let first = pendingAborts.first, first.firstOffset <= last {
                aborting.insert(first.producerId)
                pendingAborts = pendingAborts.dropFirst()
            }
            let aborted = options.readCommitted && header.isTransactional && aborting.contains(header.producerId)
            if header.isControl && ControlRecord.kind(ofKey: batch.records.first?.key) == .abort {
                aborting.remove(header.producerId)
            }
            if last < next { continue }
            if !header.isControl && !aborted {
                for entry in batch where entry.offset >= next {
                    out.append(ConsumedRecord(topic: tp.topic, partition: tp.partition, offset: entry.offset,
                                              timestamp: entry.timestamp, isLogAppendTime: header.isLogAppendTime,
                                              key: entry.key, value: entry.value, headers: entry.headers))
                }
            }
            next = max(next, last &+ 1)
        }
        if !sawBatch && reader.unreadBytes > 0 {
            // The next batch is larger than the partition limit: ask for more next time.
            let current = partitionMaxBytes[tp] ?? options.partitionMaxBytes
            partitionMaxBytes[tp] = current >= options.maxBytes / 2 ? options.maxBytes : current * 2
        }
        positions[tp] = next
        return out
    }

    private func leaderMap(_ topic: String, refresh: Bool = false) async throws -> [Int32: Int32] {
        if !refresh, let known = leaders[topic] { return known }
        let map = try await client.partitions(of: topic)
        leaders[topic] = map
        return map
    }
}

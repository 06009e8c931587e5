/// The per-topic configs Weir knows, with their broker-level defaults. CreateTopics and
/// AlterConfigs reject anything else with INVALID_CONFIG (as Kafka does for unknown keys), and
/// DescribeConfigs lists all of them with their source.
public struct TopicConfigDefinition: Sendable {
    public enum Kind: Sendable { case long, int, string, bool, list, double }
    public var name: String
    public var kind: Kind
    /// The value a topic has when it sets nothing, given the broker's settings.
    public var defaultValue: @Sendable (BrokerConfig) -> String
    /// The broker property that supplies the default (DescribeConfigs synonyms), if any.
    public var brokerProperty: String?
    /// Extra validation beyond the type; returns a reason when the value is rejected.
    public var validate: @Sendable (String) -> String?
    public var sensitive: Bool = false
    /// Validation that depends on the broker's own settings.
    public var brokerValidate: (@Sendable (String, BrokerConfig) -> String?)? = nil
    /// Why the setting is accepted yet changes nothing in Weir (DescribeConfigs' documentation,
    /// the README, a log line when a topic sets it); nil for settings that take effect.
    public var noEffect: String? = nil
}

public enum TopicConfigs {
    public static let all: [TopicConfigDefinition] = [
        .init(name: "cleanup.policy", kind: .list, defaultValue: { $0.cleanupPolicy }, brokerProperty: "log.cleanup.policy",
              validate: { v in
                  let parts = v.split(separator: ",").map { $0.trimmingSpaces }
                  return parts.allSatisfy { $0 == "delete" || $0 == "compact" } && !parts.isEmpty
                      ? nil : "cleanup.policy must be delete, compact or both"
              }),
        .init(name: "compression.type", kind: .string, defaultValue: { _ in "producer" }, brokerProperty: "compression.type",
              validate: { v in
                  guard ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"].contains(v) else { return "unknown compression.type" }
                  // Weir stores batches as the producer compressed them; recompressing is not built yet.
                  return v == "producer" ? nil : "Weir stores batches as produced: only compression.type=producer is supported"
              }),
        .init(name: "delete.retention.ms", kind: .long, defaultValue: { _ in "86400000" }, brokerProperty: "log.cleaner.delete.retention.ms", validate: nonNegative),
        .init(name: "file.delete.delay.ms", kind: .long, defaultValue: { _ in "60000" }, brokerProperty: "log.segment.delete.delay.ms", validate: nonNegative,
              noEffect: "Accepted for compatibility (Kafka Streams and Connect set it); no effect: Weir's log has no segment files, so retention and deletion work per batch."),
        // One WAL serves every topic: a topic can ask for an fsync on every append (1), or keep
        // the broker's setting; other intervals would need per-topic WALs.
        .init(name: "flush.messages", kind: .long, defaultValue: { String($0.flushIntervalMessages) }, brokerProperty: "log.flush.interval.messages",
              validate: { v in
                  guard let n = Int64(v), n >= 1 else { return "must be at least 1" }
                  return n == 1 || n == Int64.max ? nil : "Weir supports flush.messages=1 (fsync every append) or the default"
              }),
        .init(name: "flush.ms", kind: .long, defaultValue: { String($0.flushIntervalMs ?? Int64.max) }, brokerProperty: "log.flush.interval.ms", validate: nonNegative,
              brokerValidate: { v, broker in
                  v == String(broker.flushIntervalMs ?? Int64.max) ? nil
                      : "Weir fsyncs one write-ahead log for all topics: set the broker's log.flush.interval.ms instead"
              }),
        .init(name: "index.interval.bytes", kind: .int, defaultValue: { _ in "4096" }, brokerProperty: "log.index.interval.bytes", validate: nonNegative,
              noEffect: "Accepted for compatibility; no effect: Weir's log is keyed by offset in RocksDB and needs no sparse index."),
        .init(name: "max.compaction.lag.ms", kind: .long, defaultValue: { _ in "9223372036854775807" }, brokerProperty: "log.cleaner.max.compaction.lag.ms", validate: positive),
        .init(name: "max.message.bytes", kind: .int, defaultValue: { String($0.messageMaxBytes) }, brokerProperty: "message.max.bytes", validate: nonNegative),
        .init(name: "message.timestamp.type", kind: .string, defaultValue: { $0.logAppendTime ? "LogAppendTime" : "CreateTime" },
              brokerProperty: "log.message.timestamp.type",
              validate: { $0 == "CreateTime" || $0 == "LogAppendTime" ? nil : "message.timestamp.type must be CreateTime or LogAppendTime" }),
        .init(name: "min.cleanable.dirty.ratio", kind: .double, defaultValue: { _ in "0.5" }, brokerProperty: "log.cleaner.min.cleanable.ratio",
              validate: { Double($0).map { (0...1).contains($0) } == true ? nil : "must be between 0 and 1" }),
        .init(name: "min.compaction.lag.ms", kind: .long, defaultValue: { _ in "0" }, brokerProperty: "log.cleaner.min.compaction.lag.ms", validate: nonNegative),
        .init(name: "min.insync.replicas", kind: .int, defaultValue: { _ in "1" }, brokerProperty: "min.insync.replicas", validate: positive,
              noEffect: "No effect on a single broker (every write is on its one replica); in a cluster, acks=all needs this many in-sync replicas."),
        .init(name: "preallocate", kind: .bool, defaultValue: { _ in "false" }, brokerProperty: "log.preallocate", validate: bool,
              noEffect: "Accepted for compatibility (Kafka Streams and Connect set it); no effect: Weir's log has no segment files, so retention and deletion work per batch."),
        .init(name: "retention.bytes", kind: .long, defaultValue: { String($0.retentionBytes) }, brokerProperty: "log.retention.bytes", validate: atLeastMinusOne),
        .init(name: "retention.ms", kind: .long, defaultValue: { String($0.retentionMs) }, brokerProperty: "log.retention.ms", validate: atLeastMinusOne),
        .init(name: "segment.bytes", kind: .int, defaultValue: { _ in "1073741824" }, brokerProperty: "log.segment.bytes", validate: positive,
              noEffect: "Accepted for compatibility (Kafka Streams and Connect set it); no effect: Weir's log has no segment files, so retention and deletion work per batch."),
        .init(name: "segment.index.bytes", kind: .int, defaultValue: { _ in "10485760" }, brokerProperty: "log.index.size.max.bytes", validate: positive,
              noEffect: "Accepted for compatibility (Kafka Streams and Connect set it); no effect: Weir's log has no segment files, so retention and deletion work per batch."),
        .init(name: "segment.jitter.ms", kind: .long, defaultValue: { _ in "0" }, brokerProperty: "log.roll.jitter.ms", validate: nonNegative,
              noEffect: "Accepted for compatibility (Kafka Streams and Connect set it); no effect: Weir's log has no segment files, so retention and deletion work per batch."),
        .init(name: "segment.ms", kind: .long, defaultValue: { _ in "604800000" }, brokerProperty: "log.roll.ms", validate: positive,
              noEffect: "Accepted for compatibility (Kafka Streams and Connect set it); no effect: Weir's log has no segment files, so retention and deletion work per batch."),
        .init(name: "unclean.leader.election.enable", kind: .bool, defaultValue: { _ in "false" }, brokerProperty: "unclean.leader.election.enable", validate: bool,
              noEffect: "No effect on a single broker (there is no other replica to elect); it will apply once Weir replicates."),
        .init(name: "message.downconversion.enable", kind: .bool, defaultValue: { String($0.downConversion) }, brokerProperty: "log.message.downconversion.enable", validate: bool),
        // Kafka 3.x accepts it (deprecated) and clients that test old formats set it.
        .init(name: "message.format.version", kind: .string, defaultValue: { _ in "3.0-IV1" }, brokerProperty: "log.message.format.version",
              validate: { isKafkaVersion($0) ? nil : "not a Kafka version (such as 0.10.2 or 2.8-IV1)" },
              noEffect: "Accepted for compatibility (Kafka 3.x accepts it, deprecated); no effect: Weir always stores record batch v2 and down-converts on Fetch for clients that need magic 0 or 1."),
    ]

    public static let byName: [String: TopicConfigDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// nil when every key is known and every value valid; otherwise the first problem.
    public static func problem(in configs: [String: String], broker: BrokerConfig) -> String? {
        for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
            guard let def = byName[key] else { return "Unknown topic config name: \(key)" }
            if let typeProblem = typeCheck(def.kind, value) { return "Invalid value \(value) for configuration \(key): \(typeProblem)" }
            if let reason = def.validate(value) ?? def.brokerValidate?(value, broker) {
                return "Invalid value \(value) for configuration \(key): \(reason)"
            }
        }
        return nil
    }

    /// The settings among `configs` that Weir accepts but that change nothing, with why.
    public static func withoutEffect(in configs: [String: String]) -> [(name: String, why: String)] {
        configs.keys.sorted().compactMap { key in byName[key]?.noEffect.map { (key, $0) } }
    }

    /// "0.10.2", "2.8", "3.0-IV1": what message.format.version accepts.
    static func isKafkaVersion(_ v: String) -> Bool {
        let parts = v.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        let numbers = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard (2...3).contains(numbers.count), numbers.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else {
            return false
        }
        guard parts.count == 2 else { return true }
        let iv = parts[1]
        return iv.hasPrefix("IV") && iv.count > 2 && iv.dropFirst(2).allSatisfy { $0.isASCII && $0.isNumber }
    }

    private static func typeCheck(_ kind: TopicConfigDefinition.Kind, _ v: String) -> String? {
        switch kind {
        case .long: return Int64(v) == nil ? "Not a number of type LONG" : nil
        case .int: return Int32(v) == nil ? "Not a number of type INT" : nil
        case .double: return Double(v) == nil ? "Not a number of type DOUBLE" : nil
        case .bool: return nil
        case .string, .list: return nil
        }
    }

    private static let nonNegative: @Sendable (String) -> String? = { (Int64($0) ?? -1) >= 0 ? nil : "must be at least 0" }
    private static let positive: @Sendable (String) -> String? = { (Int64($0) ?? 0) >= 1 ? nil : "must be at least 1" }
    private static let atLeastMinusOne: @Sendable (String) -> String? = { (Int64($0) ?? -2) >= -1 ? nil : "must be at least -1" }
    private static let bool: @Sendable (String) -> String? = { ["true", "false"].contains($0.lowercased()) ? nil : "Expected value to be either true or false" }
}

/// The settings of one topic that the data path obeys, resolved from its explicit configs over
/// the broker's defaults.
public struct EffectiveTopicConfig: Sendable {
    public var maxMessageBytes: Int
    public var logAppendTime: Bool
    public var retentionMs: Int64
    public var retentionBytes: Int64
    public var compact: Bool
    public var deleteRetention: Bool
    /// flush.messages=1: every append to this topic is fsynced.
    public var fsyncEachAppend: Bool
    /// message.downconversion.enable: Fetch v0–v3 may be answered (down-converted).
    public var downConversion: Bool
    /// min.insync.replicas: acks=all needs at least this many in-sync replicas.
    public var minInSyncReplicas: Int

    public init(explicit: [String: String], broker: BrokerConfig) {
        maxMessageBytes = explicit["max.message.bytes"].flatMap { Int($0) } ?? broker.messageMaxBytes
        logAppendTime = (explicit["message.timestamp.type"].map { $0 == "LogAppendTime" }) ?? broker.logAppendTime
        retentionMs = explicit["retention.ms"].flatMap { Int64($0) } ?? broker.retentionMs
        retentionBytes = explicit["retention.bytes"].flatMap { Int64($0) } ?? broker.retentionBytes
        let policy = (explicit["cleanup.policy"] ?? broker.cleanupPolicy).split(separator: ",").map { $0.trimmingSpaces }
        compact = policy.contains("compact")
        deleteRetention = policy.contains("delete")
        fsyncEachAppend = (explicit["flush.messages"].flatMap { Int64($0) } ?? broker.flushIntervalMessages) == 1
        downConversion = explicit["message.downconversion.enable"].map { $0 == "true" } ?? broker.downConversion
        minInSyncReplicas = explicit["min.insync.replicas"].flatMap { Int($0) } ?? broker.minInSyncReplicas
    }
}

extension Substring {
    var trimmingSpaces: String {
        var s = self
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}

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
              validate: { ["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"].contains($0) ? nil : "unknown compression.type" }),
        .init(name: "delete.retention.ms", kind: .long, defaultValue: { _ in "86400000" }, brokerProperty: "log.cleaner.delete.retention.ms", validate: nonNegative),
        .init(name: "file.delete.delay.ms", kind: .long, defaultValue: { _ in "60000" }, brokerProperty: "log.segment.delete.delay.ms", validate: nonNegative),
        .init(name: "flush.messages", kind: .long, defaultValue: { String($0.flushIntervalMessages) }, brokerProperty: "log.flush.interval.messages", validate: positive),
        .init(name: "flush.ms", kind: .long, defaultValue: { String($0.flushIntervalMs ?? Int64.max) }, brokerProperty: "log.flush.interval.ms", validate: nonNegative),
        .init(name: "index.interval.bytes", kind: .int, defaultValue: { _ in "4096" }, brokerProperty: "log.index.interval.bytes", validate: nonNegative),
        .init(name: "max.compaction.lag.ms", kind: .long, defaultValue: { _ in "9223372036854775807" }, brokerProperty: "log.cleaner.max.compaction.lag.ms", validate: positive),
        .init(name: "max.message.bytes", kind: .int, defaultValue: { String($0.messageMaxBytes) }, brokerProperty: "message.max.bytes", validate: nonNegative),
        .init(name: "message.timestamp.type", kind: .string, defaultValue: { $0.logAppendTime ? "LogAppendTime" : "CreateTime" },
              brokerProperty: "log.message.timestamp.type",
              validate: { $0 == "CreateTime" || $0 == "LogAppendTime" ? nil : "message.timestamp.type must be CreateTime or LogAppendTime" }),
        .init(name: "min.cleanable.dirty.ratio", kind: .double, defaultValue: { _ in "0.5" }, brokerProperty: "log.cleaner.min.cleanable.ratio",
              validate: { Double($0).map { (0...1).contains($0) } == true ? nil : "must be between 0 and 1" }),
        .init(name: "min.compaction.lag.ms", kind: .long, defaultValue: { _ in "0" }, brokerProperty: "log.cleaner.min.compaction.lag.ms", validate: nonNegative),
        .init(name: "min.insync.replicas", kind: .int, defaultValue: { _ in "1" }, brokerProperty: "min.insync.replicas", validate: positive),
        .init(name: "preallocate", kind: .bool, defaultValue: { _ in "false" }, brokerProperty: "log.preallocate", validate: bool),
        .init(name: "retention.bytes", kind: .long, defaultValue: { String($0.retentionBytes) }, brokerProperty: "log.retention.bytes", validate: atLeastMinusOne),
        .init(name: "retention.ms", kind: .long, defaultValue: { String($0.retentionMs) }, brokerProperty: "log.retention.ms", validate: atLeastMinusOne),
        .init(name: "segment.bytes", kind: .int, defaultValue: { _ in "1073741824" }, brokerProperty: "log.segment.bytes", validate: positive),
        .init(name: "segment.index.bytes", kind: .int, defaultValue: { _ in "10485760" }, brokerProperty: "log.index.size.max.bytes", validate: positive),
        .init(name: "segment.jitter.ms", kind: .long, defaultValue: { _ in "0" }, brokerProperty: "log.roll.jitter.ms", validate: nonNegative),
        .init(name: "segment.ms", kind: .long, defaultValue: { _ in "604800000" }, brokerProperty: "log.roll.ms", validate: positive),
        .init(name: "unclean.leader.election.enable", kind: .bool, defaultValue: { _ in "false" }, brokerProperty: "unclean.leader.election.enable", validate: bool),
        .init(name: "message.downconversion.enable", kind: .bool, defaultValue: { _ in "true" }, brokerProperty: "log.message.downconversion.enable", validate: bool),
    ]

    public static let byName: [String: TopicConfigDefinition] = Dictionary(uniqueKeysWithValues: all.map { ($0.name, $0) })

    /// nil when every key is known and every value valid; otherwise the first problem.
    public static func problem(in configs: [String: String]) -> String? {
        for (key, value) in configs.sorted(by: { $0.key < $1.key }) {
            guard let def = byName[key] else { return "Unknown topic config name: \(key)" }
            if let typeProblem = typeCheck(def.kind, value) { return "Invalid value \(value) for configuration \(key): \(typeProblem)" }
            if let reason = def.validate(value) { return "Invalid value \(value) for configuration \(key): \(reason)" }
        }
        return nil
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

    public init(explicit: [String: String], broker: BrokerConfig) {
        maxMessageBytes = explicit["max.message.bytes"].flatMap { Int($0) } ?? broker.messageMaxBytes
        logAppendTime = (explicit["message.timestamp.type"].map { $0 == "LogAppendTime" }) ?? broker.logAppendTime
        retentionMs = explicit["retention.ms"].flatMap { Int64($0) } ?? broker.retentionMs
        retentionBytes = explicit["retention.bytes"].flatMap { Int64($0) } ?? broker.retentionBytes
        let policy = (explicit["cleanup.policy"] ?? broker.cleanupPolicy).split(separator: ",").map { $0.trimmingSpaces }
        compact = policy.contains("compact")
        deleteRetention = policy.contains("delete")
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

import KafkaProtocol
import Logging
import WeirStorage

/// Topic lifecycle with Kafka's rules (names, partition counts, replication factor against
/// the live brokers, configs) on top of the store's catalog. Shared by CreateTopics, Metadata's
/// auto-creation, DeleteTopics, CreatePartitions and the config APIs.
public struct TopicManager: Sendable {
    public struct Failure: Error {
        public var code: ErrorCode
        public var message: String

        public init(code: ErrorCode, message: String) {
            self.code = code
            self.message = message
        }

        /// What a topic change answers for `error`: a Failure's own code and message, else
        /// UNKNOWN_SERVER_ERROR with the error's text.
        public static func answer(for error: any Error) -> (code: ErrorCode, message: String) {
            if let failure = error as? Failure { return (failure.code, failure.message) }
            return (.unknownServerError, "\(error)")
        }
    }

    let store: LogStore
    public let config: BrokerConfig
    let logger: Logger

    public init(store: LogStore, config: BrokerConfig, logger: Logger) {
        self.store = store
        self.config = config
        self.logger = logger
    }

    /// Brokers in the cluster. One for now; replication will make this the live broker set.
    var liveBrokerCount: Int { 1 }

    public static func validateName(_ name: String) -> String? {
        if name.isEmpty { return "Topic name is illegal, it can't be empty" }
        if name == "." || name == ".." { return "Topic name cannot be \".\" or \"..\"" }
        if name.utf8.count > 249 { return "Topic name is illegal, it can't be longer than 249 characters" }
        let legal = name.utf8.allSatisfy { c in
            (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        return legal ? nil : "Topic name \"\(name)\" is illegal, it contains a character other than ASCII alphanumerics, '.', '_' and '-'"
    }

    /// Checks a creation request; -1 partitions / replication factor mean the broker defaults.
    public func checkCreate(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) throws -> (Int32, Int16) {
        try checkCreate(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs,
                        liveBrokers: liveBrokerCount, exists: store.topic(named: name) != nil)
    }

    /// The same checks against a cluster's live brokers and topics.
    public func checkCreate(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String],
                            liveBrokers liveBrokerCount: Int, exists: Bool) throws -> (Int32, Int16) {
        if let problem = Self.validateName(name) { throw Failure(code: .invalidTopicException, message: problem) }
        if exists { throw Failure(code: .topicAlreadyExists, message: "Topic '\(name)' already exists.") }
        let p = partitions == -1 ? config.numPartitions : partitions
        guard p > 0 else { throw Failure(code: .invalidPartitions, message: "Number of partitions must be larger than 0.") }
        guard p <= 100_000 else { throw Failure(code: .invalidPartitions, message: "Number of partitions \(p) is too large.") }
        let rf = replicationFactor == -1 ? config.defaultReplicationFactor : replicationFactor
        guard rf > 0 else { throw Failure(code: .invalidReplicationFactor, message: "Replication factor must be larger than 0.") }
        guard Int(rf) <= liveBrokerCount else {
            throw Failure(code: .invalidReplicationFactor,
                          message: "Replication factor: \(rf) larger than available brokers: \(liveBrokerCount).")
        }
        if let problem = TopicConfigs.problem(in: configs, broker: config) { throw Failure(code: .invalidConfig, message: problem) }
        return (p, rf)
    }

    @discardableResult
    public func create(name: String, partitions: Int32, replicationFactor: Int16, configs: [String: String]) throws -> TopicRecord {
        let (p, _) = try checkCreate(name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs)
        do {
            let record = try store.createTopic(name: name, partitions: p, configs: configs)
            logger.info("created topic", metadata: ["topic": "\(name)", "partitions": "\(p)", "id": "\(record.id)"])
            Self.logWithoutEffect(configs, topic: name, logger: logger)
            return record
        } catch StorageError.topicExists(_) {
            throw Failure(code: .topicAlreadyExists, message: "Topic '\(name)' already exists.")
        }
    }

    public func delete(name: String) throws {
        guard config.deleteTopicEnable else {
            throw Failure(code: .topicDeletionDisabled, message: "Topic deletion is disabled.")
        }
        guard store.topic(named: name) != nil else {
            throw Failure(code: .unknownTopicOrPartition, message: "This server does not host this topic-partition.")
        }
        try store.deleteTopic(name: name)
        logger.info("deleted topic", metadata: ["topic": "\(name)"])
    }

    /// One line per topic change that sets something Weir accepts but ignores, saying why.
    static func logWithoutEffect(_ configs: [String: String], topic: String, logger: Logger) {
        for (name, why) in TopicConfigs.withoutEffect(in: configs) {
            logger.info("topic config has no effect", metadata: ["topic": "\(topic)", "config": "\(name)", "why": "\(why)"])
        }
    }

    public func effectiveConfig(of topic: TopicRecord) -> EffectiveTopicConfig {
        EffectiveTopicConfig(explicit: topic.configs, broker: config)
    }
}

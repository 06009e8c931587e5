import ArgumentParser

/// `weir`: the broker daemon and the Kafka-style tools, one binary.
@main
struct Weir: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weir",
        abstract: "A Kafka-compatible message broker on RocksDB.",
        subcommands: [
            BrokerCommand.self,
            TopicsCommand.self,
            ConsoleProducerCommand.self,
            ConsoleConsumerCommand.self,
            ConsumerGroupsCommand.self,
            ConfigsCommand.self,
            AclsCommand.self,
            GetOffsetsCommand.self,
            DeleteRecordsCommand.self,
            LogCommand.self,
            SnapshotCommand.self,
            TransactionsCommand.self,
        ]
    )
}

import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir transactions`: kafka-transactions.sh — list, describe, describe-producers, abort and
/// find-hanging, over ListTransactions, DescribeTransactions, DescribeProducers and
/// WriteTxnMarkers, printing Kafka's columns.
struct TransactionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transactions",
        abstract: "Inspect and abort transactions (like kafka-transactions.sh).",
        discussion: """
        Examples:
          weir transactions --bootstrap-server 127.0.0.1:9092 list
          weir transactions --bootstrap-server 127.0.0.1:9092 describe --transactional-id orders-app
          weir transactions --bootstrap-server 127.0.0.1:9092 describe-producers --topic orders --partition 0
          weir transactions --bootstrap-server 127.0.0.1:9092 find-hanging --broker-id 1
          weir transactions --bootstrap-server 127.0.0.1:9092 abort --topic orders --partition 0 --start-offset 42

        Exit codes: 0 done, 1 failure (a broker error, an unknown id), 2 usage.
        """,
        subcommands: [List.self, Describe.self, DescribeProducers.self, FindHanging.self, Abort.self]
    )

    // Given before the subcommand, as kafka-transactions.sh takes it; the subcommands read it
    // through their own group of the same type.
    @OptionGroup var connection: Connection

    struct Connection: ParsableArguments {
        @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
        var bootstrapServer: String
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Transactional ids, their producer and state.")
        @OptionGroup var connection: Connection

        func run() async throws {
            try await CLI.run(bootstrap: connection.bootstrapServer, clientId: "weir-transactions") { client in
                let response = try await client.send(ListTransactionsRequest())
                try KafkaError.check(response.errorCode, context: "ListTransactions")
                var rows = [["TransactionalId", "Coordinator", "ProducerId", "TransactionState"]]
                for t in response.transactionStates {
                    rows.append([t.transactionalId, "1", "\(t.producerId)", t.transactionState])
                }
                TransactionsCommand.printTable(rows)
            }
        }
    }

    struct Describe: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One transactional id's state, timeout and partitions.")
        @OptionGroup var connection: Connection
        @Option(name: .customLong("transactional-id"), help: "The transactional id.")
        var transactionalId: String

        func run() async throws {
            try await CLI.run(bootstrap: connection.bootstrapServer, clientId: "weir-transactions") { client in
                let response = try await client.send(DescribeTransactionsRequest(transactionalIds: [transactionalId]))
                guard let t = response.transactionStates.first else { throw CLIError("no answer for \(transactionalId)") }
                try KafkaError.check(t.errorCode, context: "transactional id \(transactionalId)")
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                let partitions = t.topics.flatMap { topic in topic.partitions.map { "\(topic.topic)-\($0)" } }
                let rows = [["CoordinatorId", "TransactionalId", "ProducerId", "ProducerEpoch", "TransactionState",
                             "TransactionTimeoutMs", "CurrentTransactionStartTimeMs", "TransactionDurationMs", "TopicPartitions"],
                            ["1", t.transactionalId, "\(t.producerId)", "\(t.producerEpoch)", t.transactionState,
                             "\(t.transactionTimeoutMs)", t.transactionStartTimeMs < 0 ? "None" : "\(t.transactionStartTimeMs)",
                             t.transactionStartTimeMs < 0 ? "None" : "\(now - t.transactionStartTimeMs)",
                             partitions.joined(separator: ",")]]
                TransactionsCommand.printTable(rows)
            }
        }
    }

    struct DescribeProducers: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "describe-producers",
                                                        abstract: "The producers a partition remembers.")
        @OptionGroup var connection: Connection
        @Option(help: "The topic.") var topic: String
        @Option(help: "The partition.") var partition: Int32

        func run() async throws {
            try await CLI.run(bootstrap: connection.bootstrapServer, clientId: "weir-transactions") { client in
                let p = try await TransactionsCommand.producers(client, topic: topic, partition: partition)
                var rows = [["ProducerId", "ProducerEpoch", "LatestCoordinatorEpoch", "LastSequence", "LastTimestamp",
                             "CurrentTransactionStartOffset"]]
                for s in p.activeProducers {
                    rows.append(["\(s.producerId)", "\(s.producerEpoch)", "\(s.coordinatorEpoch)", "\(s.lastSequence)",
                                 "\(s.lastTimestamp)", s.currentTxnStartOffset < 0 ? "None" : "\(s.currentTxnStartOffset)"])
                }
                TransactionsCommand.printTable(rows)
            }
        }
    }

    struct FindHanging: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "find-hanging",
            abstract: "Open transactions on partitions older than the longest transaction timeout.")
        @OptionGroup var connection: Connection
        @Option(name: .customLong("broker-id"), help: "The broker whose partitions to search (Weir: 1).")
        var brokerId: Int32 = 1
        @Option(name: .customLong("max-transaction-timeout"), help: "Minutes an open transaction may last (default 15, Kafka's transaction.max.timeout.ms).")
        var maxTransactionTimeout: Int64 = 15

        func run() async throws {
            try await CLI.run(bootstrap: connection.bootstrapServer, clientId: "weir-transactions") { client in
                let now = Int64(Date().timeIntervalSince1970 * 1000)
                var rows = [["Topic", "Partition", "ProducerId", "ProducerEpoch", "CoordinatorEpoch", "StartOffset",
                             "LastTimestamp", "Duration(min)"]]
                for description in try await Admin(client: client).describeTopics(nil) {
                    for part in description.partitions {
                        let p = try await TransactionsCommand.producers(client, topic: description.name, partition: part.partition)
                        for s in p.activeProducers where s.currentTxnStartOffset >= 0 {
                            let minutes = (now - s.lastTimestamp) / 60_000
                            guard minutes >= maxTransactionTimeout else { continue }
                            rows.append([description.name, "\(part.partition)", "\(s.producerId)", "\(s.producerEpoch)",
                                         "\(s.coordinatorEpoch)", "\(s.currentTxnStartOffset)", "\(s.lastTimestamp)", "\(minutes)"])
                        }
                    }
                }
                TransactionsCommand.printTable(rows)
            }
        }
    }

    struct Abort: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Abort the open transaction that starts at --start-offset on a partition (a hanging one).")
        @OptionGroup var connection: Connection
        @Option(help: "The topic.") var topic: String
        @Option(help: "The partition.") var partition: Int32
        @Option(name: .customLong("start-offset"), help: "The first offset of the open transaction (describe-producers' CurrentTransactionStartOffset).")
        var startOffset: Int64

        func run() async throws {
            try await CLI.run(bootstrap: connection.bootstrapServer, clientId: "weir-transactions") { client in
                let p = try await TransactionsCommand.producers(client, topic: topic, partition: partition)
                guard let s = p.activeProducers.first(where: { $0.currentTxnStartOffset == startOffset }) else {
                    throw CLIError("no open transaction starts at offset \(startOffset) on \(topic)-\(partition)")
                }
                var request = WriteTxnMarkersRequest()
                request.markers = [.init(producerId: s.producerId, producerEpoch: Int16(truncatingIfNeeded: s.producerEpoch),
                                         transactionResult: false, topics: [.init(name: topic, partitionIndexes: [partition])],
                                         coordinatorEpoch: s.coordinatorEpoch)]
                let response = try await client.send(request)
                for marker in response.markers {
                    for t in marker.topics {
                        for r in t.partitions { try KafkaError.check(r.errorCode, context: "\(t.name)-\(r.partitionIndex)") }
                    }
                }
                print("Aborted the transaction of producer \(s.producerId) starting at offset \(startOffset) on \(topic)-\(partition)")
            }
        }
    }

    /// kafka-transactions.sh's tables: padded columns, no blank line before them.
    static func printTable(_ rows: [[String]]) {
        print(ConsumerGroupsCommand.table(rows, padLast: false).dropFirst(), terminator: "")
    }

    static func producers(_ client: KafkaClient, topic: String, partition: Int32) async throws
        -> DescribeProducersResponse.PartitionResponse {
        var request = DescribeProducersRequest()
        request.topics = [.init(name: topic, partitionIndexes: [partition])]
        let response = try await client.send(request)
        guard let p = response.topics.first?.partitions.first else { throw CLIError("no answer for \(topic)-\(partition)") }
        try KafkaError.check(p.errorCode, context: "\(topic)-\(partition)")
        return p
    }
}

import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir consumer-groups --delete-offsets`: Kafka's DeleteOffsets over OffsetDelete.
extension ConsumerGroupsCommand {
    func runDeleteOffsets() async throws {
        guard group.count == 1, !allGroups else {
            throw DatabaseTool.usage(Self.command, "Option --delete-offsets takes exactly one --group")
        }
        guard !topic.isEmpty else { throw DatabaseTool.usage(Self.command, "Option --delete-offsets needs --topic") }
        let g = group[0]
        let topicArgs = try topic.map(Self.parseTopicArg)
        var failed = false
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-consumer-groups", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            // Kafka's rows: a topic that cannot be described is one row, partition "Not Provided".
            var results: [(topic: String, partition: Int32?, error: KafkaError?)] = []
            var partitions: [TopicPartition] = []
            for (name, given) in topicArgs {
                if let given {
                    partitions += given.map { TopicPartition(name, $0) }
                    continue
                }
                do {
                    partitions += try await admin.describeTopics([name]).flatMap { d in d.partitions.map { TopicPartition(d.name, $0.partition) } }
                } catch let error as KafkaError {
                    results.append((name, nil, KafkaError(code: error.code)))
                }
            }
            partitions = Array(Set(partitions)).sorted()
            var groupError: KafkaError?
            if !partitions.isEmpty {
                let outcome = try await admin.deleteOffsets(g, partitions: partitions)
                groupError = outcome.groupError
                for tp in partitions {
                    results.append((tp.topic, tp.partition, groupError ?? (outcome.partitions[tp] ?? KafkaError(.unknownServerError))))
                }
            }
            let partitionFailed = results.contains { $0.error != nil }
            failed = partitionFailed
            switch groupError?.code {
            case nil where !partitionFailed:
                print("Request succeed for deleting offsets with topic \(topic.joined(separator: ", ")) group \(g)")
            case nil:
                CLI.printError("Error: Encounter some partition level error, see the follow-up details:")
            case ErrorCode.invalidGroupId.rawValue?:
                CLI.printError("Error: '\(g)' is not valid.")
            case ErrorCode.groupIdNotFound.rawValue?:
                CLI.printError("Error: '\(g)' does not exist.")
            case ErrorCode.nonEmptyGroup.rawValue?:
                CLI.printError("Error: Deleting offsets of a consumer group '\(g)' is forbidden if the group is not empty.")
            default:
                CLI.printError("Error: Encounter some unknown error: \(groupError!.name)")
            }
            // kafka-consumer-groups.sh's fixed format, "%-30s %-15s %-15s".
            func row(_ cells: [String]) -> String {
                zip(cells, [30, 15, 15]).map { $0.0.padding(toLength: max($0.1, $0.0.count), withPad: " ", startingAt: 0) }
                    .joined(separator: " ")
            }
            print("\n" + row(["TOPIC", "PARTITION", "STATUS"]))
            for r in results.sorted(by: { ($0.topic, $0.partition ?? -1) < ($1.topic, $1.partition ?? -1) }) {
                print(row([r.topic, r.partition.map(String.init) ?? "Not Provided", r.error.map { "Error: \($0.message)" } ?? "Successful"]))
            }
        }
        if failed { throw ExitCode(1) }
    }
}

import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir consumer-groups`: kafka-consumer-groups.sh (--list, --describe, --delete,
/// --reset-offsets, --delete-offsets) over ListGroups, FindCoordinator, DescribeGroups,
/// OffsetFetch, ListOffsets, OffsetCommit, OffsetDelete and DeleteGroups.
struct ConsumerGroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer-groups",
        abstract: "List, describe, delete consumer groups; reset or delete their offsets (like kafka-consumer-groups.sh).",
        discussion: """
        --reset-offsets plans new committed offsets for the partitions named by --topic \
        T[:P,P…] (repeatable), --all-topics (every partition the group has committed) or \
        --from-file (CSV lines topic,partition,offset, or group,topic,partition,offset). The \
        scenario is one of --to-earliest, --to-latest, --to-current, --to-offset N, --shift-by N, \
        --to-datetime YYYY-MM-DDTHH:mm:SS.sss (local time unless it ends in Z or ±HH:mm), \
        --by-duration PnDTnHnMnS (that long before now) or --from-file. Offsets from \
        --to-offset, --shift-by and --from-file are clamped to [log start, log end]; a time \
        after the last record resets to the log end. It prints the plan, `GROUP TOPIC \
        PARTITION NEW-OFFSET`, and commits it only with --execute (--dry-run is the default). \
        The group must be inactive (Empty, or unknown): a group with members is refused, as \
        Kafka refuses it. --export prints the plan as CSV for --from-file, --json as one object \
        per line.

        --delete-offsets --group G --topic T[:P,…] removes the group's committed offsets \
        (OffsetDelete). Partitions of topics an active group subscribes to are refused \
        (GROUP_SUBSCRIBED_TO_TOPIC); an empty group's offsets can always be deleted.

        Exit codes: 0 done, 1 failure (an unknown or active group, a partition not done), 2 usage.

        Example:
          weir consumer-groups --bootstrap-server 127.0.0.1:9092 --group billing \\
            --reset-offsets --topic orders --to-earliest --execute
        """
    )

    @Option(name: .customLong("bootstrap-server"), help: "The broker to connect to, host:port[,host:port…].")
    var bootstrapServer: String?
    @Option(name: .customLong("command-config"), help: "Client properties file: security.protocol, sasl.*, ssl.* (as Kafka's scripts).")
    var commandConfig: String?

    @Flag(help: "List all consumer groups.") var list = false
    @Flag(help: "Describe groups: offsets and lag per partition (or --members, --state).") var describe = false
    @Flag(help: "Delete groups (they must have no members).") var delete = false
    @Flag(name: .customLong("reset-offsets"), help: "Reset the committed offsets of inactive groups (a dry run unless --execute).")
    var resetOffsets = false
    @Flag(name: .customLong("delete-offsets"), help: "Delete the committed offsets of --group for --topic.")
    var deleteOffsets = false

    @Option(help: "The group (repeatable).")
    var group: [String] = []

    @Flag(name: .customLong("all-groups"), help: "Apply --describe, --delete or --reset-offsets to every group.")
    var allGroups = false

    @Flag(help: "With --describe: list the members instead of offsets.") var members = false
    @Flag(help: "With --describe: show the group's state.") var state = false

    @Option(help: "With --reset-offsets/--delete-offsets: T or T:P,P… (repeatable).")
    var topic: [String] = []
    @Flag(name: .customLong("all-topics"), help: "With --reset-offsets: every partition the group has committed.")
    var allTopics = false
    @Flag(name: .customLong("to-earliest"), help: "Reset to the log start offset.") var toEarliest = false
    @Flag(name: .customLong("to-latest"), help: "Reset to the log end offset.") var toLatest = false
    @Flag(name: .customLong("to-current"), help: "Reset to the committed offset (the log end where none).") var toCurrent = false
    @Option(name: .customLong("to-offset"), parsing: .unconditional, help: "Reset to this offset.") var toOffset: String?
    @Option(name: .customLong("shift-by"), parsing: .unconditional, help: "Move the committed offset by N (may be negative).") var shiftBy: String?
    @Option(name: .customLong("to-datetime"), help: "Reset to the first offset at or after YYYY-MM-DDTHH:mm:SS.sss.")
    var toDatetime: String?
    @Option(name: .customLong("by-duration"), help: "Reset to the first offset at or after now minus PnDTnHnMnS.")
    var byDuration: String?
    @Option(name: .customLong("from-file"), help: "Reset to the offsets of a CSV file (topic,partition,offset lines).")
    var fromFile: String?
    @Flag(name: .customLong("dry-run"), help: "Only print the plan (the default).") var dryRun = false
    @Flag(help: "Commit the plan.") var execute = false
    @Flag(help: "Print the plan as CSV (for --from-file).") var export = false
    @Flag(help: "With --reset-offsets: one JSON object per line, for scripts.") var json = false

    @Argument(parsing: .allUnrecognized, help: .hidden)
    var unrecognized: [String] = []

    static let command = "consumer-groups"

    func run() async throws {
        try DatabaseTool.checkUsage(Self.command, unrecognized: unrecognized, required: [("--bootstrap-server", bootstrapServer)])
        guard [list, describe, delete, resetOffsets, deleteOffsets].filter({ $0 }).count == 1 else {
            throw DatabaseTool.usage(Self.command, "Command must include exactly one action: --list, --describe, --delete, --reset-offsets, --delete-offsets")
        }
        if resetOffsets {
            try await runResetOffsets()
            return
        }
        if deleteOffsets {
            try await runDeleteOffsets()
            return
        }
        if (describe || delete) && group.isEmpty && !allGroups {
            throw DatabaseTool.usage(Self.command, "Option \(describe ? "--describe" : "--delete") takes one of these options: --all-groups, --group")
        }
        var failed = false
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-consumer-groups", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            let groups = allGroups ? try await admin.listGroups().map(\.groupId) : group
            if list {
                for listing in try await admin.listGroups() { print(listing.groupId) }
            } else if describe {
                for g in groups { failed = try await describeGroup(admin, g) || failed }
            } else {
                failed = try await deleteGroups(admin, groups)
            }
        }
        if failed { throw ExitCode(1) }
    }

    /// Prints one group; returns true if it does not exist.
    private func describeGroup(_ admin: Admin, _ id: String) async throws -> Bool {
        let description: ConsumerGroupDescription
        do {
            description = try await admin.describeGroup(id)
        } catch let error as KafkaError where error.code == ErrorCode.groupIdNotFound.rawValue {
            CLI.printError("Error: Consumer group '\(id)' does not exist.")
            return true
        }
        if description.state == "Dead" {
            CLI.printError("Error: Consumer group '\(id)' does not exist.")
            return true
        }
        if description.state == "Empty" && !state {
            print("\nConsumer group '\(id)' has no active members.")
        } else if description.state.contains("Rebalance") && !state {
            print("\nWarning: Consumer group '\(id)' is rebalancing.")
        }
        if state {
            printState(admin, description)
        } else if members {
            printMembers(description)
        } else {
            try await printOffsets(admin, description)
        }
        return false
    }

    private func printState(_ admin: Admin, _ g: ConsumerGroupDescription) {
        let rows = [["GROUP", "STATE", "#MEMBERS"], [g.groupId, g.state, "\(g.members.count)"]]
        print(Self.table(rows, padLast: false), terminator: "")
    }

    private func printMembers(_ g: ConsumerGroupDescription) {
        var rows = [["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"]]
        for m in g.members {
            rows.append([g.groupId, m.memberId, m.host, m.clientId, "\(m.assignment.count)"])
        }
        print(Self.table(rows, padLast: false), terminator: "")
    }

    /// Kafka's offsets view: assigned partitions with their member, then committed partitions
    /// nobody owns; "-" where a value is unknown.
    private func printOffsets(_ admin: Admin, _ g: ConsumerGroupDescription) async throws {
        let committed = try await admin.committedOffsets(g.groupId)
        var owner: [TopicPartition: ConsumerGroupMemberDescription] = [:]
        for m in g.members { for tp in m.assignment { owner[tp] = m } }
        let partitions = Set(committed.keys).union(owner.keys).sorted()
        let ends = try await endOffsets(admin, partitions)
        var rows = [["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST", "CLIENT-ID"]]
        let assigned = partitions.filter { owner[$0] != nil }
        let unassigned = partitions.filter { owner[$0] == nil }
        for tp in assigned + unassigned {
            let current = committed[tp]
            let end = ends[tp]
            let lag = current.flatMap { c in end.map { $0 > c ? $0 - c : 0 } }
            let m = owner[tp]
            rows.append([g.groupId, tp.topic, "\(tp.partition)", current.map(String.init) ?? "-", end.map(String.init) ?? "-",
                         lag.map(String.init) ?? "-", m?.memberId ?? "-", m?.host ?? "-", m?.clientId ?? "-"])
        }
        print(Self.table(rows, padLast: false), terminator: "")
    }

    /// End offsets per topic, skipping topics that no longer exist.
    private func endOffsets(_ admin: Admin, _ partitions: [TopicPartition]) async throws -> [TopicPartition: Int64] {
        var out: [TopicPartition: Int64] = [:]
        for (_, tps) in Dictionary(grouping: partitions, by: \.topic) {
            if let ends = try? await admin.endOffsets(tps) { out.merge(ends) { a, _ in a } }
        }
        return out
    }

    /// Left-aligned columns separated by one space and preceded by an empty line, as
    /// kafka-consumer-groups.sh prints them: each column at least 15 wide (PARTITION 10) and
    /// wider when a value needs it; the last column unpadded.
    static func table(_ rows: [[String]], padLast: Bool) -> String {
        guard let header = rows.first else { return "" }
        var widths = header.map { max($0.count, $0 == "PARTITION" ? 10 : 15) }
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        var out = "\n"
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                if i > 0 { line += " " }
                let last = i == row.count - 1
                line += (last && !padLast) ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }
            out += line + "\n"
        }
        return out
    }

    /// Returns true if some group could not be deleted.
    private func deleteGroups(_ admin: Admin, _ groups: [String]) async throws -> Bool {
        let failures = try await admin.deleteGroups(groups)
        let deleted = groups.filter { failures[$0] == nil }
        if !deleted.isEmpty {
            print("Deletion of requested consumer groups (\(deleted.map { "'\($0)'" }.joined(separator: ", "))) was successful.")
        }
        guard !failures.isEmpty else { return false }
        var message = "Deletion of some consumer groups failed:"
        for g in groups { if let e = failures[g] { message += "\n* Group '\(g)' could not be deleted due to: \(e.name)" } }
        CLI.printError(message)
        return true
    }
}

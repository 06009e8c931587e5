import ArgumentParser
import Foundation
import KafkaProtocol
import WeirClient

/// `weir consumer-groups --reset-offsets`: Kafka's ResetOffsets, planned from ListOffsets and
/// OffsetFetch, committed with OffsetCommit as an admin (generation -1, no member id).
extension ConsumerGroupsCommand {
    /// How the new offsets are found.
    enum ResetScenario {
        case earliest, latest, current
        case offset(Int64)
        case shift(Int64)
        case timestamp(Int64)
        case file([String: [TopicPartition: Int64]])
    }

    /// One planned row.
    struct PlannedOffset {
        var group: String
        var tp: TopicPartition
        var offset: Int64
    }

    func runResetOffsets() async throws {
        let usage = { (message: String) in DatabaseTool.usage(Self.command, message) }
        guard !group.isEmpty || allGroups else { throw usage("Option --reset-offsets takes one of these options: --all-groups, --group") }
        if dryRun && execute { throw usage("Option --reset-offsets only accepts one of --execute and --dry-run") }
        let scenario = try resetScenario()
        if case .file = scenario {} else if topic.isEmpty == !allTopics {
            throw usage("Option --reset-offsets takes one of these options: --all-topics, --topic")
        }
        let topicArgs = try topic.map(Self.parseTopicArg)
        if !execute && !dryRun && !export && !json {
            CLI.printError("WARN: No action will be performed as the --execute option is missing. "
                + "Add --execute to commit the offsets, or --dry-run to say a dry run is meant.")
        }
        var failed = false
        var planned: [PlannedOffset] = []
        try await CLI.run(bootstrap: bootstrapServer!, clientId: "weir-consumer-groups", commandConfig: commandConfig) { client in
            let admin = Admin(client: client)
            let groups = allGroups ? try await admin.listGroups().map(\.groupId) : group
            for g in groups {
                let description = try await admin.describeGroup(g)
                guard description.state == "Empty" || description.state == "Dead" else {
                    CLI.printError("Error: Assignments can only be reset if the group '\(g)' is inactive, but the current state is \(description.state).")
                    failed = true
                    continue
                }
                let partitions = try await partitionsToReset(admin, g, scenario, topicArgs)
                let offsets = try await newOffsets(admin, g, partitions, scenario)
                if execute && !offsets.isEmpty {
                    try await admin.commitOffsets(g, offsets)
                }
                planned += offsets.keys.sorted().map { PlannedOffset(group: g, tp: $0, offset: offsets[$0]!) }
            }
        }
        printPlan(planned)
        if failed { throw ExitCode(1) }
    }

    private func printPlan(_ planned: [PlannedOffset]) {
        if json {
            for p in planned {
                print(DatabaseTool.jsonLine(["group": p.group, "topic": p.tp.topic, "partition": p.tp.partition, "new_offset": p.offset]))
            }
        } else if export {
            let multi = Set(planned.map(\.group)).count > 1
            for p in planned {
                print((multi ? "\(p.group)," : "") + "\(p.tp.topic),\(p.tp.partition),\(p.offset)")
            }
        } else if !planned.isEmpty {
            // kafka-consumer-groups.sh's fixed format, "%-30s %-30s %-10s %-15s".
            func row(_ cells: [String]) -> String {
                zip(cells, [30, 30, 10, 15]).map { $0.0.padding(toLength: max($0.1, $0.0.count), withPad: " ", startingAt: 0) }
                    .joined(separator: " ")
            }
            print("\n" + row(["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]))
            for p in planned { print(row([p.group, p.tp.topic, "\(p.tp.partition)", "\(p.offset)"])) }
        }
    }

    private func resetScenario() throws -> ResetScenario {
        var scenarios: [ResetScenario] = []
        if toEarliest { scenarios.append(.earliest) }
        if toLatest { scenarios.append(.latest) }
        if toCurrent { scenarios.append(.current) }
        if let toOffset { scenarios.append(.offset(try Self.integer(toOffset, "--to-offset"))) }
        if let shiftBy { scenarios.append(.shift(try Self.integer(shiftBy, "--shift-by"))) }
        if let toDatetime {
            guard let ms = Self.parseDateTime(toDatetime) else {
                throw DatabaseTool.usage(Self.command, "--to-datetime expects YYYY-MM-DDTHH:mm:SS.sss (optionally Z or ±HH:mm), not '\(toDatetime)'")
            }
            scenarios.append(.timestamp(ms))
        }
        if let byDuration {
            guard let duration = Self.parseDuration(byDuration) else {
                throw DatabaseTool.usage(Self.command, "--by-duration expects PnDTnHnMnS, not '\(byDuration)'")
            }
            scenarios.append(.timestamp(Int64(Date().timeIntervalSince1970 * 1000) - duration))
        }
        if let fromFile { scenarios.append(.file(try Self.readResetFile(fromFile, groups: group))) }
        guard scenarios.count == 1 else {
            throw DatabaseTool.usage(Self.command, "Option --reset-offsets takes exactly one of: --to-datetime, --by-duration, --to-earliest, --to-latest, --shift-by, --from-file, --to-current, --to-offset")
        }
        return scenarios[0]
    }

    /// The partitions named by --topic (all partitions of a bare topic), --all-topics (every
    /// committed partition) or the reset file.
    private func partitionsToReset(_ admin: Admin, _ g: String, _ scenario: ResetScenario,
                                   _ topicArgs: [(String, [Int32]?)]) async throws -> [TopicPartition] {
        if case .file(let plan) = scenario {
            guard let entries = plan[g] ?? (plan.count == 1 ? plan[""] : nil) else {
                throw CLIError("Error: No reset plan for group \(g) found")
            }
            return entries.keys.sorted()
        }
        if allTopics { return try await admin.committedOffsets(g).keys.sorted() }
        var out: [TopicPartition] = []
        for (name, partitions) in topicArgs {
            if let partitions {
                out += partitions.map { TopicPartition(name, $0) }
            } else {
                let description = try await admin.describeTopics([name])
                out += description.flatMap { d in d.partitions.map { TopicPartition(d.name, $0.partition) } }
            }
        }
        return Array(Set(out)).sorted()
    }

    private func newOffsets(_ admin: Admin, _ g: String, _ partitions: [TopicPartition],
                            _ scenario: ResetScenario) async throws -> [TopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        func ends(_ tps: [TopicPartition]) async throws -> [TopicPartition: Int64] {
            try await admin.offsets(tps, at: Consumer.latestTimestamp).compactMapValues { $0 }
        }
        /// Kafka's checkOffsetsRange: above the log end → log end, below the log start → log start.
        func clamped(_ requested: [TopicPartition: Int64]) async throws -> [TopicPartition: Int64] {
            let tps = Array(requested.keys)
            let (starts, latest) = (try await admin.offsets(tps, at: Consumer.earliestTimestamp), try await ends(tps))
            return Dictionary(uniqueKeysWithValues: requested.map { tp, offset in
                if let end = latest[tp], offset > end { return (tp, end) }
                if let start = starts[tp] ?? nil, offset < start { return (tp, start) }
                return (tp, offset)
            })
        }
        switch scenario {
        case .earliest:
            return try await admin.offsets(partitions, at: Consumer.earliestTimestamp).compactMapValues { $0 }
        case .latest:
            return try await ends(partitions)
        case .current:
            let committed = try await admin.committedOffsets(g, partitions: partitions)
            let missing = partitions.filter { committed[$0] == nil }
            return committed.merging(try await ends(missing)) { a, _ in a }
        case .offset(let offset):
            return try await clamped(Dictionary(uniqueKeysWithValues: partitions.map { ($0, offset) }))
        case .shift(let delta):
            let committed = try await admin.committedOffsets(g, partitions: partitions)
            var requested: [TopicPartition: Int64] = [:]
            for tp in partitions {
                guard let current = committed[tp] else {
                    throw CLIError("Cannot shift offset for partition \(tp) since there is no current committed offset")
                }
                requested[tp] = current + delta
            }
            return try await clamped(requested)
        case .timestamp(let ms):
            let found = try await admin.offsets(partitions, at: ms)
            let empty = partitions.filter { (found[$0] ?? nil) == nil }
            for tp in empty {
                CLI.printError("Warn: Partition \(tp.partition) from topic \(tp.topic) is empty. Falling back to latest known offset.")
            }
            return found.compactMapValues { $0 }.merging(try await ends(empty)) { a, _ in a }
        case .file(let plan):
            let entries = plan[g] ?? plan[""] ?? [:]
            return try await clamped(entries.filter { partitions.contains($0.key) })
        }
    }

    static func integer(_ text: String, _ option: String) throws -> Int64 {
        guard let value = Int64(text) else { throw DatabaseTool.usage(command, "\(option) expects an integer, not '\(text)'") }
        return value
    }

    /// `T` (every partition) or `T:0,1`.
    static func parseTopicArg(_ text: String) throws -> (String, [Int32]?) {
        guard let colon = text.lastIndex(of: ":") else { return (text, nil) }
        let name = String(text[..<colon])
        let parts = text[text.index(after: colon)...].split(separator: ",")
        let partitions = parts.compactMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
        guard !name.isEmpty, !parts.isEmpty, partitions.count == parts.count, partitions.allSatisfy({ $0 >= 0 }) else {
            throw DatabaseTool.usage(command, "--topic expects T or T:P,P…, not '\(text)'")
        }
        return (name, partitions)
    }

    /// Kafka's reset CSV: `topic,partition,offset` lines (group "" = the one --group), or
    /// `group,topic,partition,offset` lines for several groups.
    static func readResetFile(_ path: String, groups: [String]) throws -> [String: [TopicPartition: Int64]] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw DatabaseTool.failure(command, "cannot read \(path): \(error.localizedDescription)")
        }
        var plan: [String: [TopicPartition: Int64]] = [:]
        for (number, raw) in text.split(whereSeparator: \.isNewline).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            let (g, rest): (String, [String]) = fields.count == 4 ? (fields[0], Array(fields[1...])) : ("", fields)
            guard rest.count == 3, !rest[0].isEmpty, let p = Int32(rest[1]), p >= 0, let offset = Int64(rest[2]) else {
                throw DatabaseTool.failure(command, "\(path) line \(number + 1): expected topic,partition,offset, got '\(line)'")
            }
            plan[g, default: [:]][TopicPartition(rest[0], p)] = offset
        }
        if let lone = plan[""], groups.count == 1 { plan = [groups[0]: lone] }
        return plan
    }

    /// `YYYY-MM-DDTHH:mm:SS[.sss][Z|±HH:mm|±HHmm]`, local time without a zone (Kafka's
    /// `Utils.getDateTime`), in ms since the epoch.
    static func parseDateTime(_ text: String) -> Int64? {
        let pattern = #"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?(Z|[+-]\d{2}:?\d{2})?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        func group(_ i: Int) -> String? {
            guard let r = Range(m.range(at: i), in: text) else { return nil }
            return String(text[r])
        }
        var zone = TimeZone.current
        if let z = group(8) {
            if z == "Z" {
                zone = TimeZone(secondsFromGMT: 0)!
            } else {
                let digits = z.dropFirst().replacingOccurrences(of: ":", with: "")
                let seconds = (Int(digits.prefix(2))! * 60 + Int(digits.suffix(2))!) * 60
                zone = TimeZone(secondsFromGMT: z.hasPrefix("-") ? -seconds : seconds)!
            }
        }
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let c = DateComponents(year: Int(group(1)!), month: Int(group(2)!), day: Int(group(3)!),
                               hour: Int(group(4)!), minute: Int(group(5)!), second: Int(group(6)!))
        guard let date = calendar.date(from: c), calendar.component(.day, from: date) == c.day else { return nil }
        let fraction = group(7).map { $0.padding(toLength: 3, withPad: "0", startingAt: 0) }.flatMap { Int64($0) } ?? 0
        return Int64((date.timeIntervalSince1970 * 1000).rounded()) + fraction
    }

    /// An ISO-8601 duration as Java's `Duration.parse` reads it, `PnDTnHnMnS` (seconds may have
    /// a fraction), in ms; nil when it does not parse.
    static func parseDuration(_ text: String) -> Int64? {
        let pattern = #"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)(?:[.,](\d{1,9}))?S)?)?$"#
        guard let regex = try? NSRegularExpression(pattern: pattern, options: .caseInsensitive),
              let m = regex.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              text.uppercased() != "P", !text.uppercased().hasSuffix("T") else { return nil }
        func value(_ i: Int) -> Int64 {
            guard let r = Range(m.range(at: i), in: text) else { return 0 }
            return Int64(text[r]) ?? 0
        }
        var ms = ((value(1) * 24 + value(2)) * 60 + value(3)) * 60_000 + value(4) * 1000
        if let r = Range(m.range(at: 5), in: text) {
            ms += Int64(String(text[r]).padding(toLength: 3, withPad: "0", startingAt: 0).prefix(3))!
        }
        return ms
    }
}

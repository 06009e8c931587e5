import Foundation
import KafkaProtocol
import NIOCore
import WeirBroker
import WeirStorage

// The console's write actions: POST /v1/topics, DELETE /v1/topics/{name},
// POST /v1/groups/{id}/reset-offsets. Each is 403 unless admin.console.writable=true, checked
// before the body is read; the page asks for a confirmation before sending one.
extension ConsoleAPI {
    /// nil when writes are allowed; else the 403 to answer.
    var refusal: AdminResponse? {
        writable ? nil : .error(.forbidden, "the console is read-only: set admin.console.writable=true to allow this")
    }

    /// nil when the body is declared JSON; else the 415 to answer. Why: a page on another site
    /// can make a browser POST a form (text/plain, no CORS preflight) to a loopback console;
    /// demanding `application/json` forces the preflight, which this listener never approves.
    static func jsonRequired(_ contentType: String?) -> AdminResponse? {
        contentType?.lowercased().hasPrefix("application/json") == true
            ? nil : .error(.unsupportedMediaType, "send the body as Content-Type: application/json")
    }

    static func decodeObject(_ body: ByteBuffer) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]
    }

    /// `POST /v1/topics` `{"name": "t", "partitions": 3, "configs": {"cleanup.policy": "compact"}}`
    /// (`partitions` defaults to num.partitions): 201 with the topic's summary; 400 for a bad
    /// name, count or config; 409 when it exists. Kafka's CreateTopics rules (`TopicManager`).
    func createTopic(_ body: ByteBuffer, contentType: String?) async -> AdminResponse {
        if let refusal { return refusal }
        if let refusal = Self.jsonRequired(contentType) { return refusal }
        guard let object = Self.decodeObject(body), let name = object["name"] as? String else {
            return .error(.badRequest, "expected a JSON body {\"name\": \"TOPIC\", \"partitions\": N, \"configs\": {…}}")
        }
        var partitions: Int32 = -1
        if let p = object["partitions"] {
            guard let n = p as? Int, let n32 = Int32(exactly: n) else {
                return .error(.badRequest, "partitions must be an integer")
            }
            partitions = n32
        }
        guard let configs = (object["configs"] ?? [String: String]()) as? [String: String] else {
            return .error(.badRequest, "configs must be an object of strings")
        }
        let (api, count) = (self, partitions)
        return await onPool {
            do {
                let record = try api.topics.create(name: name, partitions: count, replicationFactor: -1, configs: configs)
                return .object(.created, try api.topicSummary(record))
            } catch let failure as TopicManager.Failure {
                return .error(failure.code == .topicAlreadyExists ? .conflict : .badRequest, failure.message)
            }
        }
    }

    /// `DELETE /v1/topics/{name}`: 200 `{"deleted": "t"}`; 404 unknown; 403 when
    /// delete.topic.enable=false.
    func deleteTopic(_ name: String) async -> AdminResponse {
        if let refusal { return refusal }
        let api = self
        return await onPool {
            do {
                try api.topics.delete(name: name)
                return .object(.ok, ["deleted": name])
            } catch let failure as TopicManager.Failure {
                return .error(failure.code == .unknownTopicOrPartition ? .notFound : .forbidden,
                              failure.code == .unknownTopicOrPartition ? "unknown topic: \(name)" : failure.message)
            }
        }
    }

    /// `POST /v1/groups/{id}/reset-offsets` `{"topic": "t", "partitions": [0, 1], "to": "earliest"}`:
    /// `to` is `earliest`, `latest` or an offset (clamped into log start … log end, as Kafka's
    /// tool does); no `partitions` means all of the topic's. Only while the group has no members
    /// (409 otherwise: its consumers would overwrite the reset). 200 with the offsets committed.
    func resetOffsets(_ groupId: String, _ body: ByteBuffer, contentType: String?) async -> AdminResponse {
        if let refusal { return refusal }
        if let refusal = Self.jsonRequired(contentType) { return refusal }
        guard let object = Self.decodeObject(body), let topic = object["topic"] as? String, let to = object["to"] else {
            return .error(.badRequest, "expected a JSON body {\"topic\": \"T\", \"to\": \"earliest\"|\"latest\"|OFFSET, \"partitions\": [P, …]}")
        }
        enum Target { case earliest, latest, offset(Int64) }
        let target: Target
        switch to {
        case let s as String where s == "earliest": target = .earliest
        case let s as String where s == "latest": target = .latest
        case let n as Int where n >= 0: target = .offset(Int64(n))
        default: return .error(.badRequest, "to must be \"earliest\", \"latest\" or a non-negative offset")
        }
        guard let record = store.topic(named: topic) else { return .error(.notFound, "unknown topic: \(topic)") }
        var partitions = Array(0..<record.partitionCount)
        if let list = object["partitions"] {
            let ints = (list as? [Int]) ?? []
            let p32 = ints.compactMap { Int32(exactly: $0) }
            guard list is [Int], !p32.isEmpty, p32.count == ints.count,
                  p32.allSatisfy({ $0 >= 0 && $0 < record.partitionCount }) else {
                return .error(.badRequest, "partitions must be a list of \(topic)'s partitions (0…\(record.partitionCount - 1))")
            }
            partitions = p32
        }
        let state = await groups.describeGroups([groupId]).first
        if let state, !state.members.isEmpty {
            return .error(.conflict, "group \(groupId) has \(state.members.count) member(s) (\(state.state)); stop its consumers first")
        }
        var plan: [TopicPartition: CommittedOffset] = [:]
        let now = Broker.wallClockMs()
        for p in partitions {
            let tp = TopicPartition(topic, p)
            guard let offsets = store.partition(tp)?.offsets else { continue }
            let offset: Int64
            switch target {
            case .earliest: offset = offsets.logStartOffset
            case .latest: offset = offsets.logEndOffset
            case .offset(let n): offset = Swift.min(Swift.max(n, offsets.logStartOffset), offsets.logEndOffset)
            }
            plan[tp] = CommittedOffset(offset: offset, leaderEpoch: -1, metadata: nil, commitTimestampMs: now)
        }
        let results = await groups.commitOffsets(groupId: groupId, generationId: -1, memberId: "", groupInstanceId: nil,
                                                 offsets: plan)
        if let failed = results.first(where: { $0.value != .none }) {
            return .error(.conflict, "group \(groupId) refused the commit: \(failed.value)")
        }
        let committed = plan.sorted { $0.key < $1.key }.map { tp, o -> [String: Any] in
            ["topic": tp.topic, "partition": tp.partition, "committed_offset": o.offset]
        }
        return .object(.ok, ["group_id": groupId, "offsets": committed])
    }
}

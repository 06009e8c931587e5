import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOHTTP1
import Synchronization
import Testing
import WeirBroker
import WeirClient
@testable import WeirServer
import WeirStorage

/// The admin listener over real HTTP against a real store: exact statuses and JSON.
@Suite struct AdminTests {
    @Test func routeTable() {
        #expect(AdminRoute.match(method: .GET, uri: "/health") == .health)
        #expect(AdminRoute.match(method: .GET, uri: "/metrics?x=1") == .metrics)
        #expect(AdminRoute.match(method: .GET, uri: "/v1/snapshots") == .listSnapshots)
        #expect(AdminRoute.match(method: .POST, uri: "/v1/snapshots") == .createSnapshot)
        #expect(AdminRoute.match(method: .DELETE, uri: "/v1/snapshots") == .methodNotAllowed(allow: "GET, POST"))
        #expect(AdminRoute.match(method: .POST, uri: "/health") == .methodNotAllowed(allow: "GET"))
        #expect(AdminRoute.match(method: .GET, uri: "/health/") == .notFound)
        #expect(AdminRoute.match(method: .GET, uri: "/") == .consoleAsset(.page))
    }

    @Test func healthAnswersOkWithTheBrokersCounts() async throws {
        try await AdminFixture.with { a in
            _ = try a.broker.store.createTopic(name: "t", partitions: 3, configs: [:])
            _ = try a.broker.store.createTopic(name: "u", partitions: 2, configs: [:])
            let reply = try await a.request(.GET, "/health")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"] == ["application/json"])
            let json = try reply.json
            #expect(Set(json.keys) == ["status", "broker_id", "uptime_ms", "topics", "partitions", "data_dir_free_bytes",
                                       "storage_error"])
            #expect(json["storage_error"] is NSNull)
            #expect(json["status"] as? String == "ok")
            #expect(json["broker_id"] as? Int == 1)
            #expect(json["topics"] as? Int == 2)
            #expect(json["partitions"] as? Int == 5)
            #expect((json["uptime_ms"] as? Int).map { $0 >= 0 } == true)
            #expect((json["data_dir_free_bytes"] as? Int).map { $0 > 0 } == true)
        }
    }

    @Test func unknownPathIs404AndWrongMethodIs405() async throws {
        try await AdminFixture.with { a in
            let missing = try await a.request(.GET, "/nope")
            #expect(missing.status == 404)
            #expect(try missing.json["error"] as? String == "no such endpoint: GET /nope")
            let wrong = try await a.request(.DELETE, "/health")
            #expect(wrong.status == 405)
            #expect(wrong.headers["Allow"] == ["GET"])
            let put = try await a.request(.PUT, "/v1/snapshots", body: "{}")
            #expect(put.status == 405)
            #expect(put.headers["Allow"] == ["GET, POST"])
        }
    }

    @Test func metricsShowOffsetsLagRequestsAndRetention() async throws {
        try await AdminFixture.with { a in
            try await produce(to: a.broker, topic: "t", partitions: 2, partition: 1, records: 10, times: 2)
            let tp = TopicPartition("t", 1)
            let committed = await a.broker.broker.groups.commitOffsets(
                groupId: "g", generationId: -1, memberId: "", groupInstanceId: nil,
                offsets: [tp: CommittedOffset(offset: 5, leaderEpoch: -1, metadata: nil, commitTimestampMs: 1)])
            #expect(committed == [tp: ErrorCode.none])
            a.metrics.requests.requestCompleted(apiKey: ApiKey.produce.rawValue, durationNanos: 1_500_000,
                                                requestBytes: 100, responseBytes: 60)
            a.metrics.requests.requestCompleted(apiKey: ApiKey.produce.rawValue, durationNanos: 300_000,
                                                requestBytes: 40, responseBytes: 0)
            a.metrics.retentionPassed(batches: 2, bytes: 4096)

            let reply = try await a.request(.GET, "/metrics")
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"] == ["text/plain; version=0.0.4; charset=utf-8"])
            let lines = Set(reply.body.split(separator: "\n").map(String.init))
            for expected in [
                #"weir_partition_log_end_offset{topic="t",partition="1"} 20.0"#,
                #"weir_partition_log_start_offset{topic="t",partition="1"} 0.0"#,
                #"weir_partition_log_end_offset{topic="t",partition="0"} 0.0"#,
                #"weir_consumer_group_lag{group="g",topic="t",partition="1"} 15.0"#,
                #"weir_request_bytes_total{api="Produce"} 140"#,
                #"weir_response_bytes_total{api="Produce"} 60"#,
                #"weir_request_duration_seconds_count{api="Produce"} 2"#,
                #"weir_request_duration_seconds_bucket{api="Produce",le="0.0005"} 1"#,
                #"weir_request_duration_seconds_bucket{api="Produce",le="0.0025"} 2"#,
                "weir_retention_passes_total 1",
                "weir_retention_deleted_batches_total 2",
                "weir_retention_deleted_bytes_total 4096",
                "weir_topics 1.0",
                "weir_partitions 2.0",
                "# TYPE weir_request_duration_seconds histogram",
                "# TYPE weir_rocksdb_write_stall_seconds_total counter",
            ] {
                #expect(lines.contains(expected), "missing \(expected)")
            }
            for name in ["weir_rocksdb_memtable_bytes", "weir_rocksdb_block_cache_bytes",
                         "weir_rocksdb_pending_compaction_bytes", "weir_data_dir_free_bytes"] {
                #expect(lines.contains { $0.hasPrefix(name + " ") }, "missing \(name)")
            }
            // Every sample line is a weir_ metric.
            #expect(lines.filter { !$0.hasPrefix("#") && !$0.hasPrefix("weir_") }.isEmpty)
            // A request needs the memtable: its size is not zero after a produce.
            #expect(!lines.contains("weir_rocksdb_memtable_bytes 0.0"))

            // A deleted topic's series disappear at the next scrape.
            try a.broker.store.deleteTopic(name: "t")
            let after = try await a.request(.GET, "/metrics")
            #expect(!after.body.contains(#"topic="t""#))
        }
    }

    @Test func snapshotIsTakenListedAndOpensWithTheSameOffsets() async throws {
        try await AdminFixture.with { a in
            try await produce(to: a.broker, topic: "s", partitions: 2, partition: 0, records: 7, times: 3)
            let parent = FileManager.default.temporaryDirectory.appendingPathComponent("weir-snap-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: parent) }
            let path = parent + "/one"

            let created = try await a.request(.POST, "/v1/snapshots", body: #"{"path": "\#(path)"}"#)
            #expect(created.status == 201, "\(created.body)")
            let json = try created.json
            #expect(Set(json.keys) == ["path", "created_at_ms", "partitions"])
            #expect(json["path"] as? String == path)
            let partitions = try #require(json["partitions"] as? [[String: Any]])
            #expect(partitions.count == 2)
            #expect(partitions[0]["topic"] as? String == "s")
            #expect(partitions[0]["partition"] as? Int == 0)
            #expect(partitions[0]["log_start_offset"] as? Int == 0)
            #expect(partitions[0]["log_end_offset"] as? Int == 21)
            #expect(partitions[1]["partition"] as? Int == 1)
            #expect(partitions[1]["log_end_offset"] as? Int == 0)

            // The checkpoint opens as a store with the listed offsets.
            var logger = Logger(label: "snapshot")
            logger.logLevel = .warning
            let copy = try LogStore.open(directory: path, options: StorageOptions(), logger: logger)
            #expect(copy.partition(TopicPartition("s", 0))?.offsets.logEndOffset == 21)
            #expect(copy.partition(TopicPartition("s", 0))?.offsets.logStartOffset == 0)
            #expect(copy.partition(TopicPartition("s", 1))?.offsets.logEndOffset == 0)
            copy.close()

            let again = try await a.request(.POST, "/v1/snapshots", body: #"{"path": "\#(path)"}"#)
            #expect(again.status == 409)
            #expect(try again.json["error"] as? String == "\(path) already exists")

            #expect(try await a.request(.POST, "/v1/snapshots", body: #"{"path": "#).status == 400)
            #expect(try await a.request(.POST, "/v1/snapshots", body: #"{"dir": "/tmp/x"}"#).status == 400)
            #expect(try await a.request(.POST, "/v1/snapshots").status == 400)
            let orphan = try await a.request(.POST, "/v1/snapshots", body: #"{"path": "\#(parent)/no/such"}"#)
            #expect(orphan.status == 400)
            #expect(try orphan.json["error"] as? String == "parent directory \(parent)/no does not exist")

            // A second one in the same millisecond still gets its own created_at_ms.
            let second = try await a.request(.POST, "/v1/snapshots", body: #"{"path": "\#(parent)/two"}"#)
            #expect(second.status == 201)

            let listed = try await a.request(.GET, "/v1/snapshots")
            #expect(listed.status == 200)
            let list = try #require(try listed.json["snapshots"] as? [[String: Any]])
            #expect(list.map { $0["path"] as? String } == [path, parent + "/two"])
            #expect(list[0]["created_at_ms"] as? Int == json["created_at_ms"] as? Int)
            let firstListed = try #require(list[0]["partitions"] as? [[String: Any]])
            #expect(firstListed.map { $0["log_end_offset"] as? Int } == [21, 0])
            #expect((list[1]["created_at_ms"] as! Int) > (list[0]["created_at_ms"] as! Int))
        }
    }

    @Test func snapshotRegistryKeepsItsListAcrossReopen() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weir-snapreg-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var logger = Logger(label: "snapshot")
        logger.logLevel = .warning
        let store = try LogStore.open(directory: dir + "/db", options: StorageOptions(), logger: logger)
        let registry = try SnapshotRegistry(store: store)
        let first = try registry.take(to: dir + "/a", nowMs: 1_000)
        let second = try registry.take(to: dir + "/b", nowMs: 1_000)
        #expect(first.createdAtMs == 1_000)
        #expect(second.createdAtMs == 1_001)
        #expect(throws: SnapshotRegistry.Failure.pathExists(dir + "/a")) { try registry.take(to: dir + "/a", nowMs: 2_000) }
        store.close()
        let reopened = try LogStore.open(directory: dir + "/db", options: StorageOptions(), logger: logger)
        #expect(try SnapshotRegistry(store: reopened).list() == [first, second])
        // The catalog still reads its topics: the snapshot keys are under a prefix of their own.
        #expect(reopened.topics().isEmpty)
        reopened.close()
    }

    @Test func observerReportsInlineAndOffLoopRequests() async throws {
        final class Seen: RequestObserver {
            let calls = Mutex<[(Int16, Int, Int)]>([])
            func requestCompleted(apiKey: Int16, durationNanos: Int64, requestBytes: Int, responseBytes: Int) {
                #expect(durationNanos >= 0)
                calls.withLock { $0.append((apiKey, requestBytes, responseBytes)) }
            }
        }
        let seen = Seen()
        let started = NIODeadline.now().uptimeNanoseconds
        let inline = seen.observing(.done(.single(ByteBuffer(repeating: 1, count: 12))), apiKey: 18,
                                    requestBytes: 30, startedNanos: started)
        guard case .done = inline else { Issue.record("inline answer changed"); return }
        let later = seen.observing(.later { .parts([ByteBuffer(repeating: 1, count: 8), ByteBuffer(repeating: 2, count: 100)]) },
                                   apiKey: 1, requestBytes: 50, startedNanos: started)
        guard case .later(let work) = later else { Issue.record("off-loop answer changed"); return }
        #expect(seen.calls.withLock { $0.count } == 1)
        _ = try await work()
        #expect(seen.calls.withLock { $0.map { "\($0.0)/\($0.1)/\($0.2)" } } == ["18/30/12", "1/50/108"])

        // Without an observer, off-loop work stays off-loop and answers what it answered.
        let none: any RequestObserver = NoRequestObserver()
        let work2: @Sendable () async throws -> ResponseBytes? = { .single(ByteBuffer(repeating: 3, count: 5)) }
        guard case .later(let unwrapped) = none.observing(.later(work2), apiKey: 1, requestBytes: 1, startedNanos: started) else {
            Issue.record("NoRequestObserver changed the dispatch")
            return
        }
        #expect(try await unwrapped()?.byteCount == 5)
    }

    @Test func adminListenerIsLoopbackUnlessAllowed() throws {
        #expect(try BrokerProperties(text: "").adminListener == nil)
        let local = try BrokerProperties(text: "admin.listener=127.0.0.1:9644")
        #expect(local.adminListener?.host == "127.0.0.1")
        #expect(local.adminListener?.port == 9644)
        #expect(try BrokerProperties(text: "admin.listener=:9644").adminListener?.host == "127.0.0.1")
        #expect(try BrokerProperties(text: "admin.listener=[::1]:9644").adminListener?.host == "::1")
        #expect(try BrokerProperties(text: "admin.listener=localhost:1").adminListener?.host == "localhost")
        #expect(try BrokerProperties(text: "admin.listener=127.0.0.1:9644", overrides: ["admin.listener="]).adminListener == nil)
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.listener=0.0.0.0:9644") }
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.listener=10.1.2.3:9644") }
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.listener=127.0.0.1.evil:9644") }
        // A remote listener needs both the opt-in and a token that every request must carry.
        #expect(throws: BrokerProperties.Invalid.self) {
            try BrokerProperties(text: "admin.listener=0.0.0.0:9644", overrides: ["admin.listener.allow.remote=true"])
        }
        let remote = try BrokerProperties(text: "admin.listener=0.0.0.0:9644",
                                          overrides: ["admin.listener.allow.remote=true", "admin.auth.token=0123456789abcdef"])
        #expect(remote.adminListener?.host == "0.0.0.0" && remote.adminAuthToken == "0123456789abcdef")
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.listener=127.0.0.1:1\nadmin.auth.token=short") }
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.auth.token=0123456789abcdef") }
        // admin.ssl.*: the broker's ssl.* names under admin.; PEM only; needs the listener.
        let https = try BrokerProperties(text: "admin.listener=127.0.0.1:1\nadmin.ssl.keystore.location=/k.pem\nadmin.ssl.keystore.type=PEM")
        #expect(https.adminTLS.keystoreLocation == "/k.pem" && https.tls.keystoreLocation == nil)
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.ssl.keystore.location=/k.pem") }
        #expect(throws: BrokerProperties.Invalid.self) {
            try BrokerProperties(text: "admin.listener=127.0.0.1:1\nadmin.ssl.keystore.location=/k.pem\nadmin.ssl.keystore.type=JKS")
        }
        // Still not a key: a misspelt token name stops startup instead of protecting nothing.
        #expect(throws: BrokerProperties.Invalid.self) { try BrokerProperties(text: "admin.token=secret") }
    }
}

/// Creates `topic` with `partitions` and produces `times` batches of `records` to `partition`
/// (acks=-1), through the Kafka listener.
private func produce(to b: TestBroker, topic: String, partitions: Int32, partition: Int32, records: Int, times: Int) async throws {
    let client = try KafkaClient(servers: b.bootstrap)
    try await client.start()
    var create = CreateTopicsRequest()
    create.topics = [.init(name: topic, numPartitions: partitions, replicationFactor: 1)]
    let created = try await client.send(create)
    #expect(created.topics.map(\.errorCode) == [0])
    var builder = RecordBatchBuilder(codec: .none, baseTimestamp: 1_700_000_000_000)
    for i in 0..<records { builder.append(key: nil, value: ByteBuffer(string: "v\(i)")) }
    var request = ProduceRequest()
    request.acks = -1
    request.timeoutMs = 5000
    request.topicData = [.init(name: topic, partitionData: [.init(index: partition, records: try builder.build())])]
    for _ in 0..<times {
        let response = try await client.send(request)
        #expect(response.responses.first?.partitionResponses.first?.errorCode == 0)
    }
    await client.close()
}

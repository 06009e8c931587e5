import Foundation
import KafkaProtocol
import NIOCore
import NIOHTTP1
import Testing
import WeirBroker
import WeirClient
@testable import WeirServer
import WeirStorage

/// The web console's JSON endpoints over real HTTP against a real broker: exact statuses and bodies.
@Suite struct ConsoleTests {
    @Test func consoleRoutes() {
        #expect(AdminRoute.match(method: .GET, uri: "/console.js") == .consoleAsset(.js))
        #expect(AdminRoute.match(method: .GET, uri: "/v1/broker") == .broker)
        #expect(AdminRoute.match(method: .POST, uri: "/v1/topics") == .createTopic)
        #expect(AdminRoute.match(method: .GET, uri: "/v1/topics/a.b") == .topic("a.b"))
        #expect(AdminRoute.match(method: .DELETE, uri: "/v1/topics/a") == .deleteTopic("a"))
        #expect(AdminRoute.match(method: .PUT, uri: "/v1/topics/a") == .methodNotAllowed(allow: "GET, DELETE"))
        #expect(AdminRoute.match(method: .GET, uri: "/v1/topics/t/partitions/2/records?offset=5&max=3")
            == .records(topic: "t", partition: "2"))
        #expect(AdminRoute.match(method: .GET, uri: "/v1/groups/my%20group%2F1") == .group("my group/1"))
        #expect(AdminRoute.match(method: .POST, uri: "/v1/groups/g/reset-offsets") == .resetOffsets(group: "g"))
        #expect(AdminRoute.match(method: .GET, uri: "/v1/groups/g/reset-offsets") == .methodNotAllowed(allow: "POST"))
        #expect(AdminRoute.match(method: .GET, uri: "/v1/topics/t/partitions/0") == .notFound)
        #expect(AdminRoute.match(method: .GET, uri: "/v1/topics//partitions/0/records") == .notFound)
        #expect(AdminQuery.parse("/x?offset=5&max=&k=a%20b+c") == ["offset": "5", "max": "", "k": "a b c"])
        #expect(AdminQuery.parse("/x") == [:])
    }

    @Test func aLoopbackListenerAnswersOnlyLoopbackHostHeaders() async throws {
        #expect(BrokerProperties.isLoopbackHostHeader("127.0.0.1:9644"))
        #expect(BrokerProperties.isLoopbackHostHeader("LOCALHOST"))
        #expect(BrokerProperties.isLoopbackHostHeader("[::1]:9644"))
        #expect(!BrokerProperties.isLoopbackHostHeader("evil.example:9644"))
        #expect(!BrokerProperties.isLoopbackHostHeader("127.0.0.1.evil.example"))
        try await AdminFixture.with { a in
            let rebound = try await a.request(.GET, "/v1/topics", host: "evil.example:\(a.port)")
            #expect(rebound.status == 403)
            #expect(try rebound.json["error"] as? String
                == "Host 'evil.example:\(a.port)' is not a loopback address; this admin listener is loopback-only")
            #expect(try await a.request(.GET, "/v1/topics", host: "localhost:\(a.port)").status == 200)
        }
        try await AdminFixture.with(loopbackHostOnly: false) { a in
            let proxied = try await a.request(.GET, "/health", host: "proxy.example")
            #expect(proxied.status == 200)
        }
    }

    @Test func recordCountSkipsRecordsBeforeTheFetchOffset() throws {
        var buffer = ByteBuffer()
        for (base, count) in [(Int64(10), 5), (15, 3)] {
            var b = RecordBatchBuilder(baseTimestamp: 0)
            for _ in 0..<count { b.append(key: nil, value: ByteBuffer(string: "x")) }
            var batch = try b.build()
            batch.setInteger(base, at: batch.readerIndex)
            buffer.writeBuffer(&batch)
        }
        #expect(TrafficCounters.recordCount(in: buffer, from: 10) == 8)
        #expect(TrafficCounters.recordCount(in: buffer, from: 12) == 6)
        #expect(TrafficCounters.recordCount(in: buffer, from: 16) == 2)
        // A cut-off last batch (a fetch's size limit) is not counted.
        #expect(TrafficCounters.recordCount(in: buffer.getSlice(at: 0, length: buffer.readableBytes - 1)!, from: 10) == 5)
    }

    @Test func topicsListAndTopicPageShowOffsetsTimestampsAndConfigSources() async throws {
        try await AdminFixture.with { a in
            _ = try a.broker.store.createTopic(name: "t", partitions: 2, configs: ["retention.bytes": "1073741824"])
            try await produceKeyed(to: a.broker, topic: "t", partition: 1, count: 20, baseTimestamp: 1_700_000_000_000)
            let list = try await a.request(.GET, "/v1/topics").json
            let topics = try #require(list["topics"] as? [[String: Any]])
            #expect(topics.count == 1)
            #expect(topics[0]["name"] as? String == "t")
            #expect(topics[0]["partitions"] as? Int == 2)
            #expect(topics[0]["records"] as? Int == 20)
            #expect(topics[0]["cleanup_policy"] as? String == "delete")
            #expect(topics[0]["retention_bytes"] as? Int == 1_073_741_824)
            #expect(topics[0]["retention_ms"] as? Int == 168 * 3_600_000)
            #expect((topics[0]["bytes"] as? Int).map { $0 > 0 } == true)

            let page = try await a.request(.GET, "/v1/topics/t").json
            let parts = try #require(page["partition_details"] as? [[String: Any]])
            #expect(parts.map { $0["partition"] as? Int } == [0, 1])
            #expect(parts.map { $0["log_end_offset"] as? Int } == [0, 20])
            #expect(parts.map { $0["log_start_offset"] as? Int } == [0, 0])
            #expect(parts[0]["bytes"] as? Int == 0)
            #expect((parts[1]["bytes"] as? Int).map { $0 > 0 } == true)
            #expect(parts[0]["first_timestamp"] is NSNull)
            #expect(parts[1]["first_timestamp"] as? Int == 1_700_000_000_000)
            #expect(parts[1]["last_timestamp"] as? Int == 1_700_000_000_019)
            #expect(parts[1]["isr"] as? [Int] == [1])
            let configs = try #require(page["configs"] as? [[String: Any]])
            let bytes = try #require(configs.first { $0["name"] as? String == "retention.bytes" })
            #expect(bytes["value"] as? String == "1073741824")
            #expect(bytes["source"] as? String == "topic")
            let retention = try #require(configs.first { $0["name"] as? String == "retention.ms" })
            #expect(retention["value"] as? String == "604800000")
            #expect(retention["source"] as? String == "default")

            let missing = try await a.request(.GET, "/v1/topics/nope")
            #expect(missing.status == 404)
            #expect(try missing.json["error"] as? String == "unknown topic: nope")
        }
    }

    @Test func recordsPageReadsTheTailOrFromAnOffsetWithEncodings() async throws {
        try await AdminFixture.with { a in
            _ = try a.broker.store.createTopic(name: "t", partitions: 1, configs: [:])
            try await produceKeyed(to: a.broker, topic: "t", partition: 0, count: 20, baseTimestamp: 1_700_000_000_000)
            let tail = try await a.request(.GET, "/v1/topics/t/partitions/0/records?max=3").json
            let records = try #require(tail["records"] as? [[String: Any]])
            #expect(records.map { $0["offset"] as? Int } == [17, 18, 19])
            #expect(records.map { $0["value"] as? String } == ["value-17", "value-18", "value-19"])
            #expect(records.map { $0["value_encoding"] as? String } == ["utf8", "utf8", "utf8"])
            #expect(tail["next_offset"] as? Int == 20)
            #expect(tail["log_end_offset"] as? Int == 20)

            let from = try await a.request(.GET, "/v1/topics/t/partitions/0/records?offset=4&max=2").json
            let two = try #require(from["records"] as? [[String: Any]])
            #expect(two.map { $0["offset"] as? Int } == [4, 5])
            #expect(from["next_offset"] as? Int == 6)
            // Even offsets have a binary key, odd ones none; every record has one header.
            #expect(two[0]["key"] as? String == "00ff04")
            #expect(two[0]["key_encoding"] as? String == "hex")
            #expect(two[1]["key"] is NSNull)
            #expect(two[1]["key_encoding"] as? String == "null")
            #expect(two[0]["timestamp"] as? Int == 1_700_000_000_004)
            let headers = try #require(two[1]["headers"] as? [[String: Any]])
            #expect(headers.count == 1)
            #expect(headers[0]["key"] as? String == "n")
            #expect(headers[0]["value"] as? String == "5")

            let end = try await a.request(.GET, "/v1/topics/t/partitions/0/records?offset=20").json
            #expect((end["records"] as? [Any])?.isEmpty == true)
            #expect(end["next_offset"] as? Int == 20)

            for (query, status, message) in [
                ("?max=0", 400, "max must be an integer from 1 to 500, not '0'"),
                ("?max=501", 400, "max must be an integer from 1 to 500, not '501'"),
                ("?max=99999999999999999999", 400, "max must be an integer from 1 to 500, not '99999999999999999999'"),
                ("?offset=-1", 400, "offset must be a non-negative integer, not '-1'"),
                ("?offset=21", 400, "offset 21 is out of range: the log holds 0…20 (log start … high watermark)"),
            ] {
                let reply = try await a.request(.GET, "/v1/topics/t/partitions/0/records" + query)
                #expect(reply.status == status, "\(query)")
                #expect(try reply.json["error"] as? String == message)
            }
            let badPartition = try await a.request(.GET, "/v1/topics/t/partitions/x/records")
            #expect(badPartition.status == 400)
            let noPartition = try await a.request(.GET, "/v1/topics/t/partitions/1/records")
            #expect(noPartition.status == 404)
            #expect(try noPartition.json["error"] as? String == "topic t has no partition 1")
            let noTopic = try await a.request(.GET, "/v1/topics/u/partitions/0/records")
            #expect(noTopic.status == 404)
        }
    }

    @Test func groupsShowCommittedOffsetsAndLag() async throws {
        try await AdminFixture.with { a in
            _ = try a.broker.store.createTopic(name: "t", partitions: 2, configs: [:])
            try await produceKeyed(to: a.broker, topic: "t", partition: 1, count: 20, baseTimestamp: 1)
            let tp = TopicPartition("t", 1)
            _ = await a.broker.broker.groups.commitOffsets(
                groupId: "g 1", generationId: -1, memberId: "", groupInstanceId: nil,
                offsets: [tp: CommittedOffset(offset: 5, commitTimestampMs: 1)])
            let list = try await a.request(.GET, "/v1/groups").json
            let groups = try #require(list["groups"] as? [[String: Any]])
            #expect(groups.map { $0["group_id"] as? String } == ["g 1"])
            #expect(groups[0]["lag"] as? Int == 15)
            #expect(groups[0]["state"] as? String == "Empty")
            #expect(groups[0]["members"] as? Int == 0)

            let group = try await a.request(.GET, "/v1/groups/g%201").json
            let offsets = try #require(group["offsets"] as? [[String: Any]])
            #expect(offsets.count == 1)
            #expect(offsets[0]["topic"] as? String == "t")
            #expect(offsets[0]["partition"] as? Int == 1)
            #expect(offsets[0]["committed_offset"] as? Int == 5)
            #expect(offsets[0]["log_end_offset"] as? Int == 20)
            #expect(offsets[0]["lag"] as? Int == 15)
            #expect((group["members"] as? [Any])?.isEmpty == true)

            let unknown = try await a.request(.GET, "/v1/groups/nope")
            #expect(unknown.status == 404)
            #expect(try unknown.json["error"] as? String == "unknown group: nope")
        }
    }

    @Test func writeActionsAreRefusedUnlessWritable() async throws {
        try await AdminFixture.with { a in
            _ = try a.broker.store.createTopic(name: "t", partitions: 1, configs: [:])
            for (method, path, body) in [(HTTPMethod.POST, "/v1/topics", #"{"name":"n"}"#), (.DELETE, "/v1/topics/t", nil),
                                         (.POST, "/v1/groups/g/reset-offsets", #"{"topic":"t","to":"earliest"}"#)] {
                let reply = try await a.request(method, path, body: body)
                #expect(reply.status == 403, "\(method) \(path)")
                #expect(try reply.json["error"] as? String
                    == "the console is read-only: set admin.console.writable=true to allow this")
            }
            #expect(a.broker.store.topic(named: "n") == nil)
            #expect(a.broker.store.topic(named: "t") != nil)
        }
    }

    @Test func writableConsoleCreatesDeletesAndResets() async throws {
        try await AdminFixture.with(writable: true) { a in
            let created = try await a.request(.POST, "/v1/topics", body: #"{"name":"n","partitions":3,"configs":{"retention.ms":"1000"}}"#)
            #expect(created.status == 201)
            #expect(try created.json["partitions"] as? Int == 3)
            #expect(try created.json["retention_ms"] as? Int == 1000)
            #expect(a.broker.store.topic(named: "n")?.partitionCount == 3)
            let again = try await a.request(.POST, "/v1/topics", body: #"{"name":"n"}"#)
            #expect(again.status == 409)
            let bad = try await a.request(.POST, "/v1/topics", body: #"{"name":"a b"}"#)
            #expect(bad.status == 400)
            let badConfig = try await a.request(.POST, "/v1/topics", body: #"{"name":"c","configs":{"retention.ms":"x"}}"#)
            #expect(badConfig.status == 400)
            let notJSON = try await a.request(.POST, "/v1/topics", body: "{")
            #expect(notJSON.status == 400)
            // A cross-site form post (text/plain) is refused before the body is read.
            let form = try await a.request(.POST, "/v1/topics", body: #"{"name":"f"}"#, contentType: "text/plain")
            #expect(form.status == 415)
            #expect(try form.json["error"] as? String == "send the body as Content-Type: application/json")
            #expect(a.broker.store.topic(named: "f") == nil)

            try await produceKeyed(to: a.broker, topic: "n", partition: 2, count: 10, baseTimestamp: 1)
            let reset = try await a.request(.POST, "/v1/groups/g/reset-offsets", body: #"{"topic":"n","to":"latest","partitions":[2]}"#)
            #expect(reset.status == 200)
            let committed = try #require(try reset.json["offsets"] as? [[String: Any]])
            #expect(committed.map { $0["committed_offset"] as? Int } == [10])
            let clamped = try await a.request(.POST, "/v1/groups/g/reset-offsets", body: #"{"topic":"n","to":99}"#)
            #expect(try (clamped.json["offsets"] as? [[String: Any]])?.map { $0["committed_offset"] as? Int } == [0, 0, 10])
            let badTo = try await a.request(.POST, "/v1/groups/g/reset-offsets", body: #"{"topic":"n","to":"soon"}"#)
            #expect(badTo.status == 400)
            let badPartition = try await a.request(.POST, "/v1/groups/g/reset-offsets", body: #"{"topic":"n","to":0,"partitions":[3]}"#)
            #expect(badPartition.status == 400)

            let deleted = try await a.request(.DELETE, "/v1/topics/n")
            #expect(deleted.status == 200)
            #expect(try deleted.json["deleted"] as? String == "n")
            #expect(a.broker.store.topic(named: "n") == nil)
            #expect(try await a.request(.DELETE, "/v1/topics/n").status == 404)
        }
    }

    @Test func brokerShowsCountsRocksDBAndRates() async throws {
        try await AdminFixture.with { a in
            _ = try a.broker.store.createTopic(name: "t", partitions: 2, configs: [:])
            a.monitor.sample()
            try await produceKeyed(to: a.broker, topic: "t", partition: 0, count: 20, baseTimestamp: 1)
            try await Task.sleep(for: .milliseconds(20))
            a.monitor.sample()
            let json = try await a.request(.GET, "/v1/broker").json
            #expect(Set(json.keys) == ["broker_id", "version", "uptime_ms", "writable", "topics", "partitions", "data_dir",
                                       "bytes_on_disk", "rocksdb", "retention", "rates"])
            #expect(json["topics"] as? Int == 1)
            #expect(json["partitions"] as? Int == 2)
            #expect(json["writable"] as? Bool == false)
            #expect(json["version"] as? String == WeirVersion.current)
            #expect((json["bytes_on_disk"] as? Int).map { $0 > 0 } == true)
            let rocksdb = try #require(json["rocksdb"] as? [String: Any])
            #expect(Set(rocksdb.keys) == ["memtable_bytes", "block_cache_bytes", "pending_compaction_bytes"])
            let retention = try #require(json["retention"] as? [String: Any])
            #expect(retention["passes"] as? Int == 0)
            #expect(retention["last_pass"] is NSNull)
            let rates = try #require(json["rates"] as? [[String: Any]])
            #expect(rates.count == 1)
            #expect((rates[0]["produce_records_per_sec"] as? Double).map { $0 > 0 } == true)
            #expect(a.broker.broker.traffic.totals.producedRecords == 20)

            var pass = RetentionService.PassTotals(partitions: 1, batches: 3, bytes: 300)
            pass.compactedPartitions = 1
            pass.compactedRecords = 7
            pass.compactedBytes = 70
            pass.durationMs = 12
            a.monitor.retentionPassed(pass)
            let after = try #require(try await a.request(.GET, "/v1/broker").json["retention"] as? [String: Any])
            #expect(after["passes"] as? Int == 1)
            let last = try #require(after["last_pass"] as? [String: Any])
            #expect(last.filter { $0.key != "ended_at_ms" }.mapValues { $0 as? Int } == [
                "duration_ms": 12, "deleted_batches": 3, "deleted_bytes": 300, "compacted_partitions": 1,
                "compacted_records": 7, "compacted_bytes": 70,
            ])
            #expect((last["ended_at_ms"] as? Int).map { $0 > 0 } == true)

            let page = try await a.request(.GET, "/")
            #expect(page.status == 200)
            #expect(page.headers["Content-Type"] == ["text/html; charset=utf-8"])
            #expect(page.body.contains(#"<script src="/console.js"></script>"#))
        }
    }
}

/// `count` records, one batch per record so that timestamps are baseTimestamp + offset: value
/// "value-N", key bytes 00 ff N on even offsets and none on odd ones, header n=N.
private func produceKeyed(to b: TestBroker, topic: String, partition: Int32, count: Int, baseTimestamp: Int64) async throws {
    let client = try KafkaClient(servers: b.bootstrap)
    try await client.start()
    let start = b.store.partition(TopicPartition(topic, partition))?.logEndOffset ?? 0
    for i in 0..<count {
        let n = Int(start) + i
        var builder = RecordBatchBuilder(codec: .none, baseTimestamp: baseTimestamp + Int64(n))
        builder.append(key: n % 2 == 0 ? ByteBuffer(bytes: [0x00, 0xFF, UInt8(n)]) : nil,
                       value: ByteBuffer(string: "value-\(n)"),
                       headers: [RecordHeader(key: "n", value: ByteBuffer(string: "\(n)"))])
        var request = ProduceRequest()
        request.acks = -1
        request.timeoutMs = 5000
        request.topicData = [.init(name: topic, partitionData: [.init(index: partition, records: try builder.build())])]
        let response = try await client.send(request)
        #expect(response.responses.first?.partitionResponses.first?.errorCode == 0)
    }
    await client.close()
}

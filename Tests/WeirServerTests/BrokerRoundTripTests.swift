import KafkaProtocol
import NIOCore
import Testing
import WeirBroker
import WeirClient

/// The broker end to end through real sockets, with Weir's own client.
@Suite struct BrokerRoundTripTests {
    @Test func apiVersionsAdvertisesExactlyTheRegistry() async throws {
        try await TestBroker.with { b in
            let c = try await KafkaConnection.connect(host: "127.0.0.1", port: b.port)
            let response = try await c.send(ApiVersionsRequest(), version: 3)
            #expect(response.errorCode == 0)
            let advertised = Dictionary(uniqueKeysWithValues: response.apiKeys.map { ($0.apiKey, $0.minVersion...$0.maxVersion) })
            #expect(advertised[ApiKey.produce.rawValue] == 0...9)
            #expect(advertised[ApiKey.fetch.rawValue] == 0...12)
            #expect(advertised[ApiKey.apiVersions.rawValue] == 0...3)
            #expect(advertised.count == b.broker.makeRegistry().advertised.count)
            await c.close()
        }
    }

    @Test func produceThenFetchReturnsTheSameBytes() async throws {
        try await TestBroker.with { b in
            let client = try KafkaClient(servers: b.bootstrap)
            try await client.start()
            var create = CreateTopicsRequest()
            create.topics = [.init(name: "t", numPartitions: 2, replicationFactor: 1)]
            let created = try await client.send(create)
            #expect(created.topics.map(\.errorCode) == [0])

            var builder = RecordBatchBuilder(codec: .none, baseTimestamp: 1_700_000_000_000)
            for i in 0..<10 { builder.append(key: nil, value: ByteBuffer(string: "v\(i)")) }
            let batch = try builder.build()
            var produce = ProduceRequest()
            produce.acks = -1
            produce.timeoutMs = 5000
            produce.topicData = [.init(name: "t", partitionData: [.init(index: 1, records: batch)])]
            for expectedBase in [Int64(0), 10] {
                let response = try await client.send(produce)
                let p = try #require(response.responses.first?.partitionResponses.first)
                #expect(p.errorCode == 0)
                #expect(p.baseOffset == expectedBase)
            }

            var fetch = FetchRequest()
            fetch.maxWaitMs = 100
            fetch.minBytes = 1
            fetch.maxBytes = 1 << 20
            fetch.topics = [.init(topic: "t", partitions: [.init(partition: 1, fetchOffset: 5, partitionMaxBytes: 1 << 20)])]
            let fetched = try await client.send(fetch)
            let data = try #require(fetched.responses.first?.partitions.first)
            #expect(data.errorCode == 0)
            #expect(data.highWatermark == 20)
            var reader = RecordBatchReader(try #require(data.records))
            var offsets: [Int64] = []
            while let decoded = try reader.nextBatch() {
                #expect(decoded.header.baseOffset == Int64(offsets.count))
                for (i, r) in decoded.records.enumerated() {
                    offsets.append(decoded.header.baseOffset + Int64(i))
                    #expect(r.value == ByteBuffer(string: "v\(i)"))
                }
            }
            // The batch containing offset 5 is returned whole (Kafka's semantics), then the next.
            #expect(offsets == Array(0..<20))
            await client.close()
        }
    }

    @Test func fetchLongPollWakesOnProduce() async throws {
        try await TestBroker.with { b in
            let client = try KafkaClient(servers: b.bootstrap)
            try await client.start()
            var create = CreateTopicsRequest()
            create.topics = [.init(name: "w", numPartitions: 1, replicationFactor: 1)]
            _ = try await client.send(create)

            var fetch = FetchRequest()
            fetch.maxWaitMs = 10_000
            fetch.minBytes = 1
            fetch.maxBytes = 1 << 20
            fetch.topics = [.init(topic: "w", partitions: [.init(partition: 0, fetchOffset: 0, partitionMaxBytes: 1 << 20)])]
            let start = ContinuousClock.now
            let longPoll = fetch
            async let fetched = client.send(longPoll)

            let producer = try KafkaClient(servers: b.bootstrap)
            try await producer.start()
            try await Task.sleep(for: .milliseconds(200))
            var builder = RecordBatchBuilder(codec: .none, baseTimestamp: 0)
            builder.append(key: nil, value: ByteBuffer(string: "wake"))
            var produce = ProduceRequest()
            produce.acks = 1
            produce.timeoutMs = 5000
            produce.topicData = [.init(name: "w", partitionData: [.init(index: 0, records: try builder.build())])]
            _ = try await producer.send(produce)
            let response = try await fetched
            let waited = ContinuousClock.now - start
            #expect(response.responses.first?.partitions.first?.highWatermark == 1)
            #expect(waited < .seconds(5))
            await producer.close()
            await client.close()
        }
    }
}

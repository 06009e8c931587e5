import KafkaProtocol
import NIOCore
import Testing
import WeirBroker
import WeirClient

/// A fetch of several partitions keeps Kafka's limits: each partition's, the response's budget
/// shared in request order, and one oversized batch for the first partition with records only (KIP-74).
@Suite struct FetchLimitsRoundTripTests {
    @Test func limitsAndTheFirstOversizedBatchAreKeptAcrossPartitions() async throws {
        try await TestBroker.with { b in
            let client = try KafkaClient(servers: b.bootstrap)
            try await client.start()
            var create = CreateTopicsRequest()
            create.topics = [.init(name: "s", numPartitions: 4, replicationFactor: 1)]
            #expect(try await client.send(create).topics.map(\.errorCode) == [0])

            // Partitions 1–3 get three batches each; partition 0 stays empty.
            var builder = RecordBatchBuilder(codec: .none, baseTimestamp: 1_700_000_000_000)
            for i in 0..<10 { builder.append(key: nil, value: ByteBuffer(string: "value \(i)")) }
            let batch = try builder.build()
            let size = batch.readableBytes
            var produce = ProduceRequest()
            produce.acks = -1
            produce.timeoutMs = 5000
            produce.topicData = [.init(name: "s", partitionData: (1...3).map { .init(index: $0, records: batch) })]
            for _ in 0..<3 { _ = try await client.send(produce) }

            func fetch(partitionMaxBytes: Int, maxBytes: Int) async throws -> [Int] {
                var fetch = FetchRequest()
                fetch.maxWaitMs = 0
                fetch.minBytes = 0
                fetch.maxBytes = Int32(maxBytes)
                fetch.topics = [.init(topic: "s", partitions: (0...3).map {
                    .init(partition: $0, fetchOffset: 0, partitionMaxBytes: Int32(partitionMaxBytes))
                })]
                let response = try await client.send(fetch)
                let partitions = try #require(response.responses.first?.partitions)
                #expect(partitions.map(\.partitionIndex) == [0, 1, 2, 3])
                #expect(partitions.allSatisfy { $0.errorCode == 0 })
                return partitions.map { ($0.records?.readableBytes ?? 0) / size }
            }
            // Room for everything: three batches from each non-empty partition.
            #expect(try await fetch(partitionMaxBytes: 1 << 20, maxBytes: 50 << 20) == [0, 3, 3, 3])
            // Two batches fit each partition's limit, the response has room for all four limits.
            #expect(try await fetch(partitionMaxBytes: 2 * size + 1, maxBytes: 4 * (2 * size + 1)) == [0, 2, 2, 2])
            // No batch fits a partition: only the first partition with records gets one.
            #expect(try await fetch(partitionMaxBytes: 1, maxBytes: 50 << 20) == [0, 1, 0, 0])
            // The response's limit binds: shared in request order.
            #expect(try await fetch(partitionMaxBytes: 3 * size, maxBytes: 4 * size) == [0, 3, 1, 0])
            await client.close()
        }
    }
}

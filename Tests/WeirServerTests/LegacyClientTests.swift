import KafkaProtocol
import NIOCore
import Testing
import WeirBroker
import WeirClient

/// The request versions old clients send without asking ApiVersions first (sarama at its
/// default V0_8_2_0, kafka-go 0.2): message sets up-converted on produce, down-converted on
/// fetch, side by side with record batches in one partition.
@Suite struct LegacyClientTests {
    private func message(_ value: String, key: String? = nil, magic: Int8, timestamp: Int64? = nil) -> LegacyMessage {
        LegacyMessage(offset: 0, magic: magic, timestamp: timestamp, key: key.map { ByteBuffer(string: $0) },
                      value: ByteBuffer(string: value))
    }

    private func set(_ messages: [LegacyMessage]) -> ByteBuffer {
        var out = ByteBuffer()
        for m in messages { m.write(to: &out) }
        return out
    }

    private func produce(_ c: KafkaConnection, _ topic: String, _ records: ByteBuffer, version: Int16) async throws
        -> ProduceResponse.PartitionProduceResponse {
        var produce = ProduceRequest()
        produce.acks = -1
        produce.timeoutMs = 5000
        produce.topicData = [.init(name: topic, partitionData: [.init(index: 0, records: records)])]
        let response = try await c.send(produce, version: version)
        return try #require(response.responses.first?.partitionResponses.first)
    }

    private func fetch(_ c: KafkaConnection, _ topic: String, from offset: Int64, version: Int16,
                       maxBytes: Int32 = 1 << 20) async throws -> FetchResponse.PartitionData {
        var fetch = FetchRequest()
        fetch.maxWaitMs = 0
        fetch.minBytes = 0
        fetch.topics = [.init(topic: topic, partitions: [.init(partition: 0, fetchOffset: offset, partitionMaxBytes: maxBytes)])]
        let response = try await c.send(fetch, version: version)
        return try #require(response.responses.first?.partitions.first)
    }

    private func messages(_ data: FetchResponse.PartitionData) throws -> [LegacyMessage] {
        guard let records = data.records, records.readableBytes > 0 else { return [] }
        return try LegacyMessageSet.decode(records).get().messages
    }

    private func createTopic(_ b: TestBroker, _ name: String, configs: [String: String] = [:]) async throws {
        let client = try KafkaClient(servers: b.bootstrap)
        try await client.start()
        var create = CreateTopicsRequest()
        create.topics = [.init(name: name, numPartitions: 1, replicationFactor: 1,
                               configs: configs.map { .init(name: $0.key, value: $0.value) })]
        let created = try await client.send(create)
        #expect(created.topics.map(\.errorCode) == [0])
        await client.close()
    }

    @Test func oldAndNewProducersShareAPartitionAndEachFetcherReadsItsFormat() async throws {
        try await TestBroker.with { b in
            try await createTopic(b, "mixed")
            let c = try await KafkaConnection.connect(host: "127.0.0.1", port: b.port)
            // sarama at V0_8_2_0: Produce v0, magic 0, gzip wrapper.
            let inner = [message("a", key: "k0", magic: 0), message("b", magic: 0)]
            let wrapper = LegacyMessage(offset: 0, magic: 0, attributes: CompressionCodec.gzip.rawValue, timestamp: nil,
                                        key: nil, value: try Compression.compress(set(inner), codec: .gzip))
            let p0 = try await produce(c, "mixed", set([wrapper]), version: 0)
            #expect(p0.errorCode == 0 && p0.baseOffset == 0)
            // kafka-go 0.2: Produce v2, magic 1 with timestamps.
            let p2 = try await produce(c, "mixed", set([message("c", key: "k2", magic: 1, timestamp: 1_234)]), version: 2)
            #expect(p2.errorCode == 0 && p2.baseOffset == 2)
            // A modern producer: Produce v3+, a record batch with a header.
            var builder = RecordBatchBuilder(codec: .snappy, baseTimestamp: 5_678)
            builder.append(key: nil, value: ByteBuffer(string: "d"), headers: [.init(key: "h", value: ByteBuffer(string: "x"))])
            let p9 = try await produce(c, "mixed", try builder.build(), version: 9)
            #expect(p9.errorCode == 0 && p9.baseOffset == 3)

            for version: Int16 in [0, 1, 2, 3] {
                let data = try await fetch(c, "mixed", from: 1, version: version)
                #expect(data.errorCode == 0 && data.highWatermark == 4)
                let got = try messages(data)
                #expect(got.map(\.offset) == [1, 2, 3], "v\(version)")
                #expect(got.map { $0.value.map { String(buffer: $0) } } == ["b", "c", "d"])
                #expect(got.map { $0.key.map { String(buffer: $0) } } == [nil, "k2", nil])
                #expect(got.allSatisfy { $0.magic == (version >= 2 ? 1 : 0) && $0.codecBits == 0 })
                if version >= 2 { #expect(got[1].timestamp == 1_234 && got[2].timestamp == 5_678) }
            }
            // v4+ readers get record batches, the stored bytes.
            let modern = try await fetch(c, "mixed", from: 0, version: 12)
            var reader = RecordBatchReader(try #require(modern.records))
            let batches = try reader.allBatches()
            #expect(batches.map(\.header.compression) == [.gzip, .none, .snappy])
            #expect(batches.flatMap { $0.map { $0.value.map { String(buffer: $0) } } } == ["a", "b", "c", "d"])
            #expect(batches[0].header.isLogAppendTime && !batches[1].header.isLogAppendTime)
            await c.close()
        }
    }

    @Test func badInputIsRefusedAndNothingIsStored() async throws {
        try await TestBroker.with { b in
            try await createTopic(b, "bad")
            let c = try await KafkaConnection.connect(host: "127.0.0.1", port: b.port)
            var corrupt = set([message("payload", magic: 1, timestamp: 1)])
            corrupt.setInteger(UInt8(0x55), at: corrupt.writerIndex - 1)
            #expect(try await produce(c, "bad", corrupt, version: 2).errorCode == ErrorCode.corruptMessage.rawValue)
            var builder = RecordBatchBuilder(baseTimestamp: 1)
            builder.append(key: nil, value: ByteBuffer(string: "v2 in v1"))
            #expect(try await produce(c, "bad", try builder.build(), version: 1).errorCode == ErrorCode.invalidRecord.rawValue)
            let zstd = LegacyMessage(offset: 0, magic: 1, attributes: 4, timestamp: 1, key: nil, value: ByteBuffer(string: "z"))
            #expect(try await produce(c, "bad", set([zstd]), version: 2).errorCode == ErrorCode.unsupportedCompressionType.rawValue)
            var zstdBatch = RecordBatchBuilder(codec: .zstd, baseTimestamp: 1)
            zstdBatch.append(key: nil, value: ByteBuffer(string: "z"))
            #expect(try await produce(c, "bad", try zstdBatch.build(), version: 3).errorCode == ErrorCode.unsupportedCompressionType.rawValue)
            let data = try await fetch(c, "bad", from: 0, version: 2)
            #expect(data.highWatermark == 0)
            await c.close()
        }
    }

    @Test func downConversionCanBeTurnedOffPerTopic() async throws {
        try await TestBroker.with { b in
            try await createTopic(b, "new-only", configs: ["message.downconversion.enable": "false", "message.format.version": "0.10.2"])
            let c = try await KafkaConnection.connect(host: "127.0.0.1", port: b.port)
            #expect(try await produce(c, "new-only", set([message("x", magic: 1, timestamp: 1)]), version: 2).errorCode == 0)
            #expect(try await fetch(c, "new-only", from: 0, version: 3).errorCode == ErrorCode.unsupportedVersion.rawValue)
            #expect(try await fetch(c, "new-only", from: 0, version: 4).errorCode == 0)
            await c.close()
        }
    }

    @Test func aRecordLargerThanTheLimitStillComesAndTheLimitHoldsOtherwise() async throws {
        try await TestBroker.with { b in
            try await createTopic(b, "sizes")
            let c = try await KafkaConnection.connect(host: "127.0.0.1", port: b.port)
            let values = (0 ..< 5).map { String(repeating: "\($0)", count: 100) }
            #expect(try await produce(c, "sizes", set(values.map { message($0, magic: 1, timestamp: 1) }), version: 2).errorCode == 0)
            let one = message(values[0], magic: 1, timestamp: 1).encodedSize
            let limited = try messages(try await fetch(c, "sizes", from: 0, version: 3, maxBytes: Int32(2 * one + 10)))
            #expect(limited.map(\.offset) == [0, 1])
            let tiny = try messages(try await fetch(c, "sizes", from: 3, version: 0, maxBytes: 10))
            #expect(tiny.map(\.offset) == [3])
            await c.close()
        }
    }

    @Test func listOffsetsV0AndMetadataV0() async throws {
        try await TestBroker.with { b in
            try await createTopic(b, "listed")
            let c = try await KafkaConnection.connect(host: "127.0.0.1", port: b.port)
            #expect(try await produce(c, "listed", set((0 ..< 3).map { message("\($0)", magic: 0) }), version: 0).errorCode == 0)
            for (time, maxNum, expected): (Int64, Int32, [Int64]) in [(-1, 1, [3]), (-1, 5, [3, 0]), (-2, 1, [0]), (-1, 0, [])] {
                var request = ListOffsetsRequest()
                request.topics = [.init(name: "listed", partitions: [.init(partitionIndex: 0, timestamp: time, maxNumOffsets: maxNum)])]
                let response = try await c.send(request, version: 0)
                let p = try #require(response.topics.first?.partitions.first)
                #expect(p.errorCode == 0 && p.oldStyleOffsets == expected, "time \(time) max \(maxNum)")
            }
            // v0: an empty topic list means every topic; v1+: none.
            var metadata = MetadataRequest()
            metadata.topics = []
            #expect(try await c.send(metadata, version: 0).topics.map(\.name) == ["listed"])
            #expect(try await c.send(metadata, version: 1).topics.isEmpty)
            await c.close()
        }
    }
}

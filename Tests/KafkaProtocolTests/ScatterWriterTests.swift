import KafkaProtocol
import NIOCore
import Testing

/// `count` bytes of a pattern that differs per `seed`, starting `skip` bytes into its storage so
/// that the records are a slice (as when read out of a larger buffer), not a buffer of their own.
private func recordsBuffer(_ count: Int, seed: UInt8, skip: Int = 0) -> ByteBuffer {
    var b = ByteBuffer(repeating: 0xEE, count: skip)
    b.writeBytes((0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ Int(seed)) })
    b.moveReaderIndex(forwardBy: skip)
    return b
}

/// Address of the first readable byte: equal addresses (and lengths) mean the same storage.
private func address(_ b: ByteBuffer) -> UInt? {
    b.withUnsafeReadableBytes { $0.baseAddress.map { UInt(bitPattern: $0) } }
}

private func joined(_ parts: [ByteBuffer]) -> ByteBuffer {
    var all = ByteBuffer()
    for var part in parts { all.writeBuffer(&part) }
    return all
}

/// Encodes `message` both ways and checks: same bytes, same total, and the parts are exactly
/// [framing, large[0], framing, large[1], …, framing], each large part sharing the storage of
/// the records buffer it came from.
private func checkScatter<M: KafkaScatterEncodable>(_ message: M, version: Int16, large: [ByteBuffer]) throws {
    var encoded = ByteBuffer()
    message.write(to: &encoded, version: version)
    var out = KafkaScatterWriter()
    message.write(to: &out, version: version)
    #expect(out.totalBytes == encoded.readableBytes)
    let parts = out.finish()
    #expect(joined(parts) == encoded, "\(M.self) v\(version)")
    try #require(parts.count == 2 * large.count + 1, "\(M.self) v\(version): \(parts.count) parts")
    for (i, records) in large.enumerated() {
        let part = parts[2 * i + 1]
        #expect(part == records)
        #expect(address(part) == address(records), "\(M.self) v\(version): large records \(i) was copied")
    }
    // And the bytes still decode to the message.
    var reader = joined(parts)
    #expect(try M(from: &reader, version: version) == message)
    #expect(reader.readableBytes == 0)
}

@Suite struct ScatterWriterTests {
    @Test func partsLayoutAndLengths() throws {
        var out = KafkaScatterWriter(headroom: 16, threshold: 8)
        out.current.writeInteger(Int16(7))
        out.writeKafkaRecords(ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]), compact: false)  // == threshold: a part
        out.current.writeInteger(Int32(-2))
        out.writeKafkaRecords(nil, compact: false)
        out.writeKafkaRecords(nil, compact: true)
        out.writeKafkaRecords(ByteBuffer(), compact: false)
        out.writeKafkaRecords(ByteBuffer(), compact: true)
        out.writeKafkaRecords(ByteBuffer(bytes: [9, 9, 9, 9, 9, 9, 9]), compact: true)  // threshold - 1: copied
        out.writeKafkaRecords(ByteBuffer(bytes: Array(repeating: 0xAB, count: 130)), compact: true)  // 2-byte uvarint
        #expect(out.totalBytes == 2 + 4 + 8 + 4 + 4 + 1 + 4 + 1 + 1 + 7 + 2 + 130)
        let parts = out.finish()
        #expect(parts == [
            ByteBuffer(bytes: [0x00, 0x07, 0x00, 0x00, 0x00, 0x08]),
            ByteBuffer(bytes: [1, 2, 3, 4, 5, 6, 7, 8]),
            ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFE,  // Int32(-2)
                               0xFF, 0xFF, 0xFF, 0xFF,  // classic null
                               0x00,  // compact null
                               0x00, 0x00, 0x00, 0x00,  // classic empty
                               0x01,  // compact empty
                               0x08, 9, 9, 9, 9, 9, 9, 9,  // compact 7 bytes, copied
                               0x83, 0x01]),  // compact length 131 as uvarint
            ByteBuffer(bytes: Array(repeating: 0xAB, count: 130)),
        ])
        // The trailing empty `current` is left out, and the writer starts over.
        #expect(out.totalBytes == 0)
        #expect(out.finish().isEmpty)
        out.current.writeInteger(UInt8(5))
        #expect(out.finish() == [ByteBuffer(bytes: [5])])
    }

    @Test(arguments: [false, true], [0, 1, 4095, 4096, 70_000])
    func recordsMatchWriteKafkaBytes(compact: Bool, count: Int) {
        let records = recordsBuffer(count, seed: 3, skip: 5)
        var expected = ByteBuffer()
        expected.writeKafkaBytes(records, compact: compact)
        var out = KafkaScatterWriter()
        out.writeKafkaRecords(records, compact: compact)
        let parts = out.finish()
        #expect(joined(parts) == expected)
        #expect(parts.count == (count >= out.threshold ? 2 : 1))
        if count >= out.threshold {
            #expect(address(parts[1]) == address(records))
        }
    }

    @Test(arguments: FetchResponse.validVersions)
    func fetchResponse(version: Int16) throws {
        let large = [recordsBuffer(4096, seed: 1, skip: 7), recordsBuffer(9000, seed: 2)]
        typealias P = FetchResponse.PartitionData
        var leader = FetchResponse.LeaderIdAndEpoch()
        leader.leaderId = 3
        leader.leaderEpoch = 9
        var message = FetchResponse()
        if version >= 1 { message.throttleTimeMs = 12 }
        if version >= 7 {
            message.errorCode = 0
            message.sessionId = 77
        }
        func partition(_ index: Int32, _ records: ByteBuffer?) -> P {
            var p = P()
            p.partitionIndex = index
            p.highWatermark = 1000 + Int64(index)
            if version >= 4 {
                p.lastStableOffset = 900
                p.abortedTransactions = index == 0 ? [FetchResponse.AbortedTransaction(producerId: 5, firstOffset: 6)] : nil
            }
            if version >= 5 { p.logStartOffset = 10 }
            if version >= 11 { p.preferredReadReplica = 2 }
            if version >= 12 && index == 1 { p.currentLeader = leader }  // a tagged field after large records
            p.records = records
            return p
        }
        var a = FetchResponse.FetchableTopicResponse()
        var b = FetchResponse.FetchableTopicResponse()
        if version <= 12 {
            a.topic = "alpha"
            b.topic = "beta"
        } else {
            a.topicId = KafkaUUID(high: 1, low: 2)
            b.topicId = KafkaUUID(high: 3, low: 4)
        }
        a.partitions = [partition(0, recordsBuffer(100, seed: 9)), partition(1, large[0]),
                        partition(2, ByteBuffer()), partition(3, nil)]
        b.partitions = [partition(0, large[1]), partition(1, recordsBuffer(4095, seed: 8, skip: 1)), partition(2, nil)]
        message.responses = [a, b]
        if version >= 16 { message.nodeEndpoints = [FetchResponse.NodeEndpoint(nodeId: 3, host: "h", port: 9092, rack: nil)] }
        try checkScatter(message, version: version, large: large)
    }

    @Test(arguments: ProduceRequest.validVersions)
    func produceRequest(version: Int16) throws {
        let large = [recordsBuffer(5000, seed: 4), recordsBuffer(4096, seed: 5, skip: 61)]
        typealias P = ProduceRequest.PartitionProduceData
        var message = ProduceRequest()
        if version >= 3 { message.transactionalId = "tx" }
        message.acks = -1
        message.timeoutMs = 30_000
        message.topicData = [
            ProduceRequest.TopicProduceData(name: "alpha", partitionData: [
                P(index: 0, records: large[0]), P(index: 1, records: recordsBuffer(10, seed: 6)),
                P(index: 2, records: nil), P(index: 3, records: ByteBuffer()),
            ]),
            ProduceRequest.TopicProduceData(name: "beta", partitionData: [
                P(index: 0, records: large[1]), P(index: 1, records: recordsBuffer(4095, seed: 7)),
            ]),
        ]
        try checkScatter(message, version: version, large: large)
    }
}

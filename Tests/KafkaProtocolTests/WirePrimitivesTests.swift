import KafkaProtocol
import NIOCore
import Testing

/// Hand-written byte-level checks of the wire primitives and of the generated code against
/// encodings written out from the protocol guide, independent of the generator's own tests.
@Suite struct WirePrimitivesTests {
    private func bytes(_ buffer: ByteBuffer) -> [UInt8] { Array(buffer.readableBytesView) }

    // MARK: varints

    static let varInts: [(Int32, [UInt8])] = [
        (0, [0x00]),
        (-1, [0x01]),
        (1, [0x02]),
        (300, [0xd8, 0x04]),
        (Int32.max, [0xfe, 0xff, 0xff, 0xff, 0x0f]),
        (Int32.min, [0xff, 0xff, 0xff, 0xff, 0x0f]),
    ]

    static let varLongs: [(Int64, [UInt8])] = [
        (0, [0x00]),
        (-1, [0x01]),
        (300, [0xd8, 0x04]),
        (Int64(Int32.min), [0xff, 0xff, 0xff, 0xff, 0x0f]),
        (Int64.max, [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
        (Int64.min, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
    ]

    @Test(arguments: varInts)
    func varInt(value: Int32, encoded: [UInt8]) throws {
        var buffer = ByteBuffer()
        #expect(buffer.writeVarInt(value) == encoded.count)
        #expect(bytes(buffer) == encoded)
        #expect(try buffer.readVarInt() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test(arguments: varLongs)
    func varLong(value: Int64, encoded: [UInt8]) throws {
        var buffer = ByteBuffer()
        #expect(buffer.writeVarLong(value) == encoded.count)
        #expect(bytes(buffer) == encoded)
        #expect(try buffer.readVarLong() == value)
        #expect(buffer.readableBytes == 0)
    }

    @Test func unsignedVarInt() throws {
        var buffer = ByteBuffer()
        buffer.writeUnsignedVarInt(0)
        buffer.writeUnsignedVarInt(300)
        buffer.writeUnsignedVarInt(UInt32.max)
        #expect(bytes(buffer) == [0x00, 0xac, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f])
        #expect(try buffer.readUnsignedVarInt() == 0)
        #expect(try buffer.readUnsignedVarInt() == 300)
        #expect(try buffer.readUnsignedVarInt() == UInt32.max)
    }

    @Test func malformedVarIntsThrow() {
        var tooLong = ByteBuffer(bytes: [0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: ProtocolError.self) { try tooLong.readUnsignedVarInt() }
        var over32Bits = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff, 0x1f])
        #expect(throws: ProtocolError.self) { try over32Bits.readVarInt() }
        var unterminated = ByteBuffer(bytes: [0x80, 0x80])
        #expect(throws: ProtocolError.truncated("varint")) { try unterminated.readUnsignedVarInt() }
        var over64Bits = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02])
        #expect(throws: ProtocolError.self) { try over64Bits.readVarLong() }
    }

    // MARK: strings and bytes

    @Test func classicAndCompactStrings() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaString("hi", compact: false)
        buffer.writeKafkaString("hi", compact: true)
        buffer.writeKafkaString(nil, compact: false)
        buffer.writeKafkaString(nil, compact: true)
        buffer.writeKafkaString("", compact: true)
        buffer.writeKafkaString("é", compact: false)
        #expect(bytes(buffer) == [
            0x00, 0x02, 0x68, 0x69,  // STRING: int16 length
            0x03, 0x68, 0x69,  // COMPACT_STRING: uvarint length + 1
            0xff, 0xff,  // null NULLABLE_STRING: length -1
            0x00,  // null COMPACT_NULLABLE_STRING: 0
            0x01,  // empty COMPACT_STRING
            0x00, 0x02, 0xc3, 0xa9,  // "é" is two UTF-8 bytes
        ])
        #expect(try buffer.readKafkaString(compact: false) == "hi")
        #expect(try buffer.readKafkaString(compact: true) == "hi")
        #expect(try buffer.readKafkaNullableString(compact: false) == nil)
        #expect(try buffer.readKafkaNullableString(compact: true) == nil)
        #expect(try buffer.readKafkaString(compact: true) == "")
        #expect(try buffer.readKafkaString(compact: false) == "é")
        #expect(buffer.readableBytes == 0)

        var null = ByteBuffer(bytes: [0xff, 0xff])
        #expect(throws: ProtocolError.invalid("null for a non-nullable string")) {
            try null.readKafkaString(compact: false)
        }
    }

    @Test func classicAndCompactBytes() throws {
        var buffer = ByteBuffer()
        buffer.writeKafkaBytes(ByteBuffer(bytes: [1, 2]), compact: false)
        buffer.writeKafkaBytes(ByteBuffer(bytes: [1, 2]), compact: true)
        buffer.writeKafkaBytes(nil, compact: false)
        buffer.writeKafkaBytes(nil, compact: true)
        #expect(bytes(buffer) == [0x00, 0x00, 0x00, 0x02, 1, 2, 0x03, 1, 2, 0xff, 0xff, 0xff, 0xff, 0x00])
        #expect(try buffer.readKafkaBytes(compact: false) == ByteBuffer(bytes: [1, 2]))
        #expect(try buffer.readKafkaBytes(compact: true) == ByteBuffer(bytes: [1, 2]))
        #expect(try buffer.readKafkaNullableBytes(compact: false) == nil)
        #expect(try buffer.readKafkaNullableBytes(compact: true) == nil)
        #expect(buffer.readableBytes == 0)
    }

    @Test func truncatedAndNegativeLengthsThrow() {
        var shortInt = ByteBuffer(bytes: [0x00, 0x00, 0x01])
        #expect(throws: ProtocolError.self) { try shortInt.readKafka(Int32.self) }
        var shortString = ByteBuffer(bytes: [0x00, 0x05, 0x61, 0x62])
        #expect(throws: ProtocolError.self) { try shortString.readKafkaString(compact: false) }
        var negativeString = ByteBuffer(bytes: [0xff, 0xfe, 0x61])
        #expect(throws: ProtocolError.self) { try negativeString.readKafkaNullableString(compact: false) }
        var negativeBytes = ByteBuffer(bytes: [0x80, 0x00, 0x00, 0x00])
        #expect(throws: ProtocolError.self) { try negativeBytes.readKafkaNullableBytes(compact: false) }
        var negativeArray = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xfb])
        #expect(throws: ProtocolError.self) { try negativeArray.readKafkaArrayLength(compact: false) }
        // A hostile count is rejected before anything is allocated for it.
        var hugeArray = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff, 0x0f, 0x00])
        #expect(throws: ProtocolError.self) { try hugeArray.readKafkaArrayLength(compact: true) }
        var twoInt32s = ByteBuffer(bytes: [0x00, 0x00, 0x00, 0x02, 0, 0, 0, 1, 0, 0, 0])
        #expect(throws: ProtocolError.self) { try twoInt32s.readKafkaArrayLength(compact: false, minElementSize: 4) }

        // The same through generated code: a Produce v3 request whose topic array length is -2.
        var produce = ByteBuffer(bytes: [0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8, 0xff, 0xff, 0xff, 0xfe])
        #expect(throws: ProtocolError.self) { try ProduceRequest(from: &produce, version: 3) }
        var unknownVersion = ByteBuffer()
        #expect(throws: ProtocolError.unsupportedVersion(apiKey: 0, version: 12)) {
            try ProduceRequest(from: &unknownVersion, version: 12)
        }
    }

    @Test func nullForANonNullableFieldThrows() throws {
        // Produce v3: transactional_id null, acks 1, timeout 1000, one topic whose name is null.
        var produce = ByteBuffer(bytes: [0xff, 0xff, 0x00, 0x01, 0x00, 0x00, 0x03, 0xe8,
                                         0x00, 0x00, 0x00, 0x01, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00])
        #expect(throws: ProtocolError.self) { try ProduceRequest(from: &produce, version: 3) }
        // Metadata topics are nullable from v1 (null = all topics) but not in v0.
        var v1 = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff])
        #expect(try MetadataRequest(from: &v1, version: 1).topics == nil)
        var v0 = ByteBuffer(bytes: [0xff, 0xff, 0xff, 0xff])
        #expect(throws: ProtocolError.invalid("MetadataRequest.topics: null for a non-nullable array")) {
            try MetadataRequest(from: &v0, version: 0)
        }
    }

    // MARK: tagged fields

    @Test func unknownTagIsSkippedKnownTagsAreRead() throws {
        // ApiVersions v3 response: error 0, one api key (18, 0...4), throttle 0, then three tagged
        // fields: FinalizedFeaturesEpoch (tag 1), a tag 9 that the schema does not define, and
        // ZkMigrationReady (tag 3).
        var buffer = ByteBuffer(bytes: [
            0x00, 0x00,  // error_code
            0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00,  // api_keys: [ {18, 0, 4, no tags} ]
            0x00, 0x00, 0x00, 0x00,  // throttle_time_ms
            0x03,  // three tagged fields
            0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 7,  // tag 1, 8 bytes: finalized_features_epoch = 7
            0x09, 0x02, 0xaa, 0xbb,  // tag 9, unknown to us: skipped
            0x03, 0x01, 0x01,  // tag 3, 1 byte: zk_migration_ready = true
        ])
        let response = try ApiVersionsResponse(from: &buffer, version: 3)
        #expect(buffer.readableBytes == 0)
        #expect(response.apiKeys == [ApiVersionsResponse.ApiVersion(apiKey: 18, minVersion: 0, maxVersion: 4)])
        #expect(response.finalizedFeaturesEpoch == 7)
        #expect(response.zkMigrationReady)
        #expect(response.supportedFeatures.isEmpty)

        // Re-encoding drops the unknown tag and keeps ascending tag order.
        var out = ByteBuffer()
        response.write(to: &out, version: 3)
        #expect(bytes(out) == [0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00,
                               0x02, 0x01, 0x08, 0, 0, 0, 0, 0, 0, 0, 7, 0x03, 0x01, 0x01])

        // Tagged fields at their default values are not written at all.
        var plain = ByteBuffer()
        ApiVersionsResponse().write(to: &plain, version: 3)
        #expect(bytes(plain) == [0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00])

        // A tagged field whose size runs past the end is truncation, not a trap.
        var truncated = ByteBuffer(bytes: [0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01, 0x09, 0x05, 0xaa])
        #expect(throws: ProtocolError.self) { try ApiVersionsResponse(from: &truncated, version: 3) }
    }

    // MARK: golden vectors

    @Test func apiVersionsV3RequestBody() throws {
        // client_software_name COMPACT_STRING, client_software_version COMPACT_STRING, TAG_BUFFER.
        let wire: [UInt8] = [0x12] + Array("apache-kafka-java".utf8) + [0x06] + Array("3.9.0".utf8) + [0x00]
        var buffer = ByteBuffer(bytes: wire)
        let request = try ApiVersionsRequest(from: &buffer, version: 3)
        #expect(buffer.readableBytes == 0)
        #expect(request == ApiVersionsRequest(clientSoftwareName: "apache-kafka-java", clientSoftwareVersion: "3.9.0"))
        var out = ByteBuffer()
        request.write(to: &out, version: 3)
        #expect(bytes(out) == wire)
        // v0-v2 bodies are empty.
        var v2 = ByteBuffer()
        request.write(to: &v2, version: 2)
        #expect(v2.readableBytes == 0)
    }

    @Test func metadataV12Request() throws {
        let wire: [UInt8] = [
            0x00, 0x00, 0x00, 0x2e,  // message_size: 46
            // Request header v2
            0x00, 0x03,  // request_api_key: Metadata
            0x00, 0x0c,  // request_api_version: 12
            0x00, 0x00, 0x00, 0x2a,  // correlation_id: 42
            0x00, 0x07, 0x72, 0x64, 0x6b, 0x61, 0x66, 0x6b, 0x61,  // client_id: "rdkafka", NULLABLE_STRING even in v2
            0x00,  // header TAG_BUFFER
            // Metadata request v12
            0x02,  // topics: COMPACT_NULLABLE_ARRAY of 1
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  // topic_id: zero UUID
            0x07, 0x6f, 0x72, 0x64, 0x65, 0x72, 0x73,  // name: COMPACT_NULLABLE_STRING "orders"
            0x00,  // topic TAG_BUFFER
            0x01,  // allow_auto_topic_creation: true
            0x00,  // include_topic_authorized_operations: false
            0x00,  // body TAG_BUFFER
        ]
        var buffer = ByteBuffer(bytes: wire)
        let size = try buffer.readKafka(Int32.self)
        #expect(Int(size) == buffer.readableBytes)
        let header = try RequestHeader(from: &buffer, version: 2)
        #expect(header == RequestHeader(requestApiKey: 3, requestApiVersion: 12, correlationId: 42, clientId: "rdkafka"))
        #expect(ApiKey(rawValue: header.requestApiKey) == .metadata)
        #expect(MetadataRequest.requestHeaderVersion(header.requestApiVersion) == 2)
        let request = try MetadataRequest(from: &buffer, version: header.requestApiVersion)
        #expect(buffer.readableBytes == 0)
        #expect(request == MetadataRequest(
            topics: [MetadataRequest.MetadataRequestTopic(topicId: .zero, name: "orders")],
            allowAutoTopicCreation: true,
            includeClusterAuthorizedOperations: false,
            includeTopicAuthorizedOperations: false))

        var out = ByteBuffer()
        out.writeInteger(Int32(0))
        header.write(to: &out, version: 2)
        request.write(to: &out, version: 12)
        out.setInteger(Int32(out.readableBytes - 4), at: out.readerIndex)
        #expect(bytes(out) == wire)
    }

    @Test func recordsAreSlicesOfTheRequestBuffer() throws {
        // Produce v9 (flexible): null transactional_id, acks -1, timeout 30000, one topic "t"
        // with partition 0 carrying 5 record bytes.
        let wire: [UInt8] = [0x00, 0xff, 0xff, 0x00, 0x00, 0x75, 0x30,
                             0x02, 0x02, 0x74, 0x02, 0x00, 0x00, 0x00, 0x00, 0x06, 1, 2, 3, 4, 5, 0x00, 0x00, 0x00]
        var buffer = ByteBuffer(bytes: wire)
        let request = try ProduceRequest(from: &buffer, version: 9)
        #expect(buffer.readableBytes == 0)
        #expect(request.acks == -1 && request.timeoutMs == 30000 && request.transactionalId == nil)
        let records = try #require(request.topicData.first?.partitionData.first?.records)
        #expect(records == ByteBuffer(bytes: [1, 2, 3, 4, 5]))
        // Zero copy: the records' bytes live inside the request buffer's storage, 16 bytes in.
        let source = ByteBuffer(bytes: wire)
        var reader = source
        let decoded = try ProduceRequest(from: &reader, version: 9)
        let slice = try #require(decoded.topicData.first?.partitionData.first?.records)
        let recordsStart = slice.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        let sourceStart = source.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        #expect(recordsStart == sourceStart + 16)
    }
}

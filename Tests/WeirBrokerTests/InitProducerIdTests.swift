import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import WeirBroker
import WeirStorage

/// InitProducerId and the idempotent Produce path, through the handlers on a real store.
@Suite struct InitProducerIdTests {
    /// A broker over a fresh store, without a network listener.
    private static func withBroker(_ body: (Broker) async throws -> Void) async throws {
        let (store, cleanup) = try GroupTest.openOffsetStore()
        defer { cleanup() }
        let io = NIOThreadPool(numberOfThreads: 1)
        io.start()
        let groups = GroupCoordinator(config: GroupTest.noDelay, offsets: store.offsets, logger: GroupTest.logger)
        let broker = try Broker(config: BrokerConfig(), store: store, groups: groups, io: io, logger: GroupTest.logger)
        do {
            try await body(broker)
        } catch {
            try? await io.shutdownGracefully()
            throw error
        }
        try await io.shutdownGracefully()
    }

    private static func context(_ version: Int16) -> RequestContext {
        RequestContext(apiVersion: version, correlationId: 1, clientId: "test", clientHost: "/127.0.0.1")
    }

    private static func initId(_ broker: Broker, version: Int16 = 4, transactionalId: String? = nil,
                               producerId: Int64 = -1, epoch: Int16 = -1) async throws -> InitProducerIdResponse {
        let request = InitProducerIdRequest(transactionalId: transactionalId, transactionTimeoutMs: 60_000,
                                            producerId: producerId, producerEpoch: epoch)
        return try #require(try await InitProducerIdHandler(producerIds: broker.store.producerIds, transactions: broker.transactions, io: broker.io, clock: broker.clock, logger: GroupTest.logger).handle(request, context: context(version)))
    }

    @Test func newProducersGetFreshIdsWithEpochZero() async throws {
        try await Self.withBroker { (broker: Broker) async throws in
            for version: Int16 in 0...4 {
                let r = try await Self.initId(broker, version: version)
                #expect(r == InitProducerIdResponse(errorCode: 0, producerId: Int64(version), producerEpoch: 0))
            }
        }
    }

    @Test func aKnownProducerIsBumpedAndAnExhaustedOrForeignOneGetsANewId() async throws {
        try await Self.withBroker { (broker: Broker) async throws in
            let first = try await Self.initId(broker)
            #expect(first.producerId == 0)
            #expect(try await Self.initId(broker, producerId: 0, epoch: 0) == InitProducerIdResponse(producerId: 0, producerEpoch: 1))
            #expect(try await Self.initId(broker, producerId: 0, epoch: 7) == InitProducerIdResponse(producerId: 0, producerEpoch: 8))
            #expect(try await Self.initId(broker, producerId: 0, epoch: Int16.max - 2)
                    == InitProducerIdResponse(producerId: 0, producerEpoch: Int16.max - 1))
            #expect(try await Self.initId(broker, producerId: 0, epoch: Int16.max - 1) == InitProducerIdResponse(producerId: 1, producerEpoch: 0))
            #expect(try await Self.initId(broker, producerId: 5_000_000, epoch: 3) == InitProducerIdResponse(producerId: 2, producerEpoch: 0))
        }
    }

    @Test func malformedRequestsFailAndTransactionalIdsGetTheirProducer() async throws {
        try await Self.withBroker { (broker: Broker) async throws in
            let invalid = InitProducerIdResponse(errorCode: ErrorCode.invalidRequest.rawValue, producerId: -1, producerEpoch: -1)
            #expect(try await Self.initId(broker, producerId: -1, epoch: 0) == invalid)
            #expect(try await Self.initId(broker, producerId: 0, epoch: -1) == invalid)
            #expect(try await Self.initId(broker, transactionalId: "") == invalid)
            // None of these consumed an id.
            #expect(try await Self.initId(broker).producerId == 0)
            // A transactional id keeps its producer id; each init bumps the epoch (fencing the last).
            #expect(try await Self.initId(broker, version: 1, transactionalId: "tx-1") == InitProducerIdResponse(producerId: 1, producerEpoch: 0))
            #expect(try await Self.initId(broker, version: 1, transactionalId: "tx-1") == InitProducerIdResponse(producerId: 1, producerEpoch: 1))
            // KIP-360: a client naming an epoch that is not the current one was fenced.
            #expect(try await Self.initId(broker, version: 3, transactionalId: "tx-1", producerId: 1, epoch: 0)
                    == InitProducerIdResponse(errorCode: ErrorCode.producerFenced.rawValue, producerId: -1, producerEpoch: -1))
        }
    }

    @Test func produceAnswersRetriesWithTheFirstOffsetsAndRefusesGapsAndStaleEpochs() async throws {
        try await Self.withBroker { (broker: Broker) async throws in
            try broker.store.createTopic(name: "t", partitions: 1, configs: [:])
            let id = try await Self.initId(broker).producerId
            let handler = ProduceHandler(store: broker.store, topics: broker.topics, waiters: AppendWaiters(), io: broker.io,
                                         clock: .fixed(1_700_000_000_000), health: StorageHealth(logger: GroupTest.logger),
                                         transactions: broker.transactions, logger: GroupTest.logger, fsyncEachAppend: false)

            func produce(_ batches: [ByteBuffer]) async throws -> ProduceResponse.PartitionProduceResponse {
                var records = ByteBuffer()
                for var b in batches { records.writeBuffer(&b) }
                let request = ProduceRequest(acks: -1, timeoutMs: 1_000, topicData: [
                    .init(name: "t", partitionData: [.init(index: 0, records: records)]),
                ])
                let response = try #require(try await handler.handle(request, context: Self.context(9)))
                return try #require(response.responses.first?.partitionResponses.first)
            }

            let first = try await produce([Self.batch(id, epoch: 0, sequence: 0, records: 3)])
            #expect(first.errorCode == 0)
            #expect(first.baseOffset == 0)
            let second = try await produce([Self.batch(id, epoch: 0, sequence: 3, records: 2)])
            #expect(second.errorCode == 0)
            #expect(second.baseOffset == 3)
            // The client retries the first batch (its response was lost): success, same offset.
            let retry = try await produce([Self.batch(id, epoch: 0, sequence: 0, records: 3)])
            #expect(retry.errorCode == 0)
            #expect(retry.baseOffset == 0)
            #expect(broker.store.partition(TopicPartition("t", 0))?.logEndOffset == 5)

            let gap = try await produce([Self.batch(id, epoch: 0, sequence: 9, records: 1)])
            #expect(gap.errorCode == ErrorCode.outOfOrderSequenceNumber.rawValue)
            #expect(gap.baseOffset == -1)
            #expect(gap.errorMessage == "producer \(id) epoch 0 sent sequence 9, expected 5")

            let bumped = try await Self.initId(broker, producerId: id, epoch: 0)
            #expect(bumped == InitProducerIdResponse(producerId: id, producerEpoch: 1))
            #expect(try await produce([Self.batch(id, epoch: 1, sequence: 0, records: 1)]).baseOffset == 5)
            let zombie = try await produce([Self.batch(id, epoch: 0, sequence: 5, records: 1)])
            #expect(zombie.errorCode == ErrorCode.invalidProducerEpoch.rawValue)

            // Produce v3+ carries exactly one batch per partition.
            let two = try await produce([Self.batch(id, epoch: 1, sequence: 1, records: 1),
                                         Self.batch(id, epoch: 1, sequence: 2, records: 1)])
            #expect(two.errorCode == ErrorCode.invalidRecord.rawValue)
            #expect(broker.store.partition(TopicPartition("t", 0))?.logEndOffset == 6)
        }
    }

    /// A valid v2 batch of an idempotent producer (records section: arbitrary bytes).
    private static func batch(_ producerId: Int64, epoch: Int16, sequence: Int32, records: Int32) -> ByteBuffer {
        let body: [UInt8] = Array(repeating: 7, count: 10)
        let header = RecordBatchHeader(baseOffset: 0, batchLength: Int32(49 + body.count), partitionLeaderEpoch: -1,
                                       magic: 2, crc: 0, attributes: 0, lastOffsetDelta: records - 1,
                                       baseTimestamp: 1_000, maxTimestamp: 1_000, producerId: producerId,
                                       producerEpoch: epoch, baseSequence: sequence, recordsCount: records)
        var buffer = ByteBuffer()
        header.write(to: &buffer)
        buffer.writeBytes(body)
        RecordBatchHeader.updateCRC(in: &buffer, batchAt: 0, totalSize: buffer.readableBytes)
        return buffer
    }
}

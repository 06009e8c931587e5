import Foundation
import KafkaProtocol
import Logging
import NIOCore
import NIOPosix
import Testing
@testable import WeirBroker
@testable import WeirStorage

/// A RocksDB write stall never holds an event loop: the Produce handler's inline appends use
/// `noSlowdown`, and what RocksDB refuses moves to the I/O pool. The stall is real: background
/// work paused and 64 KiB memtables, so two full memtables wait for a flush and RocksDB stops writes.
@Suite struct ProduceStallTests {
    private static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    private static func withStalledStore(_ body: (LogStore, PartitionLog, Int64) async throws -> Void) async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("weir-stall-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var options = StorageOptions()
        options.blockCacheBytes = 8 << 20
        options.totalWriteBufferBytes = 32 << 20
        options.partitionWriteBufferBytes = 64 << 10
        let store = try LogStore.open(directory: path, options: options, logger: logger)
        defer { store.close() }
        try store.createTopic(name: "t", partitions: 1, configs: [:])
        let log = try #require(store.partition(TopicPartition("t", 0)))
        try store.db.pauseBackgroundWork()
        // Fill memtables until RocksDB refuses: the stall that the tests then meet.
        let big = try batch(String(repeating: "x", count: 16 << 10))
        var filled = 0
        while filled < 100 {
            do {
                _ = try log.append([big], leaderEpoch: 0, logAppendTime: nil, sync: false, noSlowdown: true)
                filled += 1
            } catch StorageError.writeStalled {
                break
            }
        }
        #expect(filled > 0 && filled < 100, "appends before the stall: \(filled)")
        try await body(store, log, Int64(filled))
    }

    private static func records(_ value: String) throws -> ByteBuffer {
        var builder = RecordBatchBuilder(codec: .none, baseTimestamp: 1_700_000_000_000)
        builder.append(key: nil, value: ByteBuffer(string: value))
        return try builder.build()
    }

    private static func batch(_ value: String) throws -> ProducedBatch {
        try ProducedBatch.validate(try records(value), maxBatchBytes: 1 << 20).get()[0]
    }

    @Test func aStalledInlineAppendWritesNothingAndTheLogStaysAsItWas() async throws {
        try await Self.withStalledStore { store, log, end in
            #expect(throws: StorageError.writeStalled) {
                try log.append([try Self.batch("x")], leaderEpoch: 0, logAppendTime: nil, sync: false, noSlowdown: true)
            }
            #expect(log.logEndOffset == end)
            // Once flushes run again, the same append goes through where waiting is allowed.
            try store.db.continueBackgroundWork()
            let result = try log.append([try Self.batch("x")], leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(result.baseOffset == end)
        }
    }

    @Test func theProduceHandlerFinishesAStalledRequestOnTheIOPool() async throws {
        try await Self.withStalledStore { store, _, end in
            let pool = NIOThreadPool(numberOfThreads: 1)
            pool.start()
            let handler = ProduceHandler(
                store: store, topics: TopicManager(store: store, config: BrokerConfig(), logger: Self.logger),
                waiters: AppendWaiters(), io: IOPool(pool), clock: .fixed(1_700_000_000_000),
                health: StorageHealth(logger: Self.logger),
                transactions: try TransactionCoordinator(store: store, config: TransactionConfig(), logger: Self.logger),
                logger: Self.logger, fsyncEachAppend: false)
            let request = ProduceRequest(acks: -1, timeoutMs: 1_000, topicData: [
                .init(name: "t", partitionData: [.init(index: 0, records: try Self.records("during stall"))]),
            ])
            let context = RequestContext(apiVersion: 9, correlationId: 1, clientId: "t", clientHost: "/127.0.0.1")
            guard case .continueLater(let work) = handler.handleImmediately(request, context: context) else {
                Issue.record("a stalled produce was answered on the event loop")
                return
            }
            try store.db.continueBackgroundWork()
            let response = try #require(try await work())
            let p = try #require(response.responses.first?.partitionResponses.first)
            #expect(p.errorCode == 0)
            #expect(p.baseOffset == end)
            try await pool.shutdownGracefully()
        }
    }
}

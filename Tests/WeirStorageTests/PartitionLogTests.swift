import Foundation
import KafkaProtocol
import NIOCore
import Synchronization
import Testing
@testable import WeirStorage

@Suite struct PartitionLogTests {
    @Test func appendThenReadReturnsTheStampedBatchesExactly() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let one = batchBytes(records: 3, body: .pattern(100, seed: 1))
            let two = batchBytes(records: 1, body: .pattern(7, seed: 2))
            let result = try log.append([try produced(one), try produced(two)], leaderEpoch: 5, logAppendTime: nil, sync: true)
            #expect(result == AppendResult(baseOffset: 0, lastOffset: 3, logAppendTime: -1, logStartOffset: 0))
            #expect(log.offsets == LogOffsets(logStartOffset: 0, logEndOffset: 4, highWatermark: 4))

            var buffer = ByteBuffer()
            let n = try log.read(from: 0, maxBytes: 1 << 20, into: &buffer)
            let expected = stamped(one, baseOffset: 0, leaderEpoch: 5) + stamped(two, baseOffset: 3, leaderEpoch: 5)
            #expect(n == 161 + 68)
            #expect(Array(buffer.readableBytesView) == expected)
            // Stamping offsets and epoch leaves the producer's CRC valid.
            let header = try RecordBatchHeader(from: buffer, at: 0)
            #expect(RecordBatchHeader.computeCRC(of: buffer, batchAt: 0, totalSize: header.totalSize) == header.crc)
        }
    }

    @Test func offsetsAreDenseAcrossCalls() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            var bases: [Int64] = []
            for i in 0..<5 {
                let r = try log.append([try producedBatch(records: Int32(i + 1), body: .pattern(10, seed: UInt8(i)))],
                                       leaderEpoch: 0, logAppendTime: nil, sync: false)
                #expect(r.lastOffset == r.baseOffset + Int64(i))
                bases.append(r.baseOffset)
            }
            #expect(bases == [0, 1, 3, 6, 10])
            #expect(log.logEndOffset == 15)
            // Read back: each stored header carries the assigned base offset.
            var buffer = ByteBuffer()
            _ = try log.read(from: 0, maxBytes: 1 << 20, into: &buffer)
            var seen: [Int64] = []
            while buffer.readableBytes > 0 {
                let header = try RecordBatchHeader(from: buffer, at: buffer.readerIndex)
                seen.append(header.baseOffset)
                buffer.moveReaderIndex(forwardBy: header.totalSize)
            }
            #expect(seen == bases)
        }
    }

    @Test func concurrentAppendsGetUniqueDenseOffsets() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let batch = try producedBatch(records: 2, body: .pattern(20, seed: 3))
            let results = Mutex<[Int64]>([])
            DispatchQueue.concurrentPerform(iterations: 200) { _ in
                let r = try? log.append([batch], leaderEpoch: 0, logAppendTime: nil, sync: false)
                results.withLock { $0.append(r?.baseOffset ?? -1) }
            }
            let bases = results.withLock { $0 }
            #expect(bases.sorted() == (0..<200).map { Int64($0) * 2 })
            #expect(log.logEndOffset == 400)
        }
    }

    @Test func readFromInsideABatchStartsAtThatBatch() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let a = batchBytes(records: 5, body: .pattern(30, seed: 1))
            let b = batchBytes(records: 5, body: .pattern(40, seed: 2))
            _ = try log.append([try produced(a), try produced(b)], leaderEpoch: 1, logAppendTime: nil, sync: false)
            #expect(try readAll(log, from: 3) == stamped(a, baseOffset: 0, leaderEpoch: 1) + stamped(b, baseOffset: 5, leaderEpoch: 1))
            #expect(try readAll(log, from: 4) == stamped(a, baseOffset: 0, leaderEpoch: 1) + stamped(b, baseOffset: 5, leaderEpoch: 1))
            #expect(try readAll(log, from: 5) == stamped(b, baseOffset: 5, leaderEpoch: 1))
            #expect(try readAll(log, from: 9) == stamped(b, baseOffset: 5, leaderEpoch: 1))
            #expect(try readAll(log, from: 10) == [])
        }
    }

    @Test func maxBytesIsHonouredWithAtLeastOneBatch() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let batches = (0..<3).map { batchBytes(records: 1, body: .pattern(39, seed: UInt8($0))) }  // 100 bytes each
            _ = try log.append(try batches.map(produced), leaderEpoch: 0, logAppendTime: nil, sync: false)
            var buffer = ByteBuffer()
            #expect(try log.read(from: 0, maxBytes: 250, into: &buffer) == 200)
            #expect(Array(buffer.readableBytesView) == stamped(batches[0], baseOffset: 0, leaderEpoch: 0)
                + stamped(batches[1], baseOffset: 1, leaderEpoch: 0))
            buffer.clear()
            #expect(try log.read(from: 0, maxBytes: 300, into: &buffer) == 300)
            buffer.clear()
            // The first batch alone exceeds maxBytes: served anyway, and only it.
            #expect(try log.read(from: 1, maxBytes: 10, into: &buffer) == 100)
            #expect(Array(buffer.readableBytesView) == stamped(batches[1], baseOffset: 1, leaderEpoch: 0))
            buffer.clear()
            #expect(try log.read(from: 1, maxBytes: 10, minOneBatch: false, into: &buffer) == 0)
            #expect(buffer.readableBytes == 0)
            // Appends to a buffer that already holds bytes.
            buffer.writeBytes([0xAA])
            #expect(try log.read(from: 2, maxBytes: 100, into: &buffer) == 100)
            #expect(Array(buffer.readableBytesView) == [0xAA] + stamped(batches[2], baseOffset: 2, leaderEpoch: 0))
        }
    }

    @Test func offsetsOutsideTheLogThrow() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            var buffer = ByteBuffer()
            #expect(try log.read(from: 0, maxBytes: 100, into: &buffer) == 0)   // empty log, offset == end
            #expect(throws: StorageError.offsetOutOfRange(requested: 1, logStartOffset: 0, logEndOffset: 0)) {
                try log.read(from: 1, maxBytes: 100, into: &buffer)
            }
            _ = try log.append([try producedBatch(records: 4, body: [1])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(throws: StorageError.offsetOutOfRange(requested: 5, logStartOffset: 0, logEndOffset: 4)) {
                try log.read(from: 5, maxBytes: 100, into: &buffer)
            }
            #expect(throws: StorageError.offsetOutOfRange(requested: -1, logStartOffset: 0, logEndOffset: 4)) {
                try log.read(from: -1, maxBytes: 100, into: &buffer)
            }
            #expect(try log.read(from: 4, maxBytes: 100, into: &buffer) == 0)
        }
    }

    @Test func deleteRecordsAdvancesTheStartAndSurvivesRestart() throws {
        try withTempDirectory { dir in
            let a = batchBytes(records: 5, body: .pattern(10, seed: 1))   // 0...4
            let b = batchBytes(records: 5, body: .pattern(10, seed: 2))   // 5...9
            let c = batchBytes(records: 5, body: .pattern(10, seed: 3))   // 10...14
            do {
                let store = try openStore(dir)
                defer { store.close() }
                try store.createTopic(name: "t", partitions: 1, configs: [:])
                let log = try #require(store.partition(TopicPartition("t", 0)))
                _ = try log.append([try produced(a), try produced(b), try produced(c)], leaderEpoch: 0,
                                   logAppendTime: nil, sync: false)
                #expect(try log.deleteRecords(before: 7) == 7)
                #expect(try log.deleteRecords(before: 3) == 7)   // never moves back
                #expect(throws: StorageError.offsetOutOfRange(requested: 16, logStartOffset: 7, logEndOffset: 15)) {
                    try log.deleteRecords(before: 16)
                }
                #expect(log.offsets == LogOffsets(logStartOffset: 7, logEndOffset: 15, highWatermark: 15))
                var buffer = ByteBuffer()
                #expect(throws: StorageError.offsetOutOfRange(requested: 6, logStartOffset: 7, logEndOffset: 15)) {
                    try log.read(from: 6, maxBytes: 1000, into: &buffer)
                }
                // The batch holding offset 7 is kept whole.
                #expect(try readAll(log, from: 7) == stamped(b, baseOffset: 5, leaderEpoch: 0) + stamped(c, baseOffset: 10, leaderEpoch: 0))
                // Batch a is gone from RocksDB itself.
                #expect(try store.db.get(log.cf, key: OffsetKey(0)) == nil)
                #expect(try store.db.get(log.cf, key: OffsetKey(5)) != nil)
            }
            do {
                let store = try openStore(dir)
                defer { store.close() }
                let log = try #require(store.partition(TopicPartition("t", 0)))
                #expect(log.offsets == LogOffsets(logStartOffset: 7, logEndOffset: 15, highWatermark: 15))
                // Deleting everything leaves an empty log that still ends at 15, across restarts.
                #expect(try log.deleteRecords(before: 15) == 15)
                #expect(try readAll(log, from: 15) == [])
            }
            let store = try openStore(dir)
            defer { store.close() }
            let log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(log.offsets == LogOffsets(logStartOffset: 15, logEndOffset: 15, highWatermark: 15))
            let r = try log.append([try produced(a)], leaderEpoch: 0, logAppendTime: nil, sync: false)
            #expect(r == AppendResult(baseOffset: 15, lastOffset: 19, logAppendTime: -1, logStartOffset: 15))
        }
    }

    @Test func timestampLookupsUseBatchHeaders() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            #expect(try log.offset(forTimestamp: 0) == nil)
            #expect(try log.maxTimestampOffset() == nil)
            let batches = try [(2, 100), (3, 300), (2, 200), (1, 300)].map {
                try producedBatch(records: Int32($0.0), body: [1, 2], maxTimestamp: Int64($0.1))
            }
            _ = try log.append(batches, leaderEpoch: 0, logAppendTime: nil, sync: false)   // bases 0, 2, 5, 7
            #expect(try log.offset(forTimestamp: 50)! == (0, 100))
            #expect(try log.offset(forTimestamp: 100)! == (0, 100))
            #expect(try log.offset(forTimestamp: 101)! == (2, 300))
            #expect(try log.offset(forTimestamp: 301) == nil)
            #expect(try log.maxTimestampOffset()! == (4, 300))   // first batch with ts 300 ends at 4
            try log.deleteRecords(before: 3)
            #expect(try log.offset(forTimestamp: 0)! == (3, 300))   // clamped to the log start
        }
    }

    @Test func logAppendTimeIsStampedWithAValidCRC() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            var builder = RecordBatchBuilder(baseTimestamp: 500)
            builder.append(key: nil, value: ByteBuffer(string: "hello"))
            builder.append(key: ByteBuffer(string: "k"), value: ByteBuffer(string: "world"), timestamp: 510)
            let original = try builder.build()
            let r = try log.append([try produced(original)], leaderEpoch: 2, logAppendTime: 9_999, sync: true)
            #expect(r == AppendResult(baseOffset: 0, lastOffset: 1, logAppendTime: 9_999, logStartOffset: 0))
            var buffer = ByteBuffer()
            _ = try log.read(from: 0, maxBytes: 1 << 20, into: &buffer)
            let header = try RecordBatchHeader(from: buffer, at: 0)
            #expect(header.isLogAppendTime)
            #expect(header.maxTimestamp == 9_999)
            #expect(header.partitionLeaderEpoch == 2)
            #expect(RecordBatchHeader.computeCRC(of: buffer, batchAt: 0, totalSize: header.totalSize) == header.crc)
            #expect(Array(buffer.readableBytesView.dropFirst(61)) == Array(original.readableBytesView.dropFirst(61)))
            #expect(try log.maxTimestampOffset()! == (1, 9_999))
        }
    }

    @Test func sizeEstimateCountsMemtablesAndFiles() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            let empty = try log.approximateSizeBytes()
            _ = try log.append([try producedBatch(records: 1, body: .pattern(50_000, seed: 1))], leaderEpoch: 0,
                               logAppendTime: nil, sync: false)
            #expect(try log.approximateSizeBytes() > empty + 40_000)
        }
    }

    @Test func damagedStoredBatchesThrowInsteadOfTrapping() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            try store.createTopic(name: "t", partitions: 1, configs: [:])
            let log = try #require(store.partition(TopicPartition("t", 0)))
            _ = try log.append([try producedBatch(records: 2, body: [1])], leaderEpoch: 0, logAppendTime: nil, sync: false)
            // A value too short for a header under offset 0.
            try store.db.put(log.cf, key: OffsetKey(0), value: [UInt8](repeating: 0, count: 10))
            var buffer = ByteBuffer()
            #expect(throws: StorageError.corrupt("batch at offset 0 has 10 bytes")) {
                try log.read(from: 0, maxBytes: 100, into: &buffer)
            }
            // A key that is not 8 bytes.
            try store.db.delete(log.cf, key: OffsetKey(0))
            try store.db.put(log.cf, key: [0], value: [UInt8](repeating: 0, count: 61))
            #expect(throws: StorageError.corrupt("log key of 1 bytes")) { try log.maxTimestampOffset() }
            try store.db.delete(log.cf, key: [0])
            // A header whose baseOffset disagrees with its key.
            var header = batchBytes(records: 1, body: [])
            header.setInteger(Int64(9), at: 0, endianness: .big)
            try store.db.put(log.cf, key: OffsetKey(0), value: Array(header.readableBytesView))
            #expect(throws: StorageError.corrupt("batch under key 0 has baseOffset 9, lastOffsetDelta 0")) {
                try log.read(from: 0, maxBytes: 100, into: &buffer)
            }
        }
    }
}

import Foundation
import KafkaProtocol
import Testing
@testable import WeirStorage

@Suite struct OffsetStoreTests {
    @Test func commitFetchAndPrefixIsolation() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            let offsets = store.offsets
            let a0 = CommittedOffset(offset: 10, leaderEpoch: 1, metadata: nil, commitTimestampMs: 100)
            let a1 = CommittedOffset(offset: 11, leaderEpoch: -1, metadata: "", commitTimestampMs: 101)
            let ab = CommittedOffset(offset: 20, leaderEpoch: 2, metadata: "héllo", commitTimestampMs: 200)
            try offsets.commit(group: "a", offsets: [TopicPartition("t", 0): a0, TopicPartition("t", 1): a1])
            try offsets.commit(group: "ab", offsets: [TopicPartition("t", 0): ab])
            try offsets.commit(group: "", offsets: [TopicPartition("t", 0): a0])
            #expect(try offsets.fetch(group: "a", partitions: nil) == [TopicPartition("t", 0): a0, TopicPartition("t", 1): a1])
            #expect(try offsets.fetch(group: "ab", partitions: nil) == [TopicPartition("t", 0): ab])
            #expect(try offsets.fetch(group: "b", partitions: nil) == [:])
            #expect(try offsets.fetch(group: "a", partitions: [TopicPartition("t", 1), TopicPartition("t", 2)])
                == [TopicPartition("t", 1): a1])
            #expect(try offsets.groups() == ["", "a", "ab"])

            // A later commit overwrites.
            let newer = CommittedOffset(offset: 12, commitTimestampMs: 102)
            try offsets.commit(group: "a", offsets: [TopicPartition("t", 1): newer])
            #expect(try offsets.fetch(group: "a", partitions: [TopicPartition("t", 1)]) == [TopicPartition("t", 1): newer])

            try offsets.deleteOffsets(group: "a", partitions: [TopicPartition("t", 0)])
            #expect(try offsets.fetch(group: "a", partitions: nil) == [TopicPartition("t", 1): newer])
            try offsets.deleteGroup("a")
            #expect(try offsets.fetch(group: "a", partitions: nil) == [:])
            #expect(try offsets.fetch(group: "ab", partitions: nil) == [TopicPartition("t", 0): ab])
            #expect(try offsets.groups() == ["", "ab"])
        }
    }

    @Test func deleteTopicRemovesOnlyThatTopic() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            let c = CommittedOffset(offset: 1, commitTimestampMs: 1)
            // "t" and "t2" share a prefix; the partition suffix keeps them apart.
            try store.offsets.commit(group: "g", offsets: [TopicPartition("t", 0): c, TopicPartition("t2", 0): c])
            try store.offsets.commit(group: "h", offsets: [TopicPartition("t", 3): c])
            try store.offsets.deleteTopic("t")
            #expect(try store.offsets.fetch(group: "g", partitions: nil) == [TopicPartition("t2", 0): c])
            #expect(try store.offsets.fetch(group: "h", partitions: nil) == [:])
        }
    }

    @Test func valueEncodingIsExact() throws {
        let value = OffsetStore.encode(CommittedOffset(offset: 0x0102, leaderEpoch: 3, metadata: "ab", commitTimestampMs: 4))
        #expect(value == [0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 2, 0x61, 0x62])
        #expect(OffsetStore.key(prefix: try OffsetStore.groupPrefix("g"), TopicPartition("t", 1)) == [0, 1, 0x67, 0x74, 0, 0, 0, 1])
        #expect(throws: StorageError.corrupt("committed offset value of 3 bytes")) {
            try [UInt8]([0, 1, 2]).withUnsafeBytes { try OffsetStore.decode($0) }
        }
    }
}

@Suite struct TopicCatalogTests {
    @Test func catalogFormatIsTheDocumentedOne() throws {
        try withTempDirectory { dir in
            let store = try openStore(dir)
            defer { store.close() }
            let id = KafkaUUID(high: 0, low: 1)
            let record = TopicRecord(name: "t", id: id, partitionCount: 3, configs: ["retention.ms": "1000"],
                                     createdAtMs: 1_700_000_000_000)
            let batch = WriteBatch()
            try store.catalog.put(record, in: batch)
            try store.catalog.setLogStartOffset(0x0102, topicId: id, partition: 2, in: batch)
            try store.db.write(batch, sync: false)
            let json = try #require(try store.db.get(store.catalog.cf, key: Array("topic/t".utf8)))
            #expect(String(decoding: json, as: UTF8.self)
                == #"{"configs":{"retention.ms":"1000"},"createdAtMs":1700000000000,"id":"AAAAAAAAAAAAAAAAAAAAAQ","name":"t","partitionCount":3}"#)
            #expect(try store.db.get(store.catalog.cf, key: Array("lso/AAAAAAAAAAAAAAAAAAAAAQ/2".utf8)) == [0, 0, 0, 0, 0, 0, 1, 2])
            #expect(try store.catalog.topic(named: "t") == record)
            #expect(try store.catalog.logStartOffset(topicId: id, partition: 2) == 0x0102)
            #expect(try store.catalog.logStartOffset(topicId: id, partition: 1) == nil)
        }
    }

    @Test func topicIdsRoundTripThroughBase64() {
        for _ in 0..<100 {
            let id = KafkaUUID.random()
            #expect(TopicRecord.uuid(base64: id.base64) == id)
        }
        #expect(TopicRecord.uuid(base64: "short") == nil)
        #expect(TopicRecord.uuid(base64: "!!!!!!!!!!!!!!!!!!!!!!") == nil)
    }
}

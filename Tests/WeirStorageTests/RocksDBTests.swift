import Foundation
import NIOCore
import Testing
@testable import WeirStorage

@Suite struct RocksDBTests {
    private func open(_ path: String, families: [String] = ["a", "b"]) throws -> RocksDB {
        let cache = BlockCache(capacityBytes: 1 << 20)
        let options = RocksDBOptions.database(testOptions(), cache: cache)
        return try RocksDB.open(path: path, options: options, columnFamilies: families.map { ($0, options) })
    }

    @Test func putGetDeleteAcrossColumnFamilies() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            defer { db.close() }
            let a = try #require(db.columnFamily(named: "a"))
            let b = try #require(db.columnFamily(named: "b"))
            try db.put(a, key: [1, 2], value: [9, 8, 7])
            #expect(try db.get(a, key: [1, 2]) == [9, 8, 7])
            #expect(try db.get(b, key: [1, 2]) == nil)
            try db.put(a, key: [3], value: [UInt8]())
            #expect(try db.get(a, key: [3]) == [])
            try db.delete(a, key: [1, 2])
            #expect(try db.get(a, key: [1, 2]) == nil)
            #expect(Set(db.columnFamilyNames) == ["default", "a", "b"])
        }
    }

    @Test func putvConcatenatesPartsAndBatchIsAtomic() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            defer { db.close() }
            let a = try #require(db.columnFamily(named: "a"))
            let b = try #require(db.columnFamily(named: "b"))
            let batch = WriteBatch()
            try batch.putv(a, key: [7], parts: [ByteBuffer(bytes: [1, 2, 3]), ByteBuffer(), ByteBuffer(bytes: [4, 5])])
            try batch.put(b, key: [7], value: [6])
            #expect(batch.count == 2)
            #expect(try db.get(a, key: [7]) == nil)
            try db.write(batch, sync: true)
            #expect(try db.get(a, key: [7]) == [1, 2, 3, 4, 5])
            #expect(try db.get(b, key: [7]) == [6])
        }
    }

    @Test func iteratorSeeksAndRangeDeletes() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            defer { db.close() }
            let a = try #require(db.columnFamily(named: "a"))
            for k in stride(from: 10, through: 50, by: 10) {
                try db.put(a, key: OffsetKey(Int64(k)), value: [UInt8(k)])
            }
            let found: [Int64] = try db.withIterator(a) { it in
                var out: [Int64] = []
                it.seekForPrev(OffsetKey(25))
                out.append(OffsetKey.decode(it.key) ?? -1)   // 20
                it.seek(OffsetKey(25))
                out.append(OffsetKey.decode(it.key) ?? -1)   // 30
                it.prev()
                out.append(OffsetKey.decode(it.key) ?? -1)   // 20
                it.seekToLast()
                out.append(OffsetKey.decode(it.key) ?? -1)   // 50
                let lastValue = it.valueBytes()
                #expect(lastValue == [50])
                it.next()
                let validAfterLast = it.isValid
                #expect(!validAfterLast)
                it.seekForPrev(OffsetKey(5))
                let validBeforeFirst = it.isValid
                #expect(!validBeforeFirst)
                try it.checkError()
                return out
            }
            #expect(found == [20, 30, 20, 50])
            try db.deleteRange(a, from: OffsetKey(0), to: OffsetKey(30))
            let bounded: [Int64] = try db.withIterator(a, upperBound: Array(OffsetKey(50))) { it in
                var keys: [Int64] = []
                it.seekToFirst()
                while it.isValid {
                    keys.append(OffsetKey.decode(it.key) ?? -1)
                    it.next()
                }
                return keys
            }
            #expect(bounded == [30, 40])
        }
    }

    @Test func droppedColumnFamilyAndClosedDatabaseThrow() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            let a = try #require(db.columnFamily(named: "a"))
            let b = try #require(db.columnFamily(named: "b"))
            try db.dropColumnFamily(a)
            #expect(throws: StorageError.columnFamilyDropped("a")) { try db.put(a, key: [1], value: [1]) }
            #expect(throws: StorageError.columnFamilyDropped("a")) { try db.dropColumnFamily(a) }
            #expect(db.columnFamily(named: "a") == nil)
            let c = try db.createColumnFamily("c", options: RocksDBOptions())
            try db.put(c, key: [1], value: [2])
            db.close()
            db.close()
            #expect(throws: StorageError.closed) { try db.get(b, key: [1]) }
            #expect(throws: StorageError.closed) { try db.flushWAL(sync: true) }
            // Reopening lists what survived: the drop and the creation.
            let listed = try RocksDB.listColumnFamilies(path: dir + "/db", options: RocksDBOptions())
            #expect(Set(listed) == ["default", "b", "c"])
            #expect(try RocksDB.listColumnFamilies(path: dir + "/none", options: RocksDBOptions()) == [])
        }
    }

    @Test func batchCreatedAndDroppedColumnFamiliesPersist() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            #expect(try db.createColumnFamilies([], options: RocksDBOptions()).isEmpty)
            try db.dropColumnFamilies([])
            let created = try db.createColumnFamilies(["x", "y", "z"], options: RocksDBOptions())
            #expect(created.map(\.name) == ["x", "y", "z"])
            #expect(Set(db.columnFamilyNames) == ["default", "a", "b", "x", "y", "z"])
            for (i, cf) in created.enumerated() {
                #expect(db.columnFamily(named: cf.name) === cf)
                try db.put(cf, key: [1], value: [UInt8(i)])
            }
            #expect(try created.map { try db.get($0, key: [1]) } == [[0], [1], [2]])
            let (x, y, z) = (created[0], created[1], created[2])
            try db.dropColumnFamilies([x, z])
            #expect(x.isInvalidated && z.isInvalidated && !y.isInvalidated)
            #expect(throws: StorageError.columnFamilyDropped("x")) { try db.get(x, key: [1]) }
            #expect(try db.get(y, key: [1]) == [1])
            #expect(Set(db.columnFamilyNames) == ["default", "a", "b", "y"])
            // A dropped family in the list: nothing is dropped.
            #expect(throws: StorageError.columnFamilyDropped("z")) { try db.dropColumnFamilies([y, z]) }
            #expect(try db.get(y, key: [1]) == [1])
            db.close()
            let listed = try RocksDB.listColumnFamilies(path: dir + "/db", options: RocksDBOptions())
            #expect(Set(listed) == ["default", "a", "b", "y"])
            let reopened = try open(dir + "/db", families: ["a", "b", "y"])
            defer { reopened.close() }
            #expect(try reopened.get(try #require(reopened.columnFamily(named: "y")), key: [1]) == [1])
        }
    }

    /// RocksDB stops a batch creation at the first failure, having created the families before
    /// it: those are dropped again, so a failed batch leaves nothing behind.
    @Test func failedBatchCreationLeavesNoColumnFamily() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            #expect(throws: StorageError.rocksDB("Invalid argument: Column family already exists")) {
                _ = try db.createColumnFamilies(["n1", "a", "n2"], options: RocksDBOptions())
            }
            #expect(Set(db.columnFamilyNames) == ["default", "a", "b"])
            let again = try db.createColumnFamilies(["n1", "n2"], options: RocksDBOptions())
            #expect(again.map(\.name) == ["n1", "n2"])
            try db.dropColumnFamilies(again)
            db.close()
            let listed = try RocksDB.listColumnFamilies(path: dir + "/db", options: RocksDBOptions())
            #expect(Set(listed) == ["default", "a", "b"])
        }
    }

    @Test func checkpointIsAnOpenableCopy() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            let a = try #require(db.columnFamily(named: "a"))
            try db.put(a, key: [1], value: [42])
            try db.checkpoint(to: dir + "/copy")
            try db.put(a, key: [1], value: [43])
            db.close()
            let copy = try open(dir + "/copy")
            defer { copy.close() }
            #expect(try copy.get(try #require(copy.columnFamily(named: "a")), key: [1]) == [42])
        }
    }

    @Test func rocksDBErrorsCarryTheMessage() throws {
        try withTempDirectory { dir in
            let db = try open(dir + "/db")
            defer { db.close() }
            #expect {
                _ = try db.createColumnFamily("a", options: RocksDBOptions())
            } throws: { error in
                guard case StorageError.rocksDB(let message) = error else { return false }
                return message.contains("exist")
            }
        }
    }
}

import NIOCore
import Testing
@testable import WeirBroker

/// Fetch's records buffers: memory comes back once a response lets go of it, never while it holds it.
@Suite struct FetchBufferPoolTests {
    private static func address(_ b: ByteBuffer) -> UInt {
        b.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
    }

    @Test func aWrittenBufferIsReused() {
        let pool = FetchBufferPool(maxBuffers: 4)
        var a = pool.take(capacity: 1 << 16)
        a.writeRepeatingByte(1, count: 1000)
        let memory = Self.address(a)
        pool.give(a)
        a = ByteBuffer()   // the response is written and dropped
        let b = pool.take(capacity: 1 << 16)
        #expect(Self.address(b) == memory)
        #expect(b.readableBytes == 0)
    }

    @Test func aBufferStillLentIsNotOverwritten() {
        let pool = FetchBufferPool(maxBuffers: 4)
        var lent = pool.take(capacity: 1 << 16)
        lent.writeRepeatingByte(1, count: 1000)
        pool.give(lent)   // `lent` is still in a response being written
        var next = pool.take(capacity: 1 << 16)
        next.writeRepeatingByte(2, count: 1000)
        #expect(Self.address(next) != Self.address(lent))
        #expect(lent.readableBytesView.allSatisfy { $0 == 1 })
    }

    @Test func theOldestIsTakenAndTheCountIsBounded() {
        let pool = FetchBufferPool(maxBuffers: 2, maxCapacity: 1 << 20)
        for _ in 0..<3 { pool.give(ByteBufferAllocator().buffer(capacity: 1024)) }
        #expect(pool.count == 2)
        pool.give(ByteBufferAllocator().buffer(capacity: 2 << 20))   // too large to keep
        #expect(pool.count == 2)
        _ = pool.take(capacity: 10)
        #expect(pool.count == 1)
    }
}

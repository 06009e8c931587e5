import NIOCore
import Synchronization

/// The record buffers of Fetch responses, reused once the socket has written them.
///
/// Each partition read copies its batches out of RocksDB into a buffer of up to 1 MiB. A fresh
/// buffer faults in every page it is written to (the kernel zeroes each one first): 4.6% of the
/// broker's CPU under the broker-alone fetch load, spent on memory glibc had just handed back to
/// the kernel, since its trim threshold follows the largest block freed. The storage limit's
/// reader, reusing one buffer, pays none of it.
///
/// The pool keeps a few buffers, first in first out. A buffer lent to a response stays in the
/// pool as well, sharing its storage; once the response is written and dropped, the pool holds
/// the only reference and a later read reuses the memory. `clear(minimumCapacity:)` is what
/// makes this safe: it keeps storage that nothing else references, and allocates anew (copying
/// nothing) while a response still holds it — so a busy pool degrades to allocating, never to
/// sharing bytes.
final class FetchBufferPool: Sendable {
    private let buffers = Mutex<[ByteBuffer]>([])
    /// Buffers kept: more than the partitions in flight on a few connections, so that the one
    /// taken (the oldest) has usually been written.
    let maxBuffers: Int
    /// Larger buffers (a batch over 1 MiB) are not kept.
    let maxCapacity: Int

    init(maxBuffers: Int = 16, maxCapacity: Int = 1 << 20) {
        self.maxBuffers = maxBuffers
        self.maxCapacity = maxCapacity
    }

    /// An empty buffer with room for `capacity` bytes.
    func take(capacity: Int) -> ByteBuffer {
        let reused: ByteBuffer? = buffers.withLock { kept in
            guard !kept.isEmpty else { return nil }
            // Cleared in place, where the pool's is the only reference unless a response holds one.
            kept[0].clear(minimumCapacity: capacity)
            return kept.removeFirst()
        }
        return reused ?? ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Keeps `buffer` (also lent to a response) for a later `take`.
    func give(_ buffer: ByteBuffer) {
        guard buffer.capacity <= maxCapacity else { return }
        buffers.withLock { if $0.count < maxBuffers { $0.append(buffer) } }
    }

    /// Buffers kept now.
    var count: Int { buffers.withLock { $0.count } }
}

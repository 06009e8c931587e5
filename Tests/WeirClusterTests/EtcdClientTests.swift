import Foundation
import NIOPosix
import Synchronization
import Testing
@testable import WeirCluster

/// The JSON-gateway client against a real etcd: reads, writes, compare-and-swap, leases and
/// their expiry, and a watch that sees each change.
@Suite(.serialized) struct EtcdClientTests {
    @Test func keyValuesTransactionsLeasesAndWatch() async throws {
        let etcd = try EtcdProcess()
        defer { etcd.stop() }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let client = EtcdClient(endpoints: [EtcdEndpoint(host: "127.0.0.1", port: try EtcdProcess.freePort()), etcd.endpoint],
                                group: group, timeout: .seconds(2))
        try await etcd.ready(client)

        try await client.put("/t/a", Data("1".utf8))
        try await client.put("/t/b", Data("2".utf8))
        try await client.put("/u", Data("x".utf8))
        let (kvs, revision) = try await client.range("/t/", prefix: true)
        #expect(kvs.map(\.key) == ["/t/a", "/t/b"])
        #expect(kvs.map { String(decoding: $0.value, as: UTF8.self) } == ["1", "2"])
        #expect(revision >= kvs.map(\.modRevision).max()!)

        // Create-if-absent wins once; compare-and-swap on the revision read.
        #expect(try await client.transaction([.absent("/c")], then: [.put("/c", Data("first".utf8), lease: 0)]))
        #expect(try await !client.transaction([.absent("/c")], then: [.put("/c", Data("second".utf8), lease: 0)]))
        let c = try await client.range("/c").kvs[0]
        #expect(try await client.transaction([.modRevision("/c", c.modRevision)], then: [.put("/c", Data("third".utf8), lease: 0)]))
        #expect(try await !client.transaction([.modRevision("/c", c.modRevision)], then: [.delete("/c")]))
        #expect(try await client.range("/c").kvs.first?.value == Data("third".utf8))

        // A watch from the revision read sees the puts and deletes after it, in order.
        let seen = Mutex<[EtcdEvent]>([])
        let from = try await client.range("/w/", prefix: true).revision
        let watch = Task {
            try await client.watch(prefix: "/w/", afterRevision: from) { events in seen.withLock { $0 += events } }
        }
        try await Task.sleep(for: .milliseconds(300))
        try await client.put("/w/1", Data("a".utf8))
        try await client.delete("/w/1")

        // A key bound to a lease vanishes when the lease expires (etcd's minimum TTL is a few s),
        // and a keep-alive of an expired lease answers 0.
        let lease = try await client.grantLease(ttlSeconds: 2)
        try await client.put("/w/leased", Data("b".utf8), lease: lease)
        #expect(try await client.keepAlive(lease: lease) > 0)
        var gone = false
        for _ in 0..<80 where !gone {
            try await Task.sleep(for: .milliseconds(100))
            gone = try await client.range("/w/leased").kvs.isEmpty
        }
        #expect(gone, "the leased key outlived its lease")
        #expect(try await client.keepAlive(lease: lease) == 0)
        watch.cancel()
        let events = seen.withLock { $0 }
        let summary = events.map { e -> String in
            switch e {
            case .put(let kv): return "put \(kv.key)=\(String(decoding: kv.value, as: UTF8.self))"
            case .delete(let key, _): return "delete \(key)"
            }
        }
        #expect(summary == ["put /w/1=a", "delete /w/1", "put /w/leased=b", "delete /w/leased"])
        try await group.shutdownGracefully()
    }
}

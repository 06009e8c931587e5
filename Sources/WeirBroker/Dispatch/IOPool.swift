import NIOPosix

/// Where blocking work runs — RocksDB reads, fsynced writes, scans, topic administration —
/// so that no event loop ever waits on the disk. Handlers get this, not the thread pool itself.
public struct IOPool: Sendable {
    private let pool: NIOThreadPool

    public init(_ pool: NIOThreadPool) {
        self.pool = pool
    }

    /// Runs `body` on a pool thread and returns its result to the caller's task.
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }
}

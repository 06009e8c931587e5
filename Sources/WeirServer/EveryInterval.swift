import ServiceLifecycle

/// The loop of the broker's timer services (WAL flusher, expiries, retention, transaction
/// housekeeping, certificate reload, the console's sampler): sleep `intervalMs`, run `body`,
/// until graceful shutdown — which cancels the sleep, so SIGTERM is not held up an interval.
func everyInterval(milliseconds intervalMs: Int64, _ body: @escaping @Sendable () async -> Void) async {
    try? await cancelWhenGracefulShutdown {
        while !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(intervalMs))
            await body()
        }
    }
}

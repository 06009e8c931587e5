import NIOConcurrencyHelpers

/// Thrown by `withDeadline` when the time runs out first.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public var what: String
    public var seconds: Double
    public var description: String { "\(what) timed out after \(seconds) s" }
}

/// Runs `body`, giving up after `seconds`: the tools must never hang on a broker that stops
/// answering. A structured task group cannot do this, because awaiting a NIO future ignores
/// cancellation and the group would wait for it anyway; so the body and a timer race as
/// unstructured tasks and the first to finish resumes the caller. The losing request is left
/// to complete or fail on its own.
public func withDeadline<T: Sendable>(_ seconds: Double, _ what: @autoclosure () -> String,
                                      _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let label = what()
    let state = NIOLockedValueBox<(done: Bool, timer: Task<Void, Never>?)>((false, nil))
    return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
        @Sendable func finish(_ result: Result<T, any Error>) {
            let first = state.withLockedValue { s -> Bool in
                if s.done { return false }
                s.done = true
                s.timer?.cancel()
                return true
            }
            if first { continuation.resume(with: result) }
        }
        let timer = Task {
            try? await Task.sleep(nanoseconds: UInt64(max(seconds, 0) * 1_000_000_000))
            if !Task.isCancelled { finish(.failure(DeadlineExceeded(what: label, seconds: seconds))) }
        }
        let alreadyDone = state.withLockedValue { s -> Bool in
            s.timer = timer
            return s.done
        }
        if alreadyDone { timer.cancel() }
        Task {
            do { finish(.success(try await body())) } catch { finish(.failure(error)) }
        }
    }
}

import Logging
import Synchronization

/// Whether storage writes are failing (a full disk, an I/O error), as episodes: the first
/// failure starts one, the next success ends it. Handlers log once per episode instead of once
/// per request; `/health` and the metrics show the state.
public final class StorageHealth: Sendable {
    public struct Episode: Sendable, Equatable {
        public var error: String
        public var failures: Int
    }

    private let state = Mutex<Episode?>(nil)
    private let logger: Logger

    public init(logger: Logger) {
        self.logger = logger
    }

    /// The failing episode, or nil while writes succeed.
    public var failing: Episode? { state.withLock { $0 } }

    /// A write failed. True when this starts an episode (the caller logs it).
    public func failed(_ error: String) -> Bool {
        state.withLock { s in
            if s == nil {
                s = Episode(error: error, failures: 1)
                return true
            }
            s?.failures += 1
            return false
        }
    }

    /// A write succeeded; ends an episode, logging how many writes it refused.
    public func succeeded() {
        // The common case reads one value under an uncontended lock.
        guard let ended = state.withLock({ s -> Episode? in
            defer { s = nil }
            return s
        }) else { return }
        logger.warning("storage recovered", metadata: ["failed writes": "\(ended.failures)", "error was": "\(ended.error)"])
    }
}

import Foundation
import Logging
import Synchronization

/// Whether storage writes are failing (a full disk, an I/O error), as episodes: the first
/// failure starts one, the next success ends it. Handlers log once per episode instead of once
/// per request; `/health` and the metrics show the state.
///
/// A full disk: while an episode's error is "No space left" and the data directory has less
/// free space than `minFreeBytes` (1.5 × the memtable budget: a flush and the WAL meanwhile),
/// appends are refused without reaching RocksDB (`refusing`). RocksDB resumes by itself after
/// a failed flush; a write it then lets through to a WAL that meets ENOSPC leaves that WAL
/// writer in an error state on which Debian's librocksdb (built with assertions) aborts at the
/// next append. Not writing until space is back avoids that, and an episode that flaps.
public final class StorageHealth: Sendable {
    public struct Episode: Sendable, Equatable {
        public var error: String
        public var failures: Int
    }

    private let state = Mutex<Episode?>(nil)
    private let logger: Logger
    private let dataDirectory: String?
    private let minFreeBytes: Int64

    public init(logger: Logger, dataDirectory: String? = nil, minFreeBytes: Int64 = 64 << 20) {
        self.logger = logger
        self.dataDirectory = dataDirectory
        self.minFreeBytes = minFreeBytes
    }

    /// The episode to answer an append with instead of writing it: a full disk that has not
    /// got `minFreeBytes` back (free space read at most every 100 ms). Counts the refusal;
    /// `started` is always false (the episode began with a failed write). nil: write.
    public func refusing() -> (episode: Episode, started: Bool)? {
        guard let episode = state.withLock({ $0 }), episode.error.contains("No space left"),
              let directory = dataDirectory, let free = cachedFreeBytes(directory), free < minFreeBytes else { return nil }
        _ = failed(episode.error)
        return (episode, false)
    }

    private let freeCache = Mutex<(at: ContinuousClock.Instant, free: Int64)?>(nil)

    private func cachedFreeBytes(_ directory: String) -> Int64? {
        let now = ContinuousClock.now
        if let cached = freeCache.withLock({ $0 }), cached.at.duration(to: now) < .milliseconds(100) { return cached.free }
        guard let free = Self.freeBytes(of: directory) else { return nil }
        freeCache.withLock { $0 = (now, free) }
        return free
    }

    static func freeBytes(of path: String) -> Int64? {
        var s = statvfs()
        guard statvfs(path, &s) == 0 else { return nil }
        return Int64(s.f_bavail) * Int64(s.f_frsize)
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

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall-clock milliseconds since the epoch: record timestamps, commit times, retention.
/// Injected so that tests can fix "now"; the production clock reads CLOCK_REALTIME.
public struct WallClock: Sendable {
    private let read: @Sendable () -> Int64

    public init(_ read: @escaping @Sendable () -> Int64) {
        self.read = read
    }

    public func nowMs() -> Int64 { read() }

    public static let system = WallClock {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// A clock stuck at `ms` (tests).
    public static func fixed(_ ms: Int64) -> WallClock { WallClock { ms } }
}

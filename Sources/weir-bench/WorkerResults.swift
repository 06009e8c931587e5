import Synchronization

/// The first error of any worker thread.
final class FailureBox: Sendable {
    private let first = Mutex<(any Error)?>(nil)

    func record(_ error: any Error) {
        first.withLock { if $0 == nil { $0 = error } }
    }

    func check() throws {
        if let error = first.withLock({ $0 }) { throw error }
    }
}

/// One worker's totals.
final class CountBox: Sendable {
    private let totals = Mutex<(records: Int, bytes: Int)>((0, 0))

    var records: Int { totals.withLock { $0.records } }
    var bytes: Int { totals.withLock { $0.bytes } }

    func set(records: Int, bytes: Int) {
        totals.withLock { $0 = (records, bytes) }
    }
}

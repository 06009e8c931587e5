import Foundation

/// The first error of any worker thread.
final class FailureBox: @unchecked Sendable {
    private let lock = NSLock()
    private var first: (any Error)?

    func record(_ error: any Error) {
        lock.withLock { if first == nil { first = error } }
    }

    func check() throws {
        if let error = lock.withLock({ first }) { throw error }
    }
}

/// One worker's totals.
final class CountBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var records = 0
    private(set) var bytes = 0

    func set(records: Int, bytes: Int) {
        lock.withLock {
            self.records = records
            self.bytes = bytes
        }
    }
}

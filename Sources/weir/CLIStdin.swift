import Foundation

/// Lines of stdin as raw bytes, read with read(2) in large chunks: the bytes of a line are
/// kept exactly (no decoding, so invalid UTF-8 survives), and a pipe is read until EOF
/// however slowly the writer fills it. A line ends at "\n"; a "\r" right before it is dropped,
/// as Java's `readLine` does; a last line without a terminator still counts.
struct StdinLines {
    private var buffer: [UInt8] = []
    private var start = 0
    /// Where to resume looking for "\n" (everything before it was searched already).
    private var scanFrom = 0
    private var eof = false
    private let fd: Int32 = 0

    /// True when `nextLine()` can answer without reading.
    var hasBufferedLine: Bool {
        eof || buffer[scanFrom...].contains(UInt8(ascii: "\n"))
    }

    /// Waits up to `timeoutMs` for input; true if a read would not block (data or EOF).
    func waitReadable(timeoutMs: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while true {
            let n = poll(&pfd, 1, timeoutMs)
            if n < 0 && errno == EINTR { continue }
            return n != 0
        }
    }

    /// The next line without its terminator, or nil at EOF.
    mutating func nextLine() throws -> ArraySlice<UInt8>? {
        while true {
            if let nl = buffer[scanFrom...].firstIndex(of: UInt8(ascii: "\n")) {
                var end = nl
                if end > start && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
                let line = buffer[start ..< end]
                start = nl + 1
                scanFrom = start
                return line
            }
            scanFrom = buffer.count
            if eof {
                guard start < buffer.count else { return nil }
                let line = buffer[start...]
                start = buffer.count
                return line
            }
            try fill()
        }
    }

    private mutating func fill() throws {
        // Drop consumed bytes before growing; the returned slices copy on write if still held.
        if start > 0 && start * 2 >= buffer.count {
            buffer.removeFirst(start)
            scanFrom -= start
            start = 0
        }
        let chunk = 64 * 1024
        let old = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: chunk))
        var n: Int
        repeat {
            n = buffer.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + old, chunk) }
        } while n < 0 && errno == EINTR
        guard n >= 0 else {
            buffer.removeLast(chunk)
            throw CLIError("cannot read stdin: \(String(cString: strerror(errno)))")
        }
        buffer.removeLast(chunk - n)
        if n == 0 { eof = true }
    }
}

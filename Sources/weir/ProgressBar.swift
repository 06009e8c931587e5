import Foundation

/// A progress bar on stderr for the database tools — only when stderr is a terminal and only
/// once a run has taken more than a moment (0.5 s), so that quick runs, pipes and scripts see
/// nothing. Redrawn at most ten times a second; `finish()` erases it.
///
/// `WEIR_PROGRESS_DELAY_MS` replaces the 0.5 s (tests set 0 to see it on a pseudo-terminal).
///
/// Not Sendable: a tool drives it from the one thread that does the work.
final class ProgressBar {
    private let label: String
    private let enabled: Bool
    private let delay: Duration
    private let clock = ContinuousClock()
    private let started: ContinuousClock.Instant
    private var lastDraw: ContinuousClock.Instant?
    private var drawn = false

    init(_ label: String) {
        self.label = label
        enabled = isatty(STDERR_FILENO) != 0
        let delayMs = ProcessInfo.processInfo.environment["WEIR_PROGRESS_DELAY_MS"].flatMap { Int($0) } ?? 500
        delay = .milliseconds(delayMs)
        started = clock.now
    }

    /// Shows `fraction` (0…1) done.
    func update(_ fraction: Double) {
        guard enabled else { return }
        let now = clock.now
        guard now - started >= delay else { return }
        if let lastDraw, now - lastDraw < .milliseconds(100) { return }
        lastDraw = now
        let f = min(max(fraction, 0), 1)
        let width = 30
        let filled = Int(f * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        let percent = Int(f * 100)
        FileHandle.standardError.write(Data("\r\(label) [\(bar)] \(percent)%\u{1B}[K".utf8))
        drawn = true
    }

    /// Erases the bar, if one was drawn.
    func finish() {
        guard drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }
}

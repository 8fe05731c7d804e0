import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Progress on a terminal: on a TTY the current step's status line is redrawn in place; into a file
/// or pipe (CI logs, `nohup`) plain lines are printed, at most one every `plainInterval` seconds per step.
public final class TerminalProgressReporter: ProgressReporter, @unchecked Sendable {
    public enum Style: Sendable {
        case redraw
        case plain
    }

    public let style: Style
    private let fileDescriptor: Int32
    private let plainInterval: Double
    private let redrawInterval: Double
    private let clock: @Sendable () -> Double
    private let lock = NSLock()
    private var lastProgressAt: [String: Double] = [:]
    private var completedSteps: Set<String> = []
    private var lineIsOpen = false

    /// `style` nil picks `.redraw` when `fileDescriptor` is a TTY (isatty), `.plain` otherwise.
    public init(
        fileDescriptor: Int32 = STDERR_FILENO, style: Style? = nil, plainInterval: Double = 10,
        redrawInterval: Double = 0.1, clock: @escaping @Sendable () -> Double = monotonicSeconds
    ) {
        self.fileDescriptor = fileDescriptor
        self.style = style ?? (isatty(fileDescriptor) == 1 ? .redraw : .plain)
        self.plainInterval = plainInterval
        self.redrawInterval = redrawInterval
        self.clock = clock
    }

    public func stepStarted(_ step: String, reason: String) {
        emitLine("[\(step)] running (\(reason))")
    }

    public func stepFinished(_ step: String, durationSeconds: Double) {
        emitLine("[\(step)] done in \(ProgressFormat.duration(durationSeconds))")
    }

    public func stepSkipped(_ step: String, reason: String) {
        emitLine("[\(step)] up-to-date (\(reason))")
    }

    public func stepFailed(_ step: String, error: String) {
        emitLine("[\(step)] FAILED: \(error)")
    }

    public func stepNotRun(_ step: String, reason: String) {
        emitLine("[\(step)] not run: \(reason)")
    }

    public func stepWaiting(_ step: String, message: String) {
        emitLine("[\(step)] \(message)")
    }

    public func progress(_ step: String, fraction: Double?, message: String) {
        lock.lock()
        defer { lock.unlock() }
        let now = clock()
        let interval = style == .redraw ? redrawInterval : plainInterval
        // The first 100% line of a step always shows (the final state); later ones are throttled
        // like any other, so a log shows each state once.
        let completes = fraction == 1 && !completedSteps.contains(step)
        if let last = lastProgressAt[step], now - last < interval, !completes { return }
        if completes { completedSteps.insert(step) }
        lastProgressAt[step] = now
        var text = "[\(step)]"
        if let fraction { text += " " + ProgressFormat.percent(fraction) }
        if !message.isEmpty { text += " " + message }
        switch style {
        case .redraw:
            // A line longer than the terminal wraps, and "\r" would then redraw only its last row.
            if let columns = terminalColumns(), text.count >= columns {
                text = String(text.prefix(max(columns - 1, 1)))
            }
            write("\r\u{1B}[K" + text)
            lineIsOpen = true
        case .plain:
            write(text + "\n")
        }
    }

    /// The terminal's width now (it changes when the window is resized); nil when not a terminal.
    public func terminalColumns() -> Int? {
        #if os(Linux)
        var size = winsize()
        guard ioctl(fileDescriptor, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return Int(size.ws_col)
        #else
        return nil
        #endif
    }

    private func emitLine(_ text: String) {
        lock.lock()
        defer { lock.unlock() }
        if lineIsOpen {
            write("\r\u{1B}[K")
            lineIsOpen = false
        }
        write(text + "\n")
    }

    private func write(_ text: String) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { raw in
                Foundation.write(fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
            }
            if n < 0 {
                if errno == EINTR { continue }
                return  // progress output is best-effort; a closed stderr must not fail the run
            }
            offset += n
        }
    }
}

/// Seconds on a clock that never jumps backwards (unlike wall time), for rates and ETAs.
@Sendable public func monotonicSeconds() -> Double {
    Double(DispatchTime.now().uptimeNanoseconds) / 1e9
}

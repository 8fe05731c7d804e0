import Dispatch
import Foundation

/// Ctrl-C / SIGTERM handling for long runs: the running step's record becomes `interrupted` (never
/// `complete`; its outputs stay under their temporary names) and the process exits with 128 + signal
/// (130 for SIGINT, 143 for SIGTERM), as shells do.
///
/// SIGKILL (and power loss, OOM kill) cannot be caught: the record stays `running`, and the next
/// `plan()` reports that step as "previous run did not complete (interrupted: …)" and reruns it.
///
/// Signals arrive through DispatchSource signal sources on a private queue, not in signal context,
/// so the handler may write files. Install once, early, in the program's main code.
public final class InterruptHandler: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]

    /// Installs the handlers for the life of the process (a later call returns the first handler).
    @discardableResult
    public static func install(signals: [Int32] = [SIGINT, SIGTERM]) -> InterruptHandler {
        installLock.lock()
        defer { installLock.unlock() }
        if let installed { return installed }
        let handler = InterruptHandler(signals: signals)
        installed = handler
        return handler
    }

    private static let installLock = NSLock()
    // Held for the life of the process: a released DispatchSource silently stops delivering signals.
    nonisolated(unsafe) private static var installed: InterruptHandler?

    private init(signals: [Int32]) {
        let queue = DispatchQueue(label: "xmoe.interrupt-handler")
        sources = signals.map { number in
            // The default disposition would end the process before the dispatch source sees the signal.
            _ = Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                ActiveStepRegistry.shared.interruptAllAndExit(signal: number, exitCode: 128 + number)
            }
            source.resume()
            return source
        }
    }
}

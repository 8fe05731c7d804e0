import Dispatch
import Foundation

/// Ctrl-C / SIGTERM handling for long runs: the running step's record becomes `interrupted` (never
/// `complete`; its outputs stay under their temporary names) and the process exits with 128 + signal
/// (130 for SIGINT, 143 for SIGTERM), as shells do.
///
/// SIGKILL (and power loss, OOM kill) cannot be caught: the record stays `running`, and the next
/// `plan()` reports that step as "previous run did not complete (interrupted: …)" and reruns it.
///
/// Signals are received through DispatchSource on a private queue, not in an async-signal context,
/// so the handler may write files. Install once, early, in the process's main program.
public final class InterruptHandler: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let queue = DispatchQueue(label: "xmoe.interrupt-handler")

    public static func install(signals: [Int32] = [SIGINT, SIGTERM]) -> InterruptHandler {
        InterruptHandler(signals: signals)
    }

    private init(signals: [Int32]) {
        var sources: [DispatchSourceSignal] = []
        for number in signals {
            // The default disposition would kill the process before the dispatch source sees it.
            Foundation.signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler {
                ActiveStepRegistry.shared.interruptAllAndExit(signal: number, exitCode: 128 + number)
            }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }
}

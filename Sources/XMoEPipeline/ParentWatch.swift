import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ends a child process (as SIGTERM would, through `InterruptHandler`) when the process that started
/// it is gone: a sweep killed with SIGKILL cannot forward anything, and its points must not train on
/// as orphans holding their run directories. Polls the parent pid, which changes when the parent dies
/// (the child is re-parented), rather than PR_SET_PDEATHSIG, which fires when the spawning *thread*
/// ends and is not reachable from Swift (prctl is variadic).
public enum ParentWatch {
    /// The environment variable a parent sets to its pid to ask its children to watch it.
    public static let variable = "XMOE_PARENT_PID"

    nonisolated(unsafe) private static var timer: DispatchSourceTimer?

    /// Starts watching when `variable` names a pid; a no-op otherwise. Call after `InterruptHandler.install()`.
    public static func startIfRequested(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard timer == nil, let text = environment[variable], let parent = Int32(text), parent > 1 else { return }
        let source = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "xmoe.parent-watch"))
        source.schedule(deadline: .now(), repeating: .milliseconds(250))
        source.setEventHandler {
            guard getppid() != parent else { return }
            source.cancel()
            FileHandle.standardError.write(Data("xmoe: the process that started this one (pid \(parent)) is gone; stopping\n".utf8))
            InterruptHandler.deliver(SIGTERM)
        }
        timer = source
        source.resume()
    }
}

import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Ctrl-C, SIGTERM and SIGHUP for every xmoe command: the running step's record becomes `interrupted`
/// (never `complete`; its outputs stay under their temporary names) and the process exits with
/// 128 + signal (130 SIGINT, 143 SIGTERM, 129 SIGHUP), as shells do.
///
/// How it stops. The process never calls `exit()` from a signal: `exit` runs atexit handlers (OpenBLAS
/// frees its buffers there) while worker threads may still compute, which crashed one run in three.
/// - Inside a `cooperating` region (the training loop, a sweep waiting for its points) the first
///   signal only sets `pendingSignal`; the code stops at its next safe point (between training steps),
///   records the step interrupted and leaves through `exitInterrupted`. Should it not get there within
///   the region's grace period, the handler ends the process as below.
/// - Anywhere else, and on a second signal, the handler marks the active steps interrupted, runs the
///   registered cleanups (temporary files) and ends the process with `_exit`, which runs no atexit
///   handler and stops every thread at once. Files a killed process may leave behind are all
///   written under temporary names and renamed when whole, so this is as safe as SIGKILL.
///
/// SIGKILL (and power loss, OOM kill) cannot be caught: the record stays `running`, and the next
/// `plan()` reports that step as "previous run did not complete (interrupted: …)" and reruns it.
///
/// How signals arrive: a minimal `sigaction` handler (SA_RESTART) only writes the signal's number to
/// a pipe (the self-pipe trick: `write` is async-signal-safe), whichever thread the kernel picked, and
/// a dedicated thread reads the pipe and acts. So a signal is never lost once `install()` has run (a
/// DispatchSource, registered asynchronously after SIG_IGN, lost signals that came in between and the
/// run trained on), and no xmoe code runs in signal context. The signals are unblocked in the main
/// thread, which a parent that blocks them (a test runner, a launcher) would otherwise pass on.
public final class InterruptHandler: @unchecked Sendable {
    public static let handledSignals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

    private let thread: Thread

    /// Installs the handlers for the life of the process (a later call returns the first handler).
    @discardableResult
    public static func install(signals: [Int32] = handledSignals) -> InterruptHandler {
        // First, with C library calls only: the sooner the handlers are in place, the smaller the window
        // in which the kernel's default action still ends the process. Call from the main thread.
        let readEnd = installSignalPipe(signals: signals)
        state.lock.lock()
        defer { state.lock.unlock() }
        if let installed = state.installed { return installed }
        let handler = InterruptHandler(readEnd: readEnd)
        state.installed = handler
        return handler
    }

    /// The first signal received, nil while none has come.
    public static var pendingSignal: Int32? {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.pending
    }

    /// Runs `body` as a region that stops cooperatively: it polls `pendingSignal` at safe points and
    /// leaves (throws, returns) when one is set. A signal that the region does not act on within
    /// `graceSeconds` ends the process as outside a region.
    public static func cooperating<T>(graceSeconds: Double = 10, _ body: () throws -> T) rethrows -> T {
        state.lock.lock()
        state.regions.append(graceSeconds)
        state.lock.unlock()
        defer {
            state.lock.lock()
            state.regions.removeLast()
            state.lock.unlock()
        }
        return try body()
    }

    /// `action` runs (on the signal thread) for every signal received, before the handler decides
    /// what to do: a sweep forwards the signal to its points this way.
    public static func onSignal(_ action: @escaping @Sendable (Int32) -> Void) {
        state.lock.lock()
        state.signalActions.append(action)
        state.lock.unlock()
    }

    /// `action` runs once before the process ends for a signal (temporary files of the command).
    /// Returns a token for `removeCleanup`.
    @discardableResult
    public static func addCleanup(_ action: @escaping @Sendable () -> Void) -> Int {
        state.lock.lock()
        defer { state.lock.unlock() }
        state.nextCleanup += 1
        state.cleanups[state.nextCleanup] = action
        return state.nextCleanup
    }

    public static func removeCleanup(_ token: Int) {
        state.lock.lock()
        state.cleanups[token] = nil
        state.lock.unlock()
    }

    /// Treats `signal` as if it had arrived (a sweep point whose sweep is gone stops as on SIGTERM).
    public static func deliver(_ signal: Int32) {
        handle(signal)
    }

    /// The way out after a cooperative stop: marks any step still active as interrupted, runs the
    /// cleanups, flushes the standard streams and ends the process with 128 + the pending signal.
    public static func exitInterrupted() -> Never {
        terminate(signal: pendingSignal ?? SIGINT)
    }

    private static let state = SharedState()

    private final class SharedState: @unchecked Sendable {
        let lock = NSLock()
        var installed: InterruptHandler?
        var pending: Int32?
        /// Grace seconds of the cooperating regions now entered, innermost last.
        var regions: [Double] = []
        var signalActions: [@Sendable (Int32) -> Void] = []
        var cleanups: [Int: @Sendable () -> Void] = [:]
        var nextCleanup = 0
    }

    /// The pipe and the handlers, with nothing but C library calls; returns the pipe's read end (the
    /// one from the first call: later calls change nothing).
    private static func installSignalPipe(signals: [Int32]) -> Int32 {
        if signalPipeReadEnd >= 0 { return signalPipeReadEnd }
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            fatalError("xmoe: cannot create the signal pipe: \(String(cString: strerror(errno)))")
        }
        // Above the standard descriptors (with 0–2 closed at start, pipe() would hand out fd 0, which
        // code reading "stdin" would drain), and not inherited by children.
        let high = fds.map { fd -> Int32 in
            let moved = fcntl(fd, F_DUPFD_CLOEXEC, 64)
            if moved >= 0 { close(fd); return moved }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return fd
        }
        signalPipeReadEnd = high[0]
        signalPipeWriteEnd = high[1]
        // From here on a signal waits in the pipe until the handler thread reads it.
        var set = sigset_t()
        sigemptyset(&set)
        for number in signals {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = writeSignalToPipe
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            sigaction(number, &action, nil)
            sigaddset(&set, number)
        }
        // A process inherits its parent's signal mask: started from a thread that blocks these signals
        // (libdispatch's threads do), it would never see one. Threads started later inherit this.
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        return high[0]
    }

    private init(readEnd: Int32) {
        thread = Thread {
            var byte: UInt8 = 0
            while true {
                let n = read(readEnd, &byte, 1)
                if n == 1 {
                    InterruptHandler.handle(Int32(byte))
                } else if n == 0 || errno != EINTR {
                    // Never lose a signal silently: without the pipe, the kernel's default ends the process.
                    writeStandardError("xmoe: the signal pipe failed; SIGINT/SIGTERM/SIGHUP now end the process at once\n")
                    for number in InterruptHandler.handledSignals { _ = Foundation.signal(number, SIG_DFL) }
                    return
                }
            }
        }
        thread.name = "xmoe.signals"
        thread.start()
    }

    private static func handle(_ signal: Int32) {
        state.lock.lock()
        let first = state.pending == nil
        if first { state.pending = signal }
        let pending = state.pending ?? signal
        let grace = state.regions.last
        let actions = state.signalActions
        state.lock.unlock()
        for action in actions { action(signal) }
        // The exit status names the first signal, also when a second one forces the exit.
        guard first, let grace else {
            terminate(signal: pending)
        }
        writeStandardError("xmoe: \(signalName(signal)): stopping at the next safe point "
            + "(send it again to stop at once)\n")
        DispatchQueue.global().asyncAfter(deadline: .now() + grace) {
            writeStandardError("xmoe: no safe point reached within \(Int(grace)) s; stopping now\n")
            terminate(signal: signal)
        }
    }

    private static func terminate(signal: Int32) -> Never {
        ActiveStepRegistry.shared.interruptAll(signal: signal)
        state.lock.lock()
        let cleanups = state.cleanups.sorted { $0.key < $1.key }.map(\.value)
        state.cleanups = [:]
        state.lock.unlock()
        for cleanup in cleanups { cleanup() }
        fflush(nil)  // every C stream: what the command printed before the signal
        _exit(128 + signal)
    }
}

/// The pipe's ends, set once (by the main thread, first thing) before any handler is installed.
nonisolated(unsafe) private var signalPipeWriteEnd: Int32 = -1
nonisolated(unsafe) private var signalPipeReadEnd: Int32 = -1

/// The signal handler itself: async-signal-safe, it keeps errno and only writes one byte.
private let writeSignalToPipe: @convention(c) (Int32) -> Void = { number in
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: number)
    _ = write(signalPipeWriteEnd, &byte, 1)
    errno = saved
}

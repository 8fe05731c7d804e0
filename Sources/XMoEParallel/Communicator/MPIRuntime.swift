import Foundation
internal import CMPIShim

/// The process-wide MPI library state. MPI can be initialised once per process and never again after
/// `MPI_Finalize`, so initialisation is idempotent and finalisation is left to the executable's exit path
/// (tests never finalise: later tests in the same process would find MPI unusable).
public enum MPIRuntime {
    private static let lock = NSLock()

    public static var isInitialized: Bool {
        var flag: Int32 = 0
        MPI_Initialized(&flag)
        return flag != 0
    }

    public static var isFinalized: Bool {
        var flag: Int32 = 0
        MPI_Finalized(&flag)
        return flag != 0
    }

    /// Initialises MPI with `MPI_THREAD_FUNNELED` unless it already is. Without a launcher this starts a
    /// singleton world of size 1 (Open MPI forks its `orted` helper, so `openmpi-bin` must be installed).
    public static func initIfNeeded() throws {
        lock.lock()
        defer { lock.unlock() }
        if isFinalized {
            throw CommError(kind: .runtime, call: "MPI_Init_thread", rank: nil, size: nil,
                            reason: "MPI was already finalised in this process and cannot be initialised again")
        }
        if isInitialized { return }
        let required = xmpi_thread_funneled()
        let provided = xmpi_init_thread(required)
        if provided < 0 {
            throw CommError(kind: .runtime, call: "MPI_Init_thread", rank: nil, size: nil,
                            reason: "MPI failed to initialise; check that `mpirun --version` works on this machine")
        }
        if provided < required {
            throw CommError(kind: .runtime, call: "MPI_Init_thread", rank: nil, size: nil,
                            reason: "the MPI library provides thread level \(provided), below MPI_THREAD_FUNNELED (\(required))")
        }
        // Errors come back as codes (thrown as CommError) instead of aborting every rank; communicators
        // split from these inherit the handler.
        MPI_Comm_set_errhandler(xmpi_comm_world(), xmpi_errors_return())
        MPI_Comm_set_errhandler(xmpi_comm_self(), xmpi_errors_return())
    }

    /// Finalises MPI if it is running; call once on the executable's exit path, after every collective.
    public static func finalize() throws {
        lock.lock()
        defer { lock.unlock() }
        guard isInitialized, !isFinalized else { return }
        let code = MPI_Finalize()
        if code != MPI_SUCCESS {
            throw CommError(kind: .mpiFailure(code: Int(code)), call: "MPI_Finalize", rank: nil, size: nil,
                            reason: MPIRuntime.errorString(code))
        }
    }

    /// Ends every rank of the job: the way out when one rank fails while the others may be waiting in a
    /// collective for it (a plain `exit` would leave them hanging).
    public static func abortJob(exitCode: Int32) -> Never {
        if isInitialized, !isFinalized {
            MPI_Abort(xmpi_comm_world(), exitCode)
        }
        exit(exitCode)
    }

    /// The launcher that started this process (mpirun, a PMI launcher or srun), if any.
    public static var detectedLauncher: DetectedLauncher? {
        DetectedLauncher.detect(in: ProcessInfo.processInfo.environment)
    }

    static func errorString(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: Int(MPI_MAX_ERROR_STRING) + 1)
        var length: Int32 = 0
        guard MPI_Error_string(code, &buffer, &length) == MPI_SUCCESS else { return "MPI error code \(code)" }
        let bytes = buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}

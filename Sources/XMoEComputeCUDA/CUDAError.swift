/// What went wrong reaching CUDA. Every case names the library, symbol or call involved, so a user
/// on a machine without a GPU (or with the wrong CUDA) sees what is missing and what to install.
public enum CUDAError: Error, CustomStringConvertible, Equatable {
    /// None of the candidate file names of a library could be opened.
    case libraryMissing(library: String, tried: [String], dlerror: String)
    /// A library opened but lacks a function xmoe needs (usually: too old a CUDA).
    case symbolMissing(library: String, symbol: String, dlerror: String)
    /// A CUDA, cuBLAS or NVRTC call returned an error code.
    case callFailed(call: String, code: Int32, message: String)
    /// NVRTC rejected a kernel source; `log` is the compiler's output.
    case compileFailed(arch: String, log: String)
    /// The machine has the libraries but no usable GPU.
    case noDevice(String)

    public var description: String {
        switch self {
        case let .libraryMissing(library, tried, dlerror):
            return "CUDA backend: cannot load \(library) (tried \(tried.joined(separator: ", "))): \(dlerror). "
                + "The CUDA backend needs a CUDA 12 or 13 runtime, cuBLAS and NVRTC on the loader path "
                + "(LD_LIBRARY_PATH or ldconfig); use the CPU backend on machines without them."
        case let .symbolMissing(library, symbol, dlerror):
            return "CUDA backend: \(library) has no function \(symbol) (\(dlerror)); this CUDA is too old "
                + "or the library is not the one xmoe expects."
        case let .callFailed(call, code, message):
            return "CUDA backend: \(call) failed with code \(code): \(message)"
        case let .compileFailed(arch, log):
            return "CUDA backend: NVRTC could not compile xmoe's kernels for \(arch):\n\(log)"
        case let .noDevice(reason):
            return "CUDA backend: no usable GPU: \(reason)"
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A shared library opened with `dlopen`, so the package links no CUDA library at build time and
/// runs (on the CPU) where none is installed.
final class DynamicLibrary: @unchecked Sendable {
    /// The name used in messages (e.g. "libcudart").
    let name: String
    /// The file name that opened.
    let fileName: String
    private let handle: UnsafeMutableRawPointer

    /// Opens the first of `candidates` that loads (e.g. the .so.13, then the .so.12 soname).
    init(name: String, candidates: [String]) throws {
        var errors: [String] = []
        for candidate in candidates {
            if let handle = dlopen(candidate, RTLD_NOW | RTLD_LOCAL) {
                self.name = name
                self.fileName = candidate
                self.handle = handle
                return
            }
            errors.append(Self.lastDlerror())
        }
        throw CUDAError.libraryMissing(library: name, tried: candidates,
                                       dlerror: errors.isEmpty ? "no candidate file names" : errors.joined(separator: "; "))
    }

    /// The function `symbol`, typed as the `@convention(c)` function type `T`.
    func function<T>(_ symbol: String, as type: T.Type = T.self) throws -> T {
        _ = dlerror()
        guard let address = dlsym(handle, symbol) else {
            throw CUDAError.symbolMissing(library: fileName, symbol: symbol, dlerror: Self.lastDlerror())
        }
        return unsafeBitCast(address, to: T.self)
    }

    /// The function `symbol` if the library has it (for optional fast paths such as grouped GEMM).
    func optionalFunction<T>(_ symbol: String, as type: T.Type = T.self) -> T? {
        try? function(symbol, as: type)
    }

    private static func lastDlerror() -> String {
        guard let text = dlerror() else { return "unknown dlopen error" }
        return String(cString: text)
    }

    // Never dlclose: CUDA libraries register atexit handlers and must outlive every handle.
}

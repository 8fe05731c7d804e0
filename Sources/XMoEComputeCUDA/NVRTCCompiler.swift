/// Compiles CUDA C++ with NVRTC to a cubin for one real architecture (sm_90 on Hopper), so the
/// driver never JIT-compiles PTX for an older one, and caches the cubin on disk.
struct NVRTCCompiler: Sendable {
    let api: NVRTCAPI
    let cache: KernelDiskCache

    var versionString: String {
        var major: Int32 = 0, minor: Int32 = 0
        _ = api.version(&major, &minor)
        return "\(major).\(minor)"
    }

    /// Options for a real-architecture cubin; fast-math stays off so kernels round like the CPU's.
    static func options(arch: String) -> [String] {
        ["--gpu-architecture=\(arch)", "--std=c++17", "-default-device", "--fmad=true"]
    }

    /// The cubin of `source` for `arch` (e.g. "sm_90"), from the disk cache when present.
    func cubin(source: String, arch: String) throws -> (cubin: [UInt8], fromCache: Bool) {
        let options = Self.options(arch: arch)
        let key = KernelCacheKey(source: source, arch: arch, nvrtcVersion: versionString, options: options)
        if let cached = cache.load(key) { return (cached, true) }
        let cubin = try compile(source: source, arch: arch, options: options)
        cache.store(cubin, for: key)
        return (cubin, false)
    }

    private func compile(source: String, arch: String, options: [String]) throws -> [UInt8] {
        var program: Handle = nil
        try api.check(source.withCString { api.createProgram(&program, $0, "xmoe_kernels.cu", 0, nil, nil) },
                      "nvrtcCreateProgram")
        defer { _ = api.destroyProgram(&program) }
        let cOptions = options.map { strdup($0) }
        defer { cOptions.forEach { free($0) } }
        let status = cOptions.map { UnsafePointer($0) }.withUnsafeBufferPointer {
            api.compileProgram(program, Int32(options.count), $0.baseAddress)
        }
        if status != 0 {
            throw CUDAError.compileFailed(arch: arch, log: log(of: program))
        }
        var size = 0
        try api.check(api.getCUBINSize(program, &size), "nvrtcGetCUBINSize")
        var bytes = [CChar](repeating: 0, count: size)
        try api.check(api.getCUBIN(program, &bytes), "nvrtcGetCUBIN")
        return bytes.map { UInt8(bitPattern: $0) }
    }

    private func log(of program: Handle) -> String {
        var size = 0
        guard api.getProgramLogSize(program, &size) == 0, size > 1 else { return "(no log)" }
        var text = [CChar](repeating: 0, count: size)
        guard api.getProgramLog(program, &text) == 0 else { return "(no log)" }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

import Foundation

/// The loaded libraries, the device, one stream, the cuBLAS handle and the compiled kernels.
/// Everything the backend queues goes to `stream`, in order; the host waits only in `synchronize`
/// (and in downloads, which synchronise).
final class CUDAContext: @unchecked Sendable {
    let runtime: CUDARuntimeAPI
    let driver: CUDADriverAPI
    let cublas: CUBLASAPI
    let nvrtc: NVRTCAPI
    let device: Int32
    let arch: String
    let multiprocessors: Int
    let stream: Handle
    let blas: Handle
    private let primaryContext: Handle
    private var functions: [String: Handle] = [:]
    let kernelsFromCache: Bool

    init(device: Int, cache: KernelDiskCache) throws {
        runtime = try CUDARuntimeAPI()
        driver = try CUDADriverAPI()
        cublas = try CUBLASAPI()
        nvrtc = try NVRTCAPI()
        var count: Int32 = 0
        try runtime.check(runtime.getDeviceCount(&count), "cudaGetDeviceCount")
        guard device >= 0, device < Int(count) else {
            throw CUDAError.noDevice("device \(device) requested, \(count) visible (CUDA_VISIBLE_DEVICES?)")
        }
        self.device = Int32(device)
        try runtime.check(runtime.setDevice(self.device), "cudaSetDevice(\(device))")
        var major: Int32 = 0, minor: Int32 = 0, sms: Int32 = 0
        try runtime.check(runtime.deviceGetAttribute(&major, CUDARuntimeAPI.attributeComputeCapabilityMajor, self.device), "cudaDeviceGetAttribute")
        try runtime.check(runtime.deviceGetAttribute(&minor, CUDARuntimeAPI.attributeComputeCapabilityMinor, self.device), "cudaDeviceGetAttribute")
        try runtime.check(runtime.deviceGetAttribute(&sms, CUDARuntimeAPI.attributeMultiprocessorCount, self.device), "cudaDeviceGetAttribute")
        arch = "sm_\(major)\(minor)"
        multiprocessors = Int(sms)
        var stream: Handle = nil
        try runtime.check(runtime.streamCreateWithFlags(&stream, CUDARuntimeAPI.streamNonBlocking), "cudaStreamCreateWithFlags")
        self.stream = stream

        try driver.check(driver.initialize(0), "cuInit")
        var cuDevice: Int32 = 0
        try driver.check(driver.deviceGet(&cuDevice, self.device), "cuDeviceGet")
        var context: Handle = nil
        try driver.check(driver.primaryCtxRetain(&context, cuDevice), "cuDevicePrimaryCtxRetain")
        primaryContext = context
        try driver.check(driver.ctxSetCurrent(context), "cuCtxSetCurrent")

        var handle: Handle = nil
        try cublas.check(cublas.create(&handle), "cublasCreate")
        try cublas.check(cublas.setStream(handle, stream), "cublasSetStream")
        blas = handle

        let compiler = NVRTCCompiler(api: nvrtc, cache: cache)
        var cubins: [(cubin: [UInt8], names: [String])] = []
        var allFromCache = true
        for (source, names) in KernelSource.modules {
            let (cubin, fromCache) = try compiler.cubin(source: source, arch: arch)
            allFromCache = allFromCache && fromCache
            cubins.append((cubin, names))
        }
        kernelsFromCache = allFromCache
        for (cubin, names) in cubins {
            var module: Handle = nil
            try cubin.withUnsafeBytes { try driver.check(driver.moduleLoadData(&module, $0.baseAddress!), "cuModuleLoadData(\(arch) cubin)") }
            for name in names {
                var function: Handle = nil
                try driver.check(driver.moduleGetFunction(&function, module, name), "cuModuleGetFunction(\(name))")
                functions[name] = function
            }
        }
        // Kernels with more than 48 KiB of dynamic shared memory opt in once, at load.
        for (name, bytes) in FlashAttentionTensorCoreKernels.dynamicSharedBytes {
            guard let function = functions[name] else { continue }
            try driver.check(driver.funcSetAttribute(function, CUDADriverAPI.attributeMaxDynamicSharedBytes, Int32(bytes)),
                             "cuFuncSetAttribute(\(name), max dynamic shared memory \(bytes))")
        }
    }

    /// Queues kernel `name` on the stream. A failure here is a broken invariant (bad shape or a
    /// kernel missing from the module), not a user error.
    func launch(_ name: String, _ shape: LaunchShape?, _ arguments: [KernelArgument], sharedBytes: Int = 0) {
        guard let shape else { return }
        guard let function = functions[name] else { fatalError("CUDA backend: kernel \(name) is not in the module") }
        // The driver's current context is per thread; the backend may be called from any thread.
        _ = driver.ctxSetCurrent(primaryContext)
        let status = arguments.withKernelParameters { parameters in
            driver.launchKernel(function, shape.grid.x, shape.grid.y, shape.grid.z, shape.block.x, shape.block.y, shape.block.z,
                                UInt32(sharedBytes), stream, parameters, nil)
        }
        if status != 0 { fail(name, code: status, driverCall: true) }
    }

    func checkRuntime(_ code: Int32, _ call: @autoclosure () -> String) {
        if code != 0 { fail(call(), code: code, driverCall: false) }
    }

    func checkBlas(_ code: Int32, _ call: @autoclosure () -> String) {
        do { try cublas.check(code, call()) } catch { fatalError("\(error)") }
    }

    /// How often, and how long in all, the host has waited for the stream: a step whose waits add
    /// up to little is bound by the host's submission, not by the GPU.
    private(set) var waits = 0
    private(set) var waitNanoseconds: UInt64 = 0

    func synchronize() {
        let start = DispatchTime.now().uptimeNanoseconds
        checkRuntime(runtime.streamSynchronize(stream), "cudaStreamSynchronize (an earlier kernel failed)")
        waits += 1
        waitNanoseconds += DispatchTime.now().uptimeNanoseconds - start
    }

    private func fail(_ call: String, code: Int32, driverCall: Bool) -> Never {
        do {
            if driverCall { try driver.check(code, call) } else { try runtime.check(code, call) }
        } catch { fatalError("\(error)") }
        fatalError("\(call) failed with code \(code)")
    }
}

// The few CUDA entry points xmoe calls, declared here as C function types and bound with dlsym:
// no CUDA header or library is needed to build. Handles and streams are opaque pointers; enums
// are Int32 with the values of the CUDA 12/13 headers (stable across those versions).

typealias RawPointer = UnsafeMutableRawPointer
typealias Handle = UnsafeMutableRawPointer?

/// Candidate file names, newest CUDA first; the unversioned name last (a developer's symlink).
enum CUDALibraryNames {
    static let runtime = ["libcudart.so.13", "libcudart.so.12", "libcudart.so"]
    static let driver = ["libcuda.so.1", "libcuda.so"]
    static let cublas = ["libcublas.so.13", "libcublas.so.12", "libcublas.so"]
    static let nvrtc = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so"]
}

/// libcudart: devices, memory, streams. Only what xmoe calls is bound: a missing symbol fails the
/// whole backend, so nothing optional belongs here.
struct CUDARuntimeAPI: @unchecked Sendable {
    let library: DynamicLibrary
    let getDeviceCount: @convention(c) (UnsafeMutablePointer<Int32>) -> Int32
    let setDevice: @convention(c) (Int32) -> Int32
    let getErrorString: @convention(c) (Int32) -> UnsafePointer<CChar>?
    let deviceGetAttribute: @convention(c) (UnsafeMutablePointer<Int32>, Int32, Int32) -> Int32
    let malloc: @convention(c) (UnsafeMutablePointer<RawPointer?>, Int) -> Int32
    let free: @convention(c) (RawPointer?) -> Int32
    let memcpyAsync: @convention(c) (RawPointer?, UnsafeRawPointer?, Int, Int32, Handle) -> Int32
    let memsetAsync: @convention(c) (RawPointer?, Int32, Int, Handle) -> Int32
    let streamCreateWithFlags: @convention(c) (UnsafeMutablePointer<Handle>, UInt32) -> Int32
    let streamSynchronize: @convention(c) (Handle) -> Int32
    let getLastError: @convention(c) () -> Int32

    static let memcpyHostToDevice: Int32 = 1
    static let memcpyDeviceToHost: Int32 = 2
    static let memcpyDeviceToDevice: Int32 = 3
    static let attributeMultiprocessorCount: Int32 = 16
    static let attributeComputeCapabilityMajor: Int32 = 75
    static let attributeComputeCapabilityMinor: Int32 = 76
    static let streamNonBlocking: UInt32 = 1

    init(candidates: [String] = CUDALibraryNames.runtime) throws {
        let lib = try DynamicLibrary(name: "libcudart", candidates: candidates)
        library = lib
        getDeviceCount = try lib.function("cudaGetDeviceCount")
        setDevice = try lib.function("cudaSetDevice")
        getErrorString = try lib.function("cudaGetErrorString")
        deviceGetAttribute = try lib.function("cudaDeviceGetAttribute")
        malloc = try lib.function("cudaMalloc")
        free = try lib.function("cudaFree")
        memcpyAsync = try lib.function("cudaMemcpyAsync")
        memsetAsync = try lib.function("cudaMemsetAsync")
        streamCreateWithFlags = try lib.function("cudaStreamCreateWithFlags")
        streamSynchronize = try lib.function("cudaStreamSynchronize")
        getLastError = try lib.function("cudaGetLastError")
    }

    func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
        if code == 0 { return }
        let message = getErrorString(code).map { String(cString: $0) } ?? "unknown error"
        throw CUDAError.callFailed(call: call(), code: code, message: message)
    }
}

/// libcuda (the driver): loading NVRTC's cubins and launching their kernels. The runtime cannot
/// launch a kernel from a cubin without C struct arguments (dim3), so launches go through here.
struct CUDADriverAPI: @unchecked Sendable {
    let library: DynamicLibrary
    let initialize: @convention(c) (UInt32) -> Int32
    let deviceGet: @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
    let primaryCtxRetain: @convention(c) (UnsafeMutablePointer<Handle>, Int32) -> Int32
    let ctxSetCurrent: @convention(c) (Handle) -> Int32
    let moduleLoadData: @convention(c) (UnsafeMutablePointer<Handle>, UnsafeRawPointer) -> Int32
    let moduleGetFunction: @convention(c) (UnsafeMutablePointer<Handle>, Handle, UnsafePointer<CChar>) -> Int32
    let launchKernel: @convention(c) (
        Handle, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, Handle,
        UnsafeMutablePointer<RawPointer?>?, UnsafeMutablePointer<RawPointer?>?) -> Int32
    let getErrorString: @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>) -> Int32
    /// cuFuncSetAttribute: the opt-in of kernels to more than 48 KiB of dynamic shared memory.
    let funcSetAttribute: @convention(c) (Handle, Int32, Int32) -> Int32
    static let attributeMaxDynamicSharedBytes: Int32 = 8

    init(candidates: [String] = CUDALibraryNames.driver) throws {
        let lib = try DynamicLibrary(name: "libcuda (the NVIDIA driver)", candidates: candidates)
        library = lib
        initialize = try lib.function("cuInit")
        deviceGet = try lib.function("cuDeviceGet")
        primaryCtxRetain = try lib.function("cuDevicePrimaryCtxRetain")
        ctxSetCurrent = try lib.function("cuCtxSetCurrent")
        moduleLoadData = try lib.function("cuModuleLoadData")
        moduleGetFunction = try lib.function("cuModuleGetFunction")
        launchKernel = try lib.function("cuLaunchKernel")
        getErrorString = try lib.function("cuGetErrorString")
        funcSetAttribute = try lib.function("cuFuncSetAttribute")
    }

    func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
        if code == 0 { return }
        var text: UnsafePointer<CChar>?
        _ = getErrorString(code, &text)
        throw CUDAError.callFailed(call: call(), code: code, message: text.map { String(cString: $0) } ?? "unknown error")
    }
}

/// libcublas: fp32 GEMMs (plain, strided-batched, grouped) and GemmEx for other dtypes.
struct CUBLASAPI: @unchecked Sendable {
    typealias Sgemm = @convention(c) (
        Handle, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UnsafeRawPointer?, Int32,
        UnsafeRawPointer?, Int32, UnsafePointer<Float>, RawPointer?, Int32) -> Int32
    typealias SgemmStridedBatched = @convention(c) (
        Handle, Int32, Int32, Int32, Int32, Int32, UnsafePointer<Float>, UnsafeRawPointer?, Int32, Int64,
        UnsafeRawPointer?, Int32, Int64, UnsafePointer<Float>, RawPointer?, Int32, Int64, Int32) -> Int32
    /// cublasSgemmGroupedBatched (cuBLAS ≥ 12.5): per-group host arrays, device arrays of pointers.
    typealias SgemmGroupedBatched = @convention(c) (
        Handle, UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>,
        UnsafePointer<Int32>, UnsafePointer<Float>, RawPointer?, UnsafePointer<Int32>, RawPointer?,
        UnsafePointer<Int32>, UnsafePointer<Float>, RawPointer?, UnsafePointer<Int32>, Int32,
        UnsafePointer<Int32>) -> Int32

    /// cublasGemmEx: any input/output dtypes, here bf16 with fp32 accumulation.
    typealias GemmEx = @convention(c) (
        Handle, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer, UnsafeRawPointer?, Int32, Int32,
        UnsafeRawPointer?, Int32, Int32, UnsafeRawPointer, RawPointer?, Int32, Int32, Int32, Int32) -> Int32
    /// cublasGemmStridedBatchedEx: GemmEx over a strided batch.
    typealias GemmStridedBatchedEx = @convention(c) (
        Handle, Int32, Int32, Int32, Int32, Int32, UnsafeRawPointer, UnsafeRawPointer?, Int32, Int32, Int64,
        UnsafeRawPointer?, Int32, Int32, Int64, UnsafeRawPointer, RawPointer?, Int32, Int32, Int64, Int32,
        Int32, Int32) -> Int32
    /// cublasGemmGroupedBatchedEx (cuBLAS ≥ 12.5): the dtype-generic grouped GEMM.
    typealias GemmGroupedBatchedEx = @convention(c) (
        Handle, UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>, UnsafePointer<Int32>,
        UnsafePointer<Int32>, UnsafeRawPointer, RawPointer?, Int32, UnsafePointer<Int32>, RawPointer?, Int32,
        UnsafePointer<Int32>, UnsafeRawPointer, RawPointer?, Int32, UnsafePointer<Int32>, Int32,
        UnsafePointer<Int32>, Int32) -> Int32

    let library: DynamicLibrary
    let create: @convention(c) (UnsafeMutablePointer<Handle>) -> Int32
    let setStream: @convention(c) (Handle, Handle) -> Int32
    let getStatusString: @convention(c) (Int32) -> UnsafePointer<CChar>?
    let sgemm: Sgemm
    let sgemmStridedBatched: SgemmStridedBatched
    let sgemmGroupedBatched: SgemmGroupedBatched?
    let gemmEx: GemmEx?
    let gemmGroupedBatchedEx: GemmGroupedBatchedEx?
    let gemmStridedBatchedEx: GemmStridedBatchedEx?

    static let opN: Int32 = 0
    static let opT: Int32 = 1
    /// cudaDataType_t values.
    static let dataFloat32: Int32 = 0
    static let dataBFloat16: Int32 = 14
    /// CUBLAS_COMPUTE_32F: fp32 accumulation (never the reduced-precision modes).
    static let compute32F: Int32 = 68
    static let gemmDefaultAlgorithm: Int32 = -1

    init(candidates: [String] = CUDALibraryNames.cublas) throws {
        let lib = try DynamicLibrary(name: "libcublas", candidates: candidates)
        library = lib
        create = try lib.function("cublasCreate_v2")
        setStream = try lib.function("cublasSetStream_v2")
        getStatusString = try lib.function("cublasGetStatusString")
        sgemm = try lib.function("cublasSgemm_v2")
        sgemmStridedBatched = try lib.function("cublasSgemmStridedBatched")
        sgemmGroupedBatched = lib.optionalFunction("cublasSgemmGroupedBatched")
        gemmEx = lib.optionalFunction("cublasGemmEx")
        gemmGroupedBatchedEx = lib.optionalFunction("cublasGemmGroupedBatchedEx")
        gemmStridedBatchedEx = lib.optionalFunction("cublasGemmStridedBatchedEx")
    }

    func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
        if code == 0 { return }
        let message = getStatusString(code).map { String(cString: $0) } ?? "unknown status"
        throw CUDAError.callFailed(call: call(), code: code, message: message)
    }
}

/// libnvrtc: compiles the kernels' CUDA C++ to a cubin for the device's own architecture.
struct NVRTCAPI: @unchecked Sendable {
    let library: DynamicLibrary
    let version: @convention(c) (UnsafeMutablePointer<Int32>, UnsafeMutablePointer<Int32>) -> Int32
    let createProgram: @convention(c) (
        UnsafeMutablePointer<Handle>, UnsafePointer<CChar>, UnsafePointer<CChar>?, Int32,
        UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    let compileProgram: @convention(c) (Handle, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    let getProgramLogSize: @convention(c) (Handle, UnsafeMutablePointer<Int>) -> Int32
    let getProgramLog: @convention(c) (Handle, UnsafeMutablePointer<CChar>) -> Int32
    let getCUBINSize: @convention(c) (Handle, UnsafeMutablePointer<Int>) -> Int32
    let getCUBIN: @convention(c) (Handle, UnsafeMutablePointer<CChar>) -> Int32
    let destroyProgram: @convention(c) (UnsafeMutablePointer<Handle>) -> Int32
    let getErrorString: @convention(c) (Int32) -> UnsafePointer<CChar>?

    init(candidates: [String] = CUDALibraryNames.nvrtc) throws {
        let lib = try DynamicLibrary(name: "libnvrtc", candidates: candidates)
        library = lib
        version = try lib.function("nvrtcVersion")
        createProgram = try lib.function("nvrtcCreateProgram")
        compileProgram = try lib.function("nvrtcCompileProgram")
        getProgramLogSize = try lib.function("nvrtcGetProgramLogSize")
        getProgramLog = try lib.function("nvrtcGetProgramLog")
        getCUBINSize = try lib.function("nvrtcGetCUBINSize")
        getCUBIN = try lib.function("nvrtcGetCUBIN")
        destroyProgram = try lib.function("nvrtcDestroyProgram")
        getErrorString = try lib.function("nvrtcGetErrorString")
    }

    func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
        if code == 0 { return }
        let message = getErrorString(code).map { String(cString: $0) } ?? "unknown error"
        throw CUDAError.callFailed(call: call(), code: code, message: message)
    }
}

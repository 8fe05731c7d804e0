import Foundation
import XMoECompute

/// The CUDA backend (fp32 for now): GEMMs through cuBLAS, every other op a kernel of
/// `KernelSource` compiled by NVRTC for the device's own architecture. Work is queued on one
/// stream; downloads and `synchronize` are the points where the host waits.
///
/// Construction loads the CUDA libraries with dlopen and throws `CUDAError` naming whatever is
/// missing, so the same binary runs on machines without CUDA (using the CPU backend instead).
public final class CUDABackend: Backend, @unchecked Sendable {
    let context: CUDAContext
    let allocator: DeviceAllocator
    /// Device scratch for the grouped GEMM's pointer arrays; reused in stream order.
    private var pointerScratch: DeviceStorage?
    /// Set when cuBLAS refused a grouped GEMM with bf16 operands and an fp32 output; such GEMMs
    /// then run as one cublasGemmEx per problem (see `runGroupedBF16`).
    var groupedBF16Refused = false
    /// Side streams and cuBLAS handles for the per-expert bf16 GEMMs (CUDABackend+ExpertGemm.swift).
    lazy var expertStreams: ExpertStreamPool = {
        do { return try ExpertStreamPool(context: context, sideStreams: CUDABackend.expertGemmMaxStreams - 1) } catch { fatalError("\(error)") }
    }()
    /// The expert GEMMs through cuBLASLt with one algorithm per shape class (CUBLASLt.swift), and a
    /// workspace per stream; nil where libcublasLt does not load (cublasGemmEx then).
    lazy var ltGemm: (runner: LtGemmRunner, workspaces: [DeviceStorage])? = {
        guard let api = try? CUBLASLtAPI(),
              let runner = try? LtGemmRunner(api: api, workspaceBytes: CUDABackend.expertGemmWorkspaceBytes / CUDABackend.expertGemmMaxStreams)
        else { return nil }
        return (runner, (0..<CUDABackend.expertGemmMaxStreams).map { _ in allocateOrDie(bytes: runner.workspaceBytes) })
    }()
    /// The cuBLASLt workspaces of the expert GEMMs together (32 MiB per stream, cuBLAS's advice for Hopper).
    public static let expertGemmWorkspaceBytes = expertGemmMaxStreams * (32 << 20)
    /// Whether the per-expert GEMMs go through cuBLASLt (default, when it loads) or cublasGemmEx
    /// (for the benchmark's comparison).
    public var expertGemmUsesLt = true
    /// Whether the expert GEMMs (`groupedGemm` both ways, `groupedGemmWeightGrad`) go to the sm_90a
    /// kernel where it loads (default), instead of the per-expert path. `XMOE_EXPERT_GEMM_KERNEL=0`
    /// turns it off for a comparison.
    public var expertGemmUsesKernel = ProcessInfo.processInfo.environment["XMOE_EXPERT_GEMM_KERNEL"] != "0"
    /// Heuristic queries cuBLASLt has run for the expert GEMMs (one per new shape class).
    public var expertGemmHeuristicQueries: Int { ltGemm?.runner.heuristicQueries ?? 0 }
    /// The sm_90a expert GEMM kernel, compiled on first use (CUDABackend+ExpertGemmKernel.swift).
    lazy var expertKernel: Result<ExpertGemmKernel, any Error> = {
        do { return .success(try ExpertGemmKernel(context: context, cache: KernelDiskCache())) } catch { return .failure(error) }
    }()

    /// The device's architecture as NVRTC names it (e.g. "sm_90").
    public var arch: String { context.arch }
    public var multiprocessorCount: Int { context.multiprocessors }
    /// Whether the kernels came from the on-disk cubin cache rather than a fresh NVRTC compile.
    public var kernelsFromCache: Bool { context.kernelsFromCache }
    public var libraryFiles: [String] {
        [context.runtime.library.fileName, context.driver.library.fileName, context.cublas.library.fileName, context.nvrtc.library.fileName]
    }
    public var hasGroupedGemm: Bool { context.cublas.sgemmGroupedBatched != nil }
    /// `.float32` (default for now) or `.bfloat16`: the model then runs its large GEMMs on bf16
    /// weights and activations (cublasGemmEx family, fp32 accumulation and outputs).
    public let computeDType: DType
    /// On with bf16 compute (tensor-core flash kernels), off in fp32 (the CUDA-core flash kernels are
    /// 5× slower than the materialised path): `prefersFlashAttention(computeDType:)`. Checks set it.
    public var prefersFlashAttention: Bool

    public init(device: Int = 0, kernelCache: KernelDiskCache = KernelDiskCache(), computeDType: DType = .float32) throws {
        precondition(computeDType == .float32 || computeDType == .bfloat16,
                     "CUDABackend computes in float32 or bfloat16, not \(computeDType)")
        context = try CUDAContext(device: device, cache: kernelCache)
        allocator = DeviceAllocator(runtime: context.runtime)
        self.computeDType = computeDType
        prefersFlashAttention = Self.prefersFlashAttention(computeDType: computeDType)
        if computeDType == .bfloat16, context.cublas.gemmEx == nil {
            throw CUDAError.symbolMissing(library: context.cublas.library.fileName, symbol: "cublasGemmEx",
                                          dlerror: "bf16 compute needs it; use computeDType float32")
        }
    }

    /// Compiles the kernels for `arch` with NVRTC alone (no GPU or driver needed): checks the kernel
    /// source on a build machine and fills the disk cache. Returns the cubin's size.
    public static func compileKernels(arch: String, cache: KernelDiskCache = KernelDiskCache()) throws -> (bytes: Int, fromCache: Bool) {
        let compiler = NVRTCCompiler(api: try NVRTCAPI(), cache: cache)
        var (bytes, allFromCache) = (0, true)
        for (source, _) in KernelSource.modules {
            let (cubin, fromCache) = try compiler.cubin(source: source, arch: arch)
            (bytes, allFromCache) = (bytes + cubin.count, allFromCache && fromCache)
        }
        if arch == "sm_90" {  // the expert GEMM kernel, for sm_90a (ExpertGemmKernel)
            let (cubin, fromCache) = try compiler.cubin(source: ExpertGemmKernelSource.source(), arch: "sm_90a")
            (bytes, allFromCache) = (bytes + cubin.count, allFromCache && fromCache)
        }
        return (bytes, allFromCache)
    }

    /// Waits until everything queued so far has run; reports a failed kernel.
    public func synchronize() { context.synchronize() }
    /// Times the host has waited for the GPU (synchronize, downloads, scalar reads), and for how long.
    public var hostWaits: (count: Int, seconds: Double) { (context.waits, Double(context.waitNanoseconds) / 1e9) }

    /// Bytes held in live tensors, in the allocator's cache, and how often cudaMalloc was called.
    public var memoryStatistics: (inUse: Int, cached: Int, systemAllocations: Int) {
        let book = allocator.statistics
        return (book.bytesInUse, book.bytesCached, book.systemAllocations)
    }

    /// The device address of element `elementOffset` of `tensor`. Every op computes addresses
    /// here, so a tensor's byte offset into shared storage needs handling in this one place.
    func devicePointer(_ tensor: Tensor, elementOffset: Int = 0) -> UnsafeMutableRawPointer {
        guard let storage = tensor.storage as? DeviceStorage else {
            fatalError("tensor \(tensor.shape) is not in device memory; the CUDA backend was handed a host tensor")
        }
        return storage.pointer + tensor.byteOffset + elementOffset * tensor.dtype.byteSize
    }

    func ptr(_ tensor: Tensor, _ elementOffset: Int = 0) -> KernelArgument {
        .pointer(devicePointer(tensor, elementOffset: elementOffset))
    }

    /// A device block of at least `bytes` for pointer arrays, kept between calls.
    func scratch(bytes: Int) -> UnsafeMutableRawPointer {
        if let pointerScratch, pointerScratch.byteCount >= bytes { return pointerScratch.pointer }
        let storage = allocateOrDie(bytes: max(bytes, 4096))
        pointerScratch = storage
        return storage.pointer
    }

    /// `values` copied into the scratch block, stream-ordered (the next call may reuse the block):
    /// the small host arrays a launch needs on the device (pointer lists, row segments).
    func scratchCopy<T>(_ values: [T], _ what: String) -> UnsafeMutableRawPointer {
        let device = scratch(bytes: values.count * MemoryLayout<T>.stride)
        values.withUnsafeBytes { bytes in
            context.checkRuntime(context.runtime.memcpyAsync(device, bytes.baseAddress, bytes.count,
                                                             CUDARuntimeAPI.memcpyHostToDevice, context.stream), "cudaMemcpyAsync (\(what))")
        }
        return device
    }

    func allocateOrDie(bytes: Int) -> DeviceStorage {
        do { return try allocator.allocate(byteCount: bytes) } catch { fatalError("\(error)") }
    }
}

// MARK: memory

extension CUDABackend {
    public func makeTensor(_ shape: [Int], dtype: DType) -> Tensor {
        let bytes = shape.reduce(1, *) * dtype.byteSize
        let storage = allocateOrDie(bytes: bytes)
        let tensor = Tensor(shape: shape, dtype: dtype, storage: storage)
        zero(tensor)
        return tensor
    }

    public func makeOutput(_ shape: [Int], dtype: DType) -> Tensor {
        Tensor(shape: shape, dtype: dtype, storage: allocateOrDie(bytes: shape.reduce(1, *) * dtype.byteSize))
    }

    public func zero(_ tensor: Tensor) {
        guard tensor.count > 0 else { return }
        context.checkRuntime(context.runtime.memsetAsync(devicePointer(tensor), 0, tensor.byteCount, context.stream), "cudaMemsetAsync")
    }

    public func fill(_ tensor: Tensor, value: Float) {
        if tensor.dtype == .bfloat16 {
            uploadBytes([UInt16](repeating: BFloat16.bits(value), count: tensor.count), to: tensor)
            return
        }
        precondition(tensor.dtype == .float32, "fill: \(tensor.dtype) tensors are not supported")
        context.launch("xmoe_fill", .elementwise(count: tensor.count), [ptr(tensor), .int64(Int64(tensor.count)), .float(value)])
    }

    public func copy(from src: Tensor, to dst: Tensor) {
        precondition(src.dtype == dst.dtype && src.count == dst.count, "copy: \(src.shape) \(src.dtype) into \(dst.shape) \(dst.dtype)")
        guard src.count > 0 else { return }
        context.checkRuntime(context.runtime.memcpyAsync(devicePointer(dst), devicePointer(src), src.byteCount,
                                                         CUDARuntimeAPI.memcpyDeviceToDevice, context.stream), "cudaMemcpyAsync D2D")
    }

    /// Into a bfloat16 tensor, values are rounded to nearest even on the host (half the bytes move).
    public func upload(_ values: [Float], to tensor: Tensor) {
        precondition((tensor.dtype == .float32 || tensor.dtype == .bfloat16) && values.count == tensor.count,
                     "upload: \(values.count) floats into \(tensor.shape) \(tensor.dtype)")
        if tensor.dtype == .bfloat16 { return uploadBytes(values.map(BFloat16.bits), to: tensor) }
        uploadBytes(values, to: tensor)
    }

    public func upload(_ values: [Int32], to tensor: Tensor) {
        precondition(tensor.dtype == .int32 && values.count == tensor.count, "upload: \(values.count) ints into \(tensor.shape) \(tensor.dtype)")
        uploadBytes(values, to: tensor)
    }

    /// A bfloat16 tensor comes back widened to Float (exactly).
    public func downloadFloats(_ tensor: Tensor) -> [Float] {
        if tensor.dtype == .bfloat16 { return downloadBytes(tensor, as: UInt16.self).map(BFloat16.float) }
        precondition(tensor.dtype == .float32, "downloadFloats: tensor is \(tensor.dtype)")
        return downloadBytes(tensor, as: Float.self)
    }

    public func downloadInts(_ tensor: Tensor) -> [Int32] {
        precondition(tensor.dtype == .int32, "downloadInts: tensor is \(tensor.dtype)")
        return downloadBytes(tensor, as: Int32.self)
    }

    /// Host → device. The copy from pageable memory is staged before cudaMemcpyAsync returns, so
    /// `values` may go away at once.
    private func uploadBytes<T>(_ values: [T], to tensor: Tensor) {
        guard !values.isEmpty else { return }
        values.withUnsafeBytes { bytes in
            context.checkRuntime(context.runtime.memcpyAsync(devicePointer(tensor), bytes.baseAddress, bytes.count,
                                                             CUDARuntimeAPI.memcpyHostToDevice, context.stream), "cudaMemcpyAsync H2D")
        }
    }

    /// Device → host: a synchronisation point (waits for all queued work).
    private func downloadBytes<T>(_ tensor: Tensor, as type: T.Type) -> [T] {
        var out = [T](unsafeUninitializedCapacity: tensor.count) { _, count in count = tensor.count }
        if tensor.count > 0 {
            out.withUnsafeMutableBytes { bytes in
                context.checkRuntime(context.runtime.memcpyAsync(bytes.baseAddress, devicePointer(tensor), bytes.count,
                                                                 CUDARuntimeAPI.memcpyDeviceToHost, context.stream), "cudaMemcpyAsync D2H")
            }
        }
        synchronize()
        return out
    }
}

/// The sm_90a expert GEMM (ExpertGemmKernelSource) loaded into the backend's context: its own
/// NVRTC compile for `sm_90a` (cached on disk like the other kernels), its functions with the
/// dynamic shared memory they need, and the two driver calls it alone uses (bound here so that a
/// driver without them only disables this path).
final class ExpertGemmKernel: @unchecked Sendable {
    typealias EncodeTiled = @convention(c) (
        UnsafeMutableRawPointer, Int32, UInt32, UnsafeMutableRawPointer?, UnsafePointer<UInt64>, UnsafePointer<UInt64>,
        UnsafePointer<UInt32>, UnsafePointer<UInt32>, Int32, Int32, Int32, Int32) -> Int32
    typealias FuncSetAttribute = @convention(c) (Handle, Int32, Int32) -> Int32

    /// A CUtensorMap: 128 opaque bytes, 64-byte aligned (the kernel parameter is copied from here).
    struct TensorMap { var bytes: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64,
                                   UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0) }

    static let dataBFloat16: Int32 = 9, swizzle128B: Int32 = 3, l2Promotion256B: Int32 = 3
    static let attributeMaxDynamicSharedBytes: Int32 = 8

    let encodeTiled: EncodeTiled
    /// The compiled entries by layout and tile width.
    let functions: [ExpertGemmKernelLayout: [Int: Handle]]
    let fromCache: Bool

    init(context: CUDAContext, cache: KernelDiskCache, deferRelease: Bool = false) throws {
        guard context.arch == "sm_90" else {
            throw CUDAError.noDevice("the expert GEMM kernel needs an sm_90 (Hopper) GPU; this one is \(context.arch)")
        }
        let driver = try DynamicLibrary(name: "libcuda (the NVIDIA driver)", candidates: CUDALibraryNames.driver)
        encodeTiled = try driver.function("cuTensorMapEncodeTiled")
        let setAttribute: FuncSetAttribute = try driver.function("cuFuncSetAttribute")
        let compiler = NVRTCCompiler(api: context.nvrtc, cache: cache)
        let (cubin, fromCache) = try compiler.cubin(source: ExpertGemmKernelSource.source(deferRelease: deferRelease), arch: "sm_90a")
        self.fromCache = fromCache
        var module: Handle = nil
        try cubin.withUnsafeBytes { try context.driver.check(context.driver.moduleLoadData(&module, $0.baseAddress!), "cuModuleLoadData(expert GEMM sm_90a)") }
        var functions: [ExpertGemmKernelLayout: [Int: Handle]] = [:]
        for layout in ExpertGemmKernelLayout.allCases {
            for blockN in layout.blockWidths {
                var function: Handle = nil
                let name = ExpertGemmKernelSource.kernelName(blockN: blockN, layout: layout)
                try context.driver.check(context.driver.moduleGetFunction(&function, module, name), "cuModuleGetFunction(\(name))")
                try context.driver.check(setAttribute(function, Self.attributeMaxDynamicSharedBytes, Int32(ExpertGemmKernelSource.sharedBytes(blockN: blockN))),
                                         "cuFuncSetAttribute(\(name), max dynamic shared memory)")
                functions[layout, default: [:]][blockN] = function
            }
        }
        self.functions = functions
    }

    /// A 2-D bf16 tensor map over `rows` rows of `k` elements (row stride k), boxes of 64 × boxRows,
    /// 128-byte swizzle; rows and columns past the ends read as zeros.
    func map(_ base: UnsafeMutableRawPointer, rows: Int, k: Int, boxRows: Int, _ context: CUDAContext) -> TensorMap {
        encode(base, dims: [UInt64(k), UInt64(rows)], strides: [UInt64(k * 2)], box: [64, UInt32(boxRows)], context)
    }

    /// A 3-D bf16 tensor map over `count` matrices of `rows` × `columns` (columns contiguous), boxes of
    /// 64 columns × 64 rows of one matrix: rows past a matrix's end read as zeros, not as the next one's.
    func map3(_ base: UnsafeMutableRawPointer, count: Int, rows: Int, columns: Int, _ context: CUDAContext) -> TensorMap {
        encode(base, dims: [UInt64(columns), UInt64(rows), UInt64(count)], strides: [UInt64(columns * 2), UInt64(rows * columns * 2)],
               box: [64, 64, 1], context)
    }

    private func encode(_ base: UnsafeMutableRawPointer, dims: [UInt64], strides: [UInt64], box: [UInt32], _ context: CUDAContext) -> TensorMap {
        var map = TensorMap()
        let elementStrides = [UInt32](repeating: 1, count: dims.count)
        let status = withUnsafeMutableBytes(of: &map) { raw in
            encodeTiled(raw.baseAddress!, Self.dataBFloat16, UInt32(dims.count), base, dims, strides, box, elementStrides, 0, Self.swizzle128B,
                        Self.l2Promotion256B, 0)
        }
        if status != 0 {
            do { try context.driver.check(status, "cuTensorMapEncodeTiled(dims \(dims), box \(box))") } catch { fatalError("\(error)") }
        }
        return map
    }
}
